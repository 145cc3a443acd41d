//! `heapscope leaks BASELINE TARGET FINAL`: the three-snapshot technique. Objects allocated
//! after BASELINE and up to TARGET (by V8 id) that are still alive in FINAL, clustered by the
//! shape of their retaining path, each cluster rendered like a single-snapshot finding: its
//! path, the closure holding it with `file:line:column`, and interesting strings. BASELINE and
//! TARGET are parsed for their ids only; FINAL alone is analysed. The document is built by
//! heapscope-web's leaks_json (shared with the web console).

use std::path::Path;

use anyhow::Result;
use heapscope_analysis::compare::LeakClusterOptions;
use heapscope_web::leaks_json::{three_snapshot_json, ThreeSnapshotNames};

use crate::cmd::leaks::LeaksJson;
use crate::cmd::series::load_id_set;
use crate::load;

pub fn report(
    baseline: &Path,
    target: &Path,
    last: &Path,
    args: &crate::cmd::leaks::LeaksArgs,
) -> Result<LeaksJson> {
    let baseline_ids = load_id_set(baseline)?;
    let target_ids = load_id_set(target)?;
    let a = load::analyze(last)?;
    let options = LeakClusterOptions {
        include_internals: args.include_internals,
        min_count: args.min_survivors,
    };
    let names = ThreeSnapshotNames {
        baseline: &baseline.display().to_string(),
        target: &target.display().to_string(),
        last: &last.display().to_string(),
    };
    Ok(three_snapshot_json(
        &baseline_ids,
        &target_ids,
        &a,
        &options,
        args.limit,
        &names,
    ))
}
