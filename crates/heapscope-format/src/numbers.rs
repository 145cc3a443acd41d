//! Parsing of the numeric arrays (`nodes`, `edges`, `locations`, …) straight into columns.
//!
//! This is the hot loop of loading: a 1 GB snapshot is ~90 % digits and commas. Values are
//! validated as they arrive (type indexes, `to_node` alignment and range, counts), so an error
//! names the exact byte offset and element.

use crate::error::{describe_byte, FormatError, Location};
use crate::header::Header;
use crate::snapshot::{EdgeColumns, NodeColumns};

/// Do not trust declared counts for more than this much preallocation.
const MAX_PREALLOC: u64 = 1 << 26;

/// What a numeric array is parsed into.
pub(crate) enum NumericArray {
    Nodes(Header, Box<NodeColumns>),
    /// Header, node count (for `to_node` range checks), columns.
    Edges(Header, u64, Box<EdgeColumns>),
    /// Small sections kept as plain signed integers.
    Flat {
        section: &'static str,
        values: Vec<i64>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    TraceNodeId,
    Detachedness,
    Ignore,
}

pub(crate) struct NumberSink {
    target: NumericArray,
    /// Meaning of each field position in a row.
    slots: Vec<Slot>,
    field: usize,
    count: u64,
    limit: u64,
    in_number: bool,
    negative: bool,
    value: u64,
    expect_value: bool,
    edge_sum: u64,
}

impl NumberSink {
    pub(crate) fn new(mut target: NumericArray) -> NumberSink {
        let mut slots = Vec::new();
        let mut limit = u64::MAX;
        match &mut target {
            NumericArray::Nodes(h, cols) => {
                let l = &h.nodes;
                slots = vec![Slot::Ignore; l.field_count];
                slots[l.type_] = Slot::Type;
                slots[l.name] = Slot::Name;
                slots[l.id] = Slot::Id;
                slots[l.self_size] = Slot::SelfSize;
                slots[l.edge_count] = Slot::EdgeCount;
                if let Some(t) = l.trace_node_id {
                    slots[t] = Slot::TraceNodeId;
                }
                if let Some(d) = l.detachedness {
                    slots[d] = Slot::Detachedness;
                }
                limit = h.node_count * l.field_count as u64;
                let cap = h.node_count.min(MAX_PREALLOC) as usize;
                cols.kind.reserve(cap);
                cols.raw_type.reserve(cap);
                cols.name.reserve(cap);
                cols.id.reserve(cap);
                cols.self_size.reserve(cap);
                cols.edge_count.reserve(cap);
                if l.trace_node_id.is_some() && h.trace_function_count > 0 {
                    cols.trace_node_id.reserve(cap);
                }
                if l.detachedness.is_some() {
                    cols.detachedness.reserve(cap);
                }
            }
            NumericArray::Edges(h, _, cols) => {
                let l = &h.edges;
                slots = vec![Slot::Ignore; l.field_count];
                slots[l.type_] = Slot::Type;
                slots[l.name_or_index] = Slot::Name;
                slots[l.to_node] = Slot::Id;
                limit = h.edge_count * l.field_count as u64;
                let cap = h.edge_count.min(MAX_PREALLOC) as usize;
                cols.kind.reserve(cap);
                cols.raw_type.reserve(cap);
                cols.name_or_index.reserve(cap);
                cols.to_node.reserve(cap);
            }
            NumericArray::Flat { .. } => {}
        }
        NumberSink {
            target,
            slots,
            field: 0,
            count: 0,
            limit,
            in_number: false,
            negative: false,
            value: 0,
            expect_value: true,
            edge_sum: 0,
        }
    }

    pub(crate) fn elements(&self) -> u64 {
        self.count
    }

    fn section(&self) -> &'static str {
        match &self.target {
            NumericArray::Nodes(..) => "nodes",
            NumericArray::Edges(..) => "edges",
            NumericArray::Flat { section, .. } => section,
        }
    }

