//! A sans-IO push parser for the `.heapsnapshot` JSON layout.
//!
//! Bytes go in with [`SnapshotParser::push`] in chunks of any size (a number, key or string may
//! be split anywhere); [`SnapshotParser::finish`] returns the columns. The parser never holds
//! the text: numbers go straight into typed columns and strings into one byte buffer. The same
//! parser serves files, pipes and inspector streams.
//!
//! It understands exactly the shape V8 writes — one top-level object whose `snapshot` header
//! comes before the arrays it describes — and skips sections it does not know.

use crate::error::{describe_byte, FormatError, Location};
use crate::header::Header;
use crate::numbers::{NumberSink, NumericArray};
use crate::snapshot::{EdgeColumns, NodeColumns, RawSnapshot, Sample, SourceLocation};
use crate::strings::StringTable;

/// Largest `snapshot` header we accept; real ones are under 2 KiB.
const MAX_HEADER_BYTES: usize = 1 << 20;
const MAX_KEY_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Nodes,
    Edges,
    Locations,
    Samples,
    TraceFunctionInfos,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Nodes => "nodes",
            Section::Edges => "edges",
            Section::Locations => "locations",
            Section::Samples => "samples",
            Section::TraceFunctionInfos => "trace_function_infos",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `{`.
    Start,
    /// After `{` or `,`: a key (or `}` right after `{`).
    Key {
        allow_close: bool,
    },
    /// Inside a key's quotes.
    InKey {
        escape: bool,
    },
    Colon,
    /// Before a value; what it is depends on the key.
    Value,
    /// Inside a value we skip or capture, tracking nesting.
    Balanced {
        depth: u32,
        in_string: bool,
        escape: bool,
    },
    /// Inside a bare scalar (number, `true`, …) we skip.
    Scalar,
    /// Before the `[` of a numeric section.
    NumOpen(Section),
    /// Inside a numeric section.
    Num(Section),
    /// Before the `[` of `strings`.
    StrOpen,
    /// In `strings`, between elements.
    StrList {
        expect_value: bool,
        first: bool,
    },
    /// Inside one string of `strings`.
    InString {
        escape: bool,
    },
    /// After a value: `,` or `}`.
    AfterValue,
    Done,
}

/// Push parser for one snapshot. See the module docs.
pub struct SnapshotParser {
    state: State,
    /// Absolute offset of the first byte of the chunk being parsed.
    base: u64,
    key: Vec<u8>,
    capture: Option<Vec<u8>>,
    header: Option<Header>,
    sink: Option<NumberSink>,
    strings: StringTable,
    string_has_escape: bool,
    seen: Vec<String>,
    nodes: Option<NodeColumns>,
    edges: Option<EdgeColumns>,
    locations: Vec<SourceLocation>,
    samples: Vec<Sample>,
    trace_function_infos: Vec<u32>,
    strings_done: bool,
    any_input: bool,
    /// An error was returned; no further input is read.
    failed: bool,
}

impl Default for SnapshotParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotParser {
    pub fn new() -> Self {
        SnapshotParser {
            state: State::Start,
            base: 0,
            key: Vec::new(),
            capture: None,
            header: None,
            sink: None,
            strings: StringTable::new(),
            string_has_escape: false,
            seen: Vec::new(),
            nodes: None,
            edges: None,
            locations: Vec::new(),
            samples: Vec::new(),
            trace_function_infos: Vec::new(),
            strings_done: false,
            any_input: false,
            failed: false,
        }
    }

