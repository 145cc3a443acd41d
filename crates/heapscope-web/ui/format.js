// Formatting and small DOM helpers shared by the views.

export function size(bytes) {
  // DevTools shows sizes in powers of 1000.
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes, i = -1;
  do { v /= 1000; i++; } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const count = (n) => Number(n).toLocaleString('en-US');

export const pct = (p) => `${p.toFixed(p < 10 ? 1 : 0)} %`;

export function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function distance(d) {
  return d < 0 || d >= 100000000 ? '–' : String(d);
}

export function objectLink(sid, id, text) {
  return `<a class="mono" href="#/snapshot/${sid}/object/${id}" data-object="${id}">${esc(text ?? `@${id}`)}</a>`;
}

/// A node as `Class "name" @id`, the id linking to the object.
export function nodeLabel(sid, node, max = 60) {
  let name = node.name || '';
  if (name.length > max) name = `${name.slice(0, max)}…`;
  const shown = name && name !== node.class_name ? ` <span class="muted">${esc(JSON.stringify(name))}</span>` : '';
  return `${esc(node.class_name)}${shown} ${objectLink(sid, node.id)}`;
}

export function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

export function errorBox(e) {
  return `<p class="error" data-testid="error">${esc(e.message || e)}</p>`;
}
