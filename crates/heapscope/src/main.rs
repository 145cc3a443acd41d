//! The `heapscope` command line: wires the format and analysis crates to the terminal.
//! Exit codes: 0 ok, 1 the analysis failed (bad input, I/O), 2 usage errors.

mod cache;
mod cmd;
mod format;
mod gate;
mod load;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "heapscope",
    version,
    about = "Find memory leaks in Node.js services from V8 heap snapshots",
    long_about = "heapscope loads V8 .heapsnapshot files (plain or gzip; a path or - for stdin) \
and computes what Chrome DevTools' Memory panel computes — retained sizes, distances, \
dominators, class summaries — node for node, in a fraction of the time and memory."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Neither read nor write the analysis cache (DIR/cache of the data directory, shared
    /// with `heapscope serve`); analyse the snapshot afresh.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// DevTools' Summary view: classes with count, distance, shallow and retained size.
    Summary(cmd::summary::SummaryArgs),
    /// DevTools' Statistics view: code, strings, arrays, typed arrays, system, native.
    Stats(cmd::stats::StatsArgs),
    /// Every node with id, self, retained, distance, dominator id and class (oracle columns).
    Nodes(cmd::nodes::NodesArgs),
    /// One object: facts, dominators, location, value, and its Edges or Retainers view.
    Show(cmd::show::ShowArgs),
    /// Why is it alive: shortest retaining paths from the GC roots to an object.
    Path(cmd::path::PathArgs),
    /// Find objects by class, by name (regex) or strings by content.
    Find(cmd::find::FindArgs),
    /// The dominator tree, biggest first, identical siblings grouped as ×N.
    Dominators(cmd::dominators::DominatorsArgs),
    /// The leak report: suspects biggest first, with paths, closures and strings.
    Leaks(cmd::leaks::LeaksArgs),
    /// DevTools' Comparison view of two snapshots: new and deleted objects per class.
    Diff(cmd::diff::DiffArgs),
    /// Growth across three or more snapshots: classes, collections, survivors.
    Trend(cmd::trend::TrendArgs),
    /// Local Node.js processes: pid, uptime, RSS, open inspector port, command line.
    Ps(cmd::ps::PsArgs),
    /// Capture a heap snapshot from a live Node.js process (streamed to disk).
    Snapshot(cmd::snapshot::SnapshotArgs),
    /// Record a CPU profile (.cpuprofile) from a live Node.js process.
    Profile(cmd::profile::ProfileArgs),
    /// Record a sampling heap profile (.heapprofile) from a live Node.js process.
    Sample(cmd::sample::SampleArgs),
    /// Top functions of a .cpuprofile by self and total time; flame graph.
    Cpu(cmd::cpu::CpuArgs),
    /// Top allocating functions of a .heapprofile by sampled bytes; flame graph.
    Alloc(cmd::alloc::AllocArgs),
    /// Sample live Node.js processes' memory: store, rules with actions, Prometheus metrics.
    Watch(cmd::watch::WatchArgs),
    /// The web console: upload snapshots, browse leak reports and objects in a browser.
    Serve(cmd::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cache::configure(cli.no_cache);
    let result = match &cli.command {
        Command::Summary(a) => cmd::summary::run(a),
        Command::Stats(a) => cmd::stats::run(a),
        Command::Nodes(a) => cmd::nodes::run(a),
        Command::Show(a) => cmd::show::run(a),
        Command::Path(a) => cmd::path::run(a),
        Command::Find(a) => cmd::find::run(a),
        Command::Dominators(a) => cmd::dominators::run(a),
        Command::Leaks(a) => cmd::leaks::run(a),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Trend(a) => cmd::trend::run(a),
        Command::Ps(a) => cmd::ps::run(a),
        Command::Snapshot(a) => cmd::snapshot::run(a),
        Command::Profile(a) => cmd::profile::run(a),
        Command::Sample(a) => cmd::sample::run(a),
        Command::Cpu(a) => cmd::cpu::run(a),
        Command::Alloc(a) => cmd::alloc::run(a),
        Command::Watch(a) => cmd::watch::run(a),
        Command::Serve(a) => cmd::serve::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("heapscope: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
