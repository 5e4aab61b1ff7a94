// A small SVG line chart of one metric's measurements against its success and failure thresholds.
import { h } from './dom.js';

// Drawn at about its size on screen, so its text stays readable on a phone as on a desktop.
const NARROW = 700;
const H = 180;
const PHASE_CLASS = { Successful: 'pt-ok', Failed: 'pt-fail', Error: 'pt-error', Inconclusive: 'pt-inconclusive' };

function niceRange(values) {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const pad = (hi - lo) * 0.12;
  return [lo - pad, hi + pad];
}

// Round tick values (steps of 1, 2 or 5 times a power of ten), about four of them, inside [lo, hi].
function niceTicks(lo, hi) {
  const raw = (hi - lo) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function format(value) {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.01 || abs >= 10000)) return value.toExponential(1);
  return String(Number(value.toFixed(abs < 1 ? 3 : 2)));
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

export function metricChart(metric) {
  const narrow = window.innerWidth < NARROW;
  const W = narrow ? 340 : 560;
  const PAD = { left: 40, right: narrow ? 92 : 96, top: 14, bottom: 26 };
  const points = metric.measurements.filter((m) => m.number !== null && m.number !== undefined);
  const lines = [
    ...metric.success.map((t) => ({ ...t, kind: 'success' })),
    ...metric.failure.map((t) => ({ ...t, kind: 'failure' })),
  ];
  if (!points.length) {
    return h('div', { class: 'chart-empty muted' }, metric.measurements.length
      ? 'No numeric values to chart yet.' : 'Waiting for the first measurement…');
  }
  const [lo, hi] = niceRange([...points.map((p) => p.number), ...lines.map((l) => l.value)]);
  const x = (i) => PAD.left + (points.length === 1 ? (W - PAD.left - PAD.right) / 2
    : (i * (W - PAD.left - PAD.right)) / (points.length - 1));
  const y = (v) => PAD.top + ((hi - v) * (H - PAD.top - PAD.bottom)) / (hi - lo);
  const ticks = niceTicks(lo, hi);
  const svg = h('svg:svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `${metric.name}: ${points.length} measurements, last ${points[points.length - 1].value}`,
  },
  ticks.map((t) => [
    h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), class: 'grid' }),
    h('svg:text', { x: PAD.left - 6, y: y(t) + 4, class: 'axis', 'text-anchor': 'end' }, format(t)),
  ]),
  lines.map((l) => [
    h('svg:line', { x1: PAD.left, x2: W - PAD.right, y1: y(l.value), y2: y(l.value), class: `threshold threshold-${l.kind}` }),
    h('svg:text', { x: W - PAD.right + 8, y: y(l.value) + 4, class: `threshold-label threshold-${l.kind}` },
      `${l.kind === 'success' ? 'pass' : 'fail'} ${l.op} ${format(l.value)}`),
  ]),
  h('svg:polyline', { points: points.map((p, i) => `${x(i)},${y(p.number)}`).join(' '), class: 'series' }),
  points.map((p, i) => h('svg:circle', { cx: x(i), cy: y(p.number), r: 4.5, class: `pt ${PHASE_CLASS[p.phase] || ''}` },
    h('svg:title', {}, `${clock(p.at)}  ${p.value}  ${p.phase}`))),
  h('svg:text', { x: PAD.left, y: H - 6, class: 'axis' }, clock(points[0].at)),
  points.length > 1 ? h('svg:text', { x: W - PAD.right, y: H - 6, class: 'axis', 'text-anchor': 'end' },
    clock(points[points.length - 1].at)) : null);
  return h('div', { class: 'chart-wrap' }, svg);
}
