//! What the live-process subcommands (`snapshot`, `profile`, `sample`) share: how a target is
//! named on the command line, the async runtime, attaching with notices on stderr, and
//! default output names.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use heapscope_inspector::{attach, AttachOptions, Attached, TargetSpec};

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct TargetSelector {
    /// A local Node.js process; its inspector is found from its listening sockets, or opened
    /// with SIGUSR1 when closed.
    #[arg(long)]
    pub pid: Option<i32>,
    /// An inspector's HOST:PORT (as given to node --inspect).
    #[arg(long, value_name = "HOST:PORT")]
    pub inspect: Option<String>,
    /// A session URL, ws://HOST:PORT/ID (the "Debugger listening on" line).
    #[arg(long, value_name = "URL")]
    pub ws: Option<String>,
}

#[derive(Args, Debug)]
pub struct TargetArgs {
    #[command(flatten)]
    pub target: TargetSelector,
    /// Allow inspectors on non-loopback addresses (the inspector gives full control of the
    /// process; prefer an SSH tunnel).
    #[arg(long)]
    pub allow_remote: bool,
    /// Deadline for connecting and for each answer, e.g. 10s, 500ms, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl TargetArgs {
    fn spec(&self) -> TargetSpec {
        let t = &self.target;
        match (t.pid, &t.inspect, &t.ws) {
            (Some(pid), _, _) => TargetSpec::Pid(pid),
            (_, Some(host_port), _) => TargetSpec::HostPort(host_port.clone()),
            (_, _, Some(url)) => TargetSpec::WsUrl(url.clone()),
            // clap's group makes exactly one of them present.
            _ => TargetSpec::Pid(0),
        }
    }

    /// Opens a session, printing what happens to the target (SIGUSR1) on stderr.
    pub async fn attach(&self) -> Result<Attached> {
        let notice = |text: &str| eprintln!("heapscope: {text}");
        let options = AttachOptions {
            allow_remote: self.allow_remote,
            timeout: self.timeout,
            notice: &notice,
        };
        let spec = self.spec();
        let mut attached = attach(&spec, &options)
            .await
            .with_context(|| format!("cannot attach to {}", describe(&spec)))?;
        attached.client.idle_timeout = self.timeout;
        Ok(attached)
    }
}

fn describe(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::Pid(pid) => format!("pid {pid}"),
        TargetSpec::HostPort(hp) => hp.clone(),
        TargetSpec::WsUrl(url) => url.clone(),
    }
}

/// The single-threaded runtime the live commands run on: one session, one socket, and file
/// writes that are meant to block it (see `heapscope_inspector::cdp`).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The target's pid, for file names: known when attached by pid, otherwise asked.
pub async fn target_pid(attached: &mut Attached) -> Option<i32> {
    match attached.pid {
        Some(pid) => Some(pid),
        None => heapscope_inspector::eval::evaluate(&mut attached.client, "process.pid")
            .await
            .ok(),
    }
}

/// Whether the target runs on this machine (so local memory figures apply to it).
pub fn is_local(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// `heapscope-<pid>-<UTC timestamp>.<extension>`.
pub fn default_name(pid: Option<i32>, extension: &str) -> String {
    let pid = pid.map(|p| p.to_string()).unwrap_or_else(|| "node".into());
    format!(
        "heapscope-{pid}-{}.{extension}",
        utc_timestamp(SystemTime::now())
    )
}

/// `20261125-143801` (UTC), as watch names its captures.
fn utc_timestamp(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0) as i64;
    heapscope_inspector::watch::actions::utc_stamp(ms)
}

/// Durations on the command line are written as in watch rules: `30s`, `500ms`, `2m`.
pub use heapscope_inspector::watch::rules::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_617_481); // 2026-11-25 14:38:01 UTC
        assert_eq!(utc_timestamp(t), "20261125-143801");
        assert_eq!(utc_timestamp(UNIX_EPOCH), "19700101-000000");
    }
}
