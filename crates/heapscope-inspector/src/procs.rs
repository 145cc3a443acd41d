//! Finding local Node.js processes through `/proc`: command line, uptime, resident memory,
//! and the TCP ports each one listens on.
//!
//! Listening ports come from the process itself, not from guessing 9229: every socket the
//! process holds is a `/proc/PID/fd/N -> socket:[INODE]` link, and `/proc/PID/net/tcp{,6}`
//! lists the sockets of its network namespace with their inodes. A LISTEN row whose inode is
//! one of the process's own is a port that process listens on. Which of those ports is the
//! inspector is decided by asking it (`discovery`), since a service listens on its own ports
//! too.

use std::collections::HashSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{InspectorError, Result};

/// What `/proc` tells about one Node.js process.
#[derive(Clone, Debug)]
pub struct NodeProcess {
    pub pid: i32,
    /// The executable, when readable (it is not for other users' processes).
    pub exe: Option<PathBuf>,
    /// Arguments as the process sees them (`process.argv` before Node strips its own).
    pub cmdline: Vec<String>,
    pub uptime: Duration,
    pub rss_bytes: u64,
    /// TCP addresses this process listens on, IPv4 then IPv6, lowest port first.
    pub listening: Vec<SocketAddr>,
}

/// Every Node.js process visible in `/proc`, by pid. Processes that exit during the scan, or
/// whose details are unreadable, are left out rather than failing the whole listing.
pub fn node_processes() -> Result<Vec<NodeProcess>> {
    let entries =
        fs::read_dir("/proc").map_err(|e| InspectorError::io("cannot list", "/proc", e))?;
    let own_pid = std::process::id() as i32;
    let mut found: Vec<NodeProcess> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != own_pid)
        .filter_map(|pid| node_process(pid).ok().flatten())
        .collect();
    found.sort_by_key(|p| p.pid);
    Ok(found)
}

/// The process `pid` if it is Node.js, `None` if it is some other program.
pub fn node_process(pid: i32) -> Result<Option<NodeProcess>> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    if !dir.exists() {
        return Err(InspectorError::NoSuchProcess { pid });
    }
    let cmdline = read_cmdline(&dir.join("cmdline"))?;
    let exe = fs::read_link(dir.join("exe")).ok();
    let comm = fs::read_to_string(dir.join("comm")).unwrap_or_default();
    if !looks_like_node(exe.as_deref(), comm.trim(), &cmdline) {
        return Ok(None);
    }
    Ok(Some(NodeProcess {
        pid,
        uptime: uptime(&dir)?,
        rss_bytes: rss_bytes(&dir)?,
        listening: listening_addrs(&dir),
        exe,
        cmdline,
    }))
}

