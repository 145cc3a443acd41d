//! CPU profiles (`.cpuprofile`) and sampling heap profiles (`.heapprofile`) recorded by
//! `heapscope serve` from a watched process.
//!
//! A row is created when the recording starts (`recording`), so the console can show it
//! while it runs, and becomes `ready` (with the file's size) or `failed` (with the error).
//! Its file lives at [`ProfileRow::file`], relative to the data directory, and gets that name
//! only when complete (the inspector crate writes `NAME.part`, fsyncs and renames).
//!
//! The table is created by [`init`], which `heapscope serve` calls on start (the profiles
//! are the console's; `heapscope watch` writes its captures as plain files).

use rusqlite::{params, Connection, OptionalExtension, Row};

/// Which profiler recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Profiler.start`/`stop`: time per function, `.cpuprofile`.
    Cpu,
    /// `HeapProfiler.startSampling`/`stopSampling`: sampled allocations, `.heapprofile`.
    Heap,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Heap => "heap",
        }
    }

    /// The file extension DevTools expects for this kind.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Cpu => "cpuprofile",
            Kind::Heap => "heapprofile",
        }
    }

    fn parse(text: &str) -> Kind {
        // The CHECK constraint admits only these two.
        if text == "heap" {
            Kind::Heap
        } else {
            Kind::Cpu
        }
    }
}

/// Where a profile is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Recording,
    Ready,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Recording => "recording",
            Status::Ready => "ready",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "recording" => Status::Recording,
            "ready" => Status::Ready,
            _ => Status::Failed,
        }
    }
}

/// One row of `profiles`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub id: i64,
    pub kind: Kind,
    pub name: String,
    /// Path of the file relative to the data directory.
    pub file: String,
    /// Bytes on disk (0 until ready).
    pub size: u64,
    /// Unix milliseconds when the recording started.
    pub started_ms: i64,
    /// How long it records.
    pub duration_ms: i64,
    /// The watched process (`processes.id`) it was recorded from, if it is still stored.
    pub process_id: Option<i64>,
    /// A description of the process: `pid 4121 (billing)`.
    pub source: String,
    pub status: Status,
    pub error: Option<String>,
}

/// Creates the table if needed and fails recordings a previous server left running (their
/// partial files are the caller's to remove).
pub fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS profiles (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('cpu', 'heap')),
            name TEXT NOT NULL,
            file TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            started_ms INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            process_id INTEGER REFERENCES processes (id) ON DELETE SET NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('recording', 'ready', 'failed')),
            error TEXT
        );",
    )?;
    conn.execute(
        "UPDATE profiles SET status = 'failed',
             error = 'the recording was interrupted (the server stopped)'
         WHERE status = 'recording'",
        [],
    )?;
    Ok(())
}

/// What a new recording is.
pub struct NewProfile<'a> {
    pub kind: Kind,
    pub name: &'a str,
    pub started_ms: i64,
    pub duration_ms: i64,
    pub process_id: Option<i64>,
    pub source: &'a str,
}

/// Creates a row in `recording` state, its file named `profiles/<id>.<extension>`.
pub fn create(conn: &Connection, new: &NewProfile<'_>) -> rusqlite::Result<ProfileRow> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO profiles (kind, name, file, started_ms, duration_ms, process_id, source, status)
         VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, 'recording')",
        params![
            new.kind.as_str(),
            new.name,
            new.started_ms,
            new.duration_ms,
            new.process_id,
            new.source
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE profiles SET file = ?1 WHERE id = ?2",
        params![format!("profiles/{id}.{}", new.kind.extension()), id],
    )?;
    tx.commit()?;
    get(conn, id).map(|r| r.expect("the row just inserted"))
}

/// The recording is complete under its final name.
pub fn set_ready(conn: &Connection, id: i64, size: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE profiles SET status = 'ready', size = ?1, error = NULL WHERE id = ?2",
        params![size as i64, id],
    )?;
    Ok(())
}

pub fn set_failed(conn: &Connection, id: i64, error: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE profiles SET status = 'failed', error = ?1 WHERE id = ?2",
        params![error, id],
    )?;
    Ok(())
}

const COLUMNS: &str =
    "id, kind, name, file, size, started_ms, duration_ms, process_id, source, status, error";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ProfileRow> {
    Ok(ProfileRow {
        id: r.get(0)?,
        kind: Kind::parse(&r.get::<_, String>(1)?),
        name: r.get(2)?,
        file: r.get(3)?,
        size: r.get::<_, i64>(4)?.max(0) as u64,
        started_ms: r.get(5)?,
        duration_ms: r.get(6)?,
        process_id: r.get(7)?,
        source: r.get(8)?,
        status: Status::parse(&r.get::<_, String>(9)?),
        error: r.get(10)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<ProfileRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM profiles WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// All profiles, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ProfileRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM profiles ORDER BY id DESC"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// Deletes the row; returns it (its file is the caller's to remove).
pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<Option<ProfileRow>> {
    let Some(row) = get(conn, id)? else {
        return Ok(None);
    };
    conn.execute("DELETE FROM profiles WHERE id = ?1", [id])?;
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn a_recording_becomes_ready_or_fails_and_an_interrupted_one_fails_on_reopen() {
        let dir = std::env::temp_dir().join(format!(
            "heapscope-store-profiles-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let store = Store::open(&dir).unwrap();
        store.with_conn(init).unwrap();
        let new = |kind| NewProfile {
            kind,
            name: "billing-cpu",
            started_ms: 1000,
            duration_ms: 10_000,
            process_id: None,
            source: "pid 1 (billing)",
        };
        let cpu = store.with_conn(|c| create(c, &new(Kind::Cpu))).unwrap();
        assert_eq!(cpu.file, format!("profiles/{}.cpuprofile", cpu.id));
        assert_eq!(cpu.status, Status::Recording);
        store.with_conn(|c| set_ready(c, cpu.id, 42)).unwrap();
        let heap = store.with_conn(|c| create(c, &new(Kind::Heap))).unwrap();
        assert_eq!(heap.file, format!("profiles/{}.heapprofile", heap.id));
        let left = store.with_conn(|c| create(c, &new(Kind::Cpu))).unwrap();
        store
            .with_conn(|c| set_failed(c, heap.id, "the target exited"))
            .unwrap();
        drop(store);

        let store = Store::open(&dir).unwrap();
        store.with_conn(init).unwrap();
        let rows = store.with_conn(list).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.id, r.status)).collect::<Vec<_>>(),
            vec![
                (left.id, Status::Failed),
                (heap.id, Status::Failed),
                (cpu.id, Status::Ready)
            ]
        );
        assert!(rows[0].error.as_deref().unwrap().contains("interrupted"));
        assert_eq!(rows[2].size, 42);
        assert_eq!(
            store
                .with_conn(|c| delete(c, cpu.id))
                .unwrap()
                .map(|r| r.id),
            Some(cpu.id)
        );
        assert!(store.with_conn(|c| get(c, cpu.id)).unwrap().is_none());
        std::fs::remove_dir_all(dir).ok();
    }
}
