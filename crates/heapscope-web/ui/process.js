// One process (#/process/ID[/RANGE]): memory charts over the chosen time range (heap used vs
// limit, RSS, external/arrayBuffers, active handles by type), its alerts, and the capture
// buttons — a snapshot or a CPU / heap sampling profile — whose progress shows here and whose
// results link to their pages. Refreshed every sampling interval.
import { api, query } from './api.js';
import { size, count, esc, when, errorBox } from './format.js';
import { lineChart, wireCharts } from './charts.js';
import { statusBadge, ago } from './processes.js';

const RANGES = [['5m', '5 min'], ['15m', '15 min'], ['1h', '1 hour'], ['6h', '6 hours'], ['24h', '24 hours'], ['all', 'all']];
const POINTS = 300;
const ALERTS_PAGE = 20;

const CHARTS = [
  { id: 'chart-heap', title: 'Heap used vs limit', metrics: ['heap_used_bytes', 'heap_limit_bytes', 'heap_total_bytes', 'heap_after_gc_bytes'],
    names: { heap_used_bytes: 'heap used', heap_limit_bytes: 'heap limit', heap_total_bytes: 'heap total', heap_after_gc_bytes: 'heap after GC' },
    dashed: ['heap_limit_bytes'], reference: ['heap_limit_bytes'] },
  { id: 'chart-rss', title: 'Resident set size (RSS)', metrics: ['rss_bytes'], names: { rss_bytes: 'RSS' } },
  { id: 'chart-external', title: 'External and ArrayBuffers', metrics: ['external_bytes', 'array_buffers_bytes'],
    names: { external_bytes: 'external', array_buffers_bytes: 'arrayBuffers' } },
  { id: 'chart-handles', title: 'Active handles and requests by type', metrics: ['resources_*'], unit: 'count' },
];

