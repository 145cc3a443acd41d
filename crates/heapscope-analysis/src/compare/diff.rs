//! DevTools' Comparison view (`calculateSnapshotDiff` / `calculateDiffForClass` in
//! `HeapSnapshot.ts`): per class, the objects of the current snapshot whose id the base
//! snapshot lacks (new) and the base's objects whose id the current snapshot lacks
//! (deleted), with their shallow sizes. Like DevTools it counts only nodes with a non-zero
//! shallow size (its aggregates skip the others), classifies the base's plain objects with
//! the current snapshot's interface definitions, and an object that changed class counts as
//! deleted from the old class and new in the new one.
//!
//! Added to what DevTools shows: each class's total count and retained size in both
//! snapshots (from each snapshot's own Summary view) and the retained-size delta.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::identity::{check_same_process, ProcessCheck};
use super::IdIndex;
use crate::names::Interface;

/// One new object of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedObject {
    pub id: u32,
    /// Node ordinal in the current snapshot.
    pub ordinal: u32,
    pub self_size: u32,
}

/// One row of the Comparison view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDiff {
    pub key: String,
    pub name: String,
    /// DevTools' `# New` / `# Deleted` / `Alloc. Size` / `Freed Size`.
    pub added_count: u64,
    pub removed_count: u64,
    pub added_size: u64,
    pub removed_size: u64,
    /// New objects, ascending id (empty when ids are not comparable).
    pub added: Vec<AddedObject>,
    /// Ids of deleted objects, ascending.
    pub deleted_ids: Vec<u32>,
    /// From each snapshot's Summary view (0 when the class is absent there).
    pub base_count: u64,
    pub current_count: u64,
    pub base_self_size: u64,
    pub current_self_size: u64,
    pub base_retained_size: u64,
    pub current_retained_size: u64,
}

impl ClassDiff {
    /// DevTools' `# Delta`; when ids are not comparable, the change of the Summary count.
    pub fn count_delta(&self, matched_by_id: bool) -> i64 {
        if matched_by_id {
            self.added_count as i64 - self.removed_count as i64
        } else {
            self.current_count as i64 - self.base_count as i64
        }
    }

    /// DevTools' `Size Delta`; when ids are not comparable, the change of the shallow size.
    pub fn size_delta(&self, matched_by_id: bool) -> i64 {
        if matched_by_id {
            self.added_size as i64 - self.removed_size as i64
        } else {
            self.current_self_size as i64 - self.base_self_size as i64
        }
    }

    pub fn retained_delta(&self) -> i64 {
        self.current_retained_size as i64 - self.base_retained_size as i64
    }
}

/// Two snapshots compared.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub process: ProcessCheck,
    /// Whether objects were matched by id (same process); otherwise only per-class
    /// counts and sizes are compared and `added`/`removed` are zero.
    pub matched_by_id: bool,
    /// Classes with a new or deleted object (or, without ids, a changed count or size), in
    /// no particular order.
    pub classes: Vec<ClassDiff>,
}

impl Comparison {
    pub fn class(&self, key: &str) -> Option<&ClassDiff> {
        self.classes.iter().find(|c| c.key == key)
    }
}

/// Rows of the view by class key.
#[derive(Default)]
struct Rows {
    rows: Vec<ClassDiff>,
    row_of_key: HashMap<String, usize>,
}

impl Rows {
    fn get(&self, key: &str) -> Option<usize> {
        self.row_of_key.get(key).copied()
    }

    fn row(&mut self, key: &str, name: &str) -> &mut ClassDiff {
        let r = match self.row_of_key.get(key) {
            Some(&r) => r,
            None => {
                self.rows.push(ClassDiff {
                    key: key.to_string(),
                    name: name.to_string(),
                    added_count: 0,
                    removed_count: 0,
                    added_size: 0,
                    removed_size: 0,
                    added: Vec::new(),
                    deleted_ids: Vec::new(),
                    base_count: 0,
                    current_count: 0,
                    base_self_size: 0,
                    current_self_size: 0,
                    base_retained_size: 0,
                    current_retained_size: 0,
                });
                self.row_of_key.insert(key.to_string(), self.rows.len() - 1);
                self.rows.len() - 1
            }
        };
        &mut self.rows[r]
    }
}

