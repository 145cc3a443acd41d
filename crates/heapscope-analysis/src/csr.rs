//! Grouping ordinals by a key with one counting sort: the compressed-sparse-row layout the
//! crate's indexes share (offsets per key, then the members of each key in a row).

/// `members[first[k]..first[k + 1]]` are the ordinals `i` with `keys[i] == k`, ascending.
/// Keys at or above `buckets` (e.g. `u32::MAX` for "none") are left out.
pub(crate) fn group_by_key(keys: &[u32], buckets: usize) -> (Vec<u32>, Vec<u32>) {
    let mut first = vec![0u32; buckets + 1];
    for &k in keys {
        if (k as usize) < buckets {
            first[k as usize + 1] += 1;
        }
    }
    for i in 0..buckets {
        first[i + 1] += first[i];
    }
    let mut fill = first.clone();
    let mut members = vec![0u32; first[buckets] as usize];
    for (i, &k) in keys.iter().enumerate() {
        if (k as usize) < buckets {
            members[fill[k as usize] as usize] = i as u32;
            fill[k as usize] += 1;
        }
    }
    (first, members)
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_in_ascending_order_and_skips_keys_out_of_range() {
        let (first, members) = super::group_by_key(&[2, 0, u32::MAX, 2, 0, 7], 3);
        assert_eq!(first, vec![0, 2, 2, 4]);
        assert_eq!(members, vec![1, 4, 0, 3]);
    }
}
