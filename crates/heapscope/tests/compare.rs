//! `heapscope diff` and `heapscope trend` on the series fixtures (`grow-leak`: 200 leaked
//! requests per round, a snapshot after each of 4 rounds; `grow-healthy`: the same load, no
//! leak): JSON figures, the `--fail-on` gate's exit codes, and snapshots of different
//! processes.

use serde_json::Value;

mod common;
use common::{heapscope, json};

/// A fixture snapshot's path as a command-line argument.
fn snapshot(name: &str) -> String {
    common::snapshot(name).to_str().unwrap().to_string()
}

fn class<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no class {name}"))
}

#[test]
fn diff_json_counts_the_leaked_requests() {
    let (base, current) = (snapshot("grow-leak.1"), snapshot("grow-leak.4"));
    let v = json(&[
        "diff",
        &base,
        &current,
        "--json",
        "--limit",
        "0",
        "--class",
        "RequestRecord",
    ]);
    assert_eq!(v["matched_by_id"], true);
    assert_eq!(v["process"]["ids_comparable"], true);
    // DevTools' Comparison has 52 rows for this pair (golden/grow-leak.diff-1-4.json.gz).
    assert_eq!(v["class_count"], 52);
    let r = class(&v, "RequestRecord");
    assert_eq!(r["new_count"], 600);
    assert_eq!(r["deleted_count"], 0);
    assert_eq!(r["count_delta"], 600);
    assert_eq!(r["alloc_size"], 600 * 96);
    assert_eq!(
        (r["base_count"].as_u64(), r["current_count"].as_u64()),
        (Some(200), Some(800))
    );
    assert!(r["retained_delta"].as_i64().unwrap() > 0);
    let objects = v["new_objects"].as_array().unwrap();
    assert_eq!(objects.len(), 600);
    assert!(objects
        .iter()
        .all(|o| o["self_size"] == 96 && o["id"].as_u64().unwrap() > 0));
    assert_eq!(class(&v, "ServerResponse")["count_delta"], 600);
}

#[test]
fn diff_sorts_filters_and_limits() {
    let (base, current) = (snapshot("grow-leak.1"), snapshot("grow-leak.4"));
    let v = json(&[
        "diff", &base, &current, "--json", "--sort", "new", "--limit", "3",
    ]);
    let rows = v["classes"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let new: Vec<u64> = rows
        .iter()
        .map(|c| c["new_count"].as_u64().unwrap())
        .collect();
    assert!(new.windows(2).all(|w| w[0] >= w[1]), "{new:?}");
    let v = json(&["diff", &base, &current, "--json", "--filter", "/^Request/"]);
    let names: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["RequestRecord"]);
}

#[test]
fn diff_gate_exits_1_when_tripped_and_0_otherwise() {
    let (base, current) = (snapshot("grow-leak.1"), snapshot("grow-leak.4"));
    let out = heapscope(&[
        "diff",
        &base,
        &current,
        "--fail-on",
        "class:RequestRecord count-growth>100",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("class RequestRecord: count-growth is 600 (threshold > 100)"),
        "{err}"
    );

    let out = heapscope(&[
        "diff",
        &base,
        &current,
        "--fail-on",
        "retained-growth>10MB",
        "--fail-on",
        "class:Socket count-growth>100",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let v = json(&[
        "diff",
        &base,
        &current,
        "--json",
        "--fail-on",
        "retained-growth>10MB",
    ]);
    assert_eq!(v["gate"][0]["tripped"], false);
    assert!(v["gate"][0]["actual"].as_f64().unwrap() > 1e6);

    // The healthy service under the same load passes the gate that catches the leak.
    let out = heapscope(&[
        "diff",
        &snapshot("grow-healthy.1"),
        &snapshot("grow-healthy.4"),
        "--fail-on",
        "class:RequestRecord count-growth>100",
        "--fail-on",
        "retained-growth>1MB",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_gate_expressions_are_usage_errors() {
    let (base, current) = (snapshot("grow-leak.1"), snapshot("grow-leak.2"));
    for bad in [
        "retained-growth",
        "bogus>1",
        "retained-growth>10XB",
        "Socket count-growth>1",
    ] {
        let out = heapscope(&["diff", &base, &current, "--fail-on", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn diff_of_different_processes_compares_classes_only() {
    let v = json(&[
        "diff",
        &snapshot("grow-leak.1"),
        &snapshot("grow-healthy.4"),
        "--json",
        "--limit",
        "0",
    ]);
    assert_eq!(v["matched_by_id"], false);
    assert_eq!(v["process"]["ids_comparable"], false);
    assert!(v["process"]["problem"]
        .as_str()
        .unwrap()
        .contains("different processes"));
    let r = class(&v, "RequestRecord");
    assert_eq!(r["count_delta"], -200);
    assert_eq!(r["new_count"], 0);

    let out = heapscope(&[
        "diff",
        &snapshot("grow-leak.1"),
        &snapshot("grow-healthy.4"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Object ids cannot be matched:"), "{text}");
}

#[test]
fn trend_json_flags_growth_collections_and_survivors() {
    let files: Vec<String> = (1..=4)
        .map(|k| snapshot(&format!("grow-leak.{k}")))
        .collect();
    let mut args = vec!["trend"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--json", "--limit", "0"]);
    let v = json(&args);
    assert_eq!(v["ids_comparable"], true);
    let r = class(&v, "RequestRecord");
    assert_eq!(r["counts"], serde_json::json!([200, 400, 600, 800]));
    assert_eq!(r["count_grows"], true);
    let collections = v["growing_collections"].as_array().unwrap();
    let map = collections.iter().find(|c| c["kind"] == "Map").unwrap();
    assert_eq!(map["entries"], serde_json::json!([200, 400, 600, 800]));
    assert!(
        map["path"]
            .as_str()
            .unwrap()
            .ends_with(".recentRequests → Map @79987"),
        "{}",
        map["path"]
    );
    let listeners = collections.iter().find(|c| c["kind"] == "Array").unwrap();
    assert!(
        listeners["path"]
            .as_str()
            .unwrap()
            .contains("._events → Object"),
        "{}",
        listeners["path"]
    );
    let survivors = v["survivors"].as_array().unwrap();
    let records = survivors
        .iter()
        .find(|s| s["name"] == "RequestRecord")
        .unwrap();
    assert_eq!(
        records["by_first_snapshot"],
        serde_json::json!([0, 200, 200, 0])
    );

    let out = heapscope(&[&args[..5], &["--fail-on", "growing-collections>0"]].concat());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn trend_of_the_healthy_series_passes_the_gate() {
    let files: Vec<String> = (1..=4)
        .map(|k| snapshot(&format!("grow-healthy.{k}")))
        .collect();
    let mut args = vec!["trend"];
    args.extend(files.iter().map(String::as_str));
    args.extend([
        "--json",
        "--fail-on",
        "growing-collections>0",
        "--fail-on",
        "class:RequestRecord count-growth>0",
    ]);
    let v = json(&args);
    assert_eq!(v["growing_collections"].as_array().unwrap().len(), 0);
    assert_eq!(v["gate"].as_array().unwrap().len(), 2);

    // Fewer than three snapshots is a usage error.
    let out = heapscope(&["trend", &files[0], &files[1]]);
    assert_eq!(out.status.code(), Some(2));
}
