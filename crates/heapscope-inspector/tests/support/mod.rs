//! Real `node` processes for the live tests: started on 127.0.0.1 with an OS-chosen port,
//! their inspector URL read from Node's own "Debugger listening on" line, and killed when
//! the test ends (also on failure).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous: two cores shared by parallel tests and other builds.
pub const STARTUP: Duration = Duration::from_secs(30);

pub fn program(name: &str) -> PathBuf {
    // Through the parent directory so the CLI crate's tests find the same programs.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../heapscope-inspector/tests/programs")
        .join(name)
}

pub struct NodeChild {
    child: Child,
    /// `ws://127.0.0.1:PORT/ID` when started with an inspector.
    pub ws_url: Option<String>,
}

impl NodeChild {
    /// Starts `node FLAGS tests/programs/PROGRAM` and waits for it to print `ready` (and,
    /// with `--inspect`, for its inspector URL).
    pub fn start(flags: &[&str], program_name: &str, env: &[(&str, &str)]) -> NodeChild {
        let mut cmd = Command::new("node");
        cmd.args(flags)
            .arg(program(program_name))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("node is on PATH");
        let (tx, rx) = mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let tx_err = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Debugger listening on ") {
                    let _ = tx_err.send(format!("ws {url}"));
                }
            }
        });
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let expects_inspector = flags.iter().any(|f| f.starts_with("--inspect="));
        let mut node = NodeChild {
            child,
            ws_url: None,
        };
        let mut ready = false;
        while !(ready && (node.ws_url.is_some() || !expects_inspector)) {
            let line = match rx.recv_timeout(STARTUP) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("node {program_name} did not get ready within {STARTUP:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("node {program_name} exited: {:?}", node.child.wait())
                }
            };
            match line.strip_prefix("ws ") {
                Some(url) => node.ws_url = Some(url.trim().to_string()),
                None => ready |= line.trim() == "ready",
            }
        }
        node
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// `127.0.0.1:PORT` of the inspector.
    pub fn host_port(&self) -> String {
        let url = self.ws_url.as_deref().expect("started with --inspect");
        url.trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string()
    }

    /// Kills the process now and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh directory under the system temp dir, removed by the caller when done.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heapscope-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
