//! A server started in-process on port 0 with a fresh data directory, and a minimal
//! blocking HTTP/1.1 client (one request per connection), so the tests need no HTTP crate.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct TestServer {
    pub addr: SocketAddr,
    pub token: String,
    pub dir: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/snapshots")
        .join(name)
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "heapscope-web-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    pub fn start(tag: &str, max_upload_bytes: u64) -> TestServer {
        let dir = temp_dir(tag);
        Self::start_in(dir, max_upload_bytes)
    }

    pub fn start_in(dir: PathBuf, max_upload_bytes: u64) -> TestServer {
        Self::start_with(dir, |config| config.max_upload_bytes = max_upload_bytes)
    }

    /// A server on `dir` with the configuration adjusted by `configure`.
    pub fn start_with(
        dir: PathBuf,
        configure: impl FnOnce(&mut heapscope_web::Config),
    ) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config = heapscope_web::Config::new(dir.clone());
        config.bind = "127.0.0.1:0".parse().unwrap();
        configure(&mut config);
        let server = runtime.block_on(heapscope_web::start(config)).unwrap();
        let (addr, token) = (server.addr, server.token.clone());
        runtime.spawn(server.wait());
        TestServer {
            addr,
            token,
            dir,
            _runtime: runtime,
        }
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8], auth: bool) -> Response {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if auth {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // The server may answer (and close) before reading a refused body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        Response::parse(&raw)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], true)
    }

    /// GET, expecting 200 and JSON; also returns how long the call took.
    pub fn json(&self, path: &str) -> (serde_json::Value, Duration) {
        let t = Instant::now();
        let r = self.get(path);
        let took = t.elapsed();
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        (r.json(), took)
    }

    /// Polls `path` (GET, 200, JSON) until `done` holds for it; panics with the last answer
    /// after `secs` seconds.
    pub fn wait_for(
        &self,
        path: &str,
        secs: u64,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (v, _) = self.json(path);
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "GET {path}: still {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Uploads a file and waits until its analysis is done; returns the snapshot id.
    pub fn upload_and_wait(&self, name: &str, bytes: &[u8]) -> i64 {
        let r = self.request("PUT", &format!("/api/snapshots?name={name}"), bytes, true);
        assert_eq!(r.status, 201, "upload: {}", r.text());
        let id = r.json()["id"].as_i64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let (row, _) = self.json(&format!("/api/snapshots/{id}"));
            match row["status"].as_str().unwrap() {
                "ready" => return id,
                "failed" => panic!("analysis failed: {row}"),
                _ => {}
            }
            assert!(Instant::now() < deadline, "analysis did not finish: {row}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn snapshot_files(&self) -> Vec<String> {
        match std::fs::read_dir(self.dir.join("snapshots")) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete HTTP response");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Response {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let len = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        if len == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + len]);
        data = &data[eol + 2 + len + 2..];
    }
}

/// The headless browser for the end-to-end tests: `HEAPSCOPE_CHROMIUM`, else `chromium` on
/// `PATH` (Debian's package; `.ci/run` installs it).
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEAPSCOPE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// Where the end-to-end tests save screenshots: `target/e2e-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("e2e-artifacts")
}

/// The e2e directory, with playwright-core installed from its lock file if it is not yet.
pub fn e2e_dir() -> PathBuf {
    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e");
    if !e2e.join("node_modules/playwright-core").is_dir() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&e2e)
            .status()
            .expect("npm (Node.js) is needed for the end-to-end test");
        assert!(status.success(), "npm ci in {} failed", e2e.display());
    }
    e2e
}
