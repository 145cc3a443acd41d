//! Reading a snapshot from a path or stdin into the engine, with a progress bar on a TTY.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use heapscope_analysis::{Analysis, Phase};
use heapscope_format::{Loader, RawSnapshot};
use indicatif::{ProgressBar, ProgressStyle};

const CHUNK: usize = 4 << 20;

fn bar(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) => {
            let pb = ProgressBar::new(len);
            pb.set_style(
                ProgressStyle::with_template(
                    "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            pb
        }
        None => {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes}").expect("valid template"),
            );
            pb
        }
    }
}

/// Reads and parses a snapshot. `path` is a file or `-` for stdin. Reading runs on its own
/// thread so that I/O and decompression overlap with parsing.
pub fn read_snapshot(path: &Path) -> Result<RawSnapshot> {
    let shown = path.display().to_string();
    let (reader, len): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(path).with_context(|| format!("cannot open {shown}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let pb = bar(len);
    pb.set_message("loading");
    // Buffers circulate between the reader thread and the parser so that no chunk is
    // allocated (and page-faulted in) twice.
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(3);
    let (give_back, recycled) = mpsc::channel::<Vec<u8>>();
    let reader_thread = std::thread::spawn(move || {
        let mut reader = reader;
        loop {
            let mut buf = recycled.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
            buf.resize(CHUNK, 0);
            match read_full(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    let mut loader = Loader::new();
    let mut result = Ok(());
    for chunk in rx {
        let chunk = chunk.with_context(|| format!("cannot read {shown}"))?;
        pb.inc(chunk.len() as u64);
        if let Some(p) = loader.parser() {
            pb.set_message(p.current_section().to_string());
        }
        if let Err(e) = loader.push(&chunk) {
            result = Err(e);
            break;
        }
        let _ = give_back.send(chunk);
    }
    pb.finish_and_clear();
    drop(reader_thread);
    result.with_context(|| format!("{shown} is not a valid heap snapshot"))?;
    let raw = loader
        .finish()
        .with_context(|| format!("{shown} is not a valid heap snapshot"))?;
    Ok(raw)
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// With `HEAPSCOPE_TIMINGS=1`, phase durations go to stderr (for benchmarking).
pub fn timings_enabled() -> bool {
    std::env::var_os("HEAPSCOPE_TIMINGS").is_some_and(|v| v != "0")
}

/// The Summary view's data from a valid cached analysis of `path`, without the graph.
pub fn cached_overview(path: &Path) -> Option<heapscope_store::sidecar::Overview> {
    crate::cache::Lookup::new(path)?.load_overview()
}

/// Reads and analyses a snapshot, or reads its analysis back from the cache (see `cache`).
pub fn analyze(path: &Path) -> Result<Analysis> {
    let started = Instant::now();
    let cached = crate::cache::Lookup::new(path);
    if let Some(a) = cached.as_ref().and_then(|c| c.load()) {
        if timings_enabled() {
            eprintln!(
                "[timings] analysis read from the cache {:.3}s",
                started.elapsed().as_secs_f64()
            );
        }
        return Ok(a);
    }
    let raw = read_snapshot(path)?;
    let a = analyze_raw(raw, started);
    if let Some(c) = cached {
        c.save(&a);
    }
    Ok(a)
}

/// Analyses a parsed snapshot (also one parsed while it was being captured); `started` is
/// when loading began, for the timings.
pub fn analyze_raw(raw: RawSnapshot, started: Instant) -> Analysis {
    let timings = timings_enabled();
    if timings {
        eprintln!("[timings] load {:.3}s", started.elapsed().as_secs_f64());
    }
    let last = Mutex::new((Instant::now(), "analysis"));
    let spinner = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::new_spinner();
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    } else {
        ProgressBar::hidden()
    };
    let sp = spinner.clone();
    let report = |label: &'static str| {
        let mut last = last.lock().expect("timings lock");
        if timings {
            eprintln!(
                "[timings] {} {:.3}s",
                last.1,
                last.0.elapsed().as_secs_f64()
            );
        }
        *last = (Instant::now(), label);
    };
    let analysis = Analysis::new(raw, &|phase: Phase| {
        sp.set_message(phase.label());
        report(phase.label());
    });
    report("");
    spinner.finish_and_clear();
    if timings {
        for (label, d) in &analysis.parallel_timings {
            eprintln!("[timings]   (parallel) {label} {:.3}s", d.as_secs_f64());
        }
        eprintln!("[timings] total {:.3}s", started.elapsed().as_secs_f64());
    }
    analysis
}
