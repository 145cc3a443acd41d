//! Comparing snapshots of one process. V8 gives every heap object an id that stays the same
//! across snapshots of a process, and new objects get larger ids, so objects can be matched
//! between snapshots exactly.
//!
//! The comparisons keep memory low: every snapshot but the newest is needed only as an
//! [`IdIndex`] (ids, shallow sizes, class slots), so a caller loads a snapshot, extracts its
//! index, and drops the [`crate::Analysis`] before loading the next one. The three-snapshot
//! technique needs even less of BASELINE and TARGET: an [`IdSet`], read from the parsed
//! snapshot without analysing it.
//!
//! - [`compare`]: DevTools' Comparison view (diff.rs), plus retained-size deltas.
//! - [`check_same_process`]: whether ids of two snapshots are comparable (identity.rs).
//! - [`find_leak_clusters`]: the three-snapshot technique — objects new in TARGET since
//!   BASELINE and still alive in FINAL, clustered by the shape of their retaining path
//!   (survivors.rs, shapes.rs).
//! - [`trend`]: per-class growth over a series, growing collections (entry counts kept in
//!   each index, collections.rs), survivors (trend.rs).

mod collections;
mod diff;
mod id_index;
mod identity;
mod shapes;
mod survivors;
mod trend;

pub use collections::{CollectionKind, CollectionSize, OBJECT_AS_MAP_MIN_PROPERTIES};
pub use diff::{compare, AddedObject, ClassDiff, Comparison};
pub use id_index::{interface_definitions, ClassTotals, IdIndex, ResolvedClasses};
pub use identity::{check_same_process, IdSet, ProcessCheck, SnapshotIds};
pub use shapes::{PathShapes, ShapeStep};
pub use survivors::{find_leak_clusters, LeakCluster, LeakClusterOptions, LeakClusters};
pub use trend::{trend, ClassTrend, GrowingCollection, SurvivorClass, Trend, TrendOptions};
