//! `heapscope profile`: record a CPU profile (`.cpuprofile`, loadable by DevTools) from a
//! live Node.js process.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use heapscope_inspector::profile::{cpu_profile, CpuProfileOptions};

use crate::cmd::live::{default_name, parse_duration, runtime, target_pid, TargetArgs};

#[derive(Args, Debug)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to record, e.g. 30s, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Sampling interval, e.g. 1ms or 0.1ms.
    #[arg(long, default_value = "1ms", value_parser = parse_duration)]
    pub interval: Duration,
    /// Output file (default heapscope-<pid>-<UTC time>.cpuprofile).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: &ProfileArgs) -> Result<()> {
    runtime()?.block_on(async {
        let mut attached = args.target.attach().await?;
        let pid = target_pid(&mut attached).await;
        let out = args
            .output
            .clone()
            .unwrap_or_else(|| default_name(pid, "cpuprofile").into());
        eprintln!(
            "heapscope: recording a CPU profile for {:.1}s…",
            args.duration.as_secs_f64()
        );
        let options = CpuProfileOptions {
            duration: args.duration,
            interval: args.interval,
        };
        let path = cpu_profile(&mut attached.client, &out, options)
            .await
            .with_context(|| format!("recording a CPU profile into {}", out.display()))?;
        attached.client.close().await;
        eprintln!(
            "heapscope: wrote {} (open it in DevTools, or run `heapscope cpu {}`)",
            path.display(),
            path.display()
        );
        Ok(())
    })
}
