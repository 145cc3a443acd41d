//! A heap snapshot captured from a watched process into the Snapshots list: a `snapshots`
//! row in `uploading` whose phase (`building`, `writing N MB`) and progress advance while V8
//! builds the snapshot and the chunks arrive; the file written as
//! `snapshots/<id>.heapsnapshot.part`, fsynced and renamed by the inspector crate; the chunks
//! parsed as they stream (as `heapscope snapshot --analyze` does), so the analysis worker
//! gets the parsed snapshot like an upload's and nothing is read twice. A failure leaves the
//! row `failed` with the reason, which is what the person who pressed the button needs.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use heapscope_format::{FormatError, Loader, RawSnapshot};
use heapscope_inspector::memory;
use heapscope_inspector::snapshot::{take_snapshot, SnapshotObserver, SnapshotOptions};
use heapscope_inspector::Attached;
use heapscope_store::snapshots::{self, SnapshotRow};
use heapscope_store::Store;

use super::capture::{file_stem, source, unreachable, CaptureJob, StartReply, Started};
use crate::error::ApiError;

/// Chunks are handed to the parser a few megabytes at a time (it splits work across cores
/// on large pieces), as `heapscope snapshot --analyze` does.
const PARSE_BATCH: usize = 4 << 20;
/// Progress is written to the store at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

pub(super) async fn capture(
    job: &CaptureJob,
    attached: &mut Attached,
    force: bool,
    started: StartReply,
) {
    let p = &job.process;
    let local_pid = i32::try_from(p.info.pid).ok();
    let check = match memory::check(&mut attached.client, local_pid).await {
        Ok(c) => c,
        Err(e) => {
            let _ = started.send(Err(unreachable(p, e)));
            return;
        }
    };
    if check.is_tight() && !force {
        let _ = started.send(Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "process #{} uses {} MB of heap and only {} MB of memory is available to it; V8 \
                 builds the snapshot inside the target, which temporarily takes several times \
                 the used heap and may get it killed. Free memory first, or pass force=true",
                p.id,
                check.usage.heap_used / 1_000_000,
                check.available.unwrap_or(0) / 1_000_000
            ),
        )));
        return;
    }
    let name = format!("{}.heapsnapshot", file_stem(p));
    let row = match job
        .store
        .with_conn(|c| snapshots::create(c, &name, &source(p)))
    {
        Ok(r) => r,
        Err(e) => {
            let _ = started.send(Err(e.into()));
            return;
        }
    };
    let out = job.store.dir().join(&row.file);
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = started.send(Ok(Started::Snapshot(row.clone())));
    let mut observer = Observer {
        store: &job.store,
        id: row.id,
        heap_used: check.usage.heap_used.max(1),
        last: None,
        loader: Some(Loader::new()),
        batch: Vec::new(),
        parse_error: None,
    };
    let outcome = take_snapshot(
        &mut attached.client,
        &out,
        SnapshotOptions::default(),
        &mut observer,
    )
    .await;
    let outcome = match outcome {
        Ok(capture) => observer.finish().map(|raw| (capture.bytes, raw)),
        Err(e) => Err(format!("the capture failed: {e}")),
    };
    finish_snapshot(job, &row, &out, outcome);
}

fn finish_snapshot(
    job: &CaptureJob,
    row: &SnapshotRow,
    out: &Path,
    outcome: Result<(u64, RawSnapshot), String>,
) {
    let stored = job.store.with_conn(|c| {
        if snapshots::get(c, row.id)?.is_none() {
            return Ok(false); // deleted while it was captured
        }
        match &outcome {
            Ok((size, _)) => snapshots::set_uploaded(c, row.id, *size)?,
            Err(e) => snapshots::set_failed(c, row.id, e)?,
        }
        Ok(true)
    });
    match (stored, outcome) {
        (Ok(true), Ok((_, raw))) => job.worker.enqueue(row.id, Some(raw)),
        (Ok(true), Err(_)) => {
            let _ = std::fs::remove_file(out);
        }
        (Ok(false), _) => {
            let _ = std::fs::remove_file(out);
        }
        (Err(e), _) => eprintln!("heapscope serve: cannot record capture #{}: {e:#}", row.id),
    }
}

/// Progress into the store, and the chunks into the parser.
struct Observer<'a> {
    store: &'a Store,
    id: i64,
    /// The target's used heap: the file is usually about as large, which is the best
    /// estimate of the writing phase's length there is before it ends.
    heap_used: u64,
    last: Option<Instant>,
    loader: Option<Loader>,
    batch: Vec<u8>,
    parse_error: Option<FormatError>,
}

impl Observer<'_> {
    fn report(&mut self, phase: &str, progress: f64) {
        if self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        // Progress is advisory: a failed write must not fail the capture.
        let _ = self
            .store
            .with_conn(|c| snapshots::set_capture_progress(c, self.id, phase, progress));
    }

    fn feed(&mut self) {
        if let Some(loader) = self.loader.as_mut() {
            if let Err(e) = loader.push(&self.batch) {
                self.parse_error = Some(e);
                self.loader = None;
            }
        }
        self.batch.clear();
    }

    fn finish(mut self) -> Result<RawSnapshot, String> {
        self.feed();
        let invalid = |e: FormatError| format!("the captured snapshot is not valid: {e}");
        if let Some(e) = self.parse_error.take() {
            return Err(invalid(e));
        }
        let loader = self.loader.take().ok_or("the parser stopped")?;
        loader.finish().map_err(invalid)
    }
}

impl SnapshotObserver for Observer<'_> {
    fn progress(&mut self, done: u64, total: u64) {
        // Building is the first half of the bar, writing the second.
        let f = if total == 0 {
            0.0
        } else {
            done as f64 / total as f64
        };
        self.report("building", 0.5 * f);
    }

    fn written(&mut self, bytes: u64) {
        let f = (bytes as f64 / self.heap_used as f64).min(0.9);
        self.report(&format!("writing {} MB", bytes / 1_000_000), 0.5 + 0.5 * f);
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
