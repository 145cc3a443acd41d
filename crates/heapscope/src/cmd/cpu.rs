//! `heapscope cpu FILE`: a `.cpuprofile`'s top functions by self and total time, with
//! `file:line:column`, and optionally a flame graph.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::profile_report::{read, report, ReportArgs};

#[derive(Args, Debug)]
pub struct CpuArgs {
    /// CPU profile (.cpuprofile, from `heapscope profile`, DevTools or `node --cpu-prof`).
    pub file: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: &CpuArgs) -> Result<()> {
    let bytes = read(&args.file)?;
    let tree = heapscope_inspector::cpuprofile::parse(&bytes)
        .with_context(|| format!("{} is not a CPU profile", args.file.display()))?;
    report(&tree, &args.file, "microseconds", &args.report)
}
