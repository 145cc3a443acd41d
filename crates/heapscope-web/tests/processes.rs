//! The Processes API against real `node` processes: a leaking one watched from the start
//! (samples, downsampling, the leak-trend alert, a snapshot captured into the Snapshots list
//! and analysed, CPU and heap profiles with their views, a killed target turning `gone`),
//! and the clear JSON errors for bad requests, including a process recorded into the store
//! by someone else (as `heapscope watch` does).

#[path = "../../heapscope-inspector/tests/support/mod.rs"]
mod live;
mod support;

use std::time::Duration;

use heapscope_inspector::watch::trend::TrendConfig;
use heapscope_store::metrics::{self, ProcessInfo};
use heapscope_store::retention::RetentionPolicy;
use heapscope_store::Store;
use serde_json::Value;
use support::{temp_dir, TestServer};

/// Young generation of 1 MB, so the leak reaches the old generation smoothly (as in the
/// CLI's watch tests).
const SMALL_YOUNG_GEN: &str = "--max-semi-space-size=1";

fn process_by_pid(server: &TestServer, pid: i32) -> Option<Value> {
    let (list, _) = server.json("/api/processes");
    list["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .cloned()
}

fn post(server: &TestServer, path: &str, body: &str) -> support::Response {
    server.request("POST", path, body.as_bytes(), true)
}

#[test]
fn a_leaking_process_is_watched_captured_and_seen_gone() {
    let mut node = live::NodeChild::start(
        &["--inspect=127.0.0.1:0", SMALL_YOUNG_GEN],
        "growing.js",
        &[],
    );
    let server = TestServer::start_with(temp_dir("procs-live"), |c| {
        c.watch = vec![node.host_port()];
        c.watch_interval = Duration::from_millis(200);
        // The CLI watch test's thresholds: growing.js leaks ~20 GB/hour.
        c.watch_trend = TrendConfig {
            window: Duration::from_secs(3),
            min_slope_bytes_per_hour: 2e9,
            min_r2: 0.7,
        };
    });

    // Watched from the start, live, with its latest values in the list.
    let pid = node.pid();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let process = loop {
        if let Some(p) = process_by_pid(&server, pid) {
            if p["status"] == "live" && p["latest"]["heap_used_bytes"].is_number() {
                break p;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            server.json("/api/processes").0
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let id = process["id"].as_i64().unwrap();
    assert_eq!(process["app"], "growing");
    assert_eq!(process["inspector"], node.host_port());

    // Samples arrive; the endpoint downsamples on the server and keeps the extremes.
    let raw_path = format!("/api/processes/{id}/samples?metrics=heap_used_bytes&points=5000");
    let raw = server.wait_for(&raw_path, 60, |v| {
        v["series"][0]["stored"].as_u64() >= Some(40)
    });
    let raw_points = raw["series"][0]["points"].as_array().unwrap().clone();
    let values: Vec<f64> = raw_points.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let cut = raw_points.last().unwrap()[0].as_i64().unwrap() + 1;
    let (small, _) = server.json(&format!(
        "/api/processes/{id}/samples?metrics=heap_used_bytes,heap_limit_bytes,resources_*&points=10&until={cut}"
    ));
    let series = small["series"].as_array().unwrap();
    let heap = &series[0];
    assert_eq!(heap["metric"], "heap_used_bytes");
    assert_eq!(heap["stored"].as_u64(), Some(values.len() as u64));
    let kept: Vec<f64> = heap["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert!(kept.len() <= 10, "{kept:?}");
    let max = values.iter().cloned().fold(f64::MIN, f64::max);
    let min = values.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        kept.contains(&max) && kept.contains(&min),
        "{kept:?} lost {min}..{max}"
    );
    assert!(
        series[1]["stored"].as_u64().unwrap() > 0,
        "heap limit: {}",
        series[1]
    );
    // setInterval keeps a timer: the handles-by-type wildcard finds it.
    assert!(
        series.iter().any(|s| s["metric"] == "resources_timeout"),
        "{:?}",
        small["available"]
    );

    // Heap after GC is measured by the GC observer the watch installed (growing.js, with a
    // small young generation, runs major GCs often), not only estimated.
    let after_gc = server.wait_for(
        &format!("/api/processes/{id}/samples?metrics=heap_used_after_gc_bytes,major_gcs"),
        60,
        |v| {
            v["series"][1]["points"]
                .as_array()
                .is_some_and(|p| p.last().and_then(|l| l[1].as_f64()) >= Some(1.0))
        },
    );
    assert_eq!(after_gc["series"][0]["metric"], "heap_used_after_gc_bytes");
    assert!(
        after_gc["series"][0]["stored"].as_u64() >= Some(1),
        "{after_gc}"
    );

    // The built-in leak-trend rule fires, stored as `heapscope watch` stores it.
    let alerts = server.wait_for(&format!("/api/processes/{id}/alerts"), 60, |v| {
        v["total"].as_u64() >= Some(1)
    });
    assert_eq!(alerts["alerts"][0]["rule"], "leak-trend");
    assert_eq!(alerts["alerts"][0]["action"], "log");
    assert!(alerts["alerts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("MB/hour"));

    // A snapshot captured from the API goes through the Snapshots list to `ready`.
    let r = post(&server, &format!("/api/processes/{id}/snapshot"), "");
    assert_eq!(r.status, 202, "{}", r.text());
    let snap = r.json();
    assert_eq!(snap["status"], "uploading");
    let sid = snap["id"].as_i64().unwrap();
    // While it streams in, the row stays `uploading` with a phase and advancing progress.
    let mut capture_progress: Vec<f64> = Vec::new();
    let row = server.wait_for(&format!("/api/snapshots/{sid}"), 240, |v| {
        assert_ne!(v["status"], "failed", "{v}");
        if v["status"] == "uploading" && v["phase"].is_string() {
            capture_progress.push(v["progress"].as_f64().unwrap());
        }
        v["status"] == "ready"
    });
    assert!(
        capture_progress.iter().any(|&p| p > 0.0),
        "no capture progress seen: {capture_progress:?}"
    );
    assert!(
        capture_progress.windows(2).all(|w| w[0] <= w[1]),
        "{capture_progress:?}"
    );
    assert_eq!(row["source"], format!("process #{id}: pid {pid} (growing)"));
    assert!(row["size"].as_u64().unwrap() > 1_000_000, "{row}");
    let (list, _) = server.json("/api/snapshots");
    assert!(list.as_array().unwrap().iter().any(|s| s["id"] == sid));
    let (summary, _) = server.json(&format!(
        "/api/snapshots/{sid}/summary?filter=GrowingRecord"
    ));
    let class = &summary["classes"][0];
    assert_eq!(class["name"], "GrowingRecord", "{summary}");
    assert!(class["count"].as_u64().unwrap() > 1000, "{class}");
    assert!(!server.snapshot_files().iter().any(|f| f.ends_with(".part")));

    // A CPU profile; a second capture while it records is refused.
    let r = post(
        &server,
        &format!("/api/processes/{id}/cpu-profile?duration=2s"),
        "",
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let cpu = r.json();
    assert_eq!(
        (cpu["kind"].as_str(), cpu["status"].as_str()),
        (Some("cpu"), Some("recording"))
    );
    let busy = post(
        &server,
        &format!("/api/processes/{id}/heap-profile?duration=1s"),
        "",
    );
    assert_eq!(busy.status, 409, "{}", busy.text());
    assert!(busy.json()["error"]
        .as_str()
        .unwrap()
        .contains("already running"));
    let pid_of_profile = cpu["id"].as_i64().unwrap();
    server.wait_for(&format!("/api/profiles/{pid_of_profile}"), 60, |v| {
        assert_ne!(v["status"], "failed", "{v}");
        v["status"] == "ready"
    });
    let (profiles, _) = server.json("/api/profiles");
    assert!(profiles
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == pid_of_profile && p["process_id"] == id));
    let (top, _) = server.json(&format!(
        "/api/profiles/{pid_of_profile}/top?limit=5&sort=total"
    ));
    assert_eq!(top["unit"], "microseconds");
    let functions = top["functions"].as_array().unwrap();
    assert!(!functions.is_empty() && functions.len() <= 5, "{top}");
    let totals: Vec<u64> = functions
        .iter()
        .map(|f| f["total"].as_u64().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let svg = server.get(&format!("/api/profiles/{pid_of_profile}/flamegraph.svg"));
    assert_eq!(svg.status, 200);
    assert!(svg.text().starts_with("<svg"), "{}", &svg.text()[..100]);
    let file: Value = server
        .get(&format!("/api/profiles/{pid_of_profile}/file"))
        .json();
    assert!(file["nodes"].is_array());

    // A sampling heap profile sees the leaking constructor's allocations.
    let r = post(
        &server,
        &format!("/api/processes/{id}/heap-profile?duration=1s"),
        "",
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let hid = r.json()["id"].as_i64().unwrap();
    server.wait_for(&format!("/api/profiles/{hid}"), 60, |v| {
        v["status"] == "ready"
    });
    let (top, _) = server.json(&format!("/api/profiles/{hid}/top?limit=1000"));
    assert_eq!(top["unit"], "bytes");
    assert!(top["total"].as_u64().unwrap() > 0, "{top}");

    // Killed: the watch says gone, captures are refused, the server goes on answering.
    node.kill();
    let gone = {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let p = process_by_pid(&server, pid).unwrap();
            if p["status"] == "gone" {
                break p;
            }
            assert!(std::time::Instant::now() < deadline, "{p}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert!(gone["error"].is_string(), "{gone}");
    let r = post(&server, &format!("/api/processes/{id}/snapshot"), "");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("is gone"));
    let (_, _) = server.json(&format!("/api/processes/{id}/samples"));
    assert_eq!(server.get("/api/snapshots").status, 200);
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let dir = temp_dir("procs-errors");
    // Its samples are dated 1970, which retention would delete at once.
    let server = TestServer::start_with(dir.clone(), |c| c.retention = None);
    // A process recorded into the same store by someone else (`heapscope watch`), whose
    // inspector port is now closed.
    let closed = live::closed_port();
    let id = {
        let store = Store::open(&dir).unwrap();
        store
            .with_conn(|c| {
                let info = ProcessInfo {
                    pid: 999_999,
                    started_ms: 1_000,
                    app: "billing".into(),
                    command_line: "node billing.js".into(),
                    inspector: format!("127.0.0.1:{closed}"),
                };
                let id = metrics::upsert_process(c, &info, 2_000)?;
                for t in 0..100 {
                    let v = (t * 1000) as f64;
                    metrics::insert_sample(
                        c,
                        id,
                        2_000 + t * 10,
                        &[("heap_used_bytes".into(), v)],
                    )?;
                }
                Ok(id)
            })
            .unwrap()
    };
    let p = process_by_pid(&server, 999_999).expect("the stored process is listed");
    assert_eq!(p["status"], "not watched");
    assert_eq!(p["latest"]["heap_used_bytes"], 99_000.0);
    let (s, _) = server.json(&format!(
        "/api/processes/{id}/samples?metrics=heap_used_bytes&points=20&since=2000&until=2500"
    ));
    assert_eq!(s["series"][0]["stored"], 50);
    assert!(s["series"][0]["points"].as_array().unwrap().len() <= 20);

    for (method, path, body, status, says) in [
        (
            "GET",
            "/api/processes/42".to_string(),
            "",
            404,
            "no process 42",
        ),
        (
            "GET",
            "/api/processes/abc/samples".into(),
            "",
            404,
            "process ids are numbers",
        ),
        (
            "GET",
            "/api/processes/42/alerts".into(),
            "",
            404,
            "no process 42",
        ),
        (
            "POST",
            "/api/processes/42/snapshot".into(),
            "",
            404,
            "no process 42",
        ),
        (
            "GET",
            "/api/processes?sort=size".into(),
            "",
            400,
            "`sort` must be one of",
        ),
        (
            "GET",
            format!("/api/processes/{id}/samples?points=1"),
            "",
            400,
            "`points` must be from 2",
        ),
        (
            "GET",
            format!("/api/processes/{id}/samples?since=yesterday"),
            "",
            400,
            "`since` must be unix milliseconds",
        ),
        (
            "GET",
            format!("/api/processes/{id}/samples?since=5000&until=10"),
            "",
            400,
            "must be before",
        ),
        (
            "GET",
            format!("/api/processes/{id}/samples?metrics=Heap-Used"),
            "",
            400,
            "not a metric name",
        ),
        (
            "POST",
            format!("/api/processes/{id}/cpu-profile?duration=soon"),
            "",
            400,
            "`duration` must be",
        ),
        (
            "POST",
            format!("/api/processes/{id}/heap-profile?duration=2h"),
            "",
            400,
            "`duration` must be",
        ),
        (
            "POST",
            format!("/api/processes/{id}/snapshot?force=maybe"),
            "",
            400,
            "`force` must be",
        ),
        (
            "POST",
            format!("/api/processes/{id}/snapshot"),
            "",
            409,
            "cannot reach process",
        ),
        (
            "POST",
            "/api/processes".into(),
            r#"{"inspect": "10.1.2.3:9229"}"#,
            400,
            "not a loopback address",
        ),
        (
            "POST",
            "/api/processes".into(),
            r#"{"inspect": "example.com:9229"}"#,
            400,
            "not a loopback address",
        ),
        (
            "POST",
            "/api/processes".into(),
            r#"{"pid": 0}"#,
            400,
            "not a process id",
        ),
        (
            "POST",
            "/api/processes".into(),
            r#"{"pid": 1, "inspect": "127.0.0.1:9229"}"#,
            400,
            "exactly one",
        ),
        (
            "POST",
            "/api/processes".into(),
            "pid=3",
            400,
            "malformed request",
        ),
        (
            "POST",
            "/api/processes".into(),
            &format!(r#"{{"inspect": "127.0.0.1:{closed}"}}"#),
            400,
            "nothing listens",
        ),
        (
            "POST",
            "/api/processes".into(),
            &format!(r#"{{"pid": {}}}"#, std::process::id()),
            400,
            "not a Node.js process",
        ),
        ("GET", "/api/profiles/7".into(), "", 404, "no profile 7"),
        ("GET", "/api/profiles/7/top".into(), "", 404, "no profile 7"),
    ] {
        let r = server.request(method, &path, body.as_bytes(), true);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        let message = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    // Refused watches leave no status rows behind.
    let (list, _) = server.json("/api/processes");
    assert_eq!(list["watches"], serde_json::json!([]), "{list}");
}

#[test]
fn a_non_loopback_watch_target_is_refused_at_start() {
    let mut config = heapscope_web::Config::new(temp_dir("procs-remote"));
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.watch = vec!["192.168.1.20:9229".into()];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let err = match runtime.block_on(heapscope_web::start(config)) {
        Ok(_) => panic!("a remote --watch target was accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("--watch 192.168.1.20:9229") && err.contains("not a loopback"),
        "{err}"
    );
}

#[test]
fn watch_all_picks_up_a_process_started_later_and_does_not_watch_it_twice() {
    let server = TestServer::start_with(temp_dir("procs-all"), |c| {
        c.watch_all = true;
        c.watch_interval = Duration::from_millis(300);
    });
    // Started after the server's first discovery rounds: found by a later one.
    std::thread::sleep(Duration::from_secs(2));
    let node = live::NodeChild::start(&["--inspect=127.0.0.1:0"], "healthy.js", &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let process = loop {
        if let Some(p) = process_by_pid(&server, node.pid()).filter(|p| p["status"] == "live") {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            server.json("/api/processes").0
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let id = process["id"].as_i64().unwrap();

    // Discovery lists it with its inspector, as watched.
    let (found, _) = server.json("/api/processes/discover");
    let me = found
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == node.pid())
        .unwrap_or_else(|| panic!("pid {} not discovered: {found}", node.pid()));
    assert_eq!(me["inspector"], node.host_port());
    assert_eq!(me["process_id"], id);

    // Asking for it again answers with the same process and starts no second watch.
    let body = format!(r#"{{"inspect": "{}"}}"#, node.host_port());
    let r = post(&server, "/api/processes", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], id);
    let (list, _) = server.json("/api/processes");
    let same: Vec<&Value> = list["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["pid"] == node.pid())
        .collect();
    assert_eq!(same.len(), 1, "{list}");
    assert_eq!(list["watches"], serde_json::json!([]), "{list}");
}

#[test]
fn stored_samples_are_thinned_and_expired_as_watch_does() {
    let dir = temp_dir("procs-retention");
    let now = heapscope_inspector::watch::sample::now_ms();
    let hour = 3_600_000;
    let id = {
        let store = Store::open(&dir).unwrap();
        store
            .with_conn(|c| {
                let info = ProcessInfo {
                    pid: 999_998,
                    started_ms: now - 72 * hour,
                    app: "billing".into(),
                    command_line: "node billing.js".into(),
                    inspector: format!("127.0.0.1:{}", live::closed_port()),
                };
                let id = metrics::upsert_process(c, &info, now)?;
                // 600 samples a second apart two days ago (past a one-day --retain), and 600
                // a second apart three hours ago (to be thinned to min and max per minute).
                for (start, base) in [(now - 48 * hour, 0.0), (now - 3 * hour, 1e6)] {
                    for t in 0..600i64 {
                        let v = base + ((t * 7919) % 600) as f64;
                        metrics::insert_sample(
                            c,
                            id,
                            start + t * 1000,
                            &[("heap_used_bytes".into(), v)],
                        )?;
                    }
                }
                Ok(id)
            })
            .unwrap()
    };
    let server = TestServer::start_with(dir.clone(), |c| {
        c.retention = Some(RetentionPolicy::retaining(Duration::from_secs(86_400)));
    });
    let path = format!("/api/processes/{id}/samples?metrics=heap_used_bytes&points=5000");
    let after = server.wait_for(&path, 30, |v| {
        v["series"][0]["stored"].as_u64().is_some_and(|n| n < 600)
    });
    let points = after["series"][0]["points"].as_array().unwrap();
    // Nothing from two days ago; of the recent ten minutes, at most two rows per minute
    // (11 minute buckets touched), and the extremes survive.
    assert!(
        points
            .iter()
            .all(|p| p[0].as_i64().unwrap() >= now - 4 * hour),
        "{after}"
    );
    assert!(
        points.len() >= 10 && points.len() <= 22,
        "{} points",
        points.len()
    );
    let values: Vec<f64> = points.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert!(
        values.contains(&1e6) && values.contains(&(1e6 + 599.0)),
        "{values:?}"
    );
}
