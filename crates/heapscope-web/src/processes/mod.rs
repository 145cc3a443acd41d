//! The Processes page's server side: Node processes the console watches, and captures from
//! them.
//!
//! - [`watcher`]: one thread with a current-thread runtime (like `heapscope watch`, whose
//!   library it uses: the inspector crate's attach futures are not `Send`, and a slow
//!   target must never hold up an HTTP worker) runs one task per watched process: attach,
//!   identify, then sample every interval into the store with the built-in leak-trend rule,
//!   exactly as `heapscope watch` writes them. `--watch-all` re-discovers local processes
//!   every interval. A target that exits or fails becomes a status, never a server error.
//! - [`capture`]: snapshots and profiles taken on request, each on a thread of its own
//!   with its own session to the target (Node accepts several inspector sessions);
//!   `snapshot`: the snapshot's streaming into the Snapshots list with progress.
//! - [`downsample`]: min/max-preserving buckets for the charts.
//! - [`target`]: what `--watch` and `POST /api/processes` accept, loopback only.
//!
//! [`Registry`] is what the HTTP handlers see: the state of every watch and a channel to
//! the watcher thread.

pub mod capture;
pub mod downsample;
mod snapshot;
pub mod target;
mod watcher;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use heapscope_inspector::TargetSpec;
use heapscope_store::Store;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

/// Where a watch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Connecting and identifying the target.
    Attaching,
    /// Sampling.
    Live,
    /// The process exited (or its inspector closed).
    Gone,
    /// Attaching or sampling failed for another reason; retried unless hopeless.
    Error,
}

/// One watched target as the console shows it.
#[derive(Clone, Debug, Serialize)]
pub struct WatchState {
    /// As asked for: `pid 4121`, `127.0.0.1:9229`.
    pub target: String,
    /// The store's process row, once identified.
    pub process_id: Option<i64>,
    pub pid: Option<i64>,
    pub status: Health,
    /// Why it is gone or failing; for a live one, a passing problem ("not answering").
    pub error: Option<String>,
    /// A task owns this watch (sampling, or waiting to retry); otherwise it is over.
    #[serde(skip)]
    pub active: bool,
}

/// Why a watch could not start, for `POST /api/processes`.
#[derive(Debug)]
pub struct WatchRefused {
    /// The request named something that cannot be watched (not Node, no such pid): the
    /// client's mistake, answered 4xx; otherwise the target could not be reached (502).
    pub client_error: bool,
    pub message: String,
}

pub(crate) enum Command {
    Watch {
        spec: TargetSpec,
        reply: oneshot::Sender<Result<i64, WatchRefused>>,
    },
}

/// Shared by the HTTP handlers, the watcher thread and the capture threads.
pub struct Registry {
    pub interval: Duration,
    watches: Mutex<Vec<WatchState>>,
    commands: mpsc::UnboundedSender<Command>,
    /// Processes with a capture running: one at a time each, since a second snapshot would
    /// double the target's memory spike.
    capturing: Mutex<HashSet<i64>>,
}

/// What the watcher starts with.
pub struct WatchConfig {
    pub interval: Duration,
    pub targets: Vec<TargetSpec>,
    pub all: bool,
    pub trend: heapscope_inspector::watch::trend::TrendConfig,
    /// Install the GC observer in each watched process.
    pub gc_observer: bool,
    /// Applied to the store's samples at start and every ten minutes, when given.
    pub retention: Option<heapscope_store::retention::RetentionPolicy>,
}

impl Registry {
    /// Starts the watcher thread. It ends when the registry is dropped (the server stopped).
    pub fn start(store: Arc<Store>, config: WatchConfig) -> anyhow::Result<Arc<Registry>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let registry = Arc::new(Registry {
            interval: config.interval,
            watches: Mutex::new(Vec::new()),
            commands: tx,
            capturing: Mutex::new(HashSet::new()),
        });
        // The thread holds only a weak reference, so dropping the server's state closes the
        // command channel and ends it.
        watcher::spawn(Arc::downgrade(&registry), store, config, rx)?;
        Ok(registry)
    }

    /// Every watch, in the order they were started.
    pub fn watches(&self) -> Vec<WatchState> {
        self.lock()
            .iter()
            .filter(|w| !w.target.is_empty())
            .cloned()
            .collect()
    }

    /// The watch of a stored process, if this server watches it.
    pub fn watch_of(&self, process_id: i64) -> Option<WatchState> {
        self.lock()
            .iter()
            .rev()
            .find(|w| w.process_id == Some(process_id))
            .cloned()
    }

    /// Asks the watcher to watch `spec`; answers once it is attached and identified.
    pub async fn watch(&self, spec: TargetSpec) -> Result<i64, WatchRefused> {
        let (reply, answer) = oneshot::channel();
        let gone = || WatchRefused {
            client_error: false,
            message: "the process watcher has stopped".into(),
        };
        self.commands
            .send(Command::Watch { spec, reply })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Marks `process_id` as capturing; `None` when a capture of it is already running.
    pub fn begin_capture(self: &Arc<Self>, process_id: i64) -> Option<CaptureGuard> {
        let mut busy = self.capturing.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(process_id).then(|| CaptureGuard {
            registry: self.clone(),
            process_id,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<WatchState>> {
        self.watches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a watch (or reuses the slot of an earlier one of the same target that is not
    /// running any more) and returns its index.
    fn add(&self, target: String, pid: Option<i64>) -> usize {
        let mut watches = self.lock();
        let state = WatchState {
            target,
            process_id: None,
            pid,
            status: Health::Attaching,
            error: None,
            active: true,
        };
        // A gone process keeps its slot (and so its status); a failed one is retried in it.
        if let Some(i) = watches
            .iter()
            .position(|w| w.target == state.target && !w.active && w.status == Health::Error)
        {
            watches[i] = state;
            return i;
        }
        watches.push(state);
        watches.len() - 1
    }

    fn update(&self, slot: usize, f: impl FnOnce(&mut WatchState)) {
        if let Some(w) = self.lock().get_mut(slot) {
            f(w);
        }
    }

    /// Whether some other watch owns this pid or process.
    fn is_watched(&self, except: Option<usize>, pid: Option<i64>, process_id: Option<i64>) -> bool {
        self.lock().iter().enumerate().any(|(i, w)| {
            Some(i) != except
                && w.active
                && ((pid.is_some() && w.pid == pid)
                    || (process_id.is_some() && w.process_id == process_id))
        })
    }

    /// Hides a slot whose request was answered with an error or found the process already
    /// watched (slots are indexes, so they are blanked rather than removed).
    fn hide(&self, slot: usize) {
        self.update(slot, |w| {
            w.status = Health::Error;
            w.target = String::new();
            w.active = false;
        });
    }
}

/// Held while a capture runs; frees the process for the next one when dropped.
pub struct CaptureGuard {
    registry: Arc<Registry>,
    process_id: i64,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let mut busy = self
            .registry
            .capturing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.process_id);
    }
}
