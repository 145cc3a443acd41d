//! Property tests of the dominator tree and retained sizes against naive reference algorithms
//! on random graphs, plus deep-chain / wide-fan-out stress tests.
//!
//! Every snapshot is built as `.heapsnapshot` JSON text and goes through the real loader and
//! `Analysis::new`. All non-root nodes are `object`s (never shallow-size re-attributed), the
//! root is `synthetic` and no `shortcut` edges are generated (so no node is page-owned): the
//! only edges that do not count for dominators are weak edges and self edges.
//!
//! References (graphs have at most 64 nodes, so node sets are `u64` bit masks):
//! * iterative data-flow dominators: Dom(root) = {root}, Dom(n) = {n} ∪ ⋂ Dom(p);
//! * "remove d and see who becomes unreachable", checked to agree with the data-flow sets;
//! * retained(n) = Σ self sizes of the nodes n dominates (n included).
//!
//! For graphs with parts unreachable from the root the reference runs on the graph augmented
//! the way DevTools' procedure treats it: a virtual edge root → v for every v ≠ root with no
//! essential incoming edge ("orphans"). Nodes still unreachable (cycles retained only by
//! themselves) are numbered with the root as DFS parent; for them we only check that the
//! dominator is in range (and, as this procedure always yields, that it is the root) and that
//! the root's retained size is the total of all self sizes.

use std::fmt::Write as _;
use std::time::Instant;

use heapscope_analysis::Analysis;
use proptest::prelude::*;
use proptest::sample::Index;

// Edge type indexes in the template's `edge_types`.
const CONTEXT: u8 = 0;
const ELEMENT: u8 = 1;
const PROPERTY: u8 = 2;
const INTERNAL: u8 = 3;
const HIDDEN: u8 = 4;
const WEAK: u8 = 6;

// Node type indexes in the template's `node_types`.
const OBJECT: u8 = 3;
const SYNTHETIC: u8 = 9;

const STRINGS: &[&str] = &["", "Object", "a", "b", "c"];

/// A snapshot graph.
#[derive(Clone, Debug)]
struct Graph {
    /// Root ordinal (written as the header's `root_index`).
    root: usize,

    sizes: Vec<u32>,
    /// Outgoing edges per node as `(edge type, target ordinal)`, in snapshot order.
    edges: Vec<Vec<(u8, u32)>>,
}

fn is_essential(kind: u8, from: usize, to: usize) -> bool {
    kind != WEAK && from != to
}

impl Graph {
    fn n(&self) -> usize {
        self.sizes.len()
    }

    fn edge_count(&self) -> usize {
        self.edges.iter().map(Vec::len).sum()
    }

    fn total(&self) -> u64 {
        self.sizes.iter().map(|&s| s as u64).sum()
    }

    /// Essential predecessors (deduplicated) per node.
    fn essential_preds(&self) -> Vec<Vec<usize>> {
        let mut preds = vec![Vec::new(); self.n()];
        for (from, es) in self.edges.iter().enumerate() {
            for &(kind, to) in es {
                let to = to as usize;
                if is_essential(kind, from, to) && !preds[to].contains(&from) {
                    preds[to].push(from);
                }
            }
        }
        preds
    }

    fn to_json(&self) -> String {
        let mut nodes = String::new();
        for (i, es) in self.edges.iter().enumerate() {
            let (ty, name) = if i == self.root {
                (SYNTHETIC, 0)
            } else {
                (OBJECT, 1)
            };
            if i > 0 {
                nodes.push(',');
            }
            write!(
                nodes,
                "{ty},{name},{},{},{},0,0",
                2 * i + 1,
                self.sizes[i],
                es.len()
            )
            .unwrap();
        }
        let mut edges = String::new();
        let mut first = true;
        for es in &self.edges {
            for (k, &(kind, to)) in es.iter().enumerate() {
                let name = match kind {
                    ELEMENT | HIDDEN => k as u32,
                    _ => 2 + to % 3,
                };
                if !first {
                    edges.push(',');
                }
                first = false;
                write!(edges, "{kind},{name},{}", to * 7).unwrap();
            }
        }
        snapshot_json(self.n(), self.edge_count(), self.root, &nodes, &edges)
    }

