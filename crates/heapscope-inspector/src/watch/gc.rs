//! Measuring heap after GC instead of estimating it: `watch` installs, once per attach, a
//! tiny `PerformanceObserver` for `gc` entries in the target (plain JavaScript through
//! `Runtime.evaluate`; no native addon, nothing on disk). After each major GC (mark-compact:
//! `perf_hooks.constants.NODE_PERFORMANCE_GC_MAJOR`) it records
//! `v8.getHeapStatistics().used_heap_size` in a bounded ring on
//! `globalThis[Symbol.for('heapscope.gcRing')]`; each sample reads the newest reading.
//!
//! What it costs the target: Node calls the observer after every GC (minor ones too, which
//! are filtered out at once), and one heap-statistics call per major GC; the ring holds 32
//! readings. The reading is taken when Node delivers the entry, just after the collection,
//! so it includes whatever the program allocated in between — microseconds of allocation,
//! small beside the heap.
//!
//! Install is idempotent and counted: two watchers of one process share one observer, and
//! [`remove`] disconnects it when the last one leaves (`watch` removes it when it stops; if
//! heapscope is killed, the observer stays until the process exits — harmless, and the next
//! watch reuses it). The symbol's property is non-enumerable, so the program does not see it
//! in `Object.keys(globalThis)`.

use crate::cdp::CdpClient;
use crate::error::Result;
use crate::eval::evaluate;

/// The global the ring lives on, as JavaScript.
pub const RING: &str = "globalThis[Symbol.for('heapscope.gcRing')]";

/// Installs the observer (or joins the one installed); returns how many watchers use it.
const INSTALL: &str = "(() => {
  const key = Symbol.for('heapscope.gcRing');
  let ring = globalThis[key];
  if (!ring) {
    const { PerformanceObserver, constants } = require('perf_hooks');
    const v8 = require('v8');
    const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;
    const SIZE = 32;
    ring = { version: 1, majors: 0, entries: [], users: 0 };
    const observer = new PerformanceObserver((list) => {
      let majors = 0;
      for (const e of list.getEntries()) if ((e.detail ? e.detail.kind : e.kind) === MAJOR) majors++;
      if (majors === 0) return;
      ring.majors += majors;
      ring.entries.push([ring.majors, Date.now(), v8.getHeapStatistics().used_heap_size]);
      if (ring.entries.length > SIZE) ring.entries.shift();
    });
    observer.observe({ entryTypes: ['gc'] });
    ring.remove = () => {
      ring.users -= 1;
      if (ring.users > 0) return ring.users;
      observer.disconnect();
      delete globalThis[key];
      return 0;
    };
    Object.defineProperty(globalThis, key, { value: ring, configurable: true, writable: true, enumerable: false });
  }
  ring.users += 1;
  return ring.users;
})()";

/// Part of each sample's expression: `[major GCs seen, unix ms, used heap bytes]` of the
/// newest reading, `[]` before the first major GC, `null` without the observer; and the
/// target's clock, to put the reading's time on ours.
pub(crate) const READ: &str =
    "(r => r ? (r.entries.length ? r.entries[r.entries.length - 1] : []) : null)\
     (globalThis[Symbol.for('heapscope.gcRing')])";

/// Installs the GC observer in the target; returns the number of watchers sharing it.
pub async fn install(client: &mut CdpClient) -> Result<u32> {
    evaluate(client, INSTALL).await
}

/// Leaves the GC observer; the last watcher to leave disconnects and deletes it. Returns the
/// watchers still using it (0 when it is gone, or was never there).
pub async fn remove(client: &mut CdpClient) -> Result<u32> {
    evaluate(client, &format!("(r => r ? r.remove() : 0)({RING})")).await
}

/// What a sample read from the observer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GcReading {
    /// Major GCs the observer has seen since it was installed.
    pub major_gcs: u64,
    /// When the newest major GC ended (unix ms, on heapscope's clock) and the used heap
    /// right after it; `None` until the first major GC.
    pub last: Option<(i64, f64)>,
}

impl GcReading {
    /// From `READ`'s answer (`[majors, ms, bytes]` or `[]`), the target's clock at the time
    /// (`target_now_ms`) and ours (`now_ms`).
    pub(crate) fn from_raw(raw: &[f64], target_now_ms: f64, now_ms: i64) -> GcReading {
        match raw {
            [majors, ms, bytes] => GcReading {
                major_gcs: *majors as u64,
                last: Some((now_ms - (target_now_ms - ms) as i64, *bytes)),
            },
            _ => GcReading::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_move_to_our_clock() {
        let r = GcReading::from_raw(&[3.0, 9_000.0, 5e6], 10_000.0, 50_000);
        assert_eq!(r.major_gcs, 3);
        assert_eq!(r.last, Some((49_000, 5e6)));
        assert_eq!(GcReading::from_raw(&[], 0.0, 1), GcReading::default());
    }
}
