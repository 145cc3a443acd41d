//! Keeping the samples table from growing without end: full resolution for the most recent
//! hour, then one minute per bucket up to a day, ten minutes per bucket beyond, and nothing
//! older than the retention period (`heapscope watch --retain`, 30 days by default).
//!
//! Downsampling keeps, per process, metric and bucket, the row with the **lowest** and the
//! row with the **highest** value (at their own times; one row when they coincide), so a
//! chart of the thinned range still shows every peak and every trough — a heap spike a
//! minute long is not averaged away, and heap after GC keeps its floor. Taking min and max
//! is also what makes the tiers compose: the ten-minute bucket's extremes are among the
//! one-minute buckets' extremes, so thinning twice equals thinning once.
//!
//! Each tier remembers how far it has thinned (`retention_state`), so a run only touches the
//! rows that aged into a tier since the last one; buckets are aligned to the epoch and only
//! complete ones are thinned, so runs at any times agree. Every statement is a range of the
//! samples' primary key `(process_id, metric_id, ts_ms)`, one series at a time, and each
//! process is its own transaction, so a watcher inserting meanwhile waits milliseconds.
//! Alerts and process rows are kept: they are few, and captures refer to them.
//!
//! [`apply`] is what `heapscope watch` runs every ten minutes and what `serve` can call.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

/// Created by the first run rather than on open: a store that is never thinned needs none.
fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS retention_state (
             tier          TEXT PRIMARY KEY,
             done_until_ms INTEGER NOT NULL
         );",
    )
}

/// How long samples are kept, and at what resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Samples younger than this keep every row.
    pub full_resolution: Duration,
    /// Samples younger than this (and older than `full_resolution`) keep min and max per
    /// minute; older ones min and max per ten minutes.
    pub per_minute: Duration,
    /// Samples older than this are deleted.
    pub retain: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            full_resolution: Duration::from_secs(3600),
            per_minute: Duration::from_secs(86_400),
            retain: Duration::from_secs(30 * 86_400),
        }
    }
}

impl RetentionPolicy {
    /// The default tiers with another retention period. Tiers longer than the period are
    /// cut to it (with `--retain 2h` nothing is kept past two hours, at any resolution).
    pub fn retaining(retain: Duration) -> Self {
        let d = RetentionPolicy::default();
        RetentionPolicy {
            full_resolution: d.full_resolution.min(retain),
            per_minute: d.per_minute.min(retain),
            retain,
        }
    }
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Rows removed by downsampling.
    pub thinned: u64,
    /// Rows deleted for being older than the retention period.
    pub expired: u64,
    pub elapsed: Duration,
}

const MINUTE_MS: i64 = 60_000;
const TEN_MINUTES_MS: i64 = 600_000;

