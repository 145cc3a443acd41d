//! The Summary view's class aggregates (`buildAggregates` + `calculateClassesRetainedSize`):
//! per class, the count, shallow and retained size of its instances with a non-zero shallow
//! size, and their minimum distance. A class's retained size counts each instance only when no
//! instance of the same class dominates it, so nested instances are not counted twice.
//!
//! Objects (node type `object`) with a source location are keyed by location and class name,
//! so same-named constructors from different files stay apart.

use std::collections::HashMap;

use heapscope_format::NodeKind;

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
    pub location_of: &'a dyn Fn(u32) -> Option<(u32, u32, u32)>,
}

pub fn class_aggregates(inp: &AggregateInputs<'_>) -> Vec<ClassAggregate> {
    let g = inp.graph;
    let strings = &g.raw.strings;
    let n = g.node_count();
    // Located keys compare class names by content; give each distinct name one id.
    let mut name_ids: HashMap<String, u32> = HashMap::new();
    let mut key_of = |node: u32| -> ClassKey {
        let class = inp.class_index[node as usize];
        if g.kind(node) != NodeKind::Object {
            return ClassKey::Index(class);
        }
        match (inp.location_of)(node) {
            None => ClassKey::Index(class),
            Some((script, line, column)) => {
                let text = strings.get(class).into_owned();
                let next = name_ids.len() as u32;
                let name = *name_ids.entry(text).or_insert(next);
                ClassKey::Located {
                    script,
                    line,
                    column,
                    name,
                }
            }
        }
    };
    let mut index: HashMap<ClassKey, u32> = HashMap::new();
    let mut keys: Vec<ClassKey> = Vec::new();
    let mut aggs: Vec<ClassAggregate> = Vec::new();
    let mut agg_of = vec![u32::MAX; n];
    for node in 0..n as u32 {
        let size = g.self_size(node);
        if size == 0 {
            continue;
        }
        let key = key_of(node);
        let dist = inp.distance[node as usize];
        let a = *index.entry(key).or_insert_with(|| {
            keys.push(key);
            aggs.push(ClassAggregate {
                key: String::new(),
                name: strings.get(inp.class_index[node as usize]).into_owned(),
                count: 0,
                self_size: 0,
                retained_size: 0,
                distance: dist,
                first_node: node,
            });
            (aggs.len() - 1) as u32
        });
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
