//! The Summary view's class aggregates (`buildAggregates` + `calculateClassesRetainedSize`):
//! per class, the count, shallow and retained size of its instances with a non-zero shallow
//! size, and their minimum distance. A class's retained size counts each instance only when no
//! instance of the same class dominates it, so nested instances are not counted twice.
//!
//! Objects (node type `object`) with a source location are keyed by location and class name,
//! so same-named constructors from different files stay apart.

use std::collections::HashMap;

use heapscope_format::{NodeKind, SourceLocation};

use crate::dominators::DominatorTree;
use crate::graph::HeapGraph;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassAggregate {
    /// DevTools' key: `,Name`, or `script,line,column,Name` for located objects.
    pub key: String,
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
    /// The first instance (by ordinal), to jump to the class's source location.
    pub first_node: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ClassKey {
    Index(u32),
    Located {
        script: u32,
        line: u32,
        column: u32,
        name: u32,
    },
}

/// Inputs the aggregation reads.
pub struct AggregateInputs<'a> {
    pub graph: &'a HeapGraph,
    pub class_index: &'a [u32],
    pub distance: &'a [i32],
    pub retained: &'a [u64],
    pub tree: &'a DominatorTree,
    /// Source locations sorted by node (the last of equal nodes wins, as in DevTools).
    pub locations: &'a [SourceLocation],
}

pub fn class_aggregates(inp: &AggregateInputs<'_>) -> Vec<ClassAggregate> {
    let g = inp.graph;
    let strings = &g.raw.strings;
    let n = g.node_count();
    // Located keys compare class names by content; give each distinct name one id, cached
    // per class string index.
    let mut name_ids: HashMap<String, u32> = HashMap::new();
    let mut name_id_of_class: Vec<u32> = vec![u32::MAX; strings.len()];
    // Unlocated keys (most nodes) go through a direct table by class index.
    let mut agg_of_class: Vec<u32> = vec![u32::MAX; strings.len()];
    let mut located: HashMap<ClassKey, u32> = HashMap::new();
    let mut keys: Vec<ClassKey> = Vec::new();
    let mut aggs: Vec<ClassAggregate> = Vec::new();
    let mut agg_of = vec![u32::MAX; n];
    let mut cursor = 0usize;
    for node in 0..n as u32 {
        // Advance the location cursor in step with the node ordinal.
        while cursor < inp.locations.len() && inp.locations[cursor].node < node {
            cursor += 1;
        }
        let size = g.self_size(node);
        if size == 0 {
            continue;
        }
        let class = inp.class_index[node as usize];
        let mut location = None;
        if g.kind(node) == NodeKind::Object {
            let mut c = cursor;
            while c < inp.locations.len() && inp.locations[c].node == node {
                location = Some(inp.locations[c]);
                c += 1;
            }
        }
        let key = match location {
            None => ClassKey::Index(class),
            Some(l) => {
                let slot = &mut name_id_of_class[class as usize];
                if *slot == u32::MAX {
                    let next = name_ids.len() as u32;
                    *slot = *name_ids
                        .entry(strings.get(class).into_owned())
                        .or_insert(next);
                }
                ClassKey::Located {
                    script: l.script_id,
                    line: l.line,
                    column: l.column,
                    name: *slot,
                }
            }
        };
        let existing = match key {
            ClassKey::Index(c) => agg_of_class[c as usize],
            located_key => located.get(&located_key).copied().unwrap_or(u32::MAX),
        };
        let dist = inp.distance[node as usize];
        let a = if existing != u32::MAX {
            existing
        } else {
            let a = aggs.len() as u32;
            keys.push(key);
            aggs.push(ClassAggregate {
                key: String::new(),
                name: strings.get(class).into_owned(),
                count: 0,
                self_size: 0,
                retained_size: 0,
                distance: dist,
                first_node: node,
            });
            match key {
                ClassKey::Index(c) => agg_of_class[c as usize] = a,
                located_key => {
                    located.insert(located_key, a);
                }
            }
            a
        };
        let agg = &mut aggs[a as usize];
        agg.count += 1;
        agg.self_size += size as u64;
        agg.distance = agg.distance.min(dist);
        agg_of[node as usize] = a;
    }

    // Retained sizes: walk the dominator tree; an instance counts unless a counted instance of
    // the same class dominates it.
    let mut seen = vec![false; aggs.len()];
    const EXIT: u32 = 1 << 31;
    let mut stack: Vec<u32> = vec![g.root];
    let mut exits: Vec<u32> = Vec::new();
    while let Some(item) = stack.pop() {
        if item & EXIT != 0 {
            let a = exits.pop().expect("exit markers pair with entries");
            seen[a as usize] = false;
            continue;
        }
        let node = item;
        let a = agg_of[node as usize];
        let children = inp.tree.children(node);
        if a != u32::MAX && !seen[a as usize] {
            aggs[a as usize].retained_size += inp.retained[node as usize];
            if !children.is_empty() {
                seen[a as usize] = true;
                exits.push(a);
                stack.push(EXIT);
            }
        }
        stack.extend_from_slice(children);
    }

    // DevTools re-keys by public key; a later class with the same public key replaces an
    // earlier one (this only happens when a derived class name equals an object's own name).
    let mut out: Vec<ClassAggregate> = Vec::with_capacity(aggs.len());
    let mut by_public: HashMap<String, usize> = HashMap::new();
    for (key, mut agg) in keys.into_iter().zip(aggs) {
        agg.key = match key {
            ClassKey::Index(_) => format!(",{}", agg.name),
            ClassKey::Located {
                script,
                line,
                column,
                ..
            } => format!("{script},{line},{column},{}", agg.name),
        };
        match by_public.get(&agg.key) {
            Some(&i) => out[i] = agg,
            None => {
                by_public.insert(agg.key.clone(), out.len());
                out.push(agg);
            }
        }
    }
    out
}
