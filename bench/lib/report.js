#!/usr/bin/env node
// Builds the Markdown table and JSON report from a run directory.
//   node lib/report.js RUN_DIR OUT_DIR
// RUN_DIR holds snapshots.jsonl (one snapinfo record per snapshot, plus
// name/gen_seconds), runs.jsonl (one lib/record.js record per tool run) and
// meta.json. Writes OUT_DIR/latest.md and OUT_DIR/latest.json and prints
// the Markdown to stdout.
'use strict';
const fs = require('fs');
const path = require('path');

const [runDir, outDir] = process.argv.slice(2);
const jsonl = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
const snapshots = jsonl(path.join(runDir, 'snapshots.jsonl'));
const runs = jsonl(path.join(runDir, 'runs.jsonl'));
const meta = JSON.parse(fs.readFileSync(path.join(runDir, 'meta.json'), 'utf8'));

const TOOL_LABEL = {
  heapscope: 'heapscope',
  'heapscope-cached-summary': 'heapscope summary, analysis cached',
  'heapscope-cached-graph': 'heapscope stats, analysis cached (whole graph read back)',
  'heapscope-diff': 'heapscope diff (2 snapshots)',
  'heapscope-trend3': 'heapscope trend (3 snapshots)',
  'heapscope-leaks3': 'heapscope leaks BASELINE TARGET FINAL',
  devtools: 'DevTools (heap-snapshot-toolkit)',
  memlab: 'memlab',
};
const fmtSize = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(0)} MB`);
const fmtCount = (n) => (n == null ? '?' : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} k` : String(n));
const fmtRatio = (r) => (r == null ? '—' : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`);

for (const r of runs) {
  const hs = runs.find((x) => x.snapshot === r.snapshot && x.tool === 'heapscope');
  const ok = (x) => x && x.status === 'ok' && x.wall_s != null;
  r.time_ratio = ok(r) && ok(hs) && hs.wall_s > 0 ? +(r.wall_s / hs.wall_s).toFixed(2) : null;
  r.rss_ratio = ok(r) && ok(hs) && hs.peak_rss_mb > 0 ? +(r.peak_rss_mb / hs.peak_rss_mb).toFixed(2) : null;
}

const lines = [];
lines.push('| Snapshot | File size | Nodes | Edges | Tool | Wall time (s) | Peak RSS (MB) | Time vs heapscope | RSS vs heapscope |');
lines.push('|---|--:|--:|--:|---|--:|--:|--:|--:|');
for (const s of snapshots) {
  const rs = runs.filter((r) => r.snapshot === s.name);
  rs.forEach((r, i) => {
    const first = i === 0;
    let time = r.wall_s == null ? '—' : r.wall_s.toFixed(r.wall_s < 10 ? 2 : 1);
    let rss = r.peak_rss_mb == null ? '—' : r.peak_rss_mb.toFixed(0);
    if (r.status !== 'ok') {
      const why = r.status === 'timeout' ? `timeout (> ${meta.timeout_s} s)` : r.status === 'OOM' ? 'OOM' : `failed${r.note && /string too long/.test(r.note) ? ': string too long' : ''}`;
      time = `**${why}**`;
      rss = r.peak_rss_mb == null ? '—' : `(${r.peak_rss_mb.toFixed(0)})`;
    }
    lines.push(`| ${first ? s.name : ''} | ${first ? fmtSize(s.bytes) : ''} | ${first ? fmtCount(s.node_count) : ''} | ${first ? fmtCount(s.edge_count) : ''} | ${TOOL_LABEL[r.tool] || r.tool} | ${time} | ${rss} | ${r.tool === 'heapscope' ? (r.status === 'ok' ? '1.0×' : '—') : fmtRatio(r.time_ratio)} | ${r.tool === 'heapscope' ? (r.status === 'ok' ? '1.0×' : '—') : fmtRatio(r.rss_ratio)} |`);
  });
}
const table = lines.join('\n');

const notes = [];
for (const s of snapshots) {
  if (s.strings_bytes != null && s.strings_bytes > 536870888) {
    notes.push(`\`${s.name}\`: its \`strings\` section is ${(s.strings_bytes / 1048576).toFixed(0)} MiB, more than V8's maximum string length (2^29 − 24 chars), so tools that hold that section in one JS string cannot load it.`);
  }
}
const failed = runs.filter((r) => r.status !== 'ok');
for (const r of failed) notes.push(`${TOOL_LABEL[r.tool] || r.tool} on \`${r.snapshot}\`: ${r.status}${r.note ? ` — ${r.note}` : ''}.`);

const md = [
  `Measured ${meta.date} on ${meta.machine}; Node ${meta.node}; ${meta.versions}. ` +
    'Each tool loads the snapshot and computes the class summary (count, self size and retained size per class); ' +
    `wall time and peak RSS of the whole process from GNU time; page cache warm; one run each; time limit ${meta.timeout_s} s per run.`,
  '',
  table,
  '',
  ...(notes.length ? notes.map((n) => `- ${n}`) : []),
  '',
].join('\n');

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'latest.md'), md);
fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify({ meta, snapshots, runs }, null, 2) + '\n');
process.stdout.write(md);
