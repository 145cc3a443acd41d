//! Object views in DevTools' terms: an object's outgoing references (the Edges / Containment
//! view), its retainers (the Retainers view), its dominator chain, and retaining paths from
//! the GC roots.

use heapscope_format::{EdgeKind, NodeKind};

use crate::{Analysis, Retainers, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

/// One reference, seen from either end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Edge ordinal.
    pub edge: u32,
    /// The node at the other end (target for edges, source for retainers).
    pub node: u32,
    pub kind: EdgeKind,
    /// DevTools' rendering: `.prop`, `[3]`, `->ctxvar`, `{internal}`, `[[weak]]`.
    pub label: String,
}

/// DevTools' `JSHeapSnapshotEdge.toString()`.
pub fn edge_label(a: &Analysis, e: u32) -> String {
    let g = &a.graph;
    let name = g.edge_name(e);
    match g.edge_kind(e) {
        EdgeKind::Context => format!("->{name}"),
        EdgeKind::Element => format!("[{name}]"),
        EdgeKind::Weak => format!("[[{name}]]"),
        EdgeKind::Property | EdgeKind::Shortcut => {
            if g.edge_kind(e) == EdgeKind::Shortcut && crate::graph::js_parse_int(&name).is_some() {
                format!("[{name}]")
            } else if name.contains(' ') {
                format!("[\"{name}\"]")
            } else {
                format!(".{name}")
            }
        }
        EdgeKind::Internal | EdgeKind::Hidden => format!("{{{name}}}"),
        EdgeKind::Other => format!("?{name}?"),
    }
}

/// Outgoing references, sorted by the target's retained size (largest first), as the
/// Containment view sorts by default.
pub fn edges_of(a: &Analysis, node: u32) -> Vec<Reference> {
    let g = &a.graph;
    let mut out: Vec<Reference> = g
        .edges(node)
        .map(|e| Reference {
            edge: e,
            node: g.to_node(e),
            kind: g.edge_kind(e),
            label: edge_label(a, e),
        })
        .collect();
    out.sort_by(|x, y| {
        a.retained[y.node as usize]
            .cmp(&a.retained[x.node as usize])
            .then(x.edge.cmp(&y.edge))
    });
    out
}

/// Incoming references without weak ones, nearest to the roots first (the Retainers view).
pub fn retainers_of(a: &Analysis, retainers: &Retainers, node: u32) -> Vec<Reference> {
    let g = &a.graph;
    let mut out: Vec<Reference> = retainers
        .of(node)
        .iter()
        .filter(|&&e| g.edge_kind(e) != EdgeKind::Weak)
        .map(|&e| Reference {
            edge: e,
            node: g.edge_owner(e),
            kind: g.edge_kind(e),
            label: edge_label(a, e),
        })
        .filter(|r| r.node != g.root)
        .collect();
    out.sort_by(|x, y| {
        sort_distance(a.distance[x.node as usize])
            .cmp(&sort_distance(a.distance[y.node as usize]))
            .then(x.edge.cmp(&y.edge))
    });
    out
}

/// Unreachable nodes sort last.
fn sort_distance(d: i32) -> i64 {
    if d == NO_DISTANCE {
        i64::MAX
    } else {
        d as i64
    }
}

/// The dominator chain from `node` up to the root (inclusive at both ends).
pub fn dominator_chain(a: &Analysis, node: u32) -> Vec<u32> {
    let mut chain = vec![node];
    let mut cur = node;
    while a.idom[cur as usize] != cur && chain.len() <= a.node_count() {
        cur = a.idom[cur as usize];
        chain.push(cur);
    }
    chain
}

/// A retaining path, root first: `(edge, node)` steps after the starting GC-root child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainingPath {
    /// Node ordinals from a child of the synthetic root down to the object.
    pub nodes: Vec<u32>,
    /// `edges[i]` leads from `nodes[i]` to `nodes[i + 1]`.
    pub edges: Vec<u32>,
}

/// A node on the path search stack: the node, the next candidate to try, the candidates
/// (`(edge, retainer)` one step nearer the roots).
type Frame = (u32, usize, Vec<(u32, u32)>);

