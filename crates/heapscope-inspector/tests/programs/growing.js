// A service whose leak never stops: every GROW_EVERY_MS it keeps GROW_BATCH GrowingRecord
// objects (about 150 bytes each with their strings) in a module-level array, and makes as
// much short-lived garbage. Prints "ready" once its first batches are held. For `watch`'s
// rules and leak trend, which need memory that keeps rising while it is watched.
'use strict';
const BATCH = Number(process.env.GROW_BATCH || 2000);
const EVERY_MS = Number(process.env.GROW_EVERY_MS || 50);

class GrowingRecord {
  constructor(i) {
    this.id = i;
    this.payload = 'growing-record-' + i;
  }
}

const held = [];
let ticks = 0;
setInterval(() => {
  for (let i = 0; i < BATCH; i++) held.push(new GrowingRecord(held.length));
  let garbage = 0;
  for (let i = 0; i < BATCH; i++) garbage += { i, text: 'tmp-' + i }.text.length;
  if (++ticks === 5) console.log('ready');
  return garbage;
}, EVERY_MS);

// A service under load runs major GCs every few seconds; a test cannot wait for that, so
// with GC_EVERY_MS (and node --expose-gc) the program collects on that period itself.
if (process.env.GC_EVERY_MS && typeof globalThis.gc === 'function')
  setInterval(globalThis.gc, Number(process.env.GC_EVERY_MS)).unref();
