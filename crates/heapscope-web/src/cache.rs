//! Analysed snapshots: a small in-memory LRU over the persisted sidecars.
//!
//! The worker analyses a snapshot once and saves the analysis — with the web's own indexes,
//! each class's instances and the ×N groups of very wide dominator levels — as a sidecar in
//! `DIR/cache` (`heapscope_store::sidecar`). After a restart or an eviction the sidecar is
//! read back (seconds for a 1 GB snapshot, against a minute of analysis), and the Summary
//! and Statistics views answer from the sidecar's first section at once while the rest
//! loads. One load or analysis runs at a time (`analysis_lock`): the machine's cores go to
//! that one, and two requests for the same snapshot do not do the work twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use heapscope_analysis::name_search::NameIndex;
use heapscope_analysis::{views, Analysis, ClassMembers, Phase, Retainers};
use heapscope_format::{Loader, RawSnapshot};
use heapscope_store::sidecar::{self, Extras, Fingerprint, Overview, WideGroups};
use heapscope_store::Store;

use crate::api::Group;

/// Dominator-tree levels at least this wide are grouped ahead of time: grouping costs
/// about half a microsecond a child, so narrower levels group within a few milliseconds.
pub const WIDE_LEVEL: usize = 20_000;

/// One analysed snapshot and what every view needs besides.
pub struct Loaded {
    pub analysis: Analysis,
    pub retainers: Retainers,
    /// Script names by script id, for `file:line:column`.
    pub scripts: HashMap<u32, String>,
    /// The Summary and Statistics views' data.
    pub overview: Arc<Overview>,
    /// Each Summary class's instances, largest retained first.
    pub class_members: ClassMembers,
    /// Nodes by name string, for the name search.
    pub names: NameIndex,
    /// The groups of the widest dominator levels, computed ahead.
    pub wide_groups: WideGroups,
    /// The dominator-tree groups of the node listed last, so paging through it does not
    /// group its children again.
    pub last_groups: Mutex<Option<(u32, Arc<Vec<Group>>)>>,
}

impl Loaded {
    /// Adds the views' indexes to an analysis, computing those not given.
    pub fn new(
        analysis: Analysis,
        class_members: Option<ClassMembers>,
        wide_groups: Option<WideGroups>,
    ) -> Loaded {
        let a = &analysis;
        // Independent passes over the graph: one per core.
        let ((retainers, names), (class_members, (wide_groups, scripts))) = rayon::join(
            || rayon::join(|| a.retainers(), || NameIndex::build(a)),
            || {
                rayon::join(
                    || class_members.unwrap_or_else(|| ClassMembers::build(a)),
                    || {
                        (
                            wide_groups
                                .unwrap_or_else(|| views::wide_dominator_groups(a, WIDE_LEVEL)),
                            views::script_names(a),
                        )
                    },
                )
            },
        );
        Loaded {
            overview: Arc::new(Overview::of(&analysis)),
            analysis,
            retainers,
            scripts,
            class_members,
            names,
            wide_groups,
            last_groups: Mutex::new(None),
        }
    }

    /// The precomputed groups of `node`'s children, if its level is a wide one.
    pub fn wide_groups_of(&self, node: u32) -> Option<Arc<Vec<Group>>> {
        self.wide_groups
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, g)| g.clone())
    }

    /// Saves the analysis and its indexes as the snapshot's sidecar.
    pub fn save(&self, path: &Path, fp: &Fingerprint) -> Result<()> {
        sidecar::save(
            path,
            fp,
            &self.analysis,
            Extras {
                class_members: Some(&self.class_members),
                wide_groups: Some(&self.wide_groups),
            },
        )
    }
}

pub struct Cache {
    store: Arc<Store>,
    capacity: usize,
    /// Most recently used last.
    entries: Mutex<Vec<(i64, Arc<Loaded>)>>,
    /// Summary data of snapshots read from their sidecars, for the views that need no graph.
    overviews: Mutex<HashMap<i64, Arc<Overview>>>,
    /// Held while an analysis runs.
    pub analysis_lock: Mutex<()>,
    /// Snapshots being loaded in the background by [`Cache::warm_up`].
    warming: Mutex<std::collections::HashSet<i64>>,
}

impl Cache {
    pub fn new(store: Arc<Store>, capacity: usize) -> Cache {
        Cache {
            store,
            capacity: capacity.max(1),
            entries: Mutex::new(Vec::new()),
            overviews: Mutex::new(HashMap::new()),
            analysis_lock: Mutex::new(()),
            warming: Mutex::new(Default::default()),
        }
    }

