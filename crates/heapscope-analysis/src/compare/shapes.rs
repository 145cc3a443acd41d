//! The shape of an object's retaining path: the classes and edge names from the GC roots
//! down to it, with ids and array indexes left out. Objects leaked by the same bug have the
//! same shape (`Map {table} → (array) {} → RequestRecord` for every record of a cache),
//! whatever their ids or positions, so grouping by shape turns thousands of leaked objects
//! into one finding.
//!
//! The path is the first one `views::retaining_paths` returns: from the object, repeatedly
//! the retainer one step nearer the roots (DevTools' distances) through the non-weak edge
//! with the smallest edge ordinal. Those choices are computed for all nodes in one pass over
//! the edges (edge ordinals ascend with the owner's ordinal, so the first edge seen into a
//! node is the smallest), and shapes are interned parent-first, so a path shared by many
//! objects is walked once.

use std::collections::HashMap;

use heapscope_format::EdgeKind;

use crate::views::{edge_label, RetainingPath};
use crate::{Analysis, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

const NONE: u32 = u32::MAX;

/// One step of a shape: the class of a node and the normalised edge that leads to it (empty
/// for the first node, a child of the GC roots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeStep {
    pub edge: String,
    pub class_name: String,
}

/// Shortest-path parents and interned path shapes of one analysed snapshot.
pub struct PathShapes<'a> {
    a: &'a Analysis,
    /// The edge from a node's path parent, by ordinal; `NONE` for nodes at the top of a path
    /// and unreachable ones.
    parent_edge: Vec<u32>,
    /// Interned shape per node, computed on demand (`NONE` = not yet).
    shape_of_node: Vec<u32>,
    /// `(parent shape or NONE, class string index, label id)` per shape.
    shapes: Vec<(u32, u32, u32)>,
    shape_ids: HashMap<(u32, u32, u32), u32>,
    labels: Vec<String>,
    label_ids: HashMap<String, u32>,
}

/// Whether retaining paths start at this node (a GC root's child, or the root itself), as in
/// `views::retaining_paths`.
fn is_top(a: &Analysis, n: u32) -> bool {
    let d = a.distance[n as usize];
    d == 1 || d == BASE_SYSTEM_DISTANCE + 1 || d == 0 || n == a.graph.root
}

