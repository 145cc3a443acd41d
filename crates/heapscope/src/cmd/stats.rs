//! `heapscope stats`: DevTools' Statistics view.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde::Serialize;

use crate::format::{count, percent, size};
use crate::load;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct NativeJson {
    total: u64,
    #[serde(rename = "typedArrays")]
    typed_arrays: u64,
}

#[derive(Serialize)]
struct V8HeapJson {
    total: i64,
    code: u64,
    #[serde(rename = "jsArrays")]
    js_arrays: u64,
    strings: u64,
    system: u64,
}

/// Same shape as DevTools' `getStatistics()`, plus counts.
#[derive(Serialize)]
struct StatsJson {
    total: u64,
    native: NativeJson,
    v8heap: V8HeapJson,
    extra_native_bytes: u64,
    node_count: usize,
    edge_count: usize,
}

pub fn run(args: &StatsArgs) -> Result<()> {
    let a = load::analyze(&args.file)?;
    let s = &a.statistics;
    if args.json {
        let j = StatsJson {
            total: s.total,
            native: NativeJson {
                total: s.native_total,
                typed_arrays: s.typed_arrays,
            },
            v8heap: V8HeapJson {
                total: s.v8heap_total,
                code: s.code,
                js_arrays: s.js_arrays,
                strings: s.strings,
                system: s.system,
            },
            extra_native_bytes: s.extra_native_bytes,
            node_count: a.node_count(),
            edge_count: a.edge_count(),
        };
        writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(());
    }
    let v8_other = s.v8heap_total.max(0) as u64;
    let other = v8_other.saturating_sub(s.code + s.strings + s.js_arrays + s.system);
    let native_other = s.native_total.saturating_sub(s.typed_arrays);
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Category", "Size", "% of total"]);
    let rows: [(&str, u64); 7] = [
        ("Code", s.code),
        ("Strings", s.strings),
        ("JS arrays", s.js_arrays),
        ("Typed arrays", s.typed_arrays),
        ("System objects", s.system),
        ("Other JS objects", other),
        ("Other native", native_other),
    ];
    for (label, v) in rows {
        t.add_row(vec![
            Cell::new(label),
            Cell::new(size(v)).set_alignment(CellAlignment::Right),
            Cell::new(percent(v, s.total)).set_alignment(CellAlignment::Right),
        ]);
    }
    t.add_row(vec![
        Cell::new("Total"),
        Cell::new(size(s.total)).set_alignment(CellAlignment::Right),
        Cell::new("100 %").set_alignment(CellAlignment::Right),
    ]);
    writeln!(std::io::stdout(), "{t}")?;
    writeln!(
        std::io::stdout(),
        "V8 heap {} · native {} (of which extra_native_bytes {}) · {} nodes · {} edges",
        size(v8_other),
        size(s.native_total),
        size(s.extra_native_bytes),
        count(a.node_count() as u64),
        count(a.edge_count() as u64)
    )?;
    Ok(())
}
