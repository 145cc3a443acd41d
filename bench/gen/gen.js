#!/usr/bin/env node
// Generates a realistic Node.js heap snapshot for the heapscope benchmark.
//
// It builds the in-memory state of a pretend e-commerce service (users,
// sessions, products, orders, an LRU response cache, a job queue, an event
// bus with listeners, pending requests, metrics, routing table, ...) and
// then writes it with v8.writeHeapSnapshot().
//
//   node --max-old-space-size=12000 gen/gen.js --scale 230000 --out FILE
//   node --max-old-space-size=12000 gen/gen.js --scale 20000 --huge-strings 560 --out FILE
//
// --scale N          number of users; everything else is proportional to it
//                    (on Node 20: ~123 snapshot nodes, ~370 edges and ~9.6 KB of
//                    file per user, plus ~5 MB / 61 k nodes of baseline)
// --huge-strings MB  additionally keep distinct ~1 KB strings until their
//                    text in the snapshot's `strings` section exceeds MB
//                    megabytes (1 MB = 2^20 chars); V8 truncates string
//                    contents in snapshots at 1024 chars, so "long" means
//                    up to 1024 here
// --seed N           PRNG seed (default 1); output is deterministic per seed
//
// Progress goes to stderr; a one-line JSON summary goes to stdout.
'use strict';

const v8 = require('v8');
const fs = require('fs');
const path = require('path');
const { EventEmitter } = require('events');
// Load a few core modules a real service would have loaded (more code,
// more SharedFunctionInfos, more realistic "(system)"/"(compiled code)").
require('http');
require('url');
require('zlib');
require('crypto');
require('stream');
require('querystring');

