#!/usr/bin/env bash
# Writes a small seed corpus to fuzz/corpus/parse (git-ignored). Each seed's first byte is the
# chunk-size selector read by fuzz_targets/parse.rs; the rest is the snapshot bytes.
#   0x00 = 1-byte chunks, 0x06 = 7-byte chunks, 0x7f = 128-byte chunks, 0x80.. = mixed sizes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/parse"
fixture="$here/../fixtures/snapshots/plain-healthy.heapsnapshot.gz"
mkdir -p "$out"

header='{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]},'
tiny="${header}"'"node_count":2,"edge_count":1,"trace_function_count":0},"nodes":[9,0,1,0,1,0,0,3,1,3,16,0,0,0],"edges":[1,0,7],"locations":[7,1,2,3],"strings":["","Object"]}'
extras="${header}"'"node_count":3,"edge_count":3,"trace_function_count":1,"root_index":0},"future":{"a":[1,"]",{"b":null}]},"nodes":[9,0,1,0,2,0,0,3,1,3,16,1,1,0,5,2,5,32,0,0,2],"edges":[1,0,7,2,3,14,5,1,7],"trace_function_infos":[1,2,3,4,5,6],"trace_tree":[1,0,1,16,[]],"samples":[100,5,200,9],"locations":[14,3,10,4],"strings":["","Object","fn","x\"y\\z\u00e9\ud83d\ude00\ud800"]}'
legacy='{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","object"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["element","property"],"string_or_number","node"]},"node_count":2,"edge_count":1},"nodes":[0,0,1,0,1,1,1,3,16,0],"edges":[1,1,5],"strings":["","Object"]}'

seed() { # name selector-hex data...
    local name=$1 sel=$2
    shift 2
    { printf "\\x$sel"; printf '%s' "$@"; } > "$out/$name"
}
seed tiny-1 00 "$tiny"
seed tiny-7 06 "$tiny"
seed tiny-mixed 9d "$tiny"
seed extras-3 02 "$extras"
seed extras-mixed c1 "$extras"
seed legacy-128 7f "$legacy"
seed cpuprofile 00 '{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[]}],"startTime":1,"endTime":2,"samples":[1],"timeDeltas":[1]}'
seed heapprofile 00 '{"head":{"callFrame":{"functionName":"(root)"},"selfSize":0,"id":1,"children":[]},"samples":[]}'
# gzip'ed tiny snapshot, whole and byte-wise.
{ printf '\x00'; printf '%s' "$tiny" | gzip -9 -n; } > "$out/tiny-gz-1"
{ printf '\x3f'; printf '%s' "$tiny" | gzip -9 -n; } > "$out/tiny-gz-64"
# Real fixture, truncated: its header and the first nodes; its edges; its strings (escapes,
# non-ASCII) behind a header that declares no nodes.
if [ -f "$fixture" ]; then
    { printf '\x7f'; gzip -dc "$fixture" | head -c 16000 || true; } > "$out/fixture-head"
    { printf '\xa5'; gzip -dc "$fixture" | head -c 3000000 | tail -c 12000 || true; } > "$out/fixture-edges-mid"
    { printf '\x81'; printf '%s' "${header}"'"node_count":0,"edge_count":0},"nodes":[],"edges":[],"strings":['
      gzip -dc "$fixture" | tail -c 20000 | tail -n +2 || true; } > "$out/fixture-strings"
fi
ls -l "$out"
