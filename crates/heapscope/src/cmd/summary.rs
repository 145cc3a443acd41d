//! `heapscope summary`: DevTools' Summary view — one row per class with instance count,
//! minimum distance, shallow and retained size.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_analysis::ClassAggregate;
use heapscope_store::sidecar::Overview;
use serde::Serialize;

use crate::format::{count, distance, percent, size};
use crate::load;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SortKey {
    Retained,
    Shallow,
    Count,
    Distance,
    Name,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Column to sort by (descending for sizes and counts).
    #[arg(long, value_enum, default_value = "retained")]
    pub sort: SortKey,
    /// Keep classes whose name contains this text, or matches it as /regex/.
    #[arg(long)]
    pub filter: Option<String>,
    /// Show at most this many classes (0 = all).
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    key: &'a str,
    name: &'a str,
    count: u64,
    distance: i32,
    self_size: u64,
    retained_size: u64,
    self_percent: f64,
    retained_percent: f64,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    class_count: usize,
    classes: Vec<ClassJson<'a>>,
}

pub(crate) enum NameFilter {
    Substring(String),
    Regex(regex::Regex),
}

impl NameFilter {
    pub(crate) fn parse(text: &str) -> Result<NameFilter> {
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            let re = regex::Regex::new(&text[1..text.len() - 1])
                .with_context(|| format!("invalid --filter regex {text}"))?;
            Ok(NameFilter::Regex(re))
        } else {
            Ok(NameFilter::Substring(text.to_string()))
        }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            NameFilter::Substring(s) => name.contains(s.as_str()),
            NameFilter::Regex(r) => r.is_match(name),
        }
    }
}

/// Classes sorted and filtered as the options say.
pub fn select<'a>(
    classes: &'a [ClassAggregate],
    sort: SortKey,
    filter: Option<&str>,
    limit: usize,
) -> Result<Vec<&'a ClassAggregate>> {
    let filter = filter.map(NameFilter::parse).transpose()?;
    let mut rows: Vec<&ClassAggregate> = classes
        .iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f.matches(&c.name)))
        .collect();
    rows.sort_by(|x, y| {
        let primary = match sort {
            SortKey::Retained => y.retained_size.cmp(&x.retained_size),
            SortKey::Shallow => y.self_size.cmp(&x.self_size),
            SortKey::Count => y.count.cmp(&x.count),
            SortKey::Distance => x.distance.cmp(&y.distance),
            SortKey::Name => x.name.cmp(&y.name),
        };
        primary.then_with(|| x.key.cmp(&y.key))
    });
    if limit > 0 {
        rows.truncate(limit);
    }
    Ok(rows)
}

pub fn run(args: &SummaryArgs) -> Result<()> {
    // The Summary view needs no graph: a cached analysis answers from its first section.
    let overview = match load::cached_overview(&args.file) {
        Some(o) => o,
        None => Overview::of(&load::analyze(&args.file)?),
    };
    print(
        &overview,
        args.sort,
        args.filter.as_deref(),
        args.limit,
        args.json,
    )
}

/// Prints the Summary view of an analysed snapshot (also after `snapshot --analyze`).
pub fn print(
    a: &Overview,
    sort: SortKey,
    filter: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<()> {
    let total = a.statistics.total;
    let rows = select(&a.classes, sort, filter, limit)?;
    let pct = |v: u64| {
        if total == 0 {
            0.0
        } else {
            (v as f64 * 10000.0 / total as f64).round() / 100.0
        }
    };
    if json {
        let j = SummaryJson {
            node_count: a.node_count,
            edge_count: a.edge_count,
            total_size: total,
            class_count: a.classes.len(),
            classes: rows
                .iter()
                .map(|c| ClassJson {
                    key: &c.key,
                    name: &c.name,
                    count: c.count,
                    distance: c.distance,
                    self_size: c.self_size,
                    retained_size: c.retained_size,
                    self_percent: pct(c.self_size),
                    retained_percent: pct(c.retained_size),
                })
                .collect(),
        };
        writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "Constructor",
        "Distance",
        "Count",
        "Shallow Size",
        "",
        "Retained Size",
        "",
    ]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    let locations: std::collections::HashMap<&str, _> = a
        .classes
        .iter()
        .zip(&a.class_locations)
        .filter_map(|(c, l)| Some((c.key.as_str(), (*l)?)))
        .collect();
    for c in &rows {
        let mut name = crate::format::truncate(&c.name, 60);
        if let Some(loc) = locations.get(c.key.as_str()) {
            name = format!("{name} @{}:{}", loc.line + 1, loc.column + 1);
        }
        t.add_row(vec![
            Cell::new(name),
            right(distance(c.distance)),
            right(format!("×{}", count(c.count))),
            right(size(c.self_size)),
            right(percent(c.self_size, total)),
            right(size(c.retained_size)),
            right(percent(c.retained_size, total)),
        ]);
    }
    writeln!(std::io::stdout(), "{t}")?;
    writeln!(
        std::io::stdout(),
        "{} classes · {} nodes · {} edges · total {}",
        count(a.classes.len() as u64),
        count(a.node_count),
        count(a.edge_count),
        size(total)
    )?;
    Ok(())
}
