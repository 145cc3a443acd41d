//! JSON shapes the API answers with, besides the leak report's ([`crate::leaks_json`]).

use heapscope_analysis::Analysis;
use heapscope_store::snapshots::SnapshotRow;
use serde::Serialize;

#[derive(Serialize)]
pub struct SnapshotJson {
    pub id: i64,
    pub name: String,
    pub size: u64,
    pub node_count: Option<u64>,
    pub edge_count: Option<u64>,
    /// Unix seconds.
    pub created: i64,
    pub source: String,
    /// `uploading`, `queued`, `analyzing`, `ready` or `failed`.
    pub status: &'static str,
    pub phase: Option<String>,
    pub progress: f64,
    pub error: Option<String>,
}

impl From<&SnapshotRow> for SnapshotJson {
    fn from(r: &SnapshotRow) -> SnapshotJson {
        SnapshotJson {
            id: r.id,
            name: r.name.clone(),
            size: r.size,
            node_count: r.node_count,
            edge_count: r.edge_count,
            created: r.created,
            source: r.source.clone(),
            status: r.status.as_str(),
            phase: r.phase.clone(),
            progress: r.progress,
            error: r.error.clone(),
        }
    }
}

/// One object, as every view names it (the fields of `heapscope show --json`'s nodes).
#[derive(Serialize)]
pub struct NodeJson {
    pub id: u32,
    pub name: String,
    pub class_name: String,
    pub node_type: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

/// Names longer than this are cut (strings can be megabytes; the object view has the value).
const NAME_CHARS: usize = 200;

pub fn node_json(a: &Analysis, n: u32) -> NodeJson {
    let mut name = a.display_name(n);
    if name.len() > NAME_CHARS {
        name = name.chars().take(NAME_CHARS).collect::<String>() + "…";
    }
    NodeJson {
        id: a.graph.id(n),
        name,
        class_name: a.class_name(n).into_owned(),
        node_type: a.graph.raw.node_type_name(n).to_string(),
        self_size: a.graph.self_size(n) as u64,
        retained_size: a.retained[n as usize],
        distance: a.distance[n as usize],
    }
}

/// One reference in an Edges or Retainers list.
#[derive(Serialize)]
pub struct RefJson {
    /// DevTools' notation: `.prop`, `[3]`, `->var`, `{internal}`.
    pub edge: String,
    pub edge_type: &'static str,
    pub node: NodeJson,
}

pub fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / total as f64).round() / 100.0
    }
}

/// A recorded profile (`/api/profiles`).
#[derive(Serialize)]
pub struct ProfileJson {
    pub id: i64,
    /// `cpu` or `heap`.
    pub kind: &'static str,
    pub name: String,
    pub size: u64,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub duration_ms: i64,
    pub process_id: Option<i64>,
    pub source: String,
    /// `recording`, `ready` or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
}

impl From<&heapscope_store::profiles::ProfileRow> for ProfileJson {
    fn from(r: &heapscope_store::profiles::ProfileRow) -> ProfileJson {
        ProfileJson {
            id: r.id,
            kind: r.kind.as_str(),
            name: r.name.clone(),
            size: r.size,
            started_ms: r.started_ms,
            duration_ms: r.duration_ms,
            process_id: r.process_id,
            source: r.source.clone(),
            status: r.status.as_str(),
            error: r.error.clone(),
        }
    }
}