    fn analyze(&self) -> Analysis {
        let raw = heapscope_format::load_bytes(self.to_json().as_bytes()).expect("snapshot loads");
        Analysis::new(raw, &|_| {})
    }

    /// The graph as DevTools' dominator procedure sees it: a virtual essential edge from the
    /// root to every non-root node without essential retainers.
    fn augmented_preds(&self) -> Vec<Vec<usize>> {
        let mut preds = self.essential_preds();
        for (v, ps) in preds.iter_mut().enumerate() {
            if v != self.root && ps.is_empty() {
                ps.push(self.root);
            }
        }
        preds
    }
}

fn snapshot_json(
    node_count: usize,
    edge_count: usize,
    root: usize,
    nodes: &str,
    edges: &str,
) -> String {
    let strings: Vec<String> = STRINGS.iter().map(|s| format!("\"{s}\"")).collect();
    let mut out = String::with_capacity(nodes.len() + edges.len() + 1024);
    out.push_str(
        r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]},"#,
    );
    write!(out, r#""node_count":{node_count},"edge_count":{edge_count},"root_index":{},"trace_function_count":0}},"nodes":["#, root * 7).unwrap();
    out.push_str(nodes);
    out.push_str(r#"],"edges":["#);
    out.push_str(edges);
    write!(
        out,
        r#"],"locations":[],"strings":[{}]}}"#,
        strings.join(",")
    )
    .unwrap();
    out
}

// ---------------------------------------------------------------------------------------------
// Naive references.

/// Dominator sets over `preds` (a node's predecessors) from `root`, by iterative data flow.
/// Returns (mask of nodes reachable from the root, Dom(v) per node; 0 for unreachable nodes).
fn dataflow_dominators(preds: &[Vec<usize>], root: usize) -> (u64, Vec<u64>) {
    let n = preds.len();
    assert!(n <= 64);
    // Reachability over the successor relation.
    let mut succ = vec![Vec::new(); n];
    for (v, ps) in preds.iter().enumerate() {
        for &p in ps {
            succ[p].push(v);
        }
    }
    let mut reach = 1u64 << root;
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        for &w in &succ[v] {
            if reach & (1 << w) == 0 {
                reach |= 1 << w;
                stack.push(w);
            }
        }
    }
    let mut dom: Vec<u64> = (0..n)
        .map(|v| if reach & (1 << v) != 0 { reach } else { 0 })
        .collect();
    dom[root] = 1 << root;
    loop {
        let mut changed = false;
        for v in 0..n {
            if v == root || reach & (1 << v) == 0 {
                continue;
            }
            let mut d = reach;
            for &p in &preds[v] {
                if reach & (1 << p) != 0 {
                    d &= dom[p];
                }
            }
            d |= 1 << v;
            if d != dom[v] {
                dom[v] = d;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    (reach, dom)
}

/// Dominator sets by deletion: d dominates v iff v is unreachable from the root once d is gone.
fn deletion_dominators(preds: &[Vec<usize>], reach: u64, root: usize) -> Vec<u64> {
    let n = preds.len();
    let mut succ = vec![Vec::new(); n];
    for (v, ps) in preds.iter().enumerate() {
        for &p in ps {
            succ[p].push(v);
        }
    }
    let mut dom: Vec<u64> = (0..n)
        .map(|v| {
            if reach & (1 << v) != 0 {
                1 << root | 1 << v
            } else {
                0
            }
        })
        .collect();
    for d in 0..n {
        if d == root || reach & (1 << d) == 0 {
            continue;
        }
        let mut seen = 1u64 << root | 1 << d; // root visited; d removed
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for &w in &succ[v] {
                if seen & (1 << w) == 0 {
                    seen |= 1 << w;
                    stack.push(w);
                }
            }
        }
        for (v, set) in dom.iter_mut().enumerate() {
            if reach & (1 << v) != 0 && seen & (1 << v) == 0 {
                *set |= 1 << d;
            }
        }
    }
    dom
}

/// Immediate dominator from dominator sets: the strict dominator with the largest Dom set.
fn idom_of(dom: &[u64], v: usize, root: usize) -> usize {
    if v == root {
        return root;
    }
    let strict = dom[v] & !(1u64 << v);
    (0..dom.len())
        .filter(|&d| strict & (1 << d) != 0)
        .max_by_key(|&d| dom[d].count_ones())
        .expect("a reachable non-root node has a strict dominator")
}

/// retained(d) = Σ self sizes of reachable nodes dominated by d.
fn reference_retained(sizes: &[u32], dom: &[u64], reach: u64, d: usize) -> u64 {
    (0..sizes.len())
        .filter(|&v| reach & (1 << v) != 0 && dom[v] & (1 << d) != 0)
        .map(|v| sizes[v] as u64)
        .sum()
}

/// Reference dominators for `preds`, with both naive algorithms cross-checked.
fn reference(preds: &[Vec<usize>], root: usize) -> (u64, Vec<u64>) {
    let (reach, dom) = dataflow_dominators(preds, root);
    let dom2 = deletion_dominators(preds, reach, root);
    assert_eq!(dom, dom2, "the two naive references disagree (test bug)");
    (reach, dom)
}

fn describe(g: &Graph) -> String {
    let mut s = format!("  root {}\n", g.root);
    for (v, es) in g.edges.iter().enumerate() {
        let list: Vec<String> = es
            .iter()
            .map(|&(k, t)| {
                let kind = [
                    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
                ][k as usize];
                format!("{kind}->{t}")
            })
            .collect();
        writeln!(s, "  {v} (size {}): [{}]", g.sizes[v], list.join(", ")).unwrap();
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn essential_kind() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => Just(PROPERTY),
        3 => Just(ELEMENT),
        1 => Just(CONTEXT),
        1 => Just(INTERNAL),
        1 => Just(HIDDEN),
    ]
}

fn any_kind() -> impl Strategy<Value = u8> {
    prop_oneof![3 => essential_kind(), 1 => Just(WEAK)]
}

/// A random edge list entry: (from, to, kind, sort key within the owner's edges).
type RawEdge = (usize, usize, u8, u16);

/// Parent (in "tree space", before relabelling) of tree node i ≥ 1: mostly i − 1, giving long
/// chains, otherwise any earlier node.
fn tree_parents(k: usize) -> impl Strategy<Value = Vec<usize>> {
    (1..k)
        .map(|i| prop_oneof![2 => Just(i - 1), 1 => 0..i].boxed())
        .collect::<Vec<_>>()
}

fn extra_edges(n: usize, max: usize) -> impl Strategy<Value = Vec<RawEdge>> {
    prop::collection::vec((0..n, 0..n, any_kind(), any::<u16>()), 0..=max)
}

/// Assembles a graph: relabels tree-space node v as `perm[v]` (tree-space 0 is the root), then
/// orders each node's edges by their sort keys.
fn assemble(sizes: Vec<u32>, perm: &[usize], raw: Vec<RawEdge>) -> Graph {
    let n = sizes.len();
    let relabel = |v: usize| perm[v];
    let mut keyed: Vec<Vec<(u16, u8, u32)>> = vec![Vec::new(); n];
    for (from, to, kind, key) in raw {
        keyed[relabel(from)].push((key, kind, relabel(to) as u32));
    }
    let edges = keyed
        .into_iter()
        .map(|mut es| {
            es.sort_by_key(|e| e.0); // stable: equal keys keep insertion order
            es.into_iter().map(|(_, k, t)| (k, t)).collect()
        })
        .collect();
    Graph {
        root: perm[0],
        sizes,
        edges,
    }
}

/// A relabelling of tree-space nodes to ordinals. Half the time the root keeps ordinal 0 (as
/// in every V8 snapshot); otherwise it sits anywhere (`root_index` ≠ 0).
fn permutation(n: usize) -> impl Strategy<Value = Vec<usize>> {
    (
        Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        any::<bool>(),
    )
        .prop_map(|(mut p, zero)| {
            if zero {
                let j = p.iter().position(|&x| x == 0).unwrap();
                p.swap(0, j);
            }
            p
        })
}

/// Every node reachable from the root over essential edges: a random spanning tree first, then
/// random extra edges (weak ones, self loops, duplicates, back edges making cycles, edges to
/// the root).
fn reachable_graph() -> impl Strategy<Value = Graph> {
    (1usize..60)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(0u32..1000, n),
                tree_parents(n),
                prop::collection::vec((essential_kind(), any::<u16>()), n - 1),
                extra_edges(n, 3 * n),
                prop::collection::vec((any::<Index>(), any::<u16>()), 0..6),
                prop::collection::vec((0..n, any_kind(), any::<u16>()), 0..4),
                permutation(n),
            )
        })
        .prop_map(|(sizes, parents, tree_kinds, mut raw, dups, loops, perm)| {
            for (i, (&p, &(kind, key))) in parents.iter().zip(&tree_kinds).enumerate() {
                raw.push((p, i + 1, kind, key));
            }
            for (v, kind, key) in loops {
                raw.push((v, v, kind, key));
            }
            if !raw.is_empty() {
                for (ix, key) in dups {
                    let e = raw[ix.index(raw.len())];
                    raw.push((e.0, e.1, e.2, key));
                }
            }
            assemble(sizes, &perm, raw)
        })
}

