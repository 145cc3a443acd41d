//! Snapshots and the reports computed from them (owned by `heapscope serve`).
//!
//! A snapshot row moves through `uploading` → `queued` → `analyzing` → `ready` (or `failed`,
//! with the error text). Its file lives at [`SnapshotRow::file`], relative to the data
//! directory, and is only given that name once it is complete. Reports are text (JSON made
//! by the web crate) keyed by snapshot and kind, with the schema version of the text: the
//! store never parses them.

use rusqlite::{params, Connection, OptionalExtension, Row};

/// Where a snapshot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Bytes are still arriving; the file is `<file>.part`.
    Uploading,
    /// Complete on disk, waiting for the analysis worker (also after a crash mid-analysis).
    Queued,
    Analyzing,
    Ready,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Uploading => "uploading",
            Status::Queued => "queued",
            Status::Analyzing => "analyzing",
            Status::Ready => "ready",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "uploading" => Status::Uploading,
            "queued" => Status::Queued,
            "analyzing" => Status::Analyzing,
            "ready" => Status::Ready,
            // The CHECK constraint admits nothing else.
            _ => Status::Failed,
        }
    }
}

/// One row of `snapshots`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub id: i64,
    pub name: String,
    /// Path of the snapshot file relative to the data directory.
    pub file: String,
    /// Bytes on disk (0 while uploading).
    pub size: u64,
    pub node_count: Option<u64>,
    pub edge_count: Option<u64>,
    /// Unix seconds.
    pub created: i64,
    /// Where it came from: `upload`, or a process description for captures.
    pub source: String,
    pub status: Status,
    /// What the analysis is doing now (a phase label), while analysing.
    pub phase: Option<String>,
    /// 0.0 ..= 1.0 while analysing.
    pub progress: f64,
    /// Why it failed.
    pub error: Option<String>,
}

/// One stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub snapshot_id: i64,
    pub kind: String,
    pub schema_version: i64,
    pub body: String,
    pub created: i64,
}

pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            file TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            node_count INTEGER,
            edge_count INTEGER,
            created INTEGER NOT NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('uploading', 'queued', 'analyzing', 'ready', 'failed')),
            phase TEXT,
            progress REAL NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE TABLE IF NOT EXISTS reports (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            schema_version INTEGER NOT NULL,
            body TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, kind)
        );",
    )?;
    recover_interrupted(conn)?;
    Ok(())
}

/// After a crash or kill: an analysis that was running is queued again (it wrote nothing
/// but progress), and an upload that was running failed (its `.part` file is the caller's to
/// remove). Returns how many rows changed.
pub fn recover_interrupted(conn: &Connection) -> rusqlite::Result<usize> {
    let requeued = conn.execute(
        "UPDATE snapshots SET status = 'queued', phase = NULL, progress = 0
         WHERE status = 'analyzing'",
        [],
    )?;
    let failed = conn.execute(
        "UPDATE snapshots SET status = 'failed', phase = NULL,
             error = 'the upload was interrupted (the server stopped)'
         WHERE status = 'uploading'",
        [],
    )?;
    Ok(requeued + failed)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The file name convention: `snapshots/<id>.heapsnapshot` under the data directory.
pub fn file_for(id: i64) -> String {
    format!("snapshots/{id}.heapsnapshot")
}

/// Creates a row in `uploading` state and returns it.
pub fn create(conn: &Connection, name: &str, source: &str) -> rusqlite::Result<SnapshotRow> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO snapshots (name, file, created, source, status)
         VALUES (?1, '', ?2, ?3, 'uploading')",
        params![name, now(), source],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE snapshots SET file = ?1 WHERE id = ?2",
        params![file_for(id), id],
    )?;
    tx.commit()?;
    get(conn, id).map(|r| r.expect("the row just inserted"))
}

/// The upload is complete under its final name: queue it for analysis.
pub fn set_uploaded(conn: &Connection, id: i64, size: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE snapshots SET status = 'queued', size = ?1, progress = 0 WHERE id = ?2",
        params![size as i64, id],
    )?;
    Ok(())
}

/// The analysis is running, at `phase`, `progress` (0..=1) of the way.
pub fn set_progress(
    conn: &Connection,
    id: i64,
    phase: &str,
    progress: f64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE snapshots SET status = 'analyzing', phase = ?1, progress = ?2 WHERE id = ?3",
        params![phase, progress.clamp(0.0, 1.0), id],
    )?;
    Ok(())
}

/// The analysis succeeded.
pub fn set_ready(
    conn: &Connection,
    id: i64,
    node_count: u64,
    edge_count: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE snapshots SET status = 'ready', phase = NULL, progress = 1, error = NULL,
             node_count = ?1, edge_count = ?2
         WHERE id = ?3",
        params![node_count as i64, edge_count as i64, id],
    )?;
    Ok(())
}

/// The upload or the analysis failed, for the reason given.
pub fn set_failed(conn: &Connection, id: i64, error: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE snapshots SET status = 'failed', phase = NULL, error = ?1 WHERE id = ?2",
        params![error, id],
    )?;
    Ok(())
}

