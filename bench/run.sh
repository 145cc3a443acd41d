#!/usr/bin/env bash
# heapscope benchmark: generates Node.js heap snapshots, installs the
# competitors (DevTools' snapshot code via heap-snapshot-toolkit, memlab)
# into bench/node_modules, and runs `heapscope summary FILE --json` and the
# competitors' equivalent side by side, measuring wall time and peak RSS.
# See bench/README.md.
set -uo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]

  --sizes LIST      comma-separated snapshots to use (default: 50mb,400mb,1gb,huge-strings)
                    presets: 50mb 400mb 1gb huge-strings; also any NNNmb / N.Ngb
  --skip-heapscope  do not run heapscope
  --skip-devtools   do not run the DevTools runner
  --skip-memlab     do not run the memlab runner
  --compare         also time comparing snapshots: `heapscope diff F F` and the
                    three-snapshot `heapscope trend F F F` (the same file each time:
                    the work and memory of comparing a series, with only the last
                    graph kept in full), against loading one (`summary`)
  --timeout SEC     per-tool time limit (default 600, env HEAPSCOPE_BENCH_TIMEOUT)
  --gen-only        only generate the snapshots (and print their stats)
  --regen           regenerate the selected snapshots even if cached
  -h, --help        this help

environment:
  HEAPSCOPE_BIN           heapscope binary (default: <repo>/target/release/heapscope,
                          built with `cargo build --release` if missing)
  HEAPSCOPE_BENCH_DATA    snapshot cache dir (default: bench/.data)
  HEAPSCOPE_BENCH_TIMEOUT per-tool time limit in seconds (default 600)
EOF
}

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
DATA_DIR="${HEAPSCOPE_BENCH_DATA:-$BENCH_DIR/.data}"
RESULTS_DIR="$BENCH_DIR/results"
TIMEOUT="${HEAPSCOPE_BENCH_TIMEOUT:-600}"
SIZES="50mb,400mb,1gb,huge-strings"
RUN_HEAPSCOPE=1
RUN_DEVTOOLS=1
RUN_MEMLAB=1
RUN_COMPARE=0
GEN_ONLY=0
REGEN=0
NODE_HEAP_MB="${HEAPSCOPE_BENCH_NODE_HEAP_MB:-20000}"  # --max-old-space-size for the competitor runners
GEN_HEAP_MB=16000       # --max-old-space-size for the generator

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES="${2:?--sizes needs a value}"; shift 2 ;;
    --sizes=*) SIZES="${1#*=}"; shift ;;
    --skip-heapscope) RUN_HEAPSCOPE=0; shift ;;
    --skip-devtools) RUN_DEVTOOLS=0; shift ;;
    --skip-memlab) RUN_MEMLAB=0; shift ;;
    --compare) RUN_COMPARE=1; shift ;;
    --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
    --timeout=*) TIMEOUT="${1#*=}"; shift ;;
    --gen-only) GEN_ONLY=1; shift ;;
    --regen) REGEN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$TIMEOUT" in ''|*[!0-9]*) echo "--timeout must be a whole number of seconds" >&2; exit 2 ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is required (Node 18+; tested with Node 20)"

# ---------------------------------------------------------------- snapshot presets
# The generator's --scale is a number of "users"; calibrated on Node 20:
# file size ~= 5.3 MB + 9.58 KB per user, nodes ~= 61 k + 123 per user,
# edges ~= 3.0 per node.
gen_args() { # NAME -> generator arguments (empty if unknown)
  local name="$1" bytes=""
  case "$name" in
    50mb) bytes=50000000 ;;
    400mb) bytes=400000000 ;;
    1gb) bytes=1090000000 ;;  # ~14 M nodes, ~42 M edges
    huge-strings) echo "--scale 2000 --huge-strings 560"; return ;;
    *[0-9]mb) bytes=$(awk -v v="${name%mb}" 'BEGIN{printf "%d", v*1e6}') ;;
    *[0-9]gb) bytes=$(awk -v v="${name%gb}" 'BEGIN{printf "%d", v*1e9}') ;;
    *) return ;;
  esac
  awk -v b="$bytes" 'BEGIN{u=(b-5.26e6)/9583; if (u<100) u=100; printf "--scale %d", u}'
}

# ---------------------------------------------------------------- prerequisites
ensure_gnu_time() {
  if [ -x /usr/bin/time ] && /usr/bin/time -f '%e %M' true >/dev/null 2>&1; then return; fi
  say "installing GNU time (Debian package 'time')"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y time >/dev/null 2>&1 || { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y time >/dev/null 2>&1; } \
    || die "could not install GNU time; install the Debian package 'time'"
}

