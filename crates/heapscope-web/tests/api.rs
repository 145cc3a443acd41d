//! The JSON API end to end: upload a fixture, wait for its analysis, read every view, and
//! check that the token is enforced and that bad input leaves the store as it was.

mod support;

use std::io::Read;

use support::{fixture, TestServer};

fn smtp_leak() -> Vec<u8> {
    std::fs::read(fixture("smtp-leak.heapsnapshot.gz")).unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn upload_analyse_and_browse_a_leaking_snapshot() {
    let server = TestServer::start("browse", 1 << 30);
    let sid = server.upload_and_wait("smtp-leak.heapsnapshot.gz", &smtp_leak());
    assert_eq!(server.snapshot_files(), vec![format!("{sid}.heapsnapshot")]);

    let (list, _) = server.json("/api/snapshots");
    assert_eq!(list[0]["status"], "ready");
    assert!(list[0]["node_count"].as_u64().unwrap() > 10_000);

    // The leak report: the story's 300 leaked TCP handles come first.
    let (leaks, t_leaks) = server.json(&format!("/api/snapshots/{sid}/leaks"));
    assert_eq!(leaks["schema"], "heapscope.leaks/1");
    let first = &leaks["findings"][0];
    assert!(first["count"].as_u64().unwrap() >= 300, "{first}");
    assert!(
        first["class_name"].as_str().unwrap().contains("TCP"),
        "{first}"
    );
    let leaked_id = first["ids"][0].as_u64().unwrap();

    let (summary, t_summary) =
        server.json(&format!("/api/snapshots/{sid}/summary?sort=count&limit=5"));
    assert_eq!(summary["classes"].as_array().unwrap().len(), 5);
    let counts: Vec<u64> = summary["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    let (tcp, _) = server.json(&format!("/api/snapshots/{sid}/summary?filter=TCP&limit=50"));
    let class = tcp["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "TCP")
        .expect("class TCP")
        .clone();
    let key = class["key"].as_str().unwrap();
    let (instances, t_instances) = server.json(&format!(
        "/api/snapshots/{sid}/instances?class={}&limit=10",
        urlencode(key)
    ));
    assert_eq!(instances["total"], class["count"]);
    assert_eq!(instances["objects"].as_array().unwrap().len(), 10);

    let (object, t_object) = server.json(&format!(
        "/api/snapshots/{sid}/objects/@{leaked_id}?retainers_limit=5"
    ));
    assert_eq!(object["object"]["id"].as_u64(), Some(leaked_id));
    assert!(object["retainer_count"].as_u64().unwrap() >= 1);
    assert!(object["retainers"].as_array().unwrap().len() <= 5);

    let (path, t_path) = server.json(&format!("/api/snapshots/{sid}/objects/{leaked_id}/path"));
    let steps = path["paths"][0].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["id"].as_u64(), Some(leaked_id));

    let (doms, t_doms) = server.json(&format!("/api/snapshots/{sid}/dominators"));
    assert!(doms["groups"].as_array().unwrap().len() <= 50);
    let (stats, t_stats) = server.json(&format!("/api/snapshots/{sid}/statistics"));
    assert_eq!(stats["total"], summary["total_size"]);

    eprintln!(
        "API timings (debug build, smtp-leak fixture): leaks {t_leaks:?}, summary {t_summary:?}, \
         instances {t_instances:?}, object {t_object:?}, path {t_path:?}, dominators {t_doms:?}, \
         statistics {t_stats:?}"
    );

    // Download gives the uploaded bytes back.
    let file = server.get(&format!("/api/snapshots/{sid}/file"));
    assert_eq!(file.status, 200);
    assert_eq!(file.body, smtp_leak());

    // Delete removes the row and the file.
    assert_eq!(
        server
            .request("DELETE", &format!("/api/snapshots/{sid}"), &[], true)
            .status,
        204
    );
    assert_eq!(server.get(&format!("/api/snapshots/{sid}")).status, 404);
    assert!(server.snapshot_files().is_empty());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_token_is_required() {
    let server = TestServer::start("token", 1 << 30);
    let r = server.request("GET", "/api/snapshots", &[], false);
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].as_str().unwrap().contains("token"));
    assert_eq!(server.request("GET", "/", &[], false).status, 401);
    assert_eq!(server.request("GET", "/ui/app.js", &[], false).status, 401);
    let r = server.request("GET", "/api/snapshots?token=wrong", &[], false);
    assert_eq!(r.status, 401);
    // The page with the token sets the cookie and drops the token from the URL.
    let r = server.request("GET", &format!("/?token={}", server.token), &[], false);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    assert!(r.header("set-cookie").unwrap().contains(&server.token));
    assert_eq!(server.get("/").status, 200);
    assert!(server.get("/").text().contains("/ui/app.js"));
}

#[test]
fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let server = TestServer::start("bad", 200_000);
    let not_json = server.request(
        "PUT",
        "/api/snapshots?name=notes.txt",
        b"hello, world",
        true,
    );
    assert_eq!(not_json.status, 400, "{}", not_json.text());
    let msg = not_json.json()["error"].as_str().unwrap().to_string();
    assert!(msg.contains("not a heap snapshot"), "{msg}");

    let plain = gunzip(&smtp_leak());
    let truncated = &plain[..150_000];
    let r = server.request(
        "PUT",
        "/api/snapshots?name=cut.heapsnapshot",
        truncated,
        true,
    );
    assert_eq!(r.status, 400, "{}", r.text());

    let too_big = server.request("PUT", "/api/snapshots?name=big", &plain[..300_000], true);
    assert_eq!(too_big.status, 413, "{}", too_big.text());

    let empty = server.request("PUT", "/api/snapshots?name=empty", b"", true);
    assert_eq!(empty.status, 400, "{}", empty.text());

    let (list, _) = server.json("/api/snapshots");
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    assert!(
        server.snapshot_files().is_empty(),
        "{:?}",
        server.snapshot_files()
    );
}

