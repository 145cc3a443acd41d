//! A process's samples for the charts, downsampled on the server, and its alerts, paged.
//!
//! `GET /api/processes/{id}/samples?metrics=heap_used_bytes,resources_*&since=15m&points=400`:
//! `metrics` is a comma-separated list of names, each optionally ending in `*` (every stored
//! metric with that prefix: `resources_*` is the handles by type); `since` and `until` are
//! unix milliseconds or a duration ago (`15m`); each series comes back with at most `points`
//! points, its min/max envelope per time bucket.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use heapscope_inspector::watch::rules::parse_duration;
use heapscope_inspector::watch::sample::now_ms;
use heapscope_store::metrics;
use serde::Serialize;

use super::processes::process_row;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::processes::downsample;
use crate::AppState;

const DEFAULT_POINTS: usize = 400;
const MAX_POINTS: usize = 5000;
/// A request naming more series than this is refused rather than answered slowly.
const MAX_SERIES: usize = 64;

/// `since`/`until`: unix ms, or a duration before now.
fn time_param(params: &Params, name: &str, default: i64) -> ApiResult<i64> {
    let Some(text) = params.str(name) else {
        return Ok(default);
    };
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    parse_duration(text)
        .map(|d| now_ms() - d.as_millis() as i64)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{name}` must be unix milliseconds or a duration before now like 15m or 1h, \
                 not `{text}`"
            ))
        })
}

/// `(since, until)` as asked for (`None`: unbounded) and as queried.
fn range(params: &Params) -> ApiResult<(Option<i64>, Option<i64>, i64, i64)> {
    let since = time_param(params, "since", 0)?;
    let until = time_param(params, "until", i64::MAX)?;
    if since >= until {
        return Err(ApiError::bad_request(format!(
            "`since` ({since}) must be before `until` ({until})"
        )));
    }
    let given = |name: &str, v: i64| params.str(name).map(|_| v);
    Ok((given("since", since), given("until", until), since, until))
}

#[derive(Serialize)]
pub struct Series {
    pub metric: String,
    /// Points stored in the range, before downsampling.
    pub stored: usize,
    /// `[unix ms, value]`, in time order.
    pub points: Vec<(i64, f64)>,
}

#[derive(Serialize)]
pub struct SamplesJson {
    pub process_id: i64,
    /// The range asked for, in unix ms; `null` where unbounded.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub points: usize,
    /// Every metric stored for the process.
    pub available: Vec<String>,
    pub series: Vec<Series>,
}

pub async fn samples(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<SamplesJson>> {
    let row = process_row(&state, &id)?;
    let (since_given, until_given, since, until) = range(&params)?;
    let points = params.usize("points", DEFAULT_POINTS)?;
    if !(2..=MAX_POINTS).contains(&points) {
        return Err(ApiError::bad_request(format!(
            "`points` must be from 2 to {MAX_POINTS}, not {points}"
        )));
    }
    let available = state
        .store
        .with_conn(|c| metrics::metric_names(c, row.id))?;
    let wanted = params
        .str("metrics")
        .unwrap_or("heap_used_bytes,heap_limit_bytes");
    let mut names: Vec<String> = Vec::new();
    for item in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (stem, prefix) = match item.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (item, false),
        };
        if stem.is_empty()
            || !stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ApiError::bad_request(format!(
                "`{item}` is not a metric name (snake_case like heap_used_bytes, or a prefix \
                 ending in * like resources_*)"
            )));
        }
        let matched: Vec<String> = if prefix {
            available
                .iter()
                .filter(|a| a.starts_with(stem))
                .cloned()
                .collect()
        } else {
            // A metric not stored (yet) is an empty series: resource types come and go.
            vec![stem.to_string()]
        };
        for m in matched {
            if !names.contains(&m) {
                names.push(m);
            }
        }
    }
    if names.len() > MAX_SERIES {
        return Err(ApiError::bad_request(format!(
            "{} series asked for; at most {MAX_SERIES} at a time",
            names.len()
        )));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let stored = if refs.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .with_conn(|c| metrics::samples(c, row.id, &refs, since, until))?
    };
    let series = names
        .iter()
        .map(|name| {
            let raw: Vec<(i64, f64)> = stored
                .iter()
                .filter(|p| &p.metric == name)
                .map(|p| (p.ts_ms, p.value))
                .collect();
            Series {
                metric: name.clone(),
                stored: raw.len(),
                points: downsample::min_max(&raw, points),
            }
        })
        .collect();
    Ok(Json(SamplesJson {
        process_id: row.id,
        since: since_given,
        until: until_given,
        points,
        available,
        series,
    }))
}

#[derive(Serialize)]
pub struct AlertJson {
    pub ts_ms: i64,
    pub rule: String,
    pub message: String,
    pub action: String,
}

#[derive(Serialize)]
pub struct AlertsJson {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    /// Newest first.
    pub alerts: Vec<AlertJson>,
}

pub async fn alerts(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<AlertsJson>> {
    let row = process_row(&state, &id)?;
    let (_, _, since, until) = range(&params)?;
    let (offset, limit) = params.page("", 50)?;
    let all = state
        .store
        .with_conn(|c| metrics::alerts(c, Some(row.id), since, until))?;
    let total = all.len();
    let alerts = all
        .into_iter()
        .rev()
        .skip(offset)
        .take(limit)
        .map(|a| AlertJson {
            ts_ms: a.ts_ms,
            rule: a.rule,
            message: a.message,
            action: a.action,
        })
        .collect();
    Ok(Json(AlertsJson {
        total,
        offset,
        limit,
        alerts,
    }))
}
