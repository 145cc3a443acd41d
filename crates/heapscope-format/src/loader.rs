//! Plain or gzip input, detected by magic bytes, in front of the push parser. Still sans-IO:
//! the caller reads and pushes; decompression happens inside `push`.

use std::io::{self, Write};

use crate::error::FormatError;
use crate::parser::SnapshotParser;
use crate::snapshot::RawSnapshot;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Adapts the parser to `io::Write` so flate2's push decoder can feed it.
struct ParserSink {
    parser: SnapshotParser,
    error: Option<FormatError>,
    /// Set for good on the first error: the decoder may write again (e.g. from its `Drop`)
    /// after the error has been taken out.
    poisoned: bool,
}

impl Write for ParserSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other("parse error"));
        }
        match self.parser.push(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.error = Some(e);
                self.poisoned = true;
                Err(io::Error::other("parse error"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Stage {
    /// Fewer than two bytes seen: cannot tell gzip from plain yet.
    Sniffing(Vec<u8>),
    Plain(Box<ParserSink>),
    Gzip(Box<flate2::write::MultiGzDecoder<ParserSink>>),
}

/// Accepts snapshot bytes, plain or gzip-compressed, in chunks of any size.
pub struct Loader {
    stage: Stage,
    compressed_in: u64,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Loader {
        Loader {
            stage: Stage::Sniffing(Vec::new()),
            compressed_in: 0,
        }
    }

    /// Input bytes pushed so far (compressed bytes for gzip input).
    pub fn bytes_in(&self) -> u64 {
        self.compressed_in
    }

    /// The parser, for progress (header counts, current section).
    pub fn parser(&self) -> Option<&SnapshotParser> {
        match &self.stage {
            Stage::Sniffing(_) => None,
            Stage::Plain(s) => Some(&s.parser),
            Stage::Gzip(g) => Some(&g.get_ref().parser),
        }
    }

    pub fn is_gzip(&self) -> bool {
        matches!(self.stage, Stage::Gzip(_))
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), FormatError> {
        self.compressed_in += chunk.len() as u64;
        if let Stage::Sniffing(buf) = &mut self.stage {
            buf.extend_from_slice(chunk);
            if buf.len() < 2 {
                return Ok(());
            }
            let pending = std::mem::take(buf);
            let sink = ParserSink {
                parser: SnapshotParser::new(),
                error: None,
                poisoned: false,
            };
            self.stage = if pending[..2] == GZIP_MAGIC {
                Stage::Gzip(Box::new(flate2::write::MultiGzDecoder::new(sink)))
            } else {
                Stage::Plain(Box::new(sink))
            };
            return self.feed(&pending);
        }
        self.feed(chunk)
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), FormatError> {
        match &mut self.stage {
            Stage::Sniffing(_) => unreachable!("sniffing ends before feeding"),
            Stage::Plain(sink) => sink.parser.push(chunk),
            Stage::Gzip(dec) => match dec.write_all(chunk) {
                Ok(()) => Ok(()),
                Err(e) => Err(dec
                    .get_mut()
                    .error
                    .take()
                    .unwrap_or_else(|| FormatError::Gzip(e.to_string()))),
            },
        }
    }

    pub fn finish(self) -> Result<RawSnapshot, FormatError> {
        match self.stage {
            Stage::Sniffing(buf) => {
                let mut p = SnapshotParser::new();
                p.push(&buf)?;
                p.finish()
            }
            Stage::Plain(sink) => sink.parser.finish(),
            Stage::Gzip(dec) => {
                let mut dec = *dec;
                if let Err(e) = dec.try_finish() {
                    return Err(dec.get_mut().error.take().unwrap_or_else(|| {
                        FormatError::Gzip(format!("{e} (the compressed file may be truncated)"))
                    }));
                }
                match dec.finish() {
                    Ok(sink) => sink.parser.finish(),
                    Err(e) => Err(FormatError::Gzip(format!(
                        "{e} (the compressed file may be truncated)"
                    ))),
                }
            }
        }
    }
}

/// Loads a snapshot held in memory (tests, small inputs).
pub fn load_bytes(bytes: &[u8]) -> Result<RawSnapshot, FormatError> {
    let mut loader = Loader::new();
    loader.push(bytes)?;
    loader.finish()
}
