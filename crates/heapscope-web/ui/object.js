// The Search tab: find an object by @id, or classes and objects by name; then its Edges and Retainers
// side by side, both expandable (the retainer tree marks cycles), and its path to a GC root.
import { api, query } from './api.js';
import { size, count, esc, distance, nodeLabel, objectLink, errorBox } from './format.js';
import { pathHtml } from './snapshot.js';

const PAGE = 50;

export function renderSearch(body, sid, id) {
  body.innerHTML = `<form class="toolbar" data-testid="search-form">
      <input type="search" name="q" placeholder="@id, or part of a class or object name" value="${id ? `@${esc(id)}` : ''}" data-testid="search-input">
      <button class="primary" type="submit">Search</button></form>
    <div data-testid="search-result"></div>`;
  const form = body.querySelector('form');
  const out = body.querySelector('[data-testid=search-result]');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = form.q.value.trim();
    const m = q.match(/^@?(\d+)$/);
    if (m) location.hash = `#/snapshot/${sid}/object/${m[1]}`;
    else if (q) searchNames(out, sid, q);
  });
  if (id) renderObject(out, sid, id);
}

async function searchNames(out, sid, text) {
  out.innerHTML = '<p class="muted">Searching…</p>';
  let r;
  try { r = await api(`/snapshots/${sid}/search${query({ q: text, limit: PAGE })}`); } catch (e) { out.innerHTML = errorBox(e); return; }
  if (!r.classes.length && !r.object_total) { out.innerHTML = `<p class="muted">No class or object name contains “${esc(text)}”.</p>`; return; }
  const classes = r.classes.length ? `<div class="panel" data-testid="search-classes"><h2>Classes <span class="muted">(${count(r.class_total)})</span></h2>
      <table><tbody>${r.classes.map((c) => `<tr><td><a href="#/snapshot/${sid}/summary/${encodeURIComponent(c.name)}">${esc(c.name)}</a></td>
        <td class="num">×${count(c.count)}</td><td class="num">${size(c.retained_size)}</td></tr>`).join('')}</tbody></table>
      ${r.class_total > r.classes.length ? `<p class="muted">The Summary tab lists all ${count(r.class_total)}.</p>` : ''}</div>` : '';
  out.innerHTML = `${classes}<div class="panel" data-testid="search-objects"><h2>Objects named “${esc(text)}” <span class="muted">(${count(r.object_total)})</span></h2>
      <table><thead><tr><th>Object</th><th class="num">Distance</th><th class="num">Shallow</th><th class="num">Retained</th></tr></thead><tbody></tbody></table></div>`;
  const tbody = out.querySelector('[data-testid=search-objects] tbody');
  const append = (page) => {
    tbody.querySelector('tr.more')?.remove();
    tbody.insertAdjacentHTML('beforeend', page.objects.map((o) => `<tr><td>${nodeLabel(sid, o, 80)}</td>
      <td class="num">${distance(o.distance)}</td><td class="num">${size(o.self_size)}</td><td class="num">${size(o.retained_size)}</td></tr>`).join(''));
    const shown = page.offset + page.objects.length;
    if (shown < page.object_total) {
      tbody.insertAdjacentHTML('beforeend', `<tr class="more"><td colspan="4"><button data-testid="search-more">Show ${Math.min(PAGE, page.object_total - shown)} more of ${count(page.object_total - shown)}</button></td></tr>`);
      tbody.querySelector('tr.more button').addEventListener('click', async () => {
        try { append(await api(`/snapshots/${sid}/search${query({ q: text, offset: shown, limit: PAGE })}`)); } catch (e) { out.insertAdjacentHTML('beforeend', errorBox(e)); }
      });
    }
  };
  append(r);
}

async function renderObject(out, sid, id) {
  out.innerHTML = '<p class="muted">Loading…</p>';
  let o;
  try { o = await api(`/snapshots/${sid}/objects/${encodeURIComponent(id)}`); } catch (e) { out.innerHTML = errorBox(e); return; }
  const n = o.object;
  out.innerHTML = `<div class="panel" data-testid="object">
      <h2>${nodeLabel(sid, n, 120)}</h2>
      <div class="kv">
        <div>Type</div><div>${esc(n.node_type)}</div>
        <div>Shallow size</div><div>${size(n.self_size)}</div>
        <div>Retained size</div><div>${size(n.retained_size)}</div>
        <div>Distance</div><div>${distance(n.distance)}</div>
        ${o.location ? `<div>Location</div><div><code>${esc(o.location)}</code></div>` : ''}
        ${o.dominators.length ? `<div>Dominators</div><div>${o.dominators.slice(0, 6).map((d) => nodeLabel(sid, d, 30)).join(' ← ')}${o.dominators.length > 6 ? ' ← …' : ''}</div>` : ''}
        ${o.context_variables.length ? `<div>Context vars</div><div>${o.context_variables.map(([v, t]) => `<code>${esc(v)}</code> = ${nodeLabel(sid, t, 30)}`).join(', ')}</div>` : ''}
        <div>Retained because</div><div><a href="#/snapshot/${sid}/path/${n.id}" data-testid="path-link">path from the GC roots →</a></div>
      </div>
      ${o.value != null ? `<h2>Value</h2><div class="value mono">${esc(o.value)}${o.value_truncated ? '…' : ''}</div>` : ''}
    </div>
    <div class="cols">
      <div class="panel"><h2>Edges <span class="muted">(${count(o.edge_count)})</span></h2><div class="tree" data-testid="edges"><ul></ul></div></div>
      <div class="panel"><h2>Retainers <span class="muted">(${count(o.retainer_count)})</span></h2><div class="tree" data-testid="retainers"><ul></ul></div></div>
    </div>`;
  const edges = out.querySelector('[data-testid=edges] > ul');
  const retainers = out.querySelector('[data-testid=retainers] > ul');
  appendRefs(edges, sid, o.edges, 'edges', [n.id], o.edge_count, o.edges_offset);
  appendRefs(retainers, sid, o.retainers, 'retainers', [n.id], o.retainer_count, o.retainers_offset);
  out.querySelectorAll('.tree').forEach((tree) => tree.addEventListener('click', (e) => onTreeClick(e, sid)));
}

