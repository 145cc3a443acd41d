//! `heapscope sample`: record a sampling heap profile (`.heapprofile`, loadable by
//! DevTools) from a live Node.js process: where the sampled bytes were allocated.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use heapscope_inspector::profile::{sampling_heap_profile, SamplingOptions};

use crate::cmd::live::{default_name, parse_duration, runtime, target_pid, TargetArgs};

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to record, e.g. 30s, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Average number of bytes between samples (V8's default 32768).
    #[arg(long, default_value_t = 32768, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval_bytes: u64,
    /// Report only objects still alive when recording stops (DevTools' default); by default
    /// every sampled allocation counts, including those already garbage-collected, which is
    /// what "who allocates" needs.
    #[arg(long)]
    pub live_only: bool,
    /// Output file (default heapscope-<pid>-<UTC time>.heapprofile).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: &SampleArgs) -> Result<()> {
    runtime()?.block_on(async {
        let mut attached = args.target.attach().await?;
        let pid = target_pid(&mut attached).await;
        let out = args
            .output
            .clone()
            .unwrap_or_else(|| default_name(pid, "heapprofile").into());
        eprintln!(
            "heapscope: sampling allocations for {:.1}s…",
            args.duration.as_secs_f64()
        );
        let options = SamplingOptions {
            duration: args.duration,
            interval_bytes: args.interval_bytes,
            include_collected: !args.live_only,
        };
        let path = sampling_heap_profile(&mut attached.client, &out, options)
            .await
            .with_context(|| format!("recording a sampling heap profile into {}", out.display()))?;
        attached.client.close().await;
        eprintln!(
            "heapscope: wrote {} (open it in DevTools, or run `heapscope alloc {}`)",
            path.display(),
            path.display()
        );
        Ok(())
    })
}
