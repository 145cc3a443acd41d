//! Analysed snapshots in memory: a small LRU. An analysis is not persisted yet, so after a
//! restart (or eviction) a ready snapshot is analysed again on its first request. One
//! analysis runs at a time, shared with the worker (`analysis_lock`): the machine's cores go
//! to that one, and two requests for the same snapshot do not analyse it twice.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use heapscope_analysis::{Analysis, Phase, Retainers};
use heapscope_format::{Loader, RawSnapshot};
use heapscope_store::Store;

/// One analysed snapshot and what every view needs besides.
pub struct Loaded {
    pub analysis: Analysis,
    pub retainers: Retainers,
    /// Script names by script id, for `file:line:column`.
    pub scripts: HashMap<u32, String>,
    /// The instances of the class listed last (by class key, largest retained first), so
    /// paging through a big class does not scan the heap again.
    pub last_instances: Mutex<Option<(String, Arc<Vec<u32>>)>>,
    /// The dominator-tree groups of the node listed last, for the same reason.
    pub last_groups: Mutex<Option<(u32, Arc<Vec<crate::api::Group>>)>>,
}

impl Loaded {
    pub fn new(analysis: Analysis) -> Loaded {
        let retainers = analysis.retainers();
        let scripts = heapscope_analysis::views::script_names(&analysis);
        Loaded {
            analysis,
            retainers,
            scripts,
            last_instances: Mutex::new(None),
            last_groups: Mutex::new(None),
        }
    }
}

pub struct Cache {
    store: Arc<Store>,
    capacity: usize,
    /// Most recently used last.
    entries: Mutex<Vec<(i64, Arc<Loaded>)>>,
    /// Held while an analysis runs.
    pub analysis_lock: Mutex<()>,
}

impl Cache {
    pub fn new(store: Arc<Store>, capacity: usize) -> Cache {
        Cache {
            store,
            capacity: capacity.max(1),
            entries: Mutex::new(Vec::new()),
            analysis_lock: Mutex::new(()),
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
    }

    /// The analysed snapshot `id` (whose file is `file` under the data directory), analysing
    /// it now if it is not in memory. Blocking: call from a blocking thread.
    pub fn get_or_analyze(&self, id: i64, file: &str) -> Result<Arc<Loaded>> {
        if let Some(l) = self.get(id) {
            return Ok(l);
        }
        let _one_at_a_time = self.analysis_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Another request may have analysed it while we waited.
        if let Some(l) = self.get(id) {
            return Ok(l);
        }
        let raw = read_file(&self.store.dir().join(file), &mut |_| {})?;
        let loaded = Arc::new(Loaded::new(Analysis::new(raw, &|_| {})));
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
