//! The live-process commands end to end, against real Node processes: `ps`, `snapshot
//! --analyze` both ways (written by the target, the default, and `--stream`), the fallback to
//! streaming through a tunnel, interrupted and killed captures leaving no file, `profile` +
//! `cpu`, `sample` + `alloc` with flame graphs, and the errors a person sees for a closed
//! port or a pid that is not Node.

#[path = "../../heapscope-inspector/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
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

/// `heapscope snapshot ARGS`: stdout on success, and stderr (which says how it was taken).
fn capture_ok(args: &[&str]) -> (String, String) {
    let out = heapscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "heapscope {args:?}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn leak_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.contains("LiveLeakRecord"))
        .unwrap_or_else(|| panic!("leaking class in summary: {stdout}"))
}

#[test]
fn snapshot_analyze_prints_the_leaking_class() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "4000")],
    );
    let dir = temp_dir("cli-snapshot");
    let pid = node.pid().to_string();
    // The default: a local process writes the file itself; analysed from the finished file.
    let out = dir.join("captured.heapsnapshot");
    let o = out.to_str().unwrap();
    let args = [
        "snapshot",
        "--pid",
        &pid,
        "-o",
        o,
        "--gc",
        "--analyze",
        "--limit",
        "0",
    ];
    let (stdout, stderr) = capture_ok(&args);
    assert!(stderr.contains("written by the target"), "{stderr}");
    assert!(!stderr.contains("streaming"), "{stderr}");
    assert!(leak_line(&stdout).contains("×4,000"), "{stdout}");
    // The file on disk is a complete snapshot, with our ownership: the summary agrees.
    let again = ok_stdout(&["summary", o, "--filter", "LiveLeakRecord", "--json"]);
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["classes"][0]["count"], 4000);
    let meta = std::fs::metadata(&out).unwrap();
    // SAFETY: geteuid has no preconditions.
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), unsafe {
        libc::geteuid()
    });
    assert!(!dir.join("captured.heapsnapshot.part").exists());

    // --stream: over the inspector, parsed while it is written.
    let streamed = dir.join("streamed.heapsnapshot");
    let s = streamed.to_str().unwrap();
    let args = [
        "snapshot",
        "--pid",
        &pid,
        "-o",
        s,
        "--stream",
        "--analyze",
        "--limit",
        "0",
    ];
    let (stdout, stderr) = capture_ok(&args);
    assert!(stderr.contains("streamed over the inspector"), "{stderr}");
    assert!(leak_line(&stdout).contains("×4,000"), "{stdout}");

    // --in-target is still accepted, and conflicts with --stream.
    let by_node = dir.join("by-node.heapsnapshot");
    let b = by_node.to_str().unwrap();
    let (_, stderr) = capture_ok(&["snapshot", "--pid", &pid, "-o", b, "--in-target"]);
    assert!(stderr.contains("written by the target"), "{stderr}");
    let both = heapscope(&["snapshot", "--pid", &pid, "--in-target", "--stream"]);
    assert_eq!(both.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Forwards every connection to `127.0.0.1:port` from a new loopback port, as an SSH tunnel
/// does: the inspector answers, but no local process listens on the port heapscope uses.
fn tunnel_to(port: u16) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(upstream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let (mut c, mut u) = (client, upstream);
            std::thread::spawn(move || std::io::copy(&mut c, &mut u2));
            std::thread::spawn(move || std::io::copy(&mut u, &mut c2));
        }
    });
    local
}

#[test]
fn through_a_tunnel_the_snapshot_is_streamed_and_says_why() {
    let node = NodeChild::start(
        &["--inspect=127.0.0.1:0"],
        "leaky.js",
        &[("LEAK_COUNT", "1000")],
    );
    let port: u16 = node
        .host_port()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tunnel = format!("127.0.0.1:{}", tunnel_to(port));
    let dir = temp_dir("cli-tunnel");
    let out = dir.join("tunnel.heapsnapshot");
    let o = out.to_str().unwrap();
    let (_, stderr) = capture_ok(&["snapshot", "--inspect", &tunnel, "-o", o]);
    let note = stderr
        .lines()
        .find(|l| l.contains("note: streaming the snapshot over the inspector"))
        .unwrap_or_else(|| panic!("no fallback note: {stderr}"));
    assert!(
        note.contains(&format!(
            "pid {} on this machine does not listen on port",
            node.pid()
        )),
        "{note}"
    );
    assert!(stderr.contains("streamed over the inspector"), "{stderr}");
    let summary = ok_stdout(&["summary", o, "--filter", "LiveLeakRecord", "--json"]);
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["classes"][0]["count"], 1000);
    // Asked for explicitly, the in-target writer's absence is an error with the reason.
    let refused = heapscope(&["snapshot", "--inspect", &tunnel, "-o", o, "--in-target"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot have the target write the snapshot itself: pid")
            && stderr.contains("does not listen on port"),
        "{stderr}"
    );
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

/// Starts `heapscope snapshot --pid PID -o DIR/NAME EXTRA` and waits for `NAME.part` to
/// appear (the capture is under way), returning the child.
fn capture_started(pid: i32, out: &Path, extra: &[&str]) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_heapscope"))
        .args([
            "snapshot",
            "--pid",
            &pid.to_string(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let part = part_of(out);
    let deadline = std::time::Instant::now() + support::STARTUP;
    while !part.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the capture never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

fn part_of(out: &Path) -> PathBuf {
    out.with_file_name(format!(
        "{}.part",
        out.file_name().unwrap().to_str().unwrap()
    ))
}

/// A heap large enough that a capture is still running when the test acts.
const BIG_HEAP: [(&str, &str); 2] = [("LEAK_COUNT", "300000"), ("LEAK_BATCH", "50000")];

#[test]
fn interrupted_capture_leaves_no_file() {
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "leaky.js", &BIG_HEAP);
    let dir = temp_dir("cli-interrupted");
    // Both ways: the target filling our `.part` (the default), and streamed.
    for (name, extra) in [("by-target", &[][..]), ("streamed", &["--stream"][..])] {
        let out = dir.join(format!("{name}.heapsnapshot"));
        let capture = capture_started(node.pid(), &out, extra);
        // SAFETY: kill(2) takes plain integers; the pid is our own child's.
        unsafe { libc::kill(capture.id() as i32, libc::SIGINT) };
        let result = capture.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains("interrupted"), "{name}: {stderr}");
        assert!(!out.exists() && !part_of(&out).exists(), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_target_killed_while_writing_leaves_no_file() {
    let mut node = NodeChild::start(&["--inspect=127.0.0.1:0"], "leaky.js", &BIG_HEAP);
    let dir = temp_dir("cli-killed");
    let out = dir.join("killed.heapsnapshot");
    let capture = capture_started(node.pid(), &out, &[]);
    node.kill();
    let result = capture.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did the process exit or crash?"),
        "{stderr}"
    );
    assert!(!out.exists() && !part_of(&out).exists());
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
