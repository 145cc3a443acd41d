#!/usr/bin/env bash
# Web console benchmark: how fast `heapscope serve` answers each view of a big snapshot.
#
# Uploads SNAPSHOT to a fresh console (private data dir, 127.0.0.1 only), waits for its
# analysis, then times every view's API call twice (first call, then again) with curl.
# Then restarts the server on the same data dir and times what a user sees after a
# restart: the first summary (read from the saved analysis's first section), and the first
# view that needs the whole graph (read back from the saved analysis).
#
# usage: bench/web/measure.sh [SNAPSHOT]   (default: bench/.data/heapscope-bench-1gb.heapsnapshot)
# env:   HEAPSCOPE_BIN (default target/release/heapscope), PORT (default 7391)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
SNAP="${1:-$BENCH_DIR/.data/heapscope-bench-1gb.heapsnapshot}"
HS="${HEAPSCOPE_BIN:-$REPO_DIR/target/release/heapscope}"
PORT="${PORT:-7391}"
[ -f "$SNAP" ] || { echo "no snapshot $SNAP (generate it: bench/run.sh --sizes 1gb --gen-only)" >&2; exit 2; }
[ -x "$HS" ] || (cd "$REPO_DIR" && cargo build --release -q)
DATA="$(mktemp -d /tmp/heapscope-web-bench.XXXXXX)"
BASE="http://127.0.0.1:$PORT"
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

start_server() {
  "$HS" serve --data "$DATA" --bind "127.0.0.1:$PORT" > "$DATA/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    TOKEN="$(sed -n 's/.*token=\([0-9a-zA-Z_-]*\).*/\1/p' "$DATA/serve.log" | head -n1)"
    [ -n "$TOKEN" ] && return 0
    sleep 0.1
  done
  echo "the server did not start:" >&2; cat "$DATA/serve.log" >&2; exit 1
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

api() { curl -sf -H "Authorization: Bearer $TOKEN" "$BASE$1"; }
# Prints the request's total time in ms.
timed() { curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$BASE$1" | awk '{printf "%.1f", $1 * 1000}'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }
enc() { node -e 'console.log(encodeURIComponent(process.argv[1]))' "$1"; }

ROWS=()
row() { # LABEL PATH — first call and second call
  local first second
  first="$(timed "$2")"; second="$(timed "$2")"
  ROWS+=("| $1 | $first | $second |")
  printf '  %-58s %9s ms %9s ms\n' "$1" "$first" "$second" >&2
}

start_server
echo "uploading $(basename "$SNAP") ($(du -h "$SNAP" | cut -f1)) to a fresh console…" >&2
T0=$(date +%s.%N)
SID="$(curl -sf -T "$SNAP" -H "Authorization: Bearer $TOKEN" "$BASE/api/snapshots?name=$(basename "$SNAP")" | json 'v.id')"
while :; do
  STATUS="$(api "/api/snapshots/$SID" | json 'v.status')"
  [ "$STATUS" = ready ] && break
  [ "$STATUS" = failed ] && { api "/api/snapshots/$SID"; exit 1; }
  sleep 0.5
done
T1=$(date +%s.%N)
UPLOAD_TO_READY=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b - a}')
echo "  upload + analysis + saving: ${UPLOAD_TO_READY} s" >&2

S="/api/snapshots/$SID"
BIG_CLASS="$(api "$S/summary?sort=count&limit=1" | json 'v.classes[0].key')"
BIG_COUNT="$(api "$S/summary?sort=count&limit=1" | json 'v.classes[0].count')"
LEAK_ID="$(api "$S/leaks" | json '(v.findings[0]||{ids:[]}).ids[0] || ""')"
ROOT_GROUP="$(api "$S/dominators?limit=1" | json 'v.groups[0].node.id')"
WIDE_ID="$(api "$S/dominators?id=$ROOT_GROUP&limit=1" | json 'v.groups[0].node.id')"
row "Summary (by retained size, first 100)" "$S/summary"
row "Summary sorted by count, filtered 'Object'" "$S/summary?sort=count&filter=Object"
row "Statistics" "$S/statistics"
row "Suspects (stored leak report)" "$S/leaks"
row "Instances of the biggest class ($BIG_COUNT), first page" "$S/instances?class=$(enc "$BIG_CLASS")"
row "Instances of the biggest class, page at offset 100000" "$S/instances?class=$(enc "$BIG_CLASS")&offset=100000"
row "Dominators: root level" "$S/dominators"
row "Dominators: level below the root's largest child" "$S/dominators?id=$ROOT_GROUP"
row "Dominators: one level further" "$S/dominators?id=$WIDE_ID"
if [ -n "$LEAK_ID" ]; then
  row "Object @$LEAK_ID: Edges and Retainers" "$S/objects/$LEAK_ID"
  row "Object @$LEAK_ID: path to a GC root" "$S/objects/$LEAK_ID/path"
fi
row "Object @$ROOT_GROUP: Edges and Retainers" "$S/objects/$ROOT_GROUP"
row "Search objects by name: 'Leak' (first 50)" "$S/search?q=Leak"
row "Search objects by name: 'e' (nearly every string; first 50)" "$S/search?q=e"

stop_server
echo "restarting the server on the same data directory…" >&2
start_server
AFTER_SUMMARY="$(timed "$S/summary")"
T2=$(date +%s.%N)
api "$S/instances?class=$(enc "$BIG_CLASS")&limit=1" > /dev/null
T3=$(date +%s.%N)
GRAPH_BACK=$(awk -v a="$T2" -v b="$T3" 'BEGIN{printf "%.2f", b - a}')
echo "  first summary after restart: ${AFTER_SUMMARY} ms; whole graph back: ${GRAPH_BACK} s" >&2

echo
echo "Snapshot: $(basename "$SNAP"), $(du -h "$SNAP" | cut -f1); $(nproc) cores; $(date -u +%F)"
echo "Upload + analysis + saving the analysis: ${UPLOAD_TO_READY} s"
echo
echo "| View (API call) | First call (ms) | Again (ms) |"
echo "|---|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo "| After a restart: Summary (from the saved analysis's first section) | $AFTER_SUMMARY | |"
echo "| After a restart: first view needing the graph (saved analysis read back) | $(awk -v s="$GRAPH_BACK" 'BEGIN{printf "%.0f", s*1000}') | |"
