//! `heapscope trend S1 S2 … SN`: growth across a series of snapshots of one process — per
//! class the count and sizes in each snapshot with sparklines and a flag for steady growth,
//! collections whose entry count keeps growing (with their paths), and objects that survive
//! every snapshot after their allocation. S1 … SN-1 are loaded one at a time and reduced to
//! id indexes; only SN is kept in full.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_analysis::compare::{self, ClassTrend, Trend, TrendOptions};
use heapscope_analysis::Analysis;
use serde::Serialize;

use crate::cmd::series::{load_id_index, path_line, signed_count, signed_size, sparkline};
use crate::cmd::summary::NameFilter;
use crate::format::{count, size, truncate};
use crate::gate::{self, GateResult, Threshold};
use crate::load;

/// Metrics `trend --fail-on` knows (first snapshot to last; whole heap or `class:NAME`).
const METRICS: &[&str] = &[
    "count-growth",
    "size-growth",
    "retained-growth",
    "growing-collections",
];

fn parse_threshold(s: &str) -> Result<Threshold, String> {
    Threshold::parse(s, METRICS)
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TrendSort {
    /// Retained size, last minus first.
    RetainedGrowth,
    /// Count, last minus first.
    CountGrowth,
    /// Shallow size, last minus first.
    SizeGrowth,
    Name,
}

#[derive(Args, Debug)]
pub struct TrendArgs {
    /// Three or more snapshots of one process, oldest first.
    #[arg(required = true, num_args = 3.., value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "retained-growth")]
    pub sort: TrendSort,
    /// Keep classes whose name contains this text, or matches it as /regex/.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only classes whose count rises from every snapshot to the next.
    #[arg(long)]
    pub growing: bool,
    /// Show at most this many rows per section (0 = all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Also report the runtime's long-lived internals (compiled code, system objects,
    /// modules, lists under V8's system roots) among survivors and growing collections.
    #[arg(long)]
    pub include_internals: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit code 1) when a threshold is exceeded: `retained-growth>10MB`,
    /// `class:RequestRecord count-growth>100`, `growing-collections>0`. Repeatable.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = parse_threshold)]
    pub fail_on: Vec<Threshold>,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    key: &'a str,
    name: &'a str,
    counts: &'a [u64],
    self_sizes: &'a [u64],
    retained_sizes: &'a [u64],
    count_grows: bool,
    retained_grows: bool,
}

#[derive(Serialize)]
struct CollectionJson {
    id: u32,
    kind: &'static str,
    class_name: String,
    entries: Vec<Option<u32>>,
    retained_size: u64,
    path: Option<String>,
}

#[derive(Serialize)]
struct SurvivorJson<'a> {
    name: &'a str,
    count: u64,
    by_first_snapshot: &'a [u64],
    retained_size: u64,
}

#[derive(Serialize)]
struct TrendJson<'a> {
    snapshots: Vec<String>,
    total_sizes: Vec<u64>,
    ids_comparable: bool,
    problem: Option<&'a str>,
    class_count: usize,
    classes: Vec<ClassJson<'a>>,
    growing_collections: Vec<CollectionJson>,
    survivors: Vec<SurvivorJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gate: Vec<GateResult>,
}

