#!/usr/bin/env node
// Builds a heap of about --mb megabytes (users with sessions and orders, a Map index,
// strings, arrays) and holds it, for measuring live capture. On SIGUSR2 it writes a
// snapshot with Node's own v8.writeHeapSnapshot and reports how long that took, so
// heapscope's capture can be compared with it on the very same heap.
//
//   node --max-old-space-size=8000 --inspect=127.0.0.1:0 hold-heap.js --mb 400 --out DIR
'use strict';
const v8 = require('v8');
const path = require('path');

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const targetMB = Number(arg('--mb', 400));
const outDir = arg('--out', '.');

class User {
  constructor(id) {
    this.id = id;
    this.name = `user-${id}`;
    this.email = `user${id}@example.com`;
    this.sessions = [];
    this.orders = [];
    this.tags = new Set(['a' + (id % 17), 'b' + (id % 31)]);
  }
}
class Session {
  constructor(user, n) {
    this.user = user;
    this.token = `${user.id.toString(36)}-${n}-${(user.id * 7919 + n).toString(16)}`;
    this.startedAt = 1700000000000 + n;
  }
}
class Order {
  constructor(user, n) {
    this.user = user;
    this.lines = [];
    for (let i = 0; i < 3; i++) this.lines.push({ sku: `sku-${(user.id + i) % 5000}`, qty: i + 1, price: 9.99 * (i + 1) });
    this.note = n % 5 === 0 ? `gift for ${user.name}` : null;
  }
}

const users = new Map();
let id = 0;
while (process.memoryUsage().heapUsed < targetMB * 1048576) {
  for (let k = 0; k < 1000; k++, id++) {
    const u = new User(id);
    for (let s = 0; s < 2; s++) u.sessions.push(new Session(u, s));
    for (let o = 0; o < 2; o++) u.orders.push(new Order(u, o));
    users.set(u.name, u);
  }
}
globalThis.__users = users;
const mb = (n) => (n / 1048576).toFixed(0);
console.log(`ready heapUsed=${mb(process.memoryUsage().heapUsed)}MiB users=${users.size}`);

process.on('SIGUSR2', () => {
  const file = path.join(outDir, `node-${process.pid}.heapsnapshot`);
  const t0 = process.hrtime.bigint();
  v8.writeHeapSnapshot(file);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`node-write ms=${ms.toFixed(0)} file=${file}`);
});
setInterval(() => {}, 1 << 30);
