//! One module per subcommand.

pub mod nodes;
pub mod stats;
pub mod summary;
