'use strict';
// A memory-leak check for CI: run the code under test repeatedly, take three heap
// snapshots of this very process (ids of one process are comparable), and let heapscope
// decide. Exits with heapscope's exit code: 0 ok, 1 a threshold tripped, 2 usage error.
//
//   node examples/ci-gate/leak-check.js            # passes
//   LEAK=1 node examples/ci-gate/leak-check.js     # fails: Session and listeners grow
//
// HEAPSCOPE=/path/to/heapscope overrides the binary (default: `heapscope` on PATH).
const v8 = require('v8');
const os = require('os');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { handleOrder } = require('./service');

const ROUND = 500;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leak-check-'));
const snapshots = [];

function work(round) {
  for (let i = 0; i < ROUND; i++) handleOrder(`customer-${i % 50}`, `item-${round}-${i}`);
}

work(0); // warm up: lazily loaded modules, compiled code, caches
for (let round = 1; round <= 3; round++) {
  work(round);
  // writeHeapSnapshot collects garbage first, so only live objects are in it.
  snapshots.push(v8.writeHeapSnapshot(path.join(dir, `s${round}.heapsnapshot`)));
}

const heapscope = process.env.HEAPSCOPE || 'heapscope';
const result = spawnSync(heapscope, [
  'trend', ...snapshots,
  '--growing', '--limit', '5',
  // No collection may grow from every snapshot to the next...
  '--fail-on', 'growing-collections>0',
  // ...no Session may survive in bulk...
  '--fail-on', `class:Session count-growth>${ROUND / 10}`,
  // ...and the heap may not grow by more than 1 MB over 1000 more calls.
  '--fail-on', 'retained-growth>1MB',
], { stdio: 'inherit' });
fs.rmSync(dir, { recursive: true, force: true });
if (result.error) throw result.error;
process.exit(result.status);
