//! The heap graph: the parsed columns plus each node's first edge, as flat arrays indexed by
//! node ordinal. Every algorithm in this crate walks these arrays.

use heapscope_format::{EdgeKind, NodeKind, RawSnapshot};

pub struct HeapGraph {
    pub raw: RawSnapshot,
    /// `first_edge[n]..first_edge[n + 1]` are node `n`'s outgoing edge ordinals.
    pub first_edge: Vec<u32>,
    pub root: u32,
}

impl HeapGraph {
    /// Builds `first_edge`; the per-node `edge_count` column is then redundant and dropped.
    pub fn new(mut raw: RawSnapshot) -> HeapGraph {
        let n = raw.node_count();
        let mut first_edge = Vec::with_capacity(n + 1);
        let mut at = 0u32;
        for &c in &raw.nodes.edge_count {
            first_edge.push(at);
            at += c;
        }
        first_edge.push(at);
        raw.nodes.edge_count = Vec::new();
        let root = raw.header.root_ordinal();
        HeapGraph {
            raw,
            first_edge,
            root,
        }
    }

    #[inline]
    pub fn node_count(&self) -> usize {
        self.raw.nodes.id.len()
    }

    #[inline]
    pub fn edge_count(&self) -> usize {
        self.raw.edges.to_node.len()
    }

    #[inline]
    pub fn edges(&self, n: u32) -> std::ops::Range<u32> {
        self.first_edge[n as usize]..self.first_edge[n as usize + 1]
    }

    #[inline]
    pub fn kind(&self, n: u32) -> NodeKind {
        NodeKind::from_u8(self.raw.nodes.kind[n as usize])
    }

    #[inline]
    pub fn edge_kind(&self, e: u32) -> EdgeKind {
        EdgeKind::from_u8(self.raw.edges.kind[e as usize])
    }

    #[inline]
    pub fn to_node(&self, e: u32) -> u32 {
        self.raw.edges.to_node[e as usize]
    }

    #[inline]
    pub fn id(&self, n: u32) -> u32 {
        self.raw.nodes.id[n as usize]
    }

    #[inline]
    pub fn self_size(&self, n: u32) -> u32 {
        self.raw.nodes.self_size[n as usize]
    }

    #[inline]
    pub fn name_index(&self, n: u32) -> u32 {
        self.raw.nodes.name[n as usize]
    }

    /// The node's raw name (after the "Detached " renaming, like DevTools' `rawName()`).
    pub fn raw_name(&self, n: u32) -> std::borrow::Cow<'_, str> {
        self.raw.strings.get(self.name_index(n))
    }

    pub fn raw_name_is(&self, n: u32, s: &str) -> bool {
        self.raw.strings.eq(self.name_index(n), s)
    }

    /// The edge's name as DevTools' `edge.name()` returns it: element and hidden edges give
    /// their index; shortcut edges whose name parses as an integer give the integer.
    pub fn edge_name(&self, e: u32) -> String {
        let v = self.raw.edges.name_or_index[e as usize];
        let kind = self.edge_kind(e);
        if !kind.has_string_name() {
            return v.to_string();
        }
        let s = self.raw.strings.get(v);
        if kind == EdgeKind::Shortcut {
            if let Some(n) = js_parse_int(&s) {
                return format_js_number(n);
            }
        }
        s.into_owned()
    }

    /// Whether the edge's name equals `s` (cheap for string-named edges).
    pub fn edge_name_is(&self, e: u32, s: &str) -> bool {
        let v = self.raw.edges.name_or_index[e as usize];
        let kind = self.edge_kind(e);
        if kind.has_string_name() && kind != EdgeKind::Shortcut {
            self.raw.strings.eq(v, s)
        } else {
            self.edge_name(e) == s
        }
    }

    /// Node ordinal that owns edge `e` (binary search; for views, not hot loops).
    pub fn edge_owner(&self, e: u32) -> u32 {
        let i = self.first_edge.partition_point(|&f| f <= e);
        (i - 1) as u32
    }

    /// Ordinal of the node with this id (linear scan; ids are unique in a snapshot).
    pub fn ordinal_of_id(&self, id: u32) -> Option<u32> {
        self.raw
            .nodes
            .id
            .iter()
            .position(|&x| x == id)
            .map(|p| p as u32)
    }
}

/// JavaScript's `parseInt(s, 10)`: optional whitespace and sign, then the longest digit prefix.
pub fn js_parse_int(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    let v: f64 = digits[..end].parse().ok()?;
    Some(if neg { -v } else { v })
}

/// JavaScript's `String(number)` for the integers `js_parse_int` produces.
pub fn format_js_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() < 1e21 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:e}");
        // Rust writes 1e21, JavaScript 1e+21.
        s.replace('e', "e+").replace("e+-", "e-")
    }
}
