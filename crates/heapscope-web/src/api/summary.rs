//! The Summary view (classes, sorted, filtered and paged on the server; a class's instances,
//! paged), the Statistics view and the stored leak report.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use heapscope_analysis::{Analysis, ClassAggregate};
use heapscope_format::NodeKind;
use heapscope_store::snapshots;
use serde::Serialize;

use super::loaded;
use crate::cache::Loaded;
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
    node_count: usize,
    edge_count: usize,
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
    let (_, l) = loaded(&state, &sid).await?;
    let a = &l.analysis;
    let mut rows: Vec<&ClassAggregate> = a
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
    let total = a.statistics.total;
    Ok(Json(SummaryJson {
        node_count: a.node_count(),
        edge_count: a.edge_count(),
        total_size: total,
        class_count: a.classes.len(),
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
                location: (!c.key.starts_with(','))
                    .then(|| a.location(c.first_node))
                    .flatten()
                    .map(|l| format!("{}:{}", l.line + 1, l.column + 1)),
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

/// Whether `n` is an instance of `class`, keyed as the Summary view keys it: by class name,
/// and for objects with a source location also by that location.
fn is_instance(a: &Analysis, class: &ClassAggregate, class_string: u32, n: u32) -> bool {
    if a.class_index[n as usize] != class_string || a.graph.self_size(n) == 0 {
        return false;
    }
    let location = (a.graph.kind(n) == NodeKind::Object)
        .then(|| a.location(n))
        .flatten();
    match location {
        None => class.key.starts_with(','),
        Some(l) => class.key == format!("{},{},{},{}", l.script_id, l.line, l.column, class.name),
    }
}

/// The instances of `class`, largest retained first; the last class's list is kept.
fn instances_of(l: &Loaded, class: &ClassAggregate) -> Arc<Vec<u32>> {
    let mut last = l.last_instances.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((key, members)) = last.as_ref() {
        if *key == class.key {
            return members.clone();
        }
    }
    let a = &l.analysis;
    let class_string = a.class_index[class.first_node as usize];
    let mut members: Vec<u32> = (0..a.node_count() as u32)
        .filter(|&n| is_instance(a, class, class_string, n))
        .collect();
    members.sort_by(|&x, &y| {
        a.retained[y as usize]
            .cmp(&a.retained[x as usize])
            .then(x.cmp(&y))
    });
    let members = Arc::new(members);
    *last = Some((class.key.clone(), members.clone()));
    members
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
        .find(|c| c.key == key)
        .ok_or_else(|| ApiError::not_found(format!("no class `{key}` in this snapshot")))?;
    // A first listing scans every node: off the async threads.
    let (class, l2) = (class.clone(), l.clone());
    let members = tokio::task::spawn_blocking(move || instances_of(&l2, &class))
        .await
        .map_err(|e| ApiError::internal(format!("listing instances failed: {e}")))?;
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
    let (_, l) = loaded(&state, &sid).await?;
    let s = &l.analysis.statistics;
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
