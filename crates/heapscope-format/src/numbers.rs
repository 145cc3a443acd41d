//! Parsing of the numeric arrays (`nodes`, `edges`, `locations`, …) straight into columns.
//!
//! This is the hot loop of loading: a 1 GB snapshot is ~90 % digits and commas. Each chunk's
//! part of the array is first scanned into a flat buffer of numbers — split in two at a comma
//! and scanned on both cores when large — and then distributed row by row into the columns,
//! validating type indexes, `to_node` alignment and range, and counts. Errors name the byte
//! offset and element.

use crate::error::{describe_byte, FormatError, Location};
use crate::header::Header;
use crate::snapshot::{EdgeColumns, NodeColumns};

/// Do not trust declared counts for more than this much preallocation.
const MAX_PREALLOC: u64 = 1 << 26;
/// Regions larger than this are scanned on two threads.
const PARALLEL_SCAN_BYTES: usize = 1 << 20;

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

/// Scanner state carried across chunk boundaries.
#[derive(Clone, Copy, Debug)]
struct Scan {
    in_number: bool,
    negative: bool,
    value: u64,
    expect_value: bool,
}

impl Scan {
    const FRESH: Scan = Scan {
        in_number: false,
        negative: false,
        value: 0,
        expect_value: true,
    };
}

#[derive(Debug)]
enum ScanError {
    /// A digit where `,` or `]` was expected.
    ExpectedSeparator(usize, u8),
    /// `,` where a number was expected.
    ExpectedNumber(usize),
    TooLarge(usize),
    Invalid(usize, u8),
}

