//! The analysis cache: a second command reads the saved analysis instead of analysing again,
//! with identical output; `--no-cache` neither reads nor writes; a damaged cache file is
//! reported and replaced; a snapshot inside a console's data directory uses that directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{heapscope_in, snapshot};

fn fresh_home(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heapscope-cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sidecars(cache: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(cache) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn ok(out: Output) -> (String, String) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_second_command_reads_the_cache_with_identical_output() {
    let home = fresh_home("reuse");
    let cache = home.join("heapscope/cache");
    let f = snapshot("smtp-leak");
    let f = f.to_str().unwrap();
    let (first, _) = ok(heapscope_in(&home, &["summary", f, "--json"]));
    let saved = sidecars(&cache);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (second, _) = ok(heapscope_in(&home, &["summary", f, "--json"]));
    assert_eq!(first, second);

    // Commands that need the whole graph read it back and agree with a fresh analysis.
    for args in [
        vec!["leaks", f, "--json"],
        vec!["stats", f, "--json"],
        vec!["dominators", f, "--depth", "3"],
    ] {
        let (cached, _) = ok(heapscope_in(&home, &args));
        let mut fresh_args = args.clone();
        fresh_args.push("--no-cache");
        let (fresh, _) = ok(heapscope_in(&home, &fresh_args));
        assert_eq!(cached, fresh, "{args:?}");
    }
    assert_eq!(sidecars(&cache), saved);

    // Damaged: a warning, the right answer, and a good cache file again.
    let bytes = std::fs::read(&saved[0]).unwrap();
    std::fs::write(&saved[0], &bytes[..bytes.len() - 100]).unwrap();
    let (stats, stderr) = ok(heapscope_in(&home, &["stats", f, "--json"]));
    assert!(stderr.contains("damaged analysis cache"), "{stderr}");
    assert!(stderr.contains("byte offset"), "{stderr}");
    let (fresh, _) = ok(heapscope_in(&home, &["stats", f, "--json", "--no-cache"]));
    assert_eq!(stats, fresh);
    assert_eq!(std::fs::read(&saved[0]).unwrap().len(), bytes.len());
}

#[test]
fn no_cache_writes_nothing() {
    let home = fresh_home("off");
    let f = snapshot("plain-healthy");
    ok(heapscope_in(
        &home,
        &["summary", f.to_str().unwrap(), "--no-cache"],
    ));
    assert!(!home.join("heapscope").exists());
}

#[test]
fn a_snapshot_of_a_console_data_directory_uses_its_cache() {
    let home = fresh_home("console-home");
    let data = fresh_home("console-data");
    std::fs::create_dir_all(data.join("snapshots")).unwrap();
    std::fs::write(data.join(heapscope_store_db()), b"").unwrap();
    let f = data.join("snapshots/7.heapsnapshot.gz");
    std::fs::copy(snapshot("plain-healthy"), &f).unwrap();
    ok(heapscope_in(&home, &["stats", f.to_str().unwrap()]));
    assert_eq!(sidecars(&data.join("cache")).len(), 1);
    assert!(!home.join("heapscope").exists());
}

/// The console's database file name (a console data directory is recognised by it).
fn heapscope_store_db() -> &'static str {
    "heapscope.sqlite3"
}
