//! From "which process" to an open protocol session: by pid (opening the inspector with
//! SIGUSR1 when it is closed, as Node documents), by `HOST:PORT`, or by a `ws://` URL.
//! Only loopback addresses are contacted unless the caller allows remote ones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cdp::CdpClient;
use crate::discovery;
use crate::error::{InspectorError, Result};
use crate::procs;

/// Which process to attach to.
#[derive(Clone, Debug)]
pub enum TargetSpec {
    /// A local process id.
    Pid(i32),
    /// An inspector's `HOST:PORT` (its HTTP discovery endpoint).
    HostPort(String),
    /// A session URL, `ws://HOST:PORT/ID`.
    WsUrl(String),
}

pub struct AttachOptions<'a> {
    /// Contact inspectors on non-loopback addresses.
    pub allow_remote: bool,
    /// Deadline for each network step, and for the inspector to open after SIGUSR1.
    pub timeout: Duration,
    /// Where messages for the person go (what SIGUSR1 does, for instance).
    pub notice: &'a dyn Fn(&str),
}

/// An open session and how it was reached.
pub struct Attached {
    pub client: CdpClient,
    /// The inspector's address as contacted.
    pub addr: SocketAddr,
    pub ws_url: String,
    /// The process, when attached by pid.
    pub pid: Option<i32>,
    /// Whether heapscope opened the inspector (it stays open until the process exits).
    pub opened_inspector: bool,
}

/// How long to wait for one probe of a candidate port while looking for the inspector.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn attach(spec: &TargetSpec, opts: &AttachOptions<'_>) -> Result<Attached> {
    let (addr, ws_url, pid, opened_inspector) = match spec {
        TargetSpec::Pid(pid) => {
            let (addr, opened) = inspector_of_pid(*pid, opts).await?;
            let ws_url = first_target(addr, opts.timeout).await?;
            (addr, ws_url, Some(*pid), opened)
        }
        TargetSpec::HostPort(host_port) => {
            let addr = resolve(host_port, opts.allow_remote).await?;
            (addr, first_target(addr, opts.timeout).await?, None, false)
        }
        TargetSpec::WsUrl(url) => {
            let host_port = url
                .strip_prefix("ws://")
                .map(|rest| rest.split('/').next().unwrap_or(rest))
                .ok_or_else(|| InspectorError::BadAddress {
                    target: url.clone(),
                    detail: "expected ws://HOST:PORT/ID (wss is not spoken by Node's inspector)"
                        .into(),
                })?;
            (
                resolve(host_port, opts.allow_remote).await?,
                url.clone(),
                None,
                false,
            )
        }
    };
    let client = CdpClient::connect(addr, &ws_url, opts.timeout).await?;
    Ok(Attached {
        client,
        addr,
        ws_url,
        pid,
        opened_inspector,
    })
}

/// The session URL of the first target the inspector lists.
async fn first_target(addr: SocketAddr, timeout: Duration) -> Result<String> {
    let targets = discovery::list_targets(addr, timeout).await?;
    Ok(targets
        .into_iter()
        .next()
        .map(|t| t.ws_url)
        .unwrap_or_default())
}

/// `HOST:PORT` to one address, refusing non-loopback ones unless allowed.
async fn resolve(host_port: &str, allow_remote: bool) -> Result<SocketAddr> {
    let bad = |detail: String| InspectorError::BadAddress {
        target: host_port.to_string(),
        detail,
    };
    let mut addrs = tokio::net::lookup_host(host_port)
        .await
        .map_err(|e| bad(format!("{e} (expected HOST:PORT)")))?;
    let addr = addrs.next().ok_or_else(|| bad("no address".into()))?;
    if !allow_remote && !addr.ip().is_loopback() {
        return Err(InspectorError::NotLoopback {
            host: host_port.to_string(),
        });
    }
    Ok(addr)
}

/// The inspector address of a local Node process, opening it with SIGUSR1 when closed.
async fn inspector_of_pid(pid: i32, opts: &AttachOptions<'_>) -> Result<(SocketAddr, bool)> {
    let process = procs::node_process(pid)?.ok_or_else(|| InspectorError::NotNode {
        pid,
        exe: procs::describe(pid),
    })?;
    if let Some(addr) = find_inspector(&process.listening).await {
        return Ok((addr, false));
    }
    (opts.notice)(&format!(
        "pid {pid} has no inspector open; sending it SIGUSR1, which makes Node open one on \
         127.0.0.1 (port 9229 unless started with --inspect-port). It stays open until the \
         process exits, and any local user who can reach the port can debug the process."
    ));
    send_sigusr1(pid)?;
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let started = Instant::now();
    let wait = opts.timeout.max(Duration::from_secs(5));
    while started.elapsed() < wait {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !dir.exists() {
            return Err(InspectorError::Closed {
                during: "while opening its inspector".into(),
            });
        }
        if let Some(addr) = find_inspector(&procs::listening_addrs(&dir)).await {
            return Ok((addr, true));
        }
    }
    Err(InspectorError::InspectorDidNotOpen {
        pid,
        secs: wait.as_secs(),
    })
}

/// The first of `listening` that answers as an inspector. A wildcard bind is reached through
/// loopback, since that is the only address this machine is sure to route to itself.
pub async fn find_inspector(listening: &[SocketAddr]) -> Option<SocketAddr> {
    for addr in listening {
        let reachable = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
            }
            _ => *addr,
        };
        if reachable.ip().is_loopback() && discovery::is_inspector(reachable, PROBE_TIMEOUT).await {
            return Some(reachable);
        }
    }
    None
}

/// Node opens its inspector on SIGUSR1 (on Linux and macOS). The signal is sent through
/// `libc::kill` directly: it is one call, libc is already in the dependency tree, and its
/// errno is exactly what must be told apart (EPERM from ESRCH).
fn send_sigusr1(pid: i32) -> Result<()> {
    // kill(0 or negative) would signal a whole process group: never.
    if pid <= 0 {
        return Err(InspectorError::NoSuchProcess { pid });
    }
    // SAFETY: kill(2) takes plain integers and has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, libc::SIGUSR1) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EPERM) => Err(InspectorError::SignalNotPermitted { pid }),
        Some(libc::ESRCH) => Err(InspectorError::NoSuchProcess { pid }),
        _ => Err(InspectorError::io(
            "cannot signal",
            format!("/proc/{pid}"),
            err,
        )),
    }
}
