// The Processes list: every process in the store (watched by this server, or recorded by
// `heapscope watch` into the same data directory) with its status and latest memory, sorted
// and paged by the server (#/processes/SORT/OFFSET, so a view is shareable); watches that
// are still attaching or failing; and local Node processes that could be watched.
import { api, query } from './api.js';
import { size, count, esc, errorBox } from './format.js';

const PAGE = 50;
const COLUMNS = [
  ['app', 'App'], ['pid', 'PID'], ['status', 'Status'], ['heap_used', 'Heap used / limit'],
  ['rss', 'RSS'], [null, 'Heap after GC'], [null, 'Trend'], ['alerts', 'Alerts'], ['last_seen', 'Last sample'],
];

export function statusBadge(status, error) {
  const cls = { live: 'ready', attaching: 'queued', gone: 'gone', error: 'failed' }[status] || 'idle';
  return `<span class="status ${cls}" data-testid="process-status" title="${esc(error || '')}">${esc(status)}</span>`;
}

export function ago(ms) {
  if (ms == null) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

export function renderProcesses(root, sort = 'last_seen', offset = 0) {
  offset = Number(offset) || 0;
  root.innerHTML = `
    <h1>Processes</h1>
    <form class="toolbar" data-testid="watch-form">
      <input type="text" name="address" placeholder="pid, or inspector 127.0.0.1:9229" data-testid="watch-input">
      <button class="primary" type="submit">Watch</button>
      <button type="button" data-testid="discover">Find local Node processes</button>
      <span data-testid="watch-result"></span>
    </form>
    <div data-testid="discovered"></div>
    <div data-testid="watches"></div>
    <div data-testid="process-list"><p class="muted">Loading…</p></div>`;
  const list = root.querySelector('[data-testid=process-list]');
  const watches = root.querySelector('[data-testid=watches]');
  const form = root.querySelector('form');
  const result = root.querySelector('[data-testid=watch-result]');
  const discovered = root.querySelector('[data-testid=discovered]');
  let timer = null;
  let alive = true;

  async function refresh() {
    try {
      const r = await api(`/processes${query({ sort, offset, limit: PAGE })}`);
      if (!alive) return;
      watches.innerHTML = r.watches.length ? `<div class="panel"><b>Not attached yet</b>${r.watches.map((w) =>
        `<div>${esc(w.target)} ${statusBadge(w.status, w.error)} <span class="muted">${esc(w.error || '')}</span></div>`).join('')}</div>` : '';
      list.innerHTML = table(r);
      clearTimeout(timer);
      timer = setTimeout(refresh, Math.max(2000, r.interval_ms));
    } catch (e) { list.innerHTML = errorBox(e); }
  }

  async function watch(body) {
    result.innerHTML = '<span class="muted">attaching…</span>';
    try {
      const p = await api('/processes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      result.innerHTML = `watching <a href="#/process/${p.id}">${esc(p.app)} (pid ${p.pid})</a>`;
      refresh();
    } catch (e) { result.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = form.address.value.trim();
    if (!t) return;
    watch(/^\d+$/.test(t) ? { pid: Number(t) } : { inspect: t });
  });
  root.querySelector('[data-testid=discover]').addEventListener('click', async () => {
    discovered.innerHTML = '<p class="muted">Looking for Node processes…</p>';
    try { discovered.innerHTML = discoveredTable(await api('/processes/discover')); } catch (e) { discovered.innerHTML = errorBox(e); }
  });
  discovered.addEventListener('click', (e) => {
    const b = e.target.closest('[data-watch-pid]');
    if (!b) return;
    if (!b.dataset.inspector && !confirm(`pid ${b.dataset.watchPid} has no inspector open. Send it SIGUSR1 so Node opens one on 127.0.0.1? It stays open until the process exits.`)) return;
    b.disabled = true;
    watch(b.dataset.inspector ? { inspect: b.dataset.inspector } : { pid: Number(b.dataset.watchPid) });
  });
  refresh();
  return () => { alive = false; clearTimeout(timer); };
}

function table(r) {
  if (!r.total) {
    return `<p class="muted" data-testid="no-processes">No processes yet. Watch one above, start the console with
      <code>heapscope serve --watch PID</code> or <code>--watch-all</code>, or record one with <code>heapscope watch</code> into the same data directory.</p>`;
  }
  const head = COLUMNS.map(([key, label]) => key
    ? `<th class="sortable ${key === r.sort ? 'sorted' : ''} ${['heap_used', 'rss', 'alerts'].includes(key) ? 'num' : ''}"><a href="#/processes/${key}">${label}${key === r.sort ? ' ▾' : ''}</a></th>`
    : `<th class="num">${label}</th>`).join('');
  const rows = r.processes.map((p) => {
    const l = p.latest;
    const used = l.heap_used_bytes, limit = l.heap_limit_bytes;
    const share = used != null && limit ? used / limit : null;
    const trend = l.heap_trend_bytes_per_hour;
    return `<tr data-process="${p.id}" data-process-status="${esc(p.status)}">
      <td><a href="#/process/${p.id}" data-testid="process-link">${esc(p.app)}</a><div class="muted mono small" title="${esc(p.command_line)}">${esc(p.command_line.slice(0, 70))}</div></td>
      <td>${p.pid}</td>
      <td>${statusBadge(p.status, p.error)}</td>
      <td class="num">${used == null ? '' : `${size(used)} / ${limit ? size(limit) : '?'}
        <div class="progress thin"><div style="width:${share == null ? 0 : Math.min(100, share * 100).toFixed(1)}%"></div></div>`}</td>
      <td class="num">${l.rss_bytes == null ? '' : size(l.rss_bytes)}</td>
      <td class="num">${l.heap_after_gc_bytes == null ? '' : size(l.heap_after_gc_bytes)}</td>
      <td class="num">${trend == null ? '' : `${trend >= 0 ? '+' : '−'}${size(Math.abs(trend))}/h`}</td>
      <td class="num">${p.alert_count ? `<a href="#/process/${p.id}" class="warn">${count(p.alert_count)}</a>` : '0'}</td>
      <td>${ago(p.latest_ms ?? p.last_seen_ms)}</td></tr>`;
  }).join('');
  const pager = `<div class="pager">${r.offset > 0 ? `<a class="button" href="#/processes/${r.sort}/${Math.max(0, r.offset - r.limit)}">← previous</a>` : ''}
    <span class="muted">${count(r.offset + 1)}–${count(r.offset + r.processes.length)} of ${count(r.total)}</span>
    ${r.offset + r.processes.length < r.total ? `<a class="button" href="#/processes/${r.sort}/${r.offset + r.limit}">next →</a>` : ''}</div>`;
  return `<table data-testid="processes"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>${pager}`;
}

function discoveredTable(rows) {
  if (!rows.length) return '<p class="muted" data-testid="discovered-empty">No Node.js processes found on this machine.</p>';
  return `<div class="panel"><b>Local Node.js processes</b><table data-testid="discovered-table"><thead><tr>
    <th>PID</th><th>Command</th><th>Inspector</th><th class="num">RSS</th><th></th></tr></thead><tbody>${rows.map((p) => `<tr>
    <td>${p.pid}</td><td class="mono small">${esc(p.command.join(' ').slice(0, 100))}</td><td>${esc(p.inspector || '–')}</td>
    <td class="num">${size(p.rss_bytes)}</td>
    <td>${p.process_id ? `<a href="#/process/${p.process_id}">watched →</a>`
      : `<button data-watch-pid="${p.pid}" data-inspector="${esc(p.inspector || '')}">${p.inspector ? 'Watch' : 'Open inspector & watch'}</button>`}</td></tr>`).join('')}
    </tbody></table></div>`;
}
