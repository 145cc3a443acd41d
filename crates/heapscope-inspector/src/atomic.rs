//! Files that appear under their final name only when complete: written to `NAME.part` in
//! the same directory (so the rename cannot cross file systems), fsynced, then renamed. A
//! capture that fails or is interrupted leaves no half-written file under the final name,
//! and the partial one is removed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{InspectorError, Result};

/// Large enough that each `write` syscall moves a useful amount; snapshot chunks are small.
const WRITE_BUFFER: usize = 1 << 20;

pub struct AtomicFile {
    writer: Option<BufWriter<File>>,
    part: PathBuf,
    target: PathBuf,
    written: u64,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let mut part_name = target.file_name().unwrap_or_default().to_os_string();
        if part_name.is_empty() {
            return Err(InspectorError::io(
                "cannot write to",
                target,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            ));
        }
        part_name.push(".part");
        let part = target.with_file_name(part_name);
        let file =
            File::create(&part).map_err(|e| InspectorError::io("cannot create", &part, e))?;
        Ok(AtomicFile {
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            part,
            target: target.to_path_buf(),
            written: 0,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let writer = self.writer.as_mut().expect("written after commit");
        writer
            .write_all(bytes)
            .map_err(|e| InspectorError::io("cannot write", &self.part, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The `NAME.part` file being written. Another writer may fill it (the in-target
    /// capture has the target write into it): the file keeps our ownership and mode, and
    /// `commit` still fsyncs and renames it, or `drop` removes it.
    pub fn part_path(&self) -> &Path {
        &self.part
    }

    /// Flushes, fsyncs and renames into place; returns the final path.
    pub fn commit(mut self) -> Result<PathBuf> {
        let writer = self.writer.take().expect("committed twice");
        let file = writer
            .into_inner()
            .map_err(|e| InspectorError::io("cannot write", &self.part, e.into_error()))?;
        file.sync_all()
            .map_err(|e| InspectorError::io("cannot fsync", &self.part, e))?;
        drop(file);
        std::fs::rename(&self.part, &self.target)
            .map_err(|e| InspectorError::io("cannot rename into place", &self.target, e))?;
        // The rename itself is durable only once the directory is synced; failing to open
        // a directory (some file systems) is not worth failing a finished capture over.
        let dir = self
            .target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(self.target.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_under_the_final_name_until_commit() {
        let dir = std::env::temp_dir().join(format!("heapscope-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("x.heapsnapshot");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write(b"{}").unwrap();
        assert!(!target.exists());
        assert!(dir.join("x.heapsnapshot.part").exists());
        assert_eq!(f.commit().unwrap(), target);
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        assert!(!dir.join("x.heapsnapshot.part").exists());

        let abandoned = dir.join("y.heapsnapshot");
        let mut f = AtomicFile::create(&abandoned).unwrap();
        f.write(b"{").unwrap();
        drop(f);
        assert!(!abandoned.exists() && !dir.join("y.heapsnapshot.part").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
