//! Will the target survive a snapshot? V8 builds the whole snapshot graph inside the target
//! before serialising it, and that takes memory in proportion to the heap's objects and
//! references: the capture benchmark's object-dense 100 MB heap took its process from
//! 175 MB to 0.9 GB resident. When the memory available to the target is less than twice its
//! used heap, capturing is very likely to bring the OOM killer down on the very service
//! being diagnosed; that is the line drawn here (a conservative one: above it a capture can
//! still run short).

use std::path::Path;

use serde::Deserialize;

use crate::cdp::CdpClient;
use crate::error::Result;
use crate::eval::evaluate;

/// `process.memoryUsage()` of the target.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryUsage {
    pub rss: u64,
    pub heap_total: u64,
    pub heap_used: u64,
    pub external: u64,
    #[serde(default)]
    pub array_buffers: u64,
}

pub async fn memory_usage(client: &mut CdpClient) -> Result<MemoryUsage> {
    evaluate(client, "process.memoryUsage()").await
}

/// The outcome of the pre-capture check.
#[derive(Clone, Debug)]
pub struct MemoryCheck {
    pub usage: MemoryUsage,
    /// Bytes the target can still allocate (host `MemAvailable`, lowered by the target's
    /// cgroup limit when it has one); `None` when unknown.
    pub available: Option<u64>,
}

impl MemoryCheck {
    /// Whether available memory is below the twice-the-used-heap rule of thumb.
    pub fn is_tight(&self) -> bool {
        self.available
            .is_some_and(|a| a < self.usage.heap_used.saturating_mul(2))
    }
}

/// Reads the target's heap figures and the memory left to it. `pid` is the local process
/// (for its cgroup), when known.
pub async fn check(client: &mut CdpClient, pid: Option<i32>) -> Result<MemoryCheck> {
    let usage = memory_usage(client).await?;
    let host = mem_available();
    let cgroup = pid.and_then(cgroup_headroom);
    let available = match (host, cgroup) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    };
    Ok(MemoryCheck { usage, available })
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn mem_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `memory.max - memory.current` of the target's cgroup (v2), when it has a limit.
fn cgroup_headroom(pid: i32) -> Option<u64> {
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = membership.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" (no limit) fails here
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(heap_used: u64, available: Option<u64>) -> MemoryCheck {
        let usage = MemoryUsage {
            rss: heap_used * 2,
            heap_total: heap_used,
            heap_used,
            external: 0,
            array_buffers: 0,
        };
        MemoryCheck { usage, available }
    }

    #[test]
    fn tight_below_twice_the_used_heap() {
        assert!(check(1000, Some(1999)).is_tight());
        assert!(!check(1000, Some(2000)).is_tight());
        assert!(
            !check(1000, None).is_tight(),
            "unknown is not a reason to refuse"
        );
    }

    #[test]
    fn this_machine_reports_available_memory() {
        assert!(mem_available().is_some_and(|b| b > 0));
    }
}
