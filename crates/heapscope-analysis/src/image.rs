//! An analysis taken apart into the arrays that are costly to compute, and put back together.
//!
//! Persisting an analysis (the store's sidecar files) saves these parts; reopening rebuilds
//! the cheap rest — retainer offsets and the dominator tree, one counting pass each — and
//! checks every index first, so a damaged file is an error, not a panic in some later view.
//! This module does no I/O: the store crate owns the file format.

use heapscope_format::{RawSnapshot, SourceLocation};

use crate::{retainers, Analysis, ClassAggregate, DominatorTree, HeapGraph, Statistics};

/// Everything [`Analysis::from_parts`] needs. `raw` is the snapshot as the analysis left it:
/// shallow sizes re-attributed, derived class names appended to its strings, its
/// `edge_count` column and `locations` moved out (into `first_edge` and `locations`).
pub struct AnalysisParts {
    pub raw: RawSnapshot,
    pub first_edge: Vec<u32>,
    pub detachedness: Vec<u8>,
    pub idom: Vec<u32>,
    pub retained: Vec<u64>,
    pub distance: Vec<i32>,
    pub class_index: Vec<u32>,
    pub classes: Vec<ClassAggregate>,
    pub statistics: Statistics,
    /// Sorted by node.
    pub locations: Vec<SourceLocation>,
}

impl Analysis {
    /// The source locations, sorted by node (for persisting).
    pub fn locations(&self) -> &[SourceLocation] {
        &self.locations
    }

    /// Reassembles an analysis from its persisted parts. Fails with what is inconsistent
    /// (array, index, expected vs found) rather than trusting the input.
    pub fn from_parts(p: AnalysisParts) -> Result<Analysis, String> {
        check_parts(&p)?;
        let graph = HeapGraph {
            root: p.raw.header.root_ordinal(),
            raw: p.raw,
            first_edge: p.first_edge,
        };
        let first_retainer = retainers::retainer_offsets(&graph);
        let dominator_tree = DominatorTree::build(graph.root, &p.idom);
        Ok(Analysis {
            graph,
            first_retainer,
            detachedness: p.detachedness,
            idom: p.idom,
            retained: p.retained,
            distance: p.distance,
            class_index: p.class_index,
            dominator_tree,
            classes: p.classes,
            statistics: p.statistics,
            locations: p.locations,
            parallel_timings: Vec::new(),
        })
    }
}

fn check_len(what: &str, found: usize, expected: usize) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("`{what}` has {found} entries, expected {expected}"))
    }
}

/// Every index in range and every per-node array as long as the node count: what the views
/// index without checking.
fn check_parts(p: &AnalysisParts) -> Result<(), String> {
    let raw = &p.raw;
    let n = raw.nodes.id.len();
    let e = raw.edges.to_node.len();
    for (what, len) in [
        ("nodes.kind", raw.nodes.kind.len()),
        ("nodes.name", raw.nodes.name.len()),
        ("nodes.self_size", raw.nodes.self_size.len()),
        ("detachedness", p.detachedness.len()),
        ("idom", p.idom.len()),
        ("retained", p.retained.len()),
        ("distance", p.distance.len()),
        ("class_index", p.class_index.len()),
    ] {
        check_len(what, len, n)?;
    }
    for (what, column) in [
        ("nodes.trace_node_id", raw.nodes.trace_node_id.len()),
        ("nodes.detachedness", raw.nodes.detachedness.len()),
    ] {
        if column != 0 {
            check_len(what, column, n)?;
        }
    }
    check_len("edges.kind", raw.edges.kind.len(), e)?;
    check_len("edges.name_or_index", raw.edges.name_or_index.len(), e)?;
    check_len("first_edge", p.first_edge.len(), n + 1)?;
    if p.first_edge.first() != Some(&0) || p.first_edge.last() != Some(&(e as u32)) {
        return Err(format!(
            "`first_edge` must run from 0 to the edge count {e}"
        ));
    }
    if let Some(i) = p.first_edge.windows(2).position(|w| w[0] > w[1]) {
        return Err(format!("`first_edge` decreases at node ordinal {i}"));
    }
    let strings = raw.strings.len();
    let out_of_range = |what: &str, values: &[u32], limit: usize| -> Result<(), String> {
        match values.iter().position(|&v| v as usize >= limit) {
            Some(i) => Err(format!(
                "`{what}`[{i}] is {}, expected below {limit}",
                values[i]
            )),
            None => Ok(()),
        }
    };
    out_of_range("edges.to_node", &raw.edges.to_node, n)?;
    out_of_range("idom", &p.idom, n)?;
    out_of_range("nodes.name", &raw.nodes.name, strings)?;
    out_of_range("class_index", &p.class_index, strings)?;
    if n == 0 || raw.header.root_ordinal() as usize >= n {
        return Err(format!(
            "the root ordinal {} is outside the {n} nodes",
            raw.header.root_ordinal()
        ));
    }
    if let Some(c) = p.classes.iter().find(|c| c.first_node as usize >= n) {
        return Err(format!(
            "class `{}` names node ordinal {}, expected below {n}",
            c.name, c.first_node
        ));
    }
    if let Some(l) = p.locations.iter().find(|l| l.node as usize >= n) {
        return Err(format!(
            "a source location names node ordinal {}, expected below {n}",
            l.node
        ));
    }
    if p.locations.windows(2).any(|w| w[0].node > w[1].node) {
        return Err("`locations` is not sorted by node".into());
    }
    Ok(())
}
