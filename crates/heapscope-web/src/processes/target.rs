//! What may be watched: a local pid, or an inspector's `HOST:PORT` on loopback. The check is
//! made here, before any connection or name lookup, so a remote address never leaves this
//! machine: the console only talks to 127.0.0.1 (the inspector crate refuses non-loopback
//! addresses too, but only after resolving the name).

use std::net::{IpAddr, SocketAddr};

use heapscope_inspector::TargetSpec;

/// `4121` (a pid) or `127.0.0.1:9229` / `[::1]:9229` / `localhost:9229`.
pub fn parse(text: &str) -> Result<TargetSpec, String> {
    let text = text.trim();
    if let Ok(pid) = text.parse::<i64>() {
        return pid_spec(pid);
    }
    inspect_spec(text)
}

/// A pid as JSON gives it: positive and within `i32`.
pub fn pid_spec(pid: i64) -> Result<TargetSpec, String> {
    match i32::try_from(pid) {
        Ok(p) if p > 0 => Ok(TargetSpec::Pid(p)),
        _ => Err(format!("`{pid}` is not a process id")),
    }
}

/// An inspector address, loopback only.
pub fn inspect_spec(text: &str) -> Result<TargetSpec, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        if !addr.ip().is_loopback() {
            return Err(not_loopback(text));
        }
        return Ok(TargetSpec::HostPort(addr.to_string()));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "`{text}` is neither a pid nor an inspector address HOST:PORT (127.0.0.1:9229)"
        ));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("`{port}` in `{text}` is not a port number"));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(TargetSpec::HostPort(format!("127.0.0.1:{port}")));
    }
    if host.parse::<IpAddr>().is_ok() || !host.is_empty() {
        return Err(not_loopback(text));
    }
    Err(format!("`{text}` has no host (use 127.0.0.1:{port})"))
}

fn not_loopback(text: &str) -> String {
    format!(
        "refusing to watch {text}: not a loopback address. The inspector gives full control \
         of the process, so the console only connects to inspectors on 127.0.0.1 or ::1"
    )
}

/// How a target is shown in the console.
pub fn describe(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::Pid(pid) => format!("pid {pid}"),
        TargetSpec::HostPort(hp) => hp.clone(),
        TargetSpec::WsUrl(url) => url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_loopback_addresses_only() {
        assert!(matches!(parse("4121"), Ok(TargetSpec::Pid(4121))));
        assert!(
            matches!(parse("127.0.0.1:9229"), Ok(TargetSpec::HostPort(a)) if a == "127.0.0.1:9229")
        );
        assert!(matches!(parse("[::1]:9229"), Ok(TargetSpec::HostPort(a)) if a == "[::1]:9229"));
        assert!(
            matches!(parse("localhost:9230"), Ok(TargetSpec::HostPort(a)) if a == "127.0.0.1:9230")
        );
        for bad in ["10.0.0.5:9229", "example.com:9229", "0.0.0.0:9229"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("not a loopback address"), "{bad}: {e}");
        }
        assert!(parse("0").unwrap_err().contains("not a process id"));
        assert!(parse("-3").unwrap_err().contains("not a process id"));
        assert!(parse("127.0.0.1:http").unwrap_err().contains("not a port"));
        assert!(parse("nonsense").unwrap_err().contains("neither a pid"));
    }
}
