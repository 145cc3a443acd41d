//! A series of snapshots S1 … SN of one process: per class, count and sizes in each snapshot
//! (from each one's Summary view) with a flag for steady growth; collections (Map, Set,
//! Array, object-as-map) whose entry count grows from every snapshot to the next, with their
//! paths in SN; and objects that, once allocated, survive every later snapshot.
//!
//! Only SN is analysed in full; S1 … SN-1 are [`IdIndex`]es.

use std::collections::HashMap;

use super::collections::CollectionKind;
use super::identity::{check_same_process, for_each_common_id, ProcessCheck, SnapshotIds};
use super::shapes::PathShapes;
use super::survivors::is_internal;
use super::IdIndex;
use crate::views::RetainingPath;
use crate::Analysis;

#[derive(Debug, Clone, Default)]
pub struct TrendOptions {
    /// Also report the runtime's long-lived internals (see survivors.rs) among survivors
    /// and growing collections.
    pub include_internals: bool,
}

/// One class across the series (values are 0 where the class is absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTrend {
    pub key: String,
    pub name: String,
    pub counts: Vec<u64>,
    pub self_sizes: Vec<u64>,
    pub retained_sizes: Vec<u64>,
}

impl ClassTrend {
    /// The count rises from every snapshot to the next.
    pub fn count_grows(&self) -> bool {
        strictly_increasing(&self.counts)
    }

    /// The retained size rises from every snapshot to the next.
    pub fn retained_grows(&self) -> bool {
        strictly_increasing(&self.retained_sizes)
    }
}

fn strictly_increasing(v: &[u64]) -> bool {
    v.len() >= 2 && v.windows(2).all(|w| w[1] > w[0])
}

/// A collection whose entry count grows across the series.
#[derive(Debug, Clone)]
pub struct GrowingCollection {
    pub id: u32,
    pub kind: CollectionKind,
    /// Node ordinal in SN.
    pub ordinal: u32,
    pub class_name: String,
    /// Entry count per snapshot; `None` before the collection existed.
    pub entries: Vec<Option<u32>>,
    pub retained_size: u64,
    /// Shortest retaining path in SN, root first.
    pub path: Option<RetainingPath>,
}

/// Per class of SN: objects allocated after S1 that are alive in every snapshot since the
/// one they first appear in (and in at least one after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurvivorClass {
    pub name: String,
    /// By first snapshot (index into the series; entry 0 stays 0).
    pub by_first_snapshot: Vec<u64>,
    pub count: u64,
    /// Retained size in SN of those not dominated by another survivor.
    pub retained_size: u64,
}

#[derive(Debug, Clone)]
pub struct Trend {
    pub snapshots: usize,
    /// Each snapshot against the next.
    pub process: Vec<ProcessCheck>,
    /// Why ids could not be followed (then only `classes` is filled).
    pub problem: Option<String>,
    pub classes: Vec<ClassTrend>,
    /// Largest growth first.
    pub growing_collections: Vec<GrowingCollection>,
    /// Largest retained size first (then most survivors).
    pub survivors: Vec<SurvivorClass>,
}

/// Analyses a series: `earlier` are S1 … SN-1 in order, `last` is SN.
pub fn trend(earlier: &[IdIndex], last: &Analysis, options: &TrendOptions) -> Trend {
    let last_index = IdIndex::new(last);
    let mut series: Vec<&IdIndex> = earlier.iter().collect();
    series.push(&last_index);
    let n = series.len();

    let mut classes: Vec<ClassTrend> = Vec::new();
    let mut row_of_key: HashMap<&str, usize> = HashMap::new();
    for (k, snapshot) in series.iter().enumerate() {
        for c in &snapshot.classes {
            let r = *row_of_key.entry(c.key.as_str()).or_insert_with(|| {
                classes.push(ClassTrend {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    counts: vec![0; n],
                    self_sizes: vec![0; n],
                    retained_sizes: vec![0; n],
                });
                classes.len() - 1
            });
            classes[r].counts[k] = c.count;
            classes[r].self_sizes[k] = c.self_size;
            classes[r].retained_sizes[k] = c.retained_size;
        }
    }

    let process: Vec<ProcessCheck> = series
        .windows(2)
        .map(|w| check_same_process(w[0], w[1]))
        .collect();
    let problem = process.iter().enumerate().find_map(|(k, p)| {
        p.problem
            .as_ref()
            .map(|why| format!("snapshots {} and {}: {why}", k + 1, k + 2))
    });
    let mut out = Trend {
        snapshots: n,
        process,
        problem,
        classes,
        growing_collections: Vec::new(),
        survivors: Vec::new(),
    };
    if out.problem.is_some() || n < 2 {
        return out;
    }
    out.growing_collections = growing_collections(&series, last, options);
    out.survivors = survivors(&series, last, options);
    out
}

