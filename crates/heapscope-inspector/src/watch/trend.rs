//! The built-in leak-trend rule: is the heap that survives garbage collection rising steadily?
//!
//! **Heap after GC is measured when it can be.** `watch` installs a GC observer in the
//! target ([`super::gc`]) that records the used heap right after each major GC; each sample
//! carries the newest reading as `heap_used_after_gc_bytes`. When the observer could not be
//! installed (or has not seen a major GC yet) the figure is **estimated** instead, as
//! `heap_after_gc_estimate_bytes`: each sample's `old_gen_used_bytes` (heap used minus the
//! young generation, which every scavenge empties — so the fast sawtooth of short-lived
//! garbage is gone) floored by its minimum over the last fifth of the trend window (so a
//! mark-compact within that span takes the promoted garbage out too). The estimate's blind
//! spot: a service whose major GCs are further apart than the window accumulates promoted
//! garbage as steadily as a leak. Whichever is in use is also `heap_after_gc_bytes`, the
//! name rules, the display and Prometheus read.
//!
//! The trend is an ordinary least-squares line over the window: its slope
//! (`heap_trend_bytes_per_hour`) and coefficient of determination (`heap_trend_r2`) are
//! added to each sample once the window is at least 80% covered by five or more samples.
//! It is fitted to the measured series when that covers the window and at least three major
//! GCs happened in it (fewer steps cannot show a steady rise: a staircase of two steps has
//! r² ≤ 0.75), to the estimate otherwise; `heap_trend_measured` is 1 or 0 accordingly, and
//! the fit carries it ([`Fit::measured_gcs`]). A leak raises heap after GC steadily; a
//! healthy service's stays flat or saw-tooths, which the fit's r² rejects.

use std::collections::VecDeque;
use std::time::Duration;

use super::sample::Sample;

/// When the leak-trend rule fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrendConfig {
    pub window: Duration,
    /// Slope of heap after GC above which it fires, in bytes per hour.
    pub min_slope_bytes_per_hour: f64,
    /// How steady the rise must be (r² of the fit, 0..1).
    pub min_r2: f64,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            window: Duration::from_secs(600),
            min_slope_bytes_per_hour: 5e6,
            min_r2: 0.8,
        }
    }
}

/// A least-squares line through `(time, bytes)` points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    pub slope_bytes_per_hour: f64,
    pub r2: f64,
    pub samples: usize,
    pub span: Duration,
    /// Major GCs within the window when fitted to measured heap after GC; `None` when
    /// fitted to the estimate.
    pub measured_gcs: Option<u64>,
}

const MIN_SAMPLES: usize = 5;
const MIN_COVERAGE: f64 = 0.8;
/// Major GCs a window needs before the measured series decides.
const MIN_GCS: u64 = 3;

/// Per-process state: recent old-generation figures (for the floor), recent floors (the
/// estimate) and recent measured values with the GC count at each.
#[derive(Debug)]
pub struct TrendTracker {
    config: TrendConfig,
    old_gen: VecDeque<(i64, f64)>,
    floors: VecDeque<(i64, f64)>,
    measured: VecDeque<(i64, f64, u64)>,
}

impl TrendTracker {
    pub fn new(config: TrendConfig) -> Self {
        TrendTracker {
            config,
            old_gen: VecDeque::new(),
            floors: VecDeque::new(),
            measured: VecDeque::new(),
        }
    }

    pub fn config(&self) -> TrendConfig {
        self.config
    }

