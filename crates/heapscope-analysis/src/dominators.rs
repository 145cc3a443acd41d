//! Immediate dominators and retained sizes by Lengauer–Tarjan, iterative with explicit stacks
//! (JS heaps have million-long chains), following DevTools' `calculateDominatorsAndRetainedSizes`
//! step for step so that nodes unreachable from the root get the same answer:
//!
//! 1. DFS from the root over essential edges;
//! 2. then a DFS from each node whose retainers are all non-essential ("orphans"), in ordinal
//!    order, as if the root pointed to it;
//! 3. any node still unvisited (a clique retained only by itself) is numbered on its own with
//!    the root as parent.
//!
//! For nodes reached in step 1 or 2 the result is the unique immediate dominator; for step 3
//! nodes it is whatever this exact procedure yields, which is what DevTools shows.
//!
//! After the DFS everything runs on DFS numbers rather than node ordinals: the main loop walks
//! numbers downwards, so the per-vertex arrays are read nearly sequentially. This relabelling
//! changes no comparison, so the result is DevTools' to the bit.

use crate::bits::BitVec;
use crate::graph::HeapGraph;

/// Immediate dominators by node ordinal (the root dominates itself) and retained sizes.
pub struct Dominators {
    pub idom: Vec<u32>,
    pub retained: Vec<u64>,
}

/// DFS numbering over essential edges, steps 1–3 above. Numbers start at 1.
struct Numbering {
    /// `vertex[k]`: ordinal of the node numbered `k` (index 0 unused).
    vertex: Vec<u32>,
    /// `number[o]`: DFS number of ordinal `o`.
    number: Vec<u32>,
    /// `parent[k]`: DFS number of the DFS-tree parent of number `k`.
    parent: Vec<u32>,
}

fn essential_in_degrees(g: &HeapGraph, essential: &BitVec) -> Vec<u32> {
    let mut deg = vec![0u32; g.node_count()];
    for e in 0..g.edge_count() as u32 {
        if essential.get(e) {
            deg[g.to_node(e) as usize] += 1;
        }
    }
    deg
}

fn number_nodes(g: &HeapGraph, essential: &BitVec, in_degree: &[u32]) -> Numbering {
    let node_count = g.node_count();
    const UNSEEN: u32 = 0;
    let mut number = vec![UNSEEN; node_count];
    let mut vertex = vec![0u32; node_count + 1];
    let mut parent = vec![0u32; node_count + 1];
    let mut next_edge = vec![0u32; node_count];
    let mut n = 0u32;
    let first_edge = &g.first_edge;
    let to_node = &g.raw.edges.to_node;
    // Iterative DFS: `v` walks down to the first unvisited successor, back up to its parent
    // when none is left. `parent_of` holds ordinals during the walk.
    let mut parent_ordinal = vec![u32::MAX; 0];
    let mut dfs =
        |start: u32, start_parent: u32, number: &mut [u32], parent: &mut [u32], n: &mut u32| {
            parent_ordinal.clear();
            let mut v = start;
            next_edge[v as usize] = first_edge[v as usize];
            *n += 1;
            number[v as usize] = *n;
            vertex[*n as usize] = v;
            parent[*n as usize] = start_parent;
            loop {
                let end = first_edge[v as usize + 1];
                let mut e = next_edge[v as usize];
                let mut descended = false;
                while e < end {
                    if essential.get(e) {
                        let w = to_node[e as usize];
                        if number[w as usize] == UNSEEN {
                            next_edge[v as usize] = e;
                            parent_ordinal.push(v);
                            *n += 1;
                            number[w as usize] = *n;
                            vertex[*n as usize] = w;
                            parent[*n as usize] = number[v as usize];
                            next_edge[w as usize] = first_edge[w as usize];
                            v = w;
                            descended = true;
                            break;
                        }
                    }
                    e += 1;
                }
                if descended {
                    continue;
                }
                next_edge[v as usize] = end;
                match parent_ordinal.pop() {
                    Some(p) => v = p,
                    None => break,
                }
            }
        };
    let root = g.root;
    dfs(root, 0, &mut number, &mut parent, &mut n);
    let root_number = number[root as usize];
    if (n as usize) < node_count {
        for v in 0..node_count as u32 {
            if number[v as usize] == UNSEEN && in_degree[v as usize] == 0 {
                dfs(v, root_number, &mut number, &mut parent, &mut n);
            }
        }
    }
    if (n as usize) < node_count {
        for v in 0..node_count as u32 {
            if number[v as usize] == UNSEEN {
                n += 1;
                number[v as usize] = n;
                vertex[n as usize] = v;
                parent[n as usize] = root_number;
            }
        }
    }
    Numbering {
        vertex,
        number,
        parent,
    }
}

