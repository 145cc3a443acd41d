//! Class names (`calculateObjectNames` and the `{a, b}` interface inference of
//! `inferInterfaceDefinitions`/`applyInterfaceDefinitions`) and display names (`name()`:
//! cons strings rebuilt up to 1024 characters, `{a, b, …, z}` names of plain objects).
//!
//! String lengths and orderings follow JavaScript: lengths count UTF-16 code units and
//! comparisons order by them, so names cut and sort exactly where DevTools' do.

use std::cmp::Ordering;
use std::collections::HashMap;

use heapscope_format::{EdgeKind, NodeKind};

use crate::graph::HeapGraph;

const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

/// JavaScript `string.length`.
pub fn js_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// JavaScript's default string comparison (UTF-16 code units).
pub fn js_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// DevTools' `formatPropertyName`: names with `,'"{}` are shown JSON-quoted.
pub fn format_property_name(name: &str) -> String {
    if !name.contains([',', '\'', '"', '{', '}']) {
        return name.to_string();
    }
    json_quote(name)
}

/// `JSON.stringify(string)`.
pub fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Strings derived during naming, to append to the string table in order (so that index
/// `base + k` is `list[k]`). Kept apart so naming can run beside other phases.
pub struct NewStrings {
    pub base: u32,
    pub list: Vec<String>,
}

impl NewStrings {
    fn add(&mut self, s: String) -> u32 {
        self.list.push(s);
        self.base + self.list.len() as u32 - 1
    }
}

/// Computes every node's class name index. Indexes at or above `NewStrings::base` name derived
/// strings the caller appends. Mirrors `calculateObjectNames` followed by the interface
/// definitions.
pub fn class_indexes(g: &HeapGraph) -> (Vec<u32>, NewStrings) {
    let n = g.node_count();
    let mut fresh = NewStrings {
        base: g.raw.strings.len() as u32,
        list: Vec::new(),
    };
    let mut added: HashMap<String, u32> = HashMap::new();
    let mut index_for = |fresh: &mut NewStrings, s: String| -> u32 {
        if let Some(&i) = added.get(&s) {
            return i;
        }
        let i = fresh.add(s.clone());
        added.insert(s, i);
        i
    };
    let hidden = index_for(&mut fresh, "(system)".into());
    let code = index_for(&mut fresh, "(compiled code)".into());
    let function = index_for(&mut fresh, "Function".into());
    let regexp = index_for(&mut fresh, "RegExp".into());
    // `(string)`, `(number)`, … by stored kind code.
    let mut by_kind: [Option<u32>; 256] = [None; 256];
    let mut classes = Vec::with_capacity(n);
    for node in 0..n as u32 {
        let class = match g.kind(node) {
            NodeKind::Hidden => hidden,
            NodeKind::Object | NodeKind::Native => {
                let name_index = g.name_index(node);
                if g.raw.strings.starts_with(name_index, "<") {
                    let name = g.raw.strings.get(name_index).into_owned();
                    let short = match name.find(' ') {
                        Some(sp) => format!("{}>", &name[..sp]),
                        None => name,
                    };
                    index_for(&mut fresh, short)
                } else if g.raw.strings.starts_with(name_index, "Detached <") {
                    let name = g.raw.strings.get(name_index).into_owned();
                    let short = match name[10..].find(' ') {
                        Some(sp) => format!("{}>", &name[..10 + sp]),
                        None => name,
                    };
                    index_for(&mut fresh, short)
                } else {
                    name_index
                }
            }
            NodeKind::Code => code,
            NodeKind::Closure => function,
            NodeKind::RegExp => regexp,
            _ => {
                let code = g.raw.nodes.kind[node as usize] as usize;
                match by_kind[code] {
                    Some(i) => i,
                    None => {
                        let i = index_for(&mut fresh, format!("({})", g.raw.node_type_name(node)));
                        by_kind[code] = Some(i);
                        i
                    }
                }
            }
        };
        classes.push(class);
    }
    let definitions = infer_interfaces(g);
    apply_interfaces(g, &definitions, &mut classes, &mut fresh);
    (classes, fresh)
}

/// DevTools' `isPlainJSObject`: an `object` node named `Object`.
pub fn is_plain_object(g: &HeapGraph, node: u32) -> bool {
    g.kind(node) == NodeKind::Object && g.raw_name_is(node, "Object")
}

/// An inferred interface: its display name and its property names (in first-seen order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub properties: Vec<String>,
}

