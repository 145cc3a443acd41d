//! What `heapscope cpu` and `heapscope alloc` share: the top-functions table (self and
//! total, with `file:line:column`), its JSON, and writing a flame graph.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_inspector::calltree::CallTree;
use heapscope_inspector::flamegraph::{self, value};
use heapscope_inspector::top::by_function;
use serde::Serialize;

use crate::format::{percent, truncate};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TopSort {
    SelfValue,
    Total,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Sort functions by self or total.
    #[arg(long, value_enum, default_value = "self-value")]
    pub sort: TopSort,
    /// Show at most this many functions (0 = all).
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained flame graph: OUT.svg, or OUT.html (click to zoom).
    #[arg(long, value_name = "OUT")]
    pub flamegraph: Option<PathBuf>,
}

#[derive(Serialize)]
struct FunctionJson<'a> {
    function: &'a str,
    url: &'a str,
    /// 1-based; absent for V8's synthetic frames.
    line: Option<i32>,
    column: Option<i32>,
    #[serde(rename = "self")]
    self_value: u64,
    total: u64,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    unit: &'a str,
    total: u64,
    functions: Vec<FunctionJson<'a>>,
}

/// Prints the report for `tree`; `unit` names the JSON values ("microseconds", "bytes").
pub fn report(tree: &CallTree, file: &Path, unit: &str, args: &ReportArgs) -> Result<()> {
    let mut rows = by_function(tree);
    if args.sort == TopSort::Total {
        rows.sort_by(|a, b| {
            b.total_value
                .cmp(&a.total_value)
                .then(b.self_value.cmp(&a.self_value))
        });
    }
    if args.limit > 0 {
        rows.truncate(args.limit);
    }
    if let Some(out) = &args.flamegraph {
        write_flamegraph(tree, file, out)?;
    }
    let total = tree.total();
    if total == 0 {
        eprintln!("heapscope: note: {} has no samples", file.display());
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let j = ReportJson {
            unit,
            total,
            functions: rows
                .iter()
                .map(|r| FunctionJson {
                    function: r.frame.display_name(),
                    url: &r.frame.url,
                    line: (r.frame.line >= 0).then_some(r.frame.line + 1),
                    column: (r.frame.column >= 0).then_some(r.frame.column + 1),
                    self_value: r.self_value,
                    total: r.total_value,
                })
                .collect(),
        };
        writeln!(stdout, "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Self", "", "Total", "", "Function", "Location"]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for r in &rows {
        t.add_row(vec![
            right(value(tree.unit, r.self_value)),
            right(percent(r.self_value, total)),
            right(value(tree.unit, r.total_value)),
            right(percent(r.total_value, total)),
            Cell::new(truncate(r.frame.display_name(), 50)),
            Cell::new(
                r.frame
                    .location()
                    .map(|l| truncate_left(&l, 60))
                    .unwrap_or_default(),
            ),
        ]);
    }
    writeln!(stdout, "{t}")?;
    writeln!(stdout, "total {}", value(tree.unit, total))?;
    Ok(())
}

/// Keeps the end of a long path (the file name and line matter most).
fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    "…".to_string() + &s.chars().skip(n - max + 1).collect::<String>()
}

fn write_flamegraph(tree: &CallTree, file: &Path, out: &Path) -> Result<()> {
    let title = format!("{}", file.display());
    let text = match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => flamegraph::svg(tree, &title),
        Some("html" | "htm") => flamegraph::html(tree, &title),
        _ => bail!(
            "--flamegraph {}: the name must end in .svg or .html",
            out.display()
        ),
    };
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("heapscope: wrote flame graph {}", out.display());
    Ok(())
}

/// Reads a whole profile file (profiles are parsed as one JSON document).
pub fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot open {}", file.display()))
}