impl<'a> PathShapes<'a> {
    pub fn new(a: &'a Analysis) -> PathShapes<'a> {
        let g = &a.graph;
        let n = g.node_count();
        let mut parent_edge = vec![NONE; n];
        for src in 0..n as u32 {
            let ds = a.distance[src as usize];
            if ds == NO_DISTANCE {
                continue;
            }
            for e in g.edges(src) {
                if g.edge_kind(e) == EdgeKind::Weak {
                    continue;
                }
                let dst = g.to_node(e);
                let dd = a.distance[dst as usize];
                if dd == NO_DISTANCE
                    || dd != ds + 1
                    || dst == src
                    || parent_edge[dst as usize] != NONE
                    || is_top(a, dst)
                {
                    continue;
                }
                parent_edge[dst as usize] = e;
            }
        }
        PathShapes {
            a,
            parent_edge,
            shape_of_node: vec![NONE; n],
            shapes: Vec::new(),
            shape_ids: HashMap::new(),
            labels: Vec::new(),
            label_ids: HashMap::new(),
        }
    }

    /// The node's path parent (one step nearer the roots), if it has one.
    pub fn parent(&self, node: u32) -> Option<u32> {
        let e = self.parent_edge[node as usize];
        (e != NONE).then(|| self.a.graph.edge_owner(e))
    }

    /// The shortest retaining path of a node, root first; `None` when unreachable.
    pub fn path(&self, node: u32) -> Option<RetainingPath> {
        if self.a.distance[node as usize] == NO_DISTANCE {
            return None;
        }
        let mut nodes = vec![node];
        let mut edges = Vec::new();
        let mut cur = node;
        while !is_top(self.a, cur) {
            let e = self.parent_edge[cur as usize];
            if e == NONE || nodes.len() > self.a.node_count() {
                return None;
            }
            edges.push(e);
            cur = self.a.graph.edge_owner(e);
            nodes.push(cur);
        }
        nodes.reverse();
        edges.reverse();
        Some(RetainingPath { nodes, edges })
    }

    /// The node's path shape id; `None` when it is unreachable or its path is broken.
    pub fn shape(&mut self, node: u32) -> Option<u32> {
        let known = self.shape_of_node[node as usize];
        if known != NONE {
            return Some(known);
        }
        if self.a.distance[node as usize] == NO_DISTANCE {
            return None;
        }
        // Walk up to a node with a known shape or the top, then intern downwards.
        let mut chain = vec![node];
        let mut cur = node;
        let mut parent_shape = NONE;
        loop {
            if is_top(self.a, cur) {
                break;
            }
            let e = self.parent_edge[cur as usize];
            if e == NONE || chain.len() > self.a.node_count() {
                return None;
            }
            let p = self.a.graph.edge_owner(e);
            let s = self.shape_of_node[p as usize];
            if s != NONE {
                parent_shape = s;
                break;
            }
            chain.push(p);
            cur = p;
        }
        for &n in chain.iter().rev() {
            let e = self.parent_edge[n as usize];
            let label = if is_top(self.a, n) || e == NONE {
                NONE
            } else {
                self.label_id(e)
            };
            let key = (parent_shape, self.a.class_index[n as usize], label);
            let next = self.shapes.len() as u32;
            let s = *self.shape_ids.entry(key).or_insert(next);
            if s == next {
                self.shapes.push(key);
            }
            self.shape_of_node[n as usize] = s;
            parent_shape = s;
        }
        Some(parent_shape)
    }

    fn label_id(&mut self, e: u32) -> u32 {
        let label = normalized_label(self.a, e);
        let next = self.labels.len() as u32;
        let id = *self.label_ids.entry(label.clone()).or_insert(next);
        if id == next {
            self.labels.push(label);
        }
        id
    }

    /// The steps of a shape, root first.
    pub fn steps(&self, shape: u32) -> Vec<ShapeStep> {
        let mut out = Vec::new();
        let mut s = shape;
        while s != NONE && out.len() <= self.shapes.len() {
            let (parent, class, label) = self.shapes[s as usize];
            out.push(ShapeStep {
                edge: if label == NONE {
                    String::new()
                } else {
                    self.labels[label as usize].clone()
                },
                class_name: self.a.graph.raw.strings.get(class).into_owned(),
            });
            s = parent;
        }
        out.reverse();
        out
    }

    /// A shape as one line: `global .app → Object .cache → Map {table} → (array) {} → Foo`.
    pub fn describe(&self, shape: u32) -> String {
        let mut line = String::new();
        for (i, step) in self.steps(shape).iter().enumerate() {
            if i > 0 {
                line.push_str(&format!(" {} → ", step.edge));
            }
            line.push_str(&step.class_name);
        }
        line
    }
}

/// DevTools' edge label with what varies between objects of one leak removed: element and
/// hidden indexes (`[3]` → `[]`, `{455}` → `{}`) and digit runs in property names
/// (`.req-17` → `.req-#`, for objects used as maps keyed by ids).
fn normalized_label(a: &Analysis, e: u32) -> String {
    let g = &a.graph;
    match g.edge_kind(e) {
        EdgeKind::Element => "[]".to_string(),
        EdgeKind::Hidden => "{}".to_string(),
        EdgeKind::Internal if g.edge_name(e).bytes().all(|b| b.is_ascii_digit()) => {
            "{}".to_string()
        }
        EdgeKind::Context | EdgeKind::Internal => edge_label(a, e),
        _ => {
            let label = edge_label(a, e);
            let mut out = String::with_capacity(label.len());
            let mut in_digits = false;
            for c in label.chars() {
                if c.is_ascii_digit() {
                    if !in_digits {
                        out.push('#');
                    }
                    in_digits = true;
                } else {
                    out.push(c);
                    in_digits = false;
                }
            }
            out
        }
    }
}