/// Scans numbers out of `region` (which holds no `]`), appending them to `out`.
/// `signed` allows a leading `-` (only small side sections have signed values).
///
/// Written as two alternating tight loops (a number, then a separator) rather than one
/// per-byte state machine: this is the hottest loop of loading.
fn scan(region: &[u8], st: &mut Scan, out: &mut Vec<u64>, signed: bool) -> Result<(), ScanError> {
    let max: u64 = if signed {
        i64::MAX as u64 / 10
    } else {
        u32::MAX as u64
    };
    let n = region.len();
    out.reserve(n / 3);
    let mut i = 0usize;
    let is_ws = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    // Resume what the previous chunk left open.
    let mut negative = st.negative;
    let mut value = st.value;
    let mut in_number = st.in_number;
    let mut expect_value = st.expect_value;
    loop {
        if in_number {
            // Digits of the current number (possibly begun in an earlier chunk).
            let start = i;
            while i < n {
                let d = region[i].wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                value = value * 10 + d as u64;
                if value > max {
                    return Err(ScanError::TooLarge(start));
                }
                i += 1;
            }
            if i == n {
                break;
            }
            out.push(if negative {
                (-(value as i64)) as u64
            } else {
                value
            });
            in_number = false;
            negative = false;
            expect_value = false;
        }
        if expect_value {
            while i < n && is_ws(region[i]) {
                i += 1;
            }
            if i == n {
                break;
            }
            let b = region[i];
            if b.is_ascii_digit() {
                in_number = true;
                value = 0;
                continue;
            }
            match b {
                b',' => return Err(ScanError::ExpectedNumber(i)),
                b'-' if signed && !negative => {
                    negative = true;
                    i += 1;
                    continue;
                }
                _ => return Err(ScanError::Invalid(i, b)),
            }
        }
        // After a number: white space, then a comma.
        while i < n && is_ws(region[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let b = region[i];
        if b == b',' {
            expect_value = true;
            i += 1;
        } else if b.is_ascii_digit() {
            return Err(ScanError::ExpectedSeparator(i, b));
        } else {
            return Err(ScanError::Invalid(i, b));
        }
    }
    *st = Scan {
        in_number,
        negative,
        value,
        expect_value,
    };
    Ok(())
}

pub(crate) struct NumberSink {
    target: NumericArray,
    scan: Scan,
    /// Values of a row not yet complete.
    pending: Vec<u32>,
    /// Values accepted so far (including `pending`).
    count: u64,
    limit: u64,
    field_count: usize,
    edge_sum: u64,
    left: Vec<u64>,
    right: Vec<u64>,
    /// Byte offsets of the values in `pending` (None where unknown).
    pending_offsets: Vec<Option<u64>>,
    /// Where the number in progress at the end of the last chunk started.
    carried_start: Option<u64>,
}

impl NumberSink {
    pub(crate) fn new(mut target: NumericArray) -> NumberSink {
        let mut limit = u64::MAX;
        let mut field_count = 1;
        match &mut target {
            NumericArray::Nodes(h, cols) => {
                let l = &h.nodes;
                field_count = l.field_count;
                limit = h.node_count * l.field_count as u64;
                let cap = h.node_count.min(MAX_PREALLOC) as usize;
                cols.kind.reserve(cap);
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
                field_count = h.edges.field_count;
                limit = h.edge_count * h.edges.field_count as u64;
                let cap = h.edge_count.min(MAX_PREALLOC) as usize;
                cols.kind.reserve(cap);
                cols.name_or_index.reserve(cap);
                cols.to_node.reserve(cap);
            }
            NumericArray::Flat { .. } => {}
        }
        NumberSink {
            target,
            scan: Scan::FRESH,
            pending: Vec::new(),
            count: 0,
            limit,
            field_count,
            edge_sum: 0,
            left: Vec::new(),
            right: Vec::new(),
            pending_offsets: Vec::new(),
            carried_start: None,
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

    fn at(&self, offset: Option<u64>, element: u64) -> Location {
        Location {
            byte_offset: offset,
            section: Some(self.section().to_string()),
            element: Some(element),
        }
    }

    fn scan_error(&self, e: ScanError, region: &[u8], offset: u64, element: u64) -> FormatError {
        let at = |pos: usize| self.at(Some(offset + pos as u64), element);
        match e {
            ScanError::ExpectedSeparator(p, b) => FormatError::Syntax {
                expected: "`,` or `]` between numbers".into(),
                found: describe_byte(b),
                at: at(p),
            },
            ScanError::ExpectedNumber(p) => FormatError::Syntax {
                expected: "a number".into(),
                found: "`,`".into(),
                at: at(p),
            },
            ScanError::TooLarge(p) => {
                let digits: String = region[p..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .take(40)
                    .map(|&b| b as char)
                    .collect();
                FormatError::NumberTooLarge {
                    found: digits,
                    at: at(p),
                }
            }
            ScanError::Invalid(p, b) if matches!(b, b'.' | b'e' | b'E' | b'-' | b'+') => {
                FormatError::Syntax {
                    expected: format!(
                        "a non-negative integer in `{}` (V8 writes no fractions or signs there)",
                        self.section()
                    ),
                    found: describe_byte(b),
                    at: at(p),
                }
            }
            ScanError::Invalid(p, b) => FormatError::Syntax {
                expected: "a number, `,` or `]`".into(),
                found: describe_byte(b),
                at: at(p),
            },
        }
    }

    /// Parses as much of `bytes` as belongs to this array. Returns the bytes consumed and
    /// whether the closing `]` was reached. `offset` is the absolute offset of `bytes[0]`.
    pub(crate) fn parse(
        &mut self,
        bytes: &[u8],
        offset: u64,
    ) -> Result<(usize, bool), FormatError> {
        let close = memchr::memchr(b']', bytes);
        let region = &bytes[..close.unwrap_or(bytes.len())];
        let signed = matches!(self.target, NumericArray::Flat { .. });
        let mut left = std::mem::take(&mut self.left);
        let mut right = std::mem::take(&mut self.right);
        left.clear();
        right.clear();
        let split = if region.len() >= PARALLEL_SCAN_BYTES && !signed {
            memchr::memchr(b',', &region[region.len() / 2..]).map(|c| region.len() / 2 + c + 1)
        } else {
            None
        };
        // A number that began in an earlier chunk: where it started.
        let carried = if self.scan.in_number {
            self.carried_start
        } else {
            None
        };
        let carried_value = self.scan.value;
        let mut st = self.scan;
        let mut scan_error: Option<(ScanError, usize)> = None;
        match split {
            None => {
                if let Err(e) = scan(region, &mut st, &mut left, signed) {
                    scan_error = Some((e, 0));
                }
            }
            Some(split) => {
                let (a, b) = region.split_at(split);
                let mut st_b = Scan::FRESH;
                let (ra, rb) = rayon::join(
                    || scan(a, &mut st, &mut left, false),
                    || scan(b, &mut st_b, &mut right, false),
                );
                if let Err(e) = ra {
                    // What the right half found comes after the error: drop it.
                    right.clear();
                    scan_error = Some((e, 0));
                } else if let Err(e) = rb {
                    scan_error = Some((e, split));
                }
                st = st_b;
            }
        }
        let first = self.count;
        let pending_before = self.pending_offsets.clone();
        let pending_first = first - pending_before.len() as u64;
        let locate = |element: u64| -> Option<u64> {
            if element < first {
                return pending_before
                    .get(element.checked_sub(pending_first)? as usize)
                    .copied()
                    .flatten();
            }
            let k = element - first;
            match carried {
                Some(start) if k == 0 => Some(start),
                // The carried number's digits may continue at byte 0 (one more digit run
                // here) or may have ended with the last chunk.
                Some(_) if !bytes.first().is_some_and(u8::is_ascii_digit) => {
                    Self::locate(bytes, offset, k as usize - 1)
                }
                _ => Self::locate(bytes, offset, k as usize),
            }
        };
        // Values before a syntax error are checked first, so the first problem in the file
        // is the one reported, however the input was chunked.
        let accepted = self
            .accept(&left, &locate)
            .and_then(|()| self.accept(&right, &locate));
        self.left = left;
        self.right = right;
        accepted?;
        if let Some((e, base)) = scan_error {
            let element = self.count;
            let mut err = self.scan_error(e, &region[base..], offset + base as u64, element);
            if let (FormatError::NumberTooLarge { at, found }, Some(start)) = (&mut err, carried) {
                if at.byte_offset == Some(offset + base as u64) {
                    // The number began in an earlier chunk: quote all of it.
                    at.byte_offset = Some(start);
                    *found = format!("{}{found}", carried_value);
                }
            }
            return Err(err);
        }
        self.scan = st;
        let Some(close) = close else {
            self.remember_positions(region, offset, carried);
            return Ok((bytes.len(), false));
        };
        // The array ends here: take the number that ran up to `]`, reject a trailing comma.
        if self.scan.in_number {
            let v = self.scan.value;
            let v = if self.scan.negative {
                (-(v as i64)) as u64
            } else {
                v
            };
            self.scan = Scan::FRESH;
            self.accept(&[v], &locate)?;
        } else if self.scan.expect_value && self.count > 0 {
            return Err(FormatError::Syntax {
                expected: "a number after `,`".into(),
                found: "`]`".into(),
                at: self.at(Some(offset + close as u64), self.count),
            });
        }
        Ok((close + 1, true))
    }

    /// After a chunk: records where the values of the incomplete row and a number still in
    /// progress start, so errors found in the next chunk can name their bytes.
    fn remember_positions(&mut self, region: &[u8], offset: u64, carried: Option<u64>) {
        let trailing = region
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if self.scan.in_number {
            let start = region.len() - trailing;
            // A digit run at byte 0 continues the carried number, if there was one.
            self.carried_start = match carried {
                Some(c) if start == 0 => Some(c),
                _ => Some(offset + start as u64),
            };
        }
        // The pending values this chunk added are its last complete numbers.
        // Offsets of values pending from earlier chunks are still valid (a completed row
        // clears them in `accept`).
        let keep = self.pending_offsets.len().min(self.pending.len());
        let wanted = self.pending.len() - keep;
        let mut starts = Vec::with_capacity(wanted);
        let mut i = if self.scan.in_number {
            region.len() - trailing
        } else {
            region.len()
        };
        while starts.len() < wanted {
            while i > 0 && !region[i - 1].is_ascii_digit() {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            while i > 0 && region[i - 1].is_ascii_digit() {
                i -= 1;
            }
            starts.push(match carried {
                Some(c) if i == 0 => Some(c),
                _ => Some(offset + i as u64),
            });
        }
        while starts.len() < wanted {
            starts.push(None);
        }
        starts.reverse();
        self.pending_offsets.truncate(keep);
        self.pending_offsets.extend(starts);
    }

    /// Byte offset of the `k`-th number that starts in `bytes`, for error messages.
    fn locate(bytes: &[u8], offset: u64, k: usize) -> Option<u64> {
        let mut seen = 0usize;
        let mut prev_digit = false;
        for (i, &b) in bytes.iter().enumerate() {
            let digit = b.is_ascii_digit();
            if digit && !prev_digit {
                if seen == k {
                    return Some(offset + i as u64);
                }
                seen += 1;
            }
            prev_digit = digit;
        }
        None
    }

    /// Accepts scanned values: checks the count and fills complete rows into the columns.
    /// `locate` gives the byte offset of an element, when it is known.
    fn accept(
        &mut self,
        values: &[u64],
        locate: &dyn Fn(u64) -> Option<u64>,
    ) -> Result<(), FormatError> {
        if values.is_empty() {
            return Ok(());
        }
        let first = self.count;
        if let NumericArray::Flat { values: out, .. } = &mut self.target {
            out.extend(values.iter().map(|&v| v as i64));
            self.count += values.len() as u64;
            return Ok(());
        }
        if first + values.len() as u64 > self.limit {
            let element = self.limit;
            return Err(FormatError::Inconsistent {
                what: format!(
                    "`{}` has more elements than the header's count × fields ({})",
                    self.section(),
                    self.limit
                ),
                at: self.at(locate(element), element),
            });
        }
        let nf = self.field_count;
        let mut rest = values;
        let mut row_start = first - self.pending.len() as u64;
        if !self.pending.is_empty() {
            let need = (nf - self.pending.len()).min(rest.len());
            self.pending.extend(rest[..need].iter().map(|&v| v as u32));
            rest = &rest[need..];
            if self.pending.len() == nf {
                let row: Vec<u64> = self.pending.drain(..).map(u64::from).collect();
                self.pending_offsets.clear();
                self.rows(&row)
                    .map_err(|(_, f, e)| e(self.at(locate(row_start + f), row_start + f)))?;
                row_start += nf as u64;
            }
        }
        let full = rest.len() / nf * nf;
        let (rows, remainder) = rest.split_at(full);
        if let Err((row, field, make)) = self.rows(rows) {
            let element = row_start + (row * nf) as u64 + field;
            return Err(make(self.at(locate(element), element)));
        }
        self.pending.extend(remainder.iter().map(|&v| v as u32));
        self.count += values.len() as u64;
        Ok(())
    }

    /// Stores complete rows (a whole number of rows, flat); on error, which row and field.
    #[allow(clippy::type_complexity)]
    fn rows(
        &mut self,
        values: &[u64],
    ) -> Result<(), (usize, u64, Box<dyn FnOnce(Location) -> FormatError>)> {
        let nf = self.field_count;
        let mut bad: Option<usize> = None;
        // Per array kind: the layout is hoisted out of the loop and rows validated inline.
        match &mut self.target {
            NumericArray::Nodes(h, cols) => {
                let l = h.nodes.clone();
                let traced = l.trace_node_id.filter(|_| h.trace_function_count > 0);
                let map = &h.node_kind_map;
                for (r, row) in values.chunks_exact(nf).enumerate() {
                    let t = row[l.type_];
                    let Some(&kind) = map.get(t as usize) else {
                        bad = Some(r);
                        break;
                    };
                    cols.kind.push(kind);
                    cols.name.push(row[l.name] as u32);
                    cols.id.push(row[l.id] as u32);
                    cols.self_size.push(row[l.self_size] as u32);
                    cols.edge_count.push(row[l.edge_count] as u32);
                    self.edge_sum += row[l.edge_count];
                    if let Some(f) = traced {
                        cols.trace_node_id.push(row[f] as u32);
                    }
                    if let Some(f) = l.detachedness {
                        cols.detachedness.push(row[f].min(255) as u8);
                    }
                }
            }
            NumericArray::Edges(h, node_count, cols) => {
                let l = h.edges.clone();
                let nfc = h.nodes.field_count as u64;
                let limit = *node_count;
                let map = &h.edge_kind_map;
                for (r, row) in values.chunks_exact(nf).enumerate() {
                    let t = row[l.type_];
                    let to = row[l.to_node];
                    let kind = map.get(t as usize).copied();
                    let (Some(kind), true) = (kind, to.is_multiple_of(nfc) && to / nfc < limit)
                    else {
                        bad = Some(r);
                        break;
                    };
                    cols.kind.push(kind);
                    cols.name_or_index.push(row[l.name_or_index] as u32);
                    cols.to_node.push((to / nfc) as u32);
                }
            }
            NumericArray::Flat { .. } => unreachable!("flat arrays have no rows"),
        }
        match bad {
            None => Ok(()),
            Some(r) => {
                let (field, make) = self.row_error(&values[r * nf..(r + 1) * nf]);
                Err((r, field, make))
            }
        }
    }

    /// Why a row the fast path refused is invalid: the field index and a constructor for the
    /// error given its location.
    #[allow(clippy::type_complexity)]
    fn row_error(&self, row: &[u64]) -> (u64, Box<dyn FnOnce(Location) -> FormatError>) {
        match &self.target {
            NumericArray::Nodes(h, _) => {
                let t = row[h.nodes.type_];
                let types = h.node_types.len();
                (
                    h.nodes.type_ as u64,
                    Box::new(move |at| {
                        FormatError::Inconsistent {
                        what: format!(
                            "node type index {t} is out of range (meta.node_types has {types} types)"
                        ),
                        at,
                    }
                    }),
                )
            }
            NumericArray::Edges(h, node_count, _) => {
                let l = &h.edges;
                let t = row[l.type_];
                if h.edge_kind_map.get(t as usize).is_none() {
                    let types = h.edge_types.len();
                    return (
                        l.type_ as u64,
                        Box::new(move |at| {
                            FormatError::Inconsistent {
                            what: format!(
                                "edge type index {t} is out of range (meta.edge_types has {types} types)"
                            ),
                            at,
                        }
                        }),
                    );
                }
                let to = row[l.to_node];
                let nfc = h.nodes.field_count as u64;
                let nodes = *node_count;
                (
                    l.to_node as u64,
                    Box::new(move |at| FormatError::Inconsistent {
                        what: format!(
                            "to_node {to} is {} (node field count {nfc}, {nodes} nodes)",
                            if !to.is_multiple_of(nfc) {
                                "not a multiple of the node field count"
                            } else {
                                "past the last node"
                            }
                        ),
                        at,
                    }),
                )
            }
            NumericArray::Flat { .. } => unreachable!("flat arrays have no rows"),
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
                    self.field_count,
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
