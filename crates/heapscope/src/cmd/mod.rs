//! One module per subcommand.

pub mod dominators;
pub mod find;
pub mod leaks;
mod leaks_render;
pub mod nodes;
pub mod path;
pub mod show;
pub mod stats;
pub mod summary;
