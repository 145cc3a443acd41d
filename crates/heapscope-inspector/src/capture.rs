//! Choosing how to capture a heap snapshot, for `heapscope snapshot` and watch's snapshot
//! actions alike: by default the target writes the file itself ([`node_write`]: Node's own
//! writer's speed) whenever that can work, and the snapshot is streamed over the protocol
//! ([`snapshot`]) otherwise — with the reason in one line, for the caller to show.
//!
//! [`node_write`]: crate::node_write
//! [`snapshot`]: crate::snapshot

use std::net::SocketAddr;
use std::path::Path;

use serde_json::json;

use crate::cdp::CdpClient;
use crate::error::{InspectorError, Result};
use crate::node_write::{plan, write_in_target, InTarget};
use crate::snapshot::{take_snapshot, SnapshotCapture, SnapshotObserver, SnapshotOptions};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureMode {
    /// In the target when possible, streamed otherwise.
    #[default]
    Auto,
    /// Always streamed over the inspector.
    Stream,
    /// In the target, or an error saying why not.
    InTarget,
}

/// How the snapshot was actually taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    InTarget,
    Streamed,
}

pub struct Captured {
    pub capture: SnapshotCapture,
    pub method: Method,
    /// Why it was streamed although the in-target writer was wanted (`CaptureMode::Auto`).
    pub fallback: Option<String>,
}

/// The process to capture, as far as it is known to be local: its pid and the inspector
/// address heapscope reached it at.
#[derive(Clone, Copy, Debug)]
pub struct Local {
    pub pid: Option<i32>,
    pub inspector: SocketAddr,
}

/// Captures a snapshot of the session's target into `out` (complete under that name or not
/// at all). The observer hears V8's progress and, when streamed, every chunk; when the
/// target writes, only the growing size (through `written`).
pub async fn capture(
    client: &mut CdpClient,
    target: Local,
    out: &Path,
    mode: CaptureMode,
    options: SnapshotOptions,
    observer: &mut dyn SnapshotObserver,
) -> Result<Captured> {
    let streamed = |capture, fallback| Captured {
        capture,
        method: Method::Streamed,
        fallback,
    };
    if mode == CaptureMode::Stream {
        observer.method(Method::Streamed, None);
        let capture = take_snapshot(client, out, options, observer).await?;
        return Ok(streamed(capture, None));
    }
    let planned = target
        .pid
        .ok_or_else(|| "the target's pid is not known".to_string())
        .and_then(|pid| plan(pid, target.inspector).map(|p| (pid, p)));
    let tried_in_target = planned.is_ok();
    let why = match planned {
        Ok((pid, placement)) => {
            if options.collect_garbage {
                client
                    .call::<serde_json::Value>("HeapProfiler.collectGarbage", json!({}))
                    .await?;
            }
            observer.method(Method::InTarget, None);
            let mut progress = |bytes: u64| observer.written(bytes);
            match write_in_target(client, pid, placement, out, &mut progress).await? {
                InTarget::Written(capture) => {
                    return Ok(Captured {
                        capture,
                        method: Method::InTarget,
                        fallback: None,
                    })
                }
                InTarget::Refused(why) => why,
            }
        }
        Err(why) => why,
    };
    if mode == CaptureMode::InTarget {
        return Err(InspectorError::InTargetUnavailable { reason: why });
    }
    // Collected already when the target tried; once is enough.
    let options = SnapshotOptions {
        collect_garbage: options.collect_garbage && !tried_in_target,
    };
    observer.method(Method::Streamed, Some(&why));
    let capture = take_snapshot(client, out, options, observer).await?;
    Ok(streamed(capture, Some(why)))
}