/// Up to `count` shortest retaining paths from the GC roots to `node`, over non-weak edges.
/// Each step goes to a retainer one step nearer the roots (by DevTools' distances), so every
/// path has the object's distance as its length; different paths differ in at least one step.
pub fn retaining_paths(
    a: &Analysis,
    retainers: &Retainers,
    node: u32,
    count: usize,
) -> Vec<RetainingPath> {
    let g = &a.graph;
    let d0 = a.distance[node as usize];
    if d0 == NO_DISTANCE || count == 0 {
        return Vec::new();
    }
    // Depth-first over "one step nearer" retainers, collecting complete paths.
    let nearer = |n: u32| -> Vec<(u32, u32)> {
        let d = a.distance[n as usize];
        let mut v: Vec<(u32, u32)> = retainers
            .of(n)
            .iter()
            .filter(|&&e| g.edge_kind(e) != EdgeKind::Weak)
            .map(|&e| (e, g.edge_owner(e)))
            .filter(|&(_, src)| {
                let ds = a.distance[src as usize];
                ds != NO_DISTANCE && ds == d - 1 && src != n
            })
            .collect();
        v.sort_by_key(|&(e, src)| (a.distance[src as usize], e));
        v.dedup_by_key(|x| x.1);
        v
    };
    let is_top = |n: u32| {
        let d = a.distance[n as usize];
        d == 1 || d == BASE_SYSTEM_DISTANCE + 1 || d == 0 || n == g.root
    };
    let mut paths = Vec::new();
    // Stack of (node, next-candidate index, candidates); path built from the object upward.
    let mut stack: Vec<Frame> = vec![(node, 0, nearer(node))];
    let mut up_edges: Vec<u32> = Vec::new();
    let mut budget = 100_000usize;
    while let Some(top) = stack.last_mut() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let (n, next, cands) = top;
        if is_top(*n) {
            let mut nodes: Vec<u32> = stack.iter().map(|s| s.0).collect();
            nodes.reverse();
            let mut edges = up_edges.clone();
            edges.reverse();
            paths.push(RetainingPath { nodes, edges });
            if paths.len() >= count {
                break;
            }
            stack.pop();
            up_edges.pop();
            continue;
        }
        if *next >= cands.len() {
            stack.pop();
            up_edges.pop();
            continue;
        }
        let (e, src) = cands[*next];
        *next += 1;
        up_edges.push(e);
        let c = nearer(src);
        stack.push((src, 0, c));
    }
    paths
}

/// For a closure or a context: the context variables it holds (`->name` edges of the context)
/// with their target ordinals.
pub fn context_variables(a: &Analysis, node: u32) -> Vec<(String, u32)> {
    let g = &a.graph;
    let context = if g.kind(node) == NodeKind::Closure {
        g.edges(node)
            .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "context"))
            .map(|e| g.to_node(e))
    } else {
        Some(node)
    };
    let Some(context) = context else {
        return Vec::new();
    };
    g.edges(context)
        .filter(|&e| g.edge_kind(e) == EdgeKind::Context)
        .map(|e| (g.edge_name(e), g.to_node(e)))
        .collect()
}

/// Script names by V8 script id, read from closures: each closure with a location points
/// (`shared` → `script_or_debug_info`, or `script` in older V8) at its script, whose name is
/// the file or URL.
pub fn script_names(a: &Analysis) -> std::collections::HashMap<u32, String> {
    let g = &a.graph;
    let mut names = std::collections::HashMap::new();
    let find = |node: u32, wanted: &[&str]| -> Option<u32> {
        g.edges(node)
            .find(|&e| {
                g.edge_kind(e) == EdgeKind::Internal && wanted.iter().any(|w| g.edge_name_is(e, w))
            })
            .map(|e| g.to_node(e))
    };
    for loc in &a.locations {
        if names.contains_key(&loc.script_id) || g.kind(loc.node) != NodeKind::Closure {
            continue;
        }
        let Some(shared) = find(loc.node, &["shared"]) else {
            continue;
        };
        let Some(script) = find(shared, &["script_or_debug_info", "script"]) else {
            continue;
        };
        let name = g.raw_name(script);
        if !name.is_empty() && !name.starts_with("system / ") {
            names.insert(loc.script_id, name.into_owned());
        }
    }
    names
}

