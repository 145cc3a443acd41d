// A service that leaks: every tick it keeps a batch of LiveLeakRecord objects in a
// module-level array (a cache nobody evicts), until LEAK_COUNT are held; then it prints
// "ready" and keeps working (a hot loop and short-lived allocations) so that CPU and
// allocation profiles have something to see.
'use strict';
const LEAK_COUNT = Number(process.env.LEAK_COUNT || 5000);
const BATCH = Number(process.env.LEAK_BATCH || 500);

class LiveLeakRecord {
  constructor(i) {
    this.id = i;
    this.payload = 'record-' + i;
    this.createdAt = Date.now();
  }
}

const cache = [];
let announced = false;

function spinHotLoop() {
  let x = 0;
  const until = Date.now() + 4;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  return x;
}

function allocateShortLived() {
  const garbage = [];
  for (let i = 0; i < 200; i++) garbage.push({ i, text: 'tmp-' + i });
  return garbage.length;
}

setInterval(() => {
  for (let i = 0; i < BATCH && cache.length < LEAK_COUNT; i++) cache.push(new LiveLeakRecord(cache.length));
  if (cache.length >= LEAK_COUNT && !announced) {
    announced = true;
    console.log('ready');
  }
  spinHotLoop();
  allocateShortLived();
}, 10);
