// Profiles: the table on the Snapshots page, and one profile (#/profile/ID[/SORT]) with its
// top functions (sorted, filtered and paged by the server) and the flame graph the server
// draws (inline SVG: hover a frame for its name, location and share).
import { api, query } from './api.js';
import { size, count, esc, errorBox } from './format.js';

const PAGE = 50;

function processLink(p) {
  return p.process_id ? `<a href="#/process/${p.process_id}">${esc(p.source)}</a>` : esc(p.source);
}

function value(unit, v) {
  if (unit === 'bytes') return size(v);
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${v} µs`;
}

export function profilesTable(rows) {
  if (!rows.length) return '<p class="muted">No profiles yet: record one from a process on the <a href="#/processes">Processes</a> page.</p>';
  return `<table data-testid="profiles"><thead><tr><th>#</th><th>Name</th><th>Kind</th><th class="num">Size</th><th>Date</th><th>Source</th><th>Status</th><th></th></tr></thead>
    <tbody>${rows.map((p) => `<tr data-profile="${p.id}" data-profile-status="${p.status}">
      <td>${p.id}</td>
      <td>${p.status === 'ready' ? `<a href="#/profile/${p.id}">${esc(p.name)}</a>` : esc(p.name)}</td>
      <td>${p.kind === 'cpu' ? 'CPU' : 'heap sampling'} · ${(p.duration_ms / 1000).toFixed(p.duration_ms % 1000 ? 1 : 0)} s</td>
      <td class="num">${p.status === 'ready' ? size(p.size) : ''}</td>
      <td>${new Date(p.started_ms).toLocaleString()}</td>
      <td>${processLink(p)}</td>
      <td>${p.status === 'failed' ? `<span class="status failed">failed</span> <span class="muted">${esc(p.error || '')}</span>` : `<span class="status ${p.status}">${p.status}</span>`}</td>
      <td>${p.status === 'ready' ? `<a href="/api/profiles/${p.id}/file">download</a> · ` : ''}${p.status === 'recording' ? '' : `<a href="javascript:void 0" data-delete-profile="${p.id}">delete</a>`}</td>
    </tr>`).join('')}</tbody></table>`;
}

export function renderProfile(root, id, sort = 'self') {
  if (!['self', 'total'].includes(sort)) sort = 'self';
  root.innerHTML = `<div data-testid="profile-head"><h1>Profile ${esc(id)}</h1></div>
    <h2>Top functions</h2>
    <div class="toolbar">
      <span class="segmented">${[['self', 'by self'], ['total', 'by total']].map(([k, label]) =>
        `<a href="#/profile/${esc(id)}/${k}" class="${k === sort ? 'active' : ''}">${label}</a>`).join('')}</span>
      <input type="search" placeholder="Filter functions or files" data-testid="profile-filter">
    </div>
    <div data-testid="top-functions"><p class="muted">Loading…</p></div>
    <h2>Flame graph</h2><div class="panel flame" data-testid="flamegraph"><p class="muted">Drawing…</p></div>`;
  const head = root.querySelector('[data-testid=profile-head]');
  const out = root.querySelector('[data-testid=top-functions]');
  const filter = root.querySelector('input');
  let offset = 0;
  api(`/profiles/${id}`).then((p) => {
    head.innerHTML = `<h1>${esc(p.name)}</h1><p class="muted">${p.kind === 'cpu' ? 'CPU profile' : 'Sampling heap profile'} of ${processLink(p)},
      ${(p.duration_ms / 1000).toFixed(1)} s from ${new Date(p.started_ms).toLocaleString()} · ${size(p.size)} ·
      <a href="/api/profiles/${p.id}/file">download</a> (opens in Chrome DevTools)</p>`;
  }).catch((e) => { head.innerHTML = errorBox(e); });

  async function refresh() {
    try {
      const t = await api(`/profiles/${id}/top${query({ sort, filter: filter.value, offset, limit: PAGE })}`);
      const share = (v) => (t.total ? `${((v * 100) / t.total).toFixed(1)} %` : '');
      out.innerHTML = `<table data-testid="top-table"><thead><tr><th class="num">Self</th><th class="num"></th><th class="num">Total</th><th class="num"></th><th>Function</th><th>Location</th></tr></thead>
        <tbody>${t.functions.map((f) => `<tr><td class="num">${value(t.unit, f.self)}</td><td class="num muted">${share(f.self)}</td>
          <td class="num">${value(t.unit, f.total)}</td><td class="num muted">${share(f.total)}</td>
          <td><b>${esc(f.function)}</b></td><td class="mono small">${esc(f.location || '')}</td></tr>`).join('')}</tbody></table>
        <div class="pager">${t.offset > 0 ? '<button data-page="-1">← previous</button>' : ''}
          <span class="muted">${count(t.matched ? t.offset + 1 : 0)}–${count(t.offset + t.functions.length)} of ${count(t.matched)} functions · total ${value(t.unit, t.total)}</span>
          ${t.offset + t.functions.length < t.matched ? '<button data-page="1">next →</button>' : ''}</div>`;
    } catch (e) { out.innerHTML = errorBox(e); }
  }
  out.addEventListener('click', (e) => {
    const b = e.target.closest('[data-page]');
    if (b) { offset = Math.max(0, offset + Number(b.dataset.page) * PAGE); refresh(); }
  });
  let debounce = null;
  filter.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { offset = 0; refresh(); }, 250); });
  refresh();
  fetch(`/api/profiles/${id}/flamegraph.svg`, { credentials: 'same-origin' }).then(async (r) => {
    const flame = root.querySelector('[data-testid=flamegraph]');
    if (!r.ok) { let m = `HTTP ${r.status}`; try { m = (await r.json()).error; } catch { /* not JSON */ } flame.innerHTML = errorBox(m); return; }
    // Our own server's SVG: every name in it is escaped by the flame graph writer.
    flame.innerHTML = await r.text();
  });
  return null;
}