/// Graphs with parts unreachable from the root: tree-space nodes 0..k form the reachable
/// spanning tree; nodes k..n get random edges among themselves and into the reachable part,
/// and some are fully connected cliques. Essential edges from the reachable part into k..n are
/// mostly turned weak, so those nodes stay unreachable or are reachable only through weak edges.
fn unreachable_graph() -> impl Strategy<Value = Graph> {
    (1usize..60)
        .prop_flat_map(|n| (Just(n), 1..=n))
        .prop_flat_map(|(n, k)| {
            (
                Just(k),
                prop::collection::vec(0u32..1000, n),
                tree_parents(k),
                prop::collection::vec((essential_kind(), any::<u16>()), k - 1),
                prop::collection::vec(
                    (
                        (0..n, 0..n, any_kind(), any::<u16>()),
                        prop::bool::weighted(0.15),
                    ),
                    0..=3 * n,
                ),
                // Edges out of the unreachable part.
                prop::collection::vec((k..=n, 0..n, any_kind(), any::<u16>()), 0..=n),
                // Cliques: (first, len) in tree space, clamped to k..n.
                prop::collection::vec((k..=n, 1usize..6, essential_kind()), 0..3),
                permutation(n),
            )
        })
        .prop_map(
            |(k, sizes, parents, tree_kinds, extras, outs, cliques, perm)| {
                let n = sizes.len();
                let mut raw: Vec<RawEdge> = Vec::new();
                for (i, (&p, &(kind, key))) in parents.iter().zip(&tree_kinds).enumerate() {
                    raw.push((p, i + 1, kind, key));
                }
                for ((from, to, mut kind, key), keep) in extras {
                    if from < k && to >= k && kind != WEAK && !keep {
                        kind = WEAK;
                    }
                    raw.push((from, to, kind, key));
                }
                for (from, to, kind, key) in outs {
                    if from < n {
                        raw.push((from, to, kind, key));
                    }
                }
                for (start, len, kind) in cliques {
                    let end = (start + len).min(n);
                    for a in start..end {
                        for b in start..end {
                            if a != b {
                                raw.push((a, b, kind, (a * 64 + b) as u16));
                            }
                        }
                    }
                }
                assemble(sizes, &perm, raw)
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Checks.

fn check_basic(g: &Graph, a: &Analysis) -> Result<(), TestCaseError> {
    let n = g.n();
    prop_assert_eq!(a.idom.len(), n);
    prop_assert_eq!(a.retained.len(), n);
    prop_assert_eq!(a.graph.root as usize, g.root);
    prop_assert_eq!(a.idom[g.root] as usize, g.root, "root's idom is itself");
    for v in 0..n {
        prop_assert!(
            (a.idom[v] as usize) < n,
            "idom[{}] = {} out of range",
            v,
            a.idom[v]
        );
        // Self sizes must not have been re-attributed (all nodes are objects).
        prop_assert_eq!(a.graph.raw.nodes.self_size[v], g.sizes[v]);
    }
    prop_assert_eq!(
        a.retained[g.root],
        g.total(),
        "root retained != total self size\n{}",
        describe(g)
    );
    Ok(())
}

fn check_reachable(g: &Graph) -> Result<(), TestCaseError> {
    let a = g.analyze();
    check_basic(g, &a)?;
    let preds = g.essential_preds();
    let (reach, dom) = reference(&preds, g.root);
    prop_assert_eq!(
        reach.count_ones() as usize,
        g.n(),
        "generator: not all reachable"
    );
    for v in 0..g.n() {
        let want = idom_of(&dom, v, g.root) as u32;
        prop_assert_eq!(a.idom[v], want, "idom of node {}\n{}", v, describe(g));
    }
    for v in 0..g.n() {
        let want = reference_retained(&g.sizes, &dom, reach, v);
        prop_assert_eq!(
            a.retained[v],
            want,
            "retained of node {}\n{}",
            v,
            describe(g)
        );
    }
    Ok(())
}

fn check_unreachable(g: &Graph) -> Result<(), TestCaseError> {
    let a = g.analyze();
    check_basic(g, &a)?;
    let n = g.n();
    let preds = g.augmented_preds();
    let (reach, dom) = reference(&preds, g.root);
    for v in 0..n {
        if reach & (1 << v) != 0 {
            let want = idom_of(&dom, v, g.root) as u32;
            prop_assert_eq!(a.idom[v], want, "idom of node {}\n{}", v, describe(g));
        } else {
            // Retained only by cycles of unreachable nodes: DFS parent is the root, and the
            // procedure never drains their semidominator buckets, so they end under the root.
            prop_assert_eq!(
                a.idom[v] as usize,
                g.root,
                "idom of root-parented cycle node {}\n{}",
                v,
                describe(g)
            );
        }
    }
    // Nodes reachable in the augmented graph: reference retained size (cycle-only nodes hang
    // directly off the root, so they contribute to no other node).
    for v in 0..n {
        if reach & (1 << v) != 0 {
            let mut want = reference_retained(&g.sizes, &dom, reach, v);
            if v == g.root {
                want = g.total();
            }
            prop_assert_eq!(
                a.retained[v],
                want,
                "retained of node {}\n{}",
                v,
                describe(g)
            );
        } else {
            prop_assert_eq!(
                a.retained[v],
                g.sizes[v] as u64,
                "retained of cycle node {}",
                v
            );
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 20_000,
        // Integration tests have no lib.rs for proptest to place a regressions file beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn dominators_match_naive_on_reachable_graphs(g in reachable_graph()) {
        check_reachable(&g)?;
    }

    #[test]
    fn dominators_with_unreachable_parts(g in unreachable_graph()) {
        check_unreachable(&g)?;
    }
}

/// What the generators produce (run with `--ignored --nocapture` when changing them).
#[test]
#[ignore]
fn generator_coverage() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut weak, mut selfl, mut dup, mut nontrivial, mut deep) = (0, 0, 0, 0, 0);
    let samples = 1000;
    for _ in 0..samples {
        let g = reachable_graph().new_tree(&mut runner).unwrap().current();
        let (_, dom) = reference(&g.essential_preds(), g.root);
        let mut has_dup = false;
        for (v, es) in g.edges.iter().enumerate() {
            let mut seen = std::collections::HashSet::new();
            has_dup |= es.iter().any(|&(_, t)| !seen.insert(t));
            selfl += es.iter().any(|&(_, t)| t as usize == v) as usize;
        }
        dup += has_dup as usize;
        weak += g.edges.iter().flatten().any(|e| e.0 == WEAK) as usize;
        // idom different from the root and the max depth of the dominator tree.
        nontrivial += (0..g.n()).any(|v| idom_of(&dom, v, g.root) != g.root) as usize;
        deep += (dom.iter().map(|d| d.count_ones()).max().unwrap() >= 8) as usize;
    }
    eprintln!("reachable: of {samples}: weak {weak}, self-loop edges {selfl}, dup {dup}, idom≠root {nontrivial}, dom depth≥8 {deep}");
    let (mut unreach, mut orphan_in, mut cyc, mut weak_only) = (0, 0, 0, 0);
    for _ in 0..samples {
        let g = unreachable_graph().new_tree(&mut runner).unwrap().current();
        let ess = g.essential_preds();
        let (r0, _) = dataflow_dominators(&ess, g.root);
        let aug = g.augmented_preds();
        let (r1, _) = dataflow_dominators(&aug, g.root);
        let all = if g.n() == 64 {
            u64::MAX
        } else {
            (1u64 << g.n()) - 1
        };
        unreach += (r0 != all) as usize;
        // An orphan-reachable node with an essential edge into the root-reachable part.
        orphan_in += (0..g.n()).any(|v| {
            r0 & (1 << v) == 0
                && r1 & (1 << v) != 0
                && g.edges[v]
                    .iter()
                    .any(|&(k, t)| is_essential(k, v, t as usize) && r0 & (1 << t) != 0)
        }) as usize;
        cyc += (r1 != all) as usize;
        weak_only += (0..g.n()).any(|v| {
            r0 & (1 << v) == 0
                && (0..g.n()).any(|u| {
                    r0 & (1 << u) != 0
                        && g.edges[u]
                            .iter()
                            .any(|&(k, t)| k == WEAK && t as usize == v)
                })
        }) as usize;
    }
    eprintln!("unreachable: of {samples}: some unreachable {unreach}, orphan part points into reachable part {orphan_in}, root-parented cycles {cyc}, weakly-held unreachable {weak_only}");
}

// ---------------------------------------------------------------------------------------------
// Hand-written cases.

fn graph(sizes: &[u32], edges: &[(usize, u8, usize)]) -> Graph {
    let mut es = vec![Vec::new(); sizes.len()];
    for &(f, k, t) in edges {
        es[f].push((k, t as u32));
    }
    Graph {
        root: 0,
        sizes: sizes.to_vec(),
        edges: es,
    }
}

#[test]
fn diamond_and_weak_edges() {
    // 0 -> 1 -> {2, 3} -> 4; 0 -weak-> 4; 4 -> 4 (self).
    let g = graph(
        &[0, 10, 20, 30, 40],
        &[
            (0, PROPERTY, 1),
            (0, WEAK, 4),
            (1, ELEMENT, 2),
            (1, ELEMENT, 3),
            (2, PROPERTY, 4),
            (3, PROPERTY, 4),
            (4, PROPERTY, 4),
        ],
    );
    let a = g.analyze();
    assert_eq!(a.idom, vec![0, 0, 1, 1, 1]);
    assert_eq!(a.retained, vec![100, 100, 20, 30, 40]);
}

#[test]
fn orphan_with_edge_into_reachable_part() {
    // 0 -> 1 -> 2; orphan 3 -> 2 gives 2 a second path from the (virtual) root.
    let g = graph(
        &[0, 1, 2, 4],
        &[(0, PROPERTY, 1), (1, PROPERTY, 2), (3, PROPERTY, 2)],
    );
    let a = g.analyze();
    assert_eq!(a.idom, vec![0, 0, 0, 0]);
    assert_eq!(a.retained, vec![7, 1, 2, 4]);
}

#[test]
fn clique_retained_only_by_itself() {
    // 0 -> 1; 2 <-> 3 (unreachable, no orphan); 1 -weak-> 2.
    let g = graph(
        &[5, 1, 2, 4],
        &[
            (0, PROPERTY, 1),
            (1, WEAK, 2),
            (2, PROPERTY, 3),
            (3, PROPERTY, 2),
        ],
    );
    let a = g.analyze();
    assert_eq!(a.idom, vec![0, 0, 0, 0]);
    assert_eq!(a.retained, vec![12, 1, 2, 4]);
}

#[test]
fn clique_with_root_not_at_ordinal_zero() {
    // root_index = 2 * 7: 2 -> 3; 0 <-> 1 retained only by each other.
    let mut g = graph(
        &[1, 2, 0, 4],
        &[(0, PROPERTY, 1), (1, PROPERTY, 0), (2, PROPERTY, 3)],
    );
    g.root = 2;
    let a = g.analyze();
    assert_eq!(a.graph.root, 2);
    assert_eq!(a.idom, vec![2, 2, 2, 2]);
    assert_eq!(a.retained, vec![1, 2, 7, 4]);
}

// ---------------------------------------------------------------------------------------------
// Deep chain and wide fan-out.

/// Builds a snapshot whose node `i` has self size `size(i)` and edges `edges_of(i)`, streaming
/// the JSON text straight into one buffer.
fn big_snapshot(
    n: usize,
    size: impl Fn(usize) -> u32,
    edges_of: impl Fn(usize, &mut Vec<(u8, u32)>),
) -> heapscope_format::RawSnapshot {
    let mut nodes = String::with_capacity(n * 24);
    let mut edges = String::with_capacity(n * 16);
    let mut buf = Vec::new();
    let mut edge_count = 0usize;
    for i in 0..n {
        buf.clear();
        edges_of(i, &mut buf);
        let (ty, name) = if i == 0 { (SYNTHETIC, 0) } else { (OBJECT, 1) };
        if i > 0 {
            nodes.push(',');
        }
        write!(
            nodes,
            "{ty},{name},{},{},{},0,0",
            2 * i + 1,
            size(i),
            buf.len()
        )
        .unwrap();
        for (k, &(kind, to)) in buf.iter().enumerate() {
            if edge_count > 0 {
                edges.push(',');
            }
            let name = if kind == ELEMENT { k as u32 } else { 2 };
            write!(edges, "{kind},{name},{}", to as u64 * 7).unwrap();
            edge_count += 1;
        }
    }
    let json = snapshot_json(n, edge_count, 0, &nodes, &edges);
    drop((nodes, edges));
    heapscope_format::load_bytes(json.as_bytes()).expect("snapshot loads")
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    eprintln!("{what}: {:.2?}", t.elapsed());
    r
}

#[test]
fn deep_chain_two_million() {
    const N: usize = 2_000_000;
    let size = |i: usize| if i == 0 { 0 } else { (i % 7) as u32 + 1 };
    let raw = timed("chain: build+load", || {
        big_snapshot(N, size, |i, out| {
            if i + 1 < N {
                out.push((PROPERTY, (i + 1) as u32));
            }
            // A weak back edge to the root does not change anything.
            if i % 1000 == 999 {
                out.push((WEAK, 0));
            }
        })
    });
    let a = timed("chain: analysis", || Analysis::new(raw, &|_| {}));
    assert_eq!(a.idom[0], 0);
    let mut suffix = 0u64;
    for i in (0..N).rev() {
        suffix += size(i) as u64;
        if i > 0 {
            assert_eq!(a.idom[i], (i - 1) as u32, "idom of chain node {i}");
        }
        assert_eq!(a.retained[i], suffix, "retained of chain node {i}");
    }
}

#[test]
fn deep_chain_reverse_ordinals() {
    // root -> N-1 -> N-2 -> … -> 1: DFS order opposite to ordinal order.
    const N: usize = 2_000_000;
    let size = |i: usize| (i % 5) as u32 + 1;
    let raw = big_snapshot(N, size, |i, out| match i {
        0 => out.push((ELEMENT, (N - 1) as u32)),
        1 => {}
        _ => out.push((ELEMENT, (i - 1) as u32)),
    });
    let a = timed("reverse chain: analysis", || Analysis::new(raw, &|_| {}));
    assert_eq!(a.idom[N - 1], 0);
    let mut prefix = 0u64;
    for i in 1..N {
        prefix += size(i) as u64;
        if i < N - 1 {
            assert_eq!(a.idom[i], (i + 1) as u32, "idom of node {i}");
        }
        assert_eq!(a.retained[i], prefix, "retained of node {i}");
    }
    assert_eq!(a.retained[0], prefix + size(0) as u64);
}

#[test]
fn wide_fan_out_one_million() {
    const N: usize = 1_000_001;
    let size = |i: usize| (i % 13) as u32;
    let raw = timed("fan-out: build+load", || {
        big_snapshot(N, size, |i, out| {
            if i == 0 {
                out.extend((1..N as u32).map(|c| (ELEMENT, c)));
            }
        })
    });
    let a = timed("fan-out: analysis", || Analysis::new(raw, &|_| {}));
    let total: u64 = (0..N).map(|i| size(i) as u64).sum();
    assert_eq!(a.retained[0], total);
    for i in 1..N {
        assert_eq!(a.idom[i], 0);
        assert_eq!(a.retained[i], size(i) as u64);
    }
}
