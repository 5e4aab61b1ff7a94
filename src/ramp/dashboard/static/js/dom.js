// Building DOM nodes without innerHTML: every value from the cluster becomes text, never markup.
const SVG = 'http://www.w3.org/2000/svg';

export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && !svg) el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export const PHASE_ICONS = { Healthy: '✓', Progressing: '↻', Paused: '‖', Degraded: '✕' };

export function phaseBadge(phase, extra = '') {
  const name = phase || 'Unknown';
  return h('span', { class: `badge phase-${name.toLowerCase()} ${extra}`, title: name, 'data-phase': name },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, PHASE_ICONS[name] || '?'), name);
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
