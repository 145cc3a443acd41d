//! The snapshot's string table: one byte buffer plus offsets, unescaped only when read.
//!
//! A large snapshot holds millions of strings, most of which are never displayed; keeping the
//! JSON-escaped bytes and decoding on access avoids millions of small allocations and lets the
//! table exceed V8's maximum string length (the reason DevTools cannot open such snapshots).

use std::borrow::Cow;

#[derive(Debug, Default, Clone)]
pub struct StringTable {
    /// Raw string contents as they appear between the quotes in the JSON text.
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is string `i`; bit 63 marks strings that contain escapes.
    offsets: Vec<u64>,
    /// Strings appended after loading (class names the analysis derives).
    extra: Vec<String>,
}

const ESCAPED: u64 = 1 << 63;

impl StringTable {
    pub fn new() -> Self {
        StringTable {
            bytes: Vec::new(),
            offsets: vec![0],
            extra: Vec::new(),
        }
    }

    pub(crate) fn push_bytes(&mut self, raw: &[u8]) {
        self.bytes.extend_from_slice(raw);
    }

    /// Ends the current string; `escaped` says whether its raw bytes contain a backslash.
    pub(crate) fn finish_string(&mut self, escaped: bool) {
        let end = self.bytes.len() as u64;
        let last = self.offsets.len() - 1;
        if escaped {
            self.offsets[last] |= ESCAPED;
        }
        self.offsets.push(end);
    }

    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }

    /// Number of strings, including ones added with [`StringTable::add`].
    pub fn len(&self) -> usize {
        self.offsets.len() - 1 + self.extra.len()
    }

    /// Strings read from the snapshot (not counting added ones).
    pub fn snapshot_len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bytes of the raw (escaped) text, a cheap measure of the section's size.
    pub fn raw_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The table's storage, for persisting it: the raw bytes, the offsets (bit 63 marks
    /// escaped strings) and the added strings.
    pub fn parts(&self) -> (&[u8], &[u64], &[String]) {
        (&self.bytes, &self.offsets, &self.extra)
    }

    /// Rebuilds a table from [`StringTable::parts`], checking that the offsets start at 0,
    /// never decrease and stay within the bytes.
    pub fn from_parts(
        bytes: Vec<u8>,
        offsets: Vec<u64>,
        extra: Vec<String>,
    ) -> Result<StringTable, String> {
        if offsets.first().map(|o| o & !ESCAPED) != Some(0) {
            return Err("string offsets must start at 0".into());
        }
        let mut previous = 0u64;
        for (i, &o) in offsets.iter().enumerate() {
            let o = o & !ESCAPED;
            if o < previous || o > bytes.len() as u64 {
                return Err(format!(
                    "string offset {i} is {o}, expected {previous}..={}",
                    bytes.len()
                ));
            }
            previous = o;
        }
        Ok(StringTable {
            bytes,
            offsets,
            extra,
        })
    }

    /// Appends a derived string and returns its index.
    pub fn add(&mut self, s: String) -> u32 {
        self.extra.push(s);
        (self.len() - 1) as u32
    }

    fn span(&self, i: usize) -> (usize, usize, bool) {
        let start = self.offsets[i];
        let end = self.offsets[i + 1] & !ESCAPED;
        (
            (start & !ESCAPED) as usize,
            end as usize,
            start & ESCAPED != 0,
        )
    }

    /// The raw bytes of a snapshot string when it needs no unescaping; used for fast equality.
    pub fn raw(&self, i: u32) -> Option<&[u8]> {
        let i = i as usize;
        if i >= self.snapshot_len() {
            return self
                .extra
                .get(i - self.snapshot_len())
                .map(|s| s.as_bytes());
        }
        let (s, e, esc) = self.span(i);
        if esc {
            None
        } else {
            Some(&self.bytes[s..e])
        }
    }

    /// String `i`, unescaped. Out-of-range indexes read as the empty string (the loader
    /// validates every index, so this only matters for derived data).
    pub fn get(&self, i: u32) -> Cow<'_, str> {
        let i = i as usize;
        if i >= self.snapshot_len() {
            return match self.extra.get(i - self.snapshot_len()) {
                Some(s) => Cow::Borrowed(s.as_str()),
                None => Cow::Borrowed(""),
            };
        }
        let (s, e, esc) = self.span(i);
        let raw = &self.bytes[s..e];
        if !esc {
            return String::from_utf8_lossy(raw);
        }
        Cow::Owned(unescape(raw))
    }

    /// Whether string `i` equals `s`, without allocating for unescaped strings.
    pub fn eq(&self, i: u32, s: &str) -> bool {
        match self.raw(i) {
            Some(raw) => raw == s.as_bytes(),
            None => self.get(i) == s,
        }
    }

    /// Whether string `i` starts with `prefix`.
    pub fn starts_with(&self, i: u32, prefix: &str) -> bool {
        match self.raw(i) {
            Some(raw) => raw.starts_with(prefix.as_bytes()),
            None => self.get(i).starts_with(prefix),
        }
    }
}

/// Decodes JSON string escapes. Lone surrogates (which V8 writes as `\udXXX`) become U+FFFD.
pub fn unescape(raw: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&esc) = raw.get(i + 1) else {
            break;
        };
        i += 2;
        let simple = match esc {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        if esc != b'u' {
            out.push(esc);
            continue;
        }
        let hex = |at: usize| -> Option<u32> {
            let h = raw.get(at..at + 4)?;
            u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
        };
        let Some(unit) = hex(i) else {
            out.extend_from_slice("\u{fffd}".as_bytes());
            continue;
        };
        i += 4;
        let ch = if (0xD800..0xDC00).contains(&unit) {
            let low = if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                hex(i + 2).filter(|l| (0xDC00..0xE000).contains(l))
            } else {
                None
            };
            match low {
                Some(low) => {
                    i += 6;
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                }
                None => None,
            }
        } else {
            char::from_u32(unit)
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_json() {
        assert_eq!(unescape(br#"a\"b\\c\nd"#), "a\"b\\c\nd");
        assert_eq!(unescape(br"\u00e9\ud83d\ude00"), "é😀");
        assert_eq!(unescape(br"x\ud800y"), "x\u{fffd}y");
    }

    #[test]
    fn table_roundtrip() {
        let mut t = StringTable::new();
        t.push_bytes(b"abc");
        t.finish_string(false);
        t.push_bytes(br"a\nb");
        t.finish_string(true);
        let k = t.add("derived".into());
        assert_eq!(t.get(0), "abc");
        assert_eq!(t.get(1), "a\nb");
        assert_eq!(t.get(k), "derived");
        assert!(t.eq(1, "a\nb"));
        assert_eq!(t.len(), 3);
    }
}