/// Thins and expires the samples as `policy` says, as of `now_ms`.
pub fn apply(
    conn: &Connection,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> rusqlite::Result<RetentionReport> {
    let started = Instant::now();
    init(conn)?;
    let ms = |d: Duration| d.as_millis().min(i64::MAX as u128) as i64;
    let cutoff = now_ms.saturating_sub(ms(policy.retain));
    // Each tier thins whole buckets from where it stopped last time up to its boundary.
    let tiers = [
        (
            "minute",
            MINUTE_MS,
            align_down(now_ms.saturating_sub(ms(policy.full_resolution)), MINUTE_MS),
        ),
        (
            "ten_minutes",
            TEN_MINUTES_MS,
            align_down(now_ms.saturating_sub(ms(policy.per_minute)), TEN_MINUTES_MS),
        ),
    ];
    let mut ranges = Vec::new();
    for (tier, bucket, until) in tiers {
        let done = done_until(conn, tier)?.unwrap_or(i64::MIN);
        let from = align_down(done.max(cutoff), bucket);
        ranges.push((tier, bucket, from, until));
    }
    let metric_ids: Vec<i64> = conn
        .prepare("SELECT id FROM metric_names")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let process_ids: Vec<i64> = conn
        .prepare("SELECT id FROM processes")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut report = RetentionReport::default();
    for process_id in process_ids {
        let tx = conn.unchecked_transaction()?;
        {
            let mut expire = tx.prepare_cached(
                "DELETE FROM samples WHERE process_id = ?1 AND metric_id = ?2 AND ts_ms < ?3",
            )?;
            let mut thin = tx.prepare_cached(THIN)?;
            for &metric_id in &metric_ids {
                report.expired += expire.execute(params![process_id, metric_id, cutoff])? as u64;
                for &(_, bucket, from, until) in &ranges {
                    if from < until {
                        report.thinned += thin
                            .execute(params![process_id, metric_id, from, until, bucket])?
                            as u64;
                    }
                }
            }
        }
        tx.commit()?;
    }
    for (tier, _, from, until) in ranges {
        if from < until {
            conn.execute(
                "INSERT INTO retention_state (tier, done_until_ms) VALUES (?1, ?2)
                 ON CONFLICT (tier) DO UPDATE SET done_until_ms = max(done_until_ms, ?2)",
                params![tier, until],
            )?;
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Deletes, in one series and time range, every row but each bucket's lowest and highest
/// value (the earliest of equals). `?5` is the bucket width in milliseconds.
const THIN: &str = "DELETE FROM samples
    WHERE process_id = ?1 AND metric_id = ?2 AND ts_ms >= ?3 AND ts_ms < ?4
      AND ts_ms NOT IN (
        SELECT ts_ms FROM (
          SELECT ts_ms,
                 row_number() OVER (PARTITION BY ts_ms / ?5 ORDER BY value DESC, ts_ms) AS top,
                 row_number() OVER (PARTITION BY ts_ms / ?5 ORDER BY value ASC, ts_ms) AS bottom
          FROM samples
          WHERE process_id = ?1 AND metric_id = ?2 AND ts_ms >= ?3 AND ts_ms < ?4)
        WHERE top = 1 OR bottom = 1)";

fn done_until(conn: &Connection, tier: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT done_until_ms FROM retention_state WHERE tier = ?1",
        [tier],
        |r| r.get(0),
    )
    .optional()
}

/// Floors `ms` to a multiple of `bucket` (timestamps are after 1970, but stay exact below).
fn align_down(ms: i64, bucket: i64) -> i64 {
    ms.div_euclid(bucket) * bucket
}

/// `30d`, `12h`, `2w`, `90m`: a retention period (at least an hour, so the
/// full-resolution tier is not cut below what a chart of the last hour needs).
pub fn parse_retain(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a retention period (like 30d, 12h, 2w)"))?;
    let secs = match unit.trim() {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "" => return Err(format!("`{text}` needs a unit (m, h, d or w)")),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use m, h, d or w)"
            ))
        }
    };
    let d = Duration::from_secs(n.saturating_mul(secs));
    if d < Duration::from_secs(3600) {
        return Err(format!("`{text}` is under an hour"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{insert_sample, samples, upsert_process, ProcessInfo};
    use crate::Store;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// A fixed "now", a multiple of ten minutes plus a little.
    const NOW: i64 = 1_795_617_000_000 + 17_000;

    fn temp_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("heapscope-retention-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir).unwrap(), dir)
    }

    /// One process sampled every 5 s from `NOW - span` to `NOW`: `heap` follows a sawtooth
    /// (0..36), with a spike of 999 at `spike_ms`; `rss` is constant. Inserted in one
    /// transaction: a commit per sample would make the test minutes long.
    fn fill(conn: &Connection, span: i64, spike_ms: i64) -> i64 {
        let p = upsert_process(
            conn,
            &ProcessInfo {
                pid: 1,
                started_ms: NOW - span,
                app: "api".into(),
                command_line: "node api.js".into(),
                inspector: "127.0.0.1:9229".into(),
            },
            NOW - span,
        )
        .unwrap();
        insert_sample(conn, p, 0, &[("heap".into(), 0.0), ("rss".into(), 0.0)]).unwrap();
        let id = |name: &str| -> i64 {
            conn.query_row("SELECT id FROM metric_names WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .unwrap()
        };
        let (heap, rss) = (id("heap"), id("rss"));
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT OR REPLACE INTO samples VALUES (?1, ?2, ?3, ?4)")
                .unwrap();
            let mut t = NOW - span;
            while t <= NOW {
                let value = if t == spike_ms {
                    999.0
                } else {
                    ((t / 5000) % 37) as f64
                };
                insert.execute(params![p, heap, t, value]).unwrap();
                insert.execute(params![p, rss, t, 5.0]).unwrap();
                t += 5000;
            }
        }
        tx.commit().unwrap();
        p
    }

    fn series(conn: &Connection, p: i64, metric: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        samples(conn, p, &[metric], from, to)
            .unwrap()
            .into_iter()
            .map(|s| (s.ts_ms, s.value))
            .collect()
    }

    /// Rows per bucket of `width` ms in `[from, to)`.
    fn max_per_bucket(rows: &[(i64, f64)], width: i64) -> usize {
        let mut counts = std::collections::HashMap::new();
        for (t, _) in rows {
            *counts.entry(t.div_euclid(width)).or_insert(0usize) += 1;
        }
        counts.values().copied().max().unwrap_or(0)
    }

    #[test]
    fn tiers_thin_to_min_and_max_and_expire_past_retention() {
        let (store, dir) = temp_store("tiers");
        store
            .with_conn(|c| {
                // Three days of samples, retention two days; a spike 5 hours ago.
                let spike = NOW - 5 * HOUR + 5000 * 7;
                let p = fill(c, 3 * DAY, spike);
                let before_last_hour = series(c, p, "heap", NOW - HOUR, NOW + 1).len();
                let policy = RetentionPolicy::retaining(Duration::from_secs(2 * 86_400));
                let report = apply(c, &policy, NOW)?;
                assert!(report.expired > 0 && report.thinned > 0, "{report:?}");

                // Nothing older than the retention period.
                assert!(series(c, p, "heap", 0, NOW - 2 * DAY).is_empty());
                // The last hour untouched.
                let recent = series(c, p, "heap", NOW - HOUR, NOW + 1);
                assert_eq!(recent.len(), before_last_hour);
                // Up to a day: at most two rows a minute, and the spike survives.
                let day = series(c, p, "heap", NOW - DAY + MINUTE_MS, NOW - HOUR - MINUTE_MS);
                assert!(max_per_bucket(&day, MINUTE_MS) <= 2);
                assert!(day.len() > 23 * 60, "{}", day.len());
                assert!(day.contains(&(spike, 999.0)));
                // Each minute kept its extremes: the sawtooth's 0..36 over 12 samples a
                // minute has a min and a max per minute.
                let minute_of_spike: Vec<f64> = day
                    .iter()
                    .filter(|(t, _)| t.div_euclid(MINUTE_MS) == spike.div_euclid(MINUTE_MS))
                    .map(|&(_, v)| v)
                    .collect();
                assert_eq!(minute_of_spike.len(), 2, "{minute_of_spike:?}");
                // Beyond a day: at most two rows per ten minutes.
                let old = series(c, p, "heap", NOW - 2 * DAY, NOW - DAY - TEN_MINUTES_MS);
                assert!(max_per_bucket(&old, TEN_MINUTES_MS) <= 2);
                assert!(!old.is_empty());
                // A constant series keeps one row per bucket (min and max are the same row).
                let rss = series(c, p, "rss", NOW - 2 * DAY, NOW - DAY - TEN_MINUTES_MS);
                assert_eq!(max_per_bucket(&rss, TEN_MINUTES_MS), 1);

                // Running again changes nothing; ten minutes later only the new stretch.
                let again = apply(c, &policy, NOW)?;
                assert_eq!((again.thinned, again.expired), (0, 0));
                let later = apply(c, &policy, NOW + 10 * MINUTE_MS)?;
                // Ten minutes aged out of the full-resolution hour: 120 samples of each
                // metric became at most 20.
                assert!(
                    later.thinned >= 2 * 100 && later.thinned <= 2 * 120,
                    "{later:?}"
                );
                Ok(())
            })
            .unwrap();
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn retention_periods_parse_with_units() {
        assert_eq!(parse_retain("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_retain("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_retain("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_retain("30").unwrap_err().contains("needs a unit"));
        assert!(parse_retain("10m").unwrap_err().contains("under an hour"));
        assert!(parse_retain("3y").unwrap_err().contains("unknown unit `y`"));
        let short = RetentionPolicy::retaining(Duration::from_secs(7200));
        assert_eq!(short.per_minute, Duration::from_secs(7200));
    }
}
