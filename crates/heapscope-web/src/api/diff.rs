//! The Comparison view: a snapshot against a base snapshot of the same process (DevTools'
//! `calculateSnapshotDiff`, from heapscope-analysis' compare module), classes sorted,
//! filtered and paged on the server. The last comparison is kept, so paging and sorting do
//! not recompute it.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::Json;
use heapscope_analysis::compare::{self, ClassDiff, Comparison, IdIndex};
use serde::Serialize;

use super::loaded;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;

/// `(base, current)` snapshot ids.
type Pair = (i64, i64);

/// The most recent comparison, by `(base, current)`.
#[derive(Default)]
pub struct LastComparison(Mutex<Option<(Pair, Arc<Comparison>)>>);

#[derive(Serialize)]
pub struct ClassDiffJson {
    key: String,
    name: String,
    new_count: u64,
    deleted_count: u64,
    count_delta: i64,
    alloc_size: u64,
    freed_size: u64,
    size_delta: i64,
    retained_delta: i64,
}

#[derive(Serialize)]
pub struct DiffJson {
    base: i64,
    current: i64,
    /// Whether objects were matched by id; when not, `problem` says why and only class
    /// counts and sizes are compared.
    matched_by_id: bool,
    problem: Option<String>,
    /// Classes with a change, after the filter.
    matched: usize,
    offset: usize,
    classes: Vec<ClassDiffJson>,
}

const SORTS: [&str; 6] = [
    "size-delta",
    "retained-delta",
    "delta",
    "new",
    "deleted",
    "name",
];

pub async fn diff(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<Json<DiffJson>> {
    let base_sid = params
        .str("base")
        .ok_or_else(|| {
            ApiError::bad_request("`base` (the id of the snapshot to compare with) is required")
        })?
        .to_string();
    let sort = params.str("sort").unwrap_or("size-delta");
    if !SORTS.contains(&sort) {
        return Err(ApiError::bad_request(format!(
            "`sort` is one of {}; not `{sort}`",
            SORTS.join(", ")
        )));
    }
    let filter = params.str("filter").map(str::to_lowercase);
    let (offset, limit) = params.page("", 100)?;
    let (base_row, base) = loaded(&state, &base_sid).await?;
    let (row, current) = loaded(&state, &sid).await?;
    let key = (base_row.id, row.id);
    let cached = {
        let last = state
            .last_comparison
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        last.as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, c)| c.clone())
    };
    let comparison = match cached {
        Some(c) => c,
        None => {
            let c = tokio::task::spawn_blocking(move || {
                let (b, c) = (&base.analysis, &current.analysis);
                compare::compare(
                    &IdIndex::new(b),
                    &IdIndex::new(c),
                    &compare::interface_definitions(c),
                )
            })
            .await
            .map_err(|e| ApiError::internal(format!("the comparison failed: {e}")))?;
            let c = Arc::new(c);
            *state
                .last_comparison
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((key, c.clone()));
            c
        }
    };
    let by_id = comparison.matched_by_id;
    let mut rows: Vec<&ClassDiff> = comparison
        .classes
        .iter()
        .filter(|c| {
            filter
                .as_ref()
                .is_none_or(|f| c.name.to_lowercase().contains(f.as_str()))
        })
        .collect();
    rows.sort_by(|x, y| {
        let primary = match sort {
            "size-delta" => y.size_delta(by_id).abs().cmp(&x.size_delta(by_id).abs()),
            "retained-delta" => y.retained_delta().abs().cmp(&x.retained_delta().abs()),
            "delta" => y.count_delta(by_id).abs().cmp(&x.count_delta(by_id).abs()),
            "new" => y.added_count.cmp(&x.added_count),
            "deleted" => y.removed_count.cmp(&x.removed_count),
            _ => x.name.cmp(&y.name),
        };
        primary.then_with(|| x.key.cmp(&y.key))
    });
    Ok(Json(DiffJson {
        base: base_row.id,
        current: row.id,
        matched_by_id: by_id,
        problem: comparison.process.problem.clone(),
        matched: rows.len(),
        offset,
        classes: rows
            .iter()
            .skip(offset)
            .take(limit)
            .map(|c| ClassDiffJson {
                key: c.key.clone(),
                name: c.name.clone(),
                new_count: c.added_count,
                deleted_count: c.removed_count,
                count_delta: c.count_delta(by_id),
                alloc_size: c.added_size,
                freed_size: c.removed_size,
                size_delta: c.size_delta(by_id),
                retained_delta: c.retained_delta(),
            })
            .collect(),
    }))
}

/// `(baseline, target, final)` snapshot ids.
type Triple = (i64, i64, i64);

/// The most recent three-snapshot document (JSON text), by its snapshots.
#[derive(Default)]
pub struct LastThreeSnapshot(Mutex<Option<(Triple, Arc<String>)>>);

/// The three-snapshot technique with this snapshot as FINAL: objects new in `target` since
/// `baseline` and still alive here (schema `heapscope.leaks/1`, mode `three-snapshot`).
/// BASELINE and TARGET are read from their files for their ids only, as the CLI does.
pub async fn three_snapshot(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let required = |name: &str| {
        params
            .str(name)
            .map(str::to_string)
            .ok_or_else(|| ApiError::bad_request(format!("`{name}` (a snapshot id) is required")))
    };
    let (baseline_sid, target_sid) = (required("baseline")?, required("target")?);
    let baseline = super::snapshots::row(&state, &baseline_sid)?;
    let target = super::snapshots::row(&state, &target_sid)?;
    let (last, l) = loaded(&state, &sid).await?;
    let key = (baseline.id, target.id, last.id);
    let cached = {
        let kept = state
            .last_three_snapshot
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, d)| d.clone())
    };
    let body = match cached {
        Some(body) => body,
        None => {
            let dir = state.store.dir().to_path_buf();
            let body = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let ids = |file: &str| -> anyhow::Result<compare::IdSet> {
                    let raw = crate::cache::read_file(&dir.join(file), &mut |_| {})?;
                    Ok(compare::IdSet::new(&raw))
                };
                let (baseline_ids, target_ids) = (ids(&baseline.file)?, ids(&target.file)?);
                let names = crate::leaks_json::ThreeSnapshotNames {
                    baseline: &baseline.name,
                    target: &target.name,
                    last: &last.name,
                };
                let options = compare::LeakClusterOptions::default();
                let doc = crate::leaks_json::three_snapshot_json(
                    &baseline_ids,
                    &target_ids,
                    &l.analysis,
                    &options,
                    10,
                    &names,
                );
                Ok(serde_json::to_string(&doc)?)
            })
            .await
            .map_err(|e| ApiError::internal(format!("the three-snapshot report failed: {e}")))??;
            let body = Arc::new(body);
            *state
                .last_three_snapshot
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((key, body.clone()));
            body
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.as_str().to_string(),
    )
        .into_response())
}
