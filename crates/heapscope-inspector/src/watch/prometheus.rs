//! The latest samples in Prometheus' text exposition format (version 0.0.4), and a minimal
//! HTTP server for `GET /metrics`.
//!
//! Names follow Prometheus' conventions (base units, `_bytes`, no `_total` on gauges) and,
//! where one exists, the name prom-client's default Node metrics use, so existing
//! dashboards recognise them. Every series is labelled `pid` and `app`.
//!
//! The server is hand-written on tokio rather than a web framework: it answers one fixed
//! document to a scraper every few seconds, handles one connection at a time, and gives each
//! a deadline, which is all this needs.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::sample::Sample;

/// One watched process's latest sample.
#[derive(Clone, Debug)]
pub struct Exposed {
    pub pid: i64,
    pub app: String,
    pub sample: Sample,
}

/// `(family, help, sample metric)` of the plain gauges.
const GAUGES: &[(&str, &str, &str)] = &[
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "rss_bytes",
    ),
    (
        "nodejs_heap_used_bytes",
        "V8 heap used (process.memoryUsage().heapUsed).",
        "heap_used_bytes",
    ),
    (
        "nodejs_heap_total_bytes",
        "V8 heap reserved (process.memoryUsage().heapTotal).",
        "heap_total_bytes",
    ),
    (
        "nodejs_heap_limit_bytes",
        "V8 heap size limit (v8.getHeapStatistics().heap_size_limit).",
        "heap_limit_bytes",
    ),
    (
        "nodejs_external_memory_bytes",
        "Memory of C++ objects bound to JavaScript objects (process.memoryUsage().external).",
        "external_bytes",
    ),
    (
        "nodejs_array_buffers_bytes",
        "Memory of ArrayBuffers and SharedArrayBuffers, Buffers included.",
        "array_buffers_bytes",
    ),
    (
        "nodejs_heap_old_generation_used_bytes",
        "V8 heap used minus the young generation.",
        "old_gen_used_bytes",
    ),
    (
        "nodejs_heap_after_gc_bytes",
        "Heap after garbage collection: measured after each major GC by heapscope's GC observer, else estimated as the old generation's recent minimum.",
        "heap_after_gc_bytes",
    ),
    (
        "nodejs_active_tcp_handles",
        "Active TCP sockets and servers.",
        "tcp_handles",
    ),
    (
        "heapscope_heap_after_gc_fit_r2",
        "Coefficient of determination of the heap-after-GC trend line.",
        "heap_trend_r2",
    ),
];

/// Renders the exposition text for every process.
pub fn render(processes: &[Exposed]) -> String {
    let mut out = String::new();
    for (family, help, metric) in GAUGES {
        family_header(&mut out, family, help);
        for p in processes {
            if let Some(v) = p.sample.get(metric) {
                series(&mut out, family, p, &[], v);
            }
        }
    }
    family_header(
        &mut out,
        "heapscope_heap_after_gc_growth_bytes_per_second",
        "Slope of the heap-after-GC trend line over the trend window.",
    );
    for p in processes {
        if let Some(v) = p.sample.get("heap_trend_bytes_per_hour") {
            series(
                &mut out,
                "heapscope_heap_after_gc_growth_bytes_per_second",
                p,
                &[],
                v / 3600.0,
            );
        }
    }
    for (family, help, suffix) in [
        (
            "nodejs_heap_space_used_bytes",
            "Used size of each V8 heap space.",
            1,
        ),
        (
            "nodejs_heap_space_size_bytes",
            "Reserved size of each V8 heap space.",
            2,
        ),
    ] {
        family_header(&mut out, family, help);
        for p in processes {
            for (space, used, size) in p.sample.heap_spaces() {
                let v = if suffix == 1 { used } else { size };
                series(&mut out, family, p, &[("space", space)], v);
            }
        }
    }
    family_header(
        &mut out,
        "nodejs_active_resources",
        "Active libuv resources keeping the event loop alive, by type (process.getActiveResourcesInfo()).",
    );
    for p in processes {
        for (kind, count) in &p.sample.resources {
            series(
                &mut out,
                "nodejs_active_resources",
                p,
                &[("type", kind)],
                *count as f64,
            );
        }
    }
    family_header(
        &mut out,
        "heapscope_sample_timestamp_seconds",
        "When the latest sample was taken (unix time).",
    );
    for p in processes {
        series(
            &mut out,
            "heapscope_sample_timestamp_seconds",
            p,
            &[],
            p.sample.ts_ms as f64 / 1000.0,
        );
    }
    out
}

fn family_header(out: &mut String, family: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP {family} {}",
        help.replace('\\', "\\\\").replace('\n', "\\n")
    );
    let _ = writeln!(out, "# TYPE {family} gauge");
}

