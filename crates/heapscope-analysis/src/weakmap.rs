//! Recognises V8's names for WeakMap ephemeron edges, e.g.
//! `3 / part of key (Object @123) -> value (Object @456) pair in WeakMap (table @789)`.
//!
//! DevTools matches these with the regular expression
//! `^\d+( \/ part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\))$`;
//! this is the same test written out, cached per string index.

use std::collections::HashMap;

use heapscope_format::StringTable;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeronName {
    /// Everything after the leading index: the same for the table's and the key's edge.
    pub duplicated_part: String,
    pub table_id: u64,
}

/// Parses an edge name; `None` unless it is an ephemeron edge name.
pub fn parse_ephemeron_name(name: &str) -> Option<EphemeronName> {
    const KEY: &str = " / part of key (";
    const VALUE: &str = ") -> value (";
    const TABLE: &str = ") pair in WeakMap (table @";
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = &name[digits..];
    // `.` in the pattern does not match line terminators.
    if rest.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let body = rest.strip_prefix(KEY)?.strip_suffix(')')?;
    let table_digits = body.bytes().rev().take_while(u8::is_ascii_digit).count();
    if table_digits == 0 {
        return None;
    }
    let table_id_text = &body[body.len() - table_digits..];
    let before_table = body[..body.len() - table_digits].strip_suffix(TABLE)?;
    // before_table = A " @" d1 VALUE B " @" d2
    let b_end = strip_at_id(before_table)?;
    let middle = &before_table[..b_end];
    // middle = A " @" d1 VALUE B — some occurrence of VALUE must be preceded by " @\d+".
    let ok = middle
        .match_indices(VALUE)
        .any(|(at, _)| strip_at_id(&middle[..at]).is_some());
    if !ok {
        return None;
    }
    Some(EphemeronName {
        duplicated_part: rest.to_string(),
        table_id: table_id_text.parse().unwrap_or(u64::MAX),
    })
}

/// If `s` ends with ` @` followed by digits, returns the length before ` @`.
fn strip_at_id(s: &str) -> Option<usize> {
    let d = s.bytes().rev().take_while(u8::is_ascii_digit).count();
    if d == 0 {
        return None;
    }
    s[..s.len() - d].strip_suffix(" @").map(str::len)
}

/// Caches parse results by string index; most internal edge names are not ephemerons.
#[derive(Default)]
pub struct EphemeronCache {
    not_ephemeron: Vec<u64>,
    found: HashMap<u32, Option<EphemeronName>>,
}

impl EphemeronCache {
    pub fn new(strings: &StringTable) -> Self {
        EphemeronCache {
            not_ephemeron: vec![0; strings.len().div_ceil(64)],
            found: HashMap::new(),
        }
    }

    pub fn get(&mut self, strings: &StringTable, index: u32) -> Option<&EphemeronName> {
        let (w, b) = ((index / 64) as usize, index % 64);
        if self.not_ephemeron.get(w).is_some_and(|x| x & (1 << b) != 0) {
            return None;
        }
        if !self.found.contains_key(&index) {
            // Cheap reject before the full parse: the name must start with a digit.
            let parsed = match strings.raw(index) {
                Some(raw) if raw.first().is_none_or(|c| !c.is_ascii_digit()) => None,
                _ => parse_ephemeron_name(&strings.get(index)),
            };
            if parsed.is_none() {
                if let Some(word) = self.not_ephemeron.get_mut(w) {
                    *word |= 1 << b;
                }
                return None;
            }
            self.found.insert(index, parsed);
        }
        self.found.get(&index).and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v8_names() {
        let n = parse_ephemeron_name(
            "3 / part of key (Object @123) -> value (Foo bar @456) pair in WeakMap (table @789)",
        )
        .unwrap();
        assert_eq!(n.table_id, 789);
        assert!(n.duplicated_part.starts_with(" / part of key"));
        assert!(parse_ephemeron_name("elements").is_none());
        assert!(parse_ephemeron_name("3 / part of key (Object @1) pair").is_none());
        assert!(parse_ephemeron_name(
            "3 / part of key (a -> value (b @1) @2) -> value (c @3) pair in WeakMap (table @4)"
        )
        .is_some());
    }
}
