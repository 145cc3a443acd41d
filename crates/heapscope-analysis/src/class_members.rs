//! Every Summary class's instances, largest retained first, as one flat index.
//!
//! Expanding a class in the Summary view would otherwise scan every node (over a second for
//! the `(string)` class of a 1 GB snapshot). Building the index for all classes at once is one
//! pass plus a sort per class, done once per snapshot and persisted with it.

use std::collections::HashMap;

use heapscope_format::NodeKind;
use rayon::prelude::*;

use crate::Analysis;

/// `nodes[first[c]..first[c + 1]]` are the instances of `analysis.classes[c]`, by retained
/// size (largest first, then ordinal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassMembers {
    pub first: Vec<u32>,
    pub nodes: Vec<u32>,
}

impl ClassMembers {
    /// Groups the nodes the way the Summary view keys its classes: by class name, and for
    /// objects with a source location by that location too. Nodes of zero shallow size are
    /// in no class, as in DevTools.
    pub fn build(a: &Analysis) -> ClassMembers {
        let g = &a.graph;
        let n = a.node_count();
        let by_key: HashMap<&str, u32> = a
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key.as_str(), i as u32))
            .collect();
        // Unlocated instances (almost all) map through their class string directly.
        let mut unlocated: Vec<u32> = vec![u32::MAX; g.raw.strings.len()];
        const UNKNOWN: u32 = u32::MAX - 1;
        let mut class_of: Vec<u32> = vec![u32::MAX; n];
        for (node, slot) in class_of.iter_mut().enumerate() {
            let node = node as u32;
            if g.self_size(node) == 0 {
                continue;
            }
            let class = a.class_index[node as usize];
            let location = (g.kind(node) == NodeKind::Object)
                .then(|| a.location(node))
                .flatten();
            *slot = match location {
                Some(l) => {
                    let name = g.raw.strings.get(class);
                    let key = format!("{},{},{},{name}", l.script_id, l.line, l.column);
                    by_key.get(key.as_str()).copied().unwrap_or(u32::MAX)
                }
                None => {
                    let cached = &mut unlocated[class as usize];
                    if *cached == u32::MAX {
                        let key = format!(",{}", g.raw.strings.get(class));
                        *cached = by_key.get(key.as_str()).copied().unwrap_or(UNKNOWN);
                    }
                    match *cached {
                        UNKNOWN => u32::MAX,
                        c => c,
                    }
                }
            };
        }
        let classes = a.classes.len();
        let (first, mut nodes) = crate::csr::group_by_key(&class_of, classes);
        drop(class_of);
        // Sort each class's run on its own; the runs are disjoint slices.
        let mut runs: Vec<&mut [u32]> = Vec::with_capacity(classes);
        let mut rest: &mut [u32] = &mut nodes;
        for c in 0..classes {
            let (run, tail) = rest.split_at_mut((first[c + 1] - first[c]) as usize);
            runs.push(run);
            rest = tail;
        }
        runs.par_iter_mut().for_each(|run| {
            run.sort_unstable_by(|&x, &y| {
                a.retained[y as usize]
                    .cmp(&a.retained[x as usize])
                    .then(x.cmp(&y))
            })
        });
        ClassMembers { first, nodes }
    }

    /// The instances of class `c` (an index into `Analysis::classes`).
    pub fn of(&self, c: usize) -> &[u32] {
        match (self.first.get(c), self.first.get(c + 1)) {
            (Some(&s), Some(&e)) => &self.nodes[s as usize..e as usize],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_lists_exactly_its_count_of_instances() {
        let json =
            br#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],
            "node_types":[["hidden","object","string"],"string","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal"],"string_or_number","node"]},
            "node_count":5,"edge_count":4},
            "nodes":[1,0,1,0,4, 1,1,3,10,0, 1,1,5,30,0, 2,2,7,8,0, 1,1,9,0,0],
            "edges":[2,3,5, 2,4,10, 2,5,15, 2,6,20],
            "strings":["","Foo","hi","a","b","c","d"]}"#;
        let raw = heapscope_format::load_bytes(json).expect("valid snapshot");
        let a = Analysis::new(raw, &|_| {});
        let members = ClassMembers::build(&a);
        for (i, c) in a.classes.iter().enumerate() {
            assert_eq!(members.of(i).len() as u64, c.count, "class {}", c.name);
        }
        let foo = a.classes.iter().position(|c| c.name == "Foo").expect("Foo");
        // Largest retained first; the zero-size Foo is in no class.
        let ids: Vec<u32> = members.of(foo).iter().map(|&n| a.graph.id(n)).collect();
        assert_eq!(ids, vec![5, 3]);
    }
}
