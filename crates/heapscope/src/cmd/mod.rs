//! One module per subcommand.

pub mod alloc;
pub mod cpu;
pub mod diff;
pub mod dominators;
pub mod find;
pub mod leaks;
mod leaks3;
mod leaks_render;
pub mod live;
pub mod nodes;
pub mod path;
pub mod profile;
mod profile_report;
pub mod ps;
pub mod sample;
pub mod series;
pub mod serve;
pub mod show;
pub mod snapshot;
pub mod stats;
pub mod summary;
pub mod trend;
pub mod watch;
mod watch_view;