    /// Bytes consumed so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.base
    }

    /// The header, once it has been read (useful for progress: it carries the counts).
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Which section the parser is in, for progress display.
    pub fn current_section(&self) -> &str {
        match self.state {
            State::Num(s) | State::NumOpen(s) => s.name(),
            State::StrOpen | State::StrList { .. } | State::InString { .. } => "strings",
            State::Done => "done",
            _ => "header",
        }
    }

    fn loc(&self, at: usize) -> Location {
        Location {
            byte_offset: Some(self.base + at as u64),
            section: None,
            element: None,
        }
    }

    fn syntax(&self, at: usize, expected: &str, found: u8) -> FormatError {
        FormatError::Syntax {
            expected: expected.to_string(),
            found: describe_byte(found),
            at: self.loc(at),
        }
    }

    /// Feeds the next chunk of snapshot text. After an error the parser stays failed: later
    /// pushes (and `finish`) report that instead of reading on from a broken state.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), FormatError> {
        if self.failed {
            return Err(Self::after_error());
        }
        if !chunk.is_empty() {
            self.any_input = true;
        }
        let mut i = 0;
        while i < chunk.len() {
            match self.step(chunk, i) {
                Ok(next) => i = next,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
        self.base += chunk.len() as u64;
        Ok(())
    }

    fn after_error() -> FormatError {
        FormatError::NotASnapshot {
            what: "input was pushed after an error had been reported".into(),
            at: Location::default(),
        }
    }

    /// Consumes bytes starting at `i` in the current state and returns the next position.
    fn step(&mut self, chunk: &[u8], mut i: usize) -> Result<usize, FormatError> {
        match self.state {
            State::Start => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    let b = chunk[i];
                    if b != b'{' {
                        return Err(FormatError::NotASnapshot {
                            what: format!(
                                "expected a JSON object (`{{`) at the start, found {}",
                                describe_byte(b)
                            ),
                            at: self.loc(i),
                        });
                    }
                    self.state = State::Key { allow_close: true };
                    i += 1;
                }
                Ok(i)
            }
            State::Key { allow_close } => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    match chunk[i] {
                        b'"' => {
                            self.key.clear();
                            self.state = State::InKey { escape: false };
                        }
                        b'}' if allow_close => self.state = State::Done,
                        b => return Err(self.syntax(i, "a quoted key", b)),
                    }
                    i += 1;
                }
                Ok(i)
            }
            State::InKey { mut escape } => {
                while i < chunk.len() {
                    let b = chunk[i];
                    i += 1;
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        self.state = State::Colon;
                        return Ok(i);
                    }
                    if self.key.len() >= MAX_KEY_BYTES {
                        return Err(FormatError::NotASnapshot {
                            what: "a top-level key is longer than 256 bytes".into(),
                            at: self.loc(i - 1),
                        });
                    }
                    self.key.push(b);
                }
                self.state = State::InKey { escape };
                Ok(i)
            }
            State::Colon => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    if chunk[i] != b':' {
                        return Err(self.syntax(i, "`:` after a key", chunk[i]));
                    }
                    self.state = State::Value;
                    i += 1;
                }
                Ok(i)
            }
            State::Value => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    self.begin_value(chunk, i)?;
                }
                Ok(i)
            }
            State::Balanced {
                depth,
                in_string,
                escape,
            } => self.balanced(chunk, i, depth, in_string, escape),
            State::Scalar => {
                // Scalars are short; keep their text to check it is a JSON number or literal.
                let start = i;
                while i < chunk.len() {
                    match chunk[i] {
                        b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t' => {
                            self.key.extend_from_slice(&chunk[start..i]);
                            if serde_json::from_slice::<serde_json::Value>(&self.key).is_err() {
                                return Err(FormatError::Syntax {
                                    expected: "a JSON value".into(),
                                    found: format!("`{}`", String::from_utf8_lossy(&self.key)),
                                    at: self.loc(i.saturating_sub(self.key.len())),
                                });
                            }
                            self.state = State::AfterValue;
                            return Ok(i);
                        }
                        _ => i += 1,
                    }
                }
                self.key.extend_from_slice(&chunk[start..i]);
                if self.key.len() > MAX_KEY_BYTES {
                    return Err(FormatError::Syntax {
                        expected: "a JSON value".into(),
                        found: "a bare value longer than 256 bytes".into(),
                        at: self.loc(i),
                    });
                }
                Ok(i)
            }
            State::NumOpen(section) => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    if chunk[i] != b'[' {
                        return Err(self.syntax(
                            i,
                            &format!("`[` opening the `{}` array", section.name()),
                            chunk[i],
                        ));
                    }
                    self.state = State::Num(section);
                    i += 1;
                }
                Ok(i)
            }
            State::Num(section) => {
                let Some(sink) = self.sink.as_mut() else {
                    return Err(Self::after_error());
                };
                let (used, closed) = sink.parse(&chunk[i..], self.base + i as u64)?;
                i += used;
                if closed {
                    self.end_numeric(section)?;
                    self.state = State::AfterValue;
                }
                Ok(i)
            }
            State::StrOpen => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    if chunk[i] != b'[' {
                        return Err(self.syntax(i, "`[` opening the `strings` array", chunk[i]));
                    }
                    self.state = State::StrList {
                        expect_value: true,
                        first: true,
                    };
                    i += 1;
                }
                Ok(i)
            }
            State::StrList {
                expect_value,
                first,
            } => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    let b = chunk[i];
                    match (b, expect_value) {
                        (b'"', true) => {
                            self.string_has_escape = false;
                            self.state = State::InString { escape: false };
                        }
                        (b',', false) => {
                            self.state = State::StrList {
                                expect_value: true,
                                first: false,
                            }
                        }
                        (b']', _) if !expect_value || first => {
                            self.strings.shrink();
                            self.strings_done = true;
                            self.state = State::AfterValue;
                        }
                        (_, true) => {
                            return Err(FormatError::Syntax {
                                expected: "a string".into(),
                                found: describe_byte(b),
                                at: Location {
                                    byte_offset: Some(self.base + i as u64),
                                    section: Some("strings".into()),
                                    element: Some(self.strings.snapshot_len() as u64),
                                },
                            })
                        }
                        (_, false) => {
                            return Err(FormatError::Syntax {
                                expected: "`,` or `]`".into(),
                                found: describe_byte(b),
                                at: Location {
                                    byte_offset: Some(self.base + i as u64),
                                    section: Some("strings".into()),
                                    element: Some(self.strings.snapshot_len() as u64),
                                },
                            })
                        }
                    }
                    i += 1;
                }
                Ok(i)
            }
            State::InString { escape } => {
                let mut i = i;
                if escape {
                    // The byte after a backslash is part of the escape, whatever it is.
                    self.strings.push_bytes(&chunk[i..i + 1]);
                    i += 1;
                }
                match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                    None => {
                        self.strings.push_bytes(&chunk[i..]);
                        self.state = State::InString { escape: false };
                        Ok(chunk.len())
                    }
                    Some(rel) => {
                        let at = i + rel;
                        self.strings.push_bytes(&chunk[i..at]);
                        if chunk[at] == b'"' {
                            self.strings.finish_string(self.string_has_escape);
                            self.state = State::StrList {
                                expect_value: false,
                                first: false,
                            };
                        } else {
                            self.string_has_escape = true;
                            self.strings.push_bytes(b"\\");
                            self.state = State::InString { escape: true };
                        }
                        Ok(at + 1)
                    }
                }
            }
            State::AfterValue => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    match chunk[i] {
                        b',' => self.state = State::Key { allow_close: false },
                        b'}' => self.state = State::Done,
                        b => return Err(self.syntax(i, "`,` or `}` after a top-level value", b)),
                    }
                    i += 1;
                }
                Ok(i)
            }
            State::Done => {
                i = skip_ws(chunk, i);
                if i < chunk.len() {
                    return Err(self.syntax(i, "nothing after the closing `}`", chunk[i]));
                }
                Ok(i)
            }
        }
    }

    fn balanced(
        &mut self,
        chunk: &[u8],
        start: usize,
        mut depth: u32,
        mut in_string: bool,
        mut escape: bool,
    ) -> Result<usize, FormatError> {
        let mut i = start;
        let mut finished = false;
        while i < chunk.len() {
            let b = chunk[i];
            i += 1;
            if in_string {
                if escape {
                    escape = false;
                } else if b == b'\\' {
                    escape = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        finished = true;
                        break;
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Err(self.syntax(i - 1, "a value", b));
                    }
                    depth -= 1;
                    if depth == 0 {
                        finished = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(buf) = self.capture.as_mut() {
            buf.extend_from_slice(&chunk[start..i]);
            if buf.len() > MAX_HEADER_BYTES {
                return Err(FormatError::BadHeader(
                    "the `snapshot` header is larger than 1 MiB; this is not a V8 heap snapshot"
                        .into(),
                ));
            }
        }
        if finished {
            if let Some(buf) = self.capture.take() {
                self.install_header(&buf)?;
            }
            self.state = State::AfterValue;
        } else {
            self.state = State::Balanced {
                depth,
                in_string,
                escape,
            };
        }
        Ok(i)
    }

    fn begin_value(&mut self, chunk: &[u8], i: usize) -> Result<(), FormatError> {
        let key = String::from_utf8_lossy(&self.key).into_owned();
        if self.seen.contains(&key) {
            return Err(FormatError::NotASnapshot {
                what: format!("the top-level key `{key}` appears twice"),
                at: self.loc(i),
            });
        }
        self.seen.push(key.clone());
        let numeric = match key.as_str() {
            "nodes" => Some(Section::Nodes),
            "edges" => Some(Section::Edges),
            "locations" => Some(Section::Locations),
            "samples" => Some(Section::Samples),
            "trace_function_infos" => Some(Section::TraceFunctionInfos),
            _ => None,
        };
        if key == "snapshot" {
            if chunk[i] != b'{' {
                return Err(self.syntax(i, "`{` opening the `snapshot` header", chunk[i]));
            }
            self.capture = Some(Vec::with_capacity(2048));
            self.state = State::Balanced {
                depth: 0,
                in_string: false,
                escape: false,
            };
            return Ok(());
        }
        if self.header.is_none() && (numeric.is_some() || key == "strings" || key == "head") {
            let what = match key.as_str() {
                "nodes" => "found `nodes` before any `snapshot` header; this looks like a CPU profile (.cpuprofile), not a heap snapshot".to_string(),
                "head" => "found `head` and no `snapshot` header; this looks like a sampling heap profile (.heapprofile), not a heap snapshot".to_string(),
                _ => format!("found `{key}` before the `snapshot` header, which must come first"),
            };
            return Err(FormatError::NotASnapshot {
                what,
                at: self.loc(i),
            });
        }
        if let Some(section) = numeric {
            let header = self.header.as_ref().expect("checked above");
            self.sink = Some(match section {
                Section::Nodes => {
                    NumberSink::new(NumericArray::Nodes(header.clone(), Box::default()))
                }
                Section::Edges => {
                    let nodes = self
                        .nodes
                        .as_ref()
                        .ok_or_else(|| FormatError::NotASnapshot {
                            what: "found `edges` before `nodes`".into(),
                            at: self.loc(i),
                        })?;
                    NumberSink::new(NumericArray::Edges(
                        header.clone(),
                        nodes.id.len() as u64,
                        Box::default(),
                    ))
                }
                Section::Locations => NumberSink::new(NumericArray::Flat {
                    section: "locations",
                    values: Vec::new(),
                }),
                Section::Samples => NumberSink::new(NumericArray::Flat {
                    section: "samples",
                    values: Vec::new(),
                }),
                Section::TraceFunctionInfos => NumberSink::new(NumericArray::Flat {
                    section: "trace_function_infos",
                    values: Vec::new(),
                }),
            });
            self.state = State::NumOpen(section);
            return Ok(());
        }
        if key == "strings" {
            self.state = State::StrOpen;
            return Ok(());
        }
        // Unknown or unneeded sections (`trace_tree`, `scopes`, future additions) are skipped.
        self.state = match chunk[i] {
            b'{' | b'[' | b'"' => State::Balanced {
                depth: 0,
                in_string: false,
                escape: false,
            },
            _ => {
                self.key.clear();
                State::Scalar
            }
        };
        Ok(())
    }

    fn install_header(&mut self, json: &[u8]) -> Result<(), FormatError> {
        let header = Header::parse(json)?;
        self.header = Some(header);
        Ok(())
    }

    fn end_numeric(&mut self, section: Section) -> Result<(), FormatError> {
        let sink = self.sink.take().expect("numeric state has a sink");
        match sink.finish()? {
            NumericArray::Nodes(_, cols) => self.nodes = Some(*cols),
            NumericArray::Edges(_, _, cols) => self.edges = Some(*cols),
            NumericArray::Flat { values, .. } => match section {
                Section::Locations => self.locations = self.build_locations(&values)?,
                Section::Samples => self.samples = self.build_samples(&values)?,
                Section::TraceFunctionInfos => {
                    self.trace_function_infos = values
                        .iter()
                        .enumerate()
                        .map(|(k, &v)| {
                            u32::try_from(v).map_err(|_| FormatError::NumberTooLarge {
                                found: v.to_string(),
                                at: Location {
                                    byte_offset: None,
                                    section: Some("trace_function_infos".into()),
                                    element: Some(k as u64),
                                },
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                _ => unreachable!("nodes and edges have their own sinks"),
            },
        }
        Ok(())
    }

    fn build_locations(&self, values: &[i64]) -> Result<Vec<SourceLocation>, FormatError> {
        let header = self.header.as_ref().expect("header precedes sections");
        let fields = &header.location_fields;
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let pos = |name: &str| fields.iter().position(|f| f == name);
        let (Some(obj), Some(script), Some(line), Some(col)) = (
            pos("object_index"),
            pos("script_id"),
            pos("line"),
            pos("column"),
        ) else {
            return Err(FormatError::BadHeader(
                "`meta.location_fields` lacks object_index, script_id, line or column".into(),
            ));
        };
        let n = fields.len();
        if !values.len().is_multiple_of(n) {
            return Err(FormatError::inconsistent(
                format!(
                    "{} elements is not a multiple of the {n} location fields",
                    values.len()
                ),
                "locations",
                None,
            ));
        }
        let nfc = header.nodes.field_count as i64;
        let node_count = self.nodes.as_ref().map_or(0, |n| n.id.len()) as i64;
        let mut out = Vec::with_capacity(values.len() / n);
        for (row, chunk) in values.chunks_exact(n).enumerate() {
            let index = chunk[obj];
            if index < 0 || index % nfc != 0 || index / nfc >= node_count {
                return Err(FormatError::inconsistent(
                    format!("object_index {index} is not the start of a node"),
                    "locations",
                    Some((row * n + obj) as u64),
                ));
            }
            let clamp = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
            out.push(SourceLocation {
                node: (index / nfc) as u32,
                script_id: clamp(chunk[script]),
                line: clamp(chunk[line]),
                column: clamp(chunk[col]),
            });
        }
        Ok(out)
    }

    fn build_samples(&self, values: &[i64]) -> Result<Vec<Sample>, FormatError> {
        let header = self.header.as_ref().expect("header precedes sections");
        let fields = &header.sample_fields;
        let pos = |name: &str| fields.iter().position(|f| f == name);
        let (Some(ts), Some(id)) = (pos("timestamp_us"), pos("last_assigned_id")) else {
            return Ok(Vec::new());
        };
        let n = fields.len();
        Ok(values
            .chunks_exact(n)
            .map(|c| Sample {
                timestamp_us: c[ts].max(0) as u64,
                last_assigned_id: c[id].max(0) as u64,
            })
            .collect())
    }

    /// Ends the input and returns the loaded snapshot, after checking it is complete and
    /// internally consistent.
    pub fn finish(mut self) -> Result<RawSnapshot, FormatError> {
        if self.failed {
            return Err(Self::after_error());
        }
        if !self.any_input || self.state == State::Start {
            // Nothing, or only white space.
            return Err(FormatError::Empty);
        }
        if self.state != State::Done {
            let at = Location {
                byte_offset: Some(self.base),
                section: None,
                element: None,
            };
            let what = match self.state {
                State::Num(s) => {
                    let done = self.sink.as_ref().map_or(0, |k| k.elements());
                    format!(
                        "inside the `{}` array after {done} elements (the file is truncated)",
                        s.name()
                    )
                }
                State::InString { .. } | State::StrList { .. } | State::StrOpen => format!(
                    "inside the `strings` array after {} strings (the file is truncated)",
                    self.strings.snapshot_len()
                ),
                State::Start => "before any JSON object began".into(),
                _ => {
                    "before the closing `}` of the top-level object (the file is truncated)".into()
                }
            };
            return Err(FormatError::Truncated { what, at });
        }
        let header = self
            .header
            .take()
            .ok_or_else(|| FormatError::NotASnapshot {
                what: "there is no `snapshot` header".into(),
                at: Location::default(),
            })?;
        let missing = |name: &str| FormatError::NotASnapshot {
            what: format!("the `{name}` section is missing"),
            at: Location::default(),
        };
        let nodes = self.nodes.take().ok_or_else(|| missing("nodes"))?;
        if nodes.id.is_empty() {
            return Err(FormatError::inconsistent(
                "the snapshot has no nodes; every heap snapshot has at least its root node",
                "nodes",
                None,
            ));
        }
        let edges = self.edges.take().ok_or_else(|| missing("edges"))?;
        if !self.strings_done {
            return Err(missing("strings"));
        }
        let snapshot = RawSnapshot {
            header,
            nodes,
            edges,
            strings: self.strings,
            locations: self.locations,
            samples: self.samples,
            trace_function_infos: self.trace_function_infos,
        };
        crate::validate::check_string_indexes(&snapshot)?;
        Ok(snapshot)
    }
}

#[inline]
fn skip_ws(chunk: &[u8], mut i: usize) -> usize {
    while i < chunk.len() && matches!(chunk[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}
