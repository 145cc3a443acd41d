//! Captures from a watched process, on request: a heap snapshot, a CPU profile or a sampling
//! heap profile. Each runs on a thread of its own with a current-thread runtime and its own
//! inspector session (the snapshot writer and the parser are synchronous, by design of the
//! inspector crate: while a chunk is written nothing is read and V8 waits). The request is
//! answered once the target is reached and the row exists; the capture then goes on and
//! reports through the store.
//!
//! Snapshots are `snapshot.rs`'s; profiles are `profiles` rows and files under
//! `profiles/`. Both name their process in `source` as `process #ID: pid PID (APP)`, which is
//! how the Processes page finds a snapshot of its process.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use heapscope_inspector::profile::{
    cpu_profile, sampling_heap_profile, CpuProfileOptions, SamplingOptions,
};
use heapscope_inspector::watch::actions::utc_stamp;
use heapscope_inspector::watch::sample::{identify, now_ms};
use heapscope_inspector::{attach, AttachOptions, Attached, InspectorError};
use heapscope_store::metrics::ProcessRow;
use heapscope_store::profiles::{self, Kind, NewProfile, ProfileRow};
use heapscope_store::Store;
use tokio::sync::oneshot;

use super::{target, CaptureGuard};
use crate::error::ApiError;
use crate::worker::WorkerHandle;

/// Deadline for reaching the target and for each answer outside the capture itself.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Start times of one process read twice differ by clock jitter (as in the store).
const SAME_START_MS: i64 = 2000;

pub enum Capture {
    /// `force`: capture even when the target may lack the memory a snapshot needs.
    Snapshot {
        force: bool,
    },
    Profile {
        kind: Kind,
        duration: Duration,
    },
}

pub enum Started {
    Snapshot(heapscope_store::snapshots::SnapshotRow),
    Profile(ProfileRow),
}

/// What a capture needs; the guard keeps other captures of the process out until it ends.
pub struct CaptureJob {
    pub store: Arc<Store>,
    pub worker: WorkerHandle,
    pub process: ProcessRow,
    pub guard: CaptureGuard,
    pub what: Capture,
}

pub(super) type StartReply = oneshot::Sender<Result<Started, ApiError>>;

/// Starts the capture; answers once it is under way (or why it cannot be).
pub async fn start(job: CaptureJob) -> Result<Started, ApiError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ApiError::internal(format!("cannot start a capture runtime: {e}")))?;
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("heapscope-capture".into())
        .spawn(move || runtime.block_on(run(job, tx)))
        .map_err(|e| ApiError::internal(format!("cannot start a capture thread: {e}")))?;
    rx.await
        .map_err(|_| ApiError::internal("the capture thread ended without an answer"))?
}

async fn run(job: CaptureJob, started: StartReply) {
    let mut attached = match connect(&job.process).await {
        Ok(a) => a,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    match job.what {
        Capture::Snapshot { force } => {
            super::snapshot::capture(&job, &mut attached, force, started).await
        }
        Capture::Profile { kind, duration } => {
            profile(&job, &mut attached, kind, duration, started).await
        }
    }
    attached.client.close().await;
    drop(job.guard);
}

/// A session with the stored process, checked to be that process still (its inspector port
/// may have been taken by a newer one).
async fn connect(p: &ProcessRow) -> Result<Attached, ApiError> {
    let spec = target::inspect_spec(&p.info.inspector).map_err(ApiError::bad_request)?;
    let notice = |_: &str| {};
    let options = AttachOptions {
        allow_remote: false,
        timeout: TIMEOUT,
        notice: &notice,
    };
    let mut attached = attach(&spec, &options)
        .await
        .map_err(|e| unreachable(p, e))?;
    let who = identify(&mut attached.client)
        .await
        .map_err(|e| unreachable(p, e))?;
    if who.pid != p.info.pid || (who.started_ms - p.info.started_ms).abs() > SAME_START_MS {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "process #{} (pid {}) has exited: its inspector {} now belongs to pid {}",
                p.id, p.info.pid, p.info.inspector, who.pid
            ),
        ));
    }
    Ok(attached)
}

pub(super) fn unreachable(p: &ProcessRow, e: InspectorError) -> ApiError {
    let gone = matches!(
        e,
        InspectorError::ConnectionRefused { .. } | InspectorError::Closed { .. }
    );
    let (status, why) = if gone {
        (StatusCode::CONFLICT, "; it has probably exited")
    } else {
        (StatusCode::BAD_GATEWAY, "")
    };
    ApiError::new(
        status,
        format!(
            "cannot reach process #{} (pid {}, {}) at {}: {e}{why}",
            p.id, p.info.pid, p.info.app, p.info.inspector
        ),
    )
}

pub(super) fn source(p: &ProcessRow) -> String {
    format!("process #{}: pid {} ({})", p.id, p.info.pid, p.info.app)
}

pub(super) fn file_stem(p: &ProcessRow) -> String {
    let app: String = p
        .info
        .app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{app}-{}-{}", p.info.pid, utc_stamp(now_ms()))
}

async fn profile(
    job: &CaptureJob,
    attached: &mut Attached,
    kind: Kind,
    duration: Duration,
    started: StartReply,
) {
    let p = &job.process;
    let name = format!("{}.{}", file_stem(p), kind.extension());
    let new = NewProfile {
        kind,
        name: &name,
        started_ms: now_ms(),
        duration_ms: duration.as_millis() as i64,
        process_id: Some(p.id),
        source: &source(p),
    };
    let row = match job.store.with_conn(|c| profiles::create(c, &new)) {
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
    let _ = started.send(Ok(Started::Profile(row.clone())));
    let client = &mut attached.client;
    // The CLI's defaults (`heapscope profile`, `heapscope sample`).
    let recorded = match kind {
        Kind::Cpu => {
            let options = CpuProfileOptions {
                duration,
                interval: Duration::from_millis(1),
            };
            cpu_profile(client, &out, options).await
        }
        Kind::Heap => {
            let options = SamplingOptions {
                duration,
                interval_bytes: 32768,
                include_collected: false,
            };
            sampling_heap_profile(client, &out, options).await
        }
    };
    let result = job.store.with_conn(|c| match &recorded {
        Ok(path) => {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            profiles::set_ready(c, row.id, size)
        }
        Err(e) => profiles::set_failed(c, row.id, &format!("the recording failed: {e}")),
    });
    if let Err(e) = result {
        eprintln!("heapscope serve: cannot record profile #{}: {e:#}", row.id);
    }
}

/// Profile part files left by a server that stopped mid-recording (their rows the store has
/// already marked failed). Snapshot part files are the upload's to remove: same directory.
pub fn remove_stale_parts(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join("profiles")) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|e| e == "part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
