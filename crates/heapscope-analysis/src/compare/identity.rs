//! Are two snapshots from one process? V8 numbers objects per process (a heap object keeps
//! its id for its lifetime, new objects get larger ids), so ids only match objects when both
//! snapshots come from the same process. Two processes of the same program hand out
//! overlapping ids to different objects, which would make an id-matched diff nonsense.
//!
//! The check: among ids present in both snapshots, the share whose node type or
//! constructor name differs. Within one process that share is tiny (the fixtures: 47 of 60,528, from objects
//! whose map changed); across processes it is large (over half in the fixtures, even for
//! two runs of one program with the same seeds). Also, the later snapshot of one process
//! cannot have a smaller largest JavaScript object id.

use std::collections::HashMap;

use heapscope_format::RawSnapshot;

use super::id_index::object_identity;
use super::IdIndex;

/// What the process check and the three-snapshot technique need from a snapshot: its ids in
/// ascending order and what each object is. [`IdIndex`] has it; so has the lighter
/// [`IdSet`], read from a parsed snapshot without analysing it.
pub trait SnapshotIds {
    /// Object ids, ascending.
    fn ids(&self) -> &[u32];
    /// Node type code and, for `object` nodes, raw name of the object at position `i`.
    fn identity_at(&self, i: usize) -> (u8, &str);
    /// The largest JavaScript object id (odd ids).
    fn max_js_id(&self) -> u32;

    fn contains(&self, id: u32) -> bool {
        self.ids().binary_search(&id).is_ok()
    }
}

impl SnapshotIds for IdIndex {
    fn ids(&self) -> &[u32] {
        IdIndex::ids(self)
    }
    fn identity_at(&self, i: usize) -> (u8, &str) {
        IdIndex::identity_at(self, i)
    }
    fn max_js_id(&self) -> u32 {
        self.max_js_id
    }
}

/// Calls `f(i, j)` for every id at `a[i] == b[j]` of two ascending id lists, in one merge
/// (cheaper than a binary search per id when most ids are compared).
pub(super) fn for_each_common_id(a: &[u32], b: &[u32], mut f: impl FnMut(usize, usize)) {
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(i, j);
                i += 1;
                j += 1;
            }
        }
    }
}

/// Ids and identities of a snapshot, straight from the parser (8 bytes per node, no
/// analysis): all that BASELINE and TARGET contribute to the three-snapshot technique.
#[derive(Debug, Clone)]
pub struct IdSet {
    ids: Vec<u32>,
    identity_of: Vec<u32>,
    identities: Vec<(u8, String)>,
    max_js_id: u32,
}

impl IdSet {
    pub fn new(raw: &RawSnapshot) -> IdSet {
        let n = raw.node_count();
        // Sorting (id, ordinal) packed in a u64 reads no other memory while sorting.
        let mut packed: Vec<u64> = (0..n as u32)
            .map(|o| (raw.nodes.id[o as usize] as u64) << 32 | o as u64)
            .collect();
        packed.sort_unstable();
        let mut identities: Vec<(u8, String)> = Vec::new();
        let mut by_identity: HashMap<(u8, String), u32> = HashMap::new();
        // Identities computed once per type code, and per name for `object` nodes.
        const UNSET: u32 = u32::MAX;
        let mut by_kind: Vec<u32> = vec![UNSET; 256];
        let mut by_object_name: Vec<u32> = vec![UNSET; raw.strings.len()];
        let mut ids = Vec::with_capacity(n);
        let mut identity_of = Vec::with_capacity(n);
        for &p in &packed {
            let o = p as u32;
            ids.push((p >> 32) as u32);
            let slot = if raw.node_kind(o) == heapscope_format::NodeKind::Object {
                &mut by_object_name[raw.nodes.name[o as usize] as usize]
            } else {
                &mut by_kind[raw.nodes.kind[o as usize] as usize]
            };
            if *slot == UNSET {
                let identity = object_identity(raw, o);
                let next = identities.len() as u32;
                *slot = *by_identity.entry(identity.clone()).or_insert_with(|| {
                    identities.push(identity);
                    next
                });
            }
            identity_of.push(*slot);
        }
        let max_js_id = ids
            .iter()
            .rev()
            .find(|&&id| id % 2 == 1)
            .copied()
            .unwrap_or(0);
        IdSet {
            ids,
            identity_of,
            identities,
            max_js_id,
        }
    }
}

impl SnapshotIds for IdSet {
    fn ids(&self) -> &[u32] {
        &self.ids
    }
    fn identity_at(&self, i: usize) -> (u8, &str) {
        let (k, name) = &self.identities[self.identity_of[i] as usize];
        (*k, name)
    }
    fn max_js_id(&self) -> u32 {
        self.max_js_id
    }
}

/// Share of common ids allowed to change class before we call the snapshots unrelated.
const MAX_MISMATCH_SHARE: f64 = 0.05;
/// Below this many common ids the share says nothing (tiny or unrelated snapshots).
const MIN_COMMON_IDS: u64 = 100;

/// The evidence, kept for messages and `--json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessCheck {
    /// Ids present in both snapshots (JavaScript objects; embedder ids never match).
    pub common_ids: u64,
    /// How many of them have a different node type or class.
    pub class_mismatches: u64,
    pub base_max_js_id: u32,
    pub current_max_js_id: u32,
    /// Why ids cannot be compared; `None` when they can.
    pub problem: Option<String>,
}

impl ProcessCheck {
    pub fn ids_comparable(&self) -> bool {
        self.problem.is_none()
    }
}

/// Checks whether `current` can be an equal or later snapshot of `base`'s process.
pub fn check_same_process(base: &dyn SnapshotIds, current: &dyn SnapshotIds) -> ProcessCheck {
    let mut common = 0u64;
    let mut mismatches = 0u64;
    for_each_common_id(base.ids(), current.ids(), |i, j| {
        // Synthetic roots (ids 1, 3, 5, …) exist in every snapshot and embedder ids (even)
        // never match; only heap objects say something.
        let id = base.ids()[i];
        if id % 2 == 1 {
            common += 1;
            if base.identity_at(i) != current.identity_at(j) {
                mismatches += 1;
            }
        }
    });
    let share = if common == 0 {
        1.0
    } else {
        mismatches as f64 / common as f64
    };
    let problem = if common < MIN_COMMON_IDS {
        Some(format!(
            "they have only {common} object ids in common, so they are not snapshots of one process"
        ))
    } else if share > MAX_MISMATCH_SHARE {
        Some(format!(
            "{mismatches} of the {common} object ids they have in common ({:.0} %) name objects of a different class, \
             so they are snapshots of different processes",
            share * 100.0
        ))
    } else if current.max_js_id() < base.max_js_id() {
        Some(format!(
            "the newer snapshot's largest object id (@{}) is smaller than the older one's (@{}): \
             they are from different processes, or given in the wrong order",
            current.max_js_id(),
            base.max_js_id()
        ))
    } else {
        None
    };
    ProcessCheck {
        common_ids: common,
        class_mismatches: mismatches,
        base_max_js_id: base.max_js_id(),
        current_max_js_id: current.max_js_id(),
        problem,
    }
}