#[test]
fn unknown_ids_and_malformed_requests_get_clear_errors() {
    let server = TestServer::start("errors", 1 << 30);
    for (path, status) in [
        ("/api/snapshots/42", 404),
        ("/api/snapshots/abc", 404),
        ("/api/snapshots/42/summary", 404),
        ("/api/snapshots/42/objects/@1", 404),
        ("/api/nothing", 404),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{path}");
    }
    let sid = server.upload_and_wait("s.heapsnapshot.gz", &smtp_leak());
    for (path, status) in [
        (format!("/api/snapshots/{sid}/objects/@999999999"), 404),
        (format!("/api/snapshots/{sid}/objects/xyz"), 400),
        (format!("/api/snapshots/{sid}/summary?limit=many"), 400),
        (format!("/api/snapshots/{sid}/summary?limit=100000"), 400),
        (format!("/api/snapshots/{sid}/summary?sort=size"), 400),
        (format!("/api/snapshots/{sid}/summary?filter=/(/"), 400),
        (format!("/api/snapshots/{sid}/instances"), 400),
        (format!("/api/snapshots/{sid}/instances?class=nope"), 404),
        (
            format!("/api/snapshots/{sid}/dominators?id=@999999999"),
            404,
        ),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{path}");
    }
}

fn sidecars(dir: &std::path::Path) -> Vec<String> {
    match std::fs::read_dir(dir.join("cache")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_restart_reads_the_saved_analysis_back_and_a_delete_removes_it() {
    let dir = support::temp_dir("restart");
    let (sid, summary_before, instances_before, dominators_before) = {
        let server = TestServer::start_in(dir.clone(), 1 << 30);
        let sid = server.upload_and_wait("s.heapsnapshot.gz", &smtp_leak());
        let (summary, _) = server.json(&format!("/api/snapshots/{sid}/summary?limit=20"));
        let key = urlencode(summary["classes"][0]["key"].as_str().unwrap());
        let (instances, _) = server.json(&format!(
            "/api/snapshots/{sid}/instances?class={key}&limit=20"
        ));
        let (dominators, _) = server.json(&format!("/api/snapshots/{sid}/dominators"));
        (sid, summary, instances, dominators)
    };
    // The analysis was saved as one complete sidecar (no `.part` left).
    let saved = sidecars(&dir);
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].ends_with(".hsa"), "{saved:?}");

    let server = TestServer::start_in(dir.clone(), 1 << 30);
    let (row, _) = server.json(&format!("/api/snapshots/{sid}"));
    assert_eq!(row["status"], "ready");
    let (leaks, _) = server.json(&format!("/api/snapshots/{sid}/leaks"));
    assert!(!leaks["findings"].as_array().unwrap().is_empty());
    // The summary comes from the sidecar's first section, identical to before.
    let (summary, took) = server.json(&format!("/api/snapshots/{sid}/summary?limit=20"));
    eprintln!("first summary after a restart: {took:?}");
    assert_eq!(summary, summary_before);
    // The graph is read back, not recomputed, and every view agrees with the first run.
    let key = urlencode(summary["classes"][0]["key"].as_str().unwrap());
    let (instances, _) = server.json(&format!(
        "/api/snapshots/{sid}/instances?class={key}&limit=20"
    ));
    assert_eq!(instances, instances_before);
    let (dominators, _) = server.json(&format!("/api/snapshots/{sid}/dominators"));
    assert_eq!(dominators, dominators_before);

    // A damaged sidecar is not trusted: the snapshot is analysed again, with equal results.
    drop(server);
    let cached = dir.join("cache").join(&saved[0]);
    let bytes = std::fs::read(&cached).unwrap();
    std::fs::write(&cached, &bytes[..bytes.len() / 2]).unwrap();
    let server = TestServer::start_in(dir.clone(), 1 << 30);
    let (instances, _) = server.json(&format!(
        "/api/snapshots/{sid}/instances?class={key}&limit=20"
    ));
    assert_eq!(instances, instances_before);
    assert_eq!(
        std::fs::read(&cached).unwrap().len(),
        bytes.len(),
        "sidecar rewritten"
    );

    let r = server.request("DELETE", &format!("/api/snapshots/{sid}"), b"", true);
    assert_eq!(r.status, 204);
    assert!(sidecars(&dir).is_empty(), "{:?}", sidecars(&dir));
}