/// Facts about property-name strings, computed once per string index.
struct PropertyNames<'a> {
    g: &'a HeapGraph,
    /// JS length of `format_property_name(name)`; `u32::MAX` until computed.
    formatted_len: Vec<u32>,
    /// 0 unknown, 1 ordinary, 2 `__proto__`.
    kind: Vec<u8>,
}

impl<'a> PropertyNames<'a> {
    fn new(g: &'a HeapGraph) -> Self {
        let n = g.raw.strings.len();
        PropertyNames {
            g,
            formatted_len: vec![u32::MAX; n],
            kind: vec![0; n],
        }
    }

    fn is_proto(&mut self, idx: u32) -> bool {
        let k = &mut self.kind[idx as usize];
        if *k == 0 {
            *k = if self.g.raw.strings.eq(idx, "__proto__") {
                2
            } else {
                1
            };
        }
        *k == 2
    }

    fn formatted_len(&mut self, idx: u32) -> usize {
        let l = &mut self.formatted_len[idx as usize];
        if *l == u32::MAX {
            *l = js_len(&format_property_name(&self.g.raw.strings.get(idx))) as u32;
        }
        *l as usize
    }
}

/// `inferInterfaceDefinitions`: the `{a, b}` interfaces of a snapshot's plain objects, most
/// popular first (what DevTools' `interfaceDefinitions()` returns).
pub fn infer_interfaces(g: &HeapGraph) -> Vec<Interface> {
    let mut names = PropertyNames::new(g);
    // Candidates keyed by their property string indexes (V8 deduplicates strings, so equal
    // sequences mean equal names); merged by name text below to be exact regardless.
    let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut seqs: Vec<(Vec<u32>, u64)> = Vec::new();
    let mut total: u64 = 0;
    let mut key: Vec<u32> = Vec::new();
    for node in 0..g.node_count() as u32 {
        if !is_plain_object(g, node) {
            continue;
        }
        total += 1;
        key.clear();
        let mut name_len = 1usize;
        for e in g.edges(node) {
            if g.edge_kind(e) != EdgeKind::Property {
                continue;
            }
            let idx = g.raw.edges.name_or_index[e as usize];
            if names.is_proto(idx) {
                continue;
            }
            let flen = names.formatted_len(idx);
            if name_len > 1 && name_len + flen > MAX_INTERFACE_NAME_LENGTH {
                break;
            }
            if name_len != 1 {
                name_len += 2;
            }
            name_len += flen;
            key.push(idx);
        }
        if key.is_empty() {
            continue;
        }
        match index.get(key.as_slice()) {
            Some(&i) => seqs[i].1 += 1,
            None => {
                index.insert(key.clone(), seqs.len());
                seqs.push((key.clone(), 1));
            }
        }
    }
    let mut order: Vec<(String, Vec<String>, u64)> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (seq, count) in seqs {
        let properties: Vec<String> = seq
            .iter()
            .map(|&i| g.raw.strings.get(i).into_owned())
            .collect();
        let formatted: Vec<String> = properties.iter().map(|p| format_property_name(p)).collect();
        let name = format!("{{{}}}", formatted.join(", "));
        match by_name.get(&name) {
            Some(&i) => order[i].2 += count,
            None => {
                by_name.insert(name.clone(), order.len());
                order.push((name, properties, count));
            }
        }
    }
    // Stable sort by popularity; ties keep first-seen order, as V8's stable Array.sort does.
    order.sort_by_key(|c| std::cmp::Reverse(c.2));
    let min_count =
        MIN_OBJECT_COUNT_PER_INTERFACE.max(total as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    order
        .into_iter()
        .take_while(|c| c.2 as f64 >= min_count)
        .map(|(name, properties, _)| Interface { name, properties })
        .collect()
}

#[derive(Clone, Copy)]
struct MatchInfo {
    interface: usize,
    property_count: usize,
}

fn better(a: Option<MatchInfo>, b: Option<MatchInfo>) -> Option<MatchInfo> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => {
            if x.property_count != y.property_count {
                Some(if x.property_count > y.property_count {
                    x
                } else {
                    y
                })
            } else {
                Some(if x.interface <= y.interface { x } else { y })
            }
        }
    }
}

