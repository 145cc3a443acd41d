//! The router: the console's pages and assets, and the JSON API under `/api/`, all behind
//! the token check.

mod captures;
mod diff;
mod objects;
mod processes;
mod profiles;
mod samples;
mod search;
mod snapshots;
mod summary;

pub use diff::{LastComparison, LastThreeSnapshot};
pub use objects::Group;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::error::{ApiError, ApiResult};
use crate::{auth, ui, upload, AppState};

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route(
            "/api/snapshots",
            get(snapshots::list)
                .put(upload::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/snapshots/{sid}",
            get(snapshots::get_one).delete(snapshots::delete),
        )
        .route("/api/snapshots/{sid}/file", get(snapshots::download))
        .route("/api/snapshots/{sid}/summary", get(summary::summary))
        .route("/api/snapshots/{sid}/instances", get(summary::instances))
        .route("/api/snapshots/{sid}/statistics", get(summary::statistics))
        .route("/api/snapshots/{sid}/leaks", get(summary::leaks))
        .route("/api/snapshots/{sid}/objects/{id}", get(objects::object))
        .route("/api/snapshots/{sid}/objects/{id}/path", get(objects::path))
        .route("/api/snapshots/{sid}/dominators", get(objects::dominators))
        .route("/api/snapshots/{sid}/search", get(search::search))
        .route("/api/snapshots/{sid}/diff", get(diff::diff))
        .route(
            "/api/snapshots/{sid}/three-snapshot",
            get(diff::three_snapshot),
        )
        .route("/api/processes", get(processes::list).post(processes::add))
        .route("/api/processes/discover", get(processes::discover))
        .route("/api/processes/{id}", get(processes::get_one))
        .route("/api/processes/{id}/samples", get(samples::samples))
        .route("/api/processes/{id}/alerts", get(samples::alerts))
        .route("/api/processes/{id}/snapshot", post(captures::snapshot))
        .route(
            "/api/processes/{id}/cpu-profile",
            post(captures::cpu_profile),
        )
        .route(
            "/api/processes/{id}/heap-profile",
            post(captures::heap_profile),
        )
        .route("/api/profiles", get(profiles::list))
        .route(
            "/api/profiles/{id}",
            get(profiles::get_one).delete(profiles::delete),
        )
        .route("/api/profiles/{id}/file", get(profiles::download))
        .route("/api/profiles/{id}/top", get(profiles::top_functions))
        .route(
            "/api/profiles/{id}/flamegraph.svg",
            get(profiles::flame_graph),
        )
        .fallback(|| async { ApiResult::<()>::Err(ApiError::not_found("no such API endpoint")) });
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/{file}", get(ui::asset))
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// The snapshot row `sid` when it is ready: 404 when unknown, 409 while it is not ready.
pub fn ready_row(
    state: &Arc<AppState>,
    sid: &str,
) -> ApiResult<heapscope_store::snapshots::SnapshotRow> {
    let row = snapshots::row(state, sid)?;
    if row.status != heapscope_store::snapshots::Status::Ready {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            format!(
                "snapshot {} is {}{}",
                row.id,
                row.status.as_str(),
                row.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(row)
}

/// The analysed snapshot `sid` ([`ready_row`]'s errors), read from its sidecar or analysed
/// now (on a blocking thread) when it is not in memory.
pub async fn loaded(
    state: &Arc<AppState>,
    sid: &str,
) -> ApiResult<(
    heapscope_store::snapshots::SnapshotRow,
    Arc<crate::cache::Loaded>,
)> {
    let row = ready_row(state, sid)?;
    if let Some(l) = state.cache.get(row.id) {
        return Ok((row, l));
    }
    let cache = state.cache.clone();
    let (id, file) = (row.id, row.file.clone());
    let loaded = tokio::task::spawn_blocking(move || cache.get_or_analyze(id, &file))
        .await
        .map_err(|e| ApiError::internal(format!("the analysis thread failed: {e}")))??;
    Ok((row, loaded))
}

/// The Summary and Statistics data of `sid` without waiting for its graph: from memory, or
/// from the first section of its sidecar (after a restart), in which case the rest is read
/// in the background for the views that follow.
pub async fn overview(
    state: &Arc<AppState>,
    sid: &str,
) -> ApiResult<Arc<heapscope_store::sidecar::Overview>> {
    let row = ready_row(state, sid)?;
    if let Some(l) = state.cache.get(row.id) {
        return Ok(l.overview.clone());
    }
    let cache = state.cache.clone();
    let (id, file) = (row.id, row.file.clone());
    let found = tokio::task::spawn_blocking(move || cache.overview(id, &file))
        .await
        .map_err(|e| ApiError::internal(format!("reading the summary failed: {e}")))?;
    match found {
        Some(o) => {
            state.cache.warm_up(row.id, &row.file);
            Ok(o)
        }
        None => Ok(loaded(state, sid).await?.1.overview.clone()),
    }
}
