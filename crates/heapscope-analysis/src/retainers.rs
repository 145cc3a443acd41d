//! Retainers: the reverse of the edge lists, by counting sort (`buildRetainers`).

use crate::graph::HeapGraph;

/// `first[n]..first[n + 1]` index `edges`, the edge ordinals that point at node `n`, in the
/// order DevTools lists them (reverse order of the retaining edges' positions).
pub struct Retainers {
    pub first: Vec<u32>,
    pub edges: Vec<u32>,
}

/// Offsets only: enough for retainer counts, without the edge list's memory.
pub fn retainer_offsets(g: &HeapGraph) -> Vec<u32> {
    let n = g.node_count();
    let mut first = vec![0u32; n + 1];
    for &t in &g.raw.edges.to_node {
        first[t as usize] += 1;
    }
    let mut sum = 0u32;
    for slot in first.iter_mut() {
        let c = *slot;
        *slot = sum;
        sum += c;
    }
    first
}

impl Retainers {
    pub fn build(g: &HeapGraph, first: &[u32]) -> Retainers {
        let mut fill: Vec<u32> = first[1..].to_vec();
        let mut edges = vec![0u32; g.edge_count()];
        for e in 0..g.edge_count() as u32 {
            let t = g.to_node(e) as usize;
            fill[t] -= 1;
            edges[fill[t] as usize] = e;
        }
        Retainers {
            first: first.to_vec(),
            edges,
        }
    }

    pub fn of(&self, n: u32) -> &[u32] {
        &self.edges[self.first[n as usize] as usize..self.first[n as usize + 1] as usize]
    }
}
