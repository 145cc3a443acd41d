//! `heapscope watch` against real Node processes: a leaking one and a healthy one watched
//! side by side with the same rules (the leak-trend rule, on heap after GC measured by the
//! GC observer, fires on the first only, and its snapshot series shows the leaking class
//! growing; the observer is gone afterwards), the store's rows, the Prometheus endpoint
//! parsed line by line, `exec` and `profile` actions, `--all` picking up a process started
//! later and going on when one exits, and the errors for a killed target, a closed port and
//! a malformed rule.

#[path = "../../heapscope-inspector/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use heapscope_store::{metrics, Store};
use serde_json::Value;
use support::{closed_port, temp_dir, NodeChild};

/// Young generation of 1 MB: scavenges every few milliseconds, so the leak reaches the old
/// generation smoothly instead of in big steps.
const SMALL_YOUNG_GEN: &str = "--max-semi-space-size=1";
/// A major GC every 250 ms (the programs call `gc()` with GC_EVERY_MS), as a service under
/// load has every few seconds: a 3 s trend window then sees about twelve.
const FREQUENT_GC: [(&str, &str); 1] = [("GC_EVERY_MS", "250")];

/// Whether the GC observer stays installed in the target at `host_port` for 15 s. Another
/// test's `watch --all` may be sharing it for a moment (it is counted), so absence is
/// awaited, not expected at once.
fn gc_observer_stays(host_port: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while gc_observer_installed(host_port) {
        if Instant::now() > deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Whether the GC observer `watch` installs is in the target (at `host_port`) now.
fn gc_observer_installed(host_port: &str) -> bool {
    use heapscope_inspector::{attach, AttachOptions, TargetSpec};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = AttachOptions {
            allow_remote: false,
            timeout: Duration::from_secs(10),
            notice: &|_| {},
        };
        let spec = TargetSpec::HostPort(host_port.to_string());
        let mut attached = attach(&spec, &options).await.unwrap();
        let kind: String = heapscope_inspector::eval::evaluate(
            &mut attached.client,
            "typeof globalThis[Symbol.for('heapscope.gcRing')]",
        )
        .await
        .unwrap();
        attached.client.close().await;
        kind == "object"
    })
}

fn heapscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_heapscope"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> Output {
    heapscope().args(args).output().expect("run heapscope")
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

/// The healthy program's old generation still grows ~0.2 MB in its first seconds (startup
/// allocations surviving), which over a 3 s window extrapolates to a few hundred MB/hour;
/// the leaking one grows ~20 GB/hour. The threshold sits between with margins both ways.
fn watch_args<'a>(pid: &'a str, data: &'a str) -> Vec<&'a str> {
    vec![
        "watch",
        "--pid",
        pid,
        "--interval",
        "200ms",
        "--count",
        "30",
        "--json",
        "--data",
        data,
        "--trend-window",
        "3s",
        "--trend-r2",
        "0.7",
        "--trend-threshold",
        "2000MB/h",
        "--rule",
        "leak-trend => snapshot-series:2:1s",
        "--rule",
        "heap_used / heap_limit > 0.9 => log",
    ]
}

