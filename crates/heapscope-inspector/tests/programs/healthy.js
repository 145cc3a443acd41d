// A healthy service: every tick it builds HealthyRecord objects, uses them and lets them
// go, so a snapshot holds none of them.
'use strict';
class HealthyRecord {
  constructor(i) {
    this.id = i;
    this.payload = 'record-' + i;
  }
}

let ticks = 0;
setInterval(() => {
  let sum = 0;
  for (let i = 0; i < 500; i++) sum += new HealthyRecord(i).payload.length;
  if (++ticks === 10) console.log('ready');
  return sum;
}, 10);

// A service under load runs major GCs every few seconds; a test cannot wait for that, so
// with GC_EVERY_MS (and node --expose-gc) the program collects on that period itself.
if (process.env.GC_EVERY_MS && typeof globalThis.gc === 'function')
  setInterval(globalThis.gc, Number(process.env.GC_EVERY_MS)).unref();
