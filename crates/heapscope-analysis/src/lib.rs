//! # heapscope-analysis
//!
//! Computes what Chrome DevTools' Memory panel computes for a heap snapshot — node for node:
//! retainers, essential edges, shallow-size re-attribution, dominators (Lengauer–Tarjan, with
//! DevTools' handling of unreachable nodes), retained sizes, distances, class names, the
//! Summary view's aggregates and the Statistics view. The reference is the heap snapshot
//! worker of `chrome-devtools-frontend@1.0.1705227`; each module names the DevTools function it
//! mirrors.
//!
//! Everything is flat arrays indexed by node ordinal (or edge ordinal). This crate does no I/O
//! and knows no JSON: it takes a [`heapscope_format::RawSnapshot`] and returns an [`Analysis`].

mod aggregates;
mod bits;
mod class_members;
pub mod compare;
mod csr;
mod detached;
mod distances;
pub mod dominators;
mod essential;
mod flags;
mod graph;
mod image;
pub mod leaks;
pub mod name_search;
pub mod names;
mod retainers;
mod shallow;
mod statistics;
pub mod views;
pub mod weakmap;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use heapscope_format::{RawSnapshot, SourceLocation};

pub use aggregates::ClassAggregate;
pub use class_members::ClassMembers;
pub use distances::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
pub use dominators::DominatorTree;
pub use graph::HeapGraph;
pub use image::AnalysisParts;
pub use retainers::Retainers;
pub use statistics::Statistics;

/// Phases reported to a progress callback, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    EdgeIndexes,
    DomState,
    Flags,
    EssentialEdges,
    ShallowSizes,
    DominatorsDistancesNames,
    Aggregates,
    Statistics,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::EdgeIndexes => "building edge indexes",
            Phase::DomState => "propagating detachedness",
            Phase::Flags => "marking page-owned objects",
            Phase::EssentialEdges => "finding essential edges",
            Phase::ShallowSizes => "re-attributing shallow sizes",
            Phase::DominatorsDistancesNames => "dominators, distances and class names",
            Phase::Aggregates => "class summary",
            Phase::Statistics => "statistics",
        }
    }
}

/// A fully analysed snapshot. All per-node vectors are indexed by node ordinal.
pub struct Analysis {
    pub graph: HeapGraph,
    /// Retainer offsets (`first_retainer[n]..first_retainer[n+1]` in [`Retainers`]).
    pub first_retainer: Vec<u32>,
    /// 0 unknown, 1 attached, 2 detached.
    pub detachedness: Vec<u8>,
    /// Immediate dominator ordinal; the root's is itself.
    pub idom: Vec<u32>,
    pub retained: Vec<u64>,
    /// Distance from the GC roots; [`NO_DISTANCE`] (-5) when unreachable.
    pub distance: Vec<i32>,
    /// Class name as a string index into `graph.raw.strings`.
    pub class_index: Vec<u32>,
    pub dominator_tree: DominatorTree,
    /// The Summary view, in first-seen order.
    pub classes: Vec<ClassAggregate>,
    pub statistics: Statistics,
    /// `(node, location)` sorted by node; the last entry wins for a node, as in DevTools.
    pub(crate) locations: Vec<SourceLocation>,
    /// Durations of the work run on two threads (for benchmarking; not shown to users).
    pub parallel_timings: Vec<(&'static str, Duration)>,
}

impl Analysis {
    /// Runs every phase. `progress` is told when each phase starts.
    pub fn new(raw: RawSnapshot, progress: &(dyn Fn(Phase) + Sync)) -> Analysis {
        progress(Phase::EdgeIndexes);
        let mut graph = HeapGraph::new(raw);
        progress(Phase::DomState);
        let detachedness = detached::propagate(&mut graph);
        progress(Phase::Flags);
        let mut eph = weakmap::EphemeronCache::new(&graph.raw.strings);
        // Essential edges need the page flags; shallow-size owners need neither: one core each.
        let (essential, owners) = rayon::join(
            || {
                let flags = flags::page_owned(&graph);
                progress(Phase::EssentialEdges);
                essential::essential_edges(&graph, &flags, &mut eph)
            },
            || shallow::owners(&graph),
        );
        progress(Phase::ShallowSizes);
        shallow::reattribute(&mut graph, owners);

        progress(Phase::DominatorsDistancesNames);
        let g = &graph;
        let timed: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());
        let ((idom_order, retained, tree), (first_retainer, distance, (class_index, fresh))) =
            rayon::join(
                || {
                    let t = Instant::now();
                    let doms = dominators::compute(g, &essential);
                    let lt = t.elapsed();
                    let tree = DominatorTree::build(g.root, &doms.idom);
                    timed.lock().expect("timings").extend([
                        ("dominators (Lengauer-Tarjan)", lt),
                        ("dominator tree", t.elapsed() - lt),
                    ]);
                    (doms.idom, doms.retained, tree)
                },
                || {
                    let t = Instant::now();
                    let first_retainer = retainers::retainer_offsets(g);
                    let distance = distances::distances(g, &mut eph);
                    let d = t.elapsed();
                    let c = names::class_indexes(g);
                    timed.lock().expect("timings").extend([
                        ("retainer counts + distances", d),
                        ("class names", t.elapsed() - d),
                    ]);
                    (first_retainer, distance, c)
                },
            );
        drop(essential);
        let parallel_timings = timed.into_inner().expect("timings");
        for s in fresh.list {
            graph.raw.strings.add(s);
        }

        let mut locations = std::mem::take(&mut graph.raw.locations);
        // Stable sort keeps file order among duplicates; lookups take the last one.
        locations.sort_by_key(|l| l.node);

        progress(Phase::Aggregates);
        let classes = aggregates::class_aggregates(&aggregates::AggregateInputs {
            graph: &graph,
            class_index: &class_index,
            distance: &distance,
            retained: &retained,
            tree: &tree,
            locations: &locations,
        });
        progress(Phase::Statistics);
        let statistics =
            statistics::statistics(&graph, retained[graph.root as usize], &first_retainer);
        Analysis {
            graph,
            first_retainer,
            detachedness,
            idom: idom_order,
            retained,
            distance,
            class_index,
            dominator_tree: tree,
            classes,
            statistics,
            locations,
            parallel_timings,
        }
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Class name of a node.
    pub fn class_name(&self, node: u32) -> std::borrow::Cow<'_, str> {
        self.graph.raw.strings.get(self.class_index[node as usize])
    }

    /// DevTools' display name of a node.
    pub fn display_name(&self, node: u32) -> String {
        names::display_name(&self.graph, node)
    }

    /// Source location (0-based line and column, as V8 writes them) of a closure or object.
    pub fn location(&self, node: u32) -> Option<SourceLocation> {
        find_location(&self.locations, node).copied()
    }

    /// Builds the full retainer lists (for Retainers views and paths).
    pub fn retainers(&self) -> Retainers {
        Retainers::build(&self.graph, &self.first_retainer)
    }
}

fn find_location(locations: &[SourceLocation], node: u32) -> Option<&SourceLocation> {
    let end = locations.partition_point(|l| l.node <= node);
    if end == 0 {
        return None;
    }
    let l = &locations[end - 1];
    (l.node == node).then_some(l)
}
