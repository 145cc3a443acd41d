//! [`IdIndex`]: the light, per-snapshot facts that comparing snapshots needs from every
//! snapshot but the newest — object ids, DevTools' shallow sizes and class keys — extracted
//! from an [`Analysis`] so that its graph can be dropped before the next snapshot is loaded
//! (16 bytes per node instead of the whole graph).
//!
//! A class key cannot simply be stored as a string: DevTools' Comparison view classifies the
//! base snapshot's plain objects with the *current* snapshot's `{a, b}` interface definitions
//! (`aggregatesForDiff(current.interfaceDefinitions())`). So each node points at a
//! [`ClassSlot`] — its location and either its class string or, for a plain object, its set
//! of property names — and [`IdIndex::resolve`] turns slots into keys under any definitions.

use std::collections::HashMap;

use heapscope_format::{EdgeKind, NodeKind};

use super::collections::{collection_size, CollectionNames, CollectionSize};
use crate::names::{self, Interface, InterfaceMatcher};
use crate::Analysis;

/// What decides a node's class key, shared by all nodes with the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SlotClass {
    /// Anything but a plain object: the class string index in the source snapshot. The
    /// index is the identity DevTools keys by before turning keys into `,Name` strings.
    Named { class_index: u32 },
    /// A plain object (`object` named `Object`): its property names (sorted ids into
    /// `IdIndex::property_names`) and the string index of its raw name `Object`.
    PlainObject {
        property_set: u32,
        raw_name_index: u32,
    },
}

/// Nodes share a slot when all of this is equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    location: Option<(u32, u32, u32)>,
    class: SlotClass,
    kind_code: u8,
    /// Raw name string index of `object` nodes (`u32::MAX` for other types).
    identity_name: u32,
}

#[derive(Debug, Clone)]
struct ClassSlot {
    /// `(script, line, column)` of an `object` node with a source location.
    location: Option<(u32, u32, u32)>,
    class: SlotClass,
    /// The class name under the snapshot's own interface definitions.
    own_name: String,
    /// The smallest node ordinal with this slot: DevTools builds its aggregates in a `Map`
    /// in node order, and when two internal keys end up with the same public key the later
    /// one replaces the earlier.
    first_ordinal: u32,
    /// What an id's object is, comparable across snapshots (see [`object_identity`]):
    /// node type code and, for `object` nodes, the raw name.
    identity: (u8, String),
}

/// What a node is, in terms that do not change while the object lives: its node type code
/// and, for `object` nodes, its raw name (the constructor name; `Object` for every plain
/// object, whose `{a, b}` class name changes as properties are added). Closures, strings
/// and the like are identified by type only. Computable from a parsed snapshot alone, so
/// [`super::IdSet`] and [`IdIndex`] agree on it.
pub(super) fn object_identity(raw: &heapscope_format::RawSnapshot, node: u32) -> (u8, String) {
    let kind = raw.nodes.kind[node as usize];
    if raw.node_kind(node) == NodeKind::Object {
        (
            kind,
            raw.strings.get(raw.nodes.name[node as usize]).into_owned(),
        )
    } else {
        (kind, String::new())
    }
}

/// One row of a snapshot's own Summary view, kept for retained-size deltas and trends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTotals {
    pub key: String,
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
}

/// Ids, shallow sizes and class slots of one snapshot's nodes, sorted by id.
#[derive(Debug, Clone)]
pub struct IdIndex {
    /// Object ids, ascending.
    ids: Vec<u32>,
    /// DevTools' shallow size (after its re-attribution), by position in `ids`.
    self_sizes: Vec<u32>,
    /// Index into `slot_table`, by position in `ids`.
    slots: Vec<u32>,
    /// Node ordinal in the source snapshot, by position in `ids`.
    ordinals: Vec<u32>,
    slot_table: Vec<ClassSlot>,
    property_names: Vec<String>,
    property_sets: Vec<Vec<u32>>,
    /// The snapshot's own Summary rows.
    pub classes: Vec<ClassTotals>,
    /// Map/Set/Array/object-as-map entry counts, sorted by id.
    pub collections: Vec<CollectionSize>,
    /// The largest id of a JavaScript heap object (odd ids; embedder nodes have even ids
    /// derived from addresses, which change from snapshot to snapshot).
    pub max_js_id: u32,
    pub node_count: usize,
    pub total_size: u64,
}

/// Keys of an [`IdIndex`]'s slots under some interface definitions.
#[derive(Debug, Clone)]
pub struct ResolvedClasses {
    /// Index into `keys` per slot; `None` when its key lost a public-key collision (DevTools
    /// drops that class's aggregate).
    pub key_of_slot: Vec<Option<u32>>,
    /// Public class keys (`,Name` or `script,line,column,Name`).
    pub keys: Vec<String>,
    /// Class name per key.
    pub names: Vec<String>,
}

