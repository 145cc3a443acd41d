//! Shared by the commands that compare snapshots (`diff`, `trend`, and the three-snapshot
//! `leaks`): loading a snapshot only for its id index or id set, signed numbers, sparklines, and
//! retaining paths on one line.

use std::path::Path;

use anyhow::Result;
use heapscope_analysis::compare::{IdIndex, IdSet};
use heapscope_analysis::views::{edge_label, RetainingPath};
use heapscope_analysis::Analysis;

use crate::format::{count, size};
use crate::load;

/// Loads and analyses a snapshot and keeps only its id index: the full graph is dropped
/// before the caller loads the next snapshot, so comparing N snapshots never holds more
/// than one graph.
pub fn load_id_index(path: &Path) -> Result<IdIndex> {
    let a = load::analyze(path)?;
    Ok(IdIndex::new(&a))
}

/// Parses a snapshot and keeps only its ids and what each object is, without analysing it:
/// enough for BASELINE and TARGET of the three-snapshot technique
/// (`compare::find_leak_clusters`).
pub fn load_id_set(path: &Path) -> Result<IdSet> {
    let raw = load::read_snapshot(path)?;
    Ok(IdSet::new(&raw))
}

/// `+1,234` / `-56` / `0`.
pub fn signed_count(v: i64) -> String {
    match v.signum() {
        1 => format!("+{}", count(v as u64)),
        -1 => format!("-{}", count(v.unsigned_abs())),
        _ => "0".into(),
    }
}

/// `+1.2 MB` / `-340 B` / `0 B`.
pub fn signed_size(v: i64) -> String {
    match v.signum() {
        1 => format!("+{}", size(v as u64)),
        -1 => format!("-{}", size(v.unsigned_abs())),
        _ => "0 B".into(),
    }
}

/// A sparkline of the values with Unicode block characters, scaled from the row's
/// minimum to its maximum (a flat row is all `▁`).
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(&lo), Some(&hi)) = (values.iter().min(), values.iter().max()) else {
        return String::new();
    };
    values
        .iter()
        .map(|&v| {
            if hi == lo {
                BARS[0]
            } else {
                let level = ((v - lo) as f64 / (hi - lo) as f64 * 7.0).round() as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// `(GC roots) → global @6049 .app → Object @84737 .cache → Map @79987`.
pub fn path_line(a: &Analysis, path: &RetainingPath) -> String {
    let mut line = String::from("(GC roots)");
    for (i, &node) in path.nodes.iter().enumerate() {
        line.push_str(&format!(" → {} @{}", a.class_name(node), a.graph.id(node)));
        if let Some(&e) = path.edges.get(i) {
            line.push(' ');
            line.push_str(&edge_label(a, e));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_per_row() {
        assert_eq!(sparkline(&[200, 400, 600, 800]), "▁▃▆█");
        assert_eq!(sparkline(&[5, 5, 5]), "▁▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn signed_numbers() {
        assert_eq!(signed_count(1234), "+1,234");
        assert_eq!(signed_count(-5), "-5");
        assert_eq!(signed_size(-2_500_000), "-2.5 MB");
        assert_eq!(signed_size(0), "0 B");
    }
}
