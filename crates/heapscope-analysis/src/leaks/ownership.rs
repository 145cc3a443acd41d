//! Who owns each object: one shortest retaining path per node (its parent edge) and whether
//! the node belongs to the application or to Node's own internals.
//!
//! A leak report that lists Node's module cache, builtins and compiled code is noise: every
//! Node process has them. We call a node *user* when some shortest retaining path passes
//! through an object or closure whose source location is in an application script (any
//! script not named `node:…`) and, after it, through no closure of Node's own (`node:…`)
//! and no `__proto__`/`constructor` link: those lead from the application into Node's code,
//! not into its data. A `Socket` the application holds is user (its class lives in
//! `node:net`, but objects are data); `EventEmitter.prototype.on` is not. A node is
//! *internal* when it is not user and its chosen path passes through a Node closure or
//! starts at a system root. Nodes on paths with no located object at all (say
//! `global.cache → Array`) are neither: they are the application's too.

use heapscope_format::EdgeKind;

use crate::bits::BitVec;
use crate::{Analysis, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

pub(crate) const NO_EDGE: u32 = u32::MAX;

/// Per-node ownership facts, indexed by node ordinal.
pub struct Ownership {
    /// The edge from this node's parent on a shortest retaining path; [`NO_EDGE`] at the
    /// tops (children of the synthetic root) and for unreachable nodes.
    pub parent_edge: Vec<u32>,
    user: BitVec,
    internal: BitVec,
}

/// Where a node's own source location points.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    None,
    User,
    Internal,
}

impl Ownership {
    /// One forward pass over the edges in distance order: a node's parent is its retainer
    /// one step nearer the roots with the lowest edge ordinal — the first such edge seen,
    /// since nodes of one distance are visited by ordinal and edges are stored by owner —
    /// the same choice as [`crate::views::retaining_paths`]'s first path.
    pub fn compute(a: &Analysis) -> Ownership {
        let g = &a.graph;
        let n = a.node_count();
        let origin = origins(a);
        let order = by_distance(&a.distance);
        let mut parent_edge = vec![NO_EDGE; n];
        let mut parent_node = vec![u32::MAX; n];
        let mut user = BitVec::new(n);
        for &v in &order {
            if origin[v as usize] == Origin::User {
                user.set(v);
            }
        }
        let is_top = |v: u32| {
            let d = a.distance[v as usize];
            v == g.root || d <= 1 || d == BASE_SYSTEM_DISTANCE + 1
        };
        for &p in &order {
            let next = a.distance[p as usize] + 1;
            let p_user = user.get(p);
            for e in g.edges(p) {
                let t = g.to_node(e);
                if t == p || a.distance[t as usize] != next || g.edge_kind(e) == EdgeKind::Weak {
                    continue;
                }
                if is_top(t) {
                    continue;
                }
                if parent_edge[t as usize] == NO_EDGE {
                    parent_edge[t as usize] = e;
                    parent_node[t as usize] = p;
                }
                // Node's own closures stay Node's, whoever holds them.
                if p_user && origin[t as usize] != Origin::Internal && !blocks_user(g, e) {
                    user.set(t);
                }
            }
        }
        let mut internal = BitVec::new(n);
        for &v in &order {
            if user.get(v) {
                continue;
            }
            let parent = parent_node[v as usize];
            let inherited = if parent == u32::MAX {
                a.distance[v as usize] >= BASE_SYSTEM_DISTANCE
            } else {
                internal.get(parent)
            };
            if origin[v as usize] == Origin::Internal || inherited {
                internal.set(v);
            }
        }
        Ownership {
            parent_edge,
            user,
            internal,
        }
    }

    /// Some shortest path passes through application code.
    pub fn is_user(&self, node: u32) -> bool {
        self.user.get(node)
    }

    /// Held only by Node's internals or system roots (the report skips these by default).
    pub fn is_internal(&self, node: u32) -> bool {
        self.internal.get(node)
    }

