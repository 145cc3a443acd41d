// Competitor runner: memlab (@memlab/heap-analysis + @memlab/core).
//
//   node --max-old-space-size=20000 runners/memlab.mjs FILE [--top N]
//
// Work done:
//   1. getFullHeapFromFile(): parse the snapshot and run memlab's
//      preparePathFinder (shortest paths to GC roots, dominator tree,
//      retained sizes of all nodes)
//   2. class summary over memlab's heap API: per class count, self size and
//      retained size. Class names follow DevTools' rules ('(system)' for
//      hidden, '(compiled code)', 'Function' for closures, '(string)', ...,
//      object/native nodes by name); DevTools' extra split of plain Objects
//      by property names ('{a, b, c}') is not done, so those are 'Object'.
//      Retained size per class = sum of retained sizes of the class's
//      objects that are not nested (in the dominator tree) under another
//      object of the same class, as DevTools does; nodes with self size 0
//      are skipped, as in DevTools.
// Prints one JSON line (last line of stdout): {tool, classes, nodes, top, timings}
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const core = require('@memlab/core');
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const topIdx = args.indexOf('--top');
const topN = topIdx >= 0 ? Number(args[topIdx + 1]) : 5;
if (!file) {
  console.error('usage: memlab.mjs FILE [--top N]');
  process.exit(2);
}
core.config.muteConsole = true;

const t0 = performance.now();
const heap = await getFullHeapFromFile(file);
const t1 = performance.now();

function className(type, node) {
  switch (type) {
    case 'hidden': return '(system)';
    case 'object':
    case 'native': {
      const name = node.name;
      if (name.startsWith('<')) {
        const sp = name.indexOf(' ');
        return sp === -1 ? name : name.substring(0, sp) + '>';
      }
      return name;
    }
    case 'code': return '(compiled code)';
    case 'closure': return 'Function';
    case 'regexp': return 'RegExp';
    default: return '(' + type + ')';
  }
}

const n = heap.nodes.length;
const cls = new Int32Array(n);
const self = new Float64Array(n);
const ret = new Float64Array(n);
const dom = new Int32Array(n).fill(-1);
const classIds = new Map();
const names = [];
heap.nodes.forEach((node) => {
  const i = node.nodeIndex;
  const name = className(node.type, node);
  let c = classIds.get(name);
  if (c === undefined) { c = names.length; names.push(name); classIds.set(name, c); }
  cls[i] = c;
  self[i] = node.self_size;
  ret[i] = node.retainedSize;
  const d = node.dominatorNode;
  if (d && d.nodeIndex !== i) dom[i] = d.nodeIndex;
});

// children lists of the dominator tree (CSR)
const first = new Int32Array(n + 1);
for (let i = 0; i < n; i++) if (dom[i] >= 0) first[dom[i] + 1]++;
for (let i = 0; i < n; i++) first[i + 1] += first[i];
const fill = first.slice(0, n);
const kids = new Int32Array(first[n]);
for (let i = 0; i < n; i++) if (dom[i] >= 0) kids[fill[dom[i]]++] = i;

const count = new Float64Array(names.length);
const selfSum = new Float64Array(names.length);
const retSum = new Float64Array(names.length);
const active = new Int32Array(names.length);
for (let i = 0; i < n; i++) if (self[i] > 0) { count[cls[i]]++; selfSum[cls[i]] += self[i]; }

// iterative DFS; stack entries: ~i = exit marker for node i
const stack = new Int32Array(2 * n + 2);
for (let r = 0; r < n; r++) {
  if (dom[r] >= 0) continue; // only start at roots of the dominator forest
  let sp = 0;
  stack[sp++] = r;
  while (sp > 0) {
    const v = stack[--sp];
    if (v < 0) { const i = ~v; if (self[i] > 0) active[cls[i]]--; continue; }
    const c = cls[v];
    if (self[v] > 0) {
      if (active[c] === 0) retSum[c] += ret[v];
      active[c]++;
      stack[sp++] = ~v;
    }
    for (let k = first[v]; k < first[v + 1]; k++) stack[sp++] = kids[k];
  }
}
const t2 = performance.now();

const rows = [];
for (let c = 0; c < names.length; c++) {
  if (count[c] > 0) rows.push({ name: names[c], count: count[c], self: selfSum[c], retained: retSum[c] });
}
rows.sort((a, b) => b.retained - a.retained || b.self - a.self);
console.log(JSON.stringify({
  tool: 'memlab',
  file,
  nodes: n,
  classes: rows.length,
  top: rows.slice(0, topN),
  timings: { load_s: +((t1 - t0) / 1000).toFixed(3), summary_s: +((t2 - t1) / 1000).toFixed(3) },
}));
process.exit(0);
