//! `heapscope serve`: the web console (heapscope-web) on a data directory, printing its URL
//! with the access token.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data directory: database, access token, snapshot files (default: the platform's data
    /// directory, e.g. ~/.local/share/heapscope).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7331", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Allow a non-loopback --bind address (anyone with the token can then read the
    /// snapshots).
    #[arg(long)]
    pub public: bool,
    /// Refuse uploads larger than this (bytes, or with KB/MB/GB = 1000ⁿ, KiB/MiB/GiB = 1024ⁿ).
    #[arg(long, default_value = "4GiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_upload_size: u64,
    /// Watch a Node.js process from the start (repeatable): a local pid, or its inspector's
    /// HOST:PORT on loopback. The Processes page can add more.
    #[arg(long, value_name = "PID|HOST:PORT")]
    pub watch: Vec<String>,
    /// Watch every local Node.js process with an open inspector, and those that open one
    /// later (looked for every interval).
    #[arg(long)]
    pub watch_all: bool,
    /// Time between samples of a watched process, e.g. 5s, 500ms.
    #[arg(long, default_value = "5s", value_parser = crate::cmd::live::parse_duration)]
    pub interval: std::time::Duration,
    /// Install no GC observer in watched processes: heap after GC is then estimated from the
    /// old generation instead of measured after each major GC.
    #[arg(long)]
    pub no_gc_observer: bool,
    /// Delete stored samples older than this (older than an hour they are thinned to the
    /// min and max of each minute, older than a day of each ten minutes), e.g. 30d, 12h.
    #[arg(long, default_value = "30d", value_parser = heapscope_store::retention::parse_retain)]
    pub retain: std::time::Duration,
}

/// `123`, `10MB`, `4GiB`.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 500MB or 4GiB"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

pub fn run(args: &ServeArgs) -> Result<()> {
    if args.max_upload_size == 0 {
        bail!("--max-upload-size must be more than 0");
    }
    let mut config = heapscope_web::Config::new(
        args.data
            .clone()
            .unwrap_or_else(heapscope_store::default_dir),
    );
    config.bind = args.bind;
    config.public = args.public;
    config.max_upload_bytes = args.max_upload_size;
    config.watch = args.watch.clone();
    config.watch_all = args.watch_all;
    config.watch_interval = args.interval;
    config.watch_gc_observer = !args.no_gc_observer;
    config.retention = Some(heapscope_store::retention::RetentionPolicy::retaining(
        args.retain,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = heapscope_web::start(config.clone()).await?;
        println!("heapscope console: {}", server.url());
        println!("data directory: {}", config.data_dir.display());
        tokio::select! {
            r = server.wait() => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(super::parse_size("10MB"), Ok(10_000_000));
        assert_eq!(super::parse_size("123"), Ok(123));
        assert!(super::parse_size("ten").is_err());
        assert!(super::parse_size("1XB").is_err());
    }
}
