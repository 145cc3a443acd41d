//! The three-snapshot technique: objects allocated after BASELINE and up to TARGET (id absent
//! from BASELINE, present in TARGET) that are still alive in FINAL. Whatever a service
//! allocates per request and frees again is gone by FINAL; what is left is what leaks.
//!
//! The survivors are grouped by the shape of their retaining path in FINAL (shapes.rs), and
//! only the *top* survivors count: those with no other reported survivor on their path. A
//! leaked record's headers, strings and closures are reached through the record, so they add
//! to its retained size instead of making clusters of their own.
//!
//! Not reported by default: the runtime's own long-lived internals, which grow once as code
//! warms up rather than per request — compiled code and bytecode and what only they hold
//! (constants, feedback), object shapes, internal arrays and `(system)` objects, objects
//! only reachable from V8's system roots, and the module system's `Module`/`BuiltinModule`
//! records (modules loaded lazily between the snapshots).

use std::collections::HashMap;

use heapscope_format::NodeKind;

use super::identity::{check_same_process, for_each_common_id, ProcessCheck, SnapshotIds};
use super::shapes::{PathShapes, ShapeStep};
use super::IdIndex;
use crate::views::RetainingPath;
use crate::{Analysis, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

#[derive(Debug, Clone)]
pub struct LeakClusterOptions {
    /// Also report the runtime's long-lived internals (see the module docs).
    pub include_internals: bool,
    /// Leave out clusters with fewer objects than this.
    pub min_count: u64,
}

impl Default for LeakClusterOptions {
    fn default() -> Self {
        LeakClusterOptions {
            include_internals: false,
            min_count: 1,
        }
    }
}

/// Objects leaked the same way.
#[derive(Debug, Clone)]
pub struct LeakCluster {
    /// The retaining path's shape, root first; the last step is the objects' class.
    pub shape: Vec<ShapeStep>,
    /// The shape as one line (`… Map {table} → (array) {} → RequestRecord`).
    pub shape_text: String,
    pub class_name: String,
    /// Top survivors: new in TARGET since BASELINE, alive in FINAL.
    pub count: u64,
    /// Their shallow and retained sizes in FINAL.
    pub self_size: u64,
    pub retained_size: u64,
    /// FINAL's objects with the same path shape that already existed in BASELINE, and that
    /// are newer than TARGET: with `count`, how the cluster grew across the three snapshots.
    pub in_baseline: u64,
    pub added_after_target: u64,
    /// The survivors' node ordinals in FINAL, largest retained size first.
    pub objects: Vec<u32>,
    /// Path of the first of `objects`, root first.
    pub representative_path: RetainingPath,
}

impl LeakCluster {
    /// The representative object (largest retained size) as a FINAL node ordinal.
    pub fn representative(&self) -> u32 {
        self.objects[0]
    }

    /// Objects of this shape in FINAL, all ages.
    pub fn in_final(&self) -> u64 {
        self.in_baseline + self.count + self.added_after_target
    }
}

#[derive(Debug, Clone)]
pub struct LeakClusters {
    /// BASELINE against TARGET, and TARGET against FINAL.
    pub baseline_to_target: ProcessCheck,
    pub target_to_final: ProcessCheck,
    /// Why no clusters could be computed (ids not comparable), if so.
    pub problem: Option<String>,
    /// All survivors, top or not, reported kinds only.
    pub survivors: u64,
    /// Clusters, largest total retained size first.
    pub clusters: Vec<LeakCluster>,
}

/// Age of a FINAL node by its id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Age {
    InBaseline,
    NewInTarget,
    NewAfterTarget,
}

