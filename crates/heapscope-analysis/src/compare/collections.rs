//! Entry counts of collections — Map, Set, Array, and plain objects used as dictionaries —
//! recorded in each [`super::IdIndex`] so a series can tell which collections keep growing.

use heapscope_format::{EdgeKind, NodeKind};

use crate::Analysis;

/// A collection's entry count, for the growing-collections report of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionSize {
    pub id: u32,
    pub kind: CollectionKind,
    pub entries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    Map,
    Set,
    Array,
    /// A plain object used as a dictionary (at least [`OBJECT_AS_MAP_MIN_PROPERTIES`]).
    ObjectAsMap,
}

impl CollectionKind {
    pub fn label(self) -> &'static str {
        match self {
            CollectionKind::Map => "Map",
            CollectionKind::Set => "Set",
            CollectionKind::Array => "Array",
            CollectionKind::ObjectAsMap => "object-as-map",
        }
    }
}

/// Plain objects with fewer properties are ordinary records, not dictionaries.
pub const OBJECT_AS_MAP_MIN_PROPERTIES: u32 = 16;

/// Which collection a raw node name makes an `object` node, cached per name string index
/// (asking per node would compare strings for millions of objects).
pub(super) struct CollectionNames {
    /// 0 not looked at yet, 1 none, else `1 + CollectionKind as u8`.
    by_name: Vec<u8>,
}

impl CollectionNames {
    pub(super) fn new(a: &Analysis) -> Self {
        CollectionNames {
            by_name: vec![0; a.graph.raw.strings.len()],
        }
    }

    fn kind(&mut self, a: &Analysis, node: u32) -> Option<CollectionKind> {
        const KINDS: [CollectionKind; 4] = [
            CollectionKind::Map,
            CollectionKind::Set,
            CollectionKind::Array,
            CollectionKind::ObjectAsMap,
        ];
        let name = a.graph.name_index(node) as usize;
        if self.by_name[name] == 0 {
            let strings = &a.graph.raw.strings;
            self.by_name[name] = ["Map", "Set", "Array", "Object"]
                .iter()
                .position(|n| strings.eq(name as u32, n))
                .map_or(1, |k| k as u8 + 2);
        }
        match self.by_name[name] {
            0 | 1 => None,
            k => Some(KINDS[k as usize - 2]),
        }
    }
}

/// Entry count of a Map, Set, Array, or a plain object used as a dictionary.
pub(super) fn collection_size(
    a: &Analysis,
    names: &mut CollectionNames,
    node: u32,
) -> Option<CollectionSize> {
    let g = &a.graph;
    if g.kind(node) != NodeKind::Object {
        return None;
    }
    let collection = names.kind(a, node)?;
    let id = g.id(node);
    let count_edges =
        |n: u32, kind: EdgeKind| g.edges(n).filter(|&e| g.edge_kind(e) == kind).count();
    let (kind, entries) = match collection {
        CollectionKind::Map | CollectionKind::Set => {
            // Entries live in the `table` (an OrderedHashMap/Set): one edge per key and, for
            // maps, one per value; numbers stored inline have no edge, so this is a lower
            // bound that grows with the collection.
            let table = g
                .edges(node)
                .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "table"))
                .map(|e| g.to_node(e))?;
            let slots = g
                .edges(table)
                .filter(|&e| {
                    // Slots are numbered edges (V8 writes them as internal edges named by
                    // index); edges to `(system)` objects are holes and header fields.
                    let numbered = match g.edge_kind(e) {
                        EdgeKind::Hidden | EdgeKind::Element => true,
                        EdgeKind::Internal => g.edge_name(e).bytes().all(|b| b.is_ascii_digit()),
                        _ => false,
                    };
                    numbered && g.kind(g.to_node(e)) != NodeKind::Hidden
                })
                .count() as u32;
            if collection == CollectionKind::Map {
                (CollectionKind::Map, slots.div_ceil(2))
            } else {
                (CollectionKind::Set, slots)
            }
        }
        CollectionKind::Array => (
            CollectionKind::Array,
            count_edges(node, EdgeKind::Element) as u32,
        ),
        CollectionKind::ObjectAsMap => {
            let props = count_edges(node, EdgeKind::Property) as u32;
            if props < OBJECT_AS_MAP_MIN_PROPERTIES {
                return None;
            }
            (CollectionKind::ObjectAsMap, props)
        }
    };
    Some(CollectionSize { id, kind, entries })
}
