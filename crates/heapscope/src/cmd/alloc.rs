//! `heapscope alloc FILE`: a `.heapprofile`'s top allocating functions by self and total
//! sampled bytes, with `file:line:column`, and optionally a flame graph.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::profile_report::{read, report, ReportArgs};

#[derive(Args, Debug)]
pub struct AllocArgs {
    /// Sampling heap profile (.heapprofile, from `heapscope sample`, DevTools or
    /// `node --heap-prof`).
    pub file: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: &AllocArgs) -> Result<()> {
    let bytes = read(&args.file)?;
    let tree = heapscope_inspector::heapprofile::parse(&bytes)
        .with_context(|| format!("{} is not a sampling heap profile", args.file.display()))?;
    report(&tree, &args.file, "bytes", &args.report)
}
