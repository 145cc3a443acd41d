//! The live-process commands end to end, against real Node processes: `ps`, `snapshot
//! --analyze`, `profile` + `cpu`, `sample` + `alloc` with flame graphs, and the errors a
//! person sees for a closed port or a pid that is not Node.

#[path = "../../heapscope-inspector/tests/support/mod.rs"]
mod support;

use std::process::Command;

use serde_json::Value;
use support::{closed_port, temp_dir, NodeChild};

mod common;
use common::{heapscope, ok_stdout};

#[test]
fn ps_lists_node_with_its_inspector() {
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let listed: Value = serde_json::from_str(&ok_stdout(&["ps", "--json"])).unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == node.pid())
        .expect("our node process is listed");
    assert_eq!(row["inspector"], node.host_port());
    assert!(row["rss_bytes"].as_u64().unwrap() > 0);
    assert!(row["command"][2].as_str().unwrap().ends_with("healthy.js"));
    let table = ok_stdout(&["ps"]);
    assert!(table.contains(&node.pid().to_string()) && table.contains(&node.host_port()));
}

#[test]
fn snapshot_analyze_prints_the_leaking_class() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "4000")],
    );
    let dir = temp_dir("cli-snapshot");
    let out = dir.join("captured.heapsnapshot");
    let pid = node.pid().to_string();
    let args = [
        "snapshot",
        "--pid",
        &pid,
        "-o",
        out.to_str().unwrap(),
        "--gc",
        "--analyze",
        "--limit",
        "0",
    ];
    let stdout = ok_stdout(&args);
    let line = stdout
        .lines()
        .find(|l| l.contains("LiveLeakRecord"))
        .expect("leaking class in summary");
    assert!(line.contains("×4,000"), "{line}");
    // The file on disk is a complete snapshot: the ordinary summary agrees.
    let again = ok_stdout(&[
        "summary",
        out.to_str().unwrap(),
        "--filter",
        "LiveLeakRecord",
        "--json",
    ]);
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["classes"][0]["count"], 4000);
    // Written by the target itself, then analysed from the file.
    let by_node = dir.join("by-node.heapsnapshot");
    let args = [
        "snapshot",
        "--pid",
        &pid,
        "-o",
        by_node.to_str().unwrap(),
        "--in-target",
        "--analyze",
        "--limit",
        "0",
    ];
    let stdout = ok_stdout(&args);
    let line = stdout
        .lines()
        .find(|l| l.contains("LiveLeakRecord"))
        .expect("leaking class in summary");
    assert!(line.contains("×4,000"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_and_sample_feed_cpu_and_alloc() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "500")],
    );
    let dir = temp_dir("cli-profiles");
    let cpu = dir.join("p.cpuprofile");
    let heap = dir.join("p.heapprofile");
    let ws = node.ws_url.clone().unwrap();
    ok_stdout(&[
        "profile",
        "--ws",
        &ws,
        "--duration",
        "1500ms",
        "-o",
        cpu.to_str().unwrap(),
    ]);
    let hp = node.host_port();
    let args = [
        "sample",
        "--inspect",
        &hp,
        "--duration",
        "1500ms",
        "--interval-bytes",
        "4096",
        "-o",
        heap.to_str().unwrap(),
    ];
    ok_stdout(&args);

    let svg = dir.join("cpu.svg");
    let report: Value = serde_json::from_str(&ok_stdout(&[
        "cpu",
        cpu.to_str().unwrap(),
        "--json",
        "--limit",
        "0",
        "--flamegraph",
        svg.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(report["unit"], "microseconds");
    // The busiest function of the program: usually spinHotLoop (line 20), or the timer
    // callback (line 33) when V8 has compiled the loop into it and charges it the samples;
    // on a starved machine possibly another of its functions. Each comes with its line.
    let hot = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"].as_str().unwrap().ends_with("leaky.js"))
        .unwrap_or_else(|| panic!("leaky.js not in the CPU profile: {report:#}"));
    assert!(
        [20, 27, 33].contains(&hot["line"].as_i64().unwrap()),
        "{hot}"
    );
    assert!(hot["self"].as_u64().unwrap() > 0, "{hot}");
    // The flame graph draws the program's frames (the timer callback holds them all).
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") && svg_text.contains("leaky.js:"));

    let html = dir.join("alloc.html");
    let table = ok_stdout(&[
        "alloc",
        heap.to_str().unwrap(),
        "--flamegraph",
        html.to_str().unwrap(),
    ]);
    assert!(table.contains("leaky.js:"), "{table}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<script>"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn interrupted_capture_leaves_no_file() {
    // A heap large enough that the capture is still running when the signal comes.
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "200000"), ("LEAK_BATCH", "50000")],
    );
    let dir = temp_dir("cli-interrupted");
    let out = dir.join("interrupted.heapsnapshot");
    let part = dir.join("interrupted.heapsnapshot.part");
    let capture = Command::new(env!("CARGO_BIN_EXE_heapscope"))
        .args([
            "snapshot",
            "--pid",
            &node.pid().to_string(),
            "-o",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + support::STARTUP;
    while !part.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the capture never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill(2) takes plain integers; the pid is our own child's.
    unsafe { libc::kill(capture.id() as i32, libc::SIGINT) };
    let result = capture.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!out.exists() && !part.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn closed_port_and_non_node_pid_are_clear_errors() {
    let port = closed_port();
    let out = heapscope(&[
        "snapshot",
        "--inspect",
        &format!("127.0.0.1:{port}"),
        "-o",
        "/nonexistent/x.heapsnapshot",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("nothing listens on 127.0.0.1:{port}")),
        "{stderr}"
    );

    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let out = heapscope(&[
        "profile",
        "--pid",
        &sleeper.id().to_string(),
        "--duration",
        "1s",
    ]);
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a Node.js process"));
}

#[test]
fn bad_profile_files_are_errors_not_panics() {
    let dir = temp_dir("cli-bad-profiles");
    let bad = dir.join("bad.cpuprofile");
    std::fs::write(&bad, b"{\"nodes\": 3}").unwrap();
    let out = heapscope(&["cpu", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a CPU profile"));
    let out = heapscope(&["alloc", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let usage = heapscope(&["snapshot"]);
    assert_eq!(usage.status.code(), Some(2), "no target is a usage error");
    std::fs::remove_dir_all(&dir).unwrap();
}
