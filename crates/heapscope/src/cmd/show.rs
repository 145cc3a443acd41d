//! `heapscope show FILE @ID`: one object — its facts, dominator chain, source location and
//! value — with DevTools' Edges view (outgoing references) or, with `--retainers`, its
//! Retainers view expanded `--depth` levels.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use heapscope_analysis::views::{self, Reference};
use heapscope_analysis::{Analysis, Retainers};
use heapscope_format::NodeKind;
use serde::Serialize;

use crate::format::{distance, percent, size};
use crate::load;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Object id, as `@123` or `123`.
    pub id: String,
    /// Show the Retainers view instead of the Edges view.
    #[arg(long)]
    pub retainers: bool,
    /// Retainer levels to expand.
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Skip this many references.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Show at most this many references per level.
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Parses `@123` or `123`.
pub fn parse_id(text: &str) -> Result<u32> {
    let digits = text.strip_prefix('@').unwrap_or(text);
    match digits.parse::<u32>() {
        Ok(id) => Ok(id),
        Err(_) => bail!("`{text}` is not an object id (expected @123 or 123)"),
    }
}

/// Finds the node with this id or explains that there is none.
pub fn node_of(a: &Analysis, id: u32) -> Result<u32> {
    match a.graph.ordinal_of_id(id) {
        Some(n) => Ok(n),
        None => bail!(
            "no object @{id} in this snapshot ({} objects; ids are the @numbers DevTools shows)",
            a.node_count()
        ),
    }
}

#[derive(Serialize)]
pub struct NodeJson {
    pub id: u32,
    pub name: String,
    pub class_name: String,
    pub node_type: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

pub fn node_json(a: &Analysis, n: u32) -> NodeJson {
    NodeJson {
        id: a.graph.id(n),
        name: a.display_name(n),
        class_name: a.class_name(n).into_owned(),
        node_type: a.graph.raw.node_type_name(n).to_string(),
        self_size: a.graph.self_size(n) as u64,
        retained_size: a.retained[n as usize],
        distance: a.distance[n as usize],
    }
}

#[derive(Serialize)]
struct RefJson {
    edge: String,
    edge_type: &'static str,
    node: NodeJson,
    /// Already shown higher up this retainer tree.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cycle: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    retainers: Vec<RefJson>,
}

#[derive(Serialize)]
struct ShowJson {
    object: NodeJson,
    detachedness: &'static str,
    location: Option<String>,
    value: Option<String>,
    dominators: Vec<NodeJson>,
    context_variables: Vec<(String, NodeJson)>,
    edge_count: usize,
    edges: Vec<RefJson>,
    retainer_count: usize,
    retainers: Vec<RefJson>,
}

/// A string's stored text, a number's value, a regexp's source.
pub fn value_of(a: &Analysis, n: u32) -> Option<String> {
    match a.graph.kind(n) {
        NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => {
            Some(string_value(a, n))
        }
        NodeKind::HeapNumber | NodeKind::RegExp | NodeKind::BigInt => {
            Some(a.graph.raw_name(n).into_owned())
        }
        _ => None,
    }
}

/// Full text of a string node: cons strings are rebuilt from their parts (up to 64 Mi
/// characters); a sliced string shows the text of the string it was cut from, marked so,
/// because snapshots record a slice's parent but not its offset.
fn string_value(a: &Analysis, n: u32) -> String {
    let text = views::string_text(a, n, 64 << 20).unwrap_or_default();
    if a.graph.kind(n) == NodeKind::SlicedString {
        format!("(slice of) {text}")
    } else {
        text
    }
}

fn detachedness(a: &Analysis, n: u32) -> &'static str {
    match a.detachedness.get(n as usize).copied().unwrap_or(0) {
        1 => "attached",
        2 => "detached",
        _ => "unknown",
    }
}

fn retainer_tree(
    a: &Analysis,
    r: &Retainers,
    n: u32,
    depth: usize,
    args: &ShowArgs,
    path: &mut Vec<u32>,
) -> Vec<RefJson> {
    let refs = views::retainers_of(a, r, n);
    let (offset, limit) = if path.len() == 1 {
        (args.offset, args.limit)
    } else {
        (0, args.limit)
    };
    refs.iter()
        .skip(offset)
        .take(limit)
        .map(|rf| {
            let cycle = path.contains(&rf.node);
            let retainers = if depth > 1 && !cycle {
                path.push(rf.node);
                let t = retainer_tree(a, r, rf.node, depth - 1, args, path);
                path.pop();
                t
            } else {
                Vec::new()
            };
            ref_json(a, rf, cycle, retainers)
        })
        .collect()
}

fn ref_json(a: &Analysis, rf: &Reference, cycle: bool, retainers: Vec<RefJson>) -> RefJson {
    RefJson {
        edge: rf.label.clone(),
        edge_type: rf.kind.name(),
        node: node_json(a, rf.node),
        cycle,
        retainers,
    }
}

