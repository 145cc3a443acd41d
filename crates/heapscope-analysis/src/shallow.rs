//! Shallow-size re-attribution (`calculateShallowSizes`): internal arrays, hidden objects and
//! external string data with a single owner give their self size to that owner, so that
//! e.g. a JS array's backing store counts toward the array. Skipped for snapshots taken with
//! internals exposed (no user roots), as DevTools does.

use heapscope_format::{EdgeKind, NodeKind};

use crate::flags::has_user_roots;
use crate::graph::HeapGraph;

const UNVISITED: u32 = u32::MAX;
const MULTIPLE_OWNERS: u32 = u32::MAX - 1;

/// Each node's owner: itself, a single owner, [`UNVISITED`] or [`MULTIPLE_OWNERS`]; `None` when
/// the snapshot has no user roots (internals exposed) and nothing moves. Read-only, so it can
/// run beside other phases.
pub fn owners(g: &HeapGraph) -> Option<Vec<u32>> {
    if !has_user_roots(g) {
        return None;
    }
    let n = g.node_count();
    let mut owners = vec![0u32; n];
    let mut worklist: Vec<u32> = Vec::new();
    for i in 0..n as u32 {
        let kind = g.kind(i);
        let owned = kind == NodeKind::Hidden
            || kind == NodeKind::Array
            || (kind == NodeKind::Native && g.raw_name_is(i, "system / ExternalStringData"));
        if owned {
            owners[i as usize] = UNVISITED;
        } else {
            owners[i as usize] = i;
            worklist.push(i);
        }
    }
    while let Some(id) = worklist.pop() {
        let owner = owners[id as usize];
        for e in g.edges(id) {
            if g.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let target = g.to_node(e);
            let current = owners[target as usize];
            if current == UNVISITED {
                owners[target as usize] = owner;
                worklist.push(target);
            } else if current == target || current == owner || current == MULTIPLE_OWNERS {
                // Owned by itself, by the same owner, or already shared: nothing changes.
            } else {
                owners[target as usize] = MULTIPLE_OWNERS;
                worklist.push(target);
            }
        }
    }
    Some(owners)
}

/// Moves each singly-owned node's self size to its owner.
pub fn reattribute(g: &mut HeapGraph, owners: Option<Vec<u32>>) {
    let Some(owners) = owners else {
        return;
    };
    let n = g.node_count();
    let sizes = &mut g.raw.nodes.self_size;
    for i in 0..n {
        let owner = owners[i];
        if owner == UNVISITED || owner == MULTIPLE_OWNERS || owner as usize == i {
            continue;
        }
        let okind = NodeKind::from_u8(g.raw.nodes.kind[owner as usize]);
        if okind == NodeKind::Synthetic || owner == g.root {
            continue;
        }
        let moved = sizes[i];
        sizes[i] = 0;
        // DevTools stores sizes in a Uint32Array; the sum wraps the same way there.
        sizes[owner as usize] = sizes[owner as usize].wrapping_add(moved);
    }
}