/// A node of DevTools' property tree; edges are property ranks (position in JS sort order).
#[derive(Default)]
struct TreeNode {
    next: Vec<(u32, u32)>,
    greatest_next: Option<u32>,
    matched: Option<MatchInfo>,
}

/// The matching half of `applyInterfaceDefinitions`: DevTools' property tree over a list of
/// interface definitions. A plain object takes the name of the interface with the most
/// properties (then the earliest) whose properties it all has. Property names are compared
/// by rank in JavaScript's sort order. Public so that a snapshot's plain objects can be
/// classified with another snapshot's definitions, as DevTools' Comparison view does.
pub struct InterfaceMatcher {
    rank_by_content: HashMap<String, u32>,
    tree: Vec<TreeNode>,
}

impl InterfaceMatcher {
    pub fn new(defs: &[Interface]) -> InterfaceMatcher {
        let mut contents: Vec<&str> = defs
            .iter()
            .flat_map(|d| d.properties.iter().map(String::as_str))
            .collect();
        contents.sort_by(|a, b| js_cmp(a, b));
        contents.dedup();
        let rank_by_content: HashMap<String, u32> = contents
            .iter()
            .enumerate()
            .map(|(r, c)| (c.to_string(), r as u32))
            .collect();
        let mut tree: Vec<TreeNode> = vec![TreeNode::default()];
        for (index, def) in defs.iter().enumerate() {
            let mut ranks: Vec<u32> = def
                .properties
                .iter()
                .map(|p| rank_by_content[p.as_str()])
                .collect();
            ranks.sort_unstable();
            let mut cur = 0usize;
            for &r in &ranks {
                let next = match tree[cur].next.iter().find(|(k, _)| *k == r) {
                    Some(&(_, x)) => x as usize,
                    None => {
                        let x = tree.len();
                        tree.push(TreeNode::default());
                        tree[cur].next.push((r, x as u32));
                        if tree[cur].greatest_next.is_none_or(|gn| gn < r) {
                            tree[cur].greatest_next = Some(r);
                        }
                        x
                    }
                };
                cur = next;
            }
            if tree[cur].matched.is_none() {
                tree[cur].matched = Some(MatchInfo {
                    interface: index,
                    property_count: ranks.len(),
                });
            }
        }
        InterfaceMatcher {
            rank_by_content,
            tree,
        }
    }

    /// The rank of a property name, or `None` when no definition has it.
    pub fn rank(&self, property: &str) -> Option<u32> {
        self.rank_by_content.get(property).copied()
    }

    /// The index of the matching definition for an object whose properties have these ranks
    /// (sorted ascending; properties without a rank left out — they can never move the walk
    /// forward), or `None` when it stays `Object`.
    pub fn best(&self, sorted_ranks: &[u32]) -> Option<usize> {
        let tree = &self.tree;
        let mut states: Vec<usize> = vec![0];
        let mut next_states: Vec<usize> = Vec::new();
        let mut best = tree[0].matched;
        for &r in sorted_ranks {
            next_states.clear();
            for &s in &states {
                if tree[s].greatest_next.is_some_and(|gn| r < gn) {
                    next_states.push(s);
                }
                if let Some(&(_, nx)) = tree[s].next.iter().find(|(k, _)| *k == r) {
                    let nx = nx as usize;
                    if !next_states.contains(&nx) {
                        next_states.push(nx);
                    }
                    best = better(best, tree[nx].matched);
                }
            }
            std::mem::swap(&mut states, &mut next_states);
            if states.is_empty() {
                break;
            }
        }
        best.map(|m| m.interface)
    }
}

