//! `/api/profiles`: recorded CPU and sampling heap profiles — list, get, delete, download,
//! the top functions (sorted and paged here) and the flame graph the inspector crate draws.
//! A profile is parsed again for each view: they are megabytes, parsed in milliseconds, and
//! the console asks for a view at a time.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use heapscope_inspector::calltree::{CallTree, ValueUnit};
use heapscope_inspector::{cpuprofile, flamegraph, heapprofile, top};
use heapscope_store::profiles::{self, Kind, ProfileRow, Status};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::models::ProfileJson;
use crate::params::Params;
use crate::AppState;

fn row(state: &AppState, text: &str) -> ApiResult<ProfileRow> {
    let id = text
        .parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no profile `{text}` (ids are numbers)")))?;
    state
        .store
        .with_conn(|c| profiles::get(c, id))?
        .ok_or_else(|| ApiError::not_found(format!("no profile {id}")))
}

fn ready(state: &AppState, text: &str) -> ApiResult<ProfileRow> {
    let r = row(state, text)?;
    if r.status != Status::Ready {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "profile {} is {}{}",
                r.id,
                r.status.as_str(),
                r.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(r)
}

/// Reads and parses the profile on a blocking thread.
async fn tree(state: &AppState, r: &ProfileRow) -> ApiResult<CallTree> {
    let path = state.store.dir().join(&r.file);
    let kind = r.kind;
    let id = r.id;
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path)
            .map_err(|e| ApiError::internal(format!("cannot read profile {id}: {e}")))?;
        match kind {
            Kind::Cpu => cpuprofile::parse(&bytes),
            Kind::Heap => heapprofile::parse(&bytes),
        }
        .map_err(|e| ApiError::internal(format!("profile {id} does not parse: {e}")))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the profile thread failed: {e}")))?
}

pub async fn list(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<ProfileJson>>> {
    let rows = state.store.with_conn(profiles::list)?;
    Ok(Json(rows.iter().map(ProfileJson::from).collect()))
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ProfileJson>> {
    Ok(Json(ProfileJson::from(&row(&state, &id)?)))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let r = row(&state, &id)?;
    if r.status == Status::Recording {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("profile {} is still recording", r.id),
        ));
    }
    state.store.with_conn(|c| profiles::delete(c, r.id))?;
    // The row goes first: a file without a row is harmless, a row without its file is not.
    let path = state.store.dir().join(&r.file);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ApiError::internal(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

pub async fn download(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let r = ready(&state, &id)?;
    let file = tokio::fs::File::open(state.store.dir().join(&r.file))
        .await
        .map_err(|e| ApiError::internal(format!("cannot open profile {}: {e}", r.id)))?;
    // The name is made by the server from the app name, but keep the header safe anyway.
    let filename: String = r
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
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

#[derive(Serialize)]
struct FunctionJson {
    function: String,
    /// `path:line:column` (1-based); absent for V8's synthetic frames.
    location: Option<String>,
    #[serde(rename = "self")]
    self_value: u64,
    total: u64,
}

#[derive(Serialize)]
struct TopJson {
    /// `microseconds` or `bytes`.
    unit: &'static str,
    total: u64,
    matched: usize,
    offset: usize,
    functions: Vec<FunctionJson>,
}

/// `?sort=self|total&filter=TEXT&offset&limit`.
pub async fn top_functions(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let r = ready(&state, &id)?;
    let (offset, limit) = params.page("", 50)?;
    let by_total = match params.str("sort").unwrap_or("self") {
        "self" => false,
        "total" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "`sort` must be self or total, not `{other}`"
            )))
        }
    };
    let filter = params.str("filter").map(str::to_lowercase);
    let tree = tree(&state, &r).await?;
    let mut rows = top::by_function(&tree);
    if by_total {
        rows.sort_by(|a, b| {
            b.total_value
                .cmp(&a.total_value)
                .then(b.self_value.cmp(&a.self_value))
        });
    }
    if let Some(f) = &filter {
        rows.retain(|r| {
            r.frame.display_name().to_lowercase().contains(f)
                || r.frame.url.to_lowercase().contains(f)
        });
    }
    let body = TopJson {
        unit: match tree.unit {
            ValueUnit::Microseconds => "microseconds",
            ValueUnit::Bytes => "bytes",
        },
        total: tree.total(),
        matched: rows.len(),
        offset,
        functions: rows
            .iter()
            .skip(offset)
            .take(limit)
            .map(|f| FunctionJson {
                function: f.frame.display_name().to_string(),
                location: f.frame.location(),
                self_value: f.self_value,
                total: f.total_value,
            })
            .collect(),
    };
    Ok(Json(body).into_response())
}

/// The flame graph as SVG (tooltips in `<title>`), drawn by the inspector crate.
pub async fn flame_graph(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let r = ready(&state, &id)?;
    let tree = tree(&state, &r).await?;
    let svg = flamegraph::svg(&tree, &r.name);
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}
