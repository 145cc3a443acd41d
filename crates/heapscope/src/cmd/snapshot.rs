//! `heapscope snapshot`: capture a heap snapshot from a live Node.js process, streamed to
//! disk (and, with `--analyze`, into the parser at the same time).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heapscope_format::{FormatError, Loader, RawSnapshot};
use heapscope_inspector::cdp::CdpClient;
use heapscope_inspector::memory;
use heapscope_inspector::node_write::write_in_target;
use heapscope_inspector::snapshot::{
    take_snapshot, SnapshotCapture, SnapshotObserver, SnapshotOptions,
};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};

use crate::cmd::live::{default_name, is_local, runtime, target_pid, TargetArgs};
use crate::cmd::summary::{self, SortKey};
use crate::format::size;
use crate::load;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output file (default heapscope-<pid>-<UTC time>.heapsnapshot).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Run a full garbage collection before capturing.
    #[arg(long)]
    pub gc: bool,
    /// Parse the snapshot while it is written and print the class summary at the end.
    #[arg(long)]
    pub analyze: bool,
    /// Classes to show with --analyze (0 = all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Have the target write the file itself with v8.writeHeapSnapshot (into its temp
    /// directory) and move it here: Node's own writer's speed, for local processes; needs
    /// disk space in the target's temp directory; no progress, and --analyze parses after.
    #[arg(long)]
    pub in_target: bool,
    /// Capture even when the target may not have the memory a snapshot needs.
    #[arg(long)]
    pub force: bool,
}

/// Chunks handed to the parser at a time: the inspector sends ~100 kB pieces, the parser
/// works best (and splits work across cores) on a few megabytes.
const PARSE_BATCH: usize = 4 << 20;

/// Progress on stderr (only on a terminal) and, with `--analyze`, the parser fed in batches.
struct Observer {
    bar: ProgressBar,
    /// When the first chunk arrived: V8 has built the snapshot and is serialising it.
    writing_since: Option<Instant>,
    loader: Option<Loader>,
    batch: Vec<u8>,
    parse_error: Option<FormatError>,
}

impl Observer {
    fn feed(&mut self) {
        if let Some(loader) = self.loader.as_mut() {
            if let Err(e) = loader.push(&self.batch) {
                self.parse_error = Some(e);
                self.loader = None;
            }
        }
        self.batch.clear();
    }
}

impl Observer {
    /// The snapshot parsed while it was captured.
    fn finish(mut self, path: &Path) -> Result<RawSnapshot> {
        self.feed();
        let shown = path.display();
        if let Some(e) = self.parse_error {
            return Err(
                anyhow::Error::new(e).context(format!("{shown} is not a valid heap snapshot"))
            );
        }
        let loader = self.loader.context("the parser stopped")?;
        loader
            .finish()
            .with_context(|| format!("{shown} is not a valid heap snapshot"))
    }
}

impl SnapshotObserver for Observer {
    fn progress(&mut self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    fn written(&mut self, bytes: u64) {
        if self.writing_since.is_none() {
            self.writing_since = Some(Instant::now());
            self.bar.set_style(spinner_style());
            self.bar.set_message("writing");
        }
        self.bar.set_position(bytes);
    }

    fn chunk(&mut self, text: &[u8]) {
        if self.loader.is_none() {
            return;
        }
        self.batch.extend_from_slice(text);
        if self.batch.len() >= PARSE_BATCH {
            self.feed();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}").expect("valid template")
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} objects")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message("building");
    pb
}

pub fn run(args: &SnapshotArgs) -> Result<()> {
    let started = Instant::now();
    runtime()?.block_on(async {
        let mut attached = args.target.attach().await?;
        let pid = target_pid(&mut attached).await;
        let local_pid = pid.filter(|_| is_local(attached.addr));
        let check = memory::check(&mut attached.client, local_pid)
            .await
            .context("cannot read the target's memory usage")?;
        if check.is_tight() {
            let message = format!(
                "the target uses {} of heap and only {} of memory is available to it; V8 builds \
                 the snapshot inside the target, which temporarily takes several times the \
                 used heap, so the capture may get the process killed for lack of memory. Free memory (or raise \
                 the container's limit) first, or pass --force to capture anyway.",
                size(check.usage.heap_used),
                size(check.available.unwrap_or(0))
            );
            if !args.force {
                bail!(message);
            }
            eprintln!("heapscope: warning: {message}");
        }
        let out = args
            .output
            .clone()
            .unwrap_or_else(|| default_name(pid, "heapsnapshot").into());
        let (capture, parsed) = if args.in_target {
            let pid = local_pid.context("--in-target needs a process on this machine")?;
            if args.gc {
                attached
                    .client
                    .call::<serde_json::Value>("HeapProfiler.collectGarbage", serde_json::json!({}))
                    .await?;
            }
            eprintln!(
                "heapscope: pid {pid} is writing the snapshot itself (v8.writeHeapSnapshot)…"
            );
            let capture = write_in_target(&mut attached.client, pid, &out)
                .await
                .with_context(|| format!("capturing a heap snapshot into {}", out.display()))?;
            (capture, None)
        } else {
            let (capture, observer) = capture_streamed(&mut attached.client, &out, args).await?;
            (capture, Some(observer))
        };
        attached.client.close().await;
        eprintln!(
            "heapscope: wrote {} ({}, heap used {}) in {:.1}s",
            capture.path.display(),
            size(capture.bytes),
            size(check.usage.heap_used),
            capture.elapsed.as_secs_f64()
        );
        if attached.opened_inspector {
            eprintln!("heapscope: note: the target's inspector stays open until it exits");
        }
        if !args.analyze {
            return Ok(());
        }
        let analysis = match parsed {
            Some(observer) => load::analyze_raw(observer.finish(&capture.path)?, started),
            None => load::analyze(&capture.path)?,
        };
        summary::print(
            &heapscope_store::sidecar::Overview::of(&analysis),
            SortKey::Retained,
            None,
            args.limit,
            false,
        )
    })
}

/// `HeapProfiler.takeHeapSnapshot`, streamed to `out` (and into the parser with --analyze).
async fn capture_streamed(
    client: &mut CdpClient,
    out: &Path,
    args: &SnapshotArgs,
) -> Result<(SnapshotCapture, Observer)> {
    let mut observer = Observer {
        bar: progress_bar(),
        writing_since: None,
        loader: args.analyze.then(Loader::new),
        batch: Vec::new(),
        parse_error: None,
    };
    let options = SnapshotOptions {
        collect_garbage: args.gc,
    };
    // On Ctrl-C (or SIGTERM) the capture future is dropped, which removes the partial file.
    // The handlers are installed before the file exists, so no signal finds it unguarded.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let outcome = tokio::select! {
        capture = take_snapshot(client, out, options, &mut observer) => Ok(capture),
        _ = interrupt.recv() => Err("interrupted"),
        _ = terminate.recv() => Err("terminated"),
    };
    let streamed = observer
        .writing_since
        .map(|t| t.elapsed())
        .unwrap_or_default();
    observer.bar.finish_and_clear();
    let capture = match outcome {
        Ok(capture) => capture,
        Err(why) => bail!("{why}: {} was not written", out.display()),
    };
    let capture =
        capture.with_context(|| format!("capturing a heap snapshot into {}", out.display()))?;
    if load::timings_enabled() {
        let building = capture.elapsed.saturating_sub(streamed);
        eprintln!(
            "[timings] snapshot built in target {:.3}s",
            building.as_secs_f64()
        );
        eprintln!(
            "[timings] streamed and written {:.3}s",
            streamed.as_secs_f64()
        );
    }
    Ok((capture, observer))
}
