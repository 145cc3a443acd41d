//! `POST /api/processes/{id}/snapshot`, `/cpu-profile?duration=10s` and
//! `/heap-profile?duration=10s`: start a capture and answer 202 with its row (a snapshot in
//! `uploading`, a profile in `recording`), whose progress the client then polls. One capture
//! per process at a time.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use heapscope_inspector::watch::rules::parse_duration;
use heapscope_store::profiles::Kind;

use super::processes::process_row;
use crate::error::{ApiError, ApiResult};
use crate::models::{ProfileJson, SnapshotJson};
use crate::params::Params;
use crate::processes::capture::{self, Capture, CaptureJob, Started};
use crate::processes::Health;
use crate::AppState;

const MIN_PROFILE: Duration = Duration::from_millis(100);
const MAX_PROFILE: Duration = Duration::from_secs(600);

async fn begin(state: &Arc<AppState>, id: &str, what: Capture) -> ApiResult<Started> {
    let process = process_row(state, id)?;
    if let Some(w) = state
        .processes
        .watch_of(process.id)
        .filter(|w| w.status == Health::Gone)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "process #{} (pid {}) is gone: {}",
                process.id,
                process.info.pid,
                w.error.unwrap_or_default()
            ),
        ));
    }
    let guard = state.processes.begin_capture(process.id).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "a capture of process #{} is already running; wait for it to finish",
                process.id
            ),
        )
    })?;
    capture::start(CaptureJob {
        store: state.store.clone(),
        worker: state.worker.clone(),
        process,
        guard,
        what,
    })
    .await
}

pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(StatusCode, Json<SnapshotJson>)> {
    let force = match params.str("force") {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`force` must be true or false, not `{other}`"
            )))
        }
    };
    match begin(&state, &id, Capture::Snapshot { force }).await? {
        Started::Snapshot(row) => Ok((StatusCode::ACCEPTED, Json(SnapshotJson::from(&row)))),
        Started::Profile(_) => Err(ApiError::internal("a snapshot request started a profile")),
    }
}

async fn profile(
    state: Arc<AppState>,
    id: String,
    params: Params,
    kind: Kind,
) -> ApiResult<(StatusCode, Json<ProfileJson>)> {
    let text = params.str("duration").unwrap_or("10s");
    let duration = parse_duration(text)
        .ok()
        .filter(|d| (MIN_PROFILE..=MAX_PROFILE).contains(d))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`duration` must be a duration from 100ms to 10m like 10s or 2m, not `{text}`"
            ))
        })?;
    match begin(&state, &id, Capture::Profile { kind, duration }).await? {
        Started::Profile(row) => Ok((StatusCode::ACCEPTED, Json(ProfileJson::from(&row)))),
        Started::Snapshot(_) => Err(ApiError::internal("a profile request started a snapshot")),
    }
}

pub async fn cpu_profile(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(StatusCode, Json<ProfileJson>)> {
    profile(state, id, params, Kind::Cpu).await
}

pub async fn heap_profile(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(StatusCode, Json<ProfileJson>)> {
    profile(state, id, params, Kind::Heap).await
}
