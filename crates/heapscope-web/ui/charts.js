// Hand-written SVG line charts for the Processes page (no chart library, nothing loaded from
// anywhere): time on x, one polyline per series, a zero-based y axis in the series' unit, a
// legend with the latest values, and a hover line that reads every series at that moment.
// The server has already cut each series down to a few hundred points (min/max per bucket).
import { size, count, esc } from './format.js';

const W = 640, H = 210, L = 66, R = 14, T = 12, B = 26;
export const COLORS = ['#2b6cd4', '#b3261e', '#1e7b34', '#b07cd8', '#f2a65a', '#0f8b8d', '#8a94a6', '#d6336c', '#6b4e16', '#5c7cfa'];

const formatters = { bytes: size, count: (v) => count(Math.round(v)) };

/// A step of 1, 2, 2.5 or 5 × 10ⁿ giving about `ticks` ticks up to `max`.
function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
}

function timeLabel(ms, span) {
  const d = new Date(ms);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: span < 600_000 ? '2-digit' : undefined });
  return span > 86_400_000 ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
}

/// `series`: [{ name, points: [[ms, value], …], dashed, reference }]; `unit`: bytes | count.
export function lineChart({ title, series, unit = 'bytes', testid = '' }) {
  const fmt = formatters[unit] || String;
  const shown = series.filter((s) => s.points.length);
  const head = `<h3>${esc(title)}</h3>`;
  if (!shown.length) {
    return `<div class="panel chart" data-testid="${testid}">${head}<p class="muted">No samples in this range.</p></div>`;
  }
  const all = shown.flatMap((s) => s.points);
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(x0 + 1, ...all.map((p) => p[0]));
  // A reference series (the heap limit) sets the scale only when it is near the others:
  // a 4 GB limit would flatten a 70 MB heap into the axis. Off scale, it is named instead.
  const top = (list) => Math.max(1, ...list.flatMap((s) => s.points.map((p) => p[1])));
  const dataTop = top(shown.filter((s) => !s.reference));
  const offScale = shown.filter((s) => s.reference && top([s]) > dataTop * 1.6);
  const scaled = shown.filter((s) => !offScale.includes(s));
  const step = niceStep(top(scaled) * 1.05, 4);
  const y1 = step * Math.ceil((top(scaled) * 1.05) / step);
  const x = (ms) => L + ((ms - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => T + (1 - v / y1) * (H - T - B);
  let grid = '';
  for (let v = 0; v <= y1 + step / 2; v += step) {
    grid += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="grid"/>` +
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const ms = x0 + ((x1 - x0) * i) / 4;
    grid += `<text x="${x(ms)}" y="${H - 6}" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}">${esc(timeLabel(ms, x1 - x0))}</text>`;
  }
  const lines = scaled.map((s) => {
    const color = s.color || COLORS[series.indexOf(s) % COLORS.length];
    if (s.points.length === 1) return `<circle cx="${x(s.points[0][0])}" cy="${y(s.points[0][1])}" r="3" fill="${color}"/>`;
    const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    return `<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.6" stroke-dasharray="${s.dashed ? '5 3' : ''}"><title>${esc(s.name)}</title></polyline>`;
  }).join('');
  const legend = shown.map((s) => {
    const color = s.color || COLORS[series.indexOf(s) % COLORS.length];
    const last = s.points[s.points.length - 1][1];
    const note = offScale.includes(s) ? ` <span class="muted">(above the scale)</span>` : '';
    return `<span class="key"><i style="background:${color}"></i>${esc(s.name)} <b>${esc(fmt(last))}</b>${note}</span>`;
  }).join('');
  // The hover reads the raw points back from this attribute.
  const data = esc(JSON.stringify({ x0, x1, unit, series: shown.map((s) => [s.name, s.points]) }));
  return `<div class="panel chart" data-testid="${testid}">${head}
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" data-chart="${data}">
      ${grid}<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" class="axis"/>${lines}
      <line class="cursor" y1="${T}" y2="${H - B}" x1="-10" x2="-10"/>
      <rect class="hover" x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="transparent"/>
    </svg>
    <div class="legend">${legend}</div><div class="readout muted" data-readout>&nbsp;</div></div>`;
}

/// Hover: a vertical line and, below the chart, every series' value nearest that time.
export function wireCharts(root) {
  root.querySelectorAll('svg[data-chart]').forEach((svg) => {
    const meta = JSON.parse(svg.dataset.chart);
    const fmt = formatters[meta.unit] || String;
    const cursor = svg.querySelector('.cursor');
    const readout = svg.parentElement.querySelector('[data-readout]');
    svg.querySelector('.hover').addEventListener('mousemove', (e) => {
      const box = svg.getBoundingClientRect();
      const px = ((e.clientX - box.left) / box.width) * W;
      const ms = meta.x0 + ((px - L) / (W - L - R)) * (meta.x1 - meta.x0);
      cursor.setAttribute('x1', px);
      cursor.setAttribute('x2', px);
      const parts = meta.series.map(([name, pts]) => {
        const near = pts.reduce((a, p) => (Math.abs(p[0] - ms) < Math.abs(a[0] - ms) ? p : a));
        return `${esc(name)} <b>${esc(fmt(near[1]))}</b>`;
      });
      readout.innerHTML = `${esc(new Date(ms).toLocaleTimeString())}: ${parts.join(' · ')}`;
    });
  });
}