/// Finds the survivors of (BASELINE, TARGET] in FINAL and clusters them. BASELINE and TARGET
/// are only needed as ids ([`super::IdSet`], read without analysing them, or [`IdIndex`]);
/// FINAL is analysed in full.
pub fn find_leak_clusters(
    baseline: &dyn SnapshotIds,
    target: &dyn SnapshotIds,
    final_analysis: &Analysis,
    options: &LeakClusterOptions,
) -> LeakClusters {
    let a = final_analysis;
    let final_index = IdIndex::new(a);
    let baseline_to_target = check_same_process(baseline, target);
    let target_to_final = check_same_process(target, &final_index);
    let problem = match (&baseline_to_target.problem, &target_to_final.problem) {
        (Some(p), _) => Some(format!("BASELINE and TARGET: {p}")),
        (None, Some(p)) => Some(format!("TARGET and FINAL: {p}")),
        (None, None) => None,
    };
    let mut out = LeakClusters {
        baseline_to_target,
        target_to_final,
        problem,
        survivors: 0,
        clusters: Vec::new(),
    };
    if out.problem.is_some() {
        return out;
    }

    let n = a.node_count();
    let mut age = vec![Age::NewAfterTarget; n];
    for_each_common_id(target.ids(), final_index.ids(), |_, j| {
        age[final_index.ordinal_at(j) as usize] = Age::NewInTarget;
    });
    for_each_common_id(baseline.ids(), final_index.ids(), |_, j| {
        age[final_index.ordinal_at(j) as usize] = Age::InBaseline;
    });
    let reported: Vec<bool> = (0..n as u32)
        .map(|node| options.include_internals || !is_internal(a, node))
        .collect();
    let survivor = |node: u32| age[node as usize] == Age::NewInTarget && reported[node as usize];

    let mut shapes = PathShapes::new(a);
    // Memo: does the node's path (excluding itself) pass through a survivor?
    // 0 unknown, 1 no, 2 yes.
    let mut survivor_above: Vec<u8> = vec![0; n];
    let mut by_shape: HashMap<u32, Vec<u32>> = HashMap::new();
    for node in 0..n as u32 {
        if !survivor(node) || a.distance[node as usize] == NO_DISTANCE {
            continue;
        }
        out.survivors += 1;
        if has_survivor_above(&shapes, &survivor, &mut survivor_above, node)
            || (!options.include_internals && held_by_code(a, &shapes, node))
        {
            continue;
        }
        if let Some(s) = shapes.shape(node) {
            by_shape.entry(s).or_default().push(node);
        }
    }

    // Same-shape objects of other ages, looked up among the clusters' classes only.
    let cluster_classes: std::collections::HashSet<u32> = by_shape
        .values()
        .map(|nodes| a.class_index[nodes[0] as usize])
        .collect();
    let mut other_ages: HashMap<u32, (u64, u64)> = HashMap::new();
    for node in 0..n as u32 {
        let node_age = age[node as usize];
        if node_age == Age::NewInTarget
            || !reported[node as usize]
            || !cluster_classes.contains(&a.class_index[node as usize])
            || a.distance[node as usize] == NO_DISTANCE
        {
            continue;
        }
        if has_survivor_above(&shapes, &survivor, &mut survivor_above, node)
            || (!options.include_internals && held_by_code(a, &shapes, node))
        {
            continue;
        }
        if let Some(s) = shapes.shape(node) {
            if by_shape.contains_key(&s) {
                let e = other_ages.entry(s).or_default();
                match node_age {
                    Age::InBaseline => e.0 += 1,
                    _ => e.1 += 1,
                }
            }
        }
    }

    for (shape, mut nodes) in by_shape {
        if (nodes.len() as u64) < options.min_count {
            continue;
        }
        nodes.sort_by(|&x, &y| {
            a.retained[y as usize]
                .cmp(&a.retained[x as usize])
                .then(a.graph.id(x).cmp(&a.graph.id(y)))
        });
        let Some(path) = shapes.path(nodes[0]) else {
            continue;
        };
        let (in_baseline, added_after_target) = other_ages.get(&shape).copied().unwrap_or((0, 0));
        out.clusters.push(LeakCluster {
            shape: shapes.steps(shape),
            shape_text: shapes.describe(shape),
            class_name: a.class_name(nodes[0]).into_owned(),
            count: nodes.len() as u64,
            self_size: nodes.iter().map(|&x| a.graph.self_size(x) as u64).sum(),
            retained_size: nodes.iter().map(|&x| a.retained[x as usize]).sum(),
            in_baseline,
            added_after_target,
            objects: nodes,
            representative_path: path,
        });
    }
    out.clusters.sort_by(|x, y| {
        y.retained_size
            .cmp(&x.retained_size)
            .then(y.count.cmp(&x.count))
            .then(x.shape_text.cmp(&y.shape_text))
    });
    out
}

/// Whether a survivor lies on the node's path above it. Memoised along the path.
fn has_survivor_above(
    shapes: &PathShapes<'_>,
    survivor: &dyn Fn(u32) -> bool,
    memo: &mut [u8],
    node: u32,
) -> bool {
    let mut chain = Vec::new();
    let mut cur = node;
    let mut answer = false;
    while let Some(p) = shapes.parent(cur) {
        if survivor(p) {
            answer = true;
            break;
        }
        // `p` is no survivor itself, so what is above it is the answer.
        match memo[p as usize] {
            1 => break,
            2 => {
                answer = true;
                break;
            }
            _ => {}
        }
        chain.push(p);
        cur = p;
    }
    // Every node walked has the same answer: the survivor found (or none) is above it too.
    for p in chain {
        memo[p as usize] = if answer { 2 } else { 1 };
    }
    answer
}

/// Whether compiled code lies on the node's path: constants of bytecode and feedback
/// (strings, numbers, boilerplates) belong to the code, not to the application.
fn held_by_code(a: &Analysis, shapes: &PathShapes<'_>, node: u32) -> bool {
    let mut cur = node;
    let mut steps = 0usize;
    while let Some(p) = shapes.parent(cur) {
        if a.graph.kind(p) == NodeKind::Code {
            return true;
        }
        steps += 1;
        if steps > a.node_count() {
            break;
        }
        cur = p;
    }
    false
}

/// The runtime's long-lived internals, not reported by default.
pub(super) fn is_internal(a: &Analysis, node: u32) -> bool {
    let g = &a.graph;
    match g.kind(node) {
        NodeKind::Hidden
        | NodeKind::Code
        | NodeKind::ObjectShape
        | NodeKind::Array
        | NodeKind::Synthetic => return true,
        _ => {}
    }
    if a.distance[node as usize] >= BASE_SYSTEM_DISTANCE {
        return true;
    }
    let class = a.class_name(node);
    class == "Module" || class == "BuiltinModule"
}