fn class_count(snapshot: &Path, class: &str) -> u64 {
    let out = run(&[
        "summary",
        snapshot.to_str().unwrap(),
        "--filter",
        class,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["classes"][0]["count"].as_u64().unwrap_or(0)
}

#[test]
fn rules_fire_on_the_leaking_process_and_not_on_the_healthy_one() {
    let flags = ["--inspect=127.0.0.1:0", SMALL_YOUNG_GEN, "--expose-gc"];
    let leaking = NodeChild::start(&flags, "growing.js", &FREQUENT_GC);
    let healthy = NodeChild::start(&flags, "healthy.js", &FREQUENT_GC);
    let dir = temp_dir("watch-rules");
    let (leak_data, healthy_data) = (dir.join("leak"), dir.join("healthy"));
    let (leak_pid, healthy_pid) = (leaking.pid().to_string(), healthy.pid().to_string());
    // Both at once: the same wall-clock time and machine load for each.
    let spawn = |args: Vec<&str>| {
        heapscope()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let leak_run = spawn(watch_args(&leak_pid, leak_data.to_str().unwrap()));
    let healthy_run = spawn(watch_args(&healthy_pid, healthy_data.to_str().unwrap()));
    let (leak_out, healthy_out) = (
        leak_run.wait_with_output().unwrap(),
        healthy_run.wait_with_output().unwrap(),
    );
    for out in [&leak_out, &healthy_out] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let leak_lines = json_lines(&leak_out.stdout);
    let samples = of_type(&leak_lines, "sample");
    assert_eq!(samples.len(), 30);
    for name in [
        "rss_bytes",
        "heap_used_bytes",
        "heap_total_bytes",
        "heap_limit_bytes",
        "external_bytes",
        "array_buffers_bytes",
        "heap_space_old_space_used_bytes",
        "heap_after_gc_bytes",
        "tcp_handles",
    ] {
        assert!(
            samples[0]["metrics"][name].is_number(),
            "{name} in {}",
            samples[0]
        );
    }
    assert_eq!(samples[0]["pid"], leaking.pid());
    assert_eq!(samples[0]["app"], "growing");
    // Heap after GC was measured (the observer's reading), and the trend fitted to it.
    let last = &samples[29]["metrics"];
    assert!(last["heap_used_after_gc_bytes"].is_number(), "{last}");
    assert_eq!(
        last["heap_after_gc_bytes"],
        last["heap_used_after_gc_bytes"]
    );
    assert!(last["major_gcs"].as_f64() >= Some(5.0), "{last}");
    assert_eq!(last["heap_trend_measured"], 1.0, "{last}");
    assert!(samples[0]["resources"]["Timeout"].as_u64() >= Some(1));

    // The leak-trend rule fired once (cool-down), and its series holds the leak growing.
    let alerts = of_type(&leak_lines, "alert");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = alerts[0]["text"].as_str().unwrap();
    assert!(
        alert.contains("heap after GC rising") && alert.contains("measured after"),
        "{alert}"
    );
    let files: Vec<String> = of_type(&leak_lines, "action")
        .iter()
        .map(|a| a["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let path_of = |text: &str| {
        let start = text.find(" /").expect("a path") + 1;
        Path::new(text[start..].split(" (").next().unwrap()).to_path_buf()
    };
    let (first, second) = (path_of(&files[0]), path_of(&files[1]));
    assert!(
        first.to_str().unwrap().ends_with("-1of2.heapsnapshot"),
        "{first:?}"
    );
    let (before, after) = (
        class_count(&first, "GrowingRecord"),
        class_count(&second, "GrowingRecord"),
    );
    assert!(
        before > 1000 && after > before,
        "GrowingRecord {before} then {after}"
    );

    // The healthy process: sampled the same way, judged on measured figures, nothing fired.
    let healthy_lines = json_lines(&healthy_out.stdout);
    let healthy_samples = of_type(&healthy_lines, "sample");
    assert_eq!(healthy_samples.len(), 30);
    assert_eq!(
        healthy_samples[29]["metrics"]["heap_trend_measured"], 1.0,
        "{}",
        healthy_samples[29]
    );
    assert!(
        of_type(&healthy_lines, "alert").is_empty(),
        "{:?}",
        of_type(&healthy_lines, "alert")
    );
    // Each watch removed its GC observer when it finished.
    assert!(!gc_observer_stays(&leaking.host_port()));
    assert!(!gc_observer_stays(&healthy.host_port()));

    // With --no-gc-observer nothing is installed and heap after GC is an estimate, named so.
    let out = run(&[
        "watch",
        "--inspect",
        &healthy.host_port(),
        "--interval",
        "200ms",
        "--count",
        "2",
        "--json",
        "--no-gc-observer",
        "--data",
        healthy_data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    let metrics = &of_type(&lines, "sample")[1]["metrics"];
    assert!(
        metrics["heap_after_gc_estimate_bytes"].is_number(),
        "{metrics}"
    );
    assert!(
        metrics.get("heap_used_after_gc_bytes").is_none(),
        "{metrics}"
    );

    // The store has the process, every sample and the alerts.
    let store = Store::open(&leak_data).unwrap();
    store
        .with_conn(|c| {
            let processes = metrics::processes(c)?;
            assert_eq!(processes.len(), 1);
            assert_eq!(processes[0].info.pid, leaking.pid() as i64);
            assert!(processes[0].info.command_line.contains("growing.js"));
            let heap = metrics::samples(c, processes[0].id, &["heap_used_bytes"], 0, i64::MAX)?;
            assert_eq!(heap.len(), 30);
            let alerts = metrics::alerts(c, Some(processes[0].id), 0, i64::MAX)?;
            assert_eq!(
                alerts.len(),
                2,
                "the firing and the series' second snapshot"
            );
            assert!(alerts[0].action.contains("snapshot-series 1/2"));
            Ok(())
        })
        .unwrap();
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// GET `path` from `addr`, returning the body of a 200 answer.
fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn metrics_endpoint_serves_prometheus_text() {
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let dir = temp_dir("watch-metrics");
    let pid = node.pid().to_string();
    let mut watch = Killed(
        heapscope()
            .args([
                "watch",
                "--pid",
                &pid,
                "--interval",
                "200ms",
                "--duration",
                "60s",
                "--metrics",
                "127.0.0.1:0",
            ])
            .args(["--data", dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(watch.0.stderr.take().unwrap()).lines();
    let addr = stderr
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("heapscope: serving Prometheus metrics at http://")
                .map(|r| r.trim_end_matches("/metrics").to_string())
        })
        .expect("the metrics address is announced");
    // Keep reading: a closed pipe would fail heapscope's next message.
    std::thread::spawn(move || stderr.for_each(drop));
    assert!(addr.starts_with("127.0.0.1:"));
    let started = Instant::now();
    let text = loop {
        let body = http_get(&addr, "/metrics").expect("metrics answer");
        if body.contains("nodejs_heap_used_bytes{") {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no sample served: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Exposition format: HELP and TYPE before each family's series; `name{labels} value`.
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (family, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            typed.insert(family.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = series.split_once('{').unwrap();
        assert!(typed.contains(name), "{name} has no TYPE line before it");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        assert!(
            labels.starts_with(&format!("pid=\"{pid}\",app=\"healthy\"")) && labels.ends_with('}'),
            "{line}"
        );
    }
    for family in [
        "nodejs_heap_used_bytes",
        "nodejs_heap_limit_bytes",
        "process_resident_memory_bytes",
        "nodejs_external_memory_bytes",
        "nodejs_array_buffers_bytes",
    ] {
        assert!(
            text.contains(&format!("\n{family}{{pid=\"{pid}\"")),
            "{family} missing"
        );
    }
    assert!(
        text.contains("nodejs_heap_space_used_bytes{") && text.contains("space=\"old_space\"}")
    );
    assert!(text.contains(&format!(
        "nodejs_active_resources{{pid=\"{pid}\",app=\"healthy\",type=\"Timeout\"}} 1"
    )));
    assert!(http_get(&addr, "/other").is_none());
    drop(watch);

    // Nothing listens beyond loopback unless asked.
    let out = run(&[
        "watch",
        "--pid",
        &pid,
        "--count",
        "1",
        "--metrics",
        "0.0.0.0:0",
        "--data",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("only loopback addresses unless --metrics-public"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exec_action_and_all_processes() {
    let node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let dir = temp_dir("watch-exec");
    let marker = dir.join("fired.txt");
    let rule = format!(
        "heap_used > 1MB => exec:echo \"$HEAPSCOPE_PID $HEAPSCOPE_RULE\" > '{}'",
        marker.display()
    );
    let out = run(&[
        "watch",
        "--inspect",
        &node.host_port(),
        "--interval",
        "200ms",
        "--count",
        "2",
        "--json",
        "--data",
        dir.to_str().unwrap(),
        "--rule",
        &rule,
        "--rule",
        "heap_used > 1MB => profile:1s",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&marker).expect("the command ran before watch exited");
    assert!(
        written.starts_with(&format!("{} heap_used > 1MB => exec:", node.pid())),
        "{written}"
    );
    let lines = json_lines(&out.stdout);
    let actions: Vec<&str> = of_type(&lines, "action")
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().any(|a| a.contains("exit status: 0")),
        "{actions:?}"
    );
    // The profile kept recording after the last sample; watch waited for it. It went to the
    // default directory for captures, created on the way.
    let profile = actions
        .iter()
        .find_map(|a| a.strip_prefix("profile /"))
        .unwrap_or_else(|| panic!("no profile written: {actions:?}"));
    let profile: Value =
        serde_json::from_slice(&std::fs::read(format!("/{profile}")).unwrap()).unwrap();
    assert!(!profile["nodes"].as_array().unwrap().is_empty());

    // --all finds it (and whatever other inspectors this machine has open).
    let out = run(&[
        "watch",
        "--all",
        "--interval",
        "200ms",
        "--count",
        "2",
        "--json",
        "--duration",
        "40s",
        "--data",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    let ours = of_type(&lines, "sample")
        .iter()
        .filter(|s| s["pid"] == node.pid())
        .count();
    assert_eq!(ours, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads `watch --json` lines from `child`'s stdout on a thread.
/// Waits for `child` to exit (failing with `what` after `limit`); its status and stderr.
fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> (std::process::ExitStatus, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn json_reader(child: &mut Child) -> std::sync::mpsc::Receiver<Value> {
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    rx
}

/// Waits for `want` samples of `pid`, counting in `counts` every sample seen meanwhile.
fn wait_for_samples(
    rx: &std::sync::mpsc::Receiver<Value>,
    counts: &mut std::collections::HashMap<i64, usize>,
    pid: i32,
    want: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts.get(&(pid as i64)).copied().unwrap_or(0) < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {want} samples of pid {pid}: {counts:?}"));
        if line["type"] == "sample" {
            *counts.entry(line["pid"].as_i64().unwrap()).or_insert(0) += 1;
        }
    }
}

#[test]
fn all_picks_up_new_processes_and_goes_on_when_one_exits() {
    let mut first = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let dir = temp_dir("watch-all");
    let mut watch = Killed(
        heapscope()
            .args([
                "watch",
                "--all",
                "--interval",
                "200ms",
                "--rescan",
                "1s",
                "--json",
            ])
            .args(["--data", dir.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = json_reader(&mut watch.0);
    let mut counts = std::collections::HashMap::new();
    wait_for_samples(&rx, &mut counts, first.pid(), 2);
    // Started after watch: picked up at a rescan.
    let second = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    wait_for_samples(&rx, &mut counts, second.pid(), 2);
    // The first exits: watch goes on with the second.
    first.kill();
    let after_exit = counts[&(second.pid() as i64)];
    wait_for_samples(&rx, &mut counts, second.pid(), after_exit + 5);
    // Ctrl-C: the watchers stop, removing their GC observers, and watch exits cleanly.
    // SAFETY: kill(2) takes plain integers; the pid is our own child's.
    unsafe { libc::kill(watch.0.id() as i32, libc::SIGINT) };
    let (status, stderr) = wait_exit(&mut watch.0, Duration::from_secs(20), "watch did not stop");
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("stopped watching pid {} (healthy)", first.pid())),
        "{stderr}"
    );
    assert!(!gc_observer_stays(&second.host_port()), "{stderr}");

    // Both are in the store with their samples; the first's stopped when it exited.
    let store = Store::open(&dir).unwrap();
    store
        .with_conn(|c| {
            let processes = metrics::processes(c)?;
            let row = |pid: i32| {
                processes
                    .iter()
                    .find(|p| p.info.pid == pid as i64)
                    .unwrap_or_else(|| panic!("pid {pid} not stored: {processes:?}"))
                    .id
            };
            let stored = |pid| {
                metrics::samples(c, row(pid), &["heap_used_bytes"], 0, i64::MAX).map(|s| s.len())
            };
            let (a, b) = (stored(first.pid())?, stored(second.pid())?);
            assert!(a >= 2 && b >= after_exit + 5, "stored {a} and {b}");
            assert_eq!(a, counts[&(first.pid() as i64)]);
            Ok(())
        })
        .unwrap();
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_killed_target_a_closed_port_and_a_bad_rule_are_clear_errors() {
    let dir = temp_dir("watch-errors");
    let data = dir.to_str().unwrap();
    let mut node = NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let pid = node.pid().to_string();
    let mut watch = Killed(
        heapscope()
            .args([
                "watch",
                "--pid",
                &pid,
                "--interval",
                "200ms",
                "--json",
                "--data",
                data,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Kill the target once it has been sampled.
    let mut stdout = BufReader::new(watch.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"type\":\"sample\""), "{first}");
    node.kill();
    let (status, stderr) = wait_exit(
        &mut watch.0,
        Duration::from_secs(30),
        "watch did not notice the exit",
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("stopped watching pid {pid} (healthy) after")),
        "{stderr}"
    );
    assert!(
        stderr.contains("did the process exit or crash?"),
        "{stderr}"
    );

    let port = format!("127.0.0.1:{}", closed_port());
    let out = run(&["watch", "--inspect", &port, "--count", "1", "--data", data]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("nothing listens on {port}")));

    let out = run(&[
        "watch",
        "--pid",
        "1",
        "--rule",
        "heap_usd > 1GB => snapshot",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("column 1: unknown metric `heap_usd`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
