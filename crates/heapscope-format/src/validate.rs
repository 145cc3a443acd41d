//! Checks that need the whole snapshot: every string index must name a string.
//!
//! Strings come last in the file, so these run after parsing; errors name the array and the
//! element index (byte offsets are no longer known by then).

use crate::error::FormatError;
use crate::header::EdgeKind;
use crate::snapshot::RawSnapshot;

pub(crate) fn check_string_indexes(s: &RawSnapshot) -> Result<(), FormatError> {
    let count = s.strings.snapshot_len() as u64;
    let nfc = s.header.nodes.field_count as u64;
    if let Some(bad) = s.nodes.name.iter().position(|&n| n as u64 >= count) {
        return Err(FormatError::inconsistent(
            format!(
                "node {bad} has name string index {} but `strings` has {count} entries",
                s.nodes.name[bad]
            ),
            "nodes",
            Some(bad as u64 * nfc + s.header.nodes.name as u64),
        ));
    }
    let efc = s.header.edges.field_count as u64;
    let bad = s
        .edges
        .name_or_index
        .iter()
        .zip(&s.edges.kind)
        .position(|(&n, &k)| n as u64 >= count && EdgeKind::from_u8(k).has_string_name());
    if let Some(bad) = bad {
        return Err(FormatError::inconsistent(
            format!(
                "edge {bad} has name string index {} but `strings` has {count} entries",
                s.edges.name_or_index[bad]
            ),
            "edges",
            Some(bad as u64 * efc + s.header.edges.name_or_index as u64),
        ));
    }
    Ok(())
}
