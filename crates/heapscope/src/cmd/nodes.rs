//! `heapscope nodes`: every node in snapshot order with the DevTools oracle's per-node columns,
//! so anyone can diff our numbers against DevTools'.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use heapscope_analysis::names::json_quote;

use crate::load;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NodesFormat {
    Tsv,
    Csv,
    Jsonl,
}

#[derive(Args, Debug)]
pub struct NodesArgs {
    /// Heap snapshot (.heapsnapshot, optionally gzipped), or - for stdin.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: NodesFormat,
}

pub fn run(args: &NodesArgs) -> Result<()> {
    let a = load::analyze(&args.file)?;
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    let g = &a.graph;
    match args.format {
        NodesFormat::Tsv => writeln!(
            out,
            "id\tself\tretained\tdistance\tdominator_id\tclass_name"
        )?,
        NodesFormat::Csv => writeln!(out, "id,self,retained,distance,dominator_id,class_name")?,
        NodesFormat::Jsonl => {}
    }
    for n in 0..a.node_count() as u32 {
        let id = g.id(n);
        let self_size = g.self_size(n);
        let retained = a.retained[n as usize];
        let distance = a.distance[n as usize];
        let dom = g.id(a.idom[n as usize]);
        let class = a.class_name(n);
        match args.format {
            NodesFormat::Tsv => writeln!(
                out,
                "{id}\t{self_size}\t{retained}\t{distance}\t{dom}\t{}",
                json_quote(&class)
            )?,
            NodesFormat::Csv => writeln!(
                out,
                "{id},{self_size},{retained},{distance},{dom},{}",
                csv_field(&class)
            )?,
            NodesFormat::Jsonl => writeln!(
                out,
                "{{\"id\":{id},\"self\":{self_size},\"retained\":{retained},\"distance\":{distance},\"dominator_id\":{dom},\"class_name\":{}}}",
                json_quote(&class)
            )?,
        }
    }
    out.flush()?;
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
