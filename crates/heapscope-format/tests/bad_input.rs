//! Bad input never panics: every malformed snapshot is an `Err` of the right [`FormatError`]
//! variant whose message says what is wrong and where (byte offset, section, element).
//!
//! Most cases start from [`TINY`], a valid two-node snapshot, and break one thing in it by
//! string replacement ([`tiny_with`]). Truncation and chunking use the real `plain-healthy`
//! fixture, mostly through a 300 KB cut-down copy ([`reduced`]) that an unoptimised test
//! build can re-parse dozens of times.

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;

use heapscope_format::{load_bytes, FormatError, Loader, RawSnapshot};

/// A valid snapshot: node 0 (synthetic root, name "", one element edge to node 1) and node 1
/// (object "Object"). Offsets in the tests are found with `str::find` on the edited text.
const TINY: &str = concat!(
    r#"{"snapshot":{"meta":{"#,
    r#""node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"#,
    r#""node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"#,
    r#""edge_fields":["type","name_or_index","to_node"],"#,
    r#""edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"#,
    r#""location_fields":["object_index","script_id","line","column"]},"#,
    r#""node_count":2,"edge_count":1,"trace_function_count":0},"#,
    r#""nodes":[9,0,1,0,1,0,0,3,1,3,16,0,0,0],"#,
    r#""edges":[1,0,7],"#,
    r#""locations":[],"#,
    r#""strings":["","Object"]}"#
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// `TINY` with each `(from, to)` replaced; every `from` must occur exactly once.
fn tiny_with(edits: &[(&str, &str)]) -> String {
    let mut s = TINY.to_string();
    for (from, to) in edits {
        assert_eq!(
            s.matches(from).count(),
            1,
            "test bug: `{from}` must occur exactly once in {s}"
        );
        s = s.replacen(from, to, 1);
    }
    s
}

/// Loads `input` whole and also one byte at a time; both must fail (not panic) with the same
/// variant and message (byte offsets aside). Returns the error of the whole-buffer load.
#[track_caller]
fn load_err(input: &[u8]) -> FormatError {
    let whole = catch_unwind(|| load_bytes(input))
        .unwrap_or_else(|_| panic!("load_bytes panicked on {}", preview(input)));
    let err = match whole {
        Ok(s) => panic!(
            "expected an error, but {} loaded ({} nodes, {} edges)",
            preview(input),
            s.node_count(),
            s.edge_count()
        ),
        Err(e) => e,
    };
    let bytewise = catch_unwind(|| load_chunked(input, 1))
        .unwrap_or_else(|_| panic!("byte-wise Loader panicked on {}", preview(input)));
    match bytewise {
        Ok(_) => panic!("byte-wise push accepted {}", preview(input)),
        // Offsets of numbers that straddle chunks are compared in
        // `errors_do_not_depend_on_chunking`.
        Err(e) => {
            assert_eq!(
                std::mem::discriminant(&e),
                std::mem::discriminant(&err),
                "byte-wise push must fail the same way: {e} / {err}"
            );
            assert_eq!(
                without_offset(&e.to_string()),
                without_offset(&err.to_string()),
                "byte-wise push must report the same error"
            );
        }
    }
    err
}

/// The message without its `at byte N` part (and, for `NumberTooLarge`, without the digits
/// quoted from the last chunk).
fn without_offset(msg: &str) -> String {
    let mut out = msg.to_string();
    if let Some(k) = out.find("at byte ") {
        let digits = out[k + 8..].bytes().take_while(u8::is_ascii_digit).count();
        out.replace_range(k..k + 8 + digits, "");
    }
    if out.starts_with("number too large: ") {
        out = out
            .split(" does not fit")
            .nth(1)
            .unwrap_or(&out)
            .to_string();
    }
    out.replace(", )", ")").replace(" ()", "")
}

#[track_caller]
fn load_ok(input: &[u8]) -> RawSnapshot {
    match catch_unwind(|| load_bytes(input)) {
        Err(_) => panic!("load_bytes panicked on {}", preview(input)),
        Ok(Err(e)) => panic!("expected {} to load, got: {e}", preview(input)),
        Ok(Ok(s)) => s,
    }
}

fn load_chunked(input: &[u8], size: usize) -> Result<RawSnapshot, FormatError> {
    let mut loader = Loader::new();
    for chunk in input.chunks(size) {
        loader.push(chunk)?;
    }
    loader.finish()
}

fn preview(input: &[u8]) -> String {
    let n = input.len().min(120);
    format!(
        "{} bytes `{}{}`",
        input.len(),
        String::from_utf8_lossy(&input[..n]),
        if n < input.len() { "…" } else { "" }
    )
}

/// Asserts the error's Display text contains every one of `parts`.
#[track_caller]
fn assert_msg(err: &FormatError, parts: &[&str]) {
    let msg = err.to_string();
    for p in parts {
        assert!(msg.contains(p), "message lacks `{p}`: {msg}");
    }
}

/// "at byte N" where N is the offset of the first `needle` in `text` (plus `plus`).
fn at_byte(text: &str, needle: &str, plus: usize) -> String {
    let pos = text
        .find(needle)
        .unwrap_or_else(|| panic!("test bug: `{needle}` not in input"));
    format!("at byte {}", pos + plus)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The smallest real fixture (4 MB of JSON), compressed as committed.
fn fixture_gz() -> &'static [u8] {
    static GZ: OnceLock<Vec<u8>> = OnceLock::new();
    GZ.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/snapshots/plain-healthy.heapsnapshot.gz");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The same fixture, decompressed (~4 MB of JSON text).
fn fixture() -> &'static [u8] {
    static RAW: OnceLock<Vec<u8>> = OnceLock::new();
    RAW.get_or_init(|| gunzip(fixture_gz()))
}

fn find(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("fixture has no `{needle}`"))
}

/// The fixture, loaded (debug builds parse it in ~0.5 s; do it once).
fn fixture_loaded() -> &'static RawSnapshot {
    static SNAP: OnceLock<RawSnapshot> = OnceLock::new();
    SNAP.get_or_init(|| load_bytes(fixture()).expect("the fixture loads"))
}

