//! Helpers shared by the CLI's end-to-end tests: fixture paths and running the binary.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A committed fixture snapshot by name (`smtp-leak`, `grow-leak.4`).
pub fn snapshot(name: &str) -> PathBuf {
    fixtures().join(format!("snapshots/{name}.heapsnapshot.gz"))
}

/// A data directory home for this test process, so the analysis cache the commands write
/// stays out of the user's own (and later commands in the same test binary reuse it, which
/// puts the cached path through every parity check too).
pub fn data_home() -> PathBuf {
    std::env::temp_dir().join(format!("heapscope-test-data-{}", std::process::id()))
}

/// Runs the `heapscope` binary with `NO_COLOR` set and [`data_home`] as `XDG_DATA_HOME`.
pub fn heapscope(args: &[&str]) -> Output {
    heapscope_in(&data_home(), args)
}

/// Runs the `heapscope` binary with `NO_COLOR` set and `home` as `XDG_DATA_HOME`.
pub fn heapscope_in(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", home)
        .env_remove("HEAPSCOPE_NO_CACHE")
        .output()
        .expect("run heapscope")
}

/// Runs `heapscope`, asserts success, returns stdout.
pub fn ok_stdout(args: &[&str]) -> String {
    let out = heapscope(args);
    assert!(
        out.status.success(),
        "heapscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `heapscope`, asserts success, parses stdout as JSON.
pub fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok_stdout(args)).unwrap()
}
