//! The `snapshot` header: counts and the `meta` description of every array's layout.
//!
//! V8 describes its own format in the header, so nothing here assumes a fixed number of node
//! fields or a fixed order of node/edge types: offsets are looked up by name, as DevTools does.

use crate::error::FormatError;
use serde_json::Value;

use crate::snapshot::UNKNOWN_KIND_BASE;

/// Node types with a meaning in the analysis. Raw type indexes from the snapshot are mapped to
/// these at parse time; type names we do not know keep their raw name in [`Header::node_types`]
/// and map to [`NodeKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeKind {
    Hidden = 0,
    Array,
    String,
    Object,
    Code,
    Closure,
    RegExp,
    HeapNumber,
    Native,
    Synthetic,
    ConsString,
    SlicedString,
    Symbol,
    BigInt,
    ObjectShape,
    WasmObject,
    Other,
}

impl NodeKind {
    pub const ALL: [NodeKind; 17] = [
        NodeKind::Hidden,
        NodeKind::Array,
        NodeKind::String,
        NodeKind::Object,
        NodeKind::Code,
        NodeKind::Closure,
        NodeKind::RegExp,
        NodeKind::HeapNumber,
        NodeKind::Native,
        NodeKind::Synthetic,
        NodeKind::ConsString,
        NodeKind::SlicedString,
        NodeKind::Symbol,
        NodeKind::BigInt,
        NodeKind::ObjectShape,
        NodeKind::WasmObject,
        NodeKind::Other,
    ];

    pub fn from_name(name: &str) -> NodeKind {
        match name {
            "hidden" => NodeKind::Hidden,
            "array" => NodeKind::Array,
            "string" => NodeKind::String,
            "object" => NodeKind::Object,
            "code" => NodeKind::Code,
            "closure" => NodeKind::Closure,
            "regexp" => NodeKind::RegExp,
            "number" => NodeKind::HeapNumber,
            "native" => NodeKind::Native,
            "synthetic" => NodeKind::Synthetic,
            "concatenated string" => NodeKind::ConsString,
            "sliced string" => NodeKind::SlicedString,
            "symbol" => NodeKind::Symbol,
            "bigint" => NodeKind::BigInt,
            "object shape" => NodeKind::ObjectShape,
            "wasm object" => NodeKind::WasmObject,
            _ => NodeKind::Other,
        }
    }

    pub fn from_u8(v: u8) -> NodeKind {
        NodeKind::ALL
            .get(v as usize)
            .copied()
            .unwrap_or(NodeKind::Other)
    }

    /// The name V8 uses for this type in `meta.node_types`.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Hidden => "hidden",
            NodeKind::Array => "array",
            NodeKind::String => "string",
            NodeKind::Object => "object",
            NodeKind::Code => "code",
            NodeKind::Closure => "closure",
            NodeKind::RegExp => "regexp",
            NodeKind::HeapNumber => "number",
            NodeKind::Native => "native",
            NodeKind::Synthetic => "synthetic",
            NodeKind::ConsString => "concatenated string",
            NodeKind::SlicedString => "sliced string",
            NodeKind::Symbol => "symbol",
            NodeKind::BigInt => "bigint",
            NodeKind::ObjectShape => "object shape",
            NodeKind::WasmObject => "wasm object",
            NodeKind::Other => "other",
        }
    }
}

