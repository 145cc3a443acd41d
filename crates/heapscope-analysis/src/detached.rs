//! Detachedness of embedder (native) nodes and the `Detached ` name prefix
//! (`initDetachednessAndClassIndex` + `propagateDOMState`).
//!
//! Node.js heaps rarely have DOM-like native nodes, but snapshots from Electron or embedders do,
//! and DevTools renames detached ones, which changes class names; so we do the same.

use std::collections::HashMap;

use heapscope_format::{EdgeKind, NodeKind};

use crate::graph::HeapGraph;

pub const UNKNOWN: u8 = 0;
pub const ATTACHED: u8 = 1;
pub const DETACHED: u8 = 2;

/// Returns each node's detachedness and renames detached native nodes in `g`.
pub fn propagate(g: &mut HeapGraph) -> Vec<u8> {
    let n = g.node_count();
    if g.raw.header.nodes.detachedness.is_none() {
        // Old snapshots: native nodes named "Detached …" are detached; no propagation.
        let mut state = vec![UNKNOWN; n];
        for node in 0..n as u32 {
            if g.kind(node) == NodeKind::Native
                && g.raw.strings.starts_with(g.name_index(node), "Detached ")
            {
                state[node as usize] = DETACHED;
            }
        }
        return state;
    }
    let mut state: Vec<u8> = g.raw.nodes.detachedness.iter().map(|d| d & 3).collect();
    let mut visited = vec![false; n];
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let mut renamed: HashMap<u32, u32> = HashMap::new();

    let mut process = |g: &mut HeapGraph,
                       state: &mut [u8],
                       node: u32,
                       new_state: u8,
                       attached: &mut Vec<u32>,
                       detached: &mut Vec<u32>| {
        if visited[node as usize] {
            return;
        }
        if g.kind(node) != NodeKind::Native {
            visited[node as usize] = true;
            return;
        }
        state[node as usize] = new_state;
        if new_state == ATTACHED {
            attached.push(node);
        } else if new_state == DETACHED {
            let old = g.name_index(node);
            let new = *renamed.entry(old).or_insert_with(|| {
                let name = format!("Detached {}", g.raw.strings.get(old));
                g.raw.strings.add(name)
            });
            g.raw.nodes.name[node as usize] = new;
            detached.push(node);
        }
        visited[node as usize] = true;
    };

    for node in 0..n as u32 {
        let s = state[node as usize];
        if s == UNKNOWN {
            continue;
        }
        process(g, &mut state, node, s, &mut attached, &mut detached);
    }
    let propagates = |k: EdgeKind| !matches!(k, EdgeKind::Hidden | EdgeKind::Weak);
    while let Some(node) = attached.pop() {
        for e in g.edges(node) {
            if propagates(g.edge_kind(e)) {
                let child = g.to_node(e);
                process(g, &mut state, child, ATTACHED, &mut attached, &mut detached);
            }
        }
    }
    while let Some(node) = detached.pop() {
        if state[node as usize] == ATTACHED {
            continue;
        }
        for e in g.edges(node) {
            if propagates(g.edge_kind(e)) {
                let child = g.to_node(e);
                process(g, &mut state, child, DETACHED, &mut attached, &mut detached);
            }
        }
    }
    state
}
