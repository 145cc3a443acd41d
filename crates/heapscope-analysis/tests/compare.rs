//! Comparing snapshots on the series fixtures (fixtures/README.md, "Series fixtures"):
//! `grow-leak` leaks a `RequestRecord` in a Map and a `'shutdown'` listener per request,
//! 200 requests per round, a snapshot after each of 4 rounds; `grow-healthy` is the same
//! service without the bugs.
//!
//! The Comparison must equal DevTools' own (`golden/<series>.diff-1-4.json.gz`, written by
//! fixtures/devtools-diff.sh): every class row, count, size and id.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use heapscope_analysis::compare::{self, IdIndex, LeakClusterOptions, TrendOptions};
use heapscope_analysis::Analysis;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn parse(name: &str) -> heapscope_format::RawSnapshot {
    let bytes =
        std::fs::read(fixtures().join(format!("snapshots/{name}.heapsnapshot.gz"))).unwrap();
    let mut loader = heapscope_format::Loader::new();
    loader.push(&bytes).unwrap();
    loader.finish().unwrap()
}

fn analyze(name: &str) -> Analysis {
    Analysis::new(parse(name), &|_| {})
}

/// Id indexes of a series, extracted once per test binary.
fn indexes(series: &str) -> &'static Vec<IdIndex> {
    static LEAK: OnceLock<Vec<IdIndex>> = OnceLock::new();
    static HEALTHY: OnceLock<Vec<IdIndex>> = OnceLock::new();
    let cell = match series {
        "grow-leak" => &LEAK,
        "grow-healthy" => &HEALTHY,
        _ => unreachable!(),
    };
    cell.get_or_init(|| {
        (1..=4)
            .map(|k| IdIndex::new(&analyze(&format!("{series}.{k}"))))
            .collect()
    })
}

fn golden_diff(series: &str) -> Value {
    let path = fixtures().join(format!("golden/{series}.diff-1-4.json.gz"));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn check_against_devtools(series: &str) {
    let base = &indexes(series)[0];
    let last = analyze(&format!("{series}.4"));
    let current = IdIndex::new(&last);
    let defs = compare::interface_definitions(&last);
    let diff = compare::compare(base, &current, &defs);
    assert!(diff.matched_by_id, "{series}: {:?}", diff.process);

    let golden = golden_diff(series);
    let want: BTreeMap<&str, &Value> = golden["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c))
        .collect();
    let got: BTreeMap<&str, &compare::ClassDiff> =
        diff.classes.iter().map(|c| (c.key.as_str(), c)).collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{series}: class rows"
    );
    for (key, w) in want {
        let g = got[key];
        assert_eq!(g.name, w["name"].as_str().unwrap(), "{series} {key}: name");
        assert_eq!(
            g.added_count,
            w["added_count"].as_u64().unwrap(),
            "{series} {key}: # new"
        );
        assert_eq!(
            g.removed_count,
            w["removed_count"].as_u64().unwrap(),
            "{series} {key}: # deleted"
        );
        assert_eq!(
            g.added_size,
            w["added_size"].as_u64().unwrap(),
            "{series} {key}: alloc. size"
        );
        assert_eq!(
            g.removed_size,
            w["removed_size"].as_u64().unwrap(),
            "{series} {key}: freed size"
        );
        assert_eq!(
            g.count_delta(true),
            w["count_delta"].as_i64().unwrap(),
            "{series} {key}"
        );
        assert_eq!(
            g.size_delta(true),
            w["size_delta"].as_i64().unwrap(),
            "{series} {key}"
        );
        let ids = |v: &Value| -> Vec<u32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        };
        let added: Vec<u32> = g.added.iter().map(|o| o.id).collect();
        assert_eq!(added, ids(&w["added_ids"]), "{series} {key}: new ids");
        assert_eq!(
            g.deleted_ids,
            ids(&w["deleted_ids"]),
            "{series} {key}: deleted ids"
        );
    }
}

#[test]
fn comparison_matches_devtools_on_the_leaking_series() {
    check_against_devtools("grow-leak");
}

#[test]
fn comparison_matches_devtools_on_the_healthy_series() {
    check_against_devtools("grow-healthy");
}

#[test]
fn leaking_classes_grow_by_exactly_the_leaked_requests() {
    let leak = indexes("grow-leak");
    let last = analyze("grow-leak.4");
    let diff = compare::compare(
        &leak[0],
        &IdIndex::new(&last),
        &compare::interface_definitions(&last),
    );
    let record = diff
        .classes
        .iter()
        .find(|c| c.name == "RequestRecord")
        .unwrap();
    // Rounds 2, 3 and 4: 600 new records, none freed; 800 in all at the end.
    assert_eq!((record.added_count, record.removed_count), (600, 0));
    assert_eq!((record.base_count, record.current_count), (200, 800));
    assert!(record.retained_delta() > 0);
    assert_eq!(record.added.len(), 600);
}

#[test]
fn snapshots_of_different_processes_are_detected() {
    let leak = &indexes("grow-leak")[0];
    let healthy = &indexes("grow-healthy")[3];
    let check = compare::check_same_process(leak, healthy);
    assert!(!check.ids_comparable(), "{check:?}");
    assert!(check
        .problem
        .as_ref()
        .unwrap()
        .contains("different processes"));
    // Class-level comparison still works.
    let last = analyze("grow-healthy.4");
    let diff = compare::compare(
        leak,
        &IdIndex::new(&last),
        &compare::interface_definitions(&last),
    );
    assert!(!diff.matched_by_id);
    let record = diff
        .classes
        .iter()
        .find(|c| c.name == "RequestRecord")
        .unwrap();
    assert_eq!((record.base_count, record.current_count), (200, 0));
    assert_eq!(record.count_delta(false), -200);

    let light = compare::check_same_process(&compare::IdSet::new(&parse("grow-leak.1")), healthy);
    assert_eq!(light, check);

    // Within one process, consecutive snapshots are comparable, and order matters.
    let series = indexes("grow-leak");
    assert!(compare::check_same_process(&series[0], &series[1]).ids_comparable());
    let backwards = compare::check_same_process(&series[3], &series[0]);
    assert!(!backwards.ids_comparable(), "{backwards:?}");
}