    /// The chosen shortest path, root first, as `(nodes, edges)` like
    /// [`crate::views::RetainingPath`].
    pub fn path(&self, a: &Analysis, node: u32) -> crate::views::RetainingPath {
        let mut nodes = vec![node];
        let mut edges = Vec::new();
        let mut cur = node;
        while self.parent_edge[cur as usize] != NO_EDGE && nodes.len() <= a.node_count() {
            let e = self.parent_edge[cur as usize];
            edges.push(e);
            cur = a.graph.edge_owner(e);
            nodes.push(cur);
        }
        nodes.reverse();
        edges.reverse();
        crate::views::RetainingPath { nodes, edges }
    }
}

/// `__proto__` and `constructor` lead from the application's objects into the classes and
/// prototypes Node defines; they do not make those the application's.
fn blocks_user(g: &crate::HeapGraph, e: u32) -> bool {
    g.edge_kind(e) == EdgeKind::Property
        && (g.edge_name_is(e, "__proto__") || g.edge_name_is(e, "constructor"))
}

/// Each node's own origin, from the snapshot's locations and the scripts' names.
fn origins(a: &Analysis) -> Vec<Origin> {
    use heapscope_format::NodeKind;
    let g = &a.graph;
    let scripts = crate::views::script_names(a);
    // Closures are Node's (or V8's: `Math.max` has no script) unless their script is the
    // application's; objects are data, the application's when their class is.
    let mut origin: Vec<Origin> = (0..a.node_count() as u32)
        .map(|n| {
            if g.kind(n) == NodeKind::Closure {
                Origin::Internal
            } else {
                Origin::None
            }
        })
        .collect();
    for l in &a.locations {
        if let Some(name) = scripts.get(&l.script_id) {
            if !name.starts_with("node:") {
                origin[l.node as usize] = Origin::User;
            }
        }
    }
    // CommonJS modules of the application (Node's own are `BuiltinModule`): what their
    // `exports` hold is the application's, whatever Node object leads to them.
    let module_classes: Vec<u32> = a
        .classes
        .iter()
        .filter(|c| c.name == "Module")
        .map(|c| a.class_index[c.first_node as usize])
        .collect();
    for (n, o) in origin.iter_mut().enumerate() {
        if module_classes.contains(&a.class_index[n]) && g.kind(n as u32) == NodeKind::Object {
            *o = Origin::User;
        }
    }
    origin
}

/// Reachable node ordinals in increasing distance (user distances, then system ones), by a
/// counting sort; unreachable nodes are left out.
fn by_distance(distance: &[i32]) -> Vec<u32> {
    let max_user = distance
        .iter()
        .copied()
        .filter(|&d| d != NO_DISTANCE && d < BASE_SYSTEM_DISTANCE)
        .max()
        .unwrap_or(0) as usize;
    let max_sys = distance
        .iter()
        .copied()
        .filter(|&d| d >= BASE_SYSTEM_DISTANCE)
        .map(|d| (d - BASE_SYSTEM_DISTANCE) as usize)
        .max()
        .unwrap_or(0);
    let bucket = |d: i32| -> Option<usize> {
        if d == NO_DISTANCE || d < 0 {
            None
        } else if d >= BASE_SYSTEM_DISTANCE {
            Some(max_user + 1 + (d - BASE_SYSTEM_DISTANCE) as usize)
        } else {
            Some(d as usize)
        }
    };
    let mut start = vec![0u32; max_user + max_sys + 3];
    for &d in distance {
        if let Some(b) = bucket(d) {
            start[b + 1] += 1;
        }
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut order = vec![0u32; start[start.len() - 1] as usize];
    for (v, &d) in distance.iter().enumerate() {
        if let Some(b) = bucket(d) {
            order[start[b] as usize] = v as u32;
            start[b] += 1;
        }
    }
    order
}
