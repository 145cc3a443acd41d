//! Node flags DevTools computes before dominators: which nodes the page (here: the Node.js
//! program) owns, as opposed to nodes only the debugger or V8 internals reach.

use heapscope_format::{EdgeKind, NodeKind};

use crate::graph::HeapGraph;

pub const PAGE_OBJECT: u8 = 4;

/// DevTools' `isUserRoot` for a child of the root: any non-synthetic node, or the
/// `(Document DOM trees)` synthetic root.
pub fn is_user_root(g: &HeapGraph, n: u32) -> bool {
    g.kind(n) != NodeKind::Synthetic || is_document_dom_trees_root(g, n)
}

fn is_document_dom_trees_root(g: &HeapGraph, n: u32) -> bool {
    g.kind(n) == NodeKind::Synthetic && g.raw_name_is(n, "(Document DOM trees)")
}

pub fn has_user_roots(g: &HeapGraph) -> bool {
    g.edges(g.root).any(|e| is_user_root(g, g.to_node(e)))
}

/// Marks everything reachable over non-weak edges from the root's shortcut edges (and from
/// DOM tree roots) as owned by the page (`markPageOwnedNodes`).
pub fn page_owned(g: &HeapGraph) -> Vec<u8> {
    let n = g.node_count();
    let mut flags = vec![0u8; n];
    let mut stack: Vec<u32> = Vec::new();
    for e in g.edges(g.root) {
        let target = g.to_node(e);
        match g.edge_kind(e) {
            EdgeKind::Element if is_document_dom_trees_root(g, target) => {}
            EdgeKind::Shortcut => {}
            _ => continue,
        }
        stack.push(target);
        flags[target as usize] |= PAGE_OBJECT;
    }
    while let Some(node) = stack.pop() {
        for e in g.edges(node) {
            let child = g.to_node(e);
            if flags[child as usize] & PAGE_OBJECT != 0 || g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            stack.push(child);
            flags[child as usize] |= PAGE_OBJECT;
        }
    }
    flags
}
