//! `heapscope leaks` on the story's fixtures, asserting on the `--json` report: the leaked
//! socket group first with its exact count, the path through `SMTPConnection._socket` to the
//! closure with its variables, file and line, the `535` reply surfaced, and no finding on
//! healthy processes.

use std::path::PathBuf;

use serde_json::Value;

mod common;
use common::{heapscope, snapshot};

fn report(name: &str, extra: &[&str]) -> Value {
    let file = snapshot(name);
    let mut args = vec!["leaks", file.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = heapscope(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "heapscope.leaks/1");
    doc
}

fn reason_kinds(finding: &Value) -> Vec<&str> {
    finding["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect()
}

/// `(class, edge)` pairs of a finding's path, root first.
fn path_steps(finding: &Value) -> Vec<(String, String)> {
    finding["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["class_name"].as_str().unwrap().to_string(),
                s["edge"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn assert_story_path(first: &Value) {
    let steps = path_steps(first);
    let has = |class: &str, edge: &str| steps.iter().any(|(c, e)| c == class && e == edge);
    assert!(has("SMTPConnection", "._socket"), "{steps:?}");
    assert!(has("system / Context", "->connection"), "{steps:?}");
    assert!(has("SMTPTransport", "._events"), "{steps:?}");
    let holder = &first["holder"];
    assert_eq!(holder["via"], "connection");
    let vars: Vec<&str> = holder["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in ["connection", "sendMessage", "returned", "callbackWrapper"] {
        assert!(vars.contains(&v), "{vars:?}");
    }
    let closure = &holder["closure"];
    assert_eq!(closure["name"], "onTransportClose");
    let loc = closure["location"].as_str().unwrap();
    assert!(loc.ends_with("lib/smtp/smtp-transport.js:168:35"), "{loc}");
    assert_eq!(holder["function"]["name"], "SMTPTransport.send");
    assert!(holder["function"]["location"]
        .as_str()
        .unwrap()
        .contains("smtp-transport.js:139:"));
}

#[test]
fn smtp_leak_names_the_socket_group_first_with_its_exact_count() {
    let doc = report("smtp-leak", &[]);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let first = &findings[0];
    assert_eq!(first["title"], "300 × TCP");
    assert_eq!(first["class_name"], "TCP");
    assert_eq!(first["count"], 300);
    assert_eq!(first["ids"].as_array().unwrap().len(), 20);
    assert!(first["retained_percent"].as_f64().unwrap() > 10.0);
    let kinds = reason_kinds(first);
    assert_eq!(kinds[0], "open_handles");
    assert!(kinds.contains(&"listeners"), "{kinds:?}");
    assert!(kinds.contains(&"sibling_group"), "{kinds:?}");
    assert_story_path(first);
    assert_eq!(
        first["path"].as_array().unwrap().last().unwrap()["class_name"],
        "TCP"
    );
    // Only strings many of the connections share: not each one's own `250 … queued as`.
    let strings = first["strings"].as_array().unwrap();
    assert!(!strings.is_empty());
    assert!(
        strings.iter().all(|s| s["count"].as_u64().unwrap() >= 20),
        "{strings:#?}"
    );
    let listeners = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "listeners")
        .unwrap();
    assert_eq!(listeners["count"], 300);
    assert_eq!(listeners["flagged"], true);
}

#[test]
fn tls_leak_surfaces_the_535_reply() {
    let doc = report("tls-535-leak", &[]);
    let first = &doc["findings"][0];
    assert_eq!(first["count"], 120);
    assert!(["TCP", "TLSWrap", "TLSSocket"].contains(&first["class_name"].as_str().unwrap()));
    assert_story_path(first);
    let strings = first["strings"].as_array().unwrap();
    let reply = &strings[0];
    assert_eq!(reply["text"], "535 5.7.8 Authentication failed");
    assert_eq!(reply["kind"], "reply");
    assert_eq!(reply["count"], 120);
    assert!(strings
        .iter()
        .any(|s| s["text"] == "Invalid login: 535 5.7.8 Authentication failed"));
}

#[test]
fn healthy_processes_raise_no_alarm() {
    for name in ["smtp-healthy", "plain-healthy"] {
        let doc = report(name, &[]);
        assert_eq!(
            doc["findings"].as_array().unwrap().len(),
            0,
            "{name}: {:#}",
            doc["findings"]
        );
        assert!(
            doc["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["flagged"] == false),
            "{name}"
        );
    }
}

#[test]
fn thresholds_are_options() {
    // Lowered far enough, the healthy process shows what was under the thresholds.
    let doc = report(
        "smtp-healthy",
        &[
            "--group-threshold",
            "0.5",
            "--object-threshold",
            "0.5",
            "--class-threshold",
            "0.5",
        ],
    );
    assert!(!doc["findings"].as_array().unwrap().is_empty());
    // Raised above the leak, the handle rule alone no longer fires; listeners still do.
    let doc = report(
        "smtp-leak",
        &[
            "--handles",
            "1000",
            "--group-threshold",
            "90",
            "--listeners",
            "1000",
        ],
    );
    assert_eq!(
        doc["findings"].as_array().unwrap().len(),
        0,
        "{:#}",
        doc["findings"]
    );
}

#[test]
fn growing_listener_list_is_one_finding_with_its_closure() {
    let doc = report("grow-leak.4", &[]);
    let first = &doc["findings"][0];
    let title = first["title"].as_str().unwrap();
    assert!(
        title.starts_with("800 'shutdown' listeners on EventEmitter @"),
        "{title}"
    );
    assert_eq!(reason_kinds(first)[0], "listeners");
    assert_eq!(first["holder"]["closure"]["name"], "flushOnShutdown");
}

#[test]
fn text_and_markdown_tell_the_same_story() {
    let file = snapshot("smtp-leak");
    let text = String::from_utf8(heapscope(&["leaks", file.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("1. 300 × TCP"), "{text}");
    assert!(text.contains("SMTPConnection @"), "{text}");
    assert!(text.contains("._socket"), "{text}");
    assert!(
        text.contains("held by closure onTransportClose() at "),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "NO_COLOR is set: no escape codes");
    let md = String::from_utf8(heapscope(&["leaks", file.to_str().unwrap(), "--markdown"]).stdout)
        .unwrap();
    assert!(md.starts_with("## heapscope leak report"), "{md}");
    assert!(md.contains("### 1. 300 × TCP"), "{md}");
    assert!(md.contains("| check | result | flagged |"), "{md}");
}

fn report3(series: &str, snapshots: [u32; 3]) -> Value {
    let files: Vec<PathBuf> = snapshots
        .iter()
        .map(|i| snapshot(&format!("{series}.{i}")))
        .collect();
    let mut args = vec!["leaks"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.push("--json");
    let out = heapscope(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn three_snapshots_find_what_was_allocated_and_kept() {
    let doc = report3("grow-leak", [2, 3, 4]);
    assert_eq!(doc["mode"], "three-snapshot");
    assert!(doc.get("problem").is_none());
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{findings:#?}");
    let listeners = &findings[0];
    assert_eq!(listeners["count"], 200);
    assert_eq!(listeners["growth"]["in_final"], 800);
    assert_eq!(listeners["growth"]["in_baseline"], 400);
    assert_eq!(listeners["holder"]["closure"]["name"], "flushOnShutdown");
    let classes: Vec<&str> = findings
        .iter()
        .map(|f| f["class_name"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"RequestRecord"), "{classes:?}");
    assert!(findings.iter().all(|f| f["count"] == 200));

    let healthy = report3("grow-healthy", [2, 3, 4]);
    assert_eq!(
        healthy["findings"].as_array().unwrap().len(),
        0,
        "{:#}",
        healthy["findings"]
    );
}

#[test]
fn three_snapshots_of_different_processes_are_refused_clearly() {
    let files = [
        snapshot("grow-leak.1"),
        snapshot("grow-healthy.3"),
        snapshot("grow-leak.4"),
    ];
    let mut args = vec!["leaks"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.push("--json");
    let doc: Value = serde_json::from_slice(&heapscope(&args).stdout).unwrap();
    assert!(
        doc["problem"]
            .as_str()
            .unwrap()
            .contains("different processes"),
        "{doc:#}"
    );
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    let two = heapscope(&[
        "leaks",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    assert_eq!(two.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&two.stderr).contains("BASELINE TARGET FINAL"));
}
