//! The leak report: what is leaking and which code keeps it alive, in one pass.
//!
//! Suspects come from three families of detectors — Easy-Monitor's sibling groups
//! ([`groups`]), Eclipse MAT's big objects, accumulation points and big classes ([`mat`]),
//! and Node-aware checks ([`node_checks`]) — and are then collapsed by retaining-path shape
//! ([`collapse`]) so that one leak is one finding. Each finding gets what it retains (the
//! union of its members' dominator subtrees), one representative path, the closure holding
//! it ([`holder`]) and interesting strings near it ([`strings`]). Objects owned only by
//! Node's internals are left out by default ([`ownership`]).

mod collapse;
mod groups;
pub mod holder;
mod mat;
mod node_checks;
pub mod ownership;
pub mod strings;

use crate::bits::BitVec;
use crate::views::RetainingPath;
use crate::{Analysis, Retainers};

pub use holder::Holder;
pub use ownership::Ownership;
pub use strings::{FoundString, StringKind};

/// Thresholds. Percentages are of the snapshot's total size.
#[derive(Debug, Clone)]
pub struct LeakOptions {
    /// Easy-Monitor groups are findings from this share of the heap.
    pub group_percent: f64,
    /// MAT: single objects retaining this share are findings.
    pub object_percent: f64,
    /// MAT: classes whose instances retain this share together are findings.
    pub class_percent: f64,
    /// Suspects smaller than this share are not considered at all.
    pub candidate_percent: f64,
    /// Closure contexts retaining this share are findings.
    pub context_percent: f64,
    /// Open handles of one class on one path shape are a finding from this many.
    pub min_handles: u64,
    /// More listeners than this for one event is a finding (Node's `defaultMaxListeners`).
    pub max_listeners: u64,
    /// Collections with this many entries are findings.
    pub min_entries: u64,
    /// Pending promises on one path shape are a finding from this many.
    pub min_pending_promises: u64,
    /// ArrayBuffer backing stores above this many bytes in all are flagged.
    pub external_bytes: u64,
    /// Report objects held only by Node's internals too.
    pub include_internals: bool,
    /// At most this many findings.
    pub max_findings: usize,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            group_percent: 10.0,
            object_percent: 10.0,
            class_percent: 10.0,
            candidate_percent: 1.0,
            context_percent: 5.0,
            min_handles: 100,
            max_listeners: 10,
            min_entries: 10_000,
            min_pending_promises: 1_000,
            external_bytes: 64 << 20,
            include_internals: false,
            max_findings: 10,
        }
    }
}

/// Why something is suspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    SiblingGroup,
    StringGroup,
    CodeGroup,
    BigObject,
    AccumulationPoint,
    BigClass,
    OpenHandles,
    Listeners,
    BigCollection,
    ClosureContext,
    PendingPromises,
}

impl ReasonKind {
    /// Stable identifier for machine output.
    pub fn name(self) -> &'static str {
        match self {
            ReasonKind::SiblingGroup => "sibling_group",
            ReasonKind::StringGroup => "string_group",
            ReasonKind::CodeGroup => "code_group",
            ReasonKind::BigObject => "big_object",
            ReasonKind::AccumulationPoint => "accumulation_point",
            ReasonKind::BigClass => "big_class",
            ReasonKind::OpenHandles => "open_handles",
            ReasonKind::Listeners => "listeners",
            ReasonKind::BigCollection => "big_collection",
            ReasonKind::ClosureContext => "closure_context",
            ReasonKind::PendingPromises => "pending_promises",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub kind: ReasonKind,
    pub text: String,
    /// Objects (or entries, listeners) the reason counts.
    pub count: u64,
    /// Bytes the reason's own members retain.
    pub size: u64,
    /// Over its threshold on its own.
    pub flagged: bool,
}

/// One detector's output before collapsing.
pub(crate) struct Suspect {
    pub reason: Reason,
    /// How the finding is named when this suspect leads it: `300 × TCP`.
    pub title: String,
    pub class_name: String,
    pub members: Vec<u32>,
    /// Which suspect names a finding when shapes tie: lower leads.
    pub lead: u8,
}

/// One leak: the leading suspect's objects, and every reason that points at them.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `300 × TCP`, `800 'shutdown' listeners on EventEmitter @79985`.
    pub title: String,
    pub class_name: String,
    /// Objects in the leading suspect.
    pub count: u64,
    /// Bytes retained by all the finding's objects together (each subtree counted once).
    pub retained: u64,
    /// Leading reason first.
    pub reasons: Vec<Reason>,
    /// The leading suspect's objects, lowest ordinal first, at most 20.
    pub sample: Vec<u32>,
    pub representative: u32,
    /// Root first, through the representative's chosen shortest path.
    pub path: RetainingPath,
    pub holder: Option<Holder>,
    pub strings: Vec<FoundString>,
}

