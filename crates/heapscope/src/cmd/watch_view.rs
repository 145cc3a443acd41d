//! How `heapscope watch` shows what it sees: a live table redrawn in place on a terminal,
//! one plain line per sample otherwise, or one JSON object per line with `--json`.
//!
//! Heap after GC is shown as measured (the GC observer's reading) or marked as an estimate:
//! `~12 MB` in the table, `(estimated)` on a plain line; `--json` carries the metric names
//! that say it (`heap_used_after_gc_bytes` or `heap_after_gc_estimate_bytes`).
//!
//! On a terminal, alerts and notices are part of the redrawn block (its last few lines)
//! rather than printed beside it: text written between two redraws would break the cursor
//! arithmetic of the redraw.

use std::collections::{BTreeMap, VecDeque};
use std::io::{IsTerminal, Write};

use heapscope_inspector::watch::actions::utc_stamp;
use heapscope_inspector::watch::sample::Sample;
use serde_json::json;

use crate::format::size;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Live { color: bool },
    Lines,
    Json,
}

impl Mode {
    pub fn choose(json: bool) -> Mode {
        if json {
            Mode::Json
        } else if std::io::stdout().is_terminal() {
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            Mode::Live { color }
        } else {
            Mode::Lines
        }
    }
}

/// Alerts and notices kept in the live view.
const EVENTS_SHOWN: usize = 6;

pub struct View {
    mode: Mode,
    latest: BTreeMap<i64, (String, Sample)>,
    events: VecDeque<String>,
    drawn_lines: usize,
}

impl View {
    pub fn new(mode: Mode) -> View {
        View {
            mode,
            latest: BTreeMap::new(),
            events: VecDeque::new(),
            drawn_lines: 0,
        }
    }

    pub fn sample(&mut self, pid: i64, app: &str, sample: &Sample) {
        match self.mode {
            Mode::Json => {
                let metrics: serde_json::Map<String, serde_json::Value> = sample
                    .metrics
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                let resources: serde_json::Map<String, serde_json::Value> = sample
                    .resources
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                print_line(
                    &json!({
                        "type": "sample", "ts_ms": sample.ts_ms, "pid": pid, "app": app,
                        "metrics": metrics, "resources": resources,
                    })
                    .to_string(),
                );
            }
            Mode::Lines => print_line(&plain_line(pid, app, sample)),
            Mode::Live { .. } => {
                self.latest.insert(pid, (app.to_string(), sample.clone()));
                self.redraw();
            }
        }
    }

    /// A rule fired (`alert`) or an action step finished (`action`).
    pub fn event(&mut self, kind: &str, pid: i64, app: &str, rule: &str, text: &str, ts_ms: i64) {
        match self.mode {
            Mode::Json => print_line(&json!({
                "type": kind, "ts_ms": ts_ms, "pid": pid, "app": app, "rule": rule, "text": text,
            }).to_string()),
            Mode::Lines => eprintln!("heapscope: {kind}: pid {pid} ({app}): {text}"),
            Mode::Live { .. } => self.remember(format!("{} {kind} pid {pid}: {text}", clock(ts_ms))),
        }
    }

    /// Something for the person: a process appeared or went away.
    pub fn notice(&mut self, text: &str) {
        match self.mode {
            Mode::Live { .. } => self.remember(format!(
                "{} {text}",
                clock(heapscope_inspector::watch::sample::now_ms())
            )),
            _ => eprintln!("heapscope: {text}"),
        }
    }

    pub fn forget(&mut self, pid: i64) {
        self.latest.remove(&pid);
    }

    fn remember(&mut self, line: String) {
        self.events.push_back(line);
        while self.events.len() > EVENTS_SHOWN {
            self.events.pop_front();
        }
        self.redraw();
    }

