//! Parity with Chrome DevTools on every committed fixture: each node's id, self size (after
//! re-attribution), retained size, distance and dominator, every Summary row and the
//! statistics must equal the goldens the DevTools oracle wrote (fixtures/golden).
//!
//! Note on the goldens' per-node `class_name` column: the oracle prints it after looking up the
//! dominator's id through the same node cursor, so the column holds the class of the node's
//! *dominator* (a quirk of the shared oracle script, not of DevTools). We compare it as such,
//! and compare every node's own class with `golden/*.classes.tsv.gz`, written by a copy of the
//! oracle with that line fixed (fixtures/oracle-node-classes.sh).

use std::io::Read;
use std::path::{Path, PathBuf};

use heapscope_analysis::{names::json_quote, Analysis};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn gunzip(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn analyze(name: &str) -> Analysis {
    let bytes =
        std::fs::read(fixtures().join(format!("snapshots/{name}.heapsnapshot.gz"))).unwrap();
    // Push in odd-sized chunks so tokens split across chunk boundaries.
    let mut loader = heapscope_format::Loader::new();
    for chunk in bytes.chunks(7919) {
        loader.push(chunk).unwrap();
    }
    Analysis::new(loader.finish().unwrap(), &|_| {})
}

fn check(name: &str) {
    let a = analyze(name);
    let g = &a.graph;
    let golden: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join(format!("golden/{name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        golden["node_count"].as_u64().unwrap() as usize,
        a.node_count(),
        "{name}: node count"
    );
    assert_eq!(
        golden["edge_count"].as_u64().unwrap() as usize,
        a.edge_count(),
        "{name}: edge count"
    );

    // Per node.
    let tsv = String::from_utf8(gunzip(&fixtures().join(format!("golden/{name}.tsv.gz")))).unwrap();
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id\tself\tretained\tdistance\tdominator_id\tclass_name"
    );
    let mut mismatches = Vec::new();
    let mut rows = 0;
    for (n, line) in lines.enumerate() {
        rows += 1;
        let n = n as u32;
        let dom = a.idom[n as usize];
        let ours = format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            g.id(n),
            g.self_size(n),
            a.retained[n as usize],
            a.distance[n as usize],
            g.id(dom),
            json_quote(&a.class_name(dom))
        );
        if ours != line && mismatches.len() < 10 {
            mismatches.push(format!("node {n}:\n  devtools {line}\n  ours     {ours}"));
        }
    }
    assert_eq!(rows, a.node_count(), "{name}: TSV rows");
    assert!(
        mismatches.is_empty(),
        "{name}: per-node mismatches:\n{}",
        mismatches.join("\n")
    );

    // Every node's own class, from the patched copy of the oracle (fixtures/README.md).
    let classes = String::from_utf8(gunzip(
        &fixtures().join(format!("golden/{name}.classes.tsv.gz")),
    ))
    .unwrap();
    let mut lines = classes.lines();
    assert_eq!(lines.next().unwrap(), "id\tclass_name");
    let mut class_mismatches = Vec::new();
    let mut rows = 0;
    for (n, line) in lines.enumerate() {
        rows += 1;
        let n = n as u32;
        let ours = format!("{}\t{}", g.id(n), json_quote(&a.class_name(n)));
        if ours != line && class_mismatches.len() < 10 {
            class_mismatches.push(format!("node {n}: devtools {line} ours {ours}"));
        }
    }
    assert_eq!(rows, a.node_count(), "{name}: class rows");
    assert!(
        class_mismatches.is_empty(),
        "{name}: class mismatches:\n{}",
        class_mismatches.join("\n")
    );

    // Summary rows.
    let mut expected: Vec<String> = golden["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                c["key"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                c["count"],
                c["self"],
                c["retained"],
                c["distance"]
            )
        })
        .collect();
    let mut ours: Vec<String> = a
        .classes
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                c.key, c.name, c.count, c.self_size, c.retained_size, c.distance
            )
        })
        .collect();
    expected.sort();
    ours.sort();
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !ours.contains(e))
        .take(10)
        .collect();
    let extra: Vec<_> = ours
        .iter()
        .filter(|e| !expected.contains(e))
        .take(10)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: class rows differ\n  devtools only: {missing:#?}\n  ours only: {extra:#?}"
    );

    // Statistics.
    let s = &golden["statistics"];
    let st = &a.statistics;
    assert_eq!(s["total"].as_u64().unwrap(), st.total, "{name}: total");
    assert_eq!(
        s["native"]["total"].as_u64().unwrap(),
        st.native_total,
        "{name}: native"
    );
    assert_eq!(
        s["native"]["typedArrays"].as_u64().unwrap(),
        st.typed_arrays,
        "{name}: typed arrays"
    );
    assert_eq!(
        s["v8heap"]["total"].as_i64().unwrap(),
        st.v8heap_total,
        "{name}: v8heap"
    );
    assert_eq!(
        s["v8heap"]["code"].as_u64().unwrap(),
        st.code,
        "{name}: code"
    );
    assert_eq!(
        s["v8heap"]["jsArrays"].as_u64().unwrap(),
        st.js_arrays,
        "{name}: js arrays"
    );
    assert_eq!(
        s["v8heap"]["strings"].as_u64().unwrap(),
        st.strings,
        "{name}: strings"
    );
    assert_eq!(
        s["v8heap"]["system"].as_u64().unwrap(),
        st.system,
        "{name}: system"
    );

    // The 200 largest objects: display names and types too.
    for o in golden["top_objects"].as_array().unwrap() {
        let id = o["id"].as_u64().unwrap() as u32;
        let n = g.ordinal_of_id(id).unwrap();
        assert_eq!(
            o["name"].as_str().unwrap(),
            a.display_name(n),
            "{name}: name of @{id}"
        );
        assert_eq!(
            o["class_name"].as_str().unwrap(),
            a.class_name(n),
            "{name}: class of @{id}"
        );
        assert_eq!(
            o["type"].as_str().unwrap(),
            g.raw.node_type_name(n),
            "{name}: type of @{id}"
        );
    }
}

macro_rules! parity {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(#[test] fn $test() { check($name); })*
    };
}

parity! {
    closures_classes => "closures-classes",
    collections => "collections",
    buffers_strings => "buffers-strings",
    sockets_timers => "sockets-timers",
    tracking => "tracking",
    internals => "internals",
    inspector => "inspector",
    legacy_5fields => "legacy-5fields",
    plain_healthy => "plain-healthy",
    smtp_leak => "smtp-leak",
    tls_535_leak => "tls-535-leak",
    smtp_healthy => "smtp-healthy",
}
