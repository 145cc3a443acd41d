//! One module per subcommand.

pub mod dominators;
pub mod find;
pub mod nodes;
pub mod path;
pub mod show;
pub mod stats;
pub mod summary;
