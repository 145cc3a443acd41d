//! End to end in real headless Chromium: e2e/console.mjs (Playwright) uploads a fixture,
//! waits for the analysis, opens Suspects, searches an @id, expands its retainers, follows
//! the path to a GC root and visits the other tabs, saving screenshots to
//! `target/e2e-artifacts/`. Chromium is Debian's `chromium` package (`.ci/run` installs
//! it); without it the test is skipped locally, and fails under CI.

mod support;

use std::process::Command;

use support::{artifacts_dir, e2e_dir, find_chromium, fixture, TestServer};

#[test]
fn console_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing under CI: .ci/run installs Debian's chromium package"
        );
        eprintln!(
            "SKIPPED console_in_headless_chromium: no chromium on PATH \
             (apt-get install -y chromium, or set HEAPSCOPE_CHROMIUM)"
        );
        return;
    };
    let e2e = e2e_dir();
    let server = TestServer::start("e2e", 1 << 30);
    let url = format!("http://{}/?token={}", server.addr, server.token);
    let artifacts = artifacts_dir();
    let out = Command::new("node")
        .arg(e2e.join("console.mjs"))
        .env("HEAPSCOPE_URL", &url)
        .env("HEAPSCOPE_FIXTURE", fixture("smtp-leak.heapsnapshot.gz"))
        .env("HEAPSCOPE_ARTIFACTS", &artifacts)
        .env("HEAPSCOPE_CHROMIUM", &chromium)
        .env(
            "HEAPSCOPE_SERIES",
            std::env::join_paths([
                fixture("grow-leak.2.heapsnapshot.gz"),
                fixture("grow-leak.3.heapsnapshot.gz"),
                fixture("grow-leak.4.heapsnapshot.gz"),
            ])
            .unwrap(),
        )
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
        "02-suspects",
        "04-retainers",
        "05-path",
        "11-comparison",
        "12-three-snapshot",
    ] {
        assert!(
            artifacts.join(format!("{shot}.png")).is_file(),
            "{shot}.png"
        );
    }
}
