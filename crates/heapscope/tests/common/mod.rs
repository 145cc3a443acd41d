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

/// Runs the `heapscope` binary with `NO_COLOR` set.
pub fn heapscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapscope"))
        .args(args)
        .env("NO_COLOR", "1")
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
