//! Distances from the GC roots (`calculateDistances`): BFS from the user roots (children of the
//! root that are not synthetic) at distance 1, then from the root itself, whose distance is
//! 100000000 when user roots exist, for everything only system roots reach. Weak edges are
//! skipped, and so are DevTools' special cases: the native context's `sloppy_function_map`,
//! descriptor links in `(map descriptors)` arrays, and the first of the two edges to each
//! WeakMap value (so its distance is the larger of WeakMap+1 and key+1).

use std::collections::HashSet;

use heapscope_format::{EdgeKind, NodeKind};

use crate::flags::is_user_root;
use crate::graph::{js_parse_int, HeapGraph};
use crate::weakmap::EphemeronCache;

pub const NO_DISTANCE: i32 = -5;
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;

pub fn distances(g: &HeapGraph, eph: &mut EphemeronCache) -> Vec<i32> {
    let n = g.node_count();
    let mut dist = vec![NO_DISTANCE; n];
    let mut queue: Vec<u32> = Vec::with_capacity(n);
    let mut pending: HashSet<String> = HashSet::new();
    for e in g.edges(g.root) {
        let node = g.to_node(e);
        if is_user_root(g, node) {
            dist[node as usize] = 1;
            queue.push(node);
        }
    }
    let had_user_roots = !queue.is_empty();
    bfs(g, eph, &mut queue, &mut dist, &mut pending);
    dist[g.root as usize] = if had_user_roots {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    queue.clear();
    queue.push(g.root);
    bfs(g, eph, &mut queue, &mut dist, &mut pending);
    dist
}

fn bfs(
    g: &HeapGraph,
    eph: &mut EphemeronCache,
    queue: &mut Vec<u32>,
    dist: &mut [i32],
    pending: &mut HashSet<String>,
) {
    let mut head = 0;
    while head < queue.len() {
        let node = queue[head];
        head += 1;
        let d = dist[node as usize] + 1;
        let kind = g.kind(node);
        let native_context =
            kind == NodeKind::Hidden && g.raw_name_is(node, "system / NativeContext");
        let descriptors = kind == NodeKind::Array && g.raw_name_is(node, "(map descriptors)");
        for e in g.edges(node) {
            let ekind = g.edge_kind(e);
            if ekind == EdgeKind::Weak {
                continue;
            }
            let child = g.to_node(e);
            if dist[child as usize] != NO_DISTANCE {
                continue;
            }
            if !passes_filter(g, eph, pending, e, ekind, native_context, descriptors) {
                continue;
            }
            dist[child as usize] = d;
            queue.push(child);
        }
    }
}

fn passes_filter(
    g: &HeapGraph,
    eph: &mut EphemeronCache,
    pending: &mut HashSet<String>,
    e: u32,
    ekind: EdgeKind,
    native_context: bool,
    descriptors: bool,
) -> bool {
    if native_context && g.edge_name_is(e, "sloppy_function_map") {
        return false;
    }
    if descriptors {
        return match js_parse_int(&g.edge_name(e)) {
            Some(index) => index < 2.0 || index % 3.0 != 1.0,
            None => true,
        };
    }
    if ekind == EdgeKind::Internal {
        let name = g.raw.edges.name_or_index[e as usize];
        if let Some(m) = eph.get(&g.raw.strings, name) {
            if !pending.remove(&m.duplicated_part) {
                pending.insert(m.duplicated_part.clone());
                return false;
            }
        }
    }
    true
}