/// A ~300 KB valid snapshot cut out of the real fixture and written back in V8's own layout
/// (its header verbatim apart from the counts, one node row per line, `,\n` separators,
/// one string per line): the first 2000 nodes with the edges among them, their locations,
/// and the strings they name plus every string the fixture escapes. Byte-wise pushes and
/// truncation at many points are affordable on this where the 4 MB original is too slow for
/// an unoptimised test build.
fn reduced() -> &'static [u8] {
    static REDUCED: OnceLock<Vec<u8>> = OnceLock::new();
    REDUCED.get_or_init(|| build_reduced(fixture(), fixture_loaded(), 2000))
}

/// The raw type index V8 wrote for a type name.
fn type_index(types: &[String], name: &str) -> u64 {
    types
        .iter()
        .position(|t| t == name)
        .expect("a known type name") as u64
}

fn build_reduced(text: &[u8], s: &RawSnapshot, keep: usize) -> Vec<u8> {
    use std::collections::BTreeMap;
    let h = &s.header;
    let (nl, el) = (&h.nodes, &h.edges);
    assert!(s.node_count() > keep);

    // Edges of the kept nodes that stay among them.
    let mut first_edge = 0usize;
    let mut kept_edges: Vec<Vec<usize>> = Vec::with_capacity(keep);
    for n in 0..keep {
        let count = s.nodes.edge_count[n] as usize;
        kept_edges.push(
            (first_edge..first_edge + count)
                .filter(|&e| (s.edges.to_node[e] as usize) < keep)
                .collect(),
        );
        first_edge += count;
    }
    let edge_count: usize = kept_edges.iter().map(Vec::len).sum();

    // Strings: those named by kept nodes and edges, and every escaped one, in original order.
    let mut used: BTreeMap<u32, u32> = BTreeMap::new();
    used.insert(0, 0);
    for n in 0..keep {
        used.insert(s.nodes.name[n], 0);
    }
    for &e in kept_edges.iter().flatten() {
        if s.edge_kind(e as u32).has_string_name() {
            used.insert(s.edges.name_or_index[e], 0);
        }
    }
    for i in 0..s.strings.snapshot_len() as u32 {
        if s.strings.raw(i).is_none() {
            used.insert(i, 0);
        }
    }
    for (new, old) in used.values_mut().zip(0u32..) {
        *new = old;
    }

    let header_end = find(text, "\n\"nodes\":[");
    let header = String::from_utf8(text[..header_end].to_vec()).unwrap();
    let header = header
        .replacen(
            &format!("\"node_count\":{}", h.node_count),
            &format!("\"node_count\":{keep}"),
            1,
        )
        .replacen(
            &format!("\"edge_count\":{}", h.edge_count),
            &format!("\"edge_count\":{edge_count}"),
            1,
        );
    let mut out = header.into_bytes();

    let mut rows = Vec::new();
    for (n, edges) in kept_edges.iter().enumerate() {
        let mut row = vec![0u64; nl.field_count];
        row[nl.type_] = type_index(&h.node_types, s.node_type_name(n as u32));
        row[nl.name] = used[&s.nodes.name[n]] as u64;
        row[nl.id] = s.nodes.id[n] as u64;
        row[nl.self_size] = s.nodes.self_size[n] as u64;
        row[nl.edge_count] = edges.len() as u64;
        if let (Some(t), Some(&v)) = (nl.trace_node_id, s.nodes.trace_node_id.get(n)) {
            row[t] = v as u64;
        }
        if let (Some(d), Some(&v)) = (nl.detachedness, s.nodes.detachedness.get(n)) {
            row[d] = v as u64;
        }
        rows.push(row);
    }
    let join_rows = |rows: &[Vec<u64>]| -> String {
        rows.iter()
            .map(|r| r.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join("\n,")
    };
    out.extend_from_slice(format!("\n\"nodes\":[{}]", join_rows(&rows)).as_bytes());

    let mut rows = Vec::new();
    for &e in kept_edges.iter().flatten() {
        let mut row = vec![0u64; el.field_count];
        row[el.type_] = type_index(&h.edge_types, s.edge_type_name(e as u32));
        let name = s.edges.name_or_index[e];
        row[el.name_or_index] = if s.edge_kind(e as u32).has_string_name() {
            used[&name] as u64
        } else {
            name as u64
        };
        row[el.to_node] = s.edges.to_node[e] as u64 * nl.field_count as u64;
        rows.push(row);
    }
    out.extend_from_slice(format!(",\n\"edges\":[{}]", join_rows(&rows)).as_bytes());

    let locations: Vec<Vec<u64>> = s
        .locations
        .iter()
        .filter(|l| (l.node as usize) < keep)
        .map(|l| {
            let obj = l.node as u64 * nl.field_count as u64;
            vec![obj, l.script_id as u64, l.line as u64, l.column as u64]
        })
        .collect();
    assert_eq!(
        h.location_fields,
        ["object_index", "script_id", "line", "column"],
        "fixture location layout"
    );
    out.extend_from_slice(
        format!(
            ",\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[{}]",
            join_rows(&locations)
        )
        .as_bytes(),
    );

    out.extend_from_slice(b",\n\"strings\":[");
    for (k, &old) in used.keys().enumerate() {
        if k > 0 {
            out.extend_from_slice(b",\n");
        }
        match s.strings.raw(old) {
            Some(raw) => {
                out.push(b'"');
                out.extend_from_slice(raw);
                out.push(b'"');
            }
            None => out.extend_from_slice(
                serde_json::to_string(&s.strings.get(old))
                    .unwrap()
                    .as_bytes(),
            ),
        }
    }
    out.extend_from_slice(b"]}");
    out
}

#[test]
fn tiny_is_valid() {
    let s = load_ok(TINY.as_bytes());
    assert_eq!(s.node_count(), 2);
    assert_eq!(s.edge_count(), 1);
    assert_eq!(s.edges.to_node, vec![1]);
    assert_eq!(s.strings.get(1), "Object");
}

// ---------------------------------------------------------------------------------------------
// Not a snapshot at all

#[test]
fn empty_input() {
    let e = load_err(b"");
    assert!(matches!(e, FormatError::Empty), "{e:?}");
    assert_msg(&e, &["empty"]);
    // An empty chunk pushed into a loader is no input either.
    let mut l = Loader::new();
    l.push(b"").unwrap();
    assert!(matches!(l.finish(), Err(FormatError::Empty)));
}

#[test]
fn whitespace_only() {
    let e = load_err(b" \n\t\r\n  ");
    assert!(
        matches!(e, FormatError::Empty | FormatError::Truncated { .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("empty") || msg.contains("before any JSON object"),
        "{msg}"
    );
}

#[test]
fn not_json() {
    let e = load_err(b"hello");
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(
        &e,
        &["not a heap snapshot", "JSON object", "`h`", "at byte 0"],
    );

    // Leading whitespace moves the offset.
    let e = load_err(b"  \nhello");
    assert_msg(&e, &["`h`", "at byte 3"]);

    // Binary garbage is described as hex.
    let e = load_err(&[0x00, 0xff, 0xfe]);
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["byte 0x00", "at byte 0"]);
}

#[test]
fn json_array_instead_of_object() {
    let e = load_err(b"[1,2,3]");
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["JSON object", "`[`", "at byte 0"]);

    let e = load_err(br#"[{"snapshot":{}}]"#);
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
}

#[test]
fn json_scalars_and_empty_object() {
    for input in [&b"42"[..], b"\"snapshot\"", b"null", b"true"] {
        let e = load_err(input);
        assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
        assert_msg(&e, &["at byte 0"]);
    }
    let e = load_err(b"{}");
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["no `snapshot` header"]);
}

#[test]
fn cpuprofile_given_by_mistake() {
    let cpuprofile = concat!(
        r#"{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2]},"#,
        r#"{"id":2,"callFrame":{"functionName":"main","scriptId":"42","url":"file:///app/index.js","lineNumber":3,"columnNumber":10},"hitCount":7,"positionTicks":[{"line":4,"ticks":7}]}],"#,
        r#""startTime":1712345678901,"endTime":1712345679901,"samples":[2,2,2],"timeDeltas":[100,1000,1000]}"#
    );
    let e = load_err(cpuprofile.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(
        &e,
        &["CPU profile", ".cpuprofile", &at_byte(cpuprofile, "[", 0)],
    );
}

#[test]
fn heapprofile_given_by_mistake() {
    let heapprofile = concat!(
        r#"{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":["#,
        r#"{"callFrame":{"functionName":"alloc","scriptId":"7","url":"file:///app/a.js","lineNumber":1,"columnNumber":2},"selfSize":65536,"id":2,"children":[]}]},"#,
        r#""samples":[]}"#
    );
    let e = load_err(heapprofile.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["heap profile", ".heapprofile", "at byte 8"]);

    // Key order is not guaranteed: `samples` first must still say "not a snapshot".
    let e = load_err(br#"{"samples":[],"head":{"selfSize":0,"id":1,"children":[]}}"#);
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`samples`", "`snapshot` header", "at byte 11"]);
}

// ---------------------------------------------------------------------------------------------
// Truncation and gzip

/// Loads `input` (a truncated snapshot) and checks it fails as truncated at byte `cut`.
#[track_caller]
fn assert_truncated(input: &[u8], what: &str) -> FormatError {
    let cut = input.len();
    let result = catch_unwind(AssertUnwindSafe(|| load_bytes(input)))
        .unwrap_or_else(|_| panic!("panicked on the {what} truncated to {cut} bytes"));
    let e = match result {
        Ok(_) => panic!("the {what} truncated to {cut} bytes loaded"),
        Err(e) => e,
    };
    assert!(
        matches!(e, FormatError::Truncated { .. }),
        "{what} cut at {cut}: {e:?}"
    );
    // The offset reported is where the input ended.
    assert_msg(&e, &["ends too early", &format!("at byte {cut}")]);
    e
}

/// Cut points spread over `text`, plus hand-picked ones around each section boundary.
/// Returns `(cut, the array the cut is inside, if any)`.
fn cut_points(text: &[u8], spread: usize) -> Vec<(usize, Option<&'static str>)> {
    let len = text.len();
    assert!(text.ends_with(b"]}"));
    // (name, offset of its `[`, offset of its `]`); numeric arrays hold no brackets.
    let array = |name: &'static str| {
        let open = find(text, &format!("\"{name}\":[")) + name.len() + 3;
        let close = if name == "strings" {
            len - 2
        } else {
            open + find(&text[open..], "]")
        };
        (name, open, close)
    };
    let arrays = [array("nodes"), array("edges"), array("strings")];
    let mut cuts = vec![1, 2, 12, 30, arrays[0].1 / 2];
    for &(_, open, close) in &arrays {
        cuts.extend([open - 12, open - 1, open, open + 1, open + 2, open + 3]);
        cuts.extend([close - 1, close, close + 1, close + 2]);
    }
    cuts.push(len - 1); // just before the final `}`
    cuts.extend((1..=spread).map(|k| k * len / (spread + 1) + k % 3));
    cuts.retain(|&cut| cut > 0 && cut < len);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.into_iter()
        .map(|cut| {
            // `text[..cut]` holds the `[` but not the `]`.
            let inside = arrays
                .iter()
                .find(|&&(_, open, close)| cut > open && cut <= close)
                .map(|&(name, _, _)| name);
            (cut, inside)
        })
        .collect()
}

#[test]
fn truncated_at_many_points() {
    // ~60 cuts over the reduced real snapshot: inside the header, each section's opening,
    // inside numbers and strings, and just before the final `}`.
    let text = reduced();
    let cuts = cut_points(text, 40);
    assert!(cuts.len() >= 50, "{} cut points", cuts.len());
    for (cut, inside) in cuts {
        let e = assert_truncated(&text[..cut], "reduced fixture");
        match inside {
            Some(section) => assert_msg(&e, &[&format!("inside the `{section}` array")]),
            None => assert!(!e.to_string().contains("inside the"), "cut {cut}: {e}"),
        }
    }
}

#[test]
fn truncated_real_fixture() {
    // The 4 MB original at a few points per section (each load re-parses the prefix, so only
    // a handful: an unoptimised build parses ~10 MB/s).
    let full = fixture();
    let len = full.len();
    let nodes = find(full, "\"nodes\":[");
    let edges = find(full, "\"edges\":[");
    let strings = find(full, "\"strings\":[");
    for (cut, section) in [
        (40, None),
        (nodes + 12, Some("nodes")),
        (edges - 3, Some("nodes")),
        (edges + 11, Some("edges")),
        ((edges + strings) / 2, Some("edges")),
        (strings + 20, Some("strings")),
        (len - 1, None),
    ] {
        let e = assert_truncated(&full[..cut], "fixture");
        if let Some(section) = section {
            assert_msg(&e, &[&format!("inside the `{section}` array")]);
        }
    }
}

#[test]
fn truncated_tiny_at_every_byte() {
    // Every prefix of a small snapshot, whole and pushed byte-wise.
    for cut in 1..TINY.len() {
        let e = load_err(&TINY.as_bytes()[..cut]);
        assert!(
            matches!(e, FormatError::Truncated { .. }),
            "cut {cut}: {e:?}"
        );
        assert_msg(&e, &[&format!("at byte {cut}")]);
    }
}

#[test]
fn truncated_gzip() {
    let gz = gzip(TINY.as_bytes());
    assert_eq!(load_ok(&gz).node_count(), 2);
    let len = gz.len();
    // Inside the 10-byte gzip header, inside the deflate stream, and inside the 8-byte
    // CRC32/ISIZE trailer.
    // (One byte cannot be told from plain text; it fails as "not a snapshot".)
    assert!(load_bytes(&gz[..1]).is_err());
    for cut in [2, 3, 9, 10, 11, len / 2, len - 9, len - 8, len - 4, len - 1] {
        let input = &gz[..cut];
        let result = catch_unwind(|| load_bytes(input))
            .unwrap_or_else(|_| panic!("panicked on gzip truncated to {cut} bytes"));
        match result {
            Ok(_) => panic!("gzip truncated to {cut} of {len} bytes loaded"),
            Err(e) => {
                assert!(
                    matches!(e, FormatError::Gzip(_) | FormatError::Truncated { .. }),
                    "cut {cut}: {e:?}"
                );
                assert_msg(&e, &["truncated"]);
            }
        }
    }

    // A real snapshot's gzip cut in half: decompresses fine as far as it goes, then ends.
    let gz = gzip(reduced());
    let e = load_err(&gz[..gz.len() / 2]);
    assert!(
        matches!(e, FormatError::Gzip(_) | FormatError::Truncated { .. }),
        "{e:?}"
    );
    assert_msg(&e, &["truncated"]);
    let fx = fixture_gz();
    let e = load_bytes(&fx[..fx.len() / 2]).unwrap_err();
    assert!(
        matches!(e, FormatError::Gzip(_) | FormatError::Truncated { .. }),
        "{e:?}"
    );
}

#[test]
fn corrupt_gzip() {
    let gz = gzip(TINY.as_bytes());

    // Unknown compression method in the header.
    let mut bad_method = gz.clone();
    bad_method[2] = 7;
    let e = load_err(&bad_method);
    assert!(matches!(e, FormatError::Gzip(_)), "{e:?}");
    assert_msg(&e, &["gzip stream is corrupt"]);

    // Garbage deflate data after a valid header.
    let mut garbage = gz[..10].to_vec();
    garbage.extend(std::iter::repeat_n(0xff, 64));
    let e = load_err(&garbage);
    assert!(matches!(e, FormatError::Gzip(_)), "{e:?}");
    assert_msg(&e, &["gzip stream is corrupt"]);

    // Wrong CRC32 in the trailer: the data decompresses, but must not be trusted.
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0x55;
    let e = load_err(&bad_crc);
    assert!(matches!(e, FormatError::Gzip(_)), "{e:?}");
    assert_msg(&e, &["gzip stream is corrupt"]);

    // Wrong ISIZE in the trailer.
    let mut bad_size = gz.clone();
    bad_size[n - 1] ^= 0x01;
    let e = load_err(&bad_size);
    assert!(matches!(e, FormatError::Gzip(_)), "{e:?}");

    // Just the magic bytes.
    let e = load_err(&[0x1f, 0x8b]);
    assert!(
        matches!(e, FormatError::Gzip(_) | FormatError::Truncated { .. }),
        "{e:?}"
    );

    // Non-gzip bytes after a complete gzip member.
    let mut trailing = gz.clone();
    trailing.extend_from_slice(b"not gzip at all");
    let e = load_err(&trailing);
    assert!(matches!(e, FormatError::Gzip(_)), "{e:?}");
}

#[test]
fn gzip_that_decompresses_to_garbage() {
    let e = load_err(&gzip(b"hello"));
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["at byte 0"]);
    let e = load_err(&gzip(b""));
    assert!(matches!(e, FormatError::Empty), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Counts that disagree

#[test]
fn node_count_larger_than_nodes_array() {
    let e = load_err(tiny_with(&[(r#""node_count":2"#, r#""node_count":3"#)]).as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "`nodes` has 14 elements",
            "node_count 3",
            "21",
            "in `nodes`",
        ],
    );
}

#[test]
fn node_count_smaller_than_nodes_array() {
    let s = tiny_with(&[(r#""node_count":2"#, r#""node_count":1"#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    // Element 7 is the first element of the second node row.
    assert_msg(
        &e,
        &[
            "more elements",
            "in `nodes`[7]",
            &at_byte(&s, "3,1,3,16", 0),
        ],
    );
}

#[test]
fn edge_count_disagrees_with_edges_array() {
    // Header and node rows both say 2 edges; the array holds one.
    let s = tiny_with(&[
        (r#""edge_count":1,"#, r#""edge_count":2,"#),
        ("[9,0,1,0,1,", "[9,0,1,0,2,"),
    ]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &["`edges` has 3 elements", "edge_count 2", "6", "in `edges`"],
    );

    // Header and node rows both say no edges; the array holds one.
    let s = tiny_with(&[
        (r#""edge_count":1,"#, r#""edge_count":0,"#),
        ("[9,0,1,0,1,", "[9,0,1,0,0,"),
    ]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &["more elements", "in `edges`[0]", &at_byte(&s, "[1,0,7]", 1)],
    );
}

#[test]
fn edge_count_fields_sum_disagrees() {
    let e = load_err(tiny_with(&[("[9,0,1,0,1,", "[9,0,1,0,2,")]).as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(&e, &["add up to 2", "edge_count 1", "in `nodes`"]);

    let e = load_err(tiny_with(&[("[9,0,1,0,1,", "[9,0,1,0,0,")]).as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(&e, &["add up to 0", "edge_count 1"]);
}

// ---------------------------------------------------------------------------------------------
// Values out of range

#[test]
fn to_node_not_a_multiple_of_node_fields() {
    let s = tiny_with(&[("[1,0,7]", "[1,0,8]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "to_node 8",
            "not a multiple",
            "in `edges`[2]",
            &at_byte(&s, "[1,0,8]", 5),
        ],
    );
}

#[test]
fn to_node_out_of_range() {
    let s = tiny_with(&[("[1,0,7]", "[1,0,14]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "to_node 14",
            "past the last node",
            "in `edges`[2]",
            &at_byte(&s, "[1,0,14]", 5),
        ],
    );
}

#[test]
fn node_name_string_index_out_of_range() {
    let s = tiny_with(&[("3,1,3,16", "3,5,3,16")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    // Node 1's name is element 1 * 7 + 1 = 8.
    assert_msg(
        &e,
        &["node 1", "string index 5", "2 entries", "in `nodes`[8]"],
    );
}

#[test]
fn edge_name_string_index_out_of_range() {
    // A property edge (type 2) names a string.
    let s = tiny_with(&[("[1,0,7]", "[2,5,7]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &["edge 0", "string index 5", "2 entries", "in `edges`[1]"],
    );

    // Element (1) and hidden (4) edges hold an index, not a string: any value is fine.
    let s = load_ok(tiny_with(&[("[1,0,7]", "[1,99,7]")]).as_bytes());
    assert_eq!(s.edges.name_or_index, vec![99]);
    load_ok(tiny_with(&[("[1,0,7]", "[4,4000000000,7]")]).as_bytes());
}

#[test]
fn unknown_node_type_index() {
    let s = tiny_with(&[("0,0,3,1,3,16", "0,0,16,1,3,16")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "node type index 16",
            "16 types",
            "in `nodes`[7]",
            &at_byte(&s, "16,1,3,16", 0),
        ],
    );
}

#[test]
fn unknown_edge_type_index() {
    let s = tiny_with(&[("[1,0,7]", "[7,0,7]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "edge type index 7",
            "7 types",
            "in `edges`[0]",
            &at_byte(&s, "[7,0,7]", 1),
        ],
    );
}

#[test]
fn junk_inside_nodes() {
    let s = tiny_with(&[("3,1,3,16", "3,1,x,16")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "malformed JSON",
            "found `x`",
            "in `nodes`[9]",
            &at_byte(&s, "x,16", 0),
        ],
    );

    // A string where a number belongs.
    let s = tiny_with(&[("3,1,3,16", r#"3,1,"3",16"#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["found `\"`", "in `nodes`[9]"]);

    // Two numbers without a comma, and a doubled comma.
    let s = tiny_with(&[("3,1,3,16", "3,1 3,16")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "`,` or `]`",
            "in `nodes`[9]",
            &at_byte(&s, "3,16,0,0,0]", 0),
        ],
    );
    let e = load_err(tiny_with(&[("3,1,3,16", "3,1,,16")]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["expected a number", "in `nodes`[9]"]);

    // A trailing comma.
    let e = load_err(tiny_with(&[("16,0,0,0]", "16,0,0,0,]")]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["in `nodes`[14]"]);

    // An object where the array belongs.
    let e = load_err(tiny_with(&[(r#""edges":[1,0,7]"#, r#""edges":{"a":1}"#)]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["`[` opening the `edges` array", "found `{`"]);
}

#[test]
fn fraction_inside_nodes() {
    let s = tiny_with(&[("3,1,3,16", "3,1,3,1.5")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        // The `1` of `1.5` is element 10; the error is reported at the `.` (element 10 or 11).
        &[
            "non-negative integer",
            "found `.`",
            "in `nodes`[1",
            &at_byte(&s, ".5", 0),
        ],
    );
    // Exponent notation.
    let e = load_err(tiny_with(&[("3,1,3,16", "3,1,3,1e3")]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["found `e`"]);
}

#[test]
fn negative_number_inside_nodes_and_edges() {
    let s = tiny_with(&[("3,1,3,16", "3,1,-3,16")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "non-negative integer",
            "found `-`",
            "in `nodes`[9]",
            &at_byte(&s, "-3", 0),
        ],
    );
    let s = tiny_with(&[("[1,0,7]", "[1,0,-7]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["found `-`", "in `edges`[2]"]);
}

#[test]
fn numbers_above_u32() {
    let s = tiny_with(&[("3,1,3,16", "3,1,3,4294967296")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NumberTooLarge { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "4294967296",
            "unsigned 32-bit",
            "in `nodes`[10]",
            &at_byte(&s, "4294967296", 0),
        ],
    );
    // u32::MAX itself is fine.
    load_ok(tiny_with(&[("3,1,3,16", "3,1,3,4294967295")]).as_bytes());
    // Far past u64 too.
    let s = tiny_with(&[("[1,0,7]", "[1,0,99999999999999999999999999]")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NumberTooLarge { .. }), "{e:?}");
    assert_msg(&e, &["in `edges`[2]", &at_byte(&s, "999", 0)]);
}

#[test]
fn header_counts_out_of_range() {
    let e = load_err(tiny_with(&[(r#""node_count":2"#, r#""node_count":-2"#)]).as_bytes());
    assert!(matches!(e, FormatError::BadHeader(_)), "{e:?}");
    assert_msg(&e, &["`snapshot.node_count`", "non-negative integer", "-2"]);
    let e = load_err(tiny_with(&[(r#""edge_count":1,"#, r#""edge_count":1.5,"#)]).as_bytes());
    assert!(matches!(e, FormatError::BadHeader(_)), "{e:?}");
    assert_msg(&e, &["`snapshot.edge_count`"]);
    let e =
        load_err(tiny_with(&[(r#""edge_count":1,"#, r#""edge_count":4294967296,"#)]).as_bytes());
    assert!(matches!(e, FormatError::BadHeader(_)), "{e:?}");
    assert_msg(&e, &["edge_count 4294967296"]);
}

// ---------------------------------------------------------------------------------------------
// Structure

#[test]
fn duplicate_top_level_key() {
    let s = tiny_with(&[(r#""locations":[],"#, r#""locations":[],"locations":[],"#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "`locations` appears twice",
            &at_byte(&s, "[],\"strings\"", 0),
        ],
    );

    // A second `nodes` array would silently replace the first one.
    let s = tiny_with(&[(
        r#""edges":"#,
        r#""nodes":[9,0,1,0,1,0,0,3,1,3,16,0,0,0],"edges":"#,
    )]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`nodes` appears twice"]);

    // And unknown keys may not repeat either.
    let s = tiny_with(&[(r#""nodes":"#, r#""x":1,"x":2,"nodes":"#)]);
    let e = load_err(s.as_bytes());
    assert_msg(&e, &["`x` appears twice"]);
}

#[test]
fn missing_strings_section() {
    let e = load_err(tiny_with(&[(r#","strings":["","Object"]"#, "")]).as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`strings` section is missing"]);
}

#[test]
fn missing_edges_section() {
    let e = load_err(tiny_with(&[(r#""edges":[1,0,7],"#, "")]).as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`edges` section is missing"]);
}

#[test]
fn missing_nodes_section() {
    let s = tiny_with(&[(r#""nodes":[9,0,1,0,1,0,0,3,1,3,16,0,0,0],"#, "")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`edges` before `nodes`", &at_byte(&s, "[1,0,7]", 0)]);

    // Without edges as well.
    let s = tiny_with(&[(
        r#""nodes":[9,0,1,0,1,0,0,3,1,3,16,0,0,0],"edges":[1,0,7],"#,
        "",
    )]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`nodes` section is missing"]);
}

#[test]
fn missing_snapshot_header() {
    let header_end = TINY.find(r#""nodes""#).unwrap();
    let s = format!("{{{}", &TINY[header_end..]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`nodes` before", "at byte 9"]);

    // A header that comes after the arrays it describes.
    let s = tiny_with(&[(r#""snapshot":"#, r#""strings":[],"snapshot":"#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["`strings` before the `snapshot` header"]);
}

#[test]
fn header_with_missing_meta_fields() {
    // (edits to TINY, what the message must say)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &[(r#""snapshot":{"meta":{"#, r#""snapshot":{"nometa":{"#)],
            &["`snapshot.meta` is missing"],
        ),
        (
            &[(r#""node_count":2,"#, "")],
            &["`snapshot.node_count` is missing"],
        ),
        (
            &[(r#""edge_count":1,"#, "")],
            &["`snapshot.edge_count` is missing"],
        ),
        (
            &[(r#""edge_fields":["type","name_or_index","to_node"],"#, "")],
            &["`meta.edge_fields` has no `type` field"],
        ),
        (
            &[(r#""id","self_size""#, r#""self_size""#)],
            &[
                "`meta.node_fields` has no `id` field",
                "type, name, self_size",
            ],
        ),
        (
            &[(r#","to_node"]"#, "]")],
            &["`meta.edge_fields` has no `to_node` field"],
        ),
        (
            &[(r#""node_types":[["#, r#""node_types_":[["#)],
            &["`meta.node_types[0]` must be a list of type names"],
        ),
        (
            &[(
                r#"[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number""#,
                r#"["string_or_number""#,
            )],
            &["`meta.edge_types[0]` must be a list of type names"],
        ),
        (
            &[(r#"["type","name","id""#, r#"["type","name",7"#)],
            &["`meta.node_fields` must be a list of strings"],
        ),
        (
            &[(r#""meta":{"#, r#""meta":[],"x":{"#)],
            &["`meta.node_fields` has no `type` field"],
        ),
    ];
    for (edits, parts) in cases {
        let s = tiny_with(edits);
        let e = load_err(s.as_bytes());
        assert!(matches!(e, FormatError::BadHeader(_)), "{edits:?}: {e:?}");
        let mut parts = parts.to_vec();
        parts.push("invalid `snapshot.meta` header");
        assert_msg(&e, &parts);
    }

    // A `snapshot` that is not an object at all.
    let s = format!(
        r#"{{"snapshot":[1],{}"#,
        &TINY[TINY.find(r#""nodes""#).unwrap()..]
    );
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["`{` opening the `snapshot` header", "at byte 12"]);

    // A header that is not valid JSON inside.
    let e = load_err(tiny_with(&[(r#""node_count":2"#, r#""node_count":2 2"#)]).as_bytes());
    assert!(matches!(e, FormatError::BadHeader(_)), "{e:?}");
    assert_msg(&e, &["not valid JSON"]);
}

#[test]
fn trailing_garbage_after_closing_brace() {
    let s = format!("{TINY}xyz");
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "nothing after the closing `}`",
            "found `x`",
            &format!("at byte {}", TINY.len()),
        ],
    );

    // A second snapshot glued on.
    let s = format!("{TINY}\n{TINY}");
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["found `{`", &format!("at byte {}", TINY.len() + 1)]);

    // Trailing whitespace and newlines are fine.
    load_ok(format!("{TINY}\n\r\n \t").as_bytes());
}

#[test]
fn malformed_top_level_object() {
    // A key without quotes.
    let s = tiny_with(&[(r#""locations":"#, "locations:")]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["quoted key", &at_byte(&s, "locations:", 0)]);
    // Missing colon.
    let s = tiny_with(&[(r#""locations":"#, r#""locations" []"#)]);
    let e = load_err(s.as_bytes());
    assert_msg(&e, &["`:` after a key"]);
    // Missing comma between sections.
    let s = tiny_with(&[(r#""locations":[],"#, r#""locations":[] "#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(
        &e,
        &[
            "`,` or `}` after a top-level value",
            &at_byte(&s, "\"strings", 0),
        ],
    );
    // Trailing comma before the closing brace.
    let s = format!("{},}}", &TINY[..TINY.len() - 1]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["quoted key"]);
    // A bad string list.
    let e = load_err(tiny_with(&[(r#"["","Object"]"#, r#"["",Object]"#)]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["expected a string", "in `strings`[1]"]);
    let e = load_err(tiny_with(&[(r#"["","Object"]"#, r#"["","Object",]"#)]).as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &["in `strings`[2]"]);
    // Very long key.
    let long = format!(r#""{}":1,"nodes":"#, "k".repeat(300));
    let e = load_err(tiny_with(&[(r#""nodes":"#, &long)]).as_bytes());
    assert!(matches!(e, FormatError::NotASnapshot { .. }), "{e:?}");
    assert_msg(&e, &["longer than 256 bytes"]);
    // Unbalanced closing bracket in a skipped section.
    let s = tiny_with(&[(r#""nodes":"#, r#""x":[]],"nodes":"#)]);
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Syntax { .. }), "{e:?}");
    assert_msg(&e, &[&at_byte(&s, "],\"nodes", 0)]);
}

#[test]
fn malformed_skipped_scalars_are_rejected() {
    // Values of unknown keys are skipped, but they must still be JSON values: a bare `]`,
    // a second value, or a word that is not `true`/`false`/`null`/a number is malformed.
    for bad in [
        r#""x":]"#,
        r#""x":1 2"#,
        r#""x":tru"#,
        r#""x":1]"#,
        r#""x":"a" "b""#,
    ] {
        let s = tiny_with(&[(r#""nodes":"#, &format!("{bad},\"nodes\":"))]);
        let e = load_err(s.as_bytes());
        assert!(matches!(e, FormatError::Syntax { .. }), "{bad}: {e:?}");
        assert_msg(&e, &["at byte"]);
    }
}

#[test]
fn oversized_header_is_rejected() {
    let pad = format!(r#""pad":"{}","meta":"#, "p".repeat(1 << 20));
    let e = load_err(tiny_with(&[(r#""meta":"#, &pad)]).as_bytes());
    assert!(matches!(e, FormatError::BadHeader(_)), "{e:?}");
    assert_msg(&e, &["larger than 1 MiB"]);
}

#[test]
fn bad_locations() {
    // object_index must be the start of a node.
    let e = load_err(tiny_with(&[(r#""locations":[]"#, r#""locations":[8,1,2,3]"#)]).as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(&e, &["object_index 8", "in `locations`[0]"]);
    // Rows must be complete.
    let e = load_err(tiny_with(&[(r#""locations":[]"#, r#""locations":[7,1,2]"#)]).as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(
        &e,
        &["not a multiple of the 4 location fields", "in `locations`"],
    );
    // A valid row loads.
    let s = load_ok(tiny_with(&[(r#""locations":[]"#, r#""locations":[7,1,2,3]"#)]).as_bytes());
    assert_eq!(s.locations.len(), 1);
    assert_eq!(s.locations[0].node, 1);
}

// ---------------------------------------------------------------------------------------------
// Things that must load

#[test]
fn unknown_top_level_sections_are_skipped() {
    let s = tiny_with(&[
        (
            r#""nodes":"#,
            r#""future_section":{"a":[1,2,{"b":"]"}]},"scopes":[1,2,3],"nodes":"#,
        ),
        (
            r#""locations":"#,
            r#""trace_tree":[[{"x":"\"}\\"}]],"flag":true,"none":null,"num":-1.5e3,"text":"a}]\"b","obj":{},"locations":"#,
        ),
    ]);
    let snap = load_ok(s.as_bytes());
    assert_eq!(snap.node_count(), 2);
    assert_eq!(snap.edge_count(), 1);
    assert_eq!(snap.strings.get(1), "Object");

    // Before the header too, and pushed byte-wise.
    let before = format!(r#"{{"future":{{"k":"{{[\"]"}},"n":0,{}"#, &TINY[1..]);
    assert_eq!(load_ok(before.as_bytes()).node_count(), 2);
    let bytewise = load_chunked(s.as_bytes(), 1).expect("byte-wise push");
    assert_eq!(bytewise.node_count(), 2);
    let bytewise = load_chunked(before.as_bytes(), 1).expect("byte-wise push");
    assert_eq!(bytewise.node_count(), 2);
}

#[test]
fn whitespace_between_tokens_is_accepted() {
    let s = TINY
        .replace(',', " ,\n\t")
        .replace(':', "\r\n: ")
        .replace('[', "[ \n")
        .replace(']', " \n]");
    let s = format!("\n  {s}  \n");
    let snap = load_ok(s.as_bytes());
    assert_eq!(snap.node_count(), 2);
    assert_eq!(snap.edges.to_node, vec![1]);
}

fn all_strings(s: &RawSnapshot) -> Vec<String> {
    (0..s.strings.snapshot_len() as u32)
        .map(|i| s.strings.get(i).into_owned())
        .collect()
}

#[track_caller]
fn assert_same_columns(got: &RawSnapshot, want: &RawSnapshot, what: &str) {
    assert_eq!(got.nodes.id, want.nodes.id, "node ids, {what}");
    assert_eq!(got.nodes.name, want.nodes.name, "node names, {what}");
    assert_eq!(
        got.nodes.self_size, want.nodes.self_size,
        "self sizes, {what}"
    );
    assert_eq!(
        got.nodes.edge_count, want.nodes.edge_count,
        "edge counts, {what}"
    );
    assert_eq!(got.nodes.kind, want.nodes.kind, "node types, {what}");
    assert_eq!(got.edges.to_node, want.edges.to_node, "to_node, {what}");
    assert_eq!(
        got.edges.name_or_index, want.edges.name_or_index,
        "edge names, {what}"
    );
    assert_eq!(got.edges.kind, want.edges.kind, "edge types, {what}");
    assert_eq!(got.locations, want.locations, "locations, {what}");
    assert!(all_strings(got) == all_strings(want), "strings, {what}");
}

#[test]
fn reduced_fixture_is_faithful() {
    // The reduced snapshot holds the fixture's first nodes unchanged.
    let full = fixture_loaded();
    let small = load_ok(reduced());
    assert_eq!(small.node_count(), 2000);
    assert!(small.edge_count() > 1000, "{} edges", small.edge_count());
    assert_eq!(small.nodes.id[..], full.nodes.id[..2000]);
    assert_eq!(small.nodes.self_size[..], full.nodes.self_size[..2000]);
    for n in 0..2000 {
        assert_eq!(
            small.strings.get(small.nodes.name[n]),
            full.strings.get(full.nodes.name[n]),
            "name of node {n}"
        );
    }
    // It keeps the fixture's escaped strings (quotes, backslashes, \uXXXX).
    let escaped = (0..small.strings.snapshot_len() as u32)
        .filter(|&i| small.strings.raw(i).is_none())
        .count();
    assert!(escaped > 10, "{escaped} escaped strings");
}

#[test]
fn chunked_push_matches_whole() {
    let text = reduced();
    let whole = load_ok(text);
    for size in [1, 2, 3, 7, 4096] {
        let got = load_chunked(text, size).unwrap_or_else(|e| panic!("chunks of {size}: {e}"));
        assert_same_columns(&got, &whole, &format!("chunks of {size}"));
    }
    // Compressed, byte by byte.
    let gz = gzip(text);
    let got = load_chunked(&gz, 1).unwrap_or_else(|e| panic!("gzip chunks of 1: {e}"));
    assert_same_columns(&got, &whole, "gzip chunks of 1");
}

#[test]
fn chunked_push_matches_whole_real_fixture() {
    // The 4 MB original as committed: plain in 4 KiB chunks, and gzip in odd-sized chunks.
    let whole = fixture_loaded();
    let got = load_chunked(fixture(), 4096).unwrap_or_else(|e| panic!("chunks of 4096: {e}"));
    assert_same_columns(&got, whole, "chunks of 4096");
    let got = load_chunked(fixture_gz(), 4093).unwrap_or_else(|e| panic!("gzip chunks: {e}"));
    assert_same_columns(&got, whole, "gzip chunks of 4093");
}

#[test]
fn first_error_is_reported_whatever_the_chunking() {
    // Two problems in `nodes`: element 7 exceeds node_count 1, and element 10 is `1e3`. The
    // earlier one (element 7) must be reported, whether the array arrives whole or in pieces.
    let s = tiny_with(&[
        (r#""node_count":2"#, r#""node_count":1"#),
        ("3,1,3,16", "3,1,3,1e3"),
    ]);
    for size in [1, 3, s.len()] {
        let e = load_chunked(s.as_bytes(), size).unwrap_err();
        assert!(
            matches!(e, FormatError::Inconsistent { .. }),
            "chunks of {size}: {e}"
        );
        assert_msg(&e, &["more elements", "in `nodes`[7]"]);
    }
}

#[test]
fn errors_do_not_depend_on_chunking() {
    // Same message, byte offset included, whatever the chunk size.
    let inputs = [
        tiny_with(&[("3,1,3,16", "3,1,x,16")]),
        tiny_with(&[("[1,0,7]", "[1,0,8]")]),
        tiny_with(&[("3,1,3,16", "3,1,3,1.5")]),
        tiny_with(&[(r#""node_count":2"#, r#""node_count":1"#)]),
        tiny_with(&[("3,1,3,16", "3,1,3,4294967296")]),
        format!("{TINY}xyz"),
    ];
    for input in &inputs {
        let whole = load_bytes(input.as_bytes()).unwrap_err().to_string();
        for size in [2, 3, 5, 7, 11] {
            let got = load_chunked(input.as_bytes(), size)
                .unwrap_err()
                .to_string();
            assert_eq!(got, whole, "chunks of {size}");
        }
    }
}

/// Found by the fuzzer: a valid gzip of a snapshot with an error inside a numeric array made
/// flate2's decoder write into the parser again after the error (from its `Drop`), which
/// panicked. Now every later write is refused.
#[test]
fn gzip_after_an_error_does_not_panic() {
    use std::io::Write as _;
    let json = br#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[[]],"edge_fields":["type","name_or_index","to_node"],"edge_types":[[]]},"node_count":1,"edge_count":0},"nodes":[0]}"#;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(json).unwrap();
    let gz = enc.finish().unwrap();
    // Whole, and pushed in small pieces; then the loader is dropped.
    assert!(load_bytes(&gz).is_err());
    for size in [1, 7, 64] {
        let mut loader = heapscope_format::Loader::new();
        let mut failed = false;
        for c in gz.chunks(size) {
            if loader.push(c).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            assert!(loader.finish().is_err());
        } else {
            // More input after an error is refused, not parsed.
            assert!(loader.push(b"1,2,3").is_err());
            drop(loader);
        }
    }
}

#[test]
fn snapshot_without_nodes_is_rejected() {
    let s = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","object","synthetic"]],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"]]},"node_count":0,"edge_count":0},"nodes":[],"edges":[],"strings":[]}"#;
    let e = load_err(s.as_bytes());
    assert!(matches!(e, FormatError::Inconsistent { .. }), "{e:?}");
    assert_msg(&e, &["no nodes", "root node", "in `nodes`"]);
}