    /// Adds `heap_after_gc_bytes` (measured or estimated, see the module's overview) and,
    /// once there is enough history, the trend's slope, r² and source to the sample. Returns
    /// the fit when there is one.
    pub fn observe(&mut self, sample: &mut Sample) -> Option<Fit> {
        let old_gen = sample.get("old_gen_used_bytes")?;
        let now = sample.ts_ms;
        let window_ms = self.config.window.as_millis() as i64;
        let floor_ms = (window_ms / 5).max(1);
        self.old_gen.push_back((now, old_gen));
        while self
            .old_gen
            .front()
            .is_some_and(|&(t, _)| t <= now - floor_ms)
        {
            self.old_gen.pop_front();
        }
        let floor = self
            .old_gen
            .iter()
            .map(|&(_, v)| v)
            .fold(f64::INFINITY, f64::min);
        self.floors.push_back((now, floor));
        let measured = sample.get("heap_used_after_gc_bytes");
        match (measured, sample.gc) {
            (Some(value), Some(gc)) => {
                self.measured.push_back((now, value, gc.major_gcs));
                sample.set("heap_after_gc_bytes", value);
            }
            _ => {
                sample.set("heap_after_gc_estimate_bytes", floor);
                sample.set("heap_after_gc_bytes", floor);
            }
        }
        let start = now - window_ms;
        while self.floors.front().is_some_and(|&(t, _)| t < start) {
            self.floors.pop_front();
        }
        while self.measured.front().is_some_and(|&(t, ..)| t < start) {
            self.measured.pop_front();
        }
        let covers = |fit: &Fit| {
            fit.samples >= MIN_SAMPLES
                && fit.span.as_secs_f64() >= MIN_COVERAGE * self.config.window.as_secs_f64()
        };
        let gcs_in_window = match (self.measured.front(), self.measured.back()) {
            (Some(first), Some(last)) => last.2.saturating_sub(first.2),
            _ => 0,
        };
        // With enough major GCs in the window the measured series decides (waiting, if it
        // must, until it covers the window); otherwise the estimate does.
        let fit = if sample.gc.is_some() && gcs_in_window >= MIN_GCS {
            fit_line(self.measured.iter().map(|&(t, v, _)| (t, v)))
                .filter(covers)
                .map(|f| Fit {
                    measured_gcs: Some(gcs_in_window),
                    ..f
                })?
        } else {
            fit_line(self.floors.iter().copied()).filter(covers)?
        };
        sample.set("heap_trend_bytes_per_hour", fit.slope_bytes_per_hour);
        sample.set("heap_trend_r2", fit.r2);
        let measured_flag = if fit.measured_gcs.is_some() { 1.0 } else { 0.0 };
        sample.set("heap_trend_measured", measured_flag);
        Some(fit)
    }

    /// Whether a fit means a leak under this configuration.
    pub fn is_leak(&self, fit: &Fit) -> bool {
        fit.slope_bytes_per_hour > self.config.min_slope_bytes_per_hour
            && fit.r2 >= self.config.min_r2
    }
}

