// The Comparison tab: this snapshot against a base snapshot of the same process (new,
// deleted and delta per class, as DevTools' Comparison view, plus the retained-size delta).
// The base is in the URL (#/snapshot/SID/comparison/BASE), so a comparison is shareable.
import { api, query } from './api.js';
import { size, count, esc, errorBox } from './format.js';
import { findingCards } from './snapshot.js';

const signed = (n, fmt) => (n > 0 ? `+${fmt(n)}` : n < 0 ? `−${fmt(-n)}` : fmt(0));

export async function renderComparison(body, sid, base, target) {
  let snapshots;
  try { snapshots = await api('/snapshots'); } catch (e) { body.innerHTML = errorBox(e); return; }
  const others = snapshots.filter((s) => String(s.id) !== String(sid) && s.status === 'ready');
  if (!others.length) {
    body.innerHTML = '<p class="muted" data-testid="comparison-empty">Upload another snapshot of the same process to compare with.</p>';
    return;
  }
  body.innerHTML = `<div class="toolbar">
      <label>Base snapshot <select data-testid="comparison-base"><option value="">choose…</option>${others.map((s) =>
        `<option value="${s.id}" ${String(s.id) === String(base) ? 'selected' : ''}>#${s.id} ${esc(s.name)}</option>`).join('')}</select></label>
      <label>Sort <select data-testid="comparison-sort">${['size-delta', 'retained-delta', 'delta', 'new', 'deleted', 'name'].map((k) =>
        `<option>${k}</option>`).join('')}</select></label>
      <input type="search" placeholder="Filter classes" data-testid="comparison-filter">
    </div><div data-testid="comparison"></div>
    <h2>Three snapshots</h2>
    <p class="muted">Objects allocated after the base snapshot and up to TARGET that are still alive in this one, grouped by retaining path.</p>
    <div class="toolbar"><label>TARGET <select data-testid="three-target"><option value="">choose…</option>${others.filter((s) => String(s.id) !== String(base)).map((s) =>
      `<option value="${s.id}" ${String(s.id) === String(target) ? 'selected' : ''}>#${s.id} ${esc(s.name)}</option>`).join('')}</select></label></div>
    <div data-testid="three-snapshot"></div>`;
  const [baseSelect, sortSelect, targetSelect] = body.querySelectorAll('select');
  targetSelect.addEventListener('change', () => { location.hash = `#/snapshot/${sid}/comparison/${base}/${targetSelect.value}`; });
  renderThreeSnapshot(body.querySelector('[data-testid=three-snapshot]'), sid, base, target);
  const filter = body.querySelector('input');
  const out = body.querySelector('[data-testid=comparison]');
  baseSelect.addEventListener('change', () => { location.hash = `#/snapshot/${sid}/comparison/${baseSelect.value}`; });
  let offset = 0;
  let latest = 0;
  async function refresh() {
    if (!base) { out.innerHTML = '<p class="muted">Choose the base snapshot (an earlier one of the same process).</p>'; return; }
    const mine = ++latest;
    out.innerHTML = '<p class="muted">Comparing…</p>';
    try {
      const d = await api(`/snapshots/${sid}/diff${query({ base, sort: sortSelect.value, filter: filter.value, offset, limit: 100 })}`);
      if (mine !== latest) return;
      out.innerHTML = `${d.matched_by_id ? '' : `<p class="error">Object ids cannot be matched: ${esc(d.problem)}. Comparing per class counts and sizes only.</p>`}
        <p class="muted">${count(d.matched)} classes changed.</p>
        <table><thead><tr><th>Constructor</th><th class="num"># New</th><th class="num"># Deleted</th><th class="num"># Delta</th>
          <th class="num">Alloc. size</th><th class="num">Freed size</th><th class="num">Size delta</th><th class="num">Retained delta</th></tr></thead>
        <tbody>${d.classes.map((c) => `<tr><td>${esc(c.name)}</td><td class="num">${count(c.new_count)}</td><td class="num">${count(c.deleted_count)}</td>
          <td class="num">${signed(c.count_delta, count)}</td><td class="num">${size(c.alloc_size)}</td><td class="num">${size(c.freed_size)}</td>
          <td class="num">${signed(c.size_delta, size)}</td><td class="num">${signed(c.retained_delta, size)}</td></tr>`).join('')}</tbody></table>
        <div class="pager">${d.offset > 0 ? '<button data-page="-1">← previous</button>' : ''}${d.offset + d.classes.length < d.matched ? '<button data-page="1">next →</button>' : ''}</div>`;
    } catch (e) { out.innerHTML = errorBox(e); }
  }
  out.addEventListener('click', (e) => {
    const page = e.target.closest('[data-page]');
    if (page) { offset = Math.max(0, offset + Number(page.dataset.page) * 100); refresh(); }
  });
  sortSelect.addEventListener('change', () => { offset = 0; refresh(); });
  let debounce = null;
  filter.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { offset = 0; refresh(); }, 250); });
  refresh();
}

async function renderThreeSnapshot(out, sid, base, target) {
  if (!base || !target) {
    out.innerHTML = '<p class="muted">Choose the base snapshot and a TARGET taken between it and this one.</p>';
    return;
  }
  out.innerHTML = '<p class="muted">Reading the three snapshots…</p>';
  try {
    const doc = await api(`/snapshots/${sid}/three-snapshot${query({ baseline: base, target })}`);
    if (doc.problem) out.innerHTML = `<p class="error">${esc(doc.problem)}</p>`;
    else if (!doc.findings.length) out.innerHTML = '<p>No objects from between the base and TARGET are still alive here in numbers worth reporting.</p>';
    else out.innerHTML = findingCards(sid, doc);
  } catch (e) { out.innerHTML = errorBox(e); }
}
