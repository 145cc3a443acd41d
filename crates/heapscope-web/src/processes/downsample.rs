//! Downsampling a series for a chart that is a few hundred pixels wide: the time range is cut
//! into `points / 2` equal buckets and each keeps its minimum and its maximum, in time order.
//! Averaging would hide exactly what a memory chart is for — the peaks before a crash and
//! the floors after each GC — while min/max keeps the envelope the eye would see in the full
//! series.

/// At most `points` (at least 2) of `series` (sorted by time), keeping each bucket's
/// extremes.
pub fn min_max(series: &[(i64, f64)], points: usize) -> Vec<(i64, f64)> {
    if series.len() <= points.max(2) {
        return series.to_vec();
    }
    let buckets = (points / 2).max(1);
    let (first, last) = (series[0].0, series[series.len() - 1].0);
    let span = (last - first).max(1) as i128 + 1;
    let bucket_of = |ts: i64| (((ts - first) as i128 * buckets as i128) / span) as usize;
    let mut out = Vec::with_capacity(buckets * 2);
    let mut start = 0;
    while start < series.len() {
        let b = bucket_of(series[start].0);
        let mut end = start;
        let (mut lo, mut hi) = (start, start);
        while end < series.len() && bucket_of(series[end].0) == b {
            if series[end].1 < series[lo].1 {
                lo = end;
            }
            if series[end].1 > series[hi].1 {
                hi = end;
            }
            end += 1;
        }
        let (a, z) = (lo.min(hi), lo.max(hi));
        out.push(series[a]);
        if z != a {
            out.push(series[z]);
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_unchanged() {
        let s = vec![(1, 1.0), (2, 5.0), (3, 2.0)];
        assert_eq!(min_max(&s, 10), s);
    }

    #[test]
    fn extremes_survive_and_the_count_is_bounded() {
        // A sawtooth with one spike and one dip far from the bucket edges.
        let mut s: Vec<(i64, f64)> = (0..10_000).map(|i| (i * 1000, (i % 100) as f64)).collect();
        s[4321].1 = 1e9;
        s[7777].1 = -5.0;
        let d = min_max(&s, 200);
        assert!(d.len() <= 200, "{}", d.len());
        assert!(d.len() >= 150, "{}", d.len());
        assert!(d.contains(&(4_321_000, 1e9)));
        assert!(d.contains(&(7_777_000, -5.0)));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
        assert_eq!(d[0], s[0]);
    }

    #[test]
    fn two_points_give_the_envelope() {
        let s: Vec<(i64, f64)> = (0..50).map(|i| (i, i as f64)).collect();
        let d = min_max(&s, 2);
        assert_eq!(d, vec![(0, 0.0), (49, 49.0)]);
    }
}