/// `ancestors`: ids from the searched object down to the list's owner, to mark cycles.
function appendRefs(ul, sid, refs, kind, ancestors, total, offset) {
  ul.dataset.ancestors = ancestors.join(',');
  ul.dataset.kind = kind;
  ul.insertAdjacentHTML('beforeend', refs.map((r) => {
    const cycle = ancestors.includes(r.node.id);
    const arrow = kind === 'edges' ? '→' : '∈';
    return `<li data-id="${r.node.id}" data-kind="${kind}">
      <span class="toggle" ${cycle ? '' : 'data-open'} data-testid="${kind}-toggle">${cycle ? ' ' : '▸'}</span><span class="edge mono">${esc(r.edge)}</span> ${arrow} ${nodeLabel(sid, r.node, 50)}
      <span class="meta">retained ${size(r.node.retained_size)} · distance ${distance(r.node.distance)}</span>${cycle ? '<span class="cycle">(cycle)</span>' : ''}</li>`;
  }).join(''));
  const shown = offset + refs.length;
  if (shown < total) {
    ul.insertAdjacentHTML('beforeend', `<li><button data-more="${shown}">${count(total - shown)} more…</button></li>`);
  }
}

async function onTreeClick(e, sid) {
  const more = e.target.closest('[data-more]');
  if (more) {
    const ul = more.closest('ul');
    const owner = ul.dataset.ancestors.split(',').pop();
    more.closest('li').remove();
    await expand(ul, sid, owner, ul.dataset.kind, ul.dataset.ancestors.split(',').map(Number), Number(more.dataset.more));
    return;
  }
  const toggle = e.target.closest('[data-open]');
  if (!toggle) return;
  const li = toggle.closest('li');
  const sub = li.querySelector(':scope > ul');
  if (sub) { sub.remove(); toggle.textContent = '▸'; return; }
  toggle.textContent = '▾';
  const ul = document.createElement('ul');
  li.appendChild(ul);
  const parentUl = li.closest('ul');
  const ancestors = [...parentUl.dataset.ancestors.split(',').map(Number), Number(li.dataset.id)];
  await expand(ul, sid, li.dataset.id, li.dataset.kind, ancestors, 0);
}

async function expand(ul, sid, id, kind, ancestors, offset) {
  try {
    const o = await api(`/snapshots/${sid}/objects/${id}${query({ [`${kind}_offset`]: offset, [`${kind}_limit`]: PAGE, [`${kind === 'edges' ? 'retainers' : 'edges'}_limit`]: 0 })}`);
    const total = kind === 'edges' ? o.edge_count : o.retainer_count;
    appendRefs(ul, sid, o[kind], kind, ancestors, total, offset);
  } catch (err) { ul.insertAdjacentHTML('beforeend', `<li>${errorBox(err)}</li>`); }
}

export async function renderPath(body, sid, id) {
  body.innerHTML = '<p class="muted">Loading…</p>';
  try {
    const p = await api(`/snapshots/${sid}/objects/${encodeURIComponent(id)}/path${query({ count: 3 })}`);
    body.innerHTML = `<div class="panel" data-testid="path">
      <h2>Why ${objectLink(sid, p.id)} is alive: shortest paths from the GC roots</h2>
      ${p.paths.length ? p.paths.map((steps) => pathHtml(sid, steps)).join('<hr>') :
        '<p>Not reachable from the GC roots: it will be collected, or only weak references hold it.</p>'}
      <p><a href="#/snapshot/${sid}/object/${p.id}">← back to the object</a></p></div>`;
  } catch (e) { body.innerHTML = errorBox(e); }
}

/// The Containment tab: the heap from the root down through outgoing references.
export async function renderContainment(body, sid) {
  body.innerHTML = `<p class="muted">The heap from the root down: each object's references, largest retained size first.</p>
    <div class="tree" data-testid="containment"><ul></ul></div>`;
  try {
    const root = (await api(`/snapshots/${sid}/dominators${query({ limit: 0 })}`)).node;
    const o = await api(`/snapshots/${sid}/objects/${root.id}${query({ retainers_limit: 0, edges_limit: PAGE })}`);
    appendRefs(body.querySelector('.tree > ul'), sid, o.edges, 'edges', [root.id], o.edge_count, 0);
    body.querySelector('.tree').addEventListener('click', (e) => onTreeClick(e, sid));
  } catch (e) { body.innerHTML = errorBox(e); }
}
