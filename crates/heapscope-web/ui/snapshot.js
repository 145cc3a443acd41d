// One snapshot: the tab bar and the Suspects, Summary, Dominators and Statistics tabs (the
// Search tab, an object's Edges and Retainers and its path, is object.js).
import { api, query } from './api.js';
import { size, count, pct, esc, distance, nodeLabel, objectLink, errorBox } from './format.js';
import { renderSearch, renderPath, renderContainment } from './object.js';
import { renderComparison } from './compare.js';

const TABS = [
  ['suspects', 'Suspects'], ['summary', 'Summary'], ['dominators', 'Dominators'],
  ['containment', 'Containment'], ['search', 'Search'], ['statistics', 'Statistics'],
  ['comparison', 'Comparison'],
];

export function renderSnapshot(root, sid, tab, arg, arg2) {
  const active = tab === 'object' || tab === 'path' ? 'search' : tab;
  root.innerHTML = `
    <h1 data-testid="snapshot-title">Snapshot ${esc(sid)}</h1>
    <nav class="tabs">${TABS.map(([k, label]) =>
      `<a href="#/snapshot/${sid}/${k}" class="${k === active ? 'active' : ''}" data-testid="tab-${k}">${label}</a>`).join('')}</nav>
    <section data-testid="tab-body"><p class="muted">Loading…</p></section>`;
  const body = root.querySelector('[data-testid=tab-body]');
  api(`/snapshots/${sid}`).then((s) => {
    root.querySelector('[data-testid=snapshot-title]').innerHTML =
      `${esc(s.name)} <span class="muted">· ${size(s.size)} · ${count(s.node_count || 0)} nodes</span>`;
  }).catch(() => {});
  const views = {
    suspects: () => renderSuspects(body, sid),
    summary: () => renderSummary(body, sid, arg),
    dominators: () => renderDominators(body, sid),
    statistics: () => renderStatistics(body, sid),
    containment: () => renderContainment(body, sid),
    comparison: () => renderComparison(body, sid, arg, arg2),
    search: () => renderSearch(body, sid, null),
    object: () => renderSearch(body, sid, arg),
    path: () => renderPath(body, sid, arg),
  };
  (views[tab] || views.suspects)();
  return null;
}

async function load(body, path, render) {
  try {
    render(await api(path));
  } catch (e) {
    body.innerHTML = errorBox(e);
  }
}

export function pathHtml(sid, steps) {
  return `<div class="path">(GC roots)${steps.map((s) =>
    `<span class="arrow">→</span><span class="step">${esc(s.class_name)} ${objectLink(sid, s.id)}</span>${s.edge ? ` <span class="edge mono">${esc(s.edge)}</span>` : ''}`).join('')}</div>`;
}

/// The leak report's findings as cards (also the three-snapshot technique's clusters).
export function findingCards(sid, doc) {
  return doc.findings.map((f) => {
    const fn = f.holder && (f.holder.closure || f.holder.function);
    return `<article class="card" data-testid="suspect">
      <h3><span class="big">${f.count > 1 ? `${count(f.count)} × ` : ''}${esc(f.class_name)}</span>
        retain ${size(f.retained_size)} (${pct(f.retained_percent)})</h3>
      ${f.title !== `${f.count} × ${f.class_name}` ? `<div class="muted">${esc(f.title)}</div>` : ''}
      <dl>
        <dt>Why</dt><dd>${f.reasons.map((r) => esc(r.text)).join('<br>')}</dd>
        <dt>Objects</dt><dd>${f.ids.slice(0, 12).map((id) => objectLink(sid, id)).join(' ')}${f.ids.length > 12 ? ' …' : ''}</dd>
        <dt>Path</dt><dd>${pathHtml(sid, f.path)}</dd>
        ${fn ? `<dt>Held by</dt><dd>${esc(fn.name)}() ${fn.location ? `<code>${esc(fn.location)}</code>` : ''} ${objectLink(sid, fn.id)}${f.holder.function && f.holder.closure ? ` in ${esc(f.holder.function.name)}` : ''}</dd>` : ''}
        ${f.holder && f.holder.variables.length ? `<dt>Closure vars</dt><dd class="mono">${f.holder.variables.map(esc).join(', ')}</dd>` : ''}
        ${f.strings.length ? `<dt>Strings</dt><dd>${f.strings.map((s) => `<code>${esc(s.text.slice(0, 120))}</code> ${s.count > 1 ? `×${count(s.count)} ` : ''}${objectLink(sid, s.id)}`).join('<br>')}</dd>` : ''}
      </dl>
    </article>`;
  }).join('');
}