    fn redraw(&mut self) {
        let Mode::Live { color } = self.mode else {
            return;
        };
        let bold = |s: &str| {
            if color {
                format!("\x1b[1m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let mut lines = vec![bold(&format!(
            "{:>7}  {:<16} {:>9} {:>21} {:>9} {:>9} {:>10} {:>11} {:>6}  top resources",
            "pid",
            "app",
            "rss",
            "heap used / limit",
            "total",
            "external",
            "after GC",
            "trend/h",
            "tcp"
        ))];
        for (pid, (app, s)) in &self.latest {
            let get = |m: &str| s.get(m).unwrap_or(0.0);
            let bytes = |m: &str| s.get(m).map_or("-".into(), |v| size(v.max(0.0) as u64));
            let trend = s
                .get("heap_trend_bytes_per_hour")
                .map_or("-".into(), |v| format!("{:+.1} MB", v / 1e6));
            let after_gc = after_gc(s);
            let mut top: Vec<&(String, u64)> = s.resources.iter().collect();
            top.sort_by_key(|r| std::cmp::Reverse(r.1));
            let top: Vec<String> = top
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let used = get("heap_used_bytes");
            let limit = get("heap_limit_bytes");
            let share = if limit > 0.0 {
                format!(" {:.0}%", 100.0 * used / limit)
            } else {
                String::new()
            };
            lines.push(format!(
                "{pid:>7}  {:<16} {:>9} {:>21} {:>9} {:>9} {:>10} {:>11} {:>6}  {}",
                crate::format::truncate(app, 16),
                bytes("rss_bytes"),
                format!(
                    "{} / {}{share}",
                    bytes("heap_used_bytes"),
                    bytes("heap_limit_bytes")
                ),
                bytes("heap_total_bytes"),
                bytes("external_bytes"),
                after_gc,
                trend,
                get("tcp_handles"),
                top.join(", ")
            ));
        }
        for e in &self.events {
            lines.push(if color && e.contains(" alert ") {
                format!("\x1b[31m{e}\x1b[0m")
            } else {
                e.clone()
            });
        }
        let mut out = std::io::stdout().lock();
        if self.drawn_lines > 0 {
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn_lines);
        }
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        let _ = out.flush();
        self.drawn_lines = lines.len();
    }
}

/// Heap after GC as shown: measured by the GC observer, or `~` an estimate.
fn after_gc(s: &Sample) -> String {
    let Some(v) = s.get("heap_after_gc_bytes") else {
        return "-".into();
    };
    let shown = size(v.max(0.0) as u64);
    if s.get("heap_used_after_gc_bytes").is_some() {
        shown
    } else {
        format!("~{shown}")
    }
}

fn plain_line(pid: i64, app: &str, s: &Sample) -> String {
    let bytes = |m: &str| s.get(m).map_or("-".into(), |v| size(v.max(0.0) as u64));
    let mut line = format!(
        "{} pid {pid} {app}: rss {} heap {} / {} total {} external {} arrayBuffers {} after-GC {} tcp {} resources {}",
        clock(s.ts_ms),
        bytes("rss_bytes"),
        bytes("heap_used_bytes"),
        bytes("heap_limit_bytes"),
        bytes("heap_total_bytes"),
        bytes("external_bytes"),
        bytes("array_buffers_bytes"),
        match (s.get("heap_used_after_gc_bytes"), s.gc) {
            (Some(_), _) => format!("{} (measured)", bytes("heap_after_gc_bytes")),
            (None, Some(_)) => format!(
                "{} (estimated until the first major GC)",
                bytes("heap_after_gc_bytes")
            ),
            (None, None) => format!("{} (estimated)", bytes("heap_after_gc_bytes")),
        },
        s.get("tcp_handles").unwrap_or(0.0),
        s.get("active_resources").unwrap_or(0.0),
    );
    if let Some(t) = s.get("heap_trend_bytes_per_hour") {
        line.push_str(&format!(
            " trend {:+.1} MB/h (r² {:.2}, {})",
            t / 1e6,
            s.get("heap_trend_r2").unwrap_or(0.0),
            if s.get("heap_trend_measured") == Some(1.0) {
                "measured"
            } else {
                "estimated"
            }
        ));
    }
    line
}

/// `14:38:01` (UTC).
fn clock(ts_ms: i64) -> String {
    let stamp = utc_stamp(ts_ms);
    let time = &stamp[9..];
    format!("{}:{}:{}", &time[0..2], &time[2..4], &time[4..6])
}

/// stdout closed (a pipe into `head`) ends the program quietly, like the other commands.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}
