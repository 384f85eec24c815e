// Small SVG charts for the staff apps, drawn from data alone (no library): vertical bars over
// days and horizontal bars per label. Each chart is an <svg role="img"> with a title naming
// what it shows, and the numbers are also in the table next to it.
const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/// A whole number the axis can step by: 1, 2, 5 × 10^k at or above `max / 4`.
function step(max) {
  const rough = Math.max(max / 4, 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
}

/// Bars over `points` ({label, value}) with a value axis; `format` writes a value.
export function columnChart({ title, points, format = String, width = 720, height = 240 }) {
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart', 'aria-label': title });
  svg.append(el('title', {}, title));
  const left = 70; const bottom = 28; const top = 10;
  const max = Math.max(1, ...points.map((p) => p.value));
  const s = step(max);
  const axisMax = Math.ceil(max / s) * s;
  const plotH = height - top - bottom;
  const y = (v) => top + plotH - (v / axisMax) * plotH;
  for (let v = 0; v <= axisMax; v += s) {
    svg.append(el('line', { x1: left, x2: width - 6, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, format(v)));
  }
  const slot = (width - left - 6) / Math.max(points.length, 1);
  const every = Math.ceil(points.length / 12);
  points.forEach((p, i) => {
    const x = left + i * slot;
    const bar = el('rect', { x: x + slot * 0.15, y: y(p.value), width: Math.max(slot * 0.7, 1), height: Math.max(y(0) - y(p.value), 0), class: 'bar' });
    bar.append(el('title', {}, `${p.label}: ${format(p.value)}`));
    svg.append(bar);
    if (i % every === 0) svg.append(el('text', { x: x + slot / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, p.label));
  });
  return svg;
}

/// One horizontal bar per point, its value written at its end; `left` is the labels' room.
export function barChart({ title, points, format = String, width = 440, left = 70 }) {
  const row = 28;
  const height = Math.max(points.length, 1) * row + 8;
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart', 'aria-label': title });
  svg.append(el('title', {}, title));
  const max = Math.max(1, ...points.map((p) => p.value));
  const room = width - left - 90;
  points.forEach((p, i) => {
    const yy = 4 + i * row;
    svg.append(el('text', { x: left - 8, y: yy + 17, 'text-anchor': 'end', class: 'axis' }, p.label));
    const w = Math.max((p.value / max) * room, 1);
    svg.append(el('rect', { x: left, y: yy + 3, width: w, height: row - 8, class: 'bar' }));
    svg.append(el('text', { x: left + w + 6, y: yy + 17, class: 'value' }, format(p.value)));
  });
  return svg;
}
