//! The Summary view (classes, sorted, filtered and paged on the server; a class's instances,
//! paged), the Statistics view and the stored leak report.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use heapscope_analysis::ClassAggregate;
use heapscope_store::snapshots;
use serde::Serialize;

use super::{loaded, overview};
use crate::error::{ApiError, ApiResult};
use crate::models::{node_json, percent, NodeJson};
use crate::params::Params;
use crate::worker::{LEAKS_REPORT, LEAKS_REPORT_VERSION};
use crate::AppState;

#[derive(Serialize)]
pub struct ClassJson {
    key: String,
    name: String,
    count: u64,
    distance: i32,
    self_size: u64,
    retained_size: u64,
    self_percent: f64,
    retained_percent: f64,
    /// `line:column` of located classes (same-named classes of different files stay apart).
    location: Option<String>,
}

#[derive(Serialize)]
pub struct SummaryJson {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    class_count: usize,
    /// Classes left after the filter.
    matched: usize,
    offset: usize,
    classes: Vec<ClassJson>,
}

enum Filter {
    Substring(String),
    Regex(regex::Regex),
}

fn parse_filter(text: &str) -> ApiResult<Filter> {
    if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
        regex::Regex::new(&text[1..text.len() - 1])
            .map(Filter::Regex)
            .map_err(|e| ApiError::bad_request(format!("invalid filter regex {text}: {e}")))
    } else {
        Ok(Filter::Substring(text.to_lowercase()))
    }
}

pub async fn summary(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<Json<SummaryJson>> {
    let sort = params.str("sort").unwrap_or("retained");
    let (offset, limit) = params.page("", 100)?;
    let filter = params.str("filter").map(parse_filter).transpose()?;
    let o = overview(&state, &sid).await?;
    let locations: HashMap<&str, String> = o
        .classes
        .iter()
        .zip(&o.class_locations)
        .filter_map(|(c, l)| {
            let l = (*l)?;
            Some((c.key.as_str(), format!("{}:{}", l.line + 1, l.column + 1)))
        })
        .collect();
    let mut rows: Vec<&ClassAggregate> = o
        .classes
        .iter()
        .filter(|c| match &filter {
            None => true,
            Some(Filter::Substring(s)) => c.name.to_lowercase().contains(s.as_str()),
            Some(Filter::Regex(r)) => r.is_match(&c.name),
        })
        .collect();
    let order = |x: &&ClassAggregate, y: &&ClassAggregate| match sort {
        "retained" => y.retained_size.cmp(&x.retained_size),
        "shallow" => y.self_size.cmp(&x.self_size),
        "count" => y.count.cmp(&x.count),
        "distance" => x.distance.cmp(&y.distance),
        _ => x.name.cmp(&y.name),
    };
    if !["retained", "shallow", "count", "distance", "name"].contains(&sort) {
        return Err(ApiError::bad_request(format!(
            "`sort` is one of retained, shallow, count, distance, name; not `{sort}`"
        )));
    }
    rows.sort_by(|x, y| order(x, y).then_with(|| x.key.cmp(&y.key)));
    let total = o.statistics.total;
    Ok(Json(SummaryJson {
        node_count: o.node_count,
        edge_count: o.edge_count,
        total_size: total,
        class_count: o.classes.len(),
        matched: rows.len(),
        offset,
        classes: rows
            .iter()
            .skip(offset)
            .take(limit)
            .map(|c| ClassJson {
                key: c.key.clone(),
                name: c.name.clone(),
                count: c.count,
                distance: c.distance,
                self_size: c.self_size,
                retained_size: c.retained_size,
                self_percent: percent(c.self_size, total),
                retained_percent: percent(c.retained_size, total),
                location: locations.get(c.key.as_str()).cloned(),
            })
            .collect(),
    }))
}

#[derive(Serialize)]
pub struct InstancesJson {
    key: String,
    total: usize,
    offset: usize,
    objects: Vec<NodeJson>,
}

pub async fn instances(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<Json<InstancesJson>> {
    let key = params
        .str("class")
        .ok_or_else(|| ApiError::bad_request("`class` (a class key from the summary) is required"))?
        .to_string();
    let (offset, limit) = params.page("", 50)?;
    let (_, l) = loaded(&state, &sid).await?;
    let a = &l.analysis;
    let class = a
        .classes
        .iter()
        .position(|c| c.key == key)
        .ok_or_else(|| ApiError::not_found(format!("no class `{key}` in this snapshot")))?;
    let members = l.class_members.of(class);
    Ok(Json(InstancesJson {
        key,
        total: members.len(),
        offset,
        objects: members
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&n| node_json(a, n))
            .collect(),
    }))
}

#[derive(Serialize)]
pub struct StatisticsJson {
    total: u64,
    v8heap_total: i64,
    native_total: u64,
    code: u64,
    strings: u64,
    js_arrays: u64,
    typed_arrays: u64,
    system: u64,
    extra_native_bytes: u64,
}

pub async fn statistics(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
) -> ApiResult<Json<StatisticsJson>> {
    let o = overview(&state, &sid).await?;
    let s = &o.statistics;
    Ok(Json(StatisticsJson {
        total: s.total,
        v8heap_total: s.v8heap_total,
        native_total: s.native_total,
        code: s.code,
        strings: s.strings,
        js_arrays: s.js_arrays,
        typed_arrays: s.typed_arrays,
        system: s.system,
        extra_native_bytes: s.extra_native_bytes,
    }))
}

/// The leak report as stored by the worker (schema `heapscope.leaks/1`), computed again
/// only if the store has none of the current version.
pub async fn leaks(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
) -> ApiResult<Response> {
    let row = super::snapshots::row(&state, &sid)?;
    let stored = state
        .store
        .with_conn(|c| snapshots::get_report(c, row.id, LEAKS_REPORT, LEAKS_REPORT_VERSION))?;
    let body = match stored {
        Some(report) => report.body,
        None => {
            let (row, l) = loaded(&state, &sid).await?;
            let body = tokio::task::spawn_blocking(move || {
                let a = &l.analysis;
                let report = heapscope_analysis::leaks::report(
                    a,
                    &l.retainers,
                    &heapscope_analysis::leaks::LeakOptions::default(),
                );
                serde_json::to_string(&crate::leaks_json::to_json(a, &report, &row.name))
            })
            .await
            .map_err(|e| ApiError::internal(format!("the leak report failed: {e}")))?
            .map_err(ApiError::internal)?;
            state.store.with_conn(|c| {
                snapshots::put_report(c, row.id, LEAKS_REPORT, LEAKS_REPORT_VERSION, &body)
            })?;
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
