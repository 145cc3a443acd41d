//! Analysis sidecars: an analysed snapshot saved next to the store, so it is computed once.
//!
//! A sidecar is keyed by the snapshot's content (its length and a hash of its first and last
//! MiB), so the web console and the CLI find the same one for the same file wherever it
//! lies, and a changed file never gets a stale analysis. The file holds the costly per-node
//! arrays as flat little-endian columns (see `image` for the sections); reading it back is
//! a few sequential reads, an order of magnitude faster than parsing and analysing again.
//! Its first section is the Summary view alone, so a summary can be shown from a sidecar
//! without reading the rest.
//!
//! Sidecars are written to `NAME.part`, fsynced and renamed, and end with an `END.` marker;
//! a file with another version, another fingerprint or no end marker is ignored (and
//! replaced), never half-trusted.

mod codec;
mod image;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use heapscope_analysis::{Analysis, ClassAggregate, ClassMembers, Statistics};
use heapscope_format::SourceLocation;

use codec::{Reader, Writer};

const MAGIC: &[u8; 20] = b"heapscope-analysis\r\n";
/// Bumped whenever the sections' layout or the analysis they hold changes meaning.
pub const VERSION: u32 = 1;
const EXTENSION: &str = "hsa";
/// Bytes hashed at each end of the snapshot for its fingerprint.
const FINGERPRINT_SPAN: u64 = 1 << 20;

/// The ×N groups of wide dominator-tree levels: `(node, [(largest member, count, retained)])`.
pub type WideGroups = Vec<(u32, Arc<Vec<(u32, usize, u64)>>)>;

/// A snapshot's identity for caching: its length and a hash of its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub len: u64,
    pub hash: u64,
}

impl Fingerprint {
    /// Reads at most 2 MiB of `path`. Snapshots open with their node and edge counts and end
    /// with their strings, so two different snapshots agreeing on both ends and the length
    /// does not happen in practice.
    pub fn of_file(path: &Path) -> Result<Fingerprint> {
        let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = f.metadata()?.len();
        let mut hash = Fnv::new();
        hash.add(&len.to_le_bytes());
        let mut buf = vec![0u8; FINGERPRINT_SPAN as usize];
        let head = len.min(FINGERPRINT_SPAN) as usize;
        f.read_exact(&mut buf[..head])?;
        hash.add(&buf[..head]);
        if len > FINGERPRINT_SPAN {
            let tail_start = (len - FINGERPRINT_SPAN).max(FINGERPRINT_SPAN);
            let tail = (len - tail_start) as usize;
            f.seek(SeekFrom::Start(tail_start))?;
            f.read_exact(&mut buf[..tail])?;
            hash.add(&buf[..tail]);
        }
        Ok(Fingerprint {
            len,
            hash: hash.finish(),
        })
    }

    /// The sidecar's file name.
    pub fn file_name(&self) -> String {
        format!("{:016x}-{:x}.{EXTENSION}", self.hash, self.len)
    }
}

/// FNV-1a, 64 bits: tiny, stable across releases (unlike std's hasher), enough to tell files
/// apart (this is not a defence against crafted collisions: the cache is the user's own).
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the Summary and Statistics views show, without the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub node_count: u64,
    pub edge_count: u64,
    pub statistics: Statistics,
    pub classes: Vec<ClassAggregate>,
    /// The source location of each class's first instance, for located classes.
    pub class_locations: Vec<Option<SourceLocation>>,
}

impl Overview {
    pub fn of(a: &Analysis) -> Overview {
        Overview {
            node_count: a.node_count() as u64,
            edge_count: a.edge_count() as u64,
            statistics: a.statistics.clone(),
            classes: a.classes.clone(),
            class_locations: a
                .classes
                .iter()
                .map(|c| {
                    (!c.key.starts_with(','))
                        .then(|| a.location(c.first_node))
                        .flatten()
                })
                .collect(),
        }
    }
}

/// Indexes the web console adds to an analysis; the CLI does without them.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    pub class_members: Option<&'a ClassMembers>,
    pub wide_groups: Option<&'a WideGroups>,
}

/// A sidecar read back in full, with whichever indexes were saved.
pub struct Restored {
    pub analysis: Analysis,
    pub class_members: Option<ClassMembers>,
    pub wide_groups: Option<WideGroups>,
}

/// Where sidecars live: `DIR/cache` of a data directory.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache")
}

/// The sidecar of the snapshot with fingerprint `fp` in `cache`.
pub fn path_for(cache: &Path, fp: &Fingerprint) -> PathBuf {
    cache.join(fp.file_name())
}

