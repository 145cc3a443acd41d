//! Watched processes, their metric samples and alerts (written by `heapscope watch`, charted
//! by the web console).
//!
//! Samples are stored long, one row per (process, metric, time), because the set of metrics
//! is open-ended (one per V8 heap space and per libuv resource type the target happens to
//! have) and a chart asks for a few metrics of one process over a time range: the primary
//! key `(process_id, metric_id, ts_ms)` makes that one index range scan. Metric names are
//! interned in `metric_names` so the many sample rows carry a small integer, not the text.
//!
//! A process is identified by its pid *and* its start time (`started_ms`), so a restarted
//! service that got its old pid back is a new row, while watching the same process again
//! later continues its row.

use rusqlite::{params, Connection, OptionalExtension};

pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS processes (
             id            INTEGER PRIMARY KEY,
             pid           INTEGER NOT NULL,
             started_ms    INTEGER NOT NULL,
             app           TEXT NOT NULL,
             command_line  TEXT NOT NULL,
             inspector     TEXT NOT NULL,
             first_seen_ms INTEGER NOT NULL,
             last_seen_ms  INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS processes_by_pid ON processes (pid, started_ms);
         CREATE TABLE IF NOT EXISTS metric_names (
             id   INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE
         );
         CREATE TABLE IF NOT EXISTS samples (
             process_id INTEGER NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
             metric_id  INTEGER NOT NULL REFERENCES metric_names (id),
             ts_ms      INTEGER NOT NULL,
             value      REAL NOT NULL,
             PRIMARY KEY (process_id, metric_id, ts_ms)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS alerts (
             id         INTEGER PRIMARY KEY,
             process_id INTEGER NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
             ts_ms      INTEGER NOT NULL,
             rule       TEXT NOT NULL,
             message    TEXT NOT NULL,
             action     TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS alerts_by_process ON alerts (process_id, ts_ms);",
    )
}

/// Start times of one process read at different moments differ by clock jitter
/// (`Date.now() - process.uptime()`); within this many milliseconds they are the same start.
const SAME_START_MS: i64 = 2000;

/// A watched process as identified by the watcher.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessInfo {
    pub pid: i64,
    /// When the process started (unix ms).
    pub started_ms: i64,
    /// A short name for the service (script or package name, or `--app`).
    pub app: String,
    pub command_line: String,
    /// `HOST:PORT` of its inspector.
    pub inspector: String,
}

/// A stored process.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRow {
    pub id: i64,
    pub info: ProcessInfo,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// One stored value.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplePoint {
    pub ts_ms: i64,
    pub metric: String,
    pub value: f64,
}

/// A rule that fired, and what was done about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub process_id: i64,
    pub ts_ms: i64,
    /// The rule as written (`heap_used / heap_limit > 0.7 => snapshot`).
    pub rule: String,
    pub message: String,
    /// What the action did (`snapshot /data/x.heapsnapshot`, `exec exited 0`, `log`).
    pub action: String,
}

/// The row of `info`'s process (same pid, same start), created if new; its `last_seen_ms`
/// and descriptive fields are refreshed. Returns the row id.
pub fn upsert_process(conn: &Connection, info: &ProcessInfo, now_ms: i64) -> rusqlite::Result<i64> {
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM processes WHERE pid = ?1 AND abs(started_ms - ?2) <= ?3
             ORDER BY id DESC LIMIT 1",
            params![info.pid, info.started_ms, SAME_START_MS],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        conn.execute(
            "UPDATE processes SET app = ?2, command_line = ?3, inspector = ?4,
                 last_seen_ms = max(last_seen_ms, ?5) WHERE id = ?1",
            params![id, info.app, info.command_line, info.inspector, now_ms],
        )?;
        return Ok(id);
    }
    conn.execute(
        "INSERT INTO processes (pid, started_ms, app, command_line, inspector, first_seen_ms, last_seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![info.pid, info.started_ms, info.app, info.command_line, info.inspector, now_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Stores one sample (all its metrics at `ts_ms`) in one transaction and marks the process
/// seen. Non-finite values are skipped: SQLite would store NaN as NULL.
pub fn insert_sample(
    conn: &Connection,
    process_id: i64,
    ts_ms: i64,
    metrics: &[(String, f64)],
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut intern =
            tx.prepare_cached("INSERT OR IGNORE INTO metric_names (name) VALUES (?1)")?;
        let mut lookup = tx.prepare_cached("SELECT id FROM metric_names WHERE name = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO samples (process_id, metric_id, ts_ms, value) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (name, value) in metrics.iter().filter(|(_, v)| v.is_finite()) {
            intern.execute([name])?;
            let metric_id: i64 = lookup.query_row([name], |r| r.get(0))?;
            insert.execute(params![process_id, metric_id, ts_ms, value])?;
        }
        tx.execute(
            "UPDATE processes SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1",
            params![process_id, ts_ms],
        )?;
    }
    tx.commit()
}

/// Records an alert; returns its id.
pub fn insert_alert(conn: &Connection, alert: &Alert) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO alerts (process_id, ts_ms, rule, message, action) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            alert.process_id,
            alert.ts_ms,
            alert.rule,
            alert.message,
            alert.action
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Every stored process, most recently seen first.
pub fn processes(conn: &Connection) -> rusqlite::Result<Vec<ProcessRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, pid, started_ms, app, command_line, inspector, first_seen_ms, last_seen_ms
         FROM processes ORDER BY last_seen_ms DESC, id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ProcessRow {
            id: r.get(0)?,
            info: ProcessInfo {
                pid: r.get(1)?,
                started_ms: r.get(2)?,
                app: r.get(3)?,
                command_line: r.get(4)?,
                inspector: r.get(5)?,
            },
            first_seen_ms: r.get(6)?,
            last_seen_ms: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Names of the metrics stored for a process, sorted.
pub fn metric_names(conn: &Connection, process_id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT n.name FROM samples s JOIN metric_names n ON n.id = s.metric_id
         WHERE s.process_id = ?1 ORDER BY n.name",
    )?;
    let rows = stmt.query_map([process_id], |r| r.get(0))?;
    rows.collect()
}

