//! The Statistics view (`calculateStatistics`): how the heap divides into code, strings,
//! JS arrays, typed arrays, system objects and native memory.

use heapscope_format::{EdgeKind, NodeKind};

use crate::graph::HeapGraph;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Root retained size plus `extra_native_bytes`.
    pub total: u64,
    pub native_total: u64,
    pub typed_arrays: u64,
    /// `total - native_total`; negative only for inconsistent snapshots, as in DevTools.
    pub v8heap_total: i64,
    pub code: u64,
    pub js_arrays: u64,
    pub strings: u64,
    pub system: u64,
    pub extra_native_bytes: u64,
}

pub fn statistics(g: &HeapGraph, retained_root: u64, first_retainer: &[u32]) -> Statistics {
    let extra = g.raw.header.extra_native_bytes;
    let total = retained_root + extra;
    let mut s = Statistics {
        total,
        native_total: extra,
        extra_native_bytes: extra,
        ..Default::default()
    };
    for node in 0..g.node_count() as u32 {
        let size = g.self_size(node) as u64;
        match g.kind(node) {
            NodeKind::Hidden => s.system += size,
            NodeKind::Native => {
                s.native_total += size;
                if g.raw_name_is(node, "system / JSArrayBufferData") {
                    s.typed_arrays += size;
                }
            }
            NodeKind::Code => s.code += size,
            NodeKind::ConsString | NodeKind::SlicedString | NodeKind::String => s.strings += size,
            _ if g.raw_name_is(node, "Array") => s.js_arrays += array_size(g, node, first_retainer),
            _ => {}
        }
    }
    s.v8heap_total = total as i64 - s.native_total as i64;
    s
}

/// A JS array's size: itself plus its `elements` store when nothing else retains that store.
fn array_size(g: &HeapGraph, node: u32, first_retainer: &[u32]) -> u64 {
    let mut size = g.self_size(node) as u64;
    for e in g.edges(node) {
        if g.edge_kind(e) != EdgeKind::Internal || !g.edge_name_is(e, "elements") {
            continue;
        }
        let elements = g.to_node(e) as usize;
        if first_retainer[elements + 1] - first_retainer[elements] == 1 {
            size += g.self_size(elements as u32) as u64;
        }
        break;
    }
    size
}
