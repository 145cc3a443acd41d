//! Finding objects by name: every node whose name (a function's name, a string's text, an
//! object's constructor) contains some text, largest retained first.
//!
//! The string table is searched, not the nodes: one SIMD scan of its bytes finds the
//! matching strings, and an index from string to the nodes named by it (built once per
//! snapshot, one counting pass) turns those into nodes. On a 1 GB snapshot a query takes
//! tens of milliseconds instead of a pass over 14 million nodes.
//!
//! Matching is smart-case, as in ripgrep: a query with an upper-case letter matches case,
//! an all-lower-case one does not (ASCII letters only).

use memchr::memmem;

use crate::Analysis;

/// `nodes[first[s]..first[s + 1]]` are the nodes named by snapshot string `s`.
pub struct NameIndex {
    first: Vec<u32>,
    nodes: Vec<u32>,
}

/// One page of matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMatches {
    /// Matching nodes in all.
    pub total: usize,
    /// The requested page, largest retained first (then by ordinal).
    pub nodes: Vec<u32>,
}

impl NameIndex {
    pub fn build(a: &Analysis) -> NameIndex {
        let strings = a.graph.raw.strings.snapshot_len();
        let (first, nodes) = crate::csr::group_by_key(&a.graph.raw.nodes.name, strings);
        NameIndex { first, nodes }
    }

    /// The nodes whose name contains `text`, the page `offset..offset + limit` of them.
    pub fn search(&self, a: &Analysis, text: &str, offset: usize, limit: usize) -> NameMatches {
        let mut found: Vec<u32> = Vec::new();
        for s in matching_strings(a, text) {
            let run = &self.nodes[self.first[s] as usize..self.first[s + 1] as usize];
            found.extend_from_slice(run);
        }
        let total = found.len();
        let by_size = |x: &u32, y: &u32| {
            a.retained[*y as usize]
                .cmp(&a.retained[*x as usize])
                .then(x.cmp(y))
        };
        // Only the head up to the page's end needs sorting.
        let end = offset.saturating_add(limit).min(total);
        if end < total && end > 0 {
            found.select_nth_unstable_by(end - 1, by_size);
            found.truncate(end);
        }
        found.sort_unstable_by(by_size);
        let nodes = found.into_iter().skip(offset).take(limit).collect();
        NameMatches { total, nodes }
    }
}

/// Indexes of the snapshot strings containing `text` (as written in the snapshot, i.e. with
/// JSON escapes for quotes, backslashes and control characters).
fn matching_strings(a: &Analysis, text: &str) -> Vec<usize> {
    let (bytes, offsets, _) = a.graph.raw.strings.parts();
    let needle = text.as_bytes();
    if needle.is_empty() {
        return Vec::new();
    }
    let case_sensitive = text.chars().any(|c| c.is_uppercase()) || !text.is_ascii();
    let start = |i: usize| (offsets[i] & !(1 << 63)) as usize;
    let mut out: Vec<usize> = Vec::new();
    let mut record = |at: usize| {
        // The string holding byte `at`: the last one starting at or before it.
        let i = offsets.partition_point(|&o| (o & !(1 << 63)) as usize <= at) - 1;
        if i + 1 < offsets.len() && at + needle.len() <= start(i + 1) && out.last() != Some(&i) {
            out.push(i);
        }
    };
    if case_sensitive {
        for at in memmem::find_iter(bytes, needle) {
            record(at);
        }
    } else {
        // Candidates start with either case of the first byte; the rest compares
        // ignoring ASCII case.
        let (lo, up) = (
            needle[0].to_ascii_lowercase(),
            needle[0].to_ascii_uppercase(),
        );
        for at in memchr::memchr2_iter(lo, up, bytes) {
            if bytes
                .get(at..at + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
            {
                record(at);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis() -> Analysis {
        let json = br#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],
            "node_types":[["hidden","object","string","closure"],"string","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal"],"string_or_number","node"]},
            "node_count":5,"edge_count":4},
            "nodes":[1,0,1,0,4, 1,1,3,10,0, 1,1,5,30,0, 2,2,7,8,0, 3,3,9,16,0],
            "edges":[2,3,5, 2,4,10, 2,5,15, 2,6,20],
            "strings":["","SMTPConnection","535 Authentication failed","sendMessage","a","b","c"]}"#;
        Analysis::new(heapscope_format::load_bytes(json).unwrap(), &|_| {})
    }

    #[test]
    fn finds_objects_strings_and_functions_by_part_of_their_name() {
        let a = analysis();
        let index = NameIndex::build(&a);
        let ids = |q: &str| -> Vec<u32> {
            let m = index.search(&a, q, 0, 10);
            m.nodes.iter().map(|&n| a.graph.id(n)).collect()
        };
        // Smart case: lower-case matches either case; largest retained first.
        assert_eq!(ids("smtpconn"), vec![5, 3]);
        assert_eq!(ids("SMTPConn"), vec![5, 3]);
        assert_eq!(ids("SMTPCONN"), Vec::<u32>::new());
        assert_eq!(ids("535 auth"), vec![7]);
        assert_eq!(ids("Message"), vec![9]);
        // A match may not run from one string into the next.
        assert_eq!(ids("Connection535"), Vec::<u32>::new());
        assert_eq!(ids(""), Vec::<u32>::new());
        // Paging keeps the order and the total.
        let page = index.search(&a, "smtp", 1, 1);
        assert_eq!(page.total, 2);
        assert_eq!(
            page.nodes
                .iter()
                .map(|&n| a.graph.id(n))
                .collect::<Vec<_>>(),
            vec![3]
        );
    }
}
