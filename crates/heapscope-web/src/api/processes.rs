//! `/api/processes`: the processes in the store (watched by this server or recorded by
//! `heapscope watch`) with their latest key values and watch status, sorted and paged on the
//! server; local Node processes that could be watched; and starting a watch.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use heapscope_inspector::attach::find_inspector;
use heapscope_inspector::procs;
use heapscope_store::metrics::{self, ProcessRow};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::processes::{target, Health, WatchState};
use crate::AppState;

/// The values the list shows, and the newest of each.
const KEY_METRICS: &[&str] = &[
    "heap_used_bytes",
    "heap_total_bytes",
    "heap_limit_bytes",
    "rss_bytes",
    "external_bytes",
    "array_buffers_bytes",
    "heap_after_gc_bytes",
    "heap_trend_bytes_per_hour",
    "active_resources",
];
/// How far back from its last sighting a process's latest values are looked for.
const LATEST_WINDOW_MS: i64 = 10 * 60 * 1000;

#[derive(Serialize)]
pub struct ProcessJson {
    pub id: i64,
    pub pid: i64,
    pub app: String,
    pub command_line: String,
    pub inspector: String,
    pub started_ms: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// `live`, `attaching`, `gone`, `error`, or `not watched` (by this server).
    pub status: &'static str,
    pub error: Option<String>,
    /// The newest value of each of [`KEY_METRICS`] the process has.
    pub latest: BTreeMap<String, f64>,
    pub latest_ms: Option<i64>,
    pub alert_count: usize,
    /// How often this server samples it, when it watches it.
    pub watch_interval_ms: Option<u64>,
}

/// A stored process by path segment: 404 for unknown or malformed ids.
pub fn process_row(state: &AppState, text: &str) -> ApiResult<ProcessRow> {
    let id = text
        .parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| {
            ApiError::not_found(format!("no process `{text}` (process ids are numbers)"))
        })?;
    state
        .store
        .with_conn(metrics::processes)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no process {id}")))
}

fn status_of(watch: Option<&WatchState>) -> (&'static str, Option<String>) {
    match watch {
        None => ("not watched", None),
        Some(w) => (
            match w.status {
                Health::Attaching => "attaching",
                Health::Live => "live",
                Health::Gone => "gone",
                Health::Error => "error",
            },
            w.error.clone(),
        ),
    }
}

pub fn process_json(state: &AppState, row: &ProcessRow) -> ApiResult<ProcessJson> {
    let from = row.last_seen_ms - LATEST_WINDOW_MS;
    let (points, alert_count) = state.store.with_conn(|c| {
        let points = metrics::samples(c, row.id, KEY_METRICS, from, i64::MAX)?;
        let alerts = metrics::alerts(c, Some(row.id), 0, i64::MAX)?.len();
        Ok((points, alerts))
    })?;
    let mut latest = BTreeMap::new();
    let mut latest_ms = None;
    // Points come one metric after the other, in time order: the last one of each wins.
    for p in points {
        latest_ms = latest_ms.max(Some(p.ts_ms));
        latest.insert(p.metric, p.value);
    }
    let watch = state.processes.watch_of(row.id);
    let (status, error) = status_of(watch.as_ref());
    let watch_interval_ms = watch
        .filter(|w| w.active)
        .map(|_| state.processes.interval.as_millis() as u64);
    Ok(ProcessJson {
        id: row.id,
        pid: row.info.pid,
        app: row.info.app.clone(),
        command_line: row.info.command_line.clone(),
        inspector: row.info.inspector.clone(),
        started_ms: row.info.started_ms,
        first_seen_ms: row.first_seen_ms,
        last_seen_ms: row.last_seen_ms,
        status,
        error,
        latest,
        latest_ms,
        alert_count,
        watch_interval_ms,
    })
}

#[derive(Serialize)]
pub struct ProcessList {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub sort: String,
    pub interval_ms: u128,
    pub processes: Vec<ProcessJson>,
    /// Watches not (yet) tied to a stored process: attaching, or failing to attach.
    pub watches: Vec<WatchState>,
}

const SORTS: &[&str] = &[
    "last_seen",
    "app",
    "pid",
    "status",
    "heap_used",
    "rss",
    "alerts",
];

pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> ApiResult<Json<ProcessList>> {
    let (offset, limit) = params.page("", 50)?;
    let sort = params.str("sort").unwrap_or("last_seen").to_string();
    if !SORTS.contains(&sort.as_str()) {
        return Err(ApiError::bad_request(format!(
            "`sort` must be one of {}, not `{sort}`",
            SORTS.join(", ")
        )));
    }
    let rows = state.store.with_conn(metrics::processes)?;
    let mut all = rows
        .iter()
        .map(|r| process_json(&state, r))
        .collect::<ApiResult<Vec<_>>>()?;
    let value = |p: &ProcessJson, m: &str| p.latest.get(m).copied().unwrap_or(-1.0);
    // Names ascending, quantities largest first; ties keep the store's order (newest first).
    match sort.as_str() {
        "app" => all.sort_by(|a, b| a.app.cmp(&b.app)),
        "pid" => all.sort_by_key(|p| p.pid),
        "status" => all.sort_by_key(|p| p.status),
        "heap_used" => {
            all.sort_by(|a, b| value(b, "heap_used_bytes").total_cmp(&value(a, "heap_used_bytes")))
        }
        "rss" => all.sort_by(|a, b| value(b, "rss_bytes").total_cmp(&value(a, "rss_bytes"))),
        "alerts" => all.sort_by_key(|p| std::cmp::Reverse(p.alert_count)),
        _ => {}
    }
    let total = all.len();
    let processes = all.into_iter().skip(offset).take(limit).collect();
    let watches = state
        .processes
        .watches()
        .into_iter()
        .filter(|w| w.process_id.is_none())
        .collect();
    Ok(Json(ProcessList {
        total,
        offset,
        limit,
        sort,
        interval_ms: state.processes.interval.as_millis(),
        processes,
        watches,
    }))
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ProcessJson>> {
    let row = process_row(&state, &id)?;
    Ok(Json(process_json(&state, &row)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchRequest {
    pid: Option<i64>,
    inspect: Option<String>,
}

/// `POST /api/processes` with `{"pid": 4121}` or `{"inspect": "127.0.0.1:9229"}`: attaches,
/// identifies and starts sampling; answers with the process (201), or why not.
pub async fn add(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ProcessJson>)> {
    let usage = r#"expected {"pid": 4121} or {"inspect": "127.0.0.1:9229"}"#;
    let request: WatchRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed request ({e}): {usage}")))?;
    let spec = match (request.pid, request.inspect.as_deref()) {
        (Some(pid), None) => target::pid_spec(pid),
        (None, Some(addr)) => target::inspect_spec(addr),
        _ => Err(format!("give exactly one of `pid` and `inspect`: {usage}")),
    }
    .map_err(ApiError::bad_request)?;
    let process_id = state.processes.watch(spec).await.map_err(|r| {
        let status = if r.client_error {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::BAD_GATEWAY
        };
        ApiError::new(status, format!("cannot watch: {}", r.message))
    })?;
    let row = process_row(&state, &process_id.to_string())?;
    Ok((StatusCode::CREATED, Json(process_json(&state, &row)?)))
}

#[derive(Serialize)]
pub struct Discovered {
    pub pid: i32,
    pub command: Vec<String>,
    pub uptime_seconds: u64,
    pub rss_bytes: u64,
    /// `HOST:PORT` of its open inspector (loopback), if any.
    pub inspector: Option<String>,
    /// The stored process this server watches for it, if it does.
    pub process_id: Option<i64>,
}

/// Local Node processes, as `heapscope ps` lists them.
pub async fn discover(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<Discovered>>> {
    let found = tokio::task::spawn_blocking(procs::node_processes)
        .await
        .map_err(|e| ApiError::internal(format!("the process scan failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("cannot list processes: {e}")))?;
    let watches = state.processes.watches();
    let mut out = Vec::with_capacity(found.len());
    for p in found {
        let inspector = find_inspector(&p.listening).await.map(|a| a.to_string());
        let process_id = watches
            .iter()
            .find(|w| w.pid == Some(p.pid as i64) && w.active)
            .and_then(|w| w.process_id);
        out.push(Discovered {
            pid: p.pid,
            command: p.cmdline,
            uptime_seconds: p.uptime.as_secs(),
            rss_bytes: p.rss_bytes,
            inspector,
            process_id,
        });
    }
    Ok(Json(out))
}
