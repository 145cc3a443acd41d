//! `heapscope leaks FILE`: the leak report — suspects biggest first, each with what it
//! retains, why it is suspected, one path to a GC root, the closure holding it and the
//! strings found on it. With three snapshots of one process (`BASELINE TARGET FINAL`) the
//! findings are the three-snapshot technique's clusters instead (see leaks3.rs). Terminal
//! text (colors unless `NO_COLOR`), `--markdown` or `--json` (schema `heapscope.leaks/1`,
//! documented in docs/leaks-json.md).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use heapscope_analysis::leaks::{self, LeakOptions};

use crate::cmd::leaks_render;
use crate::load;

#[derive(Args, Debug)]
pub struct LeaksArgs {
    /// One heap snapshot (.heapsnapshot, optionally gzipped; - for stdin), or three of one
    /// process: BASELINE TARGET FINAL (objects new in TARGET and still alive in FINAL).
    #[arg(required = true, num_args = 1..=3, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print JSON (schema heapscope.leaks/1) instead of text.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown, for a ticket or a pull-request comment.
    #[arg(long)]
    pub markdown: bool,
    /// Show at most this many findings.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Sibling groups (Easy-Monitor) are findings from this % of the heap.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    pub group_threshold: f64,
    /// Single objects (MAT) are findings from this % of the heap.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    pub object_threshold: f64,
    /// Classes whose instances together retain this % of the heap are findings.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    pub class_threshold: f64,
    /// Closure contexts retaining this % of the heap are findings.
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT")]
    pub context_threshold: f64,
    /// Open handles (TCP, TLSWrap, Socket, Timeout…) on one path: a finding from this many.
    #[arg(long, default_value_t = 100, value_name = "COUNT")]
    pub handles: u64,
    /// More listeners than this for one event is a finding (Node's defaultMaxListeners).
    #[arg(long, default_value_t = 10, value_name = "COUNT")]
    pub listeners: u64,
    /// Maps, Sets, Arrays and objects with this many entries are findings.
    #[arg(long, default_value_t = 10_000, value_name = "COUNT")]
    pub entries: u64,
    /// Pending promises on one path: a finding from this many.
    #[arg(long, default_value_t = 1_000, value_name = "COUNT")]
    pub promises: u64,
    /// Flag ArrayBuffer backing stores above this many MB in all.
    #[arg(long, default_value_t = 64, value_name = "MB")]
    pub external_mb: u64,
    /// Three snapshots: clusters with fewer new-and-alive objects than this are left out.
    #[arg(long, default_value_t = 10, value_name = "COUNT")]
    pub min_survivors: u64,
    /// Also report objects held only by Node's internals (module cache, builtins, code).
    #[arg(long)]
    pub include_internals: bool,
}

impl LeaksArgs {
    fn options(&self) -> LeakOptions {
        LeakOptions {
            group_percent: self.group_threshold,
            object_percent: self.object_threshold,
            class_percent: self.class_threshold,
            context_percent: self.context_threshold,
            min_handles: self.handles,
            max_listeners: self.listeners,
            min_entries: self.entries,
            min_pending_promises: self.promises,
            external_bytes: self.external_mb << 20,
            include_internals: self.include_internals,
            max_findings: self.limit,
            ..LeakOptions::default()
        }
    }
}

// The JSON model is shared with the web console.
pub use heapscope_web::leaks_json::{to_json, FindingJson, HolderJson, LeaksJson, StepJson};

pub fn run(args: &LeaksArgs) -> Result<()> {
    let doc = match args.files.as_slice() {
        [file] => {
            let a = load::analyze(file)?;
            let retainers = a.retainers();
            let report = leaks::report(&a, &retainers, &args.options());
            to_json(&a, &report, &file.display().to_string())
        }
        [baseline, target, last] => crate::cmd::leaks3::report(baseline, target, last, args)?,
        _ => clap::Error::raw(
            clap::error::ErrorKind::WrongNumberOfValues,
            "leaks takes one snapshot, or three of one process: BASELINE TARGET FINAL\n",
        )
        .exit(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if args.markdown {
        out.write_all(leaks_render::markdown(&doc).as_bytes())?;
    } else {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        out.write_all(leaks_render::text(&doc, color).as_bytes())?;
    }
    Ok(())
}