/// The values of `metrics` (all metrics when empty) for a process with
/// `from_ms <= ts_ms < to_ms`, ordered by metric then time: one series after the other,
/// ready to chart.
pub fn samples(
    conn: &Connection,
    process_id: i64,
    metrics: &[&str],
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<SamplePoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.ts_ms, n.name, s.value FROM samples s JOIN metric_names n ON n.id = s.metric_id
         WHERE s.process_id = ?1 AND n.name = ?2 AND s.ts_ms >= ?3 AND s.ts_ms < ?4
         ORDER BY s.ts_ms",
    )?;
    let names = if metrics.is_empty() {
        metric_names(conn, process_id)?
    } else {
        metrics.iter().map(|m| m.to_string()).collect()
    };
    let mut points = Vec::new();
    for name in &names {
        let rows = stmt.query_map(params![process_id, name, from_ms, to_ms], |r| {
            Ok(SamplePoint {
                ts_ms: r.get(0)?,
                metric: r.get(1)?,
                value: r.get(2)?,
            })
        })?;
        for row in rows {
            points.push(row?);
        }
    }
    Ok(points)
}

/// Alerts of a process (every process when `None`) with `from_ms <= ts_ms < to_ms`, oldest
/// first.
pub fn alerts(
    conn: &Connection,
    process_id: Option<i64>,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<Alert>> {
    let mut stmt = conn.prepare(
        "SELECT process_id, ts_ms, rule, message, action FROM alerts
         WHERE (?1 IS NULL OR process_id = ?1) AND ts_ms >= ?2 AND ts_ms < ?3
         ORDER BY ts_ms, id",
    )?;
    let rows = stmt.query_map(params![process_id, from_ms, to_ms], |r| {
        Ok(Alert {
            process_id: r.get(0)?,
            ts_ms: r.get(1)?,
            rule: r.get(2)?,
            message: r.get(3)?,
            action: r.get(4)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn temp_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("heapscope-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir).unwrap(), dir)
    }

    fn info(pid: i64, started_ms: i64) -> ProcessInfo {
        ProcessInfo {
            pid,
            started_ms,
            app: "billing".into(),
            command_line: "node billing/index.js".into(),
            inspector: "127.0.0.1:9229".into(),
        }
    }

    #[test]
    fn a_process_is_its_pid_and_start_time() {
        let (store, dir) = temp_store("processes");
        store
            .with_conn(|c| {
                let a = upsert_process(c, &info(42, 1_000_000), 1_000_500)?;
                // The same process seen again, its start time read with a little jitter.
                let again = upsert_process(c, &info(42, 1_000_700), 2_000_000)?;
                assert_eq!(a, again);
                // Same pid, started later: a restarted service.
                let restarted = upsert_process(c, &info(42, 5_000_000), 5_000_100)?;
                assert_ne!(a, restarted);
                let rows = processes(c)?;
                assert_eq!(rows.len(), 2);
                assert_eq!(rows[0].id, restarted);
                assert_eq!(
                    (rows[1].first_seen_ms, rows[1].last_seen_ms),
                    (1_000_500, 2_000_000)
                );
                Ok(())
            })
            .unwrap();
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn samples_come_back_by_metric_and_time_range() {
        let (store, dir) = temp_store("samples");
        store
            .with_conn(|c| {
                let p = upsert_process(c, &info(7, 0), 0)?;
                for (i, t) in [1000, 2000, 3000].into_iter().enumerate() {
                    let metrics = vec![
                        ("heap_used_bytes".to_string(), 10.0 * (i + 1) as f64),
                        ("rss_bytes".to_string(), 100.0),
                        ("resources_timeout".to_string(), f64::NAN),
                    ];
                    insert_sample(c, p, t, &metrics)?;
                }
                let heap = samples(c, p, &["heap_used_bytes"], 1500, 3001)?;
                assert_eq!(
                    heap.iter().map(|s| (s.ts_ms, s.value)).collect::<Vec<_>>(),
                    vec![(2000, 20.0), (3000, 30.0)]
                );
                assert_eq!(metric_names(c, p)?, vec!["heap_used_bytes", "rss_bytes"]);
                assert_eq!(samples(c, p, &[], 0, i64::MAX)?.len(), 6);
                assert_eq!(processes(c)?[0].last_seen_ms, 3000);
                Ok(())
            })
            .unwrap();
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn alerts_are_kept_per_process() {
        let (store, dir) = temp_store("alerts");
        store
            .with_conn(|c| {
                let p = upsert_process(c, &info(1, 0), 0)?;
                let q = upsert_process(c, &info(2, 0), 0)?;
                let alert = |process_id, ts_ms| Alert {
                    process_id,
                    ts_ms,
                    rule: "heap_used > 1MB => snapshot".into(),
                    message: "heap_used is 2 MB".into(),
                    action: "snapshot /tmp/x.heapsnapshot".into(),
                };
                insert_alert(c, &alert(p, 10))?;
                insert_alert(c, &alert(q, 20))?;
                assert_eq!(alerts(c, Some(p), 0, 100)?, vec![alert(p, 10)]);
                assert_eq!(alerts(c, None, 0, 100)?.len(), 2);
                assert!(alerts(c, None, 11, 20)?.is_empty());
                Ok(())
            })
            .unwrap();
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
