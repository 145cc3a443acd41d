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
use heapscope_analysis::leaks::{self, Finding, LeakOptions, LeakReport};
use heapscope_analysis::{views, Analysis};
use serde::Serialize;

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

/// The `--json` document. Field names are part of the schema: add, never rename.
#[derive(Serialize)]
pub struct LeaksJson {
    pub schema: &'static str,
    /// `single` (one snapshot) or `three-snapshot`.
    pub mode: &'static str,
    pub file: String,
    /// Three-snapshot mode: the BASELINE and TARGET files (FINAL is `file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Three-snapshot mode: why no clusters could be computed (snapshots of different
    /// processes), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub heap_size: u64,
    pub node_count: usize,
    pub findings: Vec<FindingJson>,
    pub below_threshold: usize,
    pub checks: Vec<CheckJson>,
}

#[derive(Serialize)]
pub struct FindingJson {
    pub rank: usize,
    pub title: String,
    pub class_name: String,
    pub count: u64,
    pub retained_size: u64,
    pub retained_percent: f64,
    pub reasons: Vec<ReasonJson>,
    pub ids: Vec<u32>,
    pub path: Vec<StepJson>,
    pub holder: Option<HolderJson>,
    pub strings: Vec<StringJson>,
    /// Three-snapshot mode: objects of this path shape in each age group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<GrowthJson>,
}

#[derive(Serialize)]
pub struct GrowthJson {
    /// Already alive in BASELINE.
    pub in_baseline: u64,
    /// New in TARGET since BASELINE and alive in FINAL: the leak candidates.
    pub new_in_target: u64,
    /// Newer than TARGET.
    pub added_after_target: u64,
    pub in_final: u64,
}

#[derive(Serialize)]
pub struct ReasonJson {
    pub kind: &'static str,
    pub text: String,
    pub count: u64,
    pub size: u64,
    pub flagged: bool,
}

#[derive(Serialize)]
pub struct StepJson {
    pub id: u32,
    pub name: String,
    pub class_name: String,
    pub node_type: String,
    /// The reference from this step to the next (absent on the last step).
    pub edge: Option<String>,
}

#[derive(Serialize)]
pub struct HolderJson {
    pub context_id: u32,
    pub closure: Option<FunctionJson>,
    pub function: Option<FunctionJson>,
    pub via: Option<String>,
    pub variables: Vec<String>,
}

#[derive(Serialize)]
pub struct FunctionJson {
    pub id: u32,
    pub name: String,
    pub location: Option<String>,
}

#[derive(Serialize)]
pub struct StringJson {
    pub text: String,
    pub kind: &'static str,
    pub count: u64,
    pub id: u32,
}

#[derive(Serialize)]
pub struct CheckJson {
    pub key: &'static str,
    pub label: String,
    pub detail: String,
    pub count: u64,
    pub size: u64,
    pub flagged: bool,
}

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

pub fn to_json(a: &Analysis, report: &LeakReport, file: &str) -> LeaksJson {
    let scripts = views::script_names(a);
    LeaksJson {
        schema: "heapscope.leaks/1",
        mode: "single",
        file: file.to_string(),
        baseline: None,
        target: None,
        problem: None,
        heap_size: report.heap_size,
        node_count: a.node_count(),
        findings: report
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| finding_json(a, &scripts, report.heap_size, i + 1, f))
            .collect(),
        below_threshold: report.below_threshold,
        checks: report
            .checks
            .iter()
            .map(|c| CheckJson {
                key: c.key,
                label: c.label.clone(),
                detail: c.detail.clone(),
                count: c.count,
                size: c.size,
                flagged: c.flagged,
            })
            .collect(),
    }
}

fn function_json(
    a: &Analysis,
    scripts: &std::collections::HashMap<u32, String>,
    n: u32,
) -> FunctionJson {
    let name = a.display_name(n);
    FunctionJson {
        id: a.graph.id(n),
        name: if name.is_empty() {
            "(anonymous)".into()
        } else {
            name
        },
        location: views::source_position(a, scripts, n),
    }
}

fn finding_json(
    a: &Analysis,
    scripts: &std::collections::HashMap<u32, String>,
    heap: u64,
    rank: usize,
    f: &Finding,
) -> FindingJson {
    let g = &a.graph;
    FindingJson {
        rank,
        title: f.title.clone(),
        class_name: f.class_name.clone(),
        count: f.count,
        retained_size: f.retained,
        retained_percent: (f.retained as f64 * 1000.0 / heap.max(1) as f64).round() / 10.0,
        reasons: f
            .reasons
            .iter()
            .map(|r| ReasonJson {
                kind: r.kind.name(),
                text: r.text.clone(),
                count: r.count,
                size: r.size,
                flagged: r.flagged,
            })
            .collect(),
        ids: f.sample.iter().map(|&n| g.id(n)).collect(),
        path: path_json(a, &f.path),
        holder: f.holder.as_ref().map(|h| holder_json(a, scripts, h)),
        strings: strings_json(a, &f.strings),
        growth: None,
    }
}

pub fn path_json(a: &Analysis, path: &views::RetainingPath) -> Vec<StepJson> {
    let g = &a.graph;
    path.nodes
        .iter()
        .enumerate()
        .map(|(i, &n)| StepJson {
            id: g.id(n),
            name: a.display_name(n),
            class_name: a.class_name(n).into_owned(),
            node_type: g.raw.node_type_name(n).to_string(),
            edge: path.edges.get(i).map(|&e| views::edge_label(a, e)),
        })
        .collect()
}

pub fn holder_json(
    a: &Analysis,
    scripts: &std::collections::HashMap<u32, String>,
    h: &leaks::Holder,
) -> HolderJson {
    HolderJson {
        context_id: a.graph.id(h.context),
        closure: h.closure.map(|c| function_json(a, scripts, c)),
        function: h.function.map(|c| {
            let mut f = function_json(a, scripts, c);
            if let Some(name) = &h.function_name {
                f.name = name.clone();
            }
            f
        }),
        via: h.via.clone(),
        variables: h.variables.clone(),
    }
}

pub fn strings_json(a: &Analysis, strings: &[leaks::FoundString]) -> Vec<StringJson> {
    strings
        .iter()
        .map(|s| StringJson {
            text: s.text.clone(),
            kind: s.kind.name(),
            count: s.count,
            id: a.graph.id(s.node),
        })
        .collect()
}
