//! Little-endian primitives for sidecar files: fixed-width numbers, length-prefixed strings
//! and flat arrays, and tagged sections whose length is patched in after their payload.
//!
//! The reader knows the file's length and checks every length prefix against what is left
//! before allocating, so a damaged file gives an error naming the byte offset instead of an
//! enormous allocation or a panic.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Arrays are converted to bytes through a buffer of this size.
const CHUNK: usize = 1 << 20;

pub struct Writer {
    out: BufWriter<File>,
    /// Offset of the open section's length field.
    section_len_at: Option<u64>,
    position: u64,
}

impl Writer {
    pub fn new(file: File) -> Writer {
        Writer {
            out: BufWriter::with_capacity(CHUNK, file),
            section_len_at: None,
            position: 0,
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.raw(&[v])
    }

    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.raw(&v.to_le_bytes())
    }

    pub fn i32(&mut self, v: i32) -> Result<()> {
        self.raw(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> Result<()> {
        self.raw(&v.to_le_bytes())
    }

    pub fn i64(&mut self, v: i64) -> Result<()> {
        self.raw(&v.to_le_bytes())
    }

    pub fn str(&mut self, s: &str) -> Result<()> {
        self.u64(s.len() as u64)?;
        self.raw(s.as_bytes())
    }

    pub fn strs(&mut self, list: &[String]) -> Result<()> {
        self.u64(list.len() as u64)?;
        list.iter().try_for_each(|s| self.str(s))
    }

    pub fn bytes(&mut self, v: &[u8]) -> Result<()> {
        self.u64(v.len() as u64)?;
        self.raw(v)
    }

    /// A flat array: its length, then each element's little-endian bytes.
    pub fn array<T: Copy, const W: usize>(
        &mut self,
        v: &[T],
        to_le: impl Fn(T) -> [u8; W],
    ) -> Result<()> {
        self.u64(v.len() as u64)?;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
        for chunk in v.chunks(CHUNK / W) {
            buf.clear();
            for &x in chunk {
                buf.extend_from_slice(&to_le(x));
            }
            self.raw(&buf)?;
        }
        Ok(())
    }

    pub fn u32s(&mut self, v: &[u32]) -> Result<()> {
        self.array(v, u32::to_le_bytes)
    }

    pub fn begin_section(&mut self, tag: &[u8; 4]) -> Result<()> {
        self.raw(tag)?;
        self.section_len_at = Some(self.position);
        self.u64(0)
    }

    /// Writes the open section's payload length into its header.
    pub fn end_section(&mut self) -> Result<()> {
        let at = self.section_len_at.take().context("no open section")?;
        let len = self.position - at - 8;
        self.out.seek(SeekFrom::Start(at))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(self.position))?;
        Ok(())
    }

    pub fn finish(self) -> Result<File> {
        self.out.into_inner().map_err(|e| e.into_error().into())
    }
}

pub struct Reader {
    input: BufReader<File>,
    path: PathBuf,
    position: u64,
    len: u64,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = file.metadata()?.len();
        Ok(Reader {
            input: BufReader::with_capacity(CHUNK, file),
            path: path.to_path_buf(),
            position: 0,
            len,
        })
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.len - self.position
    }

    /// An error naming the file and the current byte offset.
    pub fn error(&self, what: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!(
            "{}: at byte offset {}: {what}",
            self.path.display(),
            self.position
        )
    }

    pub fn raw(&mut self, buf: &mut [u8]) -> Result<()> {
        if (buf.len() as u64) > self.len - self.position {
            return Err(self.error(format!(
                "expected {} more bytes, found {} (the file is truncated)",
                buf.len(),
                self.len - self.position
            )));
        }
        self.input.read_exact(buf)?;
        self.position += buf.len() as u64;
        Ok(())
    }

    fn fixed<const W: usize>(&mut self) -> Result<[u8; W]> {
        let mut b = [0u8; W];
        self.raw(&mut b)?;
        Ok(b)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.fixed::<1>()?[0])
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.fixed()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.fixed()?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.fixed()?))
    }

    /// A length prefix for elements of `width` bytes, checked against the bytes left.
    fn length(&mut self, width: u64, what: &str) -> Result<usize> {
        let n = self.u64()?;
        let left = self.len - self.position;
        if n.checked_mul(width).is_none_or(|bytes| bytes > left) {
            return Err(self.error(format!(
                "`{what}` claims {n} entries of {width} bytes, but only {left} bytes are left"
            )));
        }
        Ok(n as usize)
    }

    pub fn str(&mut self, what: &str) -> Result<String> {
        let n = self.length(1, what)?;
        let mut b = vec![0u8; n];
        self.raw(&mut b)?;
        String::from_utf8(b).map_err(|_| self.error(format!("`{what}` is not UTF-8")))
    }

    pub fn strs(&mut self, what: &str) -> Result<Vec<String>> {
        let n = self.length(8, what)?;
        (0..n).map(|_| self.str(what)).collect()
    }

    pub fn bytes(&mut self, what: &str) -> Result<Vec<u8>> {
        let n = self.length(1, what)?;
        let mut b = vec![0u8; n];
        self.raw(&mut b)?;
        Ok(b)
    }

    pub fn array<T: Copy + Default, const W: usize>(
        &mut self,
        what: &str,
        from_le: impl Fn([u8; W]) -> T,
    ) -> Result<Vec<T>> {
        let n = self.length(W as u64, what)?;
        let mut out: Vec<T> = Vec::with_capacity(n);
        let mut buf = vec![0u8; CHUNK - CHUNK % W];
        let mut left = n * W;
        while left > 0 {
            let take = left.min(buf.len());
            self.raw(&mut buf[..take])?;
            out.extend(
                buf[..take]
                    .chunks_exact(W)
                    .map(|c| from_le(c.try_into().expect("chunks_exact gives W bytes"))),
            );
            left -= take;
        }
        Ok(out)
    }

    pub fn u32s(&mut self, what: &str) -> Result<Vec<u32>> {
        self.array(what, u32::from_le_bytes)
    }

    /// The next section's tag and payload length.
    pub fn section(&mut self) -> Result<([u8; 4], u64)> {
        let tag = self.fixed::<4>()?;
        let len = self.u64()?;
        if len > self.len - self.position {
            return Err(self.error(format!(
                "section `{}` claims {len} bytes, but only {} are left",
                String::from_utf8_lossy(&tag),
                self.len - self.position
            )));
        }
        Ok((tag, len))
    }

    pub fn skip(&mut self, len: u64) -> Result<()> {
        self.input.seek_relative(len as i64)?;
        self.position += len;
        Ok(())
    }

    /// Fails unless exactly `end` bytes have been read (a section's payload fully parsed).
    pub fn expect_at(&self, end: u64, section: &str) -> Result<()> {
        if self.position != end {
            bail!(
                "{}: section `{section}` ends at byte offset {end}, but its contents end at {}",
                self.path.display(),
                self.position
            );
        }
        Ok(())
    }
}
