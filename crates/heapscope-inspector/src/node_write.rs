//! The faster way to capture: the target writes the snapshot itself with Node's own
//! `v8.writeHeapSnapshot` (invoked over the inspector), and the file is then moved into
//! place. V8 writes straight to a file this way, skipping the per-chunk protocol encoding
//! that makes the streamed capture's serialisation slower (1 GB heap: 92 s against 132 s
//! streamed, Node's own writer 97 s). It needs a process on this machine whose files we can
//! reach; [`plan`] says whether that holds and, if not, why in one line.
//!
//! Two placements:
//!
//! - [`Placement::Direct`] — the target runs as our user and sees our file system (same
//!   mount namespace and root). heapscope creates `OUT.part` itself (so the file has our
//!   owner and our umask's mode), the target truncates and fills it, and heapscope fsyncs
//!   and renames it: the same `.part`/fsync/rename as a streamed capture.
//! - [`Placement::TargetTemp`] — another user (heapscope is root) or another mount
//!   namespace (a container): the target writes into its own temp directory, and heapscope
//!   takes the file through `/proc/PID/root` — renamed when it is ours and on the same file
//!   system, otherwise copied into `OUT.part` and renamed (so the result is ours either way).
//!   The target's copy is always removed.
//!
//! The target writing is silent on the protocol (its main thread is busy until done), so
//! progress is the size of the file as it grows, polled — and at each poll the pages written
//! so far are handed to the disk (`sync_file_range`), so the fsync before the rename does
//! not start from the whole file.

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::atomic::AtomicFile;
use crate::cdp::CdpClient;
use crate::error::{InspectorError, Result};
use crate::eval::evaluate;
use crate::memory::memory_usage;
use crate::snapshot::{SnapshotCapture, SNAPSHOT_IDLE_TIMEOUT};

const COPY_BUFFER: usize = 1 << 20;
/// How often the growing file's size is reported while the target writes.
const POLL: Duration = Duration::from_millis(500);
/// The slowest in-target writing rate allowed for before giving up: the 1 GB benchmark heap
/// wrote at ~11 MB of heap per second, so this is ten times slower than that.
const SLOWEST_BYTES_PER_SEC: u64 = 1 << 20;

/// Where the target writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Into heapscope's own `OUT.part` (same user, same file system view).
    Direct,
    /// Into its temp directory, taken from there through `/proc/PID/root`.
    TargetTemp,
}

/// What the target's attempt came to.
pub enum InTarget {
    Written(SnapshotCapture),
    /// The target is alive but could not write, or its file could not be taken; the reason
    /// in one line. Nothing was left behind; streaming may still work.
    Refused(String),
}