    fn at(&self, offset: u64) -> Location {
        Location {
            byte_offset: Some(offset),
            section: Some(self.section().to_string()),
            element: Some(self.count),
        }
    }

    fn strict(&self) -> bool {
        !matches!(self.target, NumericArray::Flat { .. })
    }

    /// Parses as much of `bytes` as belongs to this array. Returns the bytes consumed and
    /// whether the closing `]` was reached. `offset` is the absolute offset of `bytes[0]`.
    pub(crate) fn parse(
        &mut self,
        bytes: &[u8],
        offset: u64,
    ) -> Result<(usize, bool), FormatError> {
        let strict = self.strict();
        let max = if strict {
            u32::MAX as u64
        } else {
            i64::MAX as u64 / 10
        };
        let mut i = 0;
        let len = bytes.len();
        while i < len {
            let b = bytes[i];
            if b.is_ascii_digit() {
                let mut v = if self.in_number {
                    self.value
                } else {
                    if !self.expect_value {
                        return Err(FormatError::Syntax {
                            expected: "`,` or `]` between numbers".into(),
                            found: describe_byte(b),
                            at: self.at(offset + i as u64),
                        });
                    }
                    0
                };
                let start = i;
                while i < len {
                    let d = bytes[i].wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    v = v * 10 + d as u64;
                    if v > max {
                        let mut end = i;
                        while end < len && bytes[end].is_ascii_digit() {
                            end += 1;
                        }
                        return Err(FormatError::NumberTooLarge {
                            found: String::from_utf8_lossy(&bytes[start..end]).into_owned() + "…",
                            at: self.at(offset + start as u64),
                        });
                    }
                    i += 1;
                }
                if i == len {
                    self.value = v;
                    self.in_number = true;
                    break;
                }
                self.in_number = false;
                self.expect_value = false;
                let neg = std::mem::take(&mut self.negative);
                self.commit(v, neg, offset + start as u64)?;
                continue;
            }
            if self.in_number {
                self.in_number = false;
                self.expect_value = false;
                let neg = std::mem::take(&mut self.negative);
                self.commit(self.value, neg, offset + i as u64)?;
            }
            match b {
                b',' => {
                    if self.expect_value {
                        return Err(FormatError::Syntax {
                            expected: "a number".into(),
                            found: "`,`".into(),
                            at: self.at(offset + i as u64),
                        });
                    }
                    self.expect_value = true;
                }
                b']' => {
                    if self.expect_value && self.count > 0 {
                        return Err(FormatError::Syntax {
                            expected: "a number after `,`".into(),
                            found: "`]`".into(),
                            at: self.at(offset + i as u64),
                        });
                    }
                    return Ok((i + 1, true));
                }
                b' ' | b'\n' | b'\r' | b'\t' => {}
                b'-' if !strict && self.expect_value && !self.negative => self.negative = true,
                b'.' | b'e' | b'E' | b'-' => return Err(FormatError::Syntax {
                    expected: format!(
                        "a non-negative integer in `{}` (V8 writes no fractions or signs there)",
                        self.section()
                    ),
                    found: describe_byte(b),
                    at: self.at(offset + i as u64),
                }),
                _ => {
                    return Err(FormatError::Syntax {
                        expected: "a number, `,` or `]`".into(),
                        found: describe_byte(b),
                        at: self.at(offset + i as u64),
                    })
                }
            }
            i += 1;
        }
        Ok((len, false))
    }

