#!/usr/bin/env node
// Turns one measured run into a JSON line appended to the run log.
//   node lib/record.js --log RUNS.jsonl --snapshot NAME --tool TOOL --rc N
//        --timefile F --stdout F --stderr F --timeout SEC
// The time file holds GNU time's output ("%e %M" on its last line, possibly
// preceded by "Command exited with non-zero status N" / "Command terminated
// by signal N").
'use strict';
const fs = require('fs');

const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const read = (f, max = 1 << 20) => {
  try {
    const fd = fs.openSync(f, 'r');
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len); // tail
    fs.closeSync(fd);
    return buf.toString('utf8');
  } catch { return ''; }
};

const rc = Number(a.rc);
const timeout = Number(a.timeout);
const timeLines = read(a.timefile).trim().split('\n').filter(Boolean);
let wall = null;
let rssKB = null;
const m = (timeLines[timeLines.length - 1] || '').match(/^([\d.]+)\s+(\d+)$/);
if (m) { wall = Number(m[1]); rssKB = Number(m[2]); }
const signal = (timeLines.join('\n').match(/terminated by signal (\d+)/) || [])[1];

const out = read(a.stdout, 256 << 20);
const err = read(a.stderr, 64 << 10);

// last JSON line of stdout (or the whole stdout as JSON)
let result = null;
try { result = JSON.parse(out); } catch {
  const lines = out.trim().split('\n').reverse();
  for (const l of lines) { if (l.startsWith('{') || l.startsWith('[')) { try { result = JSON.parse(l); break; } catch { /* next */ } } }
}

function classesOf(r) {
  if (r == null) return null;
  if (Array.isArray(r)) return r.length;
  for (const k of ['class_count', 'num_classes', 'classes', 'summary', 'rows']) {
    const v = r[k];
    if (typeof v === 'number') return v;
    if (Array.isArray(v)) return v.length;
  }
  return null;
}
function topOf(r) {
  if (r == null) return null;
  if (Array.isArray(r.top)) return r.top;
  const arr = Array.isArray(r) ? r : (Array.isArray(r.classes) ? r.classes : null);
  return arr ? arr.slice(0, 5) : null;
}

const oom = /heap out of memory|Reached heap limit|std::bad_alloc|Cannot allocate memory|Out of memory|memory allocation of \d+ bytes failed/i;
const tooLong = /Invalid string length|Cannot create a string longer than/i;
let status;
let note = '';
if (rc === 0 && result !== null) status = 'ok';
else if (rc === 0) { status = 'failed'; note = 'exit 0 but no JSON on stdout'; }
else if (rc === 124 || (rc === 137 && wall !== null && wall >= timeout - 1)) { status = 'timeout'; note = `> ${timeout} s`; }
else if (oom.test(err) || rc === 137 || signal === '9') { status = 'OOM'; }
else if (tooLong.test(err)) { status = 'failed'; note = 'string too long (V8 max string length)'; }
else { status = 'failed'; }
if (status !== 'ok' && !note) {
  const lines = err.split('\n').map((l) => l.trim()).filter((l) => l && !/^at |^\s*\^|^node:internal/.test(l));
  const interesting = lines.find((l) => /error|fatal|panic|abort|killed/i.test(l)) || lines[lines.length - 1] || '';
  note = (interesting + (rc ? ` (exit ${rc})` : '')).slice(0, 160);
}

const rec = {
  snapshot: a.snapshot,
  tool: a.tool,
  status,
  exit_code: rc,
  wall_s: wall,
  peak_rss_mb: rssKB === null ? null : +(rssKB / 1024).toFixed(1),
  classes: classesOf(result),
  top: topOf(result),
  timings: result && result.timings ? result.timings : undefined,
  note: note || undefined,
};
fs.appendFileSync(a.log, JSON.stringify(rec) + '\n');
const show = `${rec.tool.padEnd(9)} ${status.padEnd(7)} ${wall === null ? '-' : wall.toFixed(2) + ' s'}  ${rec.peak_rss_mb === null ? '-' : rec.peak_rss_mb.toFixed(0) + ' MB'}` +
  (rec.classes !== null ? `  classes=${rec.classes}` : '') + (note ? `  (${note})` : '');
console.error('    ' + show);