/// A check that always runs, with its result whether or not it is flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub key: &'static str,
    pub label: String,
    pub detail: String,
    pub count: u64,
    pub size: u64,
    pub flagged: bool,
}

pub struct LeakReport {
    /// The snapshot's total size (the root's retained size).
    pub heap_size: u64,
    pub findings: Vec<Finding>,
    /// Suspects found but under every threshold (how close the healthy parts came).
    pub below_threshold: usize,
    pub checks: Vec<Check>,
}

/// Runs every detector and builds the report.
pub fn report(a: &Analysis, retainers: &Retainers, opts: &LeakOptions) -> LeakReport {
    let own = Ownership::compute(a);
    report_with(a, retainers, &own, opts)
}

/// [`report`] with ownership computed by the caller (it is also what other reports reuse).
pub fn report_with(
    a: &Analysis,
    retainers: &Retainers,
    own: &Ownership,
    opts: &LeakOptions,
) -> LeakReport {
    let heap = a.retained[a.graph.root as usize];
    let mut suspects = Vec::new();
    let mut checks = Vec::new();
    groups::sibling_groups(a, own, opts, heap, &mut suspects);
    mat::big_objects(a, own, opts, heap, &mut suspects);
    mat::big_classes(a, own, opts, heap, &mut suspects);
    let node = node_checks::NodeChecks { a, own, opts, heap };
    node.handles(&mut suspects, &mut checks);
    node.listeners(&mut suspects, &mut checks);
    node.collections(&mut suspects, &mut checks);
    node.contexts(&mut suspects);
    node.promises(&mut suspects, &mut checks);
    node.memory_checks(&mut checks);

    let flag_at = node_checks::percent_of(heap, opts.group_percent);
    let mut flagged = Vec::new();
    let mut below_threshold = 0;
    for cluster in collapse::collapse(a, own, suspects) {
        let retained = union_retained(
            a,
            cluster
                .suspects
                .iter()
                .flat_map(|s| s.members.iter().copied()),
        );
        if retained >= flag_at || cluster.suspects.iter().any(|s| s.reason.flagged) {
            flagged.push((retained, cluster));
        } else {
            below_threshold += 1;
        }
    }
    flagged.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(
                y.1.suspects[0]
                    .members
                    .len()
                    .cmp(&x.1.suspects[0].members.len()),
            )
            .then(x.1.representative.cmp(&y.1.representative))
    });
    flagged.truncate(opts.max_findings);
    let findings = flagged
        .into_iter()
        .map(|(retained, cluster)| build_finding(a, retainers, own, cluster, retained))
        .collect();
    LeakReport {
        heap_size: heap,
        findings,
        below_threshold,
        checks,
    }
}

fn build_finding(
    a: &Analysis,
    retainers: &Retainers,
    own: &Ownership,
    cluster: collapse::Cluster,
    retained: u64,
) -> Finding {
    let lead = &cluster.suspects[0];
    let mut sample = lead.members.clone();
    sample.sort_unstable();
    let string_sample: Vec<u32> = sample.iter().copied().take(200).collect();
    sample.truncate(20);
    let path = own.path(a, cluster.representative);
    let holder = if lead.reason.kind == ReasonKind::Listeners {
        holder::of_first_listener(a, retainers, cluster.representative)
    } else {
        holder::find(a, retainers, own, &path)
    };
    let strings = strings::near(a, own, &string_sample, 5);
    Finding {
        title: lead.title.clone(),
        class_name: lead.class_name.clone(),
        count: lead.members.len() as u64,
        retained,
        reasons: cluster.suspects.iter().map(|s| s.reason.clone()).collect(),
        sample,
        representative: cluster.representative,
        path,
        holder,
        strings,
    }
}

/// Bytes retained by a set of objects together: each member's retained size, skipping
/// members that another member dominates (their bytes are already inside that one).
fn union_retained(a: &Analysis, members: impl Iterator<Item = u32> + Clone) -> u64 {
    let mut in_set = BitVec::new(a.node_count());
    for m in members.clone() {
        in_set.set(m);
    }
    let mut counted = BitVec::new(a.node_count());
    let mut total = 0u64;
    for m in members {
        if counted.get(m) {
            continue;
        }
        counted.set(m);
        let mut cur = a.idom[m as usize];
        let mut nested = false;
        while cur != a.idom[cur as usize] {
            if in_set.get(cur) {
                nested = true;
                break;
            }
            cur = a.idom[cur as usize];
        }
        if !nested {
            total += a.retained[m as usize];
        }
    }
    total
}