    pub fn get(&self, id: i64) -> Option<Arc<Loaded>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let i = entries.iter().position(|e| e.0 == id)?;
        let entry = entries.remove(i);
        let loaded = entry.1.clone();
        entries.push(entry);
        Some(loaded)
    }

    pub fn insert(&self, id: i64, loaded: Arc<Loaded>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.0 != id);
        entries.push((id, loaded));
        while entries.len() > self.capacity {
            entries.remove(0);
        }
    }

    pub fn remove(&self, id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.0 != id);
        let mut overviews = self.overviews.lock().unwrap_or_else(|p| p.into_inner());
        overviews.remove(&id);
    }

    /// Where the sidecar of the snapshot file `file` (relative to the data directory) lives.
    pub fn sidecar_of(&self, file: &str) -> Result<(PathBuf, Fingerprint)> {
        let fp = Fingerprint::of_file(&self.store.dir().join(file))?;
        let path = sidecar::path_for(&sidecar::cache_dir(self.store.dir()), &fp);
        Ok((path, fp))
    }

    /// Loads snapshot `id` into memory on a background thread (once, however often asked),
    /// so the views after the first find it ready.
    pub fn warm_up(self: &Arc<Self>, id: i64, file: &str) {
        if self.get(id).is_some() {
            return;
        }
        let mut warming = self.warming.lock().unwrap_or_else(|p| p.into_inner());
        if !warming.insert(id) {
            return;
        }
        let (cache, file) = (self.clone(), file.to_string());
        let spawned = std::thread::Builder::new()
            .name("heapscope-warm-up".into())
            .spawn(move || {
                if let Err(e) = cache.get_or_analyze(id, &file) {
                    eprintln!("heapscope serve: loading #{id} failed: {e:#}");
                }
                let mut warming = cache.warming.lock().unwrap_or_else(|p| p.into_inner());
                warming.remove(&id);
            });
        if spawned.is_err() {
            warming.remove(&id);
        }
    }

    /// Deletes the sidecar of the snapshot file `file` (before the file itself goes).
    pub fn remove_sidecar(&self, file: &str) {
        if let Ok((path, _)) = self.sidecar_of(file) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The Summary view's data of snapshot `id`: from memory, or from the start of its
    /// sidecar (milliseconds, whatever the snapshot's size). `None` when neither has it.
    pub fn overview(&self, id: i64, file: &str) -> Option<Arc<Overview>> {
        if let Some(l) = self.get(id) {
            return Some(l.overview.clone());
        }
        let mut overviews = self.overviews.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = overviews.get(&id) {
            return Some(o.clone());
        }
        let (path, fp) = self.sidecar_of(file).ok()?;
        let o = Arc::new(sidecar::load_overview(&path, &fp).ok()??);
        overviews.insert(id, o.clone());
        Some(o)
    }

    /// The analysed snapshot `id` (whose file is `file` under the data directory), read from
    /// its sidecar or analysed now if it is not in memory. Blocking: call from a blocking
    /// thread.
    pub fn get_or_analyze(&self, id: i64, file: &str) -> Result<Arc<Loaded>> {
        if let Some(l) = self.get(id) {
            return Ok(l);
        }
        let _one_at_a_time = self.analysis_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Another request may have analysed it while we waited.
        if let Some(l) = self.get(id) {
            return Ok(l);
        }
        let (path, fp) = self.sidecar_of(file)?;
        let restored = match sidecar::load(&path, &fp) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("heapscope serve: analysing #{id} again: {e:#}");
                None
            }
        };
        let loaded = match restored {
            Some(r) => Loaded::new(r.analysis, r.class_members, r.wide_groups),
            None => {
                let raw = read_file(&self.store.dir().join(file), &mut |_| {})?;
                let loaded = Loaded::new(Analysis::new(raw, &|_| {}), None, None);
                if let Err(e) = loaded.save(&path, &fp) {
                    eprintln!("heapscope serve: the analysis of #{id} was not saved: {e:#}");
                }
                loaded
            }
        };
        let loaded = Arc::new(loaded);
        self.insert(id, loaded.clone());
        Ok(loaded)
    }
}

/// Reads and parses a snapshot file, telling `progress` the fraction read.
pub fn read_file(path: &Path, progress: &mut dyn FnMut(f64)) -> Result<RawSnapshot> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0).max(1);
    let mut loader = Loader::new();
    let mut buf = vec![0u8; 4 << 20];
    let mut read = 0u64;
    let mut last_reported = 0.0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        loader
            .push(&buf[..n])
            .context("not a valid heap snapshot")?;
        let fraction = read as f64 / len as f64;
        if fraction - last_reported >= 0.02 {
            last_reported = fraction;
            progress(fraction);
        }
    }
    loader.finish().context("not a valid heap snapshot")
}

/// Where each analysis phase starts, as a fraction of the analysis part of the work.
pub fn phase_fraction(phase: Phase) -> f64 {
    let index = match phase {
        Phase::EdgeIndexes => 0,
        Phase::DomState => 1,
        Phase::Flags => 2,
        Phase::EssentialEdges => 3,
        Phase::ShallowSizes => 4,
        Phase::DominatorsDistancesNames => 5,
        Phase::Aggregates => 7,
        Phase::Statistics => 8,
    };
    index as f64 / 9.0
}
