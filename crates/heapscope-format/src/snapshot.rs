//! The loaded snapshot as struct-of-arrays columns indexed by node and edge ordinal.

use crate::header::{EdgeKind, Header, NodeKind};
use crate::strings::StringTable;

/// Kind codes at or above this are types the snapshot names but heapscope does not know.
pub const UNKNOWN_KIND_BASE: u8 = 64;

/// Per-node columns, indexed by node ordinal (position in the `nodes` array).
#[derive(Debug, Default, Clone)]
pub struct NodeColumns {
    /// [`NodeKind`] as `u8`; a type V8 names but we do not know is stored as
    /// [`UNKNOWN_KIND_BASE`] + its raw index, so its name is not lost.
    pub kind: Vec<u8>,
    pub name: Vec<u32>,
    pub id: Vec<u32>,
    pub self_size: Vec<u32>,
    pub edge_count: Vec<u32>,
    /// Empty unless the snapshot has allocation traces (`--track-heap-objects`).
    pub trace_node_id: Vec<u32>,
    /// Empty when the snapshot has no `detachedness` field.
    pub detachedness: Vec<u8>,
}

/// Per-edge columns, indexed by edge ordinal. Edges of node `n` are the contiguous run that
/// follows the edges of nodes `0..n`.
#[derive(Debug, Default, Clone)]
pub struct EdgeColumns {
    /// [`EdgeKind`] as `u8`, unknown types as [`UNKNOWN_KIND_BASE`] + raw index.
    pub kind: Vec<u8>,
    /// String index for named edges, element/hidden index otherwise.
    pub name_or_index: Vec<u32>,
    /// Target node *ordinal* (V8 writes an index into the `nodes` array; we divide it).
    pub to_node: Vec<u32>,
}

/// A source location of a closure or of an object's constructor, 0-based as V8 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLocation {
    pub node: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// One `samples` row: when (µs since profiling started) and the last object id assigned then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub timestamp_us: u64,
    pub last_assigned_id: u64,
}

/// Everything read from a `.heapsnapshot`, before any analysis.
#[derive(Debug, Clone)]
pub struct RawSnapshot {
    pub header: Header,
    pub nodes: NodeColumns,
    pub edges: EdgeColumns,
    pub strings: StringTable,
    pub locations: Vec<SourceLocation>,
    pub samples: Vec<Sample>,
    /// Flat `trace_function_infos` rows, laid out per `header.trace_function_info_fields`.
    pub trace_function_infos: Vec<u32>,
}

impl RawSnapshot {
    pub fn node_count(&self) -> usize {
        self.nodes.id.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.to_node.len()
    }

    #[inline]
    pub fn node_kind(&self, ordinal: u32) -> NodeKind {
        NodeKind::from_u8(self.nodes.kind[ordinal as usize])
    }

    #[inline]
    pub fn edge_kind(&self, edge: u32) -> EdgeKind {
        EdgeKind::from_u8(self.edges.kind[edge as usize])
    }

    /// The snapshot's own name for a node's type (`object`, `closure`, …).
    pub fn node_type_name(&self, ordinal: u32) -> &str {
        let k = self.nodes.kind[ordinal as usize];
        match k.checked_sub(UNKNOWN_KIND_BASE) {
            Some(raw) => &self.header.node_types[raw as usize],
            None => NodeKind::from_u8(k).name(),
        }
    }

    pub fn edge_type_name(&self, edge: u32) -> &str {
        let k = self.edges.kind[edge as usize];
        match k.checked_sub(UNKNOWN_KIND_BASE) {
            Some(raw) => &self.header.edge_types[raw as usize],
            None => EdgeKind::from_u8(k).name(),
        }
    }
}
