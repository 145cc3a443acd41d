//! `heapscope dominators FILE [@ID]`: the dominator tree from the root (or an object), children
//! by retained size, with Easy-Monitor's grouping: siblings sharing name, shallow size and
//! distance are one line `×N`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use heapscope_analysis::Analysis;
use serde::Serialize;

use crate::cmd::show::{node_json, node_of, parse_id, NodeJson};
use crate::format::{distance, percent, size};
use crate::load;

#[derive(Args, Debug)]
pub struct DominatorsArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Start from this object (`@123`) instead of the root.
    pub id: Option<String>,
    /// Levels to expand below the start.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Skip this many child groups at the first level.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Child groups shown per node.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Do not group identical siblings.
    #[arg(long)]
    pub no_group: bool,
    /// Print JSON instead of a tree.
    #[arg(long)]
    pub json: bool,
}

/// A group of dominated siblings with the same name, shallow size and distance.
#[derive(Serialize)]
struct GroupJson {
    /// The largest member; the one expanded below.
    node: NodeJson,
    count: usize,
    /// Summed over the members.
    retained_size: u64,
    children_total: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<GroupJson>,
}

fn groups(a: &Analysis, node: u32, no_group: bool) -> Vec<(u32, usize, u64)> {
    let mut children: Vec<u32> = a.dominator_tree.children(node).to_vec();
    children.sort_by(|&x, &y| {
        a.retained[y as usize]
            .cmp(&a.retained[x as usize])
            .then(a.graph.id(x).cmp(&a.graph.id(y)))
    });
    if no_group {
        return children
            .into_iter()
            .map(|c| (c, 1, a.retained[c as usize]))
            .collect();
    }
    heapscope_analysis::views::grouped_dominated(a, node)
}

fn tree(
    a: &Analysis,
    node: u32,
    depth: usize,
    offset: usize,
    args: &DominatorsArgs,
) -> Vec<GroupJson> {
    groups(a, node, args.no_group)
        .into_iter()
        .skip(offset)
        .take(args.limit)
        .map(|(c, count, retained)| GroupJson {
            node: node_json(a, c),
            count,
            retained_size: retained,
            children_total: a.dominator_tree.children(c).len(),
            children: if depth > 1 {
                tree(a, c, depth - 1, 0, args)
            } else {
                Vec::new()
            },
        })
        .collect()
}

pub fn run(args: &DominatorsArgs) -> Result<()> {
    let start_id = args.id.as_deref().map(parse_id).transpose()?;
    let a = load::analyze(&args.file)?;
    let start = match start_id {
        Some(id) => node_of(&a, id)?,
        None => a.graph.root,
    };
    let t = tree(&a, start, args.depth.max(1), args.offset, args);
    let mut out = std::io::stdout().lock();
    if args.json {
        #[derive(Serialize)]
        struct Top {
            node: NodeJson,
            children_groups: usize,
            children: Vec<GroupJson>,
        }
        let top = Top {
            node: node_json(&a, start),
            children_groups: groups(&a, start, args.no_group).len(),
            children: t,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&top)?)?;
        return Ok(());
    }
    let total = a.statistics.total;
    let s = node_json(&a, start);
    writeln!(
        out,
        "{} @{}  retained {} ({})",
        s.class_name,
        s.id,
        size(s.retained_size),
        percent(s.retained_size, total)
    )?;
    fn walk(
        out: &mut dyn Write,
        groups: &[GroupJson],
        indent: usize,
        total: u64,
    ) -> std::io::Result<()> {
        for g in groups {
            let n = &g.node;
            let times = if g.count > 1 {
                format!("{} × ", g.count)
            } else {
                String::new()
            };
            let name = crate::format::truncate(&n.name, 50);
            let label = if name.is_empty() || name == n.class_name {
                n.class_name.clone()
            } else {
                format!("{} {:?}", n.class_name, name)
            };
            writeln!(
                out,
                "{:indent$}{times}{label} @{}  retained {} ({})  shallow {}  distance {}",
                "",
                n.id,
                size(g.retained_size),
                percent(g.retained_size, total),
                size(n.self_size),
                distance(n.distance),
                indent = indent
            )?;
            walk(out, &g.children, indent + 2, total)?;
        }
        Ok(())
    }
    walk(&mut out, &t, 2, total)?;
    Ok(())
}
