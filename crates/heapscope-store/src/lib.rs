//! # heapscope-store
//!
//! The embedded store shared by `heapscope watch` and `heapscope serve`: one SQLite database
//! (`heapscope.sqlite3`, bundled SQLite, WAL mode) in a data directory, beside the files it
//! catalogues (snapshots, profiles). Each concern owns its tables and creates them on open:
//! [`metrics`] watched processes, their samples and alerts; [`snapshots`] captured or
//! uploaded snapshots and the reports computed from them. The store knows no JSON and no
//! HTTP: it stores rows and files.

pub mod metrics;
pub mod profiles;
pub mod retention;
pub mod sidecar;
pub mod snapshots;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use rusqlite::Connection;

/// File name of the database inside the data directory.
pub const DATABASE: &str = "heapscope.sqlite3";

/// An open store. Cheap to share behind an `Arc`; calls are serialised on one connection,
/// which is what SQLite does for writers anyway.
pub struct Store {
    dir: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        let path = dir.join(DATABASE);
        let conn = Connection::open(&path)
            .with_context(|| format!("cannot open the store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        metrics::init(&conn).context("creating the metrics tables")?;
        snapshots::init(&conn).context("creating the snapshot tables")?;
        Ok(Store {
            dir: dir.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` on the connection.
    pub fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> Result<R> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the store's connection was poisoned by a panic"))?;
        Ok(f(&conn)?)
    }
}

/// The platform's data directory for heapscope: `$XDG_DATA_HOME/heapscope`, else
/// `~/.local/share/heapscope`, else `./heapscope-data`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("heapscope");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home).join(".local/share/heapscope");
    }
    PathBuf::from("heapscope-data")
}
