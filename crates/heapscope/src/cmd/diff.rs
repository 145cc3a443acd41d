//! `heapscope diff BASE CURRENT`: DevTools' Comparison view — per class the objects new in
//! CURRENT and deleted since BASE, matched by object id — plus each class's retained-size
//! delta, the new objects of one class (`--class`), and a CI gate (`--fail-on`).
//!
//! BASE is loaded first and reduced to its id index before CURRENT is loaded, so only one
//! full graph is in memory at a time.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_analysis::compare::{self, ClassDiff, Comparison, IdIndex, ProcessCheck};
use heapscope_analysis::Analysis;
use serde::Serialize;

use crate::cmd::series::{load_id_index, signed_count, signed_size};
use crate::cmd::summary::NameFilter;
use crate::format::{count, distance, size, truncate};
use crate::gate::{self, GateResult, Threshold};
use crate::load;

/// Metrics `diff --fail-on` knows, whole heap or `class:NAME`.
const METRICS: &[&str] = &[
    "count-growth",
    "size-growth",
    "retained-growth",
    "new-count",
    "new-size",
];

fn parse_threshold(s: &str) -> Result<Threshold, String> {
    Threshold::parse(s, METRICS)
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DiffSort {
    /// Size delta (shallow), largest growth first.
    SizeDelta,
    /// Retained-size delta, largest growth first.
    RetainedDelta,
    /// Count delta, largest growth first.
    Delta,
    /// Number of new objects.
    New,
    /// Number of deleted objects.
    Deleted,
    /// Allocated (new objects') size.
    Alloc,
    /// Freed (deleted objects') size.
    Freed,
    Name,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub base: PathBuf,
    /// The later snapshot of the same process.
    pub current: PathBuf,
    /// Column to sort by.
    #[arg(long, value_enum, default_value = "size-delta")]
    pub sort: DiffSort,
    /// Keep classes whose name contains this text, or matches it as /regex/.
    #[arg(long)]
    pub filter: Option<String>,
    /// List the new objects of the classes with this name (or class key).
    #[arg(long)]
    pub class: Option<String>,
    /// Show at most this many rows (0 = all).
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit code 1) when a threshold is exceeded: `retained-growth>10MB`,
    /// `class:Socket count-growth>100`; metrics: count-growth, size-growth,
    /// retained-growth, new-count, new-size. Repeatable.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = parse_threshold)]
    pub fail_on: Vec<Threshold>,
}

#[derive(Serialize)]
struct SnapshotJson {
    file: String,
    node_count: usize,
    total_size: u64,
    max_js_id: u32,
}

#[derive(Serialize)]
struct ProcessJson<'a> {
    ids_comparable: bool,
    common_ids: u64,
    class_mismatches: u64,
    problem: Option<&'a str>,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    key: &'a str,
    name: &'a str,
    new_count: u64,
    deleted_count: u64,
    count_delta: i64,
    alloc_size: u64,
    freed_size: u64,
    size_delta: i64,
    retained_delta: i64,
    base_count: u64,
    current_count: u64,
    base_retained_size: u64,
    current_retained_size: u64,
}

#[derive(Serialize)]
struct NewObjectJson {
    id: u32,
    class_key: String,
    self_size: u32,
    retained_size: u64,
    distance: i32,
}

#[derive(Serialize)]
struct DiffJson<'a> {
    base: SnapshotJson,
    current: SnapshotJson,
    process: ProcessJson<'a>,
    /// Whether objects were matched by id; when false, only class counts and sizes.
    matched_by_id: bool,
    total_size_delta: i64,
    class_count: usize,
    classes: Vec<ClassJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_objects: Option<Vec<NewObjectJson>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gate: Vec<GateResult>,
}