ensure_competitors() {
  [ "$RUN_DEVTOOLS" = 1 ] || [ "$RUN_MEMLAB" = 1 ] || return 0
  if node -e '
      const p = require(process.argv[1] + "/package.json").dependencies;
      for (const [n, v] of Object.entries(p)) {
        const got = require(process.argv[1] + "/node_modules/" + n + "/package.json").version;
        if (got !== v) process.exit(1);
      }' "$BENCH_DIR" 2>/dev/null; then
    return
  fi
  command -v npm >/dev/null || die "npm is required to install the competitors"
  say "installing competitors into bench/node_modules (npm ci)"
  # puppeteer is a dependency of memlab; its browser download is not needed
  # (and not possible offline): skip it and all install scripts.
  ( cd "$BENCH_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_DOWNLOAD=1 \
      npm ci --no-audit --no-fund --ignore-scripts --loglevel=error ) >&2 \
    || die "npm ci failed in $BENCH_DIR"
}

HEAPSCOPE=""
ensure_heapscope() {
  [ "$RUN_HEAPSCOPE" = 1 ] || return 0
  if [ -n "${HEAPSCOPE_BIN:-}" ]; then
    HEAPSCOPE="$HEAPSCOPE_BIN"
    [ -x "$HEAPSCOPE" ] || command -v "$HEAPSCOPE" >/dev/null || die "HEAPSCOPE_BIN=$HEAPSCOPE is not executable"
    return
  fi
  HEAPSCOPE="$REPO_DIR/target/release/heapscope"
  if [ ! -x "$HEAPSCOPE" ]; then
    say "building heapscope (cargo build --release)"
    ( cd "$REPO_DIR" && cargo build --release ) >&2 || warn "cargo build --release failed"
  fi
  if [ ! -x "$HEAPSCOPE" ]; then
    warn "no heapscope binary at $HEAPSCOPE; heapscope runs will be reported as failed"
  fi
}

# ---------------------------------------------------------------- snapshots
SNAP_INFO=""  # snapinfo JSON of the last ensured snapshot
ensure_snapshot() { # NAME -> sets SNAP_FILE, SNAP_INFO
  local name="$1" args
  args="$(gen_args "$name")"
  [ -n "$args" ] || die "unknown snapshot size '$name' (use 50mb, 400mb, 1gb, huge-strings, NNNmb or N.Ngb)"
  # a cached snapshot is reused only if made with the same arguments and generator
  local key
  key="$args gen.js:$(cksum < "$BENCH_DIR/gen/gen.js" | cut -d' ' -f1) node:$(node --version)"
  SNAP_FILE="$DATA_DIR/heapscope-bench-$name.heapsnapshot"
  local info="$SNAP_FILE.info.json"
  if [ "$REGEN" = 1 ] || [ ! -s "$SNAP_FILE" ] || [ "$(cat "$SNAP_FILE.args" 2>/dev/null)" != "$key" ]; then
    mkdir -p "$DATA_DIR"
    rm -f "$SNAP_FILE" "$info" "$SNAP_FILE.args"
    say "generating $name snapshot ($args) -> $SNAP_FILE"
    local start end
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    node --max-old-space-size="$GEN_HEAP_MB" "$BENCH_DIR/gen/gen.js" $args --out "$SNAP_FILE.tmp" >/dev/null \
      || { rm -f "$SNAP_FILE.tmp"; die "generating $name failed"; }
    end=$(date +%s.%N)
    mv "$SNAP_FILE.tmp" "$SNAP_FILE"
    echo "$key" > "$SNAP_FILE.args"
    node "$BENCH_DIR/lib/snapinfo.js" "$SNAP_FILE" --strings |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.name=process.argv[1];o.gen_seconds=+process.argv[2];console.log(JSON.stringify(o))})' \
        "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}')" > "$info"
  fi
  if [ ! -s "$info" ]; then
    node "$BENCH_DIR/lib/snapinfo.js" "$SNAP_FILE" --strings |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.name=process.argv[1];console.log(JSON.stringify(o))})' "$name" > "$info"
  fi
  SNAP_INFO="$(cat "$info")"
  printf '    %s\n' "$SNAP_INFO" >&2
}

# ---------------------------------------------------------------- measuring
RUN_DIR=""
measure() { # NAME TOOL CMD... ; appends a record to $RUN_DIR/runs.jsonl
  local name="$1" tool="$2"; shift 2
  local base="$RESULTS_DIR/logs/$name.$tool"
  local tf="$RUN_DIR/$name.$tool.time"
  cat "$SNAP_FILE" > /dev/null  # same warm page cache for every tool
  /usr/bin/time -f '%e %M' -o "$tf" timeout -k 30 "$TIMEOUT" "$@" > "$base.stdout" 2> "$base.stderr"
  local rc=$?
  node "$BENCH_DIR/lib/record.js" --log "$RUN_DIR/runs.jsonl" --snapshot "$name" --tool "$tool" --rc "$rc" \
    --timefile "$tf" --stdout "$base.stdout" --stderr "$base.stderr" --timeout "$TIMEOUT"
}

record_missing() { # NAME TOOL NOTE
  printf '{"snapshot":"%s","tool":"%s","status":"failed","exit_code":null,"wall_s":null,"peak_rss_mb":null,"classes":null,"top":null,"note":"%s"}\n' \
    "$1" "$2" "$3" >> "$RUN_DIR/runs.jsonl"
  printf '    %-9s failed  (%s)\n' "$2" "$3" >&2
}