/// `file:line:column`, 1-based as editors show it, for a node with a location.
pub fn source_position(
    a: &Analysis,
    scripts: &std::collections::HashMap<u32, String>,
    node: u32,
) -> Option<String> {
    let l = a.location(node)?;
    let file = scripts
        .get(&l.script_id)
        .cloned()
        .unwrap_or_else(|| format!("script #{}", l.script_id));
    Some(format!("{file}:{}:{}", l.line + 1, l.column + 1))
}

/// The text of a string node, flattened: cons strings are rebuilt from their parts and a
/// sliced string is read from the string it was cut from (V8 records a slice's `parent` but
/// not its offset, so the parent's whole text is the most a snapshot can tell). Parts are
/// followed up to `max_len` UTF-16 units; `None` for nodes that are not strings.
pub fn string_text(a: &Analysis, node: u32, max_len: usize) -> Option<String> {
    let g = &a.graph;
    const MAX_STEPS: usize = 1 << 16;
    let mut stack = vec![node];
    let mut text = String::new();
    let mut steps = 0usize;
    while let Some(n) = stack.pop() {
        steps += 1;
        if steps > MAX_STEPS || crate::names::js_len(&text) >= max_len {
            break;
        }
        let part = |name: &str| {
            g.edges(n)
                .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, name))
                .map(|e| g.to_node(e))
        };
        match g.kind(n) {
            NodeKind::String => text.push_str(&g.raw_name(n)),
            NodeKind::ConsString => {
                if let (Some(first), Some(second)) = (part("first"), part("second")) {
                    stack.push(second);
                    stack.push(first);
                }
            }
            NodeKind::SlicedString => match part("parent") {
                Some(parent) => stack.push(parent),
                None => text.push_str(&g.raw_name(n)),
            },
            _ if n == node => return None,
            _ => {}
        }
    }
    Some(text)
}

/// Dominated children of `node` grouped as Easy-Monitor groups siblings — same display
/// name, shallow size and distance — as `(largest member, member count, summed retained
/// size)`, biggest first. Children are visited by retained size (then id), so a group's
/// first member is its largest.
pub fn grouped_dominated(a: &Analysis, node: u32) -> Vec<(u32, usize, u64)> {
    /// Names are compared by string index where the display name is the raw name, which
    /// keeps grouping a node with hundreds of thousands of children cheap.
    #[derive(Hash, PartialEq, Eq)]
    enum Name {
        Index(NodeKind, u32),
        Text(String),
    }
    let g = &a.graph;
    let name = |n: u32| match g.kind(n) {
        NodeKind::ConsString => Name::Text(a.display_name(n)),
        NodeKind::Object if g.raw_name_is(n, "Object") => Name::Text(a.display_name(n)),
        kind => Name::Index(kind, g.name_index(n)),
    };
    let mut children: Vec<u32> = a.dominator_tree.children(node).to_vec();
    children.sort_by(|&x, &y| {
        a.retained[y as usize]
            .cmp(&a.retained[x as usize])
            .then(g.id(x).cmp(&g.id(y)))
    });
    let mut index: std::collections::HashMap<(Name, u32, i32), usize> = Default::default();
    let mut out: Vec<(u32, usize, u64)> = Vec::new();
    for c in children {
        let key = (name(c), g.self_size(c), a.distance[c as usize]);
        match index.get(&key) {
            Some(&i) => {
                out[i].1 += 1;
                out[i].2 += a.retained[c as usize];
            }
            None => {
                index.insert(key, out.len());
                out.push((c, 1, a.retained[c as usize]));
            }
        }
    }
    out.sort_by_key(|grp| std::cmp::Reverse(grp.2));
    out
}

/// [`grouped_dominated`] for every node with at least `min_children` dominated children,
/// computed ahead (in parallel) so that opening such a level in the Dominators view does not
/// group hundreds of thousands of siblings on demand.
#[allow(clippy::type_complexity)] // (node, its groups): a list of pairs, nothing more
pub fn wide_dominator_groups(
    a: &Analysis,
    min_children: usize,
) -> Vec<(u32, std::sync::Arc<Vec<(u32, usize, u64)>>)> {
    use rayon::prelude::*;
    let wide: Vec<u32> = (0..a.node_count() as u32)
        .filter(|&n| a.dominator_tree.children(n).len() >= min_children)
        .collect();
    wide.into_par_iter()
        .map(|n| (n, std::sync::Arc::new(grouped_dominated(a, n))))
        .collect()
}