impl IdIndex {
    /// Extracts the index from a full analysis.
    pub fn new(a: &Analysis) -> IdIndex {
        let g = &a.graph;
        let n = g.node_count();
        let mut slot_table: Vec<ClassSlot> = Vec::new();
        let mut slot_of_key: HashMap<SlotKey, u32> = HashMap::new();
        // Most nodes are unlocated and not plain objects: a direct table by class index,
        // checked against the slot's identity (two kinds of node can share a class string).
        let mut unlocated_slot: Vec<u32> = vec![u32::MAX; g.raw.strings.len()];
        let mut property_names: Vec<String> = Vec::new();
        let mut property_name_of_string: Vec<u32> = vec![u32::MAX; g.raw.strings.len()];
        let mut property_name_ids: HashMap<String, u32> = HashMap::new();
        let mut property_sets: Vec<Vec<u32>> = Vec::new();
        let mut property_set_ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut set: Vec<u32> = Vec::new();
        let mut slot_of_node: Vec<u32> = Vec::with_capacity(n);
        let mut slot_key_of: Vec<SlotKey> = Vec::new();
        let mut collection_names = CollectionNames::new(a);
        let mut collections: Vec<CollectionSize> = Vec::new();
        let mut max_js_id = 0u32;
        let mut cursor = 0usize;
        for node in 0..n as u32 {
            while cursor < a.locations.len() && a.locations[cursor].node < node {
                cursor += 1;
            }
            let kind = g.kind(node);
            let id = g.id(node);
            if id % 2 == 1 {
                max_js_id = max_js_id.max(id);
            }
            let mut location = None;
            if kind == NodeKind::Object {
                // The last location of a node wins, as in DevTools.
                let mut c = cursor;
                while c < a.locations.len() && a.locations[c].node == node {
                    let l = a.locations[c];
                    location = Some((l.script_id, l.line, l.column));
                    c += 1;
                }
            }
            let class = if names::is_plain_object(g, node) {
                set.clear();
                for e in g.edges(node) {
                    if g.edge_kind(e) != EdgeKind::Property {
                        continue;
                    }
                    let s = g.raw.edges.name_or_index[e as usize];
                    let slot = &mut property_name_of_string[s as usize];
                    if *slot == u32::MAX {
                        let text = g.raw.strings.get(s).into_owned();
                        let next = property_names.len() as u32;
                        *slot = *property_name_ids.entry(text.clone()).or_insert_with(|| {
                            property_names.push(text);
                            next
                        });
                    }
                    set.push(*slot);
                }
                set.sort_unstable();
                let property_set = match property_set_ids.get(set.as_slice()) {
                    Some(&p) => p,
                    None => {
                        let p = property_sets.len() as u32;
                        property_sets.push(set.clone());
                        property_set_ids.insert(set.clone(), p);
                        p
                    }
                };
                SlotClass::PlainObject {
                    property_set,
                    raw_name_index: g.name_index(node),
                }
            } else {
                SlotClass::Named {
                    class_index: a.class_index[node as usize],
                }
            };
            let identity_name = if kind == NodeKind::Object {
                g.name_index(node)
            } else {
                u32::MAX
            };
            let key = SlotKey {
                location,
                class,
                kind_code: g.raw.nodes.kind[node as usize],
                identity_name,
            };
            let direct = match (&key.location, &key.class) {
                (None, SlotClass::Named { class_index }) => Some(*class_index as usize),
                _ => None,
            };
            let fast = direct
                .map(|c| unlocated_slot[c])
                .filter(|&s| s != u32::MAX && slot_key_of[s as usize] == key);
            let slot = match fast.or_else(|| slot_of_key.get(&key).copied()) {
                Some(s) => s,
                None => {
                    let s = slot_table.len() as u32;
                    slot_table.push(ClassSlot {
                        location,
                        class: key.class.clone(),
                        own_name: a.class_name(node).into_owned(),
                        first_ordinal: node,
                        identity: object_identity(&g.raw, node),
                    });
                    if let Some(c) = direct {
                        if unlocated_slot[c] == u32::MAX {
                            unlocated_slot[c] = s;
                        }
                    }
                    slot_key_of.push(key.clone());
                    slot_of_key.insert(key, s);
                    s
                }
            };
            slot_of_node.push(slot);
            if let Some(c) = collection_size(a, &mut collection_names, node) {
                collections.push(c);
            }
        }

        // Sorting (id, ordinal) packed in a u64 reads no other memory while sorting.
        let mut packed: Vec<u64> = (0..n as u32)
            .map(|o| (g.id(o) as u64) << 32 | o as u64)
            .collect();
        packed.sort_unstable();
        let ids: Vec<u32> = packed.iter().map(|&p| (p >> 32) as u32).collect();
        let order: Vec<u32> = packed.iter().map(|&p| p as u32).collect();
        drop(packed);
        let self_sizes = order.iter().map(|&o| g.self_size(o)).collect();
        let slots = order.iter().map(|&o| slot_of_node[o as usize]).collect();
        collections.sort_unstable_by_key(|c| c.id);
        IdIndex {
            ids,
            self_sizes,
            slots,
            ordinals: order,
            slot_table,
            property_names,
            property_sets,
            classes: a
                .classes
                .iter()
                .map(|c| ClassTotals {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    count: c.count,
                    self_size: c.self_size,
                    retained_size: c.retained_size,
                })
                .collect(),
            collections,
            max_js_id,
            node_count: n,
            total_size: a.statistics.total,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Object ids, ascending.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Shallow size of the node at position `i` (in id order).
    pub fn self_size_at(&self, i: usize) -> u32 {
        self.self_sizes[i]
    }

    /// Node ordinal in the source snapshot of the node at position `i`.
    pub fn ordinal_at(&self, i: usize) -> u32 {
        self.ordinals[i]
    }

    /// Class slot of the node at position `i`.
    pub fn slot_at(&self, i: usize) -> u32 {
        self.slots[i]
    }

    /// The class name a slot has under the snapshot's own interface definitions.
    pub fn own_name_of_slot(&self, slot: u32) -> &str {
        &self.slot_table[slot as usize].own_name
    }

    /// What the object at position `i` is (see [`object_identity`]).
    pub fn identity_at(&self, i: usize) -> (u8, &str) {
        let s = &self.slot_table[self.slots[i] as usize];
        (s.identity.0, &s.identity.1)
    }

    /// Class keys of every slot under the given interface definitions (the snapshot's own,
    /// from [`interface_definitions`], or another snapshot's), as DevTools'
    /// `getAggregatesByClassKey` makes them.
    pub fn resolve(&self, defs: &[Interface]) -> ResolvedClasses {
        let matcher = InterfaceMatcher::new(defs);
        let name_rank: Vec<Option<u32>> = self
            .property_names
            .iter()
            .map(|p| matcher.rank(p))
            .collect();
        let mut ranks: Vec<u32> = Vec::new();
        let interface_of_set: Vec<Option<usize>> = self
            .property_sets
            .iter()
            .map(|set| {
                ranks.clear();
                ranks.extend(set.iter().filter_map(|&p| name_rank[p as usize]));
                ranks.sort_unstable();
                if defs.is_empty() {
                    None
                } else {
                    matcher.best(&ranks)
                }
            })
            .collect();

        // DevTools' internal key: the class string index, or the location string. An
        // interface name gets one string index per name (its `#interfaceNames` map).
        #[derive(PartialEq, Eq, Hash)]
        enum Internal {
            Index(u32),
            Interface(usize),
            Located(String),
        }
        let mut internal_ids: HashMap<Internal, u32> = HashMap::new();
        let mut internal_first: Vec<u32> = Vec::new();
        let mut internal_public: Vec<(String, String)> = Vec::new();
        let mut internal_of_slot: Vec<u32> = Vec::with_capacity(self.slot_table.len());
        for slot in &self.slot_table {
            let (internal, name) = match slot.class {
                SlotClass::Named { class_index } => {
                    (Internal::Index(class_index), slot.own_name.clone())
                }
                SlotClass::PlainObject {
                    property_set,
                    raw_name_index,
                } => match interface_of_set[property_set as usize] {
                    Some(i) => (Internal::Interface(i), defs[i].name.clone()),
                    None => (Internal::Index(raw_name_index), "Object".to_string()),
                },
            };
            let (internal, public) = match slot.location {
                Some((script, line, column)) => {
                    let key = format!("{script},{line},{column},{name}");
                    (Internal::Located(key.clone()), key)
                }
                None => (internal, format!(",{name}")),
            };
            let next = internal_ids.len() as u32;
            let id = *internal_ids.entry(internal).or_insert(next);
            if id == next {
                internal_first.push(slot.first_ordinal);
                internal_public.push((public, name));
            } else {
                let f = &mut internal_first[id as usize];
                *f = (*f).min(slot.first_ordinal);
            }
            internal_of_slot.push(id);
        }
        // A public key belongs to the internal key seen last (by its first node).
        let mut winner: HashMap<&str, u32> = HashMap::new();
        for (id, (public, _)) in internal_public.iter().enumerate() {
            let id = id as u32;
            winner
                .entry(public.as_str())
                .and_modify(|w| {
                    if internal_first[id as usize] > internal_first[*w as usize] {
                        *w = id;
                    }
                })
                .or_insert(id);
        }
        let mut key_of_internal: Vec<Option<u32>> = vec![None; internal_public.len()];
        let mut keys = Vec::new();
        let mut names = Vec::new();
        for (id, (public, name)) in internal_public.iter().enumerate() {
            if winner[public.as_str()] == id as u32 {
                key_of_internal[id] = Some(keys.len() as u32);
                keys.push(public.clone());
                names.push(name.clone());
            }
        }
        ResolvedClasses {
            key_of_slot: internal_of_slot
                .iter()
                .map(|&i| key_of_internal[i as usize])
                .collect(),
            keys,
            names,
        }
    }
}

/// The `{a, b}` interface definitions of an analysed snapshot (DevTools'
/// `interfaceDefinitions()`), to classify another snapshot's plain objects like this one's.
pub fn interface_definitions(a: &Analysis) -> Vec<Interface> {
    names::infer_interfaces(&a.graph)
}