/// `applyInterfaceDefinitions` over every plain object of the graph.
fn apply_interfaces(
    g: &HeapGraph,
    defs: &[Interface],
    classes: &mut [u32],
    fresh: &mut NewStrings,
) {
    if defs.is_empty() {
        return;
    }
    let matcher = InterfaceMatcher::new(defs);
    const UNKNOWN: u32 = u32::MAX - 1;
    const ABSENT: u32 = u32::MAX;
    let mut rank_of = vec![UNKNOWN; g.raw.strings.len()];
    let mut name_index: Vec<Option<u32>> = vec![None; defs.len()];
    let mut ranks: Vec<u32> = Vec::new();
    for node in 0..g.node_count() as u32 {
        if !is_plain_object(g, node) {
            continue;
        }
        ranks.clear();
        for e in g.edges(node) {
            if g.edge_kind(e) != EdgeKind::Property {
                continue;
            }
            let idx = g.raw.edges.name_or_index[e as usize] as usize;
            if rank_of[idx] == UNKNOWN {
                let text = g.raw.strings.get(idx as u32);
                rank_of[idx] = matcher.rank(text.as_ref()).unwrap_or(ABSENT);
            }
            if rank_of[idx] != ABSENT {
                ranks.push(rank_of[idx]);
            }
        }
        ranks.sort_unstable();
        if let Some(m) = matcher.best(&ranks) {
            let idx = *name_index[m].get_or_insert_with(|| fresh.add(defs[m].name.clone()));
            classes[node as usize] = idx;
        }
    }
}

/// DevTools' display name of a node (`JSHeapSnapshotNode.name()`).
pub fn display_name(g: &HeapGraph, node: u32) -> String {
    match g.kind(node) {
        NodeKind::ConsString => cons_string_text(g, node, 1024),
        NodeKind::Object if g.raw_name_is(node, "Object") => plain_object_name(g, node),
        _ => g.raw_name(node).into_owned(),
    }
}

/// A cons string's text, rebuilt from its `first`/`second` parts until it is at least
/// `max_len` UTF-16 units long (DevTools' `consStringName` uses 1024). A step budget keeps a
/// malformed snapshot whose parts form a cycle from looping forever.
pub fn cons_string_text(g: &HeapGraph, node: u32, max_len: usize) -> String {
    const MAX_STEPS: usize = 1 << 22;
    let mut stack = vec![node];
    let mut name = String::new();
    let mut len = 0usize;
    let mut steps = 0usize;
    while len < max_len && steps < MAX_STEPS {
        steps += 1;
        let Some(n) = stack.pop() else { break };
        if g.kind(n) != NodeKind::ConsString {
            let part = g.raw_name(n);
            len += js_len(&part);
            name.push_str(&part);
            continue;
        }
        let (mut first, mut second) = (0u32, 0u32);
        for e in g.edges(n) {
            if first != 0 && second != 0 {
                break;
            }
            if g.edge_kind(e) == EdgeKind::Internal {
                if g.edge_name_is(e, "first") {
                    first = g.to_node(e);
                } else if g.edge_name_is(e, "second") {
                    second = g.to_node(e);
                }
            }
        }
        stack.push(second);
        stack.push(first);
    }
    name
}

fn plain_object_name(g: &HeapGraph, node: u32) -> String {
    let range = g.edges(node);
    if range.is_empty() {
        return "{}".into();
    }
    let (mut start, mut end) = (String::from("{"), String::from("}"));
    let (mut start_len, mut end_len) = (1usize, 1usize);
    let mut from_start = range.start as i64;
    let mut from_end = range.end as i64 - 1;
    let mut next_from_end = false;
    while from_start <= from_end {
        let e = if next_from_end { from_end } else { from_start } as u32;
        if g.edge_kind(e) != EdgeKind::Property || g.edge_name_is(e, "__proto__") {
            if next_from_end {
                from_end -= 1;
            } else {
                from_start += 1;
            }
            continue;
        }
        let formatted = format_property_name(&g.edge_name(e));
        let flen = js_len(&formatted);
        if start_len > 1 && start_len + end_len + flen > 100 {
            break;
        }
        if next_from_end {
            from_end -= 1;
            if end_len > 1 {
                end.insert_str(0, ", ");
                end_len += 2;
            }
            end.insert_str(0, &formatted);
            end_len += flen;
        } else {
            from_start += 1;
            if start_len > 1 {
                start.push_str(", ");
                start_len += 2;
            }
            start.push_str(&formatted);
            start_len += flen;
        }
        next_from_end = !next_from_end;
    }
    if from_start <= from_end {
        start.push_str(", …");
    }
    if end_len > 1 {
        start.push_str(", ");
    }
    start + &end
}
