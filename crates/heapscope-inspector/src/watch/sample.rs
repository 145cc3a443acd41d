//! One sample of a live process's memory: a single `Runtime.evaluate` that returns
//! `process.memoryUsage()`, the heap limit, every V8 heap space and the active libuv
//! resources counted by type, flattened into `(metric name, value)` pairs.
//!
//! Metric names (snake_case; bytes end in `_bytes`):
//!
//! | name | what |
//! |---|---|
//! | `rss_bytes`, `heap_used_bytes`, `heap_total_bytes`, `external_bytes`, `array_buffers_bytes` | `process.memoryUsage()` |
//! | `heap_limit_bytes` | `v8.getHeapStatistics().heap_size_limit` |
//! | `heap_space_<space>_used_bytes`, `heap_space_<space>_size_bytes` | `v8.getHeapSpaceStatistics()`, e.g. `heap_space_old_space_used_bytes` |
//! | `old_gen_used_bytes` | heap used minus the young generation (`new_space`, `new_large_object_space`) |
//! | `resources_<type>` | `process.getActiveResourcesInfo()` by type in snake case: `resources_tcp_socket_wrap`, `resources_timeout`, `resources_fs_req_callback` |
//! | `active_resources` | all of them |
//! | `tcp_handles` | TCP sockets and servers (`TCPSocketWrap` + `TCPServerWrap` + `TCPWrap`) |
//! | `heap_used_after_gc_bytes` | used heap right after the newest major GC, *measured* by the GC observer ([`super::gc`]); absent without it or before its first major GC |
//! | `major_gcs` | major GCs the observer has seen since it was installed |
//!
//! The expression only reads; the GC observer it reads from is installed separately, and
//! only by `watch` (see [`super::gc`]). Without it the sample is the same minus those two.

use serde::Deserialize;

use std::sync::LazyLock;

use super::gc::{GcReading, READ as READ_GC};
use crate::cdp::CdpClient;
use crate::error::Result;
use crate::eval::evaluate;

/// One process's memory at one moment, as flat named values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Unix time in milliseconds, taken when the answer arrived.
    pub ts_ms: i64,
    pub metrics: Vec<(String, f64)>,
    /// Resource counts by Node's own type names (`TCPSocketWrap`), for display and labels.
    pub resources: Vec<(String, u64)>,
    /// The GC observer's newest reading; `None` when it is not installed.
    pub gc: Option<GcReading>,
}

impl Sample {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// Adds or replaces a value.
    pub fn set(&mut self, name: &str, value: f64) {
        match self.metrics.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.metrics.push((name.to_string(), value)),
        }
    }

    /// `(space name, used, size)` of each heap space, in V8's order.
    pub fn heap_spaces(&self) -> Vec<(&str, f64, f64)> {
        self.metrics
            .iter()
            .filter_map(|(n, used)| {
                let space = n.strip_prefix("heap_space_")?.strip_suffix("_used_bytes")?;
                let size = self.get(&format!("heap_space_{space}_size_bytes"))?;
                Some((space, *used, size))
            })
            .collect()
    }
}

/// The expression evaluated for each sample. `getActiveResourcesInfo` exists since Node
/// 17.3 (and 16.14); older targets report no resources rather than failing.
static SAMPLE_EXPRESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(() => {{
  const v8 = require('v8');
  const m = process.memoryUsage();
  const resources = {{}};
  if (typeof process.getActiveResourcesInfo === 'function')
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] || 0) + 1;
  return {{
    m,
    limit: v8.getHeapStatistics().heap_size_limit,
    spaces: v8.getHeapSpaceStatistics().map(s => [s.space_name, s.space_used_size, s.space_size]),
    resources,
    gc: {READ_GC},
    now: Date.now(),
  }};
}})()"
    )
});

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUsage {
    rss: f64,
    heap_total: f64,
    heap_used: f64,
    external: f64,
    #[serde(default)]
    array_buffers: f64,
}

#[derive(Deserialize)]
struct RawSample {
    m: RawUsage,
    limit: f64,
    spaces: Vec<(String, f64, f64)>,
    resources: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    gc: Option<Vec<f64>>,
    #[serde(default)]
    now: f64,
}

/// Takes one sample.
pub async fn take_sample(client: &mut CdpClient) -> Result<Sample> {
    let raw: RawSample = evaluate(client, &SAMPLE_EXPRESSION).await?;
    Ok(flatten(raw, now_ms()))
}

fn flatten(raw: RawSample, ts_ms: i64) -> Sample {
    let mut metrics: Vec<(String, f64)> = vec![
        ("rss_bytes".into(), raw.m.rss),
        ("heap_used_bytes".into(), raw.m.heap_used),
        ("heap_total_bytes".into(), raw.m.heap_total),
        ("heap_limit_bytes".into(), raw.limit),
        ("external_bytes".into(), raw.m.external),
        ("array_buffers_bytes".into(), raw.m.array_buffers),
    ];
    let mut young = 0.0;
    for (space, used, size) in &raw.spaces {
        let space = snake_case(space);
        if space == "new_space" || space == "new_large_object_space" {
            young += used;
        }
        metrics.push((format!("heap_space_{space}_used_bytes"), *used));
        metrics.push((format!("heap_space_{space}_size_bytes"), *size));
    }
    metrics.push((
        "old_gen_used_bytes".into(),
        (raw.m.heap_used - young).max(0.0),
    ));
    let mut total = 0;
    let mut tcp = 0;
    for (kind, count) in &raw.resources {
        total += count;
        if matches!(kind.as_str(), "TCPSocketWrap" | "TCPServerWrap" | "TCPWrap") {
            tcp += count;
        }
        metrics.push((format!("resources_{}", snake_case(kind)), *count as f64));
    }
    metrics.push(("active_resources".into(), total as f64));
    metrics.push(("tcp_handles".into(), tcp as f64));
    let gc = raw.gc.map(|g| GcReading::from_raw(&g, raw.now, ts_ms));
    if let Some(reading) = gc {
        metrics.push(("major_gcs".into(), reading.major_gcs as f64));
        if let Some((_, used)) = reading.last {
            metrics.push(("heap_used_after_gc_bytes".into(), used));
        }
    }
    Sample {
        ts_ms,
        metrics,
        resources: raw.resources.into_iter().collect(),
        gc,
    }
}

