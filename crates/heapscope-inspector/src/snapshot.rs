//! Capturing a heap snapshot: `HeapProfiler.takeHeapSnapshot`, with the
//! `addHeapSnapshotChunk` events written to disk as they arrive (through [`AtomicFile`]) and
//! offered to an observer, which `heapscope snapshot --analyze` uses to parse while writing.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use crate::atomic::AtomicFile;
use crate::cdp::CdpClient;
use crate::error::Result;

/// A snapshot of a multi-gigabyte heap can take V8 well over a minute to build, but it
/// reports progress all along; this is the longest silence tolerated.
pub(crate) const SNAPSHOT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotOptions {
    /// Run a full garbage collection first, so the snapshot holds only live objects'
    /// retainers (V8 collects before a snapshot anyway; this adds an explicit major GC).
    pub collect_garbage: bool,
}

/// What the caller hears while a snapshot is taken.
pub trait SnapshotObserver {
    /// V8's progress building the snapshot: objects done out of total.
    fn progress(&mut self, _done: u64, _total: u64) {}
    /// Serialisation has started; `bytes` have been written so far.
    fn written(&mut self, _bytes: u64) {}
    /// One chunk of the snapshot's JSON text, in order (streamed captures only).
    fn chunk(&mut self, _text: &[u8]) {}
    /// How the snapshot is about to be taken ([`crate::capture`]), and why it is streamed
    /// when the target writing it was wanted.
    fn method(&mut self, _method: crate::capture::Method, _fallback: Option<&str>) {}
}

/// Nothing to report.
impl SnapshotObserver for () {}

pub struct SnapshotCapture {
    pub path: PathBuf,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Named phases of `elapsed`, where the capture knows them (`HEAPSCOPE_TIMINGS=1`).
    pub phases: Vec<(&'static str, Duration)>,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    chunk: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Progress {
    done: u64,
    total: u64,
}

/// Takes a snapshot into `out`. The file appears under that name only once complete and
/// synced; on any error the partial file is removed.
pub async fn take_snapshot(
    client: &mut CdpClient,
    out: &Path,
    options: SnapshotOptions,
    observer: &mut dyn SnapshotObserver,
) -> Result<SnapshotCapture> {
    let started = Instant::now();
    let mut file = AtomicFile::create(out)?;
    client
        .call::<serde_json::Value>("HeapProfiler.enable", json!({}))
        .await?;
    if options.collect_garbage {
        client
            .call::<serde_json::Value>("HeapProfiler.collectGarbage", json!({}))
            .await?;
    }
    let previous_timeout = std::mem::replace(&mut client.idle_timeout, SNAPSHOT_IDLE_TIMEOUT);
    // File writes here are synchronous on purpose: while one is in progress the socket is
    // not read, so V8 is held back by TCP flow control instead of heapscope buffering.
    let result = client
        .call_with_events(
            "HeapProfiler.takeHeapSnapshot",
            json!({ "reportProgress": true }),
            |event| {
                match event.method {
                    "HeapProfiler.addHeapSnapshotChunk" => {
                        let chunk: Chunk<'_> = event.params()?;
                        file.write(chunk.chunk.as_bytes())?;
                        observer.chunk(chunk.chunk.as_bytes());
                        observer.written(file.bytes_written());
                    }
                    "HeapProfiler.reportHeapSnapshotProgress" => {
                        let p: Progress = event.params()?;
                        observer.progress(p.done, p.total);
                    }
                    _ => {}
                }
                Ok(())
            },
        )
        .await;
    client.idle_timeout = previous_timeout;
    result?;
    let bytes = file.bytes_written();
    let path = file.commit()?;
    Ok(SnapshotCapture {
        path,
        bytes,
        elapsed: started.elapsed(),
        phases: Vec::new(),
    })
}
