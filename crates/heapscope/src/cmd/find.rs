//! `heapscope find FILE --class NAME | --name REGEX | --string TEXT`: objects by class, by
//! display name, or strings by content — their `@id`s with sizes, largest retained first.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use heapscope_format::NodeKind;
use serde::Serialize;

use crate::cmd::show::{node_json, value_of, NodeJson};
use crate::format::{count, distance, size};
use crate::load;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true)))]
pub struct FindArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    /// Objects whose class (constructor) name is exactly this.
    #[arg(long, group = "what")]
    pub class: Option<String>,
    /// Objects whose display name matches this regular expression.
    #[arg(long, group = "what")]
    pub name: Option<String>,
    /// Strings whose text contains this.
    #[arg(long, group = "what")]
    pub string: Option<String>,
    /// Only objects retaining at least this many bytes.
    #[arg(long, default_value_t = 0)]
    pub min_retained: u64,
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct FindJson {
    total: usize,
    offset: usize,
    objects: Vec<NodeJson>,
}

pub fn run(args: &FindArgs) -> Result<()> {
    let name_re = match &args.name {
        Some(r) => Some(regex::Regex::new(r).with_context(|| format!("invalid --name regex {r}"))?),
        None => None,
    };
    let a = load::analyze(&args.file)?;
    let g = &a.graph;
    let mut hits: Vec<u32> = (0..a.node_count() as u32)
        .filter(|&n| a.retained[n as usize] >= args.min_retained && g.self_size(n) > 0)
        .filter(|&n| match (&args.class, &name_re, &args.string) {
            (Some(c), _, _) => a.class_name(n) == c.as_str(),
            (_, Some(re), _) => re.is_match(&a.display_name(n)),
            (_, _, Some(text)) => {
                matches!(
                    g.kind(n),
                    NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString
                ) && value_of(&a, n).is_some_and(|v| v.contains(text.as_str()))
            }
            _ => false,
        })
        .collect();
    hits.sort_by(|&x, &y| {
        a.retained[y as usize]
            .cmp(&a.retained[x as usize])
            .then(g.id(x).cmp(&g.id(y)))
    });
    let page: Vec<NodeJson> = hits
        .iter()
        .skip(args.offset)
        .take(args.limit)
        .map(|&n| node_json(&a, n))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let j = FindJson {
            total: hits.len(),
            offset: args.offset,
            objects: page,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "Object",
        "Name",
        "Distance",
        "Shallow Size",
        "Retained Size",
    ]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for o in &page {
        let name = crate::format::truncate(&o.name, 50);
        t.add_row(vec![
            Cell::new(format!("{} @{}", o.class_name, o.id)),
            Cell::new(name),
            right(distance(o.distance)),
            right(size(o.self_size)),
            right(size(o.retained_size)),
        ]);
    }
    writeln!(out, "{t}")?;
    let shown = args.offset + page.len();
    writeln!(
        out,
        "{} matching objects{}",
        count(hits.len() as u64),
        if shown < hits.len() {
            format!(
                " · showing {}–{} (--offset {shown} for more)",
                args.offset + 1,
                shown
            )
        } else {
            String::new()
        }
    )?;
    Ok(())
}