/// Lengauer–Tarjan (simple eval/link with path compression, as DevTools) on DFS numbers.
pub fn compute(g: &HeapGraph, essential: &BitVec) -> Dominators {
    let node_count = g.node_count();
    let in_degree = essential_in_degrees(g, essential);
    let Numbering {
        vertex,
        number,
        parent,
    } = number_nodes(g, essential, &in_degree);
    let len = node_count + 1;

    // Essential predecessors as DFS numbers, CSR by DFS number.
    let mut pred_first = vec![0u32; len + 1];
    for k in 1..len {
        pred_first[k + 1] = pred_first[k] + in_degree[vertex[k] as usize];
    }
    drop(in_degree);
    let mut fill: Vec<u32> = pred_first.clone();
    let mut preds = vec![0u32; pred_first[len] as usize];
    for src in 0..node_count as u32 {
        let src_number = number[src as usize];
        for e in g.edges(src) {
            if essential.get(e) {
                let t = number[g.to_node(e) as usize] as usize;
                preds[fill[t] as usize] = src_number;
                fill[t] += 1;
            }
        }
    }
    drop(fill);
    drop(number);

    // Per vertex, interleaved for locality: [ancestor, label, semi[label]]. Labels always
    // name processed vertices (or the vertex itself before it is linked), whose semi is
    // final, so caching semi[label] beside the label is exact and saves an indirection.
    let mut semi: Vec<u32> = (0..len as u32).collect();
    let mut forest: Vec<[u32; 3]> = (0..len as u32).map(|k| [0, k, k]).collect();
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    let mut dom = vec![0u32; len];
    let mut stack: Vec<u32> = Vec::new();
    let r = 1u32;
    // eval(v): the semi-minimal label on v's forest path, with path compression. Returns
    // (label, semi[label]).
    let mut eval = |v: u32, forest: &mut [[u32; 3]]| -> (u32, u32) {
        let fv = forest[v as usize];
        if fv[0] == 0 {
            return (fv[1], fv[2]);
        }
        let mut x = v;
        while forest[forest[x as usize][0] as usize][0] != 0 {
            stack.push(x);
            x = forest[x as usize][0];
        }
        while let Some(y) = stack.pop() {
            let fy = forest[y as usize];
            let fa = forest[fy[0] as usize];
            let mut ny = [fa[0], fy[1], fy[2]];
            if fa[2] < fy[2] {
                ny[1] = fa[1];
                ny[2] = fa[2];
            }
            forest[y as usize] = ny;
        }
        let fv = forest[v as usize];
        (fv[1], fv[2])
    };
    for w in (2..len as u32).rev() {
        let ps = &preds[pred_first[w as usize] as usize..pred_first[w as usize + 1] as usize];
        let mut sw = if ps.is_empty() {
            // Orphans hang off the root; semi[r] is below every other semi.
            semi[r as usize]
        } else {
            semi[w as usize]
        };
        for &v in ps {
            let (_, su) = eval(v, &mut forest);
            if su < sw {
                sw = su;
            }
        }
        semi[w as usize] = sw;
        let b = sw as usize;
        bucket_next[w as usize] = bucket_head[b];
        bucket_head[b] = w;
        let p = parent[w as usize];
        // link(p, w); w's label is still w itself, so its cached semi is semi[w].
        forest[w as usize] = [p, w, sw];
        let mut v = std::mem::take(&mut bucket_head[p as usize]);
        while v != 0 {
            let (u, su) = eval(v, &mut forest);
            dom[v as usize] = if su < semi[v as usize] { u } else { p };
            v = bucket_next[v as usize];
        }
    }
    drop((preds, pred_first, forest, bucket_head, bucket_next, parent));
    // As in DevTools, slot 0 holds the root so that vertices whose dominator was never set
    // (step-3 cliques) resolve to the root in the fix-up below.
    dom[0] = r;
    dom[r as usize] = r;
    for w in 2..len {
        if dom[w] != semi[w] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    drop(semi);

    // Retained sizes, summed from the highest DFS number down like DevTools (this order
    // matters only for step-3 nodes, whose "dominator" may carry a higher number).
    let mut retained_by_number: Vec<u64> = vec![0; len];
    for k in 1..len {
        retained_by_number[k] = g.raw.nodes.self_size[vertex[k] as usize] as u64;
    }
    for k in (2..len).rev() {
        retained_by_number[dom[k] as usize] += retained_by_number[k];
    }
    let mut idom = vec![0u32; node_count];
    let mut retained = vec![0u64; node_count];
    for k in 1..len {
        let o = vertex[k] as usize;
        idom[o] = vertex[dom[k] as usize];
        retained[o] = retained_by_number[k];
    }
    Dominators { idom, retained }
}

/// The dominator tree as a CSR (`buildDominatedNodes`): children of each node.
pub struct DominatorTree {
    pub first: Vec<u32>,
    pub children: Vec<u32>,
}

impl DominatorTree {
    pub fn build(root: u32, idom: &[u32]) -> DominatorTree {
        let n = idom.len();
        let mut first = vec![0u32; n + 1];
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                first[d as usize] += 1;
            }
        }
        let mut sum = 0u32;
        for slot in first.iter_mut() {
            let c = *slot;
            *slot = sum;
            sum += c;
        }
        let mut fill = first.clone();
        let mut children = vec![0u32; sum as usize];
        // DevTools fills each slice from its end, so children come in reverse ordinal order.
        for v in (0..n as u32).rev() {
            if v != root {
                let d = idom[v as usize] as usize;
                children[fill[d] as usize] = v;
                fill[d] += 1;
            }
        }
        DominatorTree { first, children }
    }

    #[inline]
    pub fn children(&self, v: u32) -> &[u32] {
        &self.children[self.first[v as usize] as usize..self.first[v as usize + 1] as usize]
    }
}
