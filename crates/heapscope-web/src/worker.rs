//! The analysis worker: one thread, one snapshot at a time, in upload order. Progress goes to
//! the store (reading the file, then the analysis phases, then the leak report); the result
//! goes to the in-memory cache and to a sidecar file (`cache`), the leak report, as JSON
//! text, to the store. A crash leaves the row `analyzing`, which the store turns back into
//! `queued` on the next open; a sidecar is renamed into place only when complete.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use heapscope_analysis::leaks::{self, LeakOptions};
use heapscope_analysis::Analysis;
use heapscope_format::RawSnapshot;
use heapscope_store::{snapshots, Store};

use crate::cache::{phase_fraction, read_file, Cache, Loaded};

/// The leak report's kind and schema version in the store.
pub const LEAKS_REPORT: &str = "leaks";
pub const LEAKS_REPORT_VERSION: i64 = 1;

/// Reading the file is this share of the progress bar; the analysis the rest.
const READ_SHARE: f64 = 0.3;

#[derive(Clone)]
pub struct WorkerHandle {
    queue: mpsc::Sender<i64>,
    /// A snapshot parsed while it was uploaded, so the worker need not parse it again. One
    /// slot only: a second upload finishing meanwhile is parsed again from its file, which
    /// bounds the memory held by waiting uploads.
    handoff: Arc<Mutex<Option<(i64, RawSnapshot)>>>,
}

impl WorkerHandle {
    /// Queues `id`; `raw` is its already-parsed snapshot, if the caller has one.
    pub fn enqueue(&self, id: i64, raw: Option<RawSnapshot>) {
        if let Some(raw) = raw {
            let mut slot = self.handoff.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some((id, raw));
            }
        }
        // The worker lives as long as the process; a send error means it is gone, and the
        // row stays `queued` for the next start.
        let _ = self.queue.send(id);
    }

    fn take_parsed(&self, id: i64) -> Option<RawSnapshot> {
        let mut slot = self.handoff.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some((held, raw)) if held == id => Some(raw),
            other => {
                *slot = other;
                None
            }
        }
    }
}

/// Starts the worker and queues the snapshots the store says are waiting.
pub fn start(store: Arc<Store>, cache: Arc<Cache>) -> Result<WorkerHandle> {
    let (tx, rx) = mpsc::channel::<i64>();
    let handle = WorkerHandle {
        queue: tx,
        handoff: Arc::new(Mutex::new(None)),
    };
    let worker = handle.clone();
    let queued = store.with_conn(snapshots::queued)?;
    std::thread::Builder::new()
        .name("heapscope-analysis".into())
        .spawn(move || {
            for id in rx {
                let raw = worker.take_parsed(id);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    analyze(&store, &cache, id, raw)
                }));
                let error = match outcome {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => format!("{e:#}"),
                    Err(_) => "the analysis crashed (a bug in heapscope; please report it)".into(),
                };
                if let Err(e) = store.with_conn(|c| snapshots::set_failed(c, id, &error)) {
                    eprintln!("heapscope serve: cannot record the failure of #{id}: {e:#}");
                }
            }
        })
        .context("cannot start the analysis thread")?;
    for id in queued {
        handle.enqueue(id, None);
    }
    Ok(handle)
}

fn analyze(store: &Store, cache: &Cache, id: i64, raw: Option<RawSnapshot>) -> Result<()> {
    let Some(row) = store.with_conn(|c| snapshots::get(c, id))? else {
        return Ok(()); // deleted while queued
    };
    if row.status != snapshots::Status::Queued {
        return Ok(());
    }
    let _one_at_a_time = cache
        .analysis_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let progress = |phase: &str, fraction: f64| {
        // Progress is advisory: a failed write must not fail the analysis.
        let _ = store.with_conn(|c| snapshots::set_progress(c, id, phase, fraction));
    };
    progress("reading", 0.0);
    let raw = match raw {
        Some(raw) => raw,
        None => read_file(&store.dir().join(&row.file), &mut |f| {
            progress("reading", f * READ_SHARE)
        })?,
    };
    let analysis = Analysis::new(raw, &|phase| {
        progress(
            phase.label(),
            READ_SHARE + (1.0 - READ_SHARE) * 0.9 * phase_fraction(phase),
        )
    });
    progress("indexes", READ_SHARE + (1.0 - READ_SHARE) * 0.88);
    let loaded = Loaded::new(analysis, None, None);
    progress("leak report", READ_SHARE + (1.0 - READ_SHARE) * 0.9);
    let a = &loaded.analysis;
    let report = leaks::report(a, &loaded.retainers, &LeakOptions::default());
    let doc = crate::leaks_json::to_json(a, &report, &row.name);
    let body = serde_json::to_string(&doc)?;
    let (nodes, edges) = (a.node_count() as u64, a.edge_count() as u64);
    // Deleted meanwhile: keep nothing.
    if store.with_conn(|c| snapshots::get(c, id))?.is_none() {
        return Ok(());
    }
    progress(
        "saving the analysis",
        READ_SHARE + (1.0 - READ_SHARE) * 0.95,
    );
    // Without a sidecar the snapshot is still usable (analysed again on its next load):
    // a failed save is reported, not fatal.
    let sidecar = cache.sidecar_of(&row.file);
    let saved = match &sidecar {
        Ok((path, fp)) => loaded.save(path, fp),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    if let Err(e) = saved {
        eprintln!("heapscope serve: the analysis of #{id} was not saved: {e:#}");
    }
    // Deleted while saving (its file, which names the sidecar, may be gone already): take
    // the sidecar back by the path computed before.
    if store.with_conn(|c| snapshots::get(c, id))?.is_none() {
        if let Ok((path, _)) = &sidecar {
            let _ = std::fs::remove_file(path);
        }
        return Ok(());
    }
    store.with_conn(|c| {
        snapshots::put_report(c, id, LEAKS_REPORT, LEAKS_REPORT_VERSION, &body)?;
        snapshots::set_ready(c, id, nodes, edges)
    })?;
    cache.insert(id, Arc::new(loaded));
    Ok(())
}