const COLUMNS: &str = "id, name, file, size, node_count, edge_count, created, source, status, \
                       phase, progress, error";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SnapshotRow> {
    let status: String = r.get(8)?;
    Ok(SnapshotRow {
        id: r.get(0)?,
        name: r.get(1)?,
        file: r.get(2)?,
        size: r.get::<_, i64>(3)?.max(0) as u64,
        node_count: r.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
        edge_count: r.get::<_, Option<i64>>(5)?.map(|n| n.max(0) as u64),
        created: r.get(6)?,
        source: r.get(7)?,
        status: Status::parse(&status),
        phase: r.get(9)?,
        progress: r.get(10)?,
        error: r.get(11)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<SnapshotRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM snapshots WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// All snapshots, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<SnapshotRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM snapshots ORDER BY id DESC"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// Ids waiting for the analysis worker, oldest first.
pub fn queued(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT id FROM snapshots WHERE status = 'queued' ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Deletes the row and its reports; returns the row that was deleted (its file is the
/// caller's to remove).
pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<Option<SnapshotRow>> {
    let Some(row) = get(conn, id)? else {
        return Ok(None);
    };
    conn.execute("DELETE FROM snapshots WHERE id = ?1", [id])?;
    Ok(Some(row))
}

/// Stores (or replaces) the report of `kind` for a snapshot.
pub fn put_report(
    conn: &Connection,
    snapshot_id: i64,
    kind: &str,
    schema_version: i64,
    body: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO reports (snapshot_id, kind, schema_version, body, created)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (snapshot_id, kind) DO UPDATE SET
             schema_version = excluded.schema_version, body = excluded.body,
             created = excluded.created",
        params![snapshot_id, kind, schema_version, body, now()],
    )?;
    Ok(())
}

/// The stored report of `kind`, if one of `schema_version` exists (an older version is
/// treated as absent, so it gets recomputed).
pub fn get_report(
    conn: &Connection,
    snapshot_id: i64,
    kind: &str,
    schema_version: i64,
) -> rusqlite::Result<Option<Report>> {
    conn.query_row(
        "SELECT snapshot_id, kind, schema_version, body, created FROM reports
         WHERE snapshot_id = ?1 AND kind = ?2 AND schema_version = ?3",
        params![snapshot_id, kind, schema_version],
        |r| {
            Ok(Report {
                snapshot_id: r.get(0)?,
                kind: r.get(1)?,
                schema_version: r.get(2)?,
                body: r.get(3)?,
                created: r.get(4)?,
            })
        },
    )
    .optional()
}

/// A live capture is being written (still `uploading`): what it is doing and how far, so
/// the list shows it like an upload in progress. [`set_progress`] is not for this: it means
/// the analysis is running.
pub fn set_capture_progress(
    conn: &Connection,
    id: i64,
    phase: &str,
    progress: f64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE snapshots SET phase = ?1, progress = ?2 WHERE id = ?3 AND status = 'uploading'",
        params![phase, progress.clamp(0.0, 1.0), id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn temp_store(tag: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "heapscope-store-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let store = Store::open(&dir).expect("open store");
        (store, dir)
    }

    #[test]
    fn lifecycle_and_reports() {
        let (store, dir) = temp_store("life");
        let row = store
            .with_conn(|c| create(c, "a.heapsnapshot", "upload"))
            .unwrap();
        assert_eq!(row.status, Status::Uploading);
        assert_eq!(row.file, file_for(row.id));
        store.with_conn(|c| set_uploaded(c, row.id, 1234)).unwrap();
        assert_eq!(store.with_conn(queued).unwrap(), vec![row.id]);
        store
            .with_conn(|c| set_progress(c, row.id, "dominators", 0.5))
            .unwrap();
        let r = store.with_conn(|c| get(c, row.id)).unwrap().unwrap();
        assert_eq!((r.status, r.progress), (Status::Analyzing, 0.5));
        store.with_conn(|c| set_ready(c, row.id, 10, 20)).unwrap();
        let r = store.with_conn(|c| get(c, row.id)).unwrap().unwrap();
        assert_eq!(
            (r.status, r.size, r.node_count),
            (Status::Ready, 1234, Some(10))
        );

        store
            .with_conn(|c| put_report(c, row.id, "leaks", 1, "{\"a\":1}"))
            .unwrap();
        store
            .with_conn(|c| put_report(c, row.id, "leaks", 1, "{\"a\":2}"))
            .unwrap();
        let rep = store
            .with_conn(|c| get_report(c, row.id, "leaks", 1))
            .unwrap();
        assert_eq!(rep.unwrap().body, "{\"a\":2}");
        assert!(store
            .with_conn(|c| get_report(c, row.id, "leaks", 2))
            .unwrap()
            .is_none());

        let deleted = store.with_conn(|c| delete(c, row.id)).unwrap();
        assert_eq!(deleted.map(|d| d.id), Some(row.id));
        assert!(store.with_conn(|c| get(c, row.id)).unwrap().is_none());
        // Reports go with their snapshot.
        let left: i64 = store
            .with_conn(|c| c.query_row("SELECT count(*) FROM reports", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(left, 0);
        assert!(store.with_conn(|c| delete(c, row.id)).unwrap().is_none());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn reopening_requeues_interrupted_analyses_and_fails_uploads() {
        let (store, dir) = temp_store("crash");
        let analyzing = store.with_conn(|c| create(c, "a", "upload")).unwrap();
        let uploading = store.with_conn(|c| create(c, "b", "upload")).unwrap();
        store
            .with_conn(|c| set_uploaded(c, analyzing.id, 1))
            .unwrap();
        store
            .with_conn(|c| set_progress(c, analyzing.id, "loading", 0.3))
            .unwrap();
        drop(store);
        let store = Store::open(&dir).unwrap();
        let a = store.with_conn(|c| get(c, analyzing.id)).unwrap().unwrap();
        assert_eq!((a.status, a.progress), (Status::Queued, 0.0));
        let b = store.with_conn(|c| get(c, uploading.id)).unwrap().unwrap();
        assert_eq!(b.status, Status::Failed);
        assert!(b.error.unwrap().contains("interrupted"));
        assert_eq!(store.with_conn(list).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).ok();
    }
}
