//! `heapscope leaks BASELINE TARGET FINAL`: the three-snapshot technique. Objects allocated
//! after BASELINE and up to TARGET (by V8 id) that are still alive in FINAL, clustered by the
//! shape of their retaining path, each cluster rendered like a single-snapshot finding: its
//! path, the closure holding it with `file:line:column`, and interesting strings. BASELINE and
//! TARGET are parsed for their ids only; FINAL alone is analysed.

use std::path::Path;

use anyhow::Result;
use heapscope_analysis::compare::{find_leak_clusters, LeakClusterOptions};
use heapscope_analysis::leaks::{self, Ownership};
use heapscope_analysis::views;

use crate::cmd::leaks::{
    holder_json, path_json, strings_json, CheckJson, FindingJson, GrowthJson, LeaksJson, ReasonJson,
};
use crate::cmd::series::load_id_set;
use crate::load;

pub fn report(
    baseline: &Path,
    target: &Path,
    last: &Path,
    args: &crate::cmd::leaks::LeaksArgs,
) -> Result<LeaksJson> {
    let limit = args.limit;
    let baseline_ids = load_id_set(baseline)?;
    let target_ids = load_id_set(target)?;
    let a = load::analyze(last)?;
    let options = LeakClusterOptions {
        include_internals: args.include_internals,
        min_count: args.min_survivors,
    };
    let found = find_leak_clusters(&baseline_ids, &target_ids, &a, &options);
    drop((baseline_ids, target_ids));
    let retainers = a.retainers();
    let own = Ownership::compute(&a);
    let scripts = views::script_names(&a);
    let heap = a.retained[a.graph.root as usize];
    let findings: Vec<FindingJson> = found
        .clusters
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, c)| {
            let path = &c.representative_path;
            let holder = leaks::holder::find(&a, &retainers, &own, path);
            let sample: Vec<u32> = c.objects.iter().copied().take(200).collect();
            let strings = leaks::strings::near(&a, &own, &sample, 5);
            let mut ids: Vec<u32> = c.objects.iter().map(|&n| a.graph.id(n)).collect();
            ids.sort_unstable();
            ids.truncate(20);
            FindingJson {
                rank: i + 1,
                title: format!("{} × {}", c.count, c.class_name),
                class_name: c.class_name.clone(),
                count: c.count,
                retained_size: c.retained_size,
                retained_percent: (c.retained_size as f64 * 1000.0 / heap.max(1) as f64).round()
                    / 10.0,
                reasons: vec![ReasonJson {
                    kind: "new_and_alive",
                    text: format!(
                        "{} allocated between BASELINE and TARGET, alive in FINAL ({} of this path shape in FINAL: {} older, {} newer)",
                        c.count,
                        c.in_final(),
                        c.in_baseline,
                        c.added_after_target
                    ),
                    count: c.count,
                    size: c.retained_size,
                    flagged: true,
                }],
                ids,
                path: path_json(&a, path),
                holder: holder.as_ref().map(|h| holder_json(&a, &scripts, h)),
                strings: strings_json(&a, &strings),
                growth: Some(GrowthJson {
                    in_baseline: c.in_baseline,
                    new_in_target: c.count,
                    added_after_target: c.added_after_target,
                    in_final: c.in_final(),
                }),
            }
        })
        .collect();
    let flagged = !findings.is_empty();
    Ok(LeaksJson {
        schema: "heapscope.leaks/1",
        mode: "three-snapshot",
        file: last.display().to_string(),
        baseline: Some(baseline.display().to_string()),
        target: Some(target.display().to_string()),
        problem: found.problem.clone(),
        heap_size: heap,
        node_count: a.node_count(),
        below_threshold: found.clusters.len().saturating_sub(limit),
        checks: vec![CheckJson {
            key: "survivors",
            label: "Objects new in TARGET and alive in FINAL".into(),
            detail: found.survivors.to_string(),
            count: found.survivors,
            size: 0,
            flagged,
        }],
        findings,
    })
}