#[test]
fn three_snapshot_clusters_find_the_two_leaks_of_the_leaking_series() {
    let series = indexes("grow-leak");
    let last = analyze("grow-leak.4");
    // BASELINE .2, TARGET .3, FINAL .4: round 3's 200 requests leaked.
    let found = compare::find_leak_clusters(
        &series[1],
        &series[2],
        &last,
        &LeakClusterOptions::default(),
    );
    assert!(found.problem.is_none(), "{:?}", found.problem);
    for c in &found.clusters {
        eprintln!(
            "{:>4} {:>8} base {} after {}  {}",
            c.count, c.retained_size, c.in_baseline, c.added_after_target, c.shape_text
        );
    }
    let records = found
        .clusters
        .iter()
        .find(|c| c.class_name == "RequestRecord")
        .expect("a RequestRecord cluster");
    assert_eq!(records.count, 200, "{}", records.shape_text);
    assert_eq!(
        (records.in_baseline, records.added_after_target),
        (400, 200)
    );
    let listeners = found
        .clusters
        .iter()
        .find(|c| c.shape_text.ends_with(".shutdown → Array [] → Function"))
        .expect("a listener cluster");
    assert_eq!(listeners.count, 200, "{}", listeners.shape_text);
    // The two leaks are the largest findings, and all there is: the listener closures (they
    // hold each request's context with req/res), the records, and the Map's `req-<n>` keys.
    assert!(found
        .clusters
        .iter()
        .take(2)
        .any(|c| c.class_name == "RequestRecord"));
    let shapes: Vec<&String> = found.clusters.iter().map(|c| &c.shape_text).collect();
    assert_eq!(found.clusters.len(), 3, "{shapes:?}");
    assert!(found.clusters.iter().all(|c| c.count == 200));
    let first = &found.clusters[0];
    assert_eq!(
        first.representative_path.nodes.last(),
        Some(&first.representative())
    );

    // BASELINE and TARGET read as bare id sets (no analysis) give the same clusters.
    let baseline = compare::IdSet::new(&parse("grow-leak.2"));
    let target = compare::IdSet::new(&parse("grow-leak.3"));
    let light =
        compare::find_leak_clusters(&baseline, &target, &last, &LeakClusterOptions::default());
    let summary = |c: &compare::LeakCluster| {
        (
            c.shape_text.clone(),
            c.count,
            c.retained_size,
            c.in_baseline,
            c.added_after_target,
        )
    };
    assert_eq!(
        light.clusters.iter().map(summary).collect::<Vec<_>>(),
        found.clusters.iter().map(summary).collect::<Vec<_>>()
    );
    assert_eq!(light.survivors, found.survivors);
}

#[test]
fn three_snapshot_clusters_are_small_on_the_healthy_series() {
    let series = indexes("grow-healthy");
    let last = analyze("grow-healthy.4");
    let found = compare::find_leak_clusters(
        &series[1],
        &series[2],
        &last,
        &LeakClusterOptions::default(),
    );
    assert!(found.problem.is_none(), "{:?}", found.problem);
    for c in &found.clusters {
        eprintln!("{:>4} {:>8} {}", c.count, c.retained_size, c.shape_text);
        assert!(
            c.count < 5,
            "healthy series has a cluster of {}: {}",
            c.count,
            c.shape_text
        );
    }
    // A timer list and its id (the keep-alive agent's timers), nothing per request.
    assert!(found.clusters.len() <= 3);
}

#[test]
fn trend_flags_the_growing_classes_and_collections() {
    let series = indexes("grow-leak");
    let last = analyze("grow-leak.4");
    let t = compare::trend(&series[..3], &last, &TrendOptions::default());
    assert!(t.problem.is_none(), "{:?}", t.problem);
    let record = t
        .classes
        .iter()
        .find(|c| c.name == "RequestRecord")
        .unwrap();
    assert_eq!(record.counts, vec![200, 400, 600, 800]);
    assert!(record.count_grows() && record.retained_grows());
    for g in &t.growing_collections {
        eprintln!(
            "{} {:?} {} {:?}",
            g.kind.label(),
            g.entries,
            g.class_name,
            g.id
        );
    }
    let map = t
        .growing_collections
        .iter()
        .find(|g| g.class_name == "Map")
        .expect("the recentRequests Map grows");
    assert_eq!(
        map.entries,
        vec![Some(200), Some(400), Some(600), Some(800)]
    );
    assert!(map.path.is_some());
    let records = t
        .survivors
        .iter()
        .find(|s| s.name == "RequestRecord")
        .unwrap();
    // Allocated in rounds 2 and 3 and alive since (round 4's are only in the last snapshot).
    assert_eq!(records.by_first_snapshot, vec![0, 200, 200, 0]);

    let healthy = indexes("grow-healthy");
    let last = analyze("grow-healthy.4");
    let t = compare::trend(&healthy[..3], &last, &TrendOptions::default());
    assert!(t.classes.iter().all(|c| c.name != "RequestRecord"));
    assert!(
        t.growing_collections
            .iter()
            .all(|g| g.entries.iter().flatten().last() < Some(&50)),
        "{:?}",
        t.growing_collections
            .iter()
            .map(|g| (&g.class_name, &g.entries))
            .collect::<Vec<_>>()
    );
}