/// `TCPSocketWrap` → `tcp_socket_wrap`, `FSReqCallback` → `fs_req_callback`; anything but
/// ASCII letters and digits becomes `_`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let starts_word = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Who the target is: pid, start time, a short name and its command line.
#[derive(Clone, Debug, Deserialize)]
pub struct Identity {
    pub pid: i64,
    /// Unix ms when the process started (its clock minus its uptime).
    pub started_ms: i64,
    pub title: String,
    pub argv: Vec<String>,
    pub exec_argv: Vec<String>,
}

impl Identity {
    /// A short name for the service: a `process.title` the program set, else its script's
    /// name (`server` for `server.js`; the directory for `index.js`), else `node`.
    pub fn app_name(&self) -> String {
        let is_node_path = |t: &str| t.rsplit('/').next().is_some_and(|b| b.starts_with("node"));
        if !self.title.is_empty() && !is_node_path(&self.title) {
            return self.title.clone();
        }
        let Some(script) = self.argv.get(1) else {
            return "node".into();
        };
        let mut parts = script.rsplit('/');
        let file = parts.next().unwrap_or(script);
        let stem = file
            .strip_suffix(".js")
            .or_else(|| file.strip_suffix(".mjs"))
            .or_else(|| file.strip_suffix(".cjs"))
            .unwrap_or(file);
        match (stem, parts.next()) {
            ("index" | "main", Some(dir)) if !dir.is_empty() && dir != "." => dir.to_string(),
            _ => stem.to_string(),
        }
    }

    /// `node --flags script args`, as run.
    pub fn command_line(&self) -> String {
        let mut words = Vec::with_capacity(self.argv.len() + self.exec_argv.len());
        words.extend(self.argv.first().cloned());
        words.extend(self.exec_argv.iter().cloned());
        words.extend(self.argv.iter().skip(1).cloned());
        words.join(" ")
    }
}

pub async fn identify(client: &mut CdpClient) -> Result<Identity> {
    evaluate(
        client,
        "({ pid: process.pid, started_ms: Math.round(Date.now() - process.uptime() * 1000), \
           title: process.title, argv: process.argv, exec_argv: process.execArgv })",
    )
    .await
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_become_snake_case() {
        assert_eq!(snake_case("TCPSocketWrap"), "tcp_socket_wrap");
        assert_eq!(snake_case("FSReqCallback"), "fs_req_callback");
        assert_eq!(snake_case("Timeout"), "timeout");
        assert_eq!(snake_case("TTYWrap"), "tty_wrap");
        assert_eq!(snake_case("GetAddrInfoReqWrap"), "get_addr_info_req_wrap");
        assert_eq!(snake_case("old_space"), "old_space");
        assert_eq!(snake_case("odd name!"), "odd_name");
    }

    #[test]
    fn a_raw_sample_flattens_to_named_metrics() {
        let raw: RawSample = serde_json::from_str(
            r#"{"m":{"rss":100,"heapTotal":60,"heapUsed":50,"external":5,"arrayBuffers":2},
                "limit":4000,
                "spaces":[["new_space",8,16],["old_space",40,44]],
                "resources":{"TCPSocketWrap":3,"TCPServerWrap":1,"Timeout":2},
                "gc":[4,900,30],"now":1000}"#,
        )
        .unwrap();
        let s = flatten(raw, 1);
        assert_eq!(s.get("heap_used_after_gc_bytes"), Some(30.0));
        assert_eq!(s.get("major_gcs"), Some(4.0));
        assert_eq!(s.gc.unwrap().last, Some((-99, 30.0)));
        assert_eq!(s.get("heap_used_bytes"), Some(50.0));
        assert_eq!(s.get("heap_limit_bytes"), Some(4000.0));
        assert_eq!(s.get("heap_space_old_space_used_bytes"), Some(40.0));
        assert_eq!(s.get("old_gen_used_bytes"), Some(42.0));
        assert_eq!(s.get("resources_tcp_socket_wrap"), Some(3.0));
        assert_eq!(s.get("tcp_handles"), Some(4.0));
        assert_eq!(s.get("active_resources"), Some(6.0));
        assert_eq!(
            s.heap_spaces(),
            vec![("new_space", 8.0, 16.0), ("old_space", 40.0, 44.0)]
        );
    }

    #[test]
    fn app_names_come_from_the_title_or_script() {
        let id = |title: &str, argv: &[&str]| Identity {
            pid: 1,
            started_ms: 0,
            title: title.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            exec_argv: vec!["--inspect".into()],
        };
        assert_eq!(
            id("node", &["/usr/bin/node", "/srv/api/server.js"]).app_name(),
            "server"
        );
        assert_eq!(
            id("node", &["/usr/bin/node", "/srv/billing/index.js"]).app_name(),
            "billing"
        );
        assert_eq!(
            id("checkout-worker", &["/usr/bin/node", "w.js"]).app_name(),
            "checkout-worker"
        );
        assert_eq!(id("/usr/bin/node", &["/usr/bin/node"]).app_name(), "node");
        assert_eq!(
            id("node", &["/usr/bin/node", "a.js", "x"]).command_line(),
            "/usr/bin/node --inspect a.js x"
        );
    }
}
