//! The Processes page end to end in headless Chromium: e2e/processes.mjs opens the list, a
//! watched leaking Node process's charts, presses "Take snapshot" and follows it to its
//! analysis, records a CPU profile and opens it, and checks the Snapshots page's Profiles
//! section, saving `processes-*.png` to `target/e2e-artifacts/`. Skipped without Chromium
//! locally, failing under CI (as tests/e2e.rs).

#[path = "../../heapscope-inspector/tests/support/mod.rs"]
mod live;
mod support;

use std::process::Command;
use std::time::Duration;

use support::{artifacts_dir, e2e_dir, find_chromium, temp_dir, TestServer};

#[test]
fn processes_page_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing under CI: .ci/run installs Debian's chromium package"
        );
        eprintln!("SKIPPED processes_page_in_headless_chromium: no chromium on PATH");
        return;
    };
    let e2e = e2e_dir();
    let node = live::NodeChild::start(
        &["--inspect=127.0.0.1:0", "--max-semi-space-size=1"],
        "growing.js",
        // Slower than the default so the heap stays small while the browser looks at it.
        &[("GROW_EVERY_MS", "200")],
    );
    let server = TestServer::start_with(temp_dir("e2e-procs"), |c| {
        c.watch = vec![node.host_port()];
        c.watch_interval = Duration::from_millis(500);
    });
    let artifacts = artifacts_dir();
    let out = Command::new("node")
        .arg(e2e.join("processes.mjs"))
        .env(
            "HEAPSCOPE_URL",
            format!("http://{}/?token={}", server.addr, server.token),
        )
        .env("HEAPSCOPE_PID", node.pid().to_string())
        .env("HEAPSCOPE_ARTIFACTS", &artifacts)
        .env("HEAPSCOPE_CHROMIUM", &chromium)
        .output()
        .expect("node is needed for the end-to-end test");
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the browser test failed; screenshots are in {}",
        artifacts.display()
    );
    for shot in [
        "01-list",
        "02-charts",
        "04-snapshot-ready",
        "05-profile",
        "07-snapshots-and-profiles",
    ] {
        let file = artifacts.join(format!("processes-{shot}.png"));
        assert!(file.is_file(), "{}", file.display());
    }
}