export function renderProcess(root, id, range = '1h') {
  if (!RANGES.some(([r]) => r === range)) range = '1h';
  // Listeners go on this page's own element: `root` outlives it (and its listeners would pile up).
  root.innerHTML = `<div data-testid="process-page"><div data-testid="process-head"><h1>Process ${esc(id)}</h1></div>
    <div class="toolbar">
      <span class="segmented" data-testid="ranges">${RANGES.map(([r, label]) =>
        `<a href="#/process/${esc(id)}/${r}" class="${r === range ? 'active' : ''}">${label}</a>`).join('')}</span>
      <span class="spacer"></span>
      <button class="primary" data-capture="snapshot" data-testid="take-snapshot">Take snapshot</button>
      <button data-capture="cpu-profile" data-testid="cpu-profile">CPU profile</button>
      <button data-capture="heap-profile" data-testid="heap-profile">Heap profile</button>
      <label class="muted">for <select data-testid="profile-duration">${['5s', '10s', '30s', '60s'].map((d) =>
        `<option ${d === '10s' ? 'selected' : ''}>${d}</option>`).join('')}</select></label>
    </div>
    <div data-testid="capture-message"></div>
    <div data-testid="captures"></div>
    <div class="charts" data-testid="charts"></div>
    <h2>Alerts</h2><div data-testid="alerts"></div></div>`;
  const view = root.firstElementChild;
  const head = root.querySelector('[data-testid=process-head]');
  const charts = root.querySelector('[data-testid=charts]');
  const alerts = root.querySelector('[data-testid=alerts]');
  const captures = root.querySelector('[data-testid=captures]');
  const message = root.querySelector('[data-testid=capture-message]');
  let alive = true, timer = null, captureTimer = null, alertOffset = 0, interval = 5000;
  const since = range === 'all' ? undefined : range;

  async function refresh() {
    try {
      const p = await api(`/processes/${id}`);
      if (!alive) return;
      interval = p.watch_interval_ms || 5000;
      head.innerHTML = header(p);
      root.querySelectorAll('[data-capture]').forEach((b) => { b.disabled = p.status === 'gone'; });
      const data = await Promise.all(CHARTS.map((c) =>
        api(`/processes/${id}/samples${query({ metrics: c.metrics.join(','), since, points: POINTS })}`)));
      if (!alive) return;
      charts.innerHTML = CHARTS.map((c, i) => lineChart({
        title: c.title, unit: c.unit || 'bytes', testid: c.id,
        series: data[i].series.map((s) => ({
          name: (c.names && c.names[s.metric]) || s.metric.replace(/^resources_/, ''),
          points: s.points, dashed: (c.dashed || []).includes(s.metric), reference: (c.reference || []).includes(s.metric),
        })),
      })).join('');
      wireCharts(charts);
      await Promise.all([refreshAlerts(), refreshCaptures()]);
    } catch (e) { head.innerHTML = errorBox(e); }
    clearTimeout(timer);
    if (alive) timer = setTimeout(refresh, Math.max(1000, interval));
  }

  async function refreshAlerts() {
    const a = await api(`/processes/${id}/alerts${query({ since, offset: alertOffset, limit: ALERTS_PAGE })}`);
    alerts.innerHTML = !a.total ? '<p class="muted" data-testid="no-alerts">No alerts in this range.</p>'
      : `<table data-testid="alerts-table"><thead><tr><th>Time</th><th>Rule</th><th>Message</th><th>Action</th></tr></thead><tbody>${a.alerts.map((x) =>
        `<tr><td>${esc(new Date(x.ts_ms).toLocaleString())}</td><td><code>${esc(x.rule)}</code></td><td>${esc(x.message)}</td><td>${esc(x.action)}</td></tr>`).join('')}</tbody></table>
        <div class="pager">${a.offset > 0 ? '<button data-alerts="-1">← newer</button>' : ''}<span class="muted">${count(a.offset + 1)}–${count(a.offset + a.alerts.length)} of ${count(a.total)}</span>${a.offset + a.alerts.length < a.total ? '<button data-alerts="1">older →</button>' : ''}</div>`;
  }

  // This process's captures: snapshots whose source names it (`process #ID: …`) and its profiles.
  async function refreshCaptures() {
    const [snaps, profs] = await Promise.all([api('/snapshots'), api('/profiles')]);
    const mine = snaps.filter((s) => s.source.startsWith(`process #${id}:`)).slice(0, 5);
    const profiles = profs.filter((p) => String(p.process_id) === String(id)).slice(0, 5);
    // While a capture runs its progress is polled faster than the charts.
    clearTimeout(captureTimer);
    const busy = mine.some((s) => s.status !== 'ready' && s.status !== 'failed') || profiles.some((p) => p.status === 'recording');
    if (busy && alive) captureTimer = setTimeout(() => refreshCaptures().catch(() => {}), 700);
    if (!mine.length && !profiles.length) { captures.innerHTML = ''; return; }
    captures.innerHTML = `<div class="panel" data-testid="capture-list"><b>Captures</b>
      ${mine.map((s) => `<div class="capture" data-testid="capture-snapshot" data-status="${s.status}">snapshot
        ${s.status === 'ready' ? `<a href="#/snapshot/${s.id}">${esc(s.name)}</a>` : esc(s.name)} ${progress(s.status, s.progress, s.phase, s.error)}</div>`).join('')}
      ${profiles.map((p) => `<div class="capture" data-testid="capture-profile" data-status="${p.status}">${p.kind} profile
        ${p.status === 'ready' ? `<a href="#/profile/${p.id}">${esc(p.name)}</a>` : esc(p.name)}
        ${progress(p.status, p.status === 'recording' ? Math.min(1, (Date.now() - p.started_ms) / p.duration_ms) : 1, p.status === 'recording' ? 'recording' : '', p.error)}</div>`).join('')}
      <div class="muted small">All snapshots and profiles are on the <a href="#/">Snapshots</a> page.</div></div>`;
  }

  view.addEventListener('click', async (e) => {
    const page = e.target.closest('[data-alerts]');
    if (page) { alertOffset = Math.max(0, alertOffset + Number(page.dataset.alerts) * ALERTS_PAGE); refreshAlerts(); return; }
    const b = e.target.closest('[data-capture]');
    if (!b) return;
    const kind = b.dataset.capture;
    const duration = root.querySelector('[data-testid=profile-duration]').value;
    b.disabled = true;
    message.innerHTML = '<p class="muted">Attaching…</p>';
    try {
      await api(`/processes/${id}/${kind}${kind === 'snapshot' ? '' : query({ duration })}`, { method: 'POST' });
      message.innerHTML = '';
      await refreshCaptures();
    } catch (err) {
      message.innerHTML = errorBox(err);
    } finally { b.disabled = false; }
  });
  refresh();
  return () => { alive = false; clearTimeout(timer); clearTimeout(captureTimer); };
}

function progress(status, fraction, phase, error) {
  if (status === 'ready') return '<span class="status ready">ready</span>';
  if (status === 'failed') return `<span class="status failed">failed</span> <span class="muted">${esc(error || '')}</span>`;
  const p = Math.round((fraction || 0) * 100);
  return `<span class="status ${status}">${esc(status)}</span> <span class="progress inline"><span style="width:${p}%"></span></span> <span class="muted">${p} %${phase ? ` · ${esc(phase)}` : ''}</span>`;
}

function header(p) {
  return `<h1>${esc(p.app)} <span class="muted">pid ${p.pid}</span> ${statusBadge(p.status, p.error)}</h1>
    ${p.error ? `<p class="${p.status === 'live' ? 'muted' : 'error'}" data-testid="process-error">${esc(p.error)}</p>` : ''}
    <div class="kv panel">
      <div>Command</div><div class="mono">${esc(p.command_line)}</div>
      <div>Inspector</div><div class="mono">${esc(p.inspector)}</div>
      <div>Started</div><div>${when(p.started_ms / 1000)}</div>
      <div>Watched</div><div>${when(p.first_seen_ms / 1000)} – last sample ${ago(p.latest_ms ?? p.last_seen_ms)}</div>
      <div>Now</div><div>heap ${p.latest.heap_used_bytes == null ? '–' : size(p.latest.heap_used_bytes)} of ${p.latest.heap_limit_bytes == null ? '–' : size(p.latest.heap_limit_bytes)} ·
        RSS ${p.latest.rss_bytes == null ? '–' : size(p.latest.rss_bytes)} · ${count(p.alert_count)} alert${p.alert_count === 1 ? '' : 's'}</div>
    </div>`;
}
