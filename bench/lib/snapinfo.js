#!/usr/bin/env node
// Prints JSON stats of a .heapsnapshot without parsing it:
//   node lib/snapinfo.js FILE [--strings]
// node_count / edge_count come from the header (first few KB). With
// --strings it also scans the file for the `"strings":[` section and reports
// its length in bytes (the part DevTools must hold as one JS string).
'use strict';
const fs = require('fs');

function info(file, wantStrings) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 65536));
    fs.readSync(fd, head, 0, head.length, 0);
    const text = head.toString('latin1');
    const num = (k) => { const m = text.match(new RegExp(`"${k}"\\s*:\\s*(\\d+)`)); return m ? Number(m[1]) : null; };
    const r = { file, bytes: size, node_count: num('node_count'), edge_count: num('edge_count') };
    if (wantStrings) r.strings_bytes = stringsSection(fd, size);
    return r;
  } finally {
    fs.closeSync(fd);
  }
}

function stringsSection(fd, size) {
  const needle = Buffer.from('"strings":[');
  const chunk = 16 << 20;
  const buf = Buffer.alloc(chunk + needle.length);
  let pos = 0;
  let carry = 0;
  let found = -1;
  while (pos < size) {
    const n = fs.readSync(fd, buf, carry, chunk, pos);
    if (n <= 0) break;
    const idx = buf.subarray(0, carry + n).lastIndexOf(needle);
    if (idx >= 0) found = pos - carry + idx; // keep the last match
    pos += n;
    buf.copy(buf, 0, carry + n - needle.length, carry + n);
    carry = needle.length;
  }
  return found < 0 ? null : size - found - needle.length;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) { console.error('usage: snapinfo.js FILE [--strings]'); process.exit(2); }
  console.log(JSON.stringify(info(file, args.includes('--strings'))));
}
module.exports = { info };