/// Edge types, mapped from the snapshot's raw indexes like [`NodeKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EdgeKind {
    Context = 0,
    Element,
    Property,
    Internal,
    Hidden,
    Shortcut,
    Weak,
    Other,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 8] = [
        EdgeKind::Context,
        EdgeKind::Element,
        EdgeKind::Property,
        EdgeKind::Internal,
        EdgeKind::Hidden,
        EdgeKind::Shortcut,
        EdgeKind::Weak,
        EdgeKind::Other,
    ];

    pub fn from_name(name: &str) -> EdgeKind {
        match name {
            "context" => EdgeKind::Context,
            "element" => EdgeKind::Element,
            "property" => EdgeKind::Property,
            "internal" => EdgeKind::Internal,
            "hidden" => EdgeKind::Hidden,
            "shortcut" => EdgeKind::Shortcut,
            "weak" => EdgeKind::Weak,
            _ => EdgeKind::Other,
        }
    }

    pub fn from_u8(v: u8) -> EdgeKind {
        EdgeKind::ALL
            .get(v as usize)
            .copied()
            .unwrap_or(EdgeKind::Other)
    }

    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Context => "context",
            EdgeKind::Element => "element",
            EdgeKind::Property => "property",
            EdgeKind::Internal => "internal",
            EdgeKind::Hidden => "hidden",
            EdgeKind::Shortcut => "shortcut",
            EdgeKind::Weak => "weak",
            EdgeKind::Other => "other",
        }
    }

    /// Element and hidden edges carry an index in `name_or_index`; all others a string index.
    pub fn has_string_name(self) -> bool {
        !matches!(self, EdgeKind::Element | EdgeKind::Hidden)
    }
}

/// Where each field sits in one row of a flat array, by name.
#[derive(Debug, Clone)]
pub struct NodeLayout {
    pub field_count: usize,
    pub type_: usize,
    pub name: usize,
    pub id: usize,
    pub self_size: usize,
    pub edge_count: usize,
    pub trace_node_id: Option<usize>,
    pub detachedness: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct EdgeLayout {
    pub field_count: usize,
    pub type_: usize,
    pub name_or_index: usize,
    pub to_node: usize,
}

/// The parsed `snapshot` header.
#[derive(Debug, Clone)]
pub struct Header {
    pub node_count: u64,
    pub edge_count: u64,
    pub trace_function_count: u64,
    /// Index (in node-array elements, as V8 writes it) of the root node; 0 unless stated.
    pub root_index: u64,
    /// Bytes of native memory V8 reports outside any node (newer V8 only).
    pub extra_native_bytes: u64,
    pub nodes: NodeLayout,
    pub edges: EdgeLayout,
    /// Raw node type names, in the snapshot's order.
    pub node_types: Vec<String>,
    /// Raw edge type names, in the snapshot's order.
    pub edge_types: Vec<String>,
    /// Raw type index → mapped kind.
    pub node_kind_map: Vec<u8>,
    pub edge_kind_map: Vec<u8>,
    pub location_fields: Vec<String>,
    pub sample_fields: Vec<String>,
    pub trace_function_info_fields: Vec<String>,
    pub trace_node_fields: Vec<String>,
}

fn str_list(meta: &Value, key: &str) -> Result<Vec<String>, FormatError> {
    match meta.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    FormatError::BadHeader(format!("`meta.{key}` must be a list of strings"))
                })
            })
            .collect(),
        Some(_) => Err(FormatError::BadHeader(format!(
            "`meta.{key}` must be a list"
        ))),
    }
}

/// Stored kind code per raw type index: the known kind, or [`UNKNOWN_KIND_BASE`] + index.
fn kind_codes(names: &[String], known: impl Fn(&str) -> Option<u8>) -> Vec<u8> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| known(n).unwrap_or(UNKNOWN_KIND_BASE + i as u8))
        .collect()
}

fn position(fields: &[String], name: &str, list: &str) -> Result<usize, FormatError> {
    fields.iter().position(|f| f == name).ok_or_else(|| {
        FormatError::BadHeader(format!(
            "`meta.{list}` has no `{name}` field (fields: {})",
            fields.join(", ")
        ))
    })
}

fn count(header: &Value, key: &str, required: bool) -> Result<u64, FormatError> {
    match header.get(key) {
        None if !required => Ok(0),
        None => Err(FormatError::BadHeader(format!(
            "`snapshot.{key}` is missing"
        ))),
        Some(v) => v.as_u64().ok_or_else(|| {
            FormatError::BadHeader(format!(
                "`snapshot.{key}` must be a non-negative integer, found {v}"
            ))
        }),
    }
}

