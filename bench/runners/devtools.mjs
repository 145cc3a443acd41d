// Competitor runner: Chrome DevTools' heap snapshot worker code, as packaged
// for Node by the npm package `heap-snapshot-toolkit`.
//
//   node --max-old-space-size=20000 runners/devtools.mjs FILE [--top N]
//
// Work done (same as opening the "Summary" view in DevTools):
//   1. parse(): stream the file into HeapSnapshotLoader, build the
//      JSHeapSnapshot (edges/retainers, distances, dominator tree, retained
//      sizes, class names)
//   2. aggregatesWithFilter({}): the class summary: per class count, self
//      size (`self`) and retained size (`maxRet`, DevTools' sum of retained
//      sizes of the class's objects not nested under another object of the
//      same class)
// Prints one JSON line: {tool, classes, nodes, top:[{name,count,self,retained}], timings}
import { createReadStream } from 'node:fs';
import { parse } from 'heap-snapshot-toolkit';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const topIdx = args.indexOf('--top');
const topN = topIdx >= 0 ? Number(args[topIdx + 1]) : 5;
if (!file) {
  console.error('usage: devtools.mjs FILE [--top N]');
  process.exit(2);
}

const t0 = performance.now();
const snapshot = await parse(createReadStream(file, { encoding: 'utf-8', highWaterMark: 1 << 20 }));
const t1 = performance.now();
const aggregates = snapshot.aggregatesWithFilter({});
const t2 = performance.now();

const rows = Object.values(aggregates).map((a) => ({ name: a.name, count: a.count, self: a.self, retained: a.maxRet }));
rows.sort((a, b) => b.retained - a.retained || b.self - a.self);
const out = {
  tool: 'devtools',
  file,
  nodes: snapshot.nodeCount,
  classes: rows.length,
  top: rows.slice(0, topN),
  timings: { load_s: +((t1 - t0) / 1000).toFixed(3), summary_s: +((t2 - t1) / 1000).toFixed(3) },
};
console.log(JSON.stringify(out));
// Some DevTools internals keep handles open; do not wait for them.
process.exit(0);