pub fn run(args: &TrendArgs) -> Result<()> {
    let (last_path, earlier_paths) = args
        .snapshots
        .split_last()
        .expect("clap requires three or more snapshots");
    let mut earlier = Vec::with_capacity(earlier_paths.len());
    for p in earlier_paths {
        earlier.push(load_id_index(p)?);
    }
    let last = load::analyze(last_path)?;
    let options = TrendOptions {
        include_internals: args.include_internals,
    };
    let t = compare::trend(&earlier, &last, &options);
    let mut total_sizes: Vec<u64> = earlier.iter().map(|e| e.total_size).collect();
    total_sizes.push(last.statistics.total);
    drop(earlier);

    let filter = args.filter.as_deref().map(NameFilter::parse).transpose()?;
    let mut rows: Vec<&ClassTrend> = t
        .classes
        .iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f.matches(&c.name)))
        .filter(|c| !args.growing || c.count_grows())
        .collect();
    sort_rows(&mut rows, args.sort);
    let limit = |n: usize| {
        if args.limit == 0 {
            n
        } else {
            n.min(args.limit)
        }
    };
    let shown = &rows[..limit(rows.len())];
    let (gate_results, tripped) = gate::evaluate(&args.fail_on, |th| metric(&t, th, &total_sizes));

    let mut out = std::io::stdout().lock();
    if args.json {
        let j = TrendJson {
            snapshots: args
                .snapshots
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            total_sizes,
            ids_comparable: t.problem.is_none(),
            problem: t.problem.as_deref(),
            class_count: rows.len(),
            classes: shown
                .iter()
                .map(|c| ClassJson {
                    key: &c.key,
                    name: &c.name,
                    counts: &c.counts,
                    self_sizes: &c.self_sizes,
                    retained_sizes: &c.retained_sizes,
                    count_grows: c.count_grows(),
                    retained_grows: c.retained_grows(),
                })
                .collect(),
            growing_collections: t.growing_collections[..limit(t.growing_collections.len())]
                .iter()
                .map(|g| CollectionJson {
                    id: g.id,
                    kind: g.kind.label(),
                    class_name: g.class_name.clone(),
                    entries: g.entries.clone(),
                    retained_size: g.retained_size,
                    path: g.path.as_ref().map(|p| path_line(&last, p)),
                })
                .collect(),
            survivors: t.survivors[..limit(t.survivors.len())]
                .iter()
                .map(|s| SurvivorJson {
                    name: &s.name,
                    count: s.count,
                    by_first_snapshot: &s.by_first_snapshot,
                    retained_size: s.retained_size,
                })
                .collect(),
            gate: gate_results,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
    } else {
        print_text(
            &mut out,
            args,
            &t,
            &last,
            shown,
            rows.len(),
            &total_sizes,
            &gate_results,
        )?;
    }
    out.flush()?;
    match tripped {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn growth(v: &[u64]) -> i64 {
    v[v.len() - 1] as i64 - v[0] as i64
}

fn sort_rows(rows: &mut [&ClassTrend], sort: TrendSort) {
    rows.sort_by(|x, y| {
        let primary = match sort {
            TrendSort::RetainedGrowth => growth(&y.retained_sizes).cmp(&growth(&x.retained_sizes)),
            TrendSort::CountGrowth => growth(&y.counts).cmp(&growth(&x.counts)),
            TrendSort::SizeGrowth => growth(&y.self_sizes).cmp(&growth(&x.self_sizes)),
            TrendSort::Name => x.name.cmp(&y.name),
        };
        primary.then_with(|| x.key.cmp(&y.key))
    });
}

/// A `--fail-on` metric from the first snapshot to the last.
fn metric(t: &Trend, th: &Threshold, total_sizes: &[u64]) -> f64 {
    let classes = || {
        t.classes.iter().filter(|c| {
            th.class
                .as_deref()
                .is_none_or(|n| c.name == n || c.key == n)
        })
    };
    let v: i64 = match th.metric.as_str() {
        "count-growth" => classes().map(|c| growth(&c.counts)).sum(),
        "size-growth" => classes().map(|c| growth(&c.self_sizes)).sum(),
        "retained-growth" if th.class.is_none() => growth(total_sizes),
        "retained-growth" => classes().map(|c| growth(&c.retained_sizes)).sum(),
        "growing-collections" => t
            .growing_collections
            .iter()
            .filter(|g| th.class.as_deref().is_none_or(|n| g.class_name == n))
            .count() as i64,
        _ => 0,
    };
    v as f64
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

#[allow(clippy::too_many_arguments)]
fn print_text(
    out: &mut impl Write,
    args: &TrendArgs,
    t: &Trend,
    last: &Analysis,
    shown: &[&ClassTrend],
    matching: usize,
    total_sizes: &[u64],
    gate_results: &[GateResult],
) -> Result<()> {
    let n = t.snapshots;
    writeln!(
        out,
        "{n} snapshots · total size {} {} ({})",
        total_sizes
            .iter()
            .map(|&s| size(s))
            .collect::<Vec<_>>()
            .join(" → "),
        sparkline(total_sizes),
        signed_size(growth(total_sizes))
    )?;
    if let Some(problem) = &t.problem {
        writeln!(
            out,
            "Object ids cannot be followed across the series: {problem}.\n\
             Showing per-class counts and sizes only."
        )?;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(vec![
        "Constructor",
        "Count",
        "",
        "Δ Count",
        "Retained Size",
        "",
        "Δ Retained",
        "Grows",
    ]);
    for c in shown {
        let flag = match (c.count_grows(), c.retained_grows()) {
            (true, true) => "▲ count, retained",
            (true, false) => "▲ count",
            (false, true) => "▲ retained",
            _ => "",
        };
        table.add_row(vec![
            Cell::new(truncate(&c.name, 50)),
            right(format!(
                "{} → {}",
                count(c.counts[0]),
                count(c.counts[n - 1])
            )),
            Cell::new(sparkline(&c.counts)),
            right(signed_count(growth(&c.counts))),
            right(format!(
                "{} → {}",
                size(c.retained_sizes[0]),
                size(c.retained_sizes[n - 1])
            )),
            Cell::new(sparkline(&c.retained_sizes)),
            right(signed_size(growth(&c.retained_sizes))),
            Cell::new(flag),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(out, "{} of {} classes", shown.len(), count(matching as u64))?;

    if t.problem.is_none() {
        let limit = if args.limit == 0 {
            usize::MAX
        } else {
            args.limit
        };
        writeln!(
            out,
            "\nGrowing collections ({}):",
            t.growing_collections.len()
        )?;
        for g in t.growing_collections.iter().take(limit) {
            let present: Vec<u64> = g.entries.iter().flatten().map(|&e| e as u64).collect();
            let entries: Vec<String> = g
                .entries
                .iter()
                .map(|e| e.map_or("-".to_string(), |v| count(v as u64)))
                .collect();
            writeln!(
                out,
                "  {} @{} ({})  entries {} {}  retained {}",
                g.class_name,
                g.id,
                g.kind.label(),
                entries.join(" → "),
                sparkline(&present),
                size(g.retained_size)
            )?;
            if let Some(p) = &g.path {
                writeln!(out, "    {}", path_line(last, p))?;
            }
        }
        writeln!(
            out,
            "\nSurvivors (allocated after snapshot 1, alive in every later snapshot; retained \
             size of those not held by another survivor): {}",
            count(t.survivors.iter().map(|s| s.count).sum())
        )?;
        if !t.survivors.is_empty() {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            let mut header = vec!["Constructor".to_string(), "Survivors".to_string()];
            header.extend((2..n).map(|k| format!("from S{k}")));
            header.push("Retained Size".into());
            table.set_header(header);
            for s in t.survivors.iter().take(limit) {
                let mut row = vec![Cell::new(truncate(&s.name, 50)), right(count(s.count))];
                row.extend(
                    s.by_first_snapshot[1..n - 1]
                        .iter()
                        .map(|&c| right(count(c))),
                );
                row.push(right(size(s.retained_size)));
                table.add_row(row);
            }
            writeln!(out, "{table}")?;
        }
    }
    for r in gate_results.iter().filter(|r| !r.tripped) {
        writeln!(out, "--fail-on {}: ok", r.expression)?;
    }
    Ok(())
}
