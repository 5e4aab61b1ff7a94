// The list page: every Rollout of the namespace with its phase, step, weights and images; filters by phase,
// name and "needs attention"; kept current by the server-sent `rollouts` stream (fed by watches).
import { follow, getJSON, rolloutsPath } from './api.js';
import { clear, h, phaseBadge } from './dom.js';

const PHASES = ['Healthy', 'Progressing', 'Paused', 'Degraded'];
const filters = { text: '', phase: '', attention: false };

function matches(item) {
  if (filters.text && !item.name.toLowerCase().includes(filters.text.toLowerCase())) return false;
  if (filters.phase && item.phase !== filters.phase) return false;
  if (filters.attention && !item.needsAttention) return false;
  return true;
}

function weightCell(item) {
  if (item.strategy !== 'Canary') return h('span', { class: 'muted' }, '—');
  const set = Number(item.setWeight || 0);
  const actual = Number(item.actualWeight || 0);
  const done = item.phase === 'Healthy' ? 'weight-done' : '';
  const bar = h('span', { class: `weight-bar ${done}`, 'aria-hidden': 'true' },
    h('span', { class: 'weight-set' }), h('span', { class: 'weight-actual' }));
  bar.children[0].style.width = `${set}%`;
  bar.children[1].style.width = `${actual}%`;
  return h('span', { class: 'weight' }, bar,
    h('span', { class: 'weight-text' }, `${actual}%`, h('span', { class: 'muted' }, ` / ${set}%`)));
}

function imagesCell(item) {
  return h('ul', { class: 'images' }, item.images.map((i) => h('li', {},
    h('code', {}, i.image), i.tags.map((t) => h('span', { class: `tag tag-${t}` }, t)))));
}

function row(namespace, item) {
  const href = `#/ns/${encodeURIComponent(namespace)}/rollouts/${encodeURIComponent(item.name)}`;
  return h('a', { class: `row phase-row-${item.phase.toLowerCase()}`, href, 'data-rollout': item.name, role: 'row' },
    h('span', { class: 'cell cell-name', role: 'cell' }, h('strong', {}, item.name),
      item.message ? h('small', { class: 'muted message' }, item.message) : null),
    h('span', { class: 'cell cell-phase', role: 'cell' }, phaseBadge(item.phase)),
    h('span', { class: 'cell cell-strategy', role: 'cell', 'data-label': 'Strategy' }, item.strategy),
    h('span', { class: 'cell cell-step', role: 'cell', 'data-label': 'Step' }, item.step || '—'),
    h('span', { class: 'cell cell-weight', role: 'cell', 'data-label': 'Weight' }, weightCell(item)),
    h('span', { class: 'cell cell-images', role: 'cell', 'data-label': 'Images' }, imagesCell(item)),
    h('span', { class: 'cell cell-ready', role: 'cell', 'data-label': 'Ready' }, `${item.ready}/${item.desired}`));
}

export function showList(context) {
  const { view, namespace, setLive, explain } = context;
  let items = [];
  let loaded = false;
  const body = h('div', { class: 'rows', role: 'rowgroup', id: 'rollout-rows' });
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by phase' });
  const summary = h('p', { class: 'muted count' });
  const search = h('input', {
    type: 'search', placeholder: 'Filter by name', value: filters.text, 'aria-label': 'Filter by name', id: 'filter-name',
    oninput: (e) => { filters.text = e.target.value; render(); },
  });

  function chip(label, active, onclick, count, extra = '') {
    return h('button', { type: 'button', class: `chip ${active ? 'chip-on' : ''} ${extra}`, 'aria-pressed': String(active), onclick },
      label, count === undefined ? null : h('span', { class: 'chip-count' }, count));
  }

  function render() {
    const count = (phase) => items.filter((i) => i.phase === phase).length;
    clear(chips).append(
      chip('All', !filters.phase, () => { filters.phase = ''; render(); }, items.length),
      ...PHASES.map((p) => chip(p, filters.phase === p, () => { filters.phase = filters.phase === p ? '' : p; render(); },
        count(p), `chip-${p.toLowerCase()}`)),
      chip('⚑ Needs attention', filters.attention, () => { filters.attention = !filters.attention; render(); },
        items.filter((i) => i.needsAttention).length, 'chip-attention'),
    );
    const shown = items.filter(matches);
    summary.textContent = `${shown.length} of ${items.length} rollout${items.length === 1 ? '' : 's'} in ${namespace}`;
    clear(body);
    if (!loaded) body.append(h('div', { class: 'empty' }, 'Loading…'));
    else if (!items.length) body.append(h('div', { class: 'empty' }, 'No rollouts in this namespace yet.'));
    else if (!shown.length) body.append(h('div', { class: 'empty' }, 'No rollout matches the filters.'));
    else body.append(...shown.map((item) => row(namespace, item)));
  }

  clear(view).append(
    h('section', { class: 'page list-page' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Rollouts'), summary),
      h('div', { class: 'toolbar' }, search, chips),
      h('div', { class: 'table', role: 'table', 'aria-label': 'Rollouts' },
        h('div', { class: 'row row-head', role: 'row' },
          ...['Name', 'Status', 'Strategy', 'Step', 'Weight (actual / set)', 'Images', 'Ready']
            .map((t) => h('span', { class: 'cell', role: 'columnheader' }, t))),
        body)));

  let source = null;
  let stopped = false;
  getJSON(rolloutsPath(namespace)).then((data) => {
    if (stopped) return;
    items = data.items;
    loaded = true;
    render();
    source = follow(`${rolloutsPath(namespace)}/watch`, { rollouts: (d) => { items = d.items; render(); } }, setLive);
  }).catch((error) => {
    setLive('offline');
    clear(body).append(h('div', { class: 'empty error-box' }, explain(error)));
  });
  render();
  return () => { stopped = true; if (source) source.close(); };
}
