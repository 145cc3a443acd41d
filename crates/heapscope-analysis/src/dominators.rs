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
//! For nodes reachable in step 1 or 2 the result is the unique immediate dominator; for step 3
//! nodes it is whatever this exact procedure yields, which is what DevTools shows.

use crate::bits::BitVec;
use crate::graph::HeapGraph;

/// Predecessors over essential edges, as a CSR indexed by node ordinal.
pub struct Predecessors {
    pub first: Vec<u32>,
    pub nodes: Vec<u32>,
}

impl Predecessors {
    pub fn build(g: &HeapGraph, essential: &BitVec) -> Predecessors {
        let n = g.node_count();
        let mut first = vec![0u32; n + 1];
        for e in 0..g.edge_count() as u32 {
            if essential.get(e) {
                first[g.to_node(e) as usize] += 1;
            }
        }
        let mut sum = 0u32;
        for slot in first.iter_mut() {
            let c = *slot;
            *slot = sum;
            sum += c;
        }
        let mut fill = first.clone();
        let mut nodes = vec![0u32; sum as usize];
        for src in 0..n as u32 {
            for e in g.edges(src) {
                if essential.get(e) {
                    let t = g.to_node(e) as usize;
                    nodes[fill[t] as usize] = src;
                    fill[t] += 1;
                }
            }
        }
        Predecessors { first, nodes }
    }

    #[inline]
    fn of(&self, n: usize) -> &[u32] {
        &self.nodes[self.first[n] as usize..self.first[n + 1] as usize]
    }
}

/// Immediate dominators by node ordinal (the root dominates itself) and the DFS numbering
/// order (node ordinals by DFS number) that [`retained_sizes`] sums in.
pub struct Dominators {
    pub idom: Vec<u32>,
    pub dfs_order: Vec<u32>,
}

pub fn immediate_dominators(g: &HeapGraph, essential: &BitVec, preds: &Predecessors) -> Dominators {
    let node_count = g.node_count();
    // 1-based vertex numbers as in the paper; 0 means "none".
    let len = node_count + 1;
    let mut parent = vec![0u32; len];
    let mut ancestor = vec![0u32; len];
    let mut vertex = vec![0u32; len];
    let mut label = vec![0u32; len];
    let mut semi = vec![0u32; len];
    let mut next_edge = vec![0u32; len];
    let mut n: u32 = 0;

    let first_edge = &g.first_edge;
    let to_node = &g.raw.edges.to_node;
    let mut dfs = |root: u32,
                   parent: &mut [u32],
                   vertex: &mut [u32],
                   label: &mut [u32],
                   semi: &mut [u32],
                   n: &mut u32| {
        next_edge[root as usize - 1] = first_edge[root as usize - 1];
        let mut v = root;
        while v != 0 {
            if semi[v as usize] == 0 {
                *n += 1;
                semi[v as usize] = *n;
                vertex[*n as usize] = v;
                label[v as usize] = v;
            }
            let mut v_next = parent[v as usize];
            let vo = v as usize - 1;
            let end = first_edge[vo + 1];
            while next_edge[vo] < end {
                let e = next_edge[vo];
                if essential.get(e) {
                    let wo = to_node[e as usize];
                    let w = wo + 1;
                    if semi[w as usize] == 0 {
                        parent[w as usize] = v;
                        next_edge[wo as usize] = first_edge[wo as usize];
                        v_next = w;
                        break;
                    }
                }
                next_edge[vo] += 1;
            }
            v = v_next;
        }
    };

    let r = g.root + 1;
    dfs(r, &mut parent, &mut vertex, &mut label, &mut semi, &mut n);
    if (n as usize) < node_count {
        for v in 1..=node_count as u32 {
            if semi[v as usize] == 0 && preds.of(v as usize - 1).is_empty() {
                parent[v as usize] = r;
                dfs(v, &mut parent, &mut vertex, &mut label, &mut semi, &mut n);
            }
        }
    }
    if (n as usize) < node_count {
        for v in 1..=node_count as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = r;
                n += 1;
                semi[v as usize] = n;
                vertex[n as usize] = v;
                label[v as usize] = v;
            }
        }
    }
    drop(next_edge);

    let mut stack: Vec<u32> = Vec::new();
    let mut evaluate = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        // compress(v), iteratively.
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            stack.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = stack.pop() {
            let a = ancestor[w as usize];
            if semi[label[a as usize] as usize] < semi[label[w as usize] as usize] {
                label[w as usize] = label[a as usize];
            }
            ancestor[w as usize] = ancestor[a as usize];
        }
        label[v as usize]
    };

    // Buckets as singly linked lists: each vertex sits in at most one bucket at a time.
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    let mut dom = vec![0u32; len];
    for i in (2..=n).rev() {
        let w = vertex[i as usize];
        let wo = w as usize - 1;
        let ps = preds.of(wo);
        if ps.is_empty() {
            // Orphans hang off the root; semi[r] is below every other semi.
            semi[w as usize] = semi[r as usize];
        }
        for &vo in ps {
            let u = evaluate(vo + 1, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        let b = vertex[semi[w as usize] as usize] as usize;
        bucket_next[w as usize] = bucket_head[b];
        bucket_head[b] = w;
        let p = parent[w as usize];
        ancestor[w as usize] = p;
        let mut v = std::mem::take(&mut bucket_head[p as usize]);
        while v != 0 {
            let u = evaluate(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                p
            };
            v = bucket_next[v as usize];
        }
    }
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=n {
        let w = vertex[i as usize] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    let idom = (0..node_count).map(|o| dom[o + 1] - 1).collect();
    drop(dom);
    // vertex[1..=n] in DFS-number order, as ordinals.
    let dfs_order = vertex[1..=n as usize].iter().map(|&v| v - 1).collect();
    Dominators { idom, dfs_order }
}

/// Retained sizes: each node's self size plus everything it dominates, summed in reverse DFS
/// number order exactly like DevTools (which matters only for step-3 nodes, whose computed
/// "dominator" may have been numbered after them). Exact in `u64`.
pub fn retained_sizes(g: &HeapGraph, doms: &Dominators) -> Vec<u64> {
    let mut retained: Vec<u64> = g.raw.nodes.self_size.iter().map(|&s| s as u64).collect();
    for &v in doms.dfs_order.iter().skip(1).rev() {
        let d = doms.idom[v as usize];
        retained[d as usize] += retained[v as usize];
    }
    retained
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
