#!/usr/bin/env bash
# Live capture against Node's own writer, on the same heap in the same process:
#   - bench/live/hold-heap.js holds about MB megabytes of heap (inspector on 127.0.0.1,
#     OS-chosen port);
#   - `node`: SIGUSR2 makes the target run v8.writeHeapSnapshot itself, timed inside it;
#   - `stream`: `heapscope snapshot --pid` (streamed over the inspector) under GNU time;
#   - `in-target`: `heapscope snapshot --pid --in-target` under GNU time.
# The first snapshot of a process also assigns ids to every object, so it is slower
# whoever takes it: the rounds alternate and a warm-up snapshot comes first.
# Also prints the target's RSS before and its peak (VmHWM) after, which snapshots drive up.
#
#   bench/live/measure.sh [MB] [ROUNDS] [OUT_DIR]       (HEAPSCOPE_BIN picks the binary)
set -euo pipefail
MB=${1:-400}
ROUNDS=${2:-2}
OUT=${3:-$(mktemp -d /tmp/heapscope-live-bench.XXXXXX)}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${HEAPSCOPE_BIN:-$HERE/../../target/release/heapscope}
mkdir -p "$OUT"
LOG="$OUT/target.log"
node --max-old-space-size=16000 --inspect=127.0.0.1:0 "$HERE/hold-heap.js" --mb "$MB" --out "$OUT" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q '^ready' "$LOG" && break; sleep 0.5; done
grep '^ready' "$LOG"
grep -E 'VmRSS' /proc/$PID/status | tr -s ' \t' ' ' | sed 's/^/target before capture: /'

node_write() {
  local before; before=$(grep -c '^node-write' "$LOG" || true)
  kill -USR2 "$PID"
  while [ "$(grep -c '^node-write' "$LOG" || true)" -le "$before" ]; do sleep 0.2; done
  grep '^node-write' "$LOG" | tail -1 | sed "s/^/$1 /"
  rm -f "$OUT"/node-*.heapsnapshot
}
heapscope() {
  local label=$1; shift
  /usr/bin/time -f "$label heapscope wall_s=%e peak_rss_kb=%M" "$BIN" snapshot --pid "$PID" "$@" \
    -o "$OUT/heapscope.heapsnapshot" 2>&1 | grep -E 'wall_s|bytes|wrote' | grep -v '^$'
  rm -f "$OUT/heapscope.heapsnapshot"
}

node_write warm-up
for round in $(seq 1 "$ROUNDS"); do
  node_write "round $round node"
  heapscope "round $round stream"
  heapscope "round $round in-target" --in-target
done
grep VmHWM /proc/$PID/status | tr -s ' \t' ' ' | sed 's/^/target peak: /'