/// Saves `a` (and the extras) as the sidecar `path` of the snapshot `fp`.
pub fn save(path: &Path, fp: &Fingerprint, a: &Analysis, extras: Extras<'_>) -> Result<()> {
    let dir = path.parent().context("a sidecar path has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Two processes may cache the same snapshot at once: each writes its own part file.
    let part = path.with_extension(format!("{EXTENSION}.{}.part", std::process::id()));
    let written = (|| -> Result<()> {
        let file =
            File::create(&part).with_context(|| format!("cannot create {}", part.display()))?;
        let mut w = Writer::new(file);
        w.raw(MAGIC)?;
        w.u32(VERSION)?;
        w.u64(fp.len)?;
        w.u64(fp.hash)?;
        w.begin_section(image::OVERVIEW)?;
        image::write_overview(&mut w, &Overview::of(a))?;
        w.end_section()?;
        w.begin_section(image::GRAPH)?;
        image::write_graph(&mut w, a)?;
        w.end_section()?;
        if let Some(m) = extras.class_members {
            w.begin_section(image::CLASS_MEMBERS)?;
            image::write_class_members(&mut w, m)?;
            w.end_section()?;
        }
        if let Some(g) = extras.wide_groups {
            w.begin_section(image::WIDE)?;
            image::write_wide(&mut w, g)?;
            w.end_section()?;
        }
        w.begin_section(image::END)?;
        w.end_section()?;
        let file = w.finish()?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(e.context(format!(
            "cannot write the analysis cache {}",
            part.display()
        )));
    }
    std::fs::rename(&part, path)
        .with_context(|| format!("cannot rename {} into place", part.display()))?;
    Ok(())
}

/// Opens `path` and checks its version and fingerprint: `None` when the sidecar is missing
/// or belongs to another version or file.
fn open(path: &Path, fp: &Fingerprint) -> Result<Option<Reader>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut r = Reader::open(path)?;
    let mut magic = [0u8; 20];
    if r.raw(&mut magic).is_err() || &magic != MAGIC {
        bail!("{} is not a heapscope analysis cache file", path.display());
    }
    if r.u32()? != VERSION || r.u64()? != fp.len || r.u64()? != fp.hash {
        return Ok(None);
    }
    Ok(Some(r))
}

/// The Summary view's data alone, read from the start of the sidecar.
pub fn load_overview(path: &Path, fp: &Fingerprint) -> Result<Option<Overview>> {
    let Some(mut r) = open(path, fp)? else {
        return Ok(None);
    };
    let (tag, len) = r.section()?;
    if &tag != image::OVERVIEW {
        return Err(r.error("the first section is not the overview"));
    }
    let end = r.position() + len;
    let overview = image::read_overview(&mut r)?;
    r.expect_at(end, "OVRV")?;
    Ok(Some(overview))
}

/// The whole analysis, with whatever extras were saved.
pub fn load(path: &Path, fp: &Fingerprint) -> Result<Option<Restored>> {
    let Some(mut r) = open(path, fp)? else {
        return Ok(None);
    };
    let mut overview = None;
    let mut analysis = None;
    let mut class_members = None;
    let mut wide_groups = None;
    loop {
        let (tag, len) = r.section()?;
        let end = r.position() + len;
        match (&tag, &analysis) {
            (image::END, _) => break,
            (image::OVERVIEW, _) => overview = Some(image::read_overview(&mut r)?),
            (image::GRAPH, _) => {
                let o = overview
                    .take()
                    .ok_or_else(|| r.error("the graph comes before the overview"))?;
                analysis = Some(image::read_graph(&mut r, o)?);
            }
            (image::CLASS_MEMBERS, Some(a)) => {
                class_members = Some(image::read_class_members(&mut r, a)?)
            }
            (image::WIDE, Some(a)) => wide_groups = Some(image::read_wide(&mut r, a)?),
            // A section this version does not know: skip it.
            _ => r.skip(len)?,
        }
        r.expect_at(end, &String::from_utf8_lossy(&tag))?;
    }
    let analysis = analysis.ok_or_else(|| r.error("the cache file has no graph section"))?;
    Ok(Some(Restored {
        analysis,
        class_members,
        wide_groups,
    }))
}

/// Deletes the oldest sidecars in `cache` (by modification time) until they take at most
/// `max_bytes`, never `keep`. Returns the bytes freed.
pub fn evict(cache: &Path, max_bytes: u64, keep: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return 0;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == EXTENSION))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    let mut freed = 0;
    for (_, len, path) in files {
        if total <= max_bytes {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
            freed += len;
        }
    }
    freed
}

/// Marks a sidecar as just used, so [`evict`] removes it last.
pub fn touch(path: &Path) {
    if let Ok(f) = File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}