function renderSuspects(body, sid) {
  load(body, `/snapshots/${sid}/leaks`, (doc) => {
    if (!doc.findings.length) {
      body.innerHTML = `<p data-testid="no-suspects">No suspects: nothing above the thresholds (${count(doc.below_threshold)} smaller candidates).</p>`;
      return;
    }
    body.innerHTML = findingCards(sid, doc) + `<p class="muted">Heap ${size(doc.heap_size)} · ${count(doc.node_count)} nodes · ${count(doc.below_threshold)} candidates below the thresholds.</p>`;
  });
}

/// `filter`: from a shareable URL (`#/snapshot/ID/summary/TEXT`), e.g. a Search result.
function renderSummary(body, sid, filter) {
  const state = { sort: 'retained', filter: filter || '', offset: 0, limit: 100 };
  body.innerHTML = `<div class="toolbar">
      <input type="search" placeholder="Filter classes (text or /regex/)" data-testid="summary-filter">
      <span class="muted" data-testid="summary-count"></span></div>
    <div data-testid="summary-table"></div>`;
  const table = body.querySelector('[data-testid=summary-table]');
  const input = body.querySelector('input');
  input.value = state.filter;
  let debounce = null;
  input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { state.filter = input.value; state.offset = 0; refresh(); }, 250);
  });
  const cols = [['name', 'Constructor', ''], ['distance', 'Distance', 'num'], ['count', 'Count', 'num'],
    ['shallow', 'Shallow size', 'num'], ['retained', 'Retained size', 'num']];
  let latest = 0;
  async function refresh() {
    const mine = ++latest;
    try {
      const s = await api(`/snapshots/${sid}/summary${query(state)}`);
      if (mine !== latest) return; // a newer filter or sort is on its way
      body.querySelector('[data-testid=summary-count]').textContent =
        `${count(s.matched)} of ${count(s.class_count)} classes · total ${size(s.total_size)}`;
      table.innerHTML = `<table><thead><tr>${cols.map(([k, label, cls]) =>
        `<th class="sortable ${cls} ${state.sort === k ? 'sorted' : ''}" data-sort="${k}">${label}${state.sort === k ? ' ▾' : ''}</th>`).join('')}</tr></thead>
        <tbody>${s.classes.map((c) => `<tr data-class="${esc(c.key)}">
          <td><span class="toggle" data-expand>▸</span> ${esc(c.name)}${c.location ? ` <span class="muted">@${c.location}</span>` : ''}</td>
          <td class="num">${distance(c.distance)}</td><td class="num">×${count(c.count)}</td>
          <td class="num">${size(c.self_size)} <span class="muted">${pct(c.self_percent)}</span></td>
          <td class="num">${size(c.retained_size)} <span class="muted">${pct(c.retained_percent)}</span></td></tr>`).join('')}</tbody></table>
        <div class="pager">${s.offset > 0 ? '<button data-page="-1">← previous</button>' : ''}
          ${s.offset + s.classes.length < s.matched ? '<button data-page="1">next →</button>' : ''}</div>`;
    } catch (e) { table.innerHTML = errorBox(e); }
  }
  table.addEventListener('click', (e) => {
    const th = e.target.closest('th[data-sort]');
    if (th) { state.sort = th.dataset.sort; state.offset = 0; refresh(); return; }
    const page = e.target.closest('[data-page]');
    if (page) { state.offset = Math.max(0, state.offset + Number(page.dataset.page) * state.limit); refresh(); return; }
    const more = e.target.closest('[data-more]');
    if (more) { more.closest('tr').remove(); instances(more.dataset.key, Number(more.dataset.more), more.dataset.after); return; }
    const row = e.target.closest('tr[data-class]');
    if (row && e.target.closest('td') && !e.target.closest('a')) toggleClass(row);
  });
  function toggleClass(row) {
    const open = row.classList.toggle('open');
    row.querySelector('[data-expand]').textContent = open ? '▾' : '▸';
    if (!open) {
      let next = row.nextElementSibling;
      while (next && next.classList.contains('sub')) { const n = next.nextElementSibling; next.remove(); next = n; }
      return;
    }
    instances(row.dataset.class, 0, null, row);
  }
  async function instances(key, offset, _after, row) {
    const anchor = row || [...table.querySelectorAll('tr.sub')].filter((r) => r.dataset.key === key).pop();
    try {
      const r = await api(`/snapshots/${sid}/instances${query({ class: key, offset, limit: 50 })}`);
      let html = r.objects.map((o) => `<tr class="sub" data-key="${esc(key)}"><td style="padding-left:32px">${nodeLabel(sid, o)}</td>
        <td class="num">${distance(o.distance)}</td><td></td><td class="num">${size(o.self_size)}</td><td class="num">${size(o.retained_size)}</td></tr>`).join('');
      if (offset + r.objects.length < r.total) {
        html += `<tr class="sub" data-key="${esc(key)}"><td colspan="5" style="padding-left:32px"><button data-more="${offset + 50}" data-key="${esc(key)}">${count(r.total - offset - r.objects.length)} more…</button></td></tr>`;
      }
      anchor.insertAdjacentHTML('afterend', html);
    } catch (e) { anchor.insertAdjacentHTML('afterend', `<tr class="sub"><td colspan="5">${errorBox(e)}</td></tr>`); }
  }
  refresh();
}

