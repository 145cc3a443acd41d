//! Node-aware checks that DevTools, memlab and MAT do not make: open handles and their JS
//! owners, EventEmitter listener lists, very large collections, closure contexts that retain
//! much, pending promises, detached and unreachable objects, and ArrayBuffer memory outside
//! V8's heap numbers.

use std::collections::HashMap;

use heapscope_format::{EdgeKind, NodeKind};

use crate::{Analysis, NO_DISTANCE};

use super::collapse::shape_key;
use super::ownership::Ownership;
use super::{Check, LeakOptions, Reason, ReasonKind, Suspect};

/// Classes of libuv handle wrappers and the JS objects that own them. Open ones keep their
/// JS owners alive from native roots until closed, which is how sockets leak.
const HANDLE_CLASSES: [&str; 17] = [
    "TCP",
    "TLSWrap",
    "Pipe",
    "TTY",
    "UDP",
    "Process",
    "Signal",
    "FSEvent",
    "Socket",
    "TLSSocket",
    "Server",
    "Timeout",
    "Immediate",
    "FSReqCallback",
    "FSReqPromise",
    "ChildProcess",
    "WriteWrap",
];

/// Handles of one class sharing a retaining-path shape are a candidate from this many.
const MIN_HANDLE_GROUP: usize = 10;

pub(super) struct NodeChecks<'a> {
    pub a: &'a Analysis,
    pub own: &'a Ownership,
    pub opts: &'a LeakOptions,
    pub heap: u64,
}