/// Compares `current` against `base`. `current_defs` are the current snapshot's interface
/// definitions ([`super::interface_definitions`] of its analysis).
pub fn compare(base: &IdIndex, current: &IdIndex, current_defs: &[Interface]) -> Comparison {
    let process = check_same_process(base, current);
    let matched_by_id = process.ids_comparable();
    let mut rows = Rows::default();
    if matched_by_id {
        diff_by_id(base, current, current_defs, &mut rows);
    }
    // Totals from each snapshot's own Summary view; without ids they are the whole view.
    for (snapshot, is_base) in [(base, true), (current, false)] {
        for c in &snapshot.classes {
            if matched_by_id && rows.get(&c.key).is_none() {
                continue;
            }
            let row = rows.row(&c.key, &c.name);
            if is_base {
                row.base_count = c.count;
                row.base_self_size = c.self_size;
                row.base_retained_size = c.retained_size;
            } else {
                row.current_count = c.count;
                row.current_self_size = c.self_size;
                row.current_retained_size = c.retained_size;
            }
        }
    }
    let mut classes = rows.rows;
    if !matched_by_id {
        classes
            .retain(|c| c.base_count != c.current_count || c.base_self_size != c.current_self_size);
    }
    Comparison {
        process,
        matched_by_id,
        classes,
    }
}

/// The id-matched part: one merge over both snapshots' id-sorted nodes, equivalent to
/// DevTools' per-class merges of id-sorted aggregates.
fn diff_by_id(base: &IdIndex, current: &IdIndex, current_defs: &[Interface], rows: &mut Rows) {
    let base_classes = base.resolve(current_defs);
    let current_classes = current.resolve(current_defs);
    let base_key = |i: usize| -> Option<u32> {
        if base.self_size_at(i) == 0 {
            return None;
        }
        base_classes.key_of_slot[base.slot_at(i) as usize]
    };
    let current_key = |j: usize| -> Option<u32> {
        if current.self_size_at(j) == 0 {
            return None;
        }
        current_classes.key_of_slot[current.slot_at(j) as usize]
    };
    // A row's name is the current snapshot's class name when it has the class at all;
    // otherwise DevTools takes `className()` (under the base's own definitions) of the
    // base object with the largest id.
    let mut base_last_slot: Vec<u32> = vec![0; base_classes.keys.len()];
    for i in 0..base.len() {
        if let Some(k) = base_key(i) {
            base_last_slot[k as usize] = base.slot_at(i);
        }
    }
    let mut current_name: HashMap<&str, &str> = HashMap::new();
    for j in 0..current.len() {
        if let Some(k) = current_key(j) {
            current_name.insert(
                &current_classes.keys[k as usize],
                &current_classes.names[k as usize],
            );
        }
    }
    let base_row_name = |k: u32| -> &str {
        let key = base_classes.keys[k as usize].as_str();
        current_name
            .get(key)
            .copied()
            .unwrap_or_else(|| base.own_name_of_slot(base_last_slot[k as usize]))
    };

    let (a, b) = (base.ids(), current.ids());
    let delete = |rows: &mut Rows, i: usize| {
        if let Some(k) = base_key(i) {
            let row = rows.row(&base_classes.keys[k as usize], base_row_name(k));
            row.removed_count += 1;
            row.removed_size += base.self_size_at(i) as u64;
            row.deleted_ids.push(a[i]);
        }
    };
    let add = |rows: &mut Rows, j: usize| {
        if let Some(k) = current_key(j) {
            let row = rows.row(
                &current_classes.keys[k as usize],
                &current_classes.names[k as usize],
            );
            let self_size = current.self_size_at(j);
            row.added_count += 1;
            row.added_size += self_size as u64;
            row.added.push(AddedObject {
                id: b[j],
                ordinal: current.ordinal_at(j),
                self_size,
            });
        }
    };
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                delete(rows, i);
                i += 1;
            }
            Ordering::Greater => {
                add(rows, j);
                j += 1;
            }
            Ordering::Equal => {
                // The same object: matched only if it is in the same class in both.
                let same = match (base_key(i), current_key(j)) {
                    (Some(x), Some(y)) => {
                        base_classes.keys[x as usize] == current_classes.keys[y as usize]
                    }
                    _ => false,
                };
                if !same {
                    delete(rows, i);
                    add(rows, j);
                }
                i += 1;
                j += 1;
            }
        }
    }
}