pub fn run(args: &DiffArgs) -> Result<()> {
    let base = load_id_index(&args.base)?;
    let current_analysis = load::analyze(&args.current)?;
    let current = IdIndex::new(&current_analysis);
    let defs = compare::interface_definitions(&current_analysis);
    let diff = compare::compare(&base, &current, &defs);
    let by_id = diff.matched_by_id;

    let filter = args.filter.as_deref().map(NameFilter::parse).transpose()?;
    let mut rows: Vec<&ClassDiff> = diff
        .classes
        .iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f.matches(&c.name)))
        .collect();
    sort_rows(&mut rows, args.sort, by_id);
    let shown = if args.limit > 0 {
        &rows[..rows.len().min(args.limit)]
    } else {
        &rows[..]
    };
    let total_size_delta = current.total_size as i64 - base.total_size as i64;
    let (gate_results, tripped) =
        gate::evaluate(&args.fail_on, |t| metric(&diff, t, total_size_delta));
    let new_objects = args
        .class
        .as_deref()
        .map(|name| new_objects(&current_analysis, &diff, name));

    let mut out = std::io::stdout().lock();
    if args.json {
        let j = DiffJson {
            base: snapshot_json(&args.base, &base),
            current: snapshot_json(&args.current, &current),
            process: process_json(&diff.process),
            matched_by_id: by_id,
            total_size_delta,
            class_count: rows.len(),
            classes: shown.iter().map(|c| class_json(c, by_id)).collect(),
            new_objects: new_objects.map(|v| {
                let limit = if args.limit == 0 { v.len() } else { args.limit };
                v.into_iter().take(limit).collect()
            }),
            gate: gate_results,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
    } else {
        if let Some(problem) = &diff.process.problem {
            writeln!(
                out,
                "Object ids cannot be matched: {problem}.\nComparing per class counts and sizes only.\n"
            )?;
        }
        print_table(&mut out, shown, by_id)?;
        writeln!(
            out,
            "{} of {} classes changed · total size {} → {} ({})",
            count(shown.len() as u64),
            count(rows.len() as u64),
            size(base.total_size),
            size(current.total_size),
            signed_size(total_size_delta)
        )?;
        if let (Some(name), Some(objects)) = (&args.class, &new_objects) {
            print_new_objects(&mut out, name, objects, args.limit, by_id)?;
        }
        for r in gate_results.iter().filter(|r| !r.tripped) {
            writeln!(out, "--fail-on {}: ok", r.expression)?;
        }
    }
    out.flush()?;
    match tripped {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn sort_rows(rows: &mut [&ClassDiff], sort: DiffSort, by_id: bool) {
    rows.sort_by(|x, y| {
        let primary = match sort {
            DiffSort::SizeDelta => y.size_delta(by_id).cmp(&x.size_delta(by_id)),
            DiffSort::RetainedDelta => y.retained_delta().cmp(&x.retained_delta()),
            DiffSort::Delta => y.count_delta(by_id).cmp(&x.count_delta(by_id)),
            DiffSort::New => y.added_count.cmp(&x.added_count),
            DiffSort::Deleted => y.removed_count.cmp(&x.removed_count),
            DiffSort::Alloc => y.added_size.cmp(&x.added_size),
            DiffSort::Freed => y.removed_size.cmp(&x.removed_size),
            DiffSort::Name => x.name.cmp(&y.name),
        };
        primary.then_with(|| x.key.cmp(&y.key))
    });
}

/// The value of a `--fail-on` metric: for the whole heap, or summed over the classes named
/// `class:NAME` (0 when there are none).
fn metric(diff: &Comparison, t: &Threshold, total_size_delta: i64) -> f64 {
    let by_id = diff.matched_by_id;
    let classes = || {
        diff.classes
            .iter()
            .filter(|c| t.class.as_deref().is_none_or(|n| c.name == n || c.key == n))
    };
    let v: i64 = match t.metric.as_str() {
        "count-growth" => classes().map(|c| c.count_delta(by_id)).sum(),
        "size-growth" => classes().map(|c| c.size_delta(by_id)).sum(),
        "retained-growth" if t.class.is_none() => total_size_delta,
        "retained-growth" => classes().map(|c| c.retained_delta()).sum(),
        "new-count" => classes().map(|c| c.added_count as i64).sum(),
        "new-size" => classes().map(|c| c.added_size as i64).sum(),
        _ => 0,
    };
    v as f64
}

/// New objects of the classes named `name` (or with that key), largest retained first.
fn new_objects(a: &Analysis, diff: &Comparison, name: &str) -> Vec<NewObjectJson> {
    let mut v: Vec<NewObjectJson> = diff
        .classes
        .iter()
        .filter(|c| c.name == name || c.key == name)
        .flat_map(|c| {
            c.added.iter().map(|o| NewObjectJson {
                id: o.id,
                class_key: c.key.clone(),
                self_size: o.self_size,
                retained_size: a.retained[o.ordinal as usize],
                distance: a.distance[o.ordinal as usize],
            })
        })
        .collect();
    v.sort_by(|x, y| y.retained_size.cmp(&x.retained_size).then(x.id.cmp(&y.id)));
    v
}

fn snapshot_json(path: &std::path::Path, index: &IdIndex) -> SnapshotJson {
    SnapshotJson {
        file: path.display().to_string(),
        node_count: index.node_count,
        total_size: index.total_size,
        max_js_id: index.max_js_id,
    }
}

fn process_json(p: &ProcessCheck) -> ProcessJson<'_> {
    ProcessJson {
        ids_comparable: p.ids_comparable(),
        common_ids: p.common_ids,
        class_mismatches: p.class_mismatches,
        problem: p.problem.as_deref(),
    }
}

fn class_json(c: &ClassDiff, by_id: bool) -> ClassJson<'_> {
    ClassJson {
        key: &c.key,
        name: &c.name,
        new_count: c.added_count,
        deleted_count: c.removed_count,
        count_delta: c.count_delta(by_id),
        alloc_size: c.added_size,
        freed_size: c.removed_size,
        size_delta: c.size_delta(by_id),
        retained_delta: c.retained_delta(),
        base_count: c.base_count,
        current_count: c.current_count,
        base_retained_size: c.base_retained_size,
        current_retained_size: c.current_retained_size,
    }
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

fn print_table(out: &mut impl Write, rows: &[&ClassDiff], by_id: bool) -> Result<()> {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    if by_id {
        t.set_header(vec![
            "Constructor",
            "# New",
            "# Deleted",
            "# Delta",
            "Alloc. Size",
            "Freed Size",
            "Size Delta",
            "Retained Δ",
        ]);
    } else {
        t.set_header(vec![
            "Constructor",
            "Count",
            "# Delta",
            "Size Delta",
            "Retained Δ",
        ]);
    }
    for c in rows {
        let name = Cell::new(truncate(&c.name, 60));
        if by_id {
            t.add_row(vec![
                name,
                right(count(c.added_count)),
                right(count(c.removed_count)),
                right(signed_count(c.count_delta(true))),
                right(size(c.added_size)),
                right(size(c.removed_size)),
                right(signed_size(c.size_delta(true))),
                right(signed_size(c.retained_delta())),
            ]);
        } else {
            t.add_row(vec![
                name,
                right(format!(
                    "{} → {}",
                    count(c.base_count),
                    count(c.current_count)
                )),
                right(signed_count(c.count_delta(false))),
                right(signed_size(c.size_delta(false))),
                right(signed_size(c.retained_delta())),
            ]);
        }
    }
    writeln!(out, "{t}")?;
    Ok(())
}

fn print_new_objects(
    out: &mut impl Write,
    name: &str,
    objects: &[NewObjectJson],
    limit: usize,
    by_id: bool,
) -> Result<()> {
    if !by_id {
        writeln!(
            out,
            "\nNew objects of {name}: unknown (ids cannot be matched)."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "\nNew objects of {name} ({}):",
        count(objects.len() as u64)
    )?;
    if objects.is_empty() {
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Object", "Shallow Size", "Retained Size", "Distance"]);
    let limit = if limit == 0 { objects.len() } else { limit };
    for o in objects.iter().take(limit) {
        t.add_row(vec![
            Cell::new(format!("@{}", o.id)),
            right(size(o.self_size as u64)),
            right(size(o.retained_size)),
            right(distance(o.distance)),
        ]);
    }
    writeln!(out, "{t}")?;
    if objects.len() > limit {
        writeln!(
            out,
            "… {} more (--limit 0 for all)",
            count((objects.len() - limit) as u64)
        )?;
    }
    Ok(())
}
