//! # heapscope-format
//!
//! Reads V8 `.heapsnapshot` files — written by `v8.writeHeapSnapshot()`,
//! `node --heapsnapshot-signal`, `--heapsnapshot-near-heap-limit`, Chrome DevTools' "Save
//! profile" or assembled from the inspector's `HeapProfiler.addHeapSnapshotChunk` events —
//! into compact struct-of-arrays columns ([`RawSnapshot`]).
//!
//! The crate is sans-IO: callers push bytes into a [`Loader`] (plain or gzip, detected by
//! magic bytes) in chunks of any size and call [`Loader::finish`]. It knows nothing of graphs,
//! dominators or policy; that is `heapscope-analysis`.
//!
//! Layout facts come from the snapshot's own `meta` header ([`Header`]): node field offsets,
//! node/edge type names, optional `trace_node_id`/`detachedness`, location and sample fields.
//! Unknown top-level sections are skipped. Every malformed input yields a [`FormatError`] that
//! says what is wrong and where (section, element, byte offset) — never a panic.

mod error;
mod header;
mod loader;
mod numbers;
mod parser;
mod snapshot;
mod strings;
mod validate;

pub use error::{FormatError, Location};
pub use header::{EdgeKind, EdgeLayout, Header, NodeKind, NodeLayout};
pub use loader::{load_bytes, Loader};
pub use parser::SnapshotParser;
pub use snapshot::{
    EdgeColumns, NodeColumns, RawSnapshot, Sample, SourceLocation, UNKNOWN_KIND_BASE,
};
pub use strings::{unescape, StringTable};