fn series(out: &mut String, family: &str, p: &Exposed, extra: &[(&str, &str)], value: f64) {
    let _ = write!(
        out,
        "{family}{{pid=\"{}\",app=\"{}\"",
        p.pid,
        escape_label(&p.app)
    );
    for (k, v) in extra {
        let _ = write!(out, ",{k}=\"{}\"", escape_label(v));
    }
    let _ = writeln!(out, "}} {}", number(value));
}

/// Label values escape backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The longest a scraper may take to send its request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
const MAX_REQUEST_BYTES: usize = 8192;

/// Binds the metrics address, refusing non-loopback ones unless `public`.
pub async fn bind(addr: SocketAddr, public: bool) -> std::io::Result<TcpListener> {
    if !public && !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "refusing to serve metrics on {addr}: only loopback addresses unless \
                 --metrics-public is given"
            ),
        ));
    }
    TcpListener::bind(addr).await
}

/// Answers `GET /metrics` with `render()` until the future is dropped.
pub async fn serve(listener: TcpListener, render: impl Fn() -> String) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let _ = tokio::time::timeout(REQUEST_DEADLINE, answer(stream, &render)).await;
    }
}

async fn answer(mut stream: TcpStream, render: &impl Fn() -> String) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        if request.len() > MAX_REQUEST_BYTES {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
    }
    let line = String::from_utf8_lossy(&request);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let body = render();
            respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
            .await
        }
        ("GET", "/") => {
            respond(
                &mut stream,
                "200 OK",
                "text/plain; charset=utf-8",
                "heapscope watch: metrics at /metrics\n",
            )
            .await
        }
        ("GET", _) => respond(&mut stream, "404 Not Found", "text/plain", "not found\n").await,
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                "only GET\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed() -> Exposed {
        Exposed {
            pid: 42,
            app: "api \"v2\"".into(),
            sample: Sample {
                ts_ms: 1_500,
                metrics: vec![
                    ("rss_bytes".into(), 100e6),
                    ("heap_used_bytes".into(), 12.5),
                    ("heap_space_old_space_used_bytes".into(), 3.0),
                    ("heap_space_old_space_size_bytes".into(), 4.0),
                    ("heap_trend_bytes_per_hour".into(), 7200.0),
                ],
                resources: vec![("TCPSocketWrap".into(), 3)],
                gc: None,
            },
        }
    }

    #[test]
    fn exposition_has_help_type_and_labelled_series() {
        let text = render(&[exposed()]);
        assert!(text.contains("# TYPE nodejs_heap_used_bytes gauge\n"));
        assert!(text.contains(
            "process_resident_memory_bytes{pid=\"42\",app=\"api \\\"v2\\\"\"} 100000000\n"
        ));
        assert!(text.contains("nodejs_heap_used_bytes{pid=\"42\",app=\"api \\\"v2\\\"\"} 12.5\n"));
        assert!(text.contains("nodejs_heap_space_size_bytes{pid=\"42\",app=\"api \\\"v2\\\"\",space=\"old_space\"} 4\n"));
        assert!(text.contains(
            "nodejs_active_resources{pid=\"42\",app=\"api \\\"v2\\\"\",type=\"TCPSocketWrap\"} 3\n"
        ));
        assert!(text.contains("heapscope_heap_after_gc_growth_bytes_per_second{pid=\"42\",app=\"api \\\"v2\\\"\"} 2\n"));
        assert!(text.contains(
            "heapscope_sample_timestamp_seconds{pid=\"42\",app=\"api \\\"v2\\\"\"} 1.5\n"
        ));
        // Every line is a comment or `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn the_grafana_dashboard_charts_only_metrics_served_here() {
        let dashboard: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../dashboards/grafana-heapscope.json"
        ))
        .unwrap();
        let served = render(&[exposed()]);
        let mut checked = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if ["nodejs_", "process_", "heapscope_"]
                        .iter()
                        .any(|p| word.starts_with(p))
                    {
                        assert!(served.contains(&format!("# TYPE {word} gauge")), "{word}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 10);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn serves_metrics_over_http_on_loopback_only() {
        assert!(bind("0.0.0.0:0".parse().unwrap(), false).await.is_err());
        let listener = bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = serve(listener, || "up 1\n".to_string());
        let client = async {
            let get = |path: &'static str| async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut text = String::new();
                s.read_to_string(&mut text).await.unwrap();
                text
            };
            (get("/metrics").await, get("/nope").await)
        };
        let (metrics, missing) = tokio::select! {
            r = client => r,
            _ = server => unreachable!("the server runs until dropped"),
        };
        assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
        assert!(metrics.contains("version=0.0.4") && metrics.ends_with("\r\n\r\nup 1\n"));
        assert!(missing.starts_with("HTTP/1.1 404"));
    }
}
