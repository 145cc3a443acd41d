//! Everything that can go wrong talking to a live process, worded for the person at the
//! terminal: each variant says what happened and, where there is one, what to do about it.

use std::net::SocketAddr;
use std::path::PathBuf;

pub type Result<T, E = InspectorError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum InspectorError {
    #[error("no process with pid {pid}")]
    NoSuchProcess { pid: i32 },

    #[error(
        "pid {pid} is not a Node.js process ({exe}); heapscope only attaches to Node, and does \
         not send it a signal (SIGUSR1 would terminate most other programs)"
    )]
    NotNode { pid: i32, exe: String },

    #[error(
        "not permitted to signal pid {pid} to open its inspector (it belongs to another user, \
         or this process lacks CAP_KILL); run heapscope as the same user as the target, or start \
         the target with --inspect=127.0.0.1:0 and pass --inspect HOST:PORT"
    )]
    SignalNotPermitted { pid: i32 },

    #[error(
        "pid {pid} opened no inspector port within {secs} s of SIGUSR1: its inspector port \
         (9229 unless --inspect-port) may be taken by another process, or it runs with \
         --disable-sigusr1 or without inspector support; its stderr says which"
    )]
    InspectorDidNotOpen { pid: i32, secs: u64 },

    #[error("nothing listens on {addr}: the inspector is closed or the process has exited")]
    ConnectionRefused { addr: SocketAddr },

    #[error(
        "refusing to connect to {host}: the inspector gives full control of the process, so \
         heapscope talks to loopback addresses only unless --allow-remote is given"
    )]
    NotLoopback { host: String },

    #[error("cannot resolve {target}: {detail}")]
    BadAddress { target: String, detail: String },

    #[error("timed out after {secs} s {what}")]
    Timeout { what: String, secs: u64 },

    #[error("inspector HTTP discovery at {addr} failed: {detail}")]
    Discovery { addr: SocketAddr, detail: String },

    #[error("the inspector at {addr} lists no debuggable target")]
    NoTargets { addr: SocketAddr },

    #[error(
        "the inspector at {url} refused the WebSocket session ({detail}); another debugger may \
         hold it — close DevTools or the other client and retry"
    )]
    HandshakeRefused { url: String, detail: String },

    #[error("the target closed the connection {during} (did the process exit or crash?)")]
    Closed { during: String },

    #[error("{method} failed in the target: {message} (code {code})")]
    Protocol {
        method: String,
        code: i64,
        message: String,
    },

    #[error("unexpected message from the inspector {context}: {detail}")]
    BadMessage { context: String, detail: String },

    #[error("WebSocket error {during}: {detail}")]
    WebSocket { during: String, detail: String },

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "cannot have the target write the snapshot itself: {reason}; without --in-target it \
         is streamed over the inspector instead"
    )]
    InTargetUnavailable { reason: String },

    #[error("cannot read {path}: {detail}")]
    Proc { path: PathBuf, detail: String },

    #[error("not a valid {kind}: {detail}")]
    BadProfile { kind: &'static str, detail: String },
}

impl InspectorError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        InspectorError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
