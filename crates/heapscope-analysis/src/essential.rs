//! Which edges count for dominators (`initEssentialEdges`): weak edges, self edges, shortcut
//! edges not from the root, edges from non-page to page-owned nodes, and the WeakMap table's
//! edge to an ephemeron value (the key's edge is kept) do not retain.

use heapscope_format::EdgeKind;

use crate::bits::BitVec;
use crate::flags::PAGE_OBJECT;
use crate::graph::HeapGraph;
use crate::weakmap::EphemeronCache;

pub fn essential_edges(g: &HeapGraph, flags: &[u8], eph: &mut EphemeronCache) -> BitVec {
    let mut bits = BitVec::new(g.edge_count());
    for node in 0..g.node_count() as u32 {
        let node_id = g.id(node) as u64;
        let node_page = flags[node as usize] & PAGE_OBJECT != 0;
        for e in g.edges(node) {
            let kind = g.edge_kind(e);
            if kind == EdgeKind::Internal {
                let name = g.raw.edges.name_or_index[e as usize];
                if let Some(m) = eph.get(&g.raw.strings, name) {
                    if m.table_id == node_id {
                        continue;
                    }
                }
            }
            if kind == EdgeKind::Weak {
                continue;
            }
            let child = g.to_node(e);
            if child == node {
                continue;
            }
            if node != g.root {
                if kind == EdgeKind::Shortcut {
                    continue;
                }
                if flags[child as usize] & PAGE_OBJECT != 0 && !node_page {
                    continue;
                }
            }
            bits.set(e);
        }
    }
    bits
}
