//! The leak report's JSON model (schema `heapscope.leaks/1`, documented in
//! docs/leaks-json.md): what `heapscope leaks --json` prints and what the web console's
//! Suspects tab shows. It lives here so that both use one model; the CLI re-exports it.

use heapscope_analysis::compare::{find_leak_clusters, IdSet, LeakClusterOptions};
use heapscope_analysis::leaks::{self, Finding, LeakReport, Ownership};
use heapscope_analysis::{views, Analysis};
use serde::Serialize;

/// The schema name written into every document.
pub const SCHEMA: &str = "heapscope.leaks/1";

/// The `--json` document. Field names are part of the schema: add, never rename.
#[derive(Serialize, Debug)]
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

#[derive(Serialize, Debug)]
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

#[derive(Serialize, Debug)]
pub struct GrowthJson {
    /// Already alive in BASELINE.
    pub in_baseline: u64,
    /// New in TARGET since BASELINE and alive in FINAL: the leak candidates.
    pub new_in_target: u64,
    /// Newer than TARGET.
    pub added_after_target: u64,
    pub in_final: u64,
}

#[derive(Serialize, Debug)]
pub struct ReasonJson {
    pub kind: &'static str,
    pub text: String,
    pub count: u64,
    pub size: u64,
    pub flagged: bool,
}

#[derive(Serialize, Debug)]
pub struct StepJson {
    pub id: u32,
    pub name: String,
    pub class_name: String,
    pub node_type: String,
    /// The reference from this step to the next (absent on the last step).
    pub edge: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct HolderJson {
    pub context_id: u32,
    pub closure: Option<FunctionJson>,
    pub function: Option<FunctionJson>,
    pub via: Option<String>,
    pub variables: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct FunctionJson {
    pub id: u32,
    pub name: String,
    pub location: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct StringJson {
    pub text: String,
    pub kind: &'static str,
    pub count: u64,
    pub id: u32,
}

#[derive(Serialize, Debug)]
pub struct CheckJson {
    pub key: &'static str,
    pub label: String,
    pub detail: String,
    pub count: u64,
    pub size: u64,
    pub flagged: bool,
}

pub fn to_json(a: &Analysis, report: &LeakReport, file: &str) -> LeaksJson {
    let scripts = views::script_names(a);
    LeaksJson {
        schema: SCHEMA,
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

/// The names the three-snapshot document gives its snapshots (file names in the CLI).
pub struct ThreeSnapshotNames<'a> {
    pub baseline: &'a str,
    pub target: &'a str,
    pub last: &'a str,
}

/// The three-snapshot technique's document: objects new in TARGET since BASELINE (given as
/// id sets) and still alive in the analysed FINAL snapshot `a`, clustered by path shape,
/// each cluster a finding with its path, holder, strings and growth.
pub fn three_snapshot_json(
    baseline_ids: &IdSet,
    target_ids: &IdSet,
    a: &Analysis,
    options: &LeakClusterOptions,
    limit: usize,
    names: &ThreeSnapshotNames<'_>,
) -> LeaksJson {
    let found = find_leak_clusters(baseline_ids, target_ids, a, options);
    let retainers = a.retainers();
    let own = Ownership::compute(a);
    let scripts = views::script_names(a);
    let heap = a.retained[a.graph.root as usize];
    let findings: Vec<FindingJson> = found
        .clusters
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, c)| {
            let path = &c.representative_path;
            let holder = leaks::holder::find(a, &retainers, &own, path);
            let sample: Vec<u32> = c.objects.iter().copied().take(200).collect();
            let strings = leaks::strings::near(a, &own, &sample, 5);
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
                path: path_json(a, path),
                holder: holder.as_ref().map(|h| holder_json(a, &scripts, h)),
                strings: strings_json(a, &strings),
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
    LeaksJson {
        schema: SCHEMA,
        mode: "three-snapshot",
        file: names.last.to_string(),
        baseline: Some(names.baseline.to_string()),
        target: Some(names.target.to_string()),
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
    }
}