/// Ordinary least squares of `(ms, bytes)`; `None` for fewer than two distinct times. A flat
/// line (no variance in bytes) has r² 0: nothing is explained because nothing moves.
pub fn fit_line(points: impl Iterator<Item = (i64, f64)> + Clone) -> Option<Fit> {
    let n = points.clone().count();
    if n < 2 {
        return None;
    }
    let t0 = points.clone().next()?.0;
    let first_last = (t0, points.clone().last()?.0);
    let xs = || {
        points
            .clone()
            .map(move |(t, v)| ((t - t0) as f64 / 3_600_000.0, v))
    };
    let mean_x = xs().map(|(x, _)| x).sum::<f64>() / n as f64;
    let mean_y = xs().map(|(_, y)| y).sum::<f64>() / n as f64;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs() {
        sxx += (x - mean_x) * (x - mean_x);
        sxy += (x - mean_x) * (y - mean_y);
        syy += (y - mean_y) * (y - mean_y);
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some(Fit {
        slope_bytes_per_hour: slope,
        r2,
        samples: n,
        span: Duration::from_millis((first_last.1 - first_last.0).max(0) as u64),
        measured_gcs: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::gc::GcReading;

    fn sample(ts_ms: i64, old_gen: f64) -> Sample {
        Sample {
            ts_ms,
            metrics: vec![("old_gen_used_bytes".into(), old_gen)],
            resources: Vec::new(),
            gc: None,
        }
    }

    /// A sample with the GC observer's reading: `after_gc` measured after `majors` GCs.
    fn measured(ts_ms: i64, old_gen: f64, after_gc: f64, majors: u64) -> Sample {
        let mut s = sample(ts_ms, old_gen);
        s.metrics
            .push(("heap_used_after_gc_bytes".into(), after_gc));
        s.gc = Some(GcReading {
            major_gcs: majors,
            last: Some((ts_ms, after_gc)),
        });
        s
    }

    fn config(window_s: u64) -> TrendConfig {
        TrendConfig {
            window: Duration::from_secs(window_s),
            min_slope_bytes_per_hour: 10e6,
            min_r2: 0.8,
        }
    }

    #[test]
    fn a_straight_line_fits_exactly() {
        // 1 MB per minute = 60 MB/hour.
        let fit = fit_line((0..10).map(|i| (i * 60_000, 1e6 * i as f64))).unwrap();
        assert!((fit.slope_bytes_per_hour - 60e6).abs() < 1.0, "{fit:?}");
        assert!((fit.r2 - 1.0).abs() < 1e-9);
        assert_eq!(fit.span, Duration::from_secs(540));
        assert!(fit_line([(5, 1.0), (5, 2.0)].into_iter()).is_none());
    }

    #[test]
    fn a_steady_leak_fires_once_the_window_is_covered() {
        let mut tracker = TrendTracker::new(config(100));
        let mut fired_at = None;
        for i in 0..30 {
            // 2 MB every 5 s = 1.44 GB/hour, with young-generation-free noise.
            let noise = if i % 2 == 0 { 3e5 } else { 0.0 };
            let mut s = sample(i * 5000, 50e6 + 2e6 * i as f64 + noise);
            let fit = tracker.observe(&mut s);
            assert!(s.get("heap_after_gc_bytes").is_some());
            if fired_at.is_none() && fit.is_some_and(|f| tracker.is_leak(&f)) {
                fired_at = Some(i);
                assert!(s.get("heap_trend_bytes_per_hour").unwrap() > 1e9);
            }
        }
        // 80 s of a 100 s window: the 17th sample (t = 80 s).
        assert_eq!(fired_at, Some(16));
    }

    #[test]
    fn a_flat_or_sawtooth_heap_does_not_fire() {
        let mut flat = TrendTracker::new(config(60));
        let mut saw = TrendTracker::new(config(60));
        for i in 0..60 {
            let mut s = sample(i * 2000, 40e6);
            assert!(!flat.observe(&mut s).is_some_and(|f| flat.is_leak(&f)));
            // Promoted garbage climbs 1 MB per sample, a major GC every 20 samples.
            let mut s = sample(i * 2000, 40e6 + 1e6 * (i % 20) as f64);
            let fit = saw.observe(&mut s);
            assert!(!fit.is_some_and(|f| saw.is_leak(&f)), "sample {i}: {fit:?}");
        }
    }

    #[test]
    fn measured_heap_after_gc_decides_once_enough_major_gcs_are_seen() {
        // The old generation climbs steadily between major GCs (promoted garbage), which
        // the estimate over a short window takes for a leak; the measured heap after each
        // major GC (one every 10 s) stays flat.
        let mut tracker = TrendTracker::new(config(60));
        let mut verdicts = Vec::new();
        for i in 0..60i64 {
            let old_gen = 40e6 + 1e6 * i as f64;
            let majors = (i / 5) as u64;
            let mut s = measured(i * 2000, old_gen, 40e6 + (i % 3) as f64 * 1e4, majors);
            let fit = tracker.observe(&mut s);
            assert_eq!(
                s.get("heap_after_gc_bytes"),
                s.get("heap_used_after_gc_bytes")
            );
            assert!(s.get("heap_after_gc_estimate_bytes").is_none());
            if let Some(f) = fit {
                verdicts.push((f.measured_gcs.is_some(), tracker.is_leak(&f)));
                assert_eq!(s.get("heap_trend_measured"), Some(1.0));
            }
        }
        assert!(!verdicts.is_empty());
        assert!(verdicts.iter().all(|&(m, leak)| m && !leak), "{verdicts:?}");
        // The same old generation without the observer: estimated, and it fires.
        let mut estimated = TrendTracker::new(config(60));
        let fired = (0..60i64).any(|i| {
            let mut s = sample(i * 2000, 40e6 + 1e6 * i as f64);
            let fit = estimated.observe(&mut s);
            assert!(s.get("heap_after_gc_estimate_bytes").is_some());
            fit.is_some_and(|f| f.measured_gcs.is_none() && estimated.is_leak(&f))
        });
        assert!(fired, "the estimate's blind spot, which measuring removes");
    }

    #[test]
    fn a_measured_leak_fires_and_too_few_gcs_fall_back_to_the_estimate() {
        let mut tracker = TrendTracker::new(config(60));
        let mut fired = None;
        for i in 0..40i64 {
            // A major GC every 4 s, each leaving 1 MB more.
            let majors = (i / 2) as u64;
            let after = 30e6 + 1e6 * majors as f64;
            let mut s = measured(i * 2000, after + 5e5, after, majors);
            if let Some(f) = tracker.observe(&mut s) {
                if fired.is_none() && tracker.is_leak(&f) {
                    fired = Some((i, f.measured_gcs));
                }
            }
        }
        let (at, gcs) = fired.expect("the measured leak fires");
        assert_eq!(at, 24, "once 80% of the 60 s window is covered");
        assert!(gcs.unwrap() >= MIN_GCS);
        // One major GC only in the whole window: the estimate decides, and says so.
        let mut sparse = TrendTracker::new(config(60));
        let mut last = None;
        for i in 0..40i64 {
            let mut s = measured(i * 2000, 30e6 + 1e6 * i as f64, 30e6, 1);
            last = sparse.observe(&mut s).or(last);
        }
        assert_eq!(last.unwrap().measured_gcs, None);
    }
}
