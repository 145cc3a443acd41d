//! `heapscope path FILE @ID`: why is it alive — the shortest retaining paths from the GC roots,
//! root first, in DevTools' edge notation, with the variables of closures and contexts met on
//! the way.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use heapscope_analysis::views;
use heapscope_analysis::Analysis;
use heapscope_format::NodeKind;
use serde::Serialize;

use crate::cmd::show::{node_json, node_of, parse_id, NodeJson};
use crate::load;

#[derive(Args, Debug)]
pub struct PathArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Object id, as `@123` or `123`.
    pub id: String,
    /// How many distinct shortest paths to show.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct StepJson {
    node: NodeJson,
    /// The reference from this node to the next one (absent on the last step).
    edge: Option<String>,
    /// For closures and `system / Context` objects: their context variables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    context_variables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

fn is_context_like(a: &Analysis, n: u32) -> bool {
    a.graph.kind(n) == NodeKind::Closure || a.class_name(n).starts_with("system / Context")
}

pub fn run(args: &PathArgs) -> Result<()> {
    let id = parse_id(&args.id)?;
    let a = load::analyze(&args.file)?;
    let n = node_of(&a, id)?;
    let retainers = a.retainers();
    let scripts = views::script_names(&a);
    let paths = views::retaining_paths(&a, &retainers, n, args.count.max(1));
    let json: Vec<Vec<StepJson>> = paths
        .iter()
        .map(|p| {
            p.nodes
                .iter()
                .enumerate()
                .map(|(i, &node)| StepJson {
                    node: node_json(&a, node),
                    edge: p.edges.get(i).map(|&e| views::edge_label(&a, e)),
                    context_variables: if is_context_like(&a, node) {
                        views::context_variables(&a, node)
                            .into_iter()
                            .map(|(v, _)| v)
                            .collect()
                    } else {
                        Vec::new()
                    },
                    location: if a.graph.kind(node) == NodeKind::Closure {
                        views::source_position(&a, &scripts, node)
                    } else {
                        None
                    },
                })
                .collect()
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(());
    }
    if json.is_empty() {
        writeln!(
            out,
            "@{id} is not reachable from the GC roots (it will be collected, or only weak references hold it)"
        )?;
        return Ok(());
    }
    for (k, steps) in json.iter().enumerate() {
        if json.len() > 1 {
            writeln!(out, "Path {}:", k + 1)?;
        }
        let mut line = String::from("(GC roots)");
        for s in steps {
            let mut label = format!("{} @{}", s.node.class_name, s.node.id);
            if !s.context_variables.is_empty() {
                // The text view names the first few; --json has them all.
                const SHOWN: usize = 6;
                let vars = &s.context_variables;
                let mut list = vars[..vars.len().min(SHOWN)].join(", ");
                if vars.len() > SHOWN {
                    list.push_str(&format!(", … {} more", vars.len() - SHOWN));
                }
                label.push_str(&format!(" (vars: {list})"));
            }
            if let Some(l) = &s.location {
                label.push_str(&format!(" [{l}]"));
            }
            line.push_str(" → ");
            line.push_str(&label);
            if let Some(e) = &s.edge {
                line.push(' ');
                line.push_str(e);
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
