//! The CLI's use of analysis sidecars (`heapscope_store::sidecar`): a snapshot analysed once
//! is read back on the next command instead of being parsed and analysed again.
//!
//! Sidecars live in the data directory's `cache/` — the one `heapscope serve` uses, so a
//! snapshot the console analysed is already cached for the CLI. A file inside a console's
//! data directory (`DIR/snapshots/…`) uses that directory; any other file the default one.
//! `--no-cache` (or `HEAPSCOPE_NO_CACHE=1`) skips reading and writing. A cache that cannot
//! be read or written costs a warning, never the command.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use heapscope_analysis::Analysis;
use heapscope_store::sidecar::{self, Extras, Fingerprint, Overview};
use indicatif::ProgressBar;

/// The cache directory keeps at most this many bytes; the least recently used go first.
const MAX_CACHE_BYTES: u64 = 16 << 30;

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Called once from `main` with the global `--no-cache` flag.
pub fn configure(no_cache: bool) {
    let env_off = std::env::var_os("HEAPSCOPE_NO_CACHE").is_some_and(|v| v != "0" && !v.is_empty());
    DISABLED.store(no_cache || env_off, Ordering::Relaxed);
}

/// The cache entry for one snapshot file.
pub struct Lookup {
    fingerprint: Fingerprint,
    sidecar: PathBuf,
}

impl Lookup {
    /// `None` when caching is off, for stdin, or when the file cannot be fingerprinted (the
    /// load that follows then reports the real problem).
    pub fn new(snapshot: &Path) -> Option<Lookup> {
        if DISABLED.load(Ordering::Relaxed) || snapshot.as_os_str() == "-" {
            return None;
        }
        let fingerprint = Fingerprint::of_file(snapshot).ok()?;
        let data_dir = console_data_dir(snapshot).unwrap_or_else(heapscope_store::default_dir);
        let sidecar = sidecar::path_for(&sidecar::cache_dir(&data_dir), &fingerprint);
        Some(Lookup {
            fingerprint,
            sidecar,
        })
    }

    /// The cached analysis, if there is a valid one.
    pub fn load(&self) -> Option<Analysis> {
        let spinner = spinner("reading the cached analysis");
        let result = sidecar::load(&self.sidecar, &self.fingerprint);
        spinner.finish_and_clear();
        match result {
            Ok(Some(restored)) => {
                sidecar::touch(&self.sidecar);
                Some(restored.analysis)
            }
            Ok(None) => None,
            Err(e) => {
                eprintln!("heapscope: warning: ignoring a damaged analysis cache: {e:#}");
                None
            }
        }
    }

    /// The Summary view's data alone, if there is a valid cached analysis.
    pub fn load_overview(&self) -> Option<Overview> {
        match sidecar::load_overview(&self.sidecar, &self.fingerprint) {
            Ok(Some(o)) => {
                sidecar::touch(&self.sidecar);
                Some(o)
            }
            Ok(None) => None,
            Err(e) => {
                eprintln!("heapscope: warning: ignoring a damaged analysis cache: {e:#}");
                None
            }
        }
    }

    /// Caches `a`, then trims the cache directory.
    pub fn save(&self, a: &Analysis) {
        let spinner = spinner("caching the analysis");
        let result = sidecar::save(&self.sidecar, &self.fingerprint, a, Extras::default());
        spinner.finish_and_clear();
        match result {
            Ok(()) => {
                if let Some(dir) = self.sidecar.parent() {
                    sidecar::evict(dir, MAX_CACHE_BYTES, &self.sidecar);
                }
            }
            Err(e) => eprintln!(
                "heapscope: warning: the analysis was not cached ({e:#}); pass --no-cache to \\
                 skip caching"
            ),
        }
    }
}

/// The console data directory holding `snapshot`, if it is one of a console's snapshots.
fn console_data_dir(snapshot: &Path) -> Option<PathBuf> {
    let dir = snapshot.canonicalize().ok()?.parent()?.to_path_buf();
    if dir.file_name()? != "snapshots" {
        return None;
    }
    let data = dir.parent()?;
    data.join(heapscope_store::DATABASE)
        .exists()
        .then(|| data.to_path_buf())
}

fn spinner(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
