//! The other way to capture: let the target write the snapshot itself with Node's own
//! `v8.writeHeapSnapshot` into its temp directory, then move the file here through
//! `/proc/PID/root`. V8 writes straight to a file this way, skipping the per-chunk protocol
//! encoding that makes the streamed capture's serialisation slower; the price is that the
//! target needs the disk space, the process must be local, and there is no progress.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::atomic::AtomicFile;
use crate::cdp::CdpClient;
use crate::error::{InspectorError, Result};
use crate::eval::evaluate;
use crate::snapshot::{SnapshotCapture, SNAPSHOT_IDLE_TIMEOUT};

const COPY_BUFFER: usize = 1 << 20;

/// Has local process `pid` (reached through `client`) write a snapshot, and moves it to
/// `out`. The file appears under `out` only complete; the target's copy is always removed.
pub async fn write_in_target(
    client: &mut CdpClient,
    pid: i32,
    out: &Path,
) -> Result<SnapshotCapture> {
    let started = Instant::now();
    let target_pid: i32 = evaluate(client, "process.pid").await?;
    if target_pid != pid {
        return Err(InspectorError::BadMessage {
            context: "checking the target".into(),
            detail: format!("the session is with pid {target_pid}, not {pid}"),
        });
    }
    let tmpdir: String = evaluate(client, "require('os').tmpdir()").await?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let in_target = format!(
        "{}/heapscope-{pid}-{nanos}.heapsnapshot",
        tmpdir.trim_end_matches('/')
    );
    let expression = format!(
        "require('v8').writeHeapSnapshot({})",
        serde_json::to_string(&in_target).unwrap_or_default()
    );
    // The target's main thread is busy writing and sends nothing until done.
    let previous = std::mem::replace(&mut client.idle_timeout, SNAPSHOT_IDLE_TIMEOUT);
    let written: Result<String> = evaluate(client, &expression).await;
    client.idle_timeout = previous;
    let seen_from_here =
        PathBuf::from(format!("/proc/{pid}/root")).join(in_target.trim_start_matches('/'));
    let moved = written.and_then(|_| move_here(&seen_from_here, out));
    let _ = std::fs::remove_file(&seen_from_here);
    let bytes = moved?;
    Ok(SnapshotCapture {
        path: out.to_path_buf(),
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Renames when both paths are on one file system (fsyncing first), copies otherwise.
fn move_here(source: &Path, out: &Path) -> Result<u64> {
    let file = File::open(source)
        .map_err(|e| InspectorError::io("cannot open the target's snapshot", source, e))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    file.sync_all()
        .map_err(|e| InspectorError::io("cannot fsync", source, e))?;
    if std::fs::rename(source, out).is_ok() {
        return Ok(bytes);
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
    Ok(copied)
}