impl NodeChecks<'_> {
    fn skip(&self, n: u32) -> bool {
        !self.opts.include_internals && self.own.is_internal(n)
    }

    /// Handles and their owners, grouped by class and by the shape of their retaining path.
    pub fn handles(&self, out: &mut Vec<Suspect>, checks: &mut Vec<Check>) {
        let a = self.a;
        let mut by_class: HashMap<&'static str, Vec<u32>> = HashMap::new();
        for n in 0..a.node_count() as u32 {
            if a.graph.kind(n) != NodeKind::Object || a.distance[n as usize] == NO_DISTANCE {
                continue;
            }
            let class = a.class_name(n);
            if let Some(&c) = HANDLE_CLASSES.iter().find(|&&c| c == class) {
                by_class.entry(c).or_default().push(n);
            }
        }
        let mut totals: Vec<(&str, usize)> = by_class.iter().map(|(c, v)| (*c, v.len())).collect();
        totals.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        let flagged = totals
            .iter()
            .any(|&(_, n)| n as u64 >= self.opts.min_handles);
        checks.push(Check {
            key: "open_handles",
            label: "Handles and their owners".into(),
            detail: if totals.is_empty() {
                "none".into()
            } else {
                totals
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            count: totals.iter().map(|t| t.1 as u64).sum(),
            size: 0,
            flagged,
        });
        for (class, nodes) in by_class {
            let mut by_shape: HashMap<String, Vec<u32>> = HashMap::new();
            for n in nodes {
                if self.skip(n) {
                    continue;
                }
                by_shape
                    .entry(shape_key(a, self.own, n))
                    .or_default()
                    .push(n);
            }
            for members in by_shape.into_values() {
                if members.len() < MIN_HANDLE_GROUP {
                    continue;
                }
                let count = members.len() as u64;
                out.push(Suspect {
                    reason: Reason {
                        kind: ReasonKind::OpenHandles,
                        text: format!(
                            "{count} {class} objects held through one retaining path (threshold {})",
                            self.opts.min_handles
                        ),
                        count,
                        size: members.iter().map(|&m| a.retained[m as usize]).sum(),
                        flagged: count >= self.opts.min_handles,
                    },
                    title: format!("{count} × {class}"),
                    class_name: class.to_string(),
                    members,
                    lead: 0,
                });
            }
        }
    }

    /// EventEmitters (`_events` objects) with many listeners for one event.
    pub fn listeners(&self, out: &mut Vec<Suspect>, checks: &mut Vec<Check>) {
        let a = self.a;
        let g = &a.graph;
        let mut most: (u64, String) = (0, String::new());
        for emitter in 0..a.node_count() as u32 {
            if g.kind(emitter) != NodeKind::Object || a.distance[emitter as usize] == NO_DISTANCE {
                continue;
            }
            let Some(events) = g
                .edges(emitter)
                .find(|&e| g.edge_kind(e) == EdgeKind::Property && g.edge_name_is(e, "_events"))
                .map(|e| g.to_node(e))
            else {
                continue;
            };
            for e in g.edges(events) {
                if g.edge_kind(e) != EdgeKind::Property || g.edge_name_is(e, "__proto__") {
                    continue;
                }
                let list = g.to_node(e);
                if g.kind(list) != NodeKind::Object || a.class_name(list) != "Array" {
                    continue;
                }
                let count = g
                    .edges(list)
                    .filter(|&x| {
                        g.edge_kind(x) == EdgeKind::Element
                            && g.kind(g.to_node(x)) == NodeKind::Closure
                    })
                    .count() as u64;
                let event = g.edge_name(e);
                if count > most.0 {
                    most = (
                        count,
                        format!("'{event}' on {} @{}", a.class_name(emitter), g.id(emitter)),
                    );
                }
                if count <= self.opts.max_listeners || self.skip(list) {
                    continue;
                }
                out.push(Suspect {
                    reason: Reason {
                        kind: ReasonKind::Listeners,
                        text: format!(
                            "{count} '{event}' listeners on one {} @{} (Node warns above {})",
                            a.class_name(emitter),
                            g.id(emitter),
                            self.opts.max_listeners
                        ),
                        count,
                        size: a.retained[list as usize],
                        flagged: true,
                    },
                    title: format!(
                        "{count} '{event}' listeners on {} @{}",
                        a.class_name(emitter),
                        g.id(emitter)
                    ),
                    class_name: "Array".into(),
                    members: vec![list],
                    lead: 2,
                });
            }
        }
        checks.push(Check {
            key: "listeners",
            label: "Most listeners for one event".into(),
            detail: if most.0 == 0 {
                "none".into()
            } else {
                format!("{} ({})", most.0, most.1)
            },
            count: most.0,
            size: 0,
            flagged: most.0 > self.opts.max_listeners,
        });
    }

    /// Maps, Sets, Arrays and dictionary-like objects with very many entries.
    pub fn collections(&self, out: &mut Vec<Suspect>, checks: &mut Vec<Check>) {
        let a = self.a;
        let g = &a.graph;
        let mut biggest: (u64, String) = (0, String::new());
        for n in 0..a.node_count() as u32 {
            if g.kind(n) != NodeKind::Object || a.distance[n as usize] == NO_DISTANCE {
                continue;
            }
            let class = a.class_name(n);
            let entries = match &*class {
                "Map" | "Set" => table_entries(a, n, class == "Map"),
                "Array" => g
                    .edges(n)
                    .filter(|&e| g.edge_kind(e) == EdgeKind::Element)
                    .count() as u64,
                _ => {
                    let props = g.edges(n).len() as u64;
                    if props < self.opts.min_entries {
                        continue;
                    }
                    g.edges(n)
                        .filter(|&e| g.edge_kind(e) == EdgeKind::Property)
                        .count() as u64
                }
            };
            if entries > biggest.0 {
                biggest = (entries, format!("{class} @{}", g.id(n)));
            }
            if entries < self.opts.min_entries || self.skip(n) {
                continue;
            }
            out.push(Suspect {
                reason: Reason {
                    kind: ReasonKind::BigCollection,
                    text: format!(
                        "{class} @{} has {entries} entries (threshold {})",
                        g.id(n),
                        self.opts.min_entries
                    ),
                    count: entries,
                    size: a.retained[n as usize],
                    flagged: true,
                },
                title: format!("{class} @{} with {entries} entries", g.id(n)),
                class_name: class.into_owned(),
                members: vec![n],
                lead: 2,
            });
        }
        checks.push(Check {
            key: "collections",
            label: "Largest collection".into(),
            detail: if biggest.0 == 0 {
                "none".into()
            } else {
                format!("{} with {} entries", biggest.1, biggest.0)
            },
            count: biggest.0,
            size: 0,
            flagged: biggest.0 >= self.opts.min_entries,
        });
    }

    /// Closure contexts that retain a large share of the heap.
    pub fn contexts(&self, out: &mut Vec<Suspect>) {
        let a = self.a;
        let floor = percent_of(self.heap, self.opts.context_percent);
        for n in 0..a.node_count() as u32 {
            if a.retained[n as usize] < floor
                || a.graph.kind(n) != NodeKind::Object
                || !a.class_name(n).starts_with("system / Context")
                || self.skip(n)
            {
                continue;
            }
            out.push(Suspect {
                reason: Reason {
                    kind: ReasonKind::ClosureContext,
                    text: format!(
                        "a closure context @{} retains {:.1} % of the heap",
                        a.graph.id(n),
                        a.retained[n as usize] as f64 * 100.0 / self.heap.max(1) as f64
                    ),
                    count: 1,
                    size: a.retained[n as usize],
                    flagged: true,
                },
                title: format!("closure context @{}", a.graph.id(n)),
                class_name: "system / Context".into(),
                members: vec![n],
                lead: 4,
            });
        }
    }

    /// Promises still waiting with reactions attached (their `reactions_or_result` is a
    /// `PromiseReaction`); settled ones hold their result there instead.
    pub fn promises(&self, out: &mut Vec<Suspect>, checks: &mut Vec<Check>) {
        let a = self.a;
        let g = &a.graph;
        let mut by_shape: HashMap<String, Vec<u32>> = HashMap::new();
        let mut total = 0u64;
        for n in 0..a.node_count() as u32 {
            if g.kind(n) != NodeKind::Object
                || a.distance[n as usize] == NO_DISTANCE
                || a.class_name(n) != "Promise"
            {
                continue;
            }
            let pending = g.edges(n).any(|e| {
                g.edge_name_is(e, "reactions_or_result")
                    && g.raw_name_is(g.to_node(e), "system / PromiseReaction")
            });
            if !pending {
                continue;
            }
            total += 1;
            if !self.skip(n) {
                by_shape
                    .entry(shape_key(a, self.own, n))
                    .or_default()
                    .push(n);
            }
        }
        checks.push(Check {
            key: "pending_promises",
            label: "Pending promises with reactions".into(),
            detail: total.to_string(),
            count: total,
            size: 0,
            flagged: total >= self.opts.min_pending_promises,
        });
        for members in by_shape.into_values() {
            let count = members.len() as u64;
            if count < self.opts.min_pending_promises {
                continue;
            }
            out.push(Suspect {
                reason: Reason {
                    kind: ReasonKind::PendingPromises,
                    text: format!("{count} pending promises held through one retaining path"),
                    count,
                    size: members.iter().map(|&m| a.retained[m as usize]).sum(),
                    flagged: true,
                },
                title: format!("{count} × pending Promise"),
                class_name: "Promise".into(),
                members,
                lead: 1,
            });
        }
    }

    /// Detached and unreachable objects, and ArrayBuffer backing stores.
    pub fn memory_checks(&self, checks: &mut Vec<Check>) {
        let a = self.a;
        let g = &a.graph;
        let (mut detached, mut detached_size) = (0u64, 0u64);
        let (mut unreachable, mut unreachable_size) = (0u64, 0u64);
        let (mut stores, mut store_bytes) = (0u64, 0u64);
        for n in 0..a.node_count() as u32 {
            let size = g.self_size(n) as u64;
            if a.detachedness[n as usize] == 2 {
                detached += 1;
                detached_size += size;
            }
            if a.distance[n as usize] == NO_DISTANCE {
                unreachable += 1;
                unreachable_size += size;
            }
            if g.kind(n) == NodeKind::Native && g.raw_name_is(n, "system / JSArrayBufferData") {
                stores += 1;
                store_bytes += size;
            }
        }
        checks.push(Check {
            key: "detached",
            label: "Detached objects".into(),
            detail: format!("{detached}"),
            count: detached,
            size: detached_size,
            flagged: false,
        });
        checks.push(Check {
            key: "unreachable",
            label: "Unreachable objects (garbage not yet collected)".into(),
            detail: format!("{unreachable}"),
            count: unreachable,
            size: unreachable_size,
            flagged: false,
        });
        checks.push(Check {
            key: "array_buffers",
            label: "ArrayBuffer backing stores (outside V8's heapUsed)".into(),
            detail: format!("{stores}"),
            count: stores,
            size: store_bytes,
            flagged: store_bytes >= self.opts.external_bytes,
        });
    }
}

/// Entries of a Map or Set, estimated from the references its hash table holds (entries
/// whose key and value are small integers hold none, so this is a lower bound).
fn table_entries(a: &Analysis, n: u32, is_map: bool) -> u64 {
    let g = &a.graph;
    let Some(table) = g
        .edges(n)
        .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "table"))
        .map(|e| g.to_node(e))
    else {
        return 0;
    };
    let refs = g
        .edges(table)
        .filter(|&e| {
            matches!(
                g.edge_kind(e),
                EdgeKind::Internal | EdgeKind::Hidden | EdgeKind::Element
            ) && !g.edge_name_is(e, "map")
        })
        .count() as u64;
    if is_map {
        refs.div_ceil(2)
    } else {
        refs
    }
}

pub(super) fn percent_of(heap: u64, percent: f64) -> u64 {
    (heap as f64 * percent / 100.0).ceil() as u64
}
