//! `heapscope ps`: local Node.js processes with uptime, RSS, and the inspector each one has
//! open (found from its own listening sockets and confirmed over HTTP, never guessed).

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_inspector::attach::find_inspector;
use heapscope_inspector::procs::{node_processes, NodeProcess};
use serde::Serialize;

use crate::cmd::live::runtime;
use crate::format::{size, truncate};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ProcessJson<'a> {
    pid: i32,
    command: &'a [String],
    uptime_seconds: u64,
    rss_bytes: u64,
    /// `HOST:PORT` of the open inspector, if any.
    inspector: Option<String>,
    listening: Vec<String>,
}

pub fn run(args: &PsArgs) -> Result<()> {
    let processes = node_processes()?;
    let inspectors: Vec<Option<String>> = runtime()?.block_on(async {
        let mut found = Vec::with_capacity(processes.len());
        for p in &processes {
            found.push(find_inspector(&p.listening).await.map(|a| a.to_string()));
        }
        found
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<ProcessJson<'_>> = processes
            .iter()
            .zip(&inspectors)
            .map(|(p, inspector)| ProcessJson {
                pid: p.pid,
                command: &p.cmdline,
                uptime_seconds: p.uptime.as_secs(),
                rss_bytes: p.rss_bytes,
                inspector: inspector.clone(),
                listening: p.listening.iter().map(|a| a.to_string()).collect(),
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    if processes.is_empty() {
        writeln!(out, "no Node.js processes found")?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["PID", "Uptime", "RSS", "Inspector", "Command"]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for (p, inspector) in processes.iter().zip(&inspectors) {
        t.add_row(vec![
            right(p.pid.to_string()),
            right(uptime(p.uptime)),
            right(size(p.rss_bytes)),
            Cell::new(inspector.as_deref().unwrap_or("-")),
            Cell::new(command(p)),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}

fn command(p: &NodeProcess) -> String {
    truncate(&p.cmdline.join(" "), 80)
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`.
fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}
