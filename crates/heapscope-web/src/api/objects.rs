//! One object (its Edges and Retainers, each paged), its path to a GC root, and the
//! dominator tree one level at a time with identical siblings grouped as ×N.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use heapscope_analysis::views::{self, Reference};
use heapscope_analysis::Analysis;
use heapscope_format::NodeKind;
use serde::Serialize;

use super::loaded;
use crate::cache::Loaded;
use crate::error::{ApiError, ApiResult};
use crate::leaks_json::{path_json, StepJson};
use crate::models::{node_json, NodeJson, RefJson};
use crate::params::{object_id, Params};
use crate::AppState;

fn node_of(a: &Analysis, text: &str) -> ApiResult<u32> {
    let id = object_id(text)?;
    a.graph
        .ordinal_of_id(id)
        .ok_or_else(|| ApiError::not_found(format!("no object @{id} in this snapshot")))
}

fn refs(a: &Analysis, list: &[Reference], offset: usize, limit: usize) -> Vec<RefJson> {
    list.iter()
        .skip(offset)
        .take(limit)
        .map(|r| RefJson {
            edge: r.label.clone(),
            edge_type: r.kind.name(),
            node: node_json(a, r.node),
        })
        .collect()
}

#[derive(Serialize)]
pub struct ObjectJson {
    object: NodeJson,
    location: Option<String>,
    /// A string's text (cut to 2000 characters), a number's value, a regexp's source.
    value: Option<String>,
    value_truncated: bool,
    /// Immediate dominator first, up to 20.
    dominators: Vec<NodeJson>,
    context_variables: Vec<(String, NodeJson)>,
    edge_count: usize,
    edges_offset: usize,
    edges: Vec<RefJson>,
    retainer_count: usize,
    retainers_offset: usize,
    retainers: Vec<RefJson>,
}

const VALUE_CHARS: usize = 2000;

fn value_of(a: &Analysis, n: u32) -> Option<String> {
    match a.graph.kind(n) {
        NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => {
            views::string_text(a, n, VALUE_CHARS + 1)
        }
        NodeKind::HeapNumber | NodeKind::RegExp | NodeKind::BigInt => {
            Some(a.graph.raw_name(n).into_owned())
        }
        _ => None,
    }
}

fn object_json(l: &Loaded, n: u32, params: &Params) -> ApiResult<ObjectJson> {
    let a = &l.analysis;
    let (edges_offset, edges_limit) = params.page("edges_", 50)?;
    let (retainers_offset, retainers_limit) = params.page("retainers_", 50)?;
    let edges = views::edges_of(a, n);
    let retainers = views::retainers_of(a, &l.retainers, n);
    let mut value = value_of(a, n);
    let mut value_truncated = false;
    if let Some(v) = &mut value {
        if v.chars().count() > VALUE_CHARS {
            *v = v.chars().take(VALUE_CHARS).collect();
            value_truncated = true;
        }
    }
    let context_like =
        a.graph.kind(n) == NodeKind::Closure || a.class_name(n).starts_with("system / Context");
    Ok(ObjectJson {
        object: node_json(a, n),
        location: views::source_position(a, &l.scripts, n),
        value,
        value_truncated,
        dominators: views::dominator_chain(a, n)
            .into_iter()
            .skip(1)
            .take(20)
            .map(|d| node_json(a, d))
            .collect(),
        context_variables: if context_like {
            views::context_variables(a, n)
                .into_iter()
                .map(|(name, t)| (name, node_json(a, t)))
                .collect()
        } else {
            Vec::new()
        },
        edge_count: edges.len(),
        edges_offset,
        edges: refs(a, &edges, edges_offset, edges_limit),
        retainer_count: retainers.len(),
        retainers_offset,
        retainers: refs(a, &retainers, retainers_offset, retainers_limit),
    })
}

pub async fn object(
    State(state): State<Arc<AppState>>,
    Path((sid, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<ObjectJson>> {
    let (_, l) = loaded(&state, &sid).await?;
    let n = node_of(&l.analysis, &id)?;
    Ok(Json(object_json(&l, n, &params)?))
}

#[derive(Serialize)]
pub struct PathsJson {
    id: u32,
    /// Root first; empty when the object is unreachable from the GC roots.
    paths: Vec<Vec<StepJson>>,
}

pub async fn path(
    State(state): State<Arc<AppState>>,
    Path((sid, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<PathsJson>> {
    let count = params.usize("count", 1)?;
    if !(1..=20).contains(&count) {
        return Err(ApiError::bad_request("`count` is 1 to 20"));
    }
    let (_, l) = loaded(&state, &sid).await?;
    let a = &l.analysis;
    let n = node_of(a, &id)?;
    let paths = views::retaining_paths(a, &l.retainers, n, count);
    Ok(Json(PathsJson {
        id: a.graph.id(n),
        paths: paths.iter().map(|p| path_json(a, p)).collect(),
    }))
}

#[derive(Serialize)]
pub struct GroupJson {
    /// The largest member (the one to expand).
    node: NodeJson,
    /// Siblings with the same name, shallow size and distance.
    count: usize,
    /// Summed over the members.
    retained_size: u64,
    /// Children of `node` in the dominator tree.
    children_count: usize,
}

#[derive(Serialize)]
pub struct DominatorsJson {
    node: NodeJson,
    group_count: usize,
    offset: usize,
    groups: Vec<GroupJson>,
}

/// `(largest member, member count, summed retained size)`.
pub type Group = (u32, usize, u64);

/// Dominated children of `node`, biggest first, grouped as Easy-Monitor groups them
/// (same display name, shallow size and distance). The last node's groups are kept, so
/// paging through a node with many children does not group them again.
fn groups(l: &Loaded, node: u32) -> Arc<Vec<Group>> {
    if let Some(wide) = l.wide_groups_of(node) {
        return wide;
    }
    let mut last = l.last_groups.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((n, groups)) = last.as_ref() {
        if *n == node {
            return groups.clone();
        }
    }
    let out = Arc::new(heapscope_analysis::views::grouped_dominated(
        &l.analysis,
        node,
    ));
    *last = Some((node, out.clone()));
    out
}

pub async fn dominators(
    State(state): State<Arc<AppState>>,
    Path(sid): Path<String>,
    params: Params,
) -> ApiResult<Json<DominatorsJson>> {
    let (offset, limit) = params.page("", 50)?;
    let (_, l) = loaded(&state, &sid).await?;
    let a = &l.analysis;
    let node = match params.str("id") {
        Some(id) => node_of(a, id)?,
        None => a.graph.root,
    };
    // Grouping a node with many children takes a while: off the async threads.
    let l2 = l.clone();
    let all = tokio::task::spawn_blocking(move || groups(&l2, node))
        .await
        .map_err(|e| ApiError::internal(format!("grouping children failed: {e}")))?;
    Ok(Json(DominatorsJson {
        node: node_json(a, node),
        group_count: all.len(),
        offset,
        groups: all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&(c, count, retained)| GroupJson {
                node: node_json(a, c),
                count,
                retained_size: retained,
                children_count: a.dominator_tree.children(c).len(),
            })
            .collect(),
    }))
}