function renderDominators(body, sid) {
  body.innerHTML = '<p class="muted">The dominator tree: what each object keeps alive. Identical siblings are grouped (×N).</p><div class="tree" data-testid="dominators"><ul></ul></div>';
  const rootList = body.querySelector('.tree > ul');
  async function children(ul, id, offset) {
    try {
      const d = await api(`/snapshots/${sid}/dominators${query({ id, offset, limit: 50 })}`);
      ul.insertAdjacentHTML('beforeend', d.groups.map((g) => `<li data-id="${g.node.id}">
        <span class="toggle" data-open>${g.children_count ? '▸' : ' '}</span>${g.count > 1 ? `<span class="times">${count(g.count)} × </span>` : ''}${nodeLabel(sid, g.node)}
        <span class="meta">retained ${size(g.retained_size)} · shallow ${size(g.node.self_size)} · distance ${distance(g.node.distance)}${g.children_count ? ` · ${count(g.children_count)} children` : ''}</span></li>`).join(''));
      if (d.offset + d.groups.length < d.group_count) {
        ul.insertAdjacentHTML('beforeend', `<li><button data-more="${d.offset + 50}">${count(d.group_count - d.offset - d.groups.length)} more…</button></li>`);
      }
    } catch (e) { ul.insertAdjacentHTML('beforeend', `<li>${errorBox(e)}</li>`); }
  }
  body.addEventListener('click', (e) => {
    const more = e.target.closest('[data-more]');
    if (more) {
      const ul = more.closest('ul');
      const li = ul.closest('li');
      more.closest('li').remove();
      children(ul, li ? li.dataset.id : undefined, Number(more.dataset.more));
      return;
    }
    const toggle = e.target.closest('[data-open]');
    if (!toggle || toggle.textContent.trim() === '') return;
    const li = toggle.closest('li');
    const sub = li.querySelector(':scope > ul');
    if (sub) { sub.remove(); toggle.textContent = '▸'; return; }
    toggle.textContent = '▾';
    const ul = document.createElement('ul');
    li.appendChild(ul);
    children(ul, li.dataset.id, 0);
  });
  children(rootList, undefined, 0);
}

function renderStatistics(body, sid) {
  load(body, `/snapshots/${sid}/statistics`, (s) => {
    const parts = [['Code', s.code, '#f2a65a'], ['Strings', s.strings, '#6bbf73'], ['JS arrays', s.js_arrays, '#5b8def'],
      ['Typed arrays', s.typed_arrays, '#b07cd8'], ['System objects', s.system, '#8a94a6'],
      ['Other JS', Math.max(0, s.v8heap_total - s.code - s.strings - s.js_arrays - s.system), '#d0d5de'],
      ['Native', s.native_total, '#e06c75']];
    const max = Math.max(1, ...parts.map((p) => p[1]));
    body.innerHTML = `<div class="panel bars" data-testid="statistics">
      <p>Total <b>${size(s.total)}</b> · V8 heap ${size(s.v8heap_total)} · native ${size(s.native_total)}</p>
      ${parts.map(([label, v, color]) => `<div class="row"><span>${label}</span>
        <svg width="100%" height="16" viewBox="0 0 1000 16" preserveAspectRatio="none" role="img" aria-label="${label} ${size(v)}">
          <rect width="1000" height="16" fill="#eef0f4"></rect><rect width="${(v / max) * 1000}" height="16" fill="${color}"></rect></svg>
        <span class="num">${size(v)} <span class="muted">${s.total ? pct((v / s.total) * 100) : ''}</span></span></div>`).join('')}
    </div>`;
  });
}
