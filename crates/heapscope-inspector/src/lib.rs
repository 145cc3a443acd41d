//! Live Node.js processes, with no addon installed in the target (only `watch`'s removable
//! GC observer, plain JavaScript, see [`watch::gc`]): heapscope finds them in
//! `/proc`, opens (or reuses) the V8 inspector every Node process has, and talks the Chrome
//! DevTools Protocol to capture heap snapshots, CPU profiles and sampling heap profiles.
//!
//! - [`procs`]: local Node processes — command line, uptime, RSS, listening ports.
//! - [`discovery`]: the inspector's HTTP endpoints (`/json/list`, `/json/version`).
//! - [`cdp`]: the protocol client — one WebSocket, request ids, events, idle deadlines.
//! - [`attach`]: pid / `HOST:PORT` / `ws://` to a session; SIGUSR1 when the inspector is
//!   closed; loopback only unless allowed.
//! - [`eval`], [`memory`]: `Runtime.evaluate`; the target's memory figures and the
//!   "can it afford a snapshot" check.
//! - [`capture`]: which way a snapshot is taken — by default the target writes it itself
//!   ([`node_write`], Node's own writer), else `HeapProfiler.takeHeapSnapshot` streamed to
//!   disk ([`snapshot`]); both through [`atomic`]'s `.part`/fsync/rename.
//! - [`profile`]: recording `.cpuprofile` and `.heapprofile` files.
//! - [`calltree`], [`cpuprofile`], [`heapprofile`], [`top`], [`flamegraph`]: reading those
//!   files back — one call-tree model for both, top functions by self and total, and a
//!   self-contained SVG/HTML flame graph.
//! - [`watch`]: what `heapscope watch` samples, the rule language, the leak trend, the
//!   actions and the Prometheus exposition.
//!
//! The async API runs on any tokio runtime; heapscope's CLI uses a current-thread one.

pub mod atomic;
pub mod attach;
pub mod calltree;
pub mod capture;
pub mod cdp;
pub mod cpuprofile;
pub mod discovery;
pub mod error;
pub mod eval;
pub mod flamegraph;
pub mod heapprofile;
pub mod memory;
pub mod node_write;
pub mod procs;
pub mod profile;
pub mod snapshot;
pub mod top;
pub mod watch;

pub use attach::{attach, AttachOptions, Attached, TargetSpec};
pub use error::{InspectorError, Result};