    #[inline]
    fn commit(&mut self, v: u64, negative: bool, offset: u64) -> Result<(), FormatError> {
        if self.count >= self.limit {
            return Err(FormatError::Inconsistent {
                what: format!(
                    "`{}` has more elements than the header's count × fields ({})",
                    self.section(),
                    self.limit
                ),
                at: self.at(offset),
            });
        }
        let slot = self.slots.get(self.field).copied().unwrap_or(Slot::Ignore);
        let v32 = v as u32;
        match &mut self.target {
            NumericArray::Nodes(h, cols) => {
                match slot {
                    Slot::Type => {
                        let Some(&kind) = h.node_kind_map.get(v as usize) else {
                            return Err(FormatError::Inconsistent {
                                what: format!(
                                    "node type index {v} is out of range (meta.node_types has {} types)",
                                    h.node_types.len()
                                ),
                                at: self.at_static(offset, "nodes"),
                            });
                        };
                        cols.kind.push(kind as u8);
                        cols.raw_type.push(v as u8);
                    }
                    Slot::Name => cols.name.push(v32),
                    Slot::Id => cols.id.push(v32),
                    Slot::SelfSize => cols.self_size.push(v32),
                    Slot::EdgeCount => {
                        self.edge_sum += v;
                        cols.edge_count.push(v32)
                    }
                    Slot::TraceNodeId => {
                        if h.trace_function_count > 0 {
                            cols.trace_node_id.push(v32)
                        }
                    }
                    Slot::Detachedness => cols.detachedness.push(v.min(255) as u8),
                    Slot::Ignore => {}
                }
                self.field += 1;
                if self.field == self.slots.len() {
                    self.field = 0;
                }
            }
            NumericArray::Edges(h, node_count, cols) => {
                match slot {
                    Slot::Type => {
                        let Some(&kind) = h.edge_kind_map.get(v as usize) else {
                            return Err(FormatError::Inconsistent {
                                what: format!(
                                    "edge type index {v} is out of range (meta.edge_types has {} types)",
                                    h.edge_types.len()
                                ),
                                at: self.at_static(offset, "edges"),
                            });
                        };
                        cols.kind.push(kind as u8);
                        cols.raw_type.push(v as u8);
                    }
                    Slot::Name => cols.name_or_index.push(v32),
                    Slot::Id => {
                        let nfc = h.nodes.field_count as u64;
                        if v % nfc != 0 || v / nfc >= *node_count {
                            return Err(FormatError::Inconsistent {
                                what: format!(
                                    "to_node {v} is {} (node field count {nfc}, {} nodes)",
                                    if v % nfc != 0 {
                                        "not a multiple of the node field count"
                                    } else {
                                        "past the last node"
                                    },
                                    node_count
                                ),
                                at: self.at_static(offset, "edges"),
                            });
                        }
                        cols.to_node.push((v / nfc) as u32);
                    }
                    _ => {}
                }
                self.field += 1;
                if self.field == self.slots.len() {
                    self.field = 0;
                }
            }
            NumericArray::Flat { values, .. } => {
                values.push(if negative { -(v as i64) } else { v as i64 })
            }
        }
        self.count += 1;
        Ok(())
    }

    fn at_static(&self, offset: u64, section: &str) -> Location {
        Location {
            byte_offset: Some(offset),
            section: Some(section.to_string()),
            element: Some(self.count),
        }
    }

    /// Checks the array was complete and returns what was parsed.
    pub(crate) fn finish(self) -> Result<NumericArray, FormatError> {
        if self.count != self.limit && self.limit != u64::MAX {
            let (what, declared) = match &self.target {
                NumericArray::Nodes(h, _) => ("node_count", h.node_count),
                NumericArray::Edges(h, _, _) => ("edge_count", h.edge_count),
                NumericArray::Flat { .. } => ("count", 0),
            };
            return Err(FormatError::Inconsistent {
                what: format!(
                    "`{}` has {} elements but the header says {what} {declared} × {} fields = {}",
                    self.section(),
                    self.count,
                    self.slots.len(),
                    self.limit
                ),
                at: Location {
                    byte_offset: None,
                    section: Some(self.section().to_string()),
                    element: None,
                },
            });
        }
        if let NumericArray::Nodes(h, _) = &self.target {
            if self.edge_sum != h.edge_count {
                return Err(FormatError::inconsistent(
                    format!(
                        "the nodes' edge_count fields add up to {} but the header says edge_count {}",
                        self.edge_sum, h.edge_count
                    ),
                    "nodes",
                    None,
                ));
            }
        }
        Ok(self.target)
    }
}