# ---------------------------------------------------------------- main
IFS=',' read -r -a SIZE_LIST <<< "$SIZES"
for s in "${SIZE_LIST[@]}"; do [ -n "$(gen_args "$s")" ] || die "unknown snapshot size '$s'"; done

if [ "$GEN_ONLY" = 1 ]; then
  for s in "${SIZE_LIST[@]}"; do ensure_snapshot "$s"; done
  exit 0
fi

ensure_gnu_time
ensure_competitors
ensure_heapscope

mkdir -p "$RESULTS_DIR/logs"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/heapscope-bench.XXXXXX")"
trap 'rm -rf "$RUN_DIR"' EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

pkg_version() { node -p "require('$BENCH_DIR/node_modules/$1/package.json').version" 2>/dev/null || echo "?"; }
HS_VERSION="?"
if [ "$RUN_HEAPSCOPE" = 1 ] && [ -x "$HEAPSCOPE" ]; then
  HS_VERSION="$("$HEAPSCOPE" --version 2>/dev/null | head -n1)"
  case "$HS_VERSION" in heapscope\ *) HS_VERSION="${HS_VERSION#heapscope }" ;; [0-9]*) ;; *) HS_VERSION="?" ;; esac
fi
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
MEM_GB="$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)"
# shellcheck disable=SC2016
node -e 'console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10),
  machine: `${process.argv[1] || "unknown CPU"}, ${process.argv[2]} cores, ${process.argv[3]} GiB RAM, ${process.argv[4]}`,
  node: process.version,
  versions: `heapscope ${process.argv[5]}, heap-snapshot-toolkit ${process.argv[6]}, @memlab/heap-analysis ${process.argv[7]}`,
  timeout_s: +process.argv[8],
  node_max_old_space_mb: +process.argv[9],
}))' "$CPU" "$(nproc)" "$MEM_GB" "$(uname -sr)" "$HS_VERSION" "$(pkg_version heap-snapshot-toolkit)" \
  "$(pkg_version @memlab/heap-analysis)" "$TIMEOUT" "$NODE_HEAP_MB" > "$RUN_DIR/meta.json"

for s in "${SIZE_LIST[@]}"; do
  ensure_snapshot "$s"
  echo "$SNAP_INFO" >> "$RUN_DIR/snapshots.jsonl"
  say "benchmarking $s"
  if [ "$RUN_HEAPSCOPE" = 1 ]; then
    if [ -x "$HEAPSCOPE" ] || command -v "$HEAPSCOPE" >/dev/null; then
      # Cold: parse and analyse, as the competitors do (the cache is neither read nor written).
      measure "$s" heapscope "$HEAPSCOPE" summary "$SNAP_FILE" --json --no-cache
      # Warm: the analysis cached by a first run (in a private data dir) is read back — the
      # summary from the cache file's first section, `stats` from the whole graph.
      CACHE_HOME="$RUN_DIR/cache-home"
      XDG_DATA_HOME="$CACHE_HOME" "$HEAPSCOPE" summary "$SNAP_FILE" --json >/dev/null 2>&1
      XDG_DATA_HOME="$CACHE_HOME" measure "$s" heapscope-cached-summary "$HEAPSCOPE" summary "$SNAP_FILE" --json
      XDG_DATA_HOME="$CACHE_HOME" measure "$s" heapscope-cached-graph "$HEAPSCOPE" stats "$SNAP_FILE" --json
      rm -rf "$CACHE_HOME"
      if [ "$RUN_COMPARE" = 1 ]; then
        measure "$s" heapscope-diff "$HEAPSCOPE" diff "$SNAP_FILE" "$SNAP_FILE" --json --no-cache
        measure "$s" heapscope-trend3 "$HEAPSCOPE" trend "$SNAP_FILE" "$SNAP_FILE" "$SNAP_FILE" --json --no-cache
        # BASELINE and TARGET are parsed for ids only; FINAL alone is analysed.
        measure "$s" heapscope-leaks3 "$HEAPSCOPE" leaks "$SNAP_FILE" "$SNAP_FILE" "$SNAP_FILE" --json --no-cache
      fi
    else
      record_missing "$s" heapscope "no heapscope binary"
    fi
  fi
  [ "$RUN_DEVTOOLS" = 1 ] && measure "$s" devtools node --max-old-space-size="$NODE_HEAP_MB" "$BENCH_DIR/runners/devtools.mjs" "$SNAP_FILE"
  [ "$RUN_MEMLAB" = 1 ] && measure "$s" memlab node --max-old-space-size="$NODE_HEAP_MB" "$BENCH_DIR/runners/memlab.mjs" "$SNAP_FILE"
done

say "results"
node "$BENCH_DIR/lib/report.js" "$RUN_DIR" "$RESULTS_DIR"
echo >&2
echo "written: $RESULTS_DIR/latest.md, $RESULTS_DIR/latest.json (per-run output in $RESULTS_DIR/logs/)" >&2
