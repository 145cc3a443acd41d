#!/usr/bin/env bash
# Live capture against Node's own writer, on the same heap in the same process:
#   - bench/live/hold-heap.js holds about MB megabytes of heap (inspector on 127.0.0.1,
#     OS-chosen port);
#   - `node`: SIGUSR2 makes the target run v8.writeHeapSnapshot itself, timed inside it;
#   - `default`: `heapscope snapshot --pid` under GNU time — the default, where the target
#     writes the file itself (v8.writeHeapSnapshot invoked over the inspector, into
#     heapscope's OUT.part) and heapscope fsyncs and renames it;
#   - `stream`: `heapscope snapshot --pid --stream` (streamed over the inspector).
# Each heapscope line gives its wall time, its peak RSS in MB and the ratio of its wall time
# to Node's own writer in the same round (1.00 = as fast; the acceptance bar is <= 1).
# The first snapshot of a process also assigns ids to every object, so it is slower
# whoever takes it: a warm-up snapshot comes first, and the rounds alternate who goes first.
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

NODE_S=0
node_write() {
  local before; before=$(grep -c '^node-write' "$LOG" || true)
  kill -USR2 "$PID"
  while [ "$(grep -c '^node-write' "$LOG" || true)" -le "$before" ]; do sleep 0.2; done
  local line; line=$(grep '^node-write' "$LOG" | tail -1)
  NODE_S=$(sed -E 's/.*ms=([0-9]+).*/\1/' <<<"$line" | awk '{ printf "%.1f", $1 / 1000 }')
  echo "$1 node wall_s=$NODE_S"
  rm -f "$OUT"/node-*.heapsnapshot
}
heapscope() {
  local label=$1; shift
  local timing="$OUT/time.txt"
  HEAPSCOPE_TIMINGS=1 /usr/bin/time -o "$timing" -f "%e %M" "$BIN" snapshot --pid "$PID" "$@" \
    -o "$OUT/heapscope.heapsnapshot" 2>&1 | grep -E 'wrote|note|timings' || true
  read -r wall rss_kb <"$timing"
  awk -v l="$label" -v w="$wall" -v r="$rss_kb" 'BEGIN {
    printf "%s heapscope wall_s=%.1f peak_rss_mb=%.1f\n", l, w, r / 1024 }'
  LAST_S=$wall
  rm -f "$OUT/heapscope.heapsnapshot"
}
ratio() { awk -v l="$1" -v w="$2" -v n="$NODE_S" 'BEGIN { printf "%s vs_node=%.2f\n", l, w / n }'; }

node_write warm-up
for round in $(seq 1 "$ROUNDS"); do
  # Odd rounds take Node's own snapshot first, even rounds heapscope's default first, so an
  # effect of the order shows as a difference between them.
  if (( round % 2 == 1 )); then
    node_write "round $round"
    heapscope "round $round default"; DEFAULT_S=$LAST_S
  else
    heapscope "round $round default"; DEFAULT_S=$LAST_S
    node_write "round $round"
  fi
  heapscope "round $round stream" --stream; STREAM_S=$LAST_S
  ratio "round $round default" "$DEFAULT_S"
  ratio "round $round stream" "$STREAM_S"
done
grep VmHWM /proc/$PID/status | tr -s ' \t' ' ' | sed 's/^/target peak: /'
