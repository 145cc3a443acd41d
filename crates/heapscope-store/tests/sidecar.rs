//! Sidecars round-trip every fixture exactly, and damaged or foreign files are refused with
//! a message, never trusted.

use std::io::Read;
use std::path::{Path, PathBuf};

use heapscope_analysis::{views, Analysis, ClassMembers};
use heapscope_store::sidecar::{self, Extras, Fingerprint, Overview};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/snapshots")
        .join(format!("{name}.heapsnapshot.gz"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heapscope-sidecar-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn analyse(bytes: &[u8]) -> Analysis {
    Analysis::new(heapscope_format::load_bytes(bytes).unwrap(), &|_| {})
}

fn assert_same(a: &Analysis, b: &Analysis, name: &str) {
    let (ra, rb) = (&a.graph.raw, &b.graph.raw);
    assert_eq!(ra.nodes.kind, rb.nodes.kind, "{name}: kinds");
    assert_eq!(ra.nodes.name, rb.nodes.name, "{name}: names");
    assert_eq!(ra.nodes.id, rb.nodes.id, "{name}: ids");
    assert_eq!(
        ra.nodes.self_size, rb.nodes.self_size,
        "{name}: shallow sizes"
    );
    assert_eq!(ra.nodes.trace_node_id, rb.nodes.trace_node_id, "{name}");
    assert_eq!(ra.edges.kind, rb.edges.kind, "{name}: edge kinds");
    assert_eq!(ra.edges.name_or_index, rb.edges.name_or_index, "{name}");
    assert_eq!(ra.edges.to_node, rb.edges.to_node, "{name}: edge targets");
    assert_eq!(ra.strings.len(), rb.strings.len(), "{name}: strings");
    for i in 0..ra.strings.len() as u32 {
        assert_eq!(ra.strings.get(i), rb.strings.get(i), "{name}: string {i}");
    }
    assert_eq!(ra.samples, rb.samples, "{name}: samples");
    assert_eq!(ra.trace_function_infos, rb.trace_function_infos, "{name}");
    assert_eq!(a.graph.first_edge, b.graph.first_edge, "{name}");
    assert_eq!(a.graph.root, b.graph.root, "{name}: root");
    assert_eq!(a.first_retainer, b.first_retainer, "{name}: retainers");
    assert_eq!(a.detachedness, b.detachedness, "{name}");
    assert_eq!(a.idom, b.idom, "{name}: dominators");
    assert_eq!(a.retained, b.retained, "{name}: retained sizes");
    assert_eq!(a.distance, b.distance, "{name}: distances");
    assert_eq!(a.class_index, b.class_index, "{name}: class names");
    assert_eq!(a.dominator_tree.first, b.dominator_tree.first, "{name}");
    assert_eq!(
        a.dominator_tree.children, b.dominator_tree.children,
        "{name}"
    );
    assert_eq!(a.classes, b.classes, "{name}: summary");
    assert_eq!(a.statistics, b.statistics, "{name}: statistics");
    assert_eq!(a.locations(), b.locations(), "{name}: locations");
}

#[test]
fn every_fixture_round_trips_exactly() {
    let dir = temp_dir("roundtrip");
    for name in [
        "buffers-strings",
        "closures-classes",
        "collections",
        "inspector",
        "internals",
        "legacy-5fields",
        "smtp-leak",
        "tls-535-leak",
        "tracking",
        "grow-leak.4",
    ] {
        let bytes = fixture(name);
        let file = dir.join(format!("{name}.heapsnapshot"));
        std::fs::write(&file, &bytes).unwrap();
        let fp = Fingerprint::of_file(&file).unwrap();
        let a = analyse(&bytes);
        let members = ClassMembers::build(&a);
        let wide = views::wide_dominator_groups(&a, 50);
        let path = sidecar::path_for(&sidecar::cache_dir(&dir), &fp);
        let extras = Extras {
            class_members: Some(&members),
            wide_groups: Some(&wide),
        };
        sidecar::save(&path, &fp, &a, extras).unwrap();
        let parts = std::fs::read_dir(sidecar::cache_dir(&dir))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .ends_with(".part")
            })
            .count();
        assert_eq!(parts, 0, "{name}: no .part left");

        let overview = sidecar::load_overview(&path, &fp)
            .unwrap()
            .expect("fresh sidecar");
        assert_eq!(overview, Overview::of(&a), "{name}: overview");
        let restored = sidecar::load(&path, &fp).unwrap().expect("fresh sidecar");
        assert_same(&a, &restored.analysis, name);
        assert_eq!(restored.class_members, Some(members), "{name}: members");
        assert_eq!(restored.wide_groups, Some(wide), "{name}: wide levels");
    }
}

#[test]
fn another_file_or_version_is_a_miss_and_damage_is_an_error() {
    let dir = temp_dir("damage");
    let bytes = fixture("closures-classes");
    let file = dir.join("a.heapsnapshot");
    std::fs::write(&file, &bytes).unwrap();
    let fp = Fingerprint::of_file(&file).unwrap();
    let path = dir.join("a.hsa");
    sidecar::save(&path, &fp, &analyse(&bytes), Extras::default()).unwrap();

    // The same content elsewhere has the same fingerprint; one changed byte does not.
    let copy = dir.join("copy.heapsnapshot");
    std::fs::write(&copy, &bytes).unwrap();
    assert_eq!(Fingerprint::of_file(&copy).unwrap(), fp);
    let mut changed = bytes.clone();
    let last = changed.len() - 3;
    changed[last] = b' ';
    std::fs::write(&copy, &changed).unwrap();
    let other = Fingerprint::of_file(&copy).unwrap();
    assert_ne!(other, fp);
    assert!(sidecar::load(&path, &other).unwrap().is_none());

    // Cut short: an error naming the file and the offset, never a panic.
    let full = std::fs::read(&path).unwrap();
    for cut in [30, full.len() / 3, full.len() - 5] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let err = match sidecar::load(&path, &fp) {
            Err(e) => format!("{e:#}"),
            Ok(_) => panic!("a sidecar cut at {cut} bytes was accepted"),
        };
        assert!(
            err.contains("a.hsa") && err.contains("byte offset"),
            "{err}"
        );
    }

    // A wrong index deep in the graph is caught by the consistency checks.
    let mut bad = full.clone();
    let n = bad.len();
    bad[n - 200..n - 100].fill(0xff);
    std::fs::write(&path, &bad).unwrap();
    assert!(
        sidecar::load(&path, &fp).is_err(),
        "damaged sidecar accepted"
    );

    std::fs::write(&path, b"not a sidecar at all").unwrap();
    let err = format!("{:#}", sidecar::load(&path, &fp).err().unwrap());
    assert!(err.contains("not a heapscope analysis cache"), "{err}");
}

#[test]
fn eviction_removes_the_oldest_first_and_keeps_the_one_in_use() {
    let dir = temp_dir("evict");
    let old = dir.join("1.hsa");
    let newer = dir.join("2.hsa");
    let current = dir.join("3.hsa");
    for (p, age) in [(&old, 300), (&newer, 200), (&current, 100)] {
        std::fs::write(p, vec![0u8; 1000]).unwrap();
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        std::fs::File::options()
            .append(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    assert_eq!(sidecar::evict(&dir, 1500, &current), 2000);
    assert!(!old.exists() && !newer.exists() && current.exists());
}