pub fn run(args: &ShowArgs) -> Result<()> {
    let id = parse_id(&args.id)?;
    let a = load::analyze(&args.file)?;
    let n = node_of(&a, id)?;
    let scripts = views::script_names(&a);
    let edges = views::edges_of(&a, n);
    let retainers = a.retainers();
    let retainer_count = views::retainers_of(&a, &retainers, n).len();
    let j = ShowJson {
        object: node_json(&a, n),
        detachedness: detachedness(&a, n),
        location: views::source_position(&a, &scripts, n),
        value: value_of(&a, n),
        dominators: views::dominator_chain(&a, n)
            .into_iter()
            .skip(1)
            .map(|d| node_json(&a, d))
            .collect(),
        context_variables: views::context_variables(&a, n)
            .into_iter()
            .filter(|_| {
                a.graph.kind(n) == NodeKind::Closure
                    || a.class_name(n).starts_with("system / Context")
            })
            .map(|(name, t)| (name, node_json(&a, t)))
            .collect(),
        edge_count: edges.len(),
        edges: if args.retainers {
            Vec::new()
        } else {
            edges
                .iter()
                .skip(args.offset)
                .take(args.limit)
                .map(|rf| ref_json(&a, rf, false, Vec::new()))
                .collect()
        },
        retainer_count,
        retainers: if args.retainers {
            retainer_tree(&a, &retainers, n, args.depth.max(1), args, &mut vec![n])
        } else {
            Vec::new()
        },
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(());
    }
    write!(out, "{}", render(&j, a.statistics.total, args))?;
    Ok(())
}

fn line_for(node: &NodeJson) -> String {
    let name = crate::format::truncate(&node.name, 60);
    if name.is_empty() || name == node.class_name {
        format!("{} @{}", node.class_name, node.id)
    } else {
        format!("{} {:?} @{}", node.class_name, name, node.id)
    }
}

fn render(j: &ShowJson, total: u64, args: &ShowArgs) -> String {
    let o = &j.object;
    let mut s = String::new();
    let _ = writeln!(s, "{}", line_for(o));
    let _ = writeln!(s, "  type          {}", o.node_type);
    let _ = writeln!(s, "  shallow size  {}", size(o.self_size));
    let _ = writeln!(
        s,
        "  retained size {} ({} of the heap)",
        size(o.retained_size),
        percent(o.retained_size, total)
    );
    let _ = writeln!(s, "  distance      {}", distance(o.distance));
    if j.detachedness != "unknown" {
        let _ = writeln!(s, "  detachedness  {}", j.detachedness);
    }
    if let Some(l) = &j.location {
        let _ = writeln!(s, "  location      {l}");
    }
    if let Some(v) = &j.value {
        let shown: String = v.chars().take(2000).collect();
        let more = if v.chars().count() > 2000 { " …" } else { "" };
        let _ = writeln!(s, "  value         {shown:?}{more}");
    }
    if !j.dominators.is_empty() {
        let chain: Vec<String> = j.dominators.iter().map(line_for).collect();
        let _ = writeln!(s, "  dominators    {}", chain.join(" ← "));
    }
    if !j.context_variables.is_empty() {
        let vars: Vec<String> = j
            .context_variables
            .iter()
            .map(|(name, t)| format!("{name} = {}", line_for(t)))
            .collect();
        let _ = writeln!(s, "  context vars  {}", vars.join(", "));
    }
    if args.retainers {
        let _ = writeln!(
            s,
            "\nRetainers ({}), nearest to the GC roots first:",
            j.retainer_count
        );
        fn walk(s: &mut String, refs: &[RefJson], indent: usize) {
            for r in refs {
                let cycle = if r.cycle { "  (cycle)" } else { "" };
                let _ = writeln!(
                    s,
                    "{:indent$}{} in {}  distance {}  shallow {}  retained {}{cycle}",
                    "",
                    r.edge,
                    line_for(&r.node),
                    distance(r.node.distance),
                    size(r.node.self_size),
                    size(r.node.retained_size),
                    indent = indent
                );
                walk(s, &r.retainers, indent + 2);
            }
        }
        walk(&mut s, &j.retainers, 2);
    } else {
        let _ = writeln!(
            s,
            "\nEdges ({}), largest retained size first:",
            j.edge_count
        );
        for r in &j.edges {
            let _ = writeln!(
                s,
                "  {} → {}  shallow {}  retained {}",
                r.edge,
                line_for(&r.node),
                size(r.node.self_size),
                size(r.node.retained_size)
            );
        }
        let shown = args.offset + j.edges.len();
        if shown < j.edge_count {
            let _ = writeln!(s, "  … {} more (--offset {shown})", j.edge_count - shown);
        }
    }
    s
}