/// A short description of what `pid` runs, for messages about non-Node processes.
pub fn describe(pid: i32) -> String {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    if let Ok(exe) = fs::read_link(dir.join("exe")) {
        return exe.display().to_string();
    }
    fs::read_to_string(dir.join("comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| "unknown program".into())
}

/// Node's executable is `node` (or `nodejs` on older Debian, `node20` and the like from
/// version managers). The executable link is authoritative; for other users' processes it
/// is unreadable and the first argument decides, then the thread name Node gives its main
/// thread.
fn looks_like_node(exe: Option<&Path>, comm: &str, cmdline: &[String]) -> bool {
    let is_node_name = |name: &str| {
        let base = name.rsplit('/').next().unwrap_or(name);
        base == "node"
            || base == "nodejs"
            || (base.starts_with("node") && base[4..].chars().all(|c| c.is_ascii_digit()))
    };
    if let Some(exe) = exe {
        return exe
            .to_str()
            .is_some_and(|s| is_node_name(s.trim_end_matches(" (deleted)")));
    }
    cmdline.first().is_some_and(|a| is_node_name(a)) || comm == "node"
}

fn read_cmdline(path: &Path) -> Result<Vec<String>> {
    let raw = fs::read(path).map_err(|e| proc_error(path, e))?;
    Ok(raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

fn proc_error(path: &Path, e: std::io::Error) -> InspectorError {
    InspectorError::Proc {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Time since the process started: its start time in clock ticks after boot (field 22 of
/// `/proc/PID/stat`) subtracted from the system's uptime.
fn uptime(dir: &Path) -> Result<Duration> {
    let stat_path = dir.join("stat");
    let stat = fs::read_to_string(&stat_path).map_err(|e| proc_error(&stat_path, e))?;
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    let after_name = stat.rfind(')').map(|i| &stat[i + 1..]).unwrap_or("");
    let start_ticks: u64 = after_name
        .split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| InspectorError::Proc {
            path: stat_path.clone(),
            detail: "no start time field".into(),
        })?;
    let system_uptime: f64 = fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let ticks_per_second = clock_ticks_per_second();
    let started_after_boot = start_ticks as f64 / ticks_per_second as f64;
    Ok(Duration::from_secs_f64(
        (system_uptime - started_after_boot).max(0.0),
    ))
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

fn rss_bytes(dir: &Path) -> Result<u64> {
    let path = dir.join("status");
    let status = fs::read_to_string(&path).map_err(|e| proc_error(&path, e))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0))
}

/// TCP addresses the process listens on (empty when its fds are not readable to us).
pub fn listening_addrs(dir: &Path) -> Vec<SocketAddr> {
    let inodes = socket_inodes(dir);
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut addrs = Vec::new();
    for (file, v6) in [("net/tcp", false), ("net/tcp6", true)] {
        let Ok(table) = fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let mut rows: Vec<SocketAddr> = parse_listen_rows(&table, v6)
            .filter(|(_, inode)| inodes.contains(inode))
            .map(|(addr, _)| addr)
            .collect();
        rows.sort_by_key(|a| a.port());
        addrs.extend(rows);
    }
    addrs
}

/// Inodes of the sockets among the process's open files.
fn socket_inodes(dir: &Path) -> HashSet<u64> {
    let Ok(fds) = fs::read_dir(dir.join("fd")) else {
        return HashSet::new();
    };
    fds.filter_map(|fd| {
        let target = fs::read_link(fd.ok()?.path()).ok()?;
        let target = target.to_str()?;
        target
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

const TCP_LISTEN: &str = "0A";

/// `(local address, inode)` of each LISTEN row of a `/proc/net/tcp` or `tcp6` table.
fn parse_listen_rows(table: &str, v6: bool) -> impl Iterator<Item = (SocketAddr, u64)> + '_ {
    table.lines().skip(1).filter_map(move |line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 10 || fields[3] != TCP_LISTEN {
            return None;
        }
        let (ip_hex, port_hex) = fields[1].split_once(':')?;
        let port = u16::from_str_radix(port_hex, 16).ok()?;
        let ip = if v6 {
            parse_ipv6(ip_hex)?
        } else {
            parse_ipv4(ip_hex)?
        };
        Some((SocketAddr::new(ip, port), fields[9].parse().ok()?))
    })
}

/// The kernel prints the address's bytes (network order) as one host-order 32-bit word, so
/// the word's native-endian bytes are the address.
fn parse_ipv4(hex: &str) -> Option<IpAddr> {
    let word = u32::from_str_radix(hex, 16).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())))
}

/// Four host-order words, as for IPv4.
fn parse_ipv6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
        let word = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_rows_decode_loopback_and_skip_other_states() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:8309 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 71199 1 0 100 0 0 10 0\n\
   1: 0100007F:8309 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 71200 1 0 100 0 0 10 0\n";
        let rows: Vec<_> = parse_listen_rows(table, false).collect();
        if cfg!(target_endian = "little") {
            assert_eq!(rows, vec![("127.0.0.1:33545".parse().unwrap(), 71199)]);
        }
    }

    #[test]
    fn ipv6_loopback_decodes() {
        let table = "header\n   0: 00000000000000000000000001000000:2405 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0\n";
        let rows: Vec<_> = parse_listen_rows(table, true).collect();
        if cfg!(target_endian = "little") {
            assert_eq!(rows, vec![("[::1]:9221".parse().unwrap(), 555)]);
        }
    }

    #[test]
    fn node_is_recognised_by_executable_name() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(looks_like_node(
            Some(Path::new("/usr/bin/node")),
            "node",
            &[]
        ));
        assert!(looks_like_node(Some(Path::new("/opt/node20")), "x", &[]));
        assert!(!looks_like_node(
            Some(Path::new("/usr/bin/nodemon")),
            "node",
            &[]
        ));
        assert!(!looks_like_node(
            Some(Path::new("/usr/bin/python3")),
            "node",
            &[]
        ));
        assert!(looks_like_node(None, "x", &args(&["node", "app.js"])));
        assert!(!looks_like_node(None, "bash", &args(&["bash"])));
    }

    #[test]
    fn own_process_has_uptime_and_rss() {
        let dir = PathBuf::from(format!("/proc/{}", std::process::id()));
        assert!(rss_bytes(&dir).unwrap() > 0);
        assert!(uptime(&dir).unwrap() < Duration::from_secs(24 * 3600));
    }
}