impl Header {
    /// Parses the JSON text of the `snapshot` object.
    pub fn parse(json: &[u8]) -> Result<Header, FormatError> {
        let header: Value = serde_json::from_slice(json)
            .map_err(|e| FormatError::BadHeader(format!("not valid JSON: {e}")))?;
        let meta = header
            .get("meta")
            .ok_or_else(|| FormatError::BadHeader("`snapshot.meta` is missing".into()))?;
        let node_fields = str_list(meta, "node_fields")?;
        let edge_fields = str_list(meta, "edge_fields")?;
        let nodes = NodeLayout {
            field_count: node_fields.len(),
            type_: position(&node_fields, "type", "node_fields")?,
            name: position(&node_fields, "name", "node_fields")?,
            id: position(&node_fields, "id", "node_fields")?,
            self_size: position(&node_fields, "self_size", "node_fields")?,
            edge_count: position(&node_fields, "edge_count", "node_fields")?,
            trace_node_id: node_fields.iter().position(|f| f == "trace_node_id"),
            detachedness: node_fields.iter().position(|f| f == "detachedness"),
        };
        let edges = EdgeLayout {
            field_count: edge_fields.len(),
            type_: position(&edge_fields, "type", "edge_fields")?,
            name_or_index: position(&edge_fields, "name_or_index", "edge_fields")?,
            to_node: position(&edge_fields, "to_node", "edge_fields")?,
        };
        let type_names = |key: &str, at: usize| -> Result<Vec<String>, FormatError> {
            let list = meta
                .get(key)
                .and_then(|v| v.get(at))
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    FormatError::BadHeader(format!(
                        "`meta.{key}[{at}]` must be a list of type names"
                    ))
                })?;
            list.iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        FormatError::BadHeader(format!("`meta.{key}[{at}]` must hold strings"))
                    })
                })
                .collect()
        };
        let node_types = type_names("node_types", nodes.type_)?;
        let edge_types = type_names("edge_types", edges.type_)?;
        if node_types.len() > 190 || edge_types.len() > 190 {
            return Err(FormatError::BadHeader(
                "more than 190 node or edge types".into(),
            ));
        }
        let header = Header {
            node_count: count(&header, "node_count", true)?,
            edge_count: count(&header, "edge_count", true)?,
            trace_function_count: count(&header, "trace_function_count", false)?,
            root_index: count(&header, "root_index", false)?,
            extra_native_bytes: count(&header, "extra_native_bytes", false)?,
            node_kind_map: kind_codes(&node_types, |n| match NodeKind::from_name(n) {
                NodeKind::Other => None,
                k => Some(k as u8),
            }),
            edge_kind_map: kind_codes(&edge_types, |n| match EdgeKind::from_name(n) {
                EdgeKind::Other => None,
                k => Some(k as u8),
            }),
            node_types,
            edge_types,
            location_fields: str_list(meta, "location_fields")?,
            sample_fields: str_list(meta, "sample_fields")?,
            trace_function_info_fields: str_list(meta, "trace_function_info_fields")?,
            trace_node_fields: str_list(meta, "trace_node_fields")?,
            nodes,
            edges,
        };
        if header.edge_count > u32::MAX as u64 {
            return Err(FormatError::BadHeader(format!(
                "edge_count {} exceeds the 4,294,967,295 edges heapscope supports",
                header.edge_count
            )));
        }
        if header.node_count > (u32::MAX - 2) as u64 {
            return Err(FormatError::BadHeader(format!(
                "node_count {} exceeds the 4,294,967,293 nodes heapscope supports",
                header.node_count
            )));
        }
        if !header
            .root_index
            .is_multiple_of(header.nodes.field_count as u64)
            || (header.node_count > 0
                && header.root_index / header.nodes.field_count as u64 >= header.node_count)
        {
            return Err(FormatError::BadHeader(format!(
                "root_index {} is not the start of a node",
                header.root_index
            )));
        }
        Ok(header)
    }

    /// Ordinal of the root node.
    pub fn root_ordinal(&self) -> u32 {
        (self.root_index / self.nodes.field_count as u64) as u32
    }
}
