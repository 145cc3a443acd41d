//! End-to-end tests of the `heapscope` binary on committed fixtures: output formats, DevTools
//! parity through the CLI, stdin, exit codes and error messages.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::{fixtures, heapscope, ok_stdout, snapshot};

fn golden(name: &str) -> Value {
    let text = std::fs::read(fixtures().join(format!("golden/{name}.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn summary_json_matches_devtools_classes() {
    let path = snapshot("closures-classes");
    let out = ok_stdout(&["summary", path.to_str().unwrap(), "--json", "--limit", "0"]);
    let ours: Value = serde_json::from_str(&out).unwrap();
    let g = golden("closures-classes");
    assert_eq!(ours["node_count"], g["node_count"]);
    assert_eq!(ours["total_size"], g["total_size"]);
    let classes = ours["classes"].as_array().unwrap();
    assert_eq!(classes.len(), g["classes"].as_array().unwrap().len());
    for want in g["classes"].as_array().unwrap() {
        let got = classes
            .iter()
            .find(|c| c["key"] == want["key"])
            .unwrap_or_else(|| panic!("class {} missing", want["key"]));
        assert_eq!(got["count"], want["count"], "{}", want["key"]);
        assert_eq!(got["self_size"], want["self"], "{}", want["key"]);
        assert_eq!(got["retained_size"], want["retained"], "{}", want["key"]);
        assert_eq!(got["distance"], want["distance"], "{}", want["key"]);
    }
    let retained: Vec<u64> = classes
        .iter()
        .map(|c| c["retained_size"].as_u64().unwrap())
        .collect();
    assert!(
        retained.windows(2).all(|w| w[0] >= w[1]),
        "sorted by retained size"
    );
}

#[test]
fn summary_filters_sorts_and_limits() {
    let path = snapshot("closures-classes");
    let p = path.to_str().unwrap();
    let out = ok_stdout(&["summary", p, "--json", "--filter", "Widget"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let widgets = v["classes"].as_array().unwrap();
    assert_eq!(
        widgets.len(),
        2,
        "two same-named Widget classes from two files"
    );
    let counts: Vec<u64> = widgets
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .collect();
    assert!(counts.contains(&700) && counts.contains(&300), "{counts:?}");

    let args = [
        "summary",
        p,
        "--json",
        "--filter",
        "/^\\(.*\\)$/",
        "--sort",
        "count",
        "--limit",
        "3",
    ];
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    let rows = v["classes"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        let name = r["name"].as_str().unwrap();
        assert!(name.starts_with('(') && name.ends_with(')'), "{name}");
    }
    let c: Vec<u64> = rows.iter().map(|c| c["count"].as_u64().unwrap()).collect();
    assert!(c.windows(2).all(|w| w[0] >= w[1]), "{c:?}");

    let table = ok_stdout(&["summary", p, "--limit", "5"]);
    assert!(
        table.contains("Retained Size") && table.contains("Constructor"),
        "{table}"
    );
    assert!(table.contains("67,643 nodes"), "{table}");
}

#[test]
fn stats_json_matches_devtools_statistics() {
    let path = snapshot("sockets-timers");
    let out = ok_stdout(&["stats", path.to_str().unwrap(), "--json"]);
    let ours: Value = serde_json::from_str(&out).unwrap();
    let g = &golden("sockets-timers")["statistics"];
    assert_eq!(ours["total"], g["total"]);
    assert_eq!(ours["native"], g["native"]);
    assert_eq!(ours["v8heap"], g["v8heap"]);
}

#[test]
fn nodes_tsv_matches_devtools_per_node_numbers() {
    let path = snapshot("plain-healthy");
    let out = ok_stdout(&["nodes", path.to_str().unwrap(), "--format", "tsv"]);
    let want = String::from_utf8(gunzip(&fixtures().join("golden/plain-healthy.tsv.gz"))).unwrap();
    let ours: Vec<&str> = out.lines().collect();
    let theirs: Vec<&str> = want.lines().collect();
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(ours[0], theirs[0], "same header");
    // The first five columns; the oracle's class column is its dominator's (see parity.rs).
    for (a, b) in ours.iter().zip(&theirs).skip(1) {
        let a: Vec<&str> = a.splitn(6, '\t').take(5).collect();
        let b: Vec<&str> = b.splitn(6, '\t').take(5).collect();
        assert_eq!(a, b);
    }
}

#[test]
fn nodes_csv_and_jsonl() {
    let path = snapshot("buffers-strings");
    let p = path.to_str().unwrap();
    let csv = ok_stdout(&["nodes", p, "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,self,retained,distance,dominator_id,class_name"
    );
    assert_eq!(lines.count(), 42260);
    let jsonl = ok_stdout(&["nodes", p, "--format", "jsonl"]);
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], 1);
    assert_eq!(jsonl.lines().count(), 42260);
    for line in jsonl.lines().take(2000) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["class_name"].is_string());
    }
}

#[test]
fn reads_stdin_plain_and_gzip() {
    let gz = std::fs::read(snapshot("plain-healthy")).unwrap();
    let plain = gunzip(&snapshot("plain-healthy"));
    for input in [gz, plain] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_heapscope"))
            .args(["stats", "-", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["total"], golden("plain-healthy")["statistics"]["total"]);
    }
}

#[test]
fn bad_input_exits_1_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("heapscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cpuprofile = dir.join("x.cpuprofile");
    std::fs::write(
        &cpuprofile,
        br#"{"nodes":[{"id":1,"callFrame":{"functionName":"(root)"}}],"startTime":0}"#,
    )
    .unwrap();
    let out = heapscope(&["summary", cpuprofile.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CPU profile") && err.contains("x.cpuprofile"),
        "{err}"
    );

    let truncated = dir.join("t.heapsnapshot");
    let plain = gunzip(&snapshot("plain-healthy"));
    std::fs::write(&truncated, &plain[..plain.len() / 2]).unwrap();
    let out = heapscope(&["stats", truncated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated") && err.contains("at byte"),
        "{err}"
    );

    let out = heapscope(&["stats", dir.join("missing.heapsnapshot").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_errors_exit_2_and_help_works() {
    assert_eq!(heapscope(&["summary"]).status.code(), Some(2));
    assert_eq!(heapscope(&["frobnicate"]).status.code(), Some(2));
    let help = ok_stdout(&["--help"]);
    for cmd in ["summary", "stats", "nodes"] {
        assert!(help.contains(cmd), "{help}");
    }
    let help = ok_stdout(&["summary", "--help"]);
    assert!(help.contains("--filter") && help.contains("--sort") && help.contains("--json"));
}

#[test]
fn show_edges_retainers_and_location() {
    let path = snapshot("closures-classes");
    let p = path.to_str().unwrap();
    // The `Widget` class from lib/b (a closure with a source location).
    let v: Value = serde_json::from_str(&ok_stdout(&["show", p, "@6207", "--json"])).unwrap();
    assert_eq!(v["object"]["node_type"], "closure");
    assert_eq!(v["object"]["name"], "Widget");
    let loc = v["location"].as_str().unwrap();
    assert!(loc.ends_with("lib/b/widget.js:8:14"), "{loc}");
    let edges = v["edges"].as_array().unwrap();
    assert!(edges.iter().any(|e| e["edge"] == ".prototype"));
    let retained: Vec<u64> = edges
        .iter()
        .map(|e| e["node"]["retained_size"].as_u64().unwrap())
        .collect();
    assert!(retained.windows(2).all(|w| w[0] >= w[1]));

    // A Widget instance: its retainers, two levels, nearest to the roots first.
    let args = ["show", p, "6161", "--retainers", "--depth", "2", "--json"];
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    let first = &v["retainers"][0];
    assert_eq!(first["edge"], "[299]");
    assert_eq!(first["node"]["class_name"], "Array");
    assert_eq!(first["retainers"][0]["edge"], ".widgetsB");
    let dominators: Vec<&str> = v["dominators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["class_name"].as_str().unwrap())
        .collect();
    assert_eq!(dominators.first(), Some(&"Array"));
    assert_eq!(dominators.last(), Some(&"(synthetic)"));

    let out = heapscope(&["show", p, "@999999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no object @999999999"));
}

#[test]
fn path_shows_closure_and_context_variables() {
    let path = snapshot("closures-classes");
    let p = path.to_str().unwrap();
    let text = ok_stdout(&["path", p, "@59527"]);
    assert!(
        text.starts_with("(GC roots) → global @6047 .fixtureRoot → Object @6159 .closures"),
        "{text}"
    );
    assert!(text.contains("Function @42629 (vars: big)"), "{text}");
    assert!(text.contains("closures-classes.js:56:25"), "{text}");
    assert!(text.trim_end().ends_with("->big → Array @59527"), "{text}");
    let v: Value = serde_json::from_str(&ok_stdout(&["path", p, "@59527", "--json"])).unwrap();
    let steps = v[0].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["node"]["id"], 59527);
    assert!(steps.last().unwrap()["edge"].is_null());
}

#[test]
fn find_by_class_name_and_string() {
    let path = snapshot("closures-classes");
    let p = path.to_str().unwrap();
    let v: Value = serde_json::from_str(&ok_stdout(&[
        "find", p, "--class", "Widget", "--json", "--limit", "5",
    ]))
    .unwrap();
    assert_eq!(v["total"], 1000);
    assert_eq!(v["objects"].as_array().unwrap().len(), 5);
    let args = [
        "find",
        p,
        "--class",
        "Widget",
        "--min-retained",
        "200",
        "--json",
    ];
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    assert!(v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["retained_size"].as_u64().unwrap() >= 200));
    let v: Value = serde_json::from_str(&ok_stdout(&[
        "find", p, "--name", "^Widget$", "--json", "--limit", "0",
    ]))
    .unwrap();
    assert!(v["total"].as_u64().unwrap() >= 1000);
    let strings = snapshot("buffers-strings");
    let v: Value = serde_json::from_str(&ok_stdout(&[
        "find",
        strings.to_str().unwrap(),
        "--string",
        "fixtureRoot",
        "--json",
    ]))
    .unwrap();
    assert!(v["total"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(
        heapscope(&["find", p]).status.code(),
        Some(2),
        "nothing to find is a usage error"
    );
}

#[test]
fn dominators_tree_groups_identical_siblings() {
    let path = snapshot("closures-classes");
    let p = path.to_str().unwrap();
    let v: Value =
        serde_json::from_str(&ok_stdout(&["dominators", p, "--json", "--depth", "1"])).unwrap();
    assert_eq!(v["node"]["id"], 1, "starts at the root");
    let kids = v["children"].as_array().unwrap();
    assert_eq!(kids[0]["node"]["class_name"], "global");
    let retained: Vec<u64> = kids
        .iter()
        .map(|k| k["retained_size"].as_u64().unwrap())
        .collect();
    assert!(retained.windows(2).all(|w| w[0] >= w[1]));
    // Under the Node error-code table, 205 NodeError closures with the same name, shallow
    // size and distance are one group.
    let v: Value =
        serde_json::from_str(&ok_stdout(&["dominators", p, "@71031", "--json"])).unwrap();
    let first = &v["children"][0];
    assert_eq!(first["node"]["name"], "NodeError");
    assert_eq!(first["count"], 205);
    let v: Value = serde_json::from_str(&ok_stdout(&[
        "dominators",
        p,
        "@71031",
        "--json",
        "--no-group",
        "--limit",
        "500",
    ]))
    .unwrap();
    assert!(v["children"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["count"] == 1));
    assert!(v["children"].as_array().unwrap().len() > 205);
}