/// Whether local process `pid`, whose inspector heapscope reached at `inspector`, can write
/// a snapshot that heapscope can then take, and where; otherwise why not.
pub fn plan(pid: i32, inspector: SocketAddr) -> std::result::Result<Placement, String> {
    if !inspector.ip().is_loopback() {
        return Err(format!(
            "the inspector at {inspector} is not on this machine"
        ));
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let target_uid = effective_uid(&proc_dir)
        .ok_or_else(|| format!("pid {pid} is not a process on this machine"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let our_uid = unsafe { libc::geteuid() };
    if target_uid != our_uid && our_uid != 0 {
        return Err(format!(
            "pid {pid} runs as uid {target_uid} and heapscope as uid {our_uid}, so its file \
             could not be taken (run heapscope as the same user, or as root)"
        ));
    }
    // Through a tunnel or a container's forwarded port, `process.pid` names a process of
    // another machine or namespace; the pid here must be the one listening on that port.
    let listens = crate::procs::listening_addrs(&proc_dir)
        .iter()
        .any(|a| a.port() == inspector.port());
    if !listens {
        return Err(format!(
            "pid {pid} on this machine does not listen on port {} (the inspector is reached \
             through a tunnel or a forwarded port)",
            inspector.port()
        ));
    }
    let same =
        |ours: &str, theirs: PathBuf| match (std::fs::metadata(ours), std::fs::metadata(theirs)) {
            (Ok(a), Ok(b)) => Some(a.dev() == b.dev() && a.ino() == b.ino()),
            _ => None,
        };
    let same_mounts = same("/proc/self/ns/mnt", proc_dir.join("ns/mnt"));
    let same_root = same("/", proc_dir.join("root/"));
    match (same_mounts, same_root) {
        (Some(true), Some(true)) if target_uid == our_uid => Ok(Placement::Direct),
        (_, Some(_)) => Ok(Placement::TargetTemp),
        _ => Err(format!(
            "pid {pid}'s files are not reachable through /proc/{pid}/root"
        )),
    }
}

/// `Uid:` in `/proc/PID/status`: real, effective, saved, file system.
fn effective_uid(proc_dir: &Path) -> Option<u32> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Has local process `pid` (reached through `client`) write a snapshot placed as `placement`
/// says, and puts it at `out`. The file appears under `out` only complete and synced;
/// `progress` hears the bytes written so far.
pub async fn write_in_target(
    client: &mut CdpClient,
    pid: i32,
    placement: Placement,
    out: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<InTarget> {
    let started = Instant::now();
    let target_pid: i32 = evaluate(client, "process.pid").await?;
    if target_pid != pid {
        return Ok(InTarget::Refused(format!(
            "the session is with pid {target_pid}, not {pid}"
        )));
    }
    let heap_used = memory_usage(client).await?.heap_used;
    let timeout = SNAPSHOT_IDLE_TIMEOUT + Duration::from_secs(heap_used / SLOWEST_BYTES_PER_SEC);
    let mut writer = Duration::ZERO;
    let outcome = match placement {
        Placement::Direct => write_direct(client, pid, out, timeout, progress, &mut writer).await?,
        Placement::TargetTemp => {
            write_to_target_temp(client, pid, out, timeout, progress, &mut writer).await?
        }
    };
    let elapsed = started.elapsed();
    Ok(match outcome {
        Ok(bytes) => InTarget::Written(SnapshotCapture {
            path: out.to_path_buf(),
            bytes,
            elapsed,
            phases: vec![
                ("v8.writeHeapSnapshot in the target", writer),
                (
                    "the rest (checks, fsync, rename)",
                    elapsed.saturating_sub(writer),
                ),
            ],
        }),
        Err(why) => InTarget::Refused(why),
    })
}

/// The target fills our `OUT.part`.
async fn write_direct(
    client: &mut CdpClient,
    pid: i32,
    out: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64),
    writer: &mut Duration,
) -> Result<std::result::Result<u64, String>> {
    let part = AtomicFile::create(out)?;
    let part_path = std::path::absolute(part.part_path())
        .map_err(|e| InspectorError::io("cannot resolve", part.part_path(), e))?;
    let Some(as_text) = part_path.to_str() else {
        return Ok(Err(format!("{} is not UTF-8", part_path.display())));
    };
    let writing = Instant::now();
    let written = run_writer(client, pid, as_text, true, timeout, &part_path, progress).await?;
    *writer = writing.elapsed();
    if let Err(why) = written {
        return Ok(Err(why));
    }
    let bytes = std::fs::metadata(&part_path)
        .map_err(|e| InspectorError::io("cannot read", &part_path, e))?
        .len();
    if bytes == 0 {
        return Ok(Err(format!(
            "pid {pid} reported success but {} is empty",
            part_path.display()
        )));
    }
    part.commit()?;
    Ok(Ok(bytes))
}

/// The target writes into its temp directory; the file is taken from there.
async fn write_to_target_temp(
    client: &mut CdpClient,
    pid: i32,
    out: &Path,
    timeout: Duration,
    progress: &mut dyn FnMut(u64),
    writer: &mut Duration,
) -> Result<std::result::Result<u64, String>> {
    let tmpdir: String = evaluate(client, "require('os').tmpdir()").await?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let in_target = format!(
        "{}/heapscope-{pid}-{nanos}.heapsnapshot",
        tmpdir.trim_end_matches('/')
    );
    let seen_from_here =
        PathBuf::from(format!("/proc/{pid}/root")).join(in_target.trim_start_matches('/'));
    // Removes the target's file however this ends, an interruption included (the target
    // may still be writing: it then fills a file nobody can open, freed when it closes).
    let _guard = RemoveOnDrop(seen_from_here.clone());
    let writing = Instant::now();
    let written = run_writer(
        client,
        pid,
        &in_target,
        false,
        timeout,
        &seen_from_here,
        progress,
    )
    .await?;
    *writer = writing.elapsed();
    let taken = match written {
        Ok(()) => take_file(&seen_from_here, out),
        Err(why) => Ok(Err(why)),
    };
    // Our unlink fails on another user's file in a sticky /tmp; the target's own succeeds.
    let remove = format!(
        "require('fs').rmSync({}, {{ force: true }})",
        serde_json::to_string(&in_target).unwrap_or_default()
    );
    let _ = evaluate::<serde_json::Value>(client, &remove).await;
    taken
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `v8.writeHeapSnapshot(path)` in the target, reporting `watched`'s size meanwhile. An
/// exception in the target (no permission, no space) is a refusal, not an error.
async fn run_writer(
    client: &mut CdpClient,
    pid: i32,
    path_in_target: &str,
    created_by_us: bool,
    timeout: Duration,
    watched: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<std::result::Result<(), String>> {
    // Written only while the file heapscope created is still there: a capture interrupted
    // before the target ran this removes it, and the target must not then create it anew
    // (v8.writeHeapSnapshot creates its file) and leave a whole snapshot behind. What is
    // left is the microseconds between the check and the writer's open.
    let path = serde_json::to_string(path_in_target).unwrap_or_default();
    let expression = if !created_by_us {
        format!("require('v8').writeHeapSnapshot({path})")
    } else {
        format!(
        "(p => {{ if (!require('fs').existsSync(p)) throw new Error('the capture was cancelled: ' + p + ' is gone'); \
         return require('v8').writeHeapSnapshot(p); }})({path})"
        )
    };
    let previous = std::mem::replace(&mut client.idle_timeout, timeout);
    let mut ticks = tokio::time::interval(POLL);
    let mut watching: Option<File> = None;
    let result = {
        let write = evaluate::<String>(client, &expression);
        tokio::pin!(write);
        loop {
            tokio::select! {
                r = &mut write => break r,
                _ = ticks.tick() => {
                    if watching.is_none() {
                        watching = File::open(watched).ok();
                    }
                    if let Some(file) = &watching {
                        if let Ok(m) = file.metadata() {
                            progress(m.len());
                        }
                        start_writeback(file);
                    }
                }
            }
        }
    };
    client.idle_timeout = previous;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(InspectorError::Protocol { message, .. }) => {
            let thrown = message
                .split_once(" threw ")
                .map_or(message.as_str(), |(_, t)| t);
            Ok(Err(format!(
                "pid {pid} could not write {path_in_target}: {thrown}"
            )))
        }
        Err(e) => Err(e),
    }
}

/// Starts writing the file's dirty pages to disk without waiting for them, so the disk works
/// while the target is still serialising and the final fsync has only the tail to flush
/// (on the 400 MB benchmark heap that fsync otherwise added about a second, all after the
/// target was done).
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range reads only its integer arguments; the fd is open for the call.
    // Failure (a file system without it) only loses the head start, so it is ignored.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Puts the target's finished file at `out`: renamed when it is ours and on the same file
/// system (fsynced first), copied through `OUT.part` otherwise. Unreadable is a refusal.
fn take_file(source: &Path, out: &Path) -> Result<std::result::Result<u64, String>> {
    let file = match File::open(source) {
        Ok(f) => f,
        Err(e) => {
            return Ok(Err(format!(
                "cannot read the target's snapshot {}: {e}",
                source.display()
            )))
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| InspectorError::io("cannot read", source, e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    file.sync_all()
        .map_err(|e| InspectorError::io("cannot fsync", source, e))?;
    if ours && std::fs::rename(source, out).is_ok() {
        sync_parent(out);
        return Ok(Ok(meta.len()));
    }
    let mut reader = file;
    let mut copy = AtomicFile::create(out)?;
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| InspectorError::io("cannot read", source, e))?;
        if n == 0 {
            break;
        }
        copy.write(&buf[..n])?;
    }
    let copied = copy.bytes_written();
    copy.commit()?;
    Ok(Ok(copied))
}

/// A rename is durable once its directory is synced (best effort, as in `atomic`).
fn sync_parent(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_and_missing_targets_are_reasons_not_errors() {
        let remote: SocketAddr = "10.0.0.7:9229".parse().unwrap();
        assert!(plan(1, remote).unwrap_err().contains("not on this machine"));
        let local: SocketAddr = "127.0.0.1:9229".parse().unwrap();
        // Pids are below 2^22 on Linux.
        let why = plan(i32::MAX, local).unwrap_err();
        assert!(why.contains("not a process on this machine"), "{why}");
        // This test process listens on nothing: a tunnel's pid looks like that.
        let why = plan(std::process::id() as i32, local).unwrap_err();
        assert!(why.contains("does not listen on port 9229"), "{why}");
    }

    #[test]
    fn a_taken_file_is_renamed_complete() {
        let dir = std::env::temp_dir().join(format!("heapscope-take-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("in-target.heapsnapshot");
        std::fs::write(&source, b"{\"snapshot\":{}}").unwrap();
        let out = dir.join("out.heapsnapshot");
        assert_eq!(take_file(&source, &out).unwrap().unwrap(), 15);
        assert!(!source.exists());
        assert_eq!(std::fs::read(&out).unwrap(), b"{\"snapshot\":{}}");
        let why = take_file(&dir.join("gone"), &out).unwrap().unwrap_err();
        assert!(why.contains("cannot read the target's snapshot"), "{why}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