fn growing_collections(
    series: &[&IdIndex],
    last: &Analysis,
    options: &TrendOptions,
) -> Vec<GrowingCollection> {
    let n = series.len();
    let last_index = series[n - 1];
    let shapes = PathShapes::new(last);
    let mut out = Vec::new();
    for c in &last_index.collections {
        let entries: Vec<Option<u32>> = series
            .iter()
            .map(|s| {
                match s.collections.binary_search_by_key(&c.id, |x| x.id) {
                    Ok(i) => Some(s.collections[i].entries),
                    // Present but below the recorded size (empty, or a small object).
                    Err(_) if s.contains(c.id) => Some(0),
                    Err(_) => None,
                }
            })
            .collect();
        let present: Vec<u64> = entries.iter().flatten().map(|&e| e as u64).collect();
        if present.len() < 3 || !strictly_increasing(&present) {
            continue;
        }
        let Ok(pos) = last_index.ids().binary_search(&c.id) else {
            continue;
        };
        let ordinal = last_index.ordinal_at(pos);
        // V8's own lists (e.g. under the system roots) grow as the runtime works.
        if !options.include_internals && is_internal(last, ordinal) {
            continue;
        }
        out.push(GrowingCollection {
            id: c.id,
            kind: c.kind,
            ordinal,
            class_name: last.class_name(ordinal).into_owned(),
            entries,
            retained_size: last.retained[ordinal as usize],
            path: shapes.path(ordinal),
        });
    }
    let growth = |g: &GrowingCollection| {
        let present: Vec<u32> = g.entries.iter().flatten().copied().collect();
        present[present.len() - 1] - present[0]
    };
    out.sort_by(|x, y| growth(y).cmp(&growth(x)).then(x.id.cmp(&y.id)));
    out
}

fn survivors(series: &[&IdIndex], last: &Analysis, options: &TrendOptions) -> Vec<SurvivorClass> {
    let n = series.len();
    let last_index = series[n - 1];
    // Where each object's run of snapshots ending in SN starts, by position in SN's ids:
    // walking back from SN-1, a snapshot extends the run of the objects it contains.
    let mut run_start: Vec<u32> = vec![(n - 1) as u32; last_index.len()];
    for k in (0..n - 1).rev() {
        for_each_common_id(series[k].ids(), last_index.ids(), |_, pos| {
            if run_start[pos] as usize == k + 1 {
                run_start[pos] = k as u32;
            }
        });
    }
    // First snapshot of each survivor by ordinal in SN (0 = not a survivor): allocated
    // after S1, and seen in at least one snapshot after its first.
    let mut first_seen: Vec<u32> = vec![0; last.node_count()];
    for (pos, &first) in run_start.iter().enumerate() {
        let first = first as usize;
        if first == 0 || first >= n - 1 || last_index.self_size_at(pos) == 0 {
            continue;
        }
        let ordinal = last_index.ordinal_at(pos);
        if !options.include_internals && is_internal(last, ordinal) {
            continue;
        }
        first_seen[ordinal as usize] = first as u32;
    }
    let mut rows: Vec<SurvivorClass> = Vec::new();
    let mut row_of_class: HashMap<u32, usize> = HashMap::new();
    for (ordinal, &first) in first_seen.iter().enumerate() {
        if first == 0 {
            continue;
        }
        let class = last.class_index[ordinal];
        let r = *row_of_class.entry(class).or_insert_with(|| {
            rows.push(SurvivorClass {
                name: last.class_name(ordinal as u32).into_owned(),
                by_first_snapshot: vec![0; n],
                count: 0,
                retained_size: 0,
            });
            rows.len() - 1
        });
        rows[r].by_first_snapshot[first as usize] += 1;
        rows[r].count += 1;
        // Survivors dominated by another survivor are inside its retained size already.
        let dominator = last.idom[ordinal] as usize;
        if dominator == ordinal || first_seen[dominator] == 0 {
            rows[r].retained_size += last.retained[ordinal];
        }
    }
    rows.sort_by(|x, y| {
        y.retained_size
            .cmp(&x.retained_size)
            .then(y.count.cmp(&x.count))
            .then(x.name.cmp(&y.name))
    });
    rows
}