// ---------------------------------------------------------------- args
function parseArgs(argv) {
  const o = { scale: 10000, out: null, hugeStringsMB: 0, seed: 1 };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--scale') o.scale = Math.max(100, Math.floor(Number(v())));
    else if (a === '--out') o.out = v();
    else if (a === '--huge-strings') o.hugeStringsMB = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '-h' || a === '--help') {
      console.error('usage: gen.js --scale N --out FILE [--huge-strings MB] [--seed N]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.out) throw new Error('--out FILE is required');
  if (!Number.isFinite(o.scale)) throw new Error('bad --scale');
  return o;
}
const opts = parseArgs(process.argv);
const t0 = Date.now();
const log = (msg) => process.stderr.write(`[gen ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

// ---------------------------------------------------------------- PRNG
let seedState = (opts.seed * 2654435761) >>> 0 || 1;
function rnd() { // mulberry32
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (arr) => arr[ri(arr.length)];
const HEX = '0123456789abcdef';
const hexBuf = Buffer.allocUnsafeSlow(64);
function hex(n) { // flat string (no chain of cons strings)
  for (let i = 0; i < n; i++) hexBuf[i] = HEX.charCodeAt(ri(16));
  return hexBuf.toString('latin1', 0, n);
}

// ---------------------------------------------------------------- text
const SYL = ['ka', 'lo', 'mi', 're', 'tan', 'vo', 'shi', 'ber', 'qu', 'ex', 'dra', 'pol', 'ni', 'su', 'gor',
  'fa', 'le', 'zu', 'hin', 'ost', 'ar', 'el', 'ion', 'mar', 'ty', 'cla', 'ud', 'ri', 'an', 'no'];
function word() { let w = ''; const n = 1 + ri(3); for (let i = 0; i < n; i++) w += pick(SYL); return w; }
const WORDS = Array.from({ length: 3000 }, word);
const FIRST = Array.from({ length: 400 }, () => { const w = word(); return w[0].toUpperCase() + w.slice(1); });
FIRST.push('José', 'Zoë', 'Søren', 'Łukasz', 'Ærin', 'Chloé', '李', '山田', 'Ana 🌟'); // two-byte strings
const LAST = Array.from({ length: 700 }, () => { const w = word() + word(); return w[0].toUpperCase() + w.slice(1); });
const CITIES = Array.from({ length: 250 }, () => { const w = word(); return w[0].toUpperCase() + w.slice(1) + ' City'; });
const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'AU'];
const DOMAINS = ['example.com', 'mail.test', 'corp.internal', 'inbox.example', 'users.dev'];
const TAGS = Array.from({ length: 120 }, () => 'tag:' + word());
const CATEGORIES = Array.from({ length: 60 }, () => 'cat/' + word() + '/' + word());
const STATUSES = ['new', 'paid', 'packed', 'shipped', 'delivered', 'cancelled', 'refunded'];
const AGENTS = Array.from({ length: 40 }, (_, i) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + i}.0.0.0 Safari/537.36`);
const ROUTES = Array.from({ length: 200 }, (_, i) => `/api/v${1 + (i % 3)}/${word()}/${word()}/:id`);

// A big random ASCII text; long distinct strings are flat copies of slices
// of it with a unique header (Buffer#toString allocates a new flat string).
const TEXT_BYTES = 8 << 20;
const textBuf = Buffer.allocUnsafeSlow(TEXT_BYTES);
{
  let p = 0;
  while (p < TEXT_BYTES) {
    const w = pick(WORDS);
    const n = textBuf.write(w + (rnd() < 0.08 ? '. ' : ' '), p, 'latin1');
    if (n === 0) break;
    p += n;
  }
}
// Copy into a fresh flat string (template literals and `+` build trees of
// "(concatenated string)" nodes; a real heap has both kinds).
const flat = (s) => Buffer.from(s, 'utf8').toString('utf8');
const scratch = Buffer.allocUnsafeSlow(4096);
function longText(header, len) {
  // header + len chars of text, flattened, distinct because of the header
  const h = scratch.write(header, 0, 'latin1');
  const off = ri(TEXT_BYTES - 4096);
  textBuf.copy(scratch, h, off, off + len);
  return scratch.toString('latin1', 0, h + len);
}

// ---------------------------------------------------------------- domain model
const BASE_TS = Date.UTC(2024, 0, 1);

class Entity {
  constructor(id) {
    this.id = id;
    this.createdAt = new Date(BASE_TS + id * 977);
    this.version = 1;
  }
}

class Address {
  constructor() {
    this.street = flat(`${1 + ri(9999)} ${pick(WORDS)} ${pick(['St', 'Ave', 'Rd', 'Blvd', 'Lane'])}`);
    this.city = flat(pick(CITIES));
    this.zip = String(10000 + ri(89999));
    this.country = rnd() < 0.5 ? flat(pick(COUNTRIES)) : pick(COUNTRIES);
    this.geo = { lat: rnd() * 180 - 90, lng: rnd() * 360 - 180 };
  }
}

class User extends Entity {
  constructor(id) {
    super(id);
    const first = pick(FIRST);
    const last = pick(LAST);
    this.firstName = flat(first); // row values from a DB driver: fresh copies
    this.lastName = flat(last);
    this.email = `${first}.${last}.${id}@${pick(DOMAINS)}`.toLowerCase(); // flat, distinct
    this.handle = 'u' + id.toString(36) + hex(4);
    this.age = 18 + ri(60);
    this.balance = Math.round(rnd() * 1e7) / 100;
    this.address = new Address();
    this.tags = new Set();
    for (let i = ri(4); i > 0; i--) this.tags.add(pick(TAGS));
    this.orders = [];
    this.friends = [];
    this.searchHistory = [];
    for (let n = ri(6); n > 0; n--) this.searchHistory.push(flat(`${pick(WORDS)} ${pick(WORDS)} ${ri(100)}`));
    this.session = null;
    this.passwordHash = flat('$2b$10$' + hex(53));
    this.bio = rnd() < 0.5 ? longText(`${first} (${id}): `, 10 + ri(110)) : '';
    this.lastLoginIp = `${ri(224)}.${ri(256)}.${ri(256)}.${ri(256)}`;
    this.prefs = {
      theme: rnd() < 0.5 ? 'dark' : 'light',
      lang: pick(['en', 'de', 'fr', 'ja', 'pt']),
      emailNotifications: rnd() < 0.7,
      topics: [pick(TAGS), pick(TAGS)],
    };
    this.avatar = null;
  }
  get displayName() { return this.firstName + ' ' + this.lastName; }
}

class Admin extends User {
  constructor(id) {
    super(id);
    this.permissions = new Set(['read', 'write', pick(['billing', 'support', 'ops', 'root'])]);
    this.auditLog = [];
    for (let i = 0; i < 5; i++) this.auditLog.push(`${new Date(BASE_TS + ri(1e10)).toISOString()} admin ${id} ${pick(WORDS)} ${pick(ROUTES)}`);
  }
}

class Review {
  constructor(user, product) {
    this.user = user;
    this.product = product;
    this.rating = 1 + ri(5);
    this.text = longText(`review#${user.id}/${product.sku}: `, 20 + ri(180));
  }
}

class Product extends Entity {
  constructor(id) {
    super(id);
    this.sku = 'SKU-' + id.toString(16).padStart(8, '0') + '-' + hex(4);
    this.title = `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`;
    this.description = rnd() < 0.3 ? longText(`[${this.sku}] `, 100 + ri(900)) : null;
    this.price = Math.round(rnd() * 100000) / 100 + 0.99;
    this.stock = ri(500);
    this.categories = [pick(CATEGORIES), pick(CATEGORIES)];
    this.attrs = new Map([['color', pick(WORDS)], ['weight', ri(5000)], ['origin', pick(COUNTRIES)]]);
    this.priceHistory = new Float64Array(12).map(() => this.price * (0.8 + rnd() * 0.4));
    this.reviews = [];
  }
}

class OrderItem {
  constructor(product, quantity) {
    this.product = product;
    this.sku = flat(product.sku); // denormalized copies, as stored with the order
    this.title = flat(product.title);
    this.quantity = quantity;
    this.unitPrice = product.price;
    this.discount = rnd() < 0.2 ? Math.round(rnd() * 30) / 100 : 0;
  }
}

class Order extends Entity {
  constructor(id, user, products) {
    super(id);
    this.user = user;
    this.items = [];
    let total = 0;
    for (let n = 1 + ri(4); n > 0; n--) {
      const it = new OrderItem(pick(products), 1 + ri(3));
      total += it.unitPrice * it.quantity * (1 - it.discount);
      this.items.push(it);
    }
    this.total = Math.round(total * 100) / 100;
    this.currency = flat(pick(['USD', 'EUR', 'GBP', 'JPY']));
    this.orderNo = flat('ORD-' + (2024000000 + id) + '-' + hex(6));
    this.status = flat(pick(STATUSES));
    this.trackingNo = this.status === 'shipped' || this.status === 'delivered' ? '1Z' + hex(16).toUpperCase() : null;
    this.meta = { ip: `10.${ri(256)}.${ri(256)}.${ri(256)}`, userAgent: rnd() < 0.5 ? flat(pick(AGENTS)) : pick(AGENTS), coupon: rnd() < 0.1 ? 'SAVE' + ri(100) : undefined };
    this.events = [];
    for (let n = 1 + ri(3); n > 0; n--) this.events.push(flat(`${new Date(BASE_TS + ri(1e10)).toISOString()} ${pick(STATUSES)} by ${pick(['system', 'support', 'user', 'carrier'])}`));
    this.onStatusChange = makeStatusHandler(this, user);
  }
}

// closure capturing several variables (context with order, user, history)
function makeStatusHandler(order, user) {
  let previous = order.status;
  const history = [];
  return function onStatusChange(next) {
    history.push({ from: previous, to: next, at: Date.now() });
    previous = next;
    if (next === 'cancelled') user.balance += order.total;
    return history.length;
  };
}

class Session {
  constructor(user) {
    this.token = hex(32);
    this.user = user;
    this.createdAt = BASE_TS + ri(1e9);
    this.expiresAt = this.createdAt + 3600e3;
    this.data = { cart: [], csrf: hex(16), flash: null, visits: ri(100) };
    this.history = [];
    for (let n = 2 + ri(7); n > 0; n--) this.history.push(flat(`https://shop.example.com${pick(ROUTES).replace(':id', hex(6))}?ref=${pick(WORDS)}`));
    this.csrfBuffer = Buffer.from(this.data.csrf, 'hex'); // pooled slab Buffer
    const token = this.token;
    this.refresh = () => { this.expiresAt = Date.now() + 3600e3; return token; };
  }
}

// LRU cache: Map + doubly linked list of entries (cycles, long chains)
class CacheEntry {
  constructor(key, value, ttl) {
    this.key = key;
    this.value = value;
    this.expires = BASE_TS + ttl;
    this.hits = 0;
    this.prev = null;
    this.next = null;
  }
}
class LRUCache {
  constructor(name, limit) {
    this.name = name;
    this.limit = limit;
    this.map = new Map();
    this.head = null;
    this.tail = null;
    this.stats = { hits: 0, misses: 0, evictions: 0 };
  }
  set(key, value) {
    const e = new CacheEntry(key, value, ri(1e8));
    this.map.set(key, e);
    if (this.tail) { this.tail.next = e; e.prev = this.tail; this.tail = e; } else { this.head = this.tail = e; }
    if (this.map.size > this.limit) {
      const old = this.head;
      this.head = old.next;
      this.head.prev = null;
      this.map.delete(old.key);
      this.stats.evictions++;
    }
  }
}

// task queue: singly linked list (deep dominator chain)
class Job {
  constructor(id, kind, payload) {
    this.id = id;
    this.kind = kind;
    this.payload = payload;
    this.attempts = ri(3);
    this.next = null;
    this.run = async () => { this.attempts++; return payload; };
  }
}
class JobQueue {
  constructor() { this.head = null; this.tail = null; this.length = 0; }
  push(job) { if (this.tail) this.tail.next = job; else this.head = job; this.tail = job; this.length++; }
}

class RequestContext {
  constructor(id, user) {
    this.id = id;
    this.user = user;
    this.startedAt = process.hrtime.bigint();
    this.headers = { 'x-request-id': 'req-' + id + '-' + hex(8), 'user-agent': pick(AGENTS), accept: 'application/json' };
    this.promise = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
  }
}

class Metrics {
  constructor() {
    this.counters = Object.create(null); // becomes dictionary-mode
    this.histograms = new Map();
  }
  inc(name, n) { this.counters[name] = (this.counters[name] || 0) + n; }
  observe(name, v) {
    let h = this.histograms.get(name);
    if (!h) { h = new Float64Array(64); this.histograms.set(name, h); }
    h[Math.min(63, Math.floor(Math.log2(1 + v)))]++;
  }
}

// ---------------------------------------------------------------- build
function build(scale) {
  const app = {
    startedAt: new Date(),
    config: JSON.parse(JSON.stringify({
      service: 'shop-api', port: 8080, db: { host: 'db.internal', pool: { min: 2, max: 20 }, replicas: ['r1', 'r2', 'r3'] },
      features: Object.fromEntries(WORDS.slice(0, 80).map((w, i) => [w, i % 3 === 0])),
    })),
    users: [],
    usersById: new Map(),
    usersByEmail: new Map(),
    products: [],
    productsBySku: new Map(),
    orders: [],
    sessions: new Map(),
    userMeta: new WeakMap(),
    responseCache: null,
    queue: new JobQueue(),
    bus: new EventEmitter(),
    pending: new Map(),
    metrics: new Metrics(),
    routes: [],
    recentErrors: [],
    logBuffer: [],
    blobs: [],
  };
  app.bus.setMaxListeners(0);

  const nProducts = Math.max(50, Math.floor(scale / 5));
  for (let i = 0; i < nProducts; i++) {
    const p = new Product(i + 1);
    app.products.push(p);
    app.productsBySku.set(p.sku, p);
  }
  log(`products: ${nProducts}`);

  let orderId = 1;
  for (let i = 0; i < scale; i++) {
    const id = i + 1;
    const u = (id % 50 === 0) ? new Admin(id) : new User(id);
    app.users.push(u);
    app.usersById.set(id, u);
    app.usersByEmail.set(u.email, u);
    for (let n = ri(5); n > 0; n--) {
      const o = new Order(orderId++, u, app.products);
      u.orders.push(o);
      app.orders.push(o);
    }
    if (rnd() < 0.4) {
      const s = new Session(u);
      u.session = s;
      app.sessions.set(s.token, s);
      for (let k = ri(3); k > 0; k--) s.data.cart.push(pick(app.products));
    }
    if (id % 16 === 0) {
      u.avatar = Buffer.alloc(256 + ri(768), id & 0xff); // pooled for small sizes
    }
    if (id % 10 === 0) app.userMeta.set(u, { lastIp: `192.168.${ri(256)}.${ri(256)}`, flags: ri(16) });
    if (id % 200000 === 0) log(`users: ${id}`);
  }
  log(`users: ${scale}, orders: ${orderId - 1}`);

  // friends: random cross references (cycles)
  for (const u of app.users) {
    for (let n = ri(5); n > 0; n--) u.friends.push(app.users[ri(app.users.length)]);
  }
  // reviews: product <-> user cross refs
  for (let n = Math.floor(scale / 4); n > 0; n--) {
    const p = pick(app.products);
    p.reviews.push(new Review(pick(app.users), p));
  }

  // response cache of parsed JSON payloads (nested object graphs)
  const cache = new LRUCache('responses', Math.max(100, Math.floor(scale / 4)));
  for (let n = Math.floor(scale / 3.5); n > 0; n--) {
    const u = pick(app.users);
    const key = `GET /api/v2/users/${u.id}/feed?page=${ri(50)}&h=${hex(6)}`;
    const payload = JSON.parse(JSON.stringify({
      user: { id: u.id, name: u.displayName, email: u.email },
      page: ri(50),
      items: Array.from({ length: 1 + ri(4) }, () => ({ sku: pick(app.products).sku, score: rnd(), reason: pick(WORDS) })),
      etag: hex(12),
    }));
    cache.set(key, payload);
  }
  app.responseCache = cache;
  log(`cache entries: ${cache.map.size}`);

  // job queue (linked list; deep chain)
  const nJobs = Math.min(150000, Math.floor(scale / 6));
  for (let i = 0; i < nJobs; i++) {
    const u = pick(app.users);
    app.queue.push(new Job(i, pick(['email', 'invoice', 'reindex', 'webhook']), { userId: u.id, to: u.email, attempt: 0 }));
  }

  // event bus listeners: closures capturing variables
  const nListeners = Math.floor(scale / 4);
  for (let i = 0; i < nListeners; i++) {
    const u = pick(app.users);
    const topic = 'order:' + pick(STATUSES) + ':' + (i % 97);
    let calls = 0;
    app.bus.on(topic, function notify(order) { calls++; if (order.user === u) app.metrics.inc('notify.' + topic, calls); });
  }

  // pending requests with unresolved promises
  for (let i = 0; i < Math.floor(scale / 40); i++) {
    const r = new RequestContext(i, pick(app.users));
    app.pending.set(r.headers['x-request-id'], r);
  }

  // metrics (dictionary-mode object, typed arrays)
  for (let i = 0; i < Math.min(20000, Math.floor(scale / 10) + 200); i++) app.metrics.inc(`http.${pick(ROUTES)}.${i}`, 1 + ri(100));
  for (const r of ROUTES) for (let k = 0; k < 20; k++) app.metrics.observe(r, rnd() * 5000);

  // routing table: RegExps + handler closures
  for (const r of ROUTES) {
    const re = new RegExp('^' + r.replace(':id', '([^/]+)') + '$');
    const name = r;
    app.routes.push({ pattern: re, method: pick(['GET', 'POST', 'PUT', 'DELETE']), handler: (req) => ({ route: name, m: re.exec(req.url) }) });
  }

  // in-memory log ring buffer: distinct lines
  for (let i = 0; i < scale * 2; i++) {
    const u = pick(app.users);
    const line = `${new Date(BASE_TS + i * 37).toISOString()} INFO ${pick(ROUTES)} user=${u.id} status=${pick([200, 200, 200, 201, 204, 304, 400, 404, 500])} dur=${ri(900)}ms req=${hex(8)}`;
    app.logBuffer.push(i % 5 === 0 ? line : flat(line));
  }

  // recent errors with stack strings
  for (let i = 0; i < 200; i++) {
    const e = new Error(`upstream timeout #${i} after ${ri(30000)}ms on ${pick(ROUTES)}`);
    e.code = 'ETIMEDOUT';
    void e.stack;
    app.recentErrors.push(e);
  }

  // unpooled buffers (own ArrayBuffer + native backing store)
  for (let i = 0; i < Math.floor(scale / 200) + 10; i++) app.blobs.push(Buffer.alloc(8192 + ri(8192), i & 0xff));

  return app;
}

function addHugeStrings(app, mb) {
  // Distinct ~1 KB strings (rendered HTML fragments cached per URL) until
  // their text exceeds `mb` MiB: the snapshot's strings section then gets
  // too long for a single JS string in V8 (max ~2^29 chars).
  const target = mb * 1048576;
  const cache = new Map();
  let chars = 0;
  let i = 0;
  while (chars < target) {
    const key = `/render/${i.toString(36)}`;
    const s = longText(`<li data-id="${i}" class="row">`, 990);
    cache.set(key, s);
    chars += Math.min(1024, s.length) + key.length;
    i++;
    if (i % 100000 === 0) log(`huge strings: ${i} (${(chars / 1048576).toFixed(0)} MiB)`);
  }
  app.htmlCache = cache;
  log(`huge strings: ${i} strings, ${(chars / 1048576).toFixed(0)} MiB`);
}

const app = build(opts.scale);
if (opts.hugeStringsMB > 0) addHugeStrings(app, opts.hugeStringsMB);
globalThis.__heapscopeBenchApp = app;
log(`heap used: ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB; writing snapshot…`);

const out = path.resolve(opts.out);
fs.mkdirSync(path.dirname(out), { recursive: true });
const tWrite = Date.now();
v8.writeHeapSnapshot(out);
const size = fs.statSync(out).size;
log(`wrote ${out}: ${(size / 1048576).toFixed(1)} MiB in ${((Date.now() - tWrite) / 1000).toFixed(1)}s`);
console.log(JSON.stringify({ file: out, bytes: size, scale: opts.scale, hugeStringsMB: opts.hugeStringsMB, seconds: (Date.now() - t0) / 1000 }));
