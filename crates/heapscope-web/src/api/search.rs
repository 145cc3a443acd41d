//! `GET /api/snapshots/{sid}/search?q=TEXT`: the Search tab's name search — the classes whose
//! name contains TEXT (as the Summary filter matches them) and the objects whose own name
//! does (functions, strings' text, constructors), largest retained first, paged.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

use super::loaded;
use crate::error::{ApiError, ApiResult};
use crate::models::{node_json, NodeJson};
use crate::params::Params;
use crate::AppState;

/// Classes listed at most (the Summary tab filters and pages them all).
const CLASSES_SHOWN: usize = 20;

#[derive(Serialize)]
pub struct ClassMatchJson {
    key: String,
    name: String,
    count: u64,
    retained_size: u64,
}

#[derive(Serialize)]
pub struct SearchJson {
    query: String,
    /// Classes whose name contains the text, largest retained first.
    classes: Vec<ClassMatchJson>,
    class_total: usize,
    /// Objects whose name contains the text.
    object_total: usize,
    offset: usize,
    objects: Vec<NodeJson>,
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<Json<SearchJson>> {
    let query = params
        .str("q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::bad_request("`q` (the text to look for) is required"))?
        .to_string();
    if query.len() > 1000 {
        return Err(ApiError::bad_request("`q` is longer than 1000 bytes"));
    }
    let (offset, limit) = params.page("", 50)?;
    let (_, l) = loaded(&state, &sid).await?;
    let l2 = l.clone();
    let q = query.clone();
    let found =
        tokio::task::spawn_blocking(move || l2.names.search(&l2.analysis, &q, offset, limit))
            .await
            .map_err(|e| ApiError::internal(format!("the search failed: {e}")))?;
    let a = &l.analysis;
    let lower = query.to_lowercase();
    let mut classes: Vec<_> = a
        .classes
        .iter()
        .filter(|c| c.name.to_lowercase().contains(&lower))
        .collect();
    classes.sort_by(|x, y| {
        y.retained_size
            .cmp(&x.retained_size)
            .then(x.key.cmp(&y.key))
    });
    Ok(Json(SearchJson {
        class_total: classes.len(),
        classes: classes
            .iter()
            .take(CLASSES_SHOWN)
            .map(|c| ClassMatchJson {
                key: c.key.clone(),
                name: c.name.clone(),
                count: c.count,
                retained_size: c.retained_size,
            })
            .collect(),
        object_total: found.total,
        offset,
        objects: found.nodes.iter().map(|&n| node_json(a, n)).collect(),
        query,
    }))
}
