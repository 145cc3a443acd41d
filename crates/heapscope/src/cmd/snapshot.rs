//! `heapscope snapshot`: capture a heap snapshot from a live Node.js process. By default a
//! local target writes it itself (Node's own writer, the fastest way; analysed from the file
//! afterwards with `--analyze`); otherwise — or with `--stream` — it is streamed to disk over
//! the inspector (and, with `--analyze`, into the parser at the same time). Which way, and
//! why, is said on stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heapscope_format::{FormatError, Loader, RawSnapshot};
use heapscope_inspector::capture::{capture, CaptureMode, Captured, Local, Method};
use heapscope_inspector::cdp::CdpClient;
use heapscope_inspector::memory;
use heapscope_inspector::snapshot::{SnapshotObserver, SnapshotOptions};
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
    /// Print the class summary of the captured snapshot (parsed while it is written when
    /// streamed, from the finished file when the target wrote it).
    #[arg(long)]
    pub analyze: bool,
    /// Classes to show with --analyze (0 = all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Require the target to write the file itself (v8.writeHeapSnapshot), failing with the
    /// reason when it cannot. This is the default whenever it can work (a local process
    /// whose files heapscope can reach); otherwise the snapshot is streamed.
    #[arg(long, conflicts_with = "stream")]
    pub in_target: bool,
    /// Stream the snapshot over the inspector (HeapProfiler.takeHeapSnapshot) even when the
    /// target could write it itself: works for remote targets, shows V8's progress, and
    /// --analyze parses while it is written; slower to serialise than Node's own writer.
    #[arg(long)]
    pub stream: bool,
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

    fn method(&mut self, method: Method, fallback: Option<&str>) {
        let line = match (method, fallback) {
            (Method::InTarget, _) => {
                "the target is writing the snapshot itself (v8.writeHeapSnapshot)…".to_string()
            }
            (Method::Streamed, Some(why)) => {
                format!("note: streaming the snapshot over the inspector: {why}")
            }
            (Method::Streamed, None) => return,
        };
        self.bar.suspend(|| eprintln!("heapscope: {line}"));
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
        let target = Local {
            pid: local_pid,
            inspector: attached.addr,
        };
        let (captured, observer) = capture_file(&mut attached.client, target, &out, args).await?;
        let capture = &captured.capture;
        attached.client.close().await;
        eprintln!(
            "heapscope: wrote {} ({}, heap used {}) in {:.1}s, {}",
            capture.path.display(),
            size(capture.bytes),
            size(check.usage.heap_used),
            capture.elapsed.as_secs_f64(),
            match captured.method {
                Method::InTarget => "written by the target",
                Method::Streamed => "streamed over the inspector",
            }
        );
        if attached.opened_inspector {
            eprintln!("heapscope: note: the target's inspector stays open until it exits");
        }
        if !args.analyze {
            return Ok(());
        }
        // Only a streamed capture went through the parser while it was written.
        let analysis = match captured.method {
            Method::Streamed => load::analyze_raw(observer.finish(&capture.path)?, started),
            Method::InTarget => load::analyze(&capture.path)?,
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

/// Captures into `out` the way `args` ask (see `heapscope_inspector::capture`), with
/// progress on stderr and, when streamed with --analyze, the parser fed as chunks arrive.
async fn capture_file(
    client: &mut CdpClient,
    target: Local,
    out: &Path,
    args: &SnapshotArgs,
) -> Result<(Captured, Observer)> {
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
    let mode = if args.stream {
        CaptureMode::Stream
    } else if args.in_target {
        CaptureMode::InTarget
    } else {
        CaptureMode::Auto
    };
    // On Ctrl-C (or SIGTERM) the capture future is dropped, which removes the partial file
    // (`OUT.part`, whoever was writing it). The handlers are installed before the file
    // exists, so no signal finds it unguarded.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let outcome = tokio::select! {
        captured = capture(client, target, out, mode, options, &mut observer) => Ok(captured),
        _ = interrupt.recv() => Err("interrupted"),
        _ = terminate.recv() => Err("terminated"),
    };
    let written_for = observer
        .writing_since
        .map(|t| t.elapsed())
        .unwrap_or_default();
    observer.bar.finish_and_clear();
    let captured = match outcome {
        Ok(captured) => captured,
        Err(why) => bail!("{why}: {} was not written", out.display()),
    };
    let captured =
        captured.with_context(|| format!("capturing a heap snapshot into {}", out.display()))?;
    if load::timings_enabled() {
        for (phase, took) in &captured.capture.phases {
            eprintln!("[timings] {phase} {:.3}s", took.as_secs_f64());
        }
    }
    if load::timings_enabled() && captured.method == Method::Streamed {
        let building = captured.capture.elapsed.saturating_sub(written_for);
        eprintln!(
            "[timings] snapshot built in target {:.3}s",
            building.as_secs_f64()
        );
        eprintln!(
            "[timings] streamed and written {:.3}s",
            written_for.as_secs_f64()
        );
    }
    Ok((captured, observer))
}
