//! Listing, reading, deleting and downloading snapshots.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use heapscope_store::snapshots::{self, SnapshotRow};

use crate::error::{ApiError, ApiResult};
use crate::models::SnapshotJson;
use crate::params::snapshot_id;
use crate::AppState;

pub fn row(state: &AppState, sid: &str) -> ApiResult<SnapshotRow> {
    let id = snapshot_id(sid)?;
    state
        .store
        .with_conn(|c| snapshots::get(c, id))?
        .ok_or_else(|| ApiError::not_found(format!("no snapshot {id}")))
}

pub async fn list(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<SnapshotJson>>> {
    let rows = state.store.with_conn(snapshots::list)?;
    Ok(Json(rows.iter().map(SnapshotJson::from).collect()))
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
) -> ApiResult<Json<SnapshotJson>> {
    Ok(Json(SnapshotJson::from(&row(&state, &sid)?)))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
) -> ApiResult<StatusCode> {
    let id = snapshot_id(&sid)?;
    let Some(row) = state.store.with_conn(|c| snapshots::delete(c, id))? else {
        return Err(ApiError::not_found(format!("no snapshot {id}")));
    };
    state.cache.remove(id);
    // The row goes first: a file without a row is harmless, a row without its file is not.
    // The sidecar goes before the file, which names it.
    state.cache.remove_sidecar(&row.file);
    let path = state.store.dir().join(&row.file);
    if let Err(e) = std::fs::remove_file(&path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(ApiError::internal(format!(
                "cannot remove {}: {e}",
                path.display()
            )));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn download(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
) -> ApiResult<Response> {
    let row = row(&state, &sid)?;
    if matches!(
        row.status,
        snapshots::Status::Uploading | snapshots::Status::Failed
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "snapshot {} has no complete file ({})",
                row.id,
                row.status.as_str()
            ),
        ));
    }
    let file = tokio::fs::File::open(state.store.dir().join(&row.file))
        .await
        .map_err(|e| ApiError::internal(format!("cannot open snapshot {}: {e}", row.id)))?;
    // Only safe characters in the header; the name is user-supplied.
    let filename: String = row
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CONTENT_LENGTH, row.size.to_string()),
        ],
        body,
    )
        .into_response())
}