#[test]
fn comparison_of_two_snapshots_of_one_process() {
    let server = TestServer::start("diff", 1 << 30);
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let base = server.upload_and_wait("grow-leak.1", &read("grow-leak.1.heapsnapshot.gz"));
    let current = server.upload_and_wait("grow-leak.4", &read("grow-leak.4.heapsnapshot.gz"));
    let (d, took) = server.json(&format!(
        "/api/snapshots/{current}/diff?base={base}&sort=new&limit=5"
    ));
    eprintln!("first comparison (two id indexes): {took:?}");
    assert_eq!(d["matched_by_id"], true, "{d}");
    assert!(d["classes"][0]["new_count"].as_u64().unwrap() > 0, "{d}");
    let (again, took) = server.json(&format!(
        "/api/snapshots/{current}/diff?base={base}&sort=name&offset=1&limit=3"
    ));
    eprintln!("comparison, another page: {took:?}");
    assert_eq!(again["classes"].as_array().unwrap().len(), 3);
    for (path, status) in [
        (format!("/api/snapshots/{current}/diff"), 400),
        (format!("/api/snapshots/{current}/diff?base=99"), 404),
        (
            format!("/api/snapshots/{current}/diff?base={base}&sort=up"),
            400,
        ),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
    }
}

#[test]
fn three_snapshots_find_what_was_allocated_and_kept() {
    let server = TestServer::start("three", 1 << 30);
    let read = |n: u32| std::fs::read(fixture(&format!("grow-leak.{n}.heapsnapshot.gz"))).unwrap();
    let [baseline, target, last] =
        [2, 3, 4].map(|n| server.upload_and_wait(&format!("grow-leak.{n}"), &read(n)));
    let (doc, took) = server.json(&format!(
        "/api/snapshots/{last}/three-snapshot?baseline={baseline}&target={target}"
    ));
    eprintln!("three-snapshot report: {took:?}");
    assert_eq!(doc["mode"], "three-snapshot");
    // The same clusters as `heapscope leaks` finds (crates/heapscope/tests/leaks.rs).
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{findings:#?}");
    assert_eq!(findings[0]["count"], 200);
    assert_eq!(findings[0]["holder"]["closure"]["name"], "flushOnShutdown");
    assert_eq!(doc["baseline"], "grow-leak.2");
    let r = server.get(&format!(
        "/api/snapshots/{last}/three-snapshot?baseline={baseline}"
    ));
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn search_finds_classes_and_objects_by_name() {
    let server = TestServer::start("search", 1 << 30);
    let sid = server.upload_and_wait("smtp-leak.heapsnapshot.gz", &smtp_leak());
    // Smart case: all lower case matches either case.
    let (r, took) = server.json(&format!(
        "/api/snapshots/{sid}/search?q=smtpconnection&limit=10"
    ));
    eprintln!("name search: {took:?}");
    assert!(r["classes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "SMTPConnection"));
    // 300 leaked connections and the one in use, plus the constructor function itself.
    let total = r["object_total"].as_u64().unwrap();
    assert!(total >= 301, "{r}");
    let objects = r["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 10);
    let retained: Vec<u64> = objects
        .iter()
        .map(|o| o["retained_size"].as_u64().unwrap())
        .collect();
    assert!(retained.windows(2).all(|w| w[0] >= w[1]), "{retained:?}");
    // The next page continues where the first ended, without repeats.
    let (next, _) = server.json(&format!(
        "/api/snapshots/{sid}/search?q=smtpconnection&offset=10&limit=10"
    ));
    let first_ids: Vec<&serde_json::Value> = objects.iter().map(|o| &o["id"]).collect();
    for o in next["objects"].as_array().unwrap() {
        assert!(!first_ids.contains(&&o["id"]), "{o} repeated");
        assert!(o["retained_size"].as_u64().unwrap() <= *retained.last().unwrap());
    }
    // String contents are names too: the story's SMTP replies.
    let (strings, _) = server.json(&format!(
        "/api/snapshots/{sid}/search?q={}",
        urlencode("250 ")
    ));
    assert!(strings["object_total"].as_u64().unwrap() > 0, "{strings}");
    // (Display names are cut at 200 characters, so only some show the match.)
    assert!(
        strings["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"].as_str().unwrap().starts_with("250 2.0.0 Ok")),
        "{strings}"
    );
    // Upper case matches case exactly.
    let (none, _) = server.json(&format!("/api/snapshots/{sid}/search?q=SMTPCONNECTION"));
    assert_eq!(none["object_total"], 0);

    for bad in ["search", "search?q=", "search?q=x&limit=many"] {
        let r = server.get(&format!("/api/snapshots/{sid}/{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.json()["error"].is_string());
    }
}
