//! Errors that say what is wrong with the input and where.

use std::fmt;

/// Where in the input a problem was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Byte offset in the (decompressed) snapshot text, when known.
    pub byte_offset: Option<u64>,
    /// Top-level section (`snapshot`, `nodes`, `edges`, `strings`, …), when known.
    pub section: Option<String>,
    /// Element index within the section's array, when known.
    pub element: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.section {
            match self.element {
                Some(e) => parts.push(format!("in `{s}`[{e}]")),
                None => parts.push(format!("in `{s}`")),
            }
        }
        if let Some(o) = self.byte_offset {
            parts.push(format!("at byte {o}"));
        }
        if parts.is_empty() {
            Ok(())
        } else {
            write!(f, " ({})", parts.join(", "))
        }
    }
}

/// A snapshot that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "the input is empty: a heap snapshot is a JSON object starting with `{{\"snapshot\":`"
    )]
    Empty,
    #[error("not a heap snapshot: {what}{at}")]
    NotASnapshot { what: String, at: Location },
    #[error("malformed JSON: expected {expected}, found {found}{at}")]
    Syntax {
        expected: String,
        found: String,
        at: Location,
    },
    #[error("the snapshot ends too early: {what}{at}")]
    Truncated { what: String, at: Location },
    #[error("invalid `snapshot.meta` header: {0}")]
    BadHeader(String),
    #[error("number too large: {found} does not fit in an unsigned 32-bit integer{at}")]
    NumberTooLarge { found: String, at: Location },
    #[error("inconsistent snapshot: {what}{at}")]
    Inconsistent { what: String, at: Location },
    #[error("gzip stream is corrupt: {0}")]
    Gzip(String),
}

impl FormatError {
    pub(crate) fn inconsistent(
        what: impl Into<String>,
        section: &str,
        element: Option<u64>,
    ) -> Self {
        FormatError::Inconsistent {
            what: what.into(),
            at: Location {
                byte_offset: None,
                section: Some(section.to_string()),
                element,
            },
        }
    }
}

/// Renders a byte for error messages: printable ASCII as itself, others as hex.
pub(crate) fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "a newline".to_string(),
        b' '..=b'~' => format!("`{}`", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}
