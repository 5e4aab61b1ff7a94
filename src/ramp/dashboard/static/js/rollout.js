// The rollout page: summary, actions, containers (set image), steps, revisions (ReplicaSets, pods, rollback)
// and analysis charts; kept current by the server-sent `rollout` stream. Each section is redrawn only when its
// data changed, so a half-typed image or an opened step survives updates.
import { act, follow, getJSON, rolloutsPath } from './api.js';
import { metricChart } from './chart.js';
import { ago, clear, h, phaseBadge } from './dom.js';

const RUN_CLASS = { Successful: 'ok', Failed: 'fail', Error: 'fail', Inconclusive: 'warn', Running: 'run', Pending: 'run' };

function runBadge(phase) {
  return h('span', { class: `run-badge run-${RUN_CLASS[phase] || 'run'}` }, phase || 'Pending');
}

function card(title, id, ...children) {
  return h('section', { class: 'card', id }, h('h2', {}, title), ...children);
}

function stat(label, value, extra) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value), extra || null);
}

// What an analysis or experiment step runs, in words: its templates and arguments (the full spec follows).
function stepFacts(step) {
  const body = step.detail[step.kind] || {};
  const templates = (body.templates || []).map((t) => t.templateName || t.name || '?');
  const args = (body.args || []).map((a) => `${a.name}=${a.value ?? JSON.stringify(a.valueFrom || '')}`);
  return h('dl', { class: 'metric-facts' },
    h('dt', {}, 'templates'), h('dd', {}, templates.length ? templates.map((t) => h('code', { class: 'value' }, t)) : '—'),
    args.length ? [h('dt', {}, 'args'), h('dd', {}, args.map((a) => h('code', { class: 'value' }, a)))] : null,
    body.duration ? [h('dt', {}, 'duration'), h('dd', {}, String(body.duration))] : null);
}

export function showRollout(context, name) {
  const { view, namespace, toast, setLive, explain, askForToken } = context;
  const path = `${rolloutsPath(namespace)}/${encodeURIComponent(name)}`;
  const drawn = new Map();
  const open = new Set();
  let latest = null;
  const slots = {};
  for (const key of ['head', 'actions', 'summary', 'containers', 'steps', 'revisions', 'analysis']) {
    slots[key] = h('div', { class: `slot slot-${key}` });
  }

  async function run(action, body, question) {
    if (question && !window.confirm(question)) return;
    const buttons = view.querySelectorAll('button[data-action]');
    buttons.forEach((b) => { b.dataset.busy = b.disabled ? 'keep' : ''; b.disabled = true; });
    try {
      const result = await act(namespace, name, action, body);
      toast(result.message, 'ok');
    } catch (error) {
      toast(explain(error), 'error');
      if (error.status === 401) askForToken();
    } finally {
      buttons.forEach((b) => { b.disabled = b.dataset.busy === 'keep'; });
      if (latest) { drawn.delete('actions'); draw(latest); }
    }
  }

  function section(key, data, build) {
    const signature = JSON.stringify(data);
    if (drawn.get(key) === signature) return;
    drawn.set(key, signature);
    clear(slots[key]).append(build(data));
  }

  function draw(detail) {
    latest = detail;
    const s = detail.summary;
    section('head', s, () => h('div', { class: 'rollout-head' },
      h('a', { class: 'back', href: `#/ns/${encodeURIComponent(namespace)}` }, '← Rollouts'),
      h('div', { class: 'title-line' }, h('h1', {}, s.name), phaseBadge(s.phase, 'badge-lg')),
      s.message ? h('p', { class: 'muted message', id: 'phase-message' }, s.message) : null));

    section('actions', { phase: s.phase, paused: s.specPaused, aborted: s.aborted, strategy: s.strategy }, () => {
      const healthy = s.phase === 'Healthy';
      const button = (action, label, disabled, question, kind = '') => h('button', {
        type: 'button', class: `btn ${kind}`, 'data-action': action, disabled,
        onclick: () => run(action, {}, question),
      }, label);
      return h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Actions' },
        button('promote', 'Promote', healthy || s.aborted, null, 'btn-primary'),
        button('promote-full', 'Promote-Full', healthy, `Skip the remaining steps and analysis of ${name}?`),
        button('pause', 'Pause', s.specPaused || healthy),
        button('abort', 'Abort', healthy || s.aborted, `Abort ${name} and go back to the stable version?`, 'btn-danger'),
        button('retry', 'Retry', !s.aborted),
        button('restart', 'Restart', false, `Restart every pod of ${name}?`));
    });

    section('summary', s, () => {
      const weights = s.strategy === 'Canary';
      const done = s.phase === 'Healthy' ? 'weight-done' : '';
      const bar = h('div', { class: `weight-bar weight-bar-lg ${done}`, 'aria-hidden': 'true' },
        h('span', { class: 'weight-set' }), h('span', { class: 'weight-actual' }));
      bar.children[0].style.width = `${Number(s.setWeight || 0)}%`;
      bar.children[1].style.width = `${Number(s.actualWeight || 0)}%`;
      return card('Summary', 'summary',
        h('div', { class: 'stats' },
          stat('Strategy', s.strategy),
          weights ? stat('Step', s.step || '—') : null,
          weights ? stat('Set weight', `${s.setWeight || 0}%`) : null,
          weights ? stat('Actual weight', `${s.actualWeight || 0}%`) : null,
          stat('Ready', `${s.ready}/${s.desired}`),
          stat('Up to date', String(s.updated))),
        weights ? bar : null,
        h('ul', { class: 'images' }, s.images.map((i) => h('li', {}, h('code', {}, i.image),
          i.tags.map((t) => h('span', { class: `tag tag-${t}` }, t))))));
    });

    section('containers', detail.containers, (containers) => card('Containers', 'containers',
      h('div', { class: 'containers' }, containers.map((c) => {
        const input = h('input', { type: 'text', value: c.image, 'aria-label': `Image of ${c.name}`, 'data-container': c.name, spellcheck: 'false' });
        const save = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'set-image', 'data-container': c.name, disabled: true,
          onclick: () => run('set-image', { images: { [c.name]: input.value.trim() } }) }, 'Set image');
        input.addEventListener('input', () => { save.disabled = !input.value.trim() || input.value.trim() === c.image; });
        input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !save.disabled) save.click(); });
        return h('div', { class: 'container-row' },
          h('span', { class: 'container-name' }, c.name, c.init ? h('small', { class: 'muted' }, ' init') : null),
          input, save);
      }))));

    section('steps', { steps: detail.steps, runs: detail.analysisRuns.map((r) => [r.name, r.phase]) }, ({ steps }) => {
      if (!steps.length) return card('Steps', 'steps', h('p', { class: 'muted' }, 'No canary steps.'));
      return card('Steps', 'steps', h('ol', { class: 'steps' }, steps.map((step) => {
        const expandable = step.kind === 'analysis' || step.kind === 'experiment';
        const label = h('span', { class: 'step-title' }, step.title);
        const item = h('li', { class: `step step-${step.state} step-kind-${step.kind}`, 'data-step': step.index },
          h('span', { class: 'step-marker', 'aria-hidden': 'true' }, step.state === 'done' ? '✓' : String(step.index + 1)));
        if (!expandable) {
          item.append(label);
          if (step.state === 'current') item.append(h('span', { class: 'current-tag' }, 'current'));
          return item;
        }
        const key = `step-${step.index}`;
        const runs = detail.analysisRuns.filter((r) => r.name.endsWith(`-${step.index}`));
        const details = h('details', { open: open.has(key), ontoggle: (e) => (e.target.open ? open.add(key) : open.delete(key)) },
          h('summary', {}, label, step.state === 'current' ? h('span', { class: 'current-tag' }, 'current') : null),
          runs.map((r) => h('div', { class: 'step-run' }, runBadge(r.phase), ' ', h('code', {}, r.name))),
          stepFacts(step),
          h('pre', { class: 'code' }, JSON.stringify(step.detail, null, 2)));
        item.append(details);
        return item;
      })));
    });

    section('revisions', detail.view.revisions, (revisions) => card('Revisions', 'revisions',
      revisions.length ? revisions.map((rev, i) => h('div', { class: 'revision', 'data-revision': rev.number },
        h('div', { class: 'revision-head' },
          h('strong', {}, `Revision ${rev.number}`),
          rev.tags.map((t) => h('span', { class: `tag tag-${t}` }, t)),
          h('span', { class: 'spacer' }),
          i > 0 ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'undo', 'data-revision': rev.number,
            onclick: () => run('undo', { revision: rev.number }, `Roll ${name} back to revision ${rev.number}?`) }, 'Rollback') : null),
        rev.replica_sets.map((rs) => h('div', { class: 'replicaset' },
          h('div', { class: 'rs-line' }, h('span', { class: `rs-status rs-${rs.status.toLowerCase()}` }, rs.icon),
            h('code', {}, rs.name), h('span', { class: 'muted' }, `${rs.ready}/${rs.desired} ready`),
            h('span', { class: 'muted small' }, rs.images.join(', '))),
          rs.pods.length ? h('div', { class: 'pods' }, rs.pods.map((p) => h('span', {
            class: `pod pod-${p.status.toLowerCase()}`, title: `${p.name}  ${p.status}  ${p.ready}  restarts ${p.restarts}`,
          }, p.icon))) : null)),
        rev.analysis_runs.map((r) => h('div', { class: 'rs-line' }, runBadge(r.phase), h('code', {}, r.name),
          h('span', { class: 'muted small' }, `✔ ${r.successful}  ✖ ${r.failed}  ${ago(r.created)} ago`)))))
        : h('p', { class: 'muted' }, 'No ReplicaSets yet.')));

    section('analysis', detail.analysisRuns.slice(0, 3), (runs) => card('Analysis', 'analysis',
      runs.length ? runs.map((r) => h('div', { class: 'analysis-run', 'data-run': r.name },
        h('div', { class: 'run-head' }, h('code', {}, r.name), runBadge(r.phase), r.message ? h('span', { class: 'muted small' }, r.message) : null),
        r.metrics.map((m) => h('div', { class: 'metric', 'data-metric': m.name },
          h('div', { class: 'metric-head' }, h('strong', {}, m.name), runBadge(m.phase),
            m.dryRun ? h('span', { class: 'tag' }, 'dry run') : null,
            h('span', { class: 'muted small' }, `✔ ${m.counts.successful}  ✖ ${m.counts.failed}  ? ${m.counts.inconclusive}  ⚠ ${m.counts.error}`)),
          metricChart(m),
          h('dl', { class: 'metric-facts' },
            m.query ? [h('dt', {}, m.provider || 'query'), h('dd', {}, h('code', { class: 'query' }, m.query))] : null,
            m.successCondition ? [h('dt', {}, 'success'), h('dd', {}, h('code', {}, m.successCondition))] : null,
            m.failureCondition ? [h('dt', {}, 'failure'), h('dd', {}, h('code', {}, m.failureCondition))] : null,
            [h('dt', {}, 'last values'), h('dd', {}, m.lastValues.length ? m.lastValues.map((v) => h('code', { class: 'value' }, v)) : '—')]),
          m.judge ? h('div', { class: 'judge' },
            h('div', { class: 'judge-score' }, h('span', { class: 'stat-label' }, 'Judge score'), h('strong', {}, m.judge.score ?? '—')),
            h('table', { class: 'judge-table' }, h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Classification'), h('th', {}, 'Estimate')),
              Object.entries(m.judge.metrics).map(([metric, v]) => h('tr', {}, h('td', {}, metric),
                h('td', {}, h('span', { class: `class-${String(v.classification).toLowerCase()}` }, v.classification)),
                h('td', {}, v.estimate ?? '—'))))) : null))))
        : h('p', { class: 'muted' }, 'No analysis runs for this rollout.')));
  }

  clear(view).append(h('section', { class: 'page rollout-page' },
    slots.head, slots.actions,
    h('div', { class: 'columns' },
      h('div', { class: 'column' }, slots.summary, slots.containers, slots.steps),
      h('div', { class: 'column' }, slots.analysis, slots.revisions))));
  slots.head.append(h('p', { class: 'muted' }, 'Loading…'));

  // Charts are drawn for the width they get: redraw them when the window crosses from wide to narrow.
  let narrow = window.innerWidth < 700;
  const onResize = () => {
    if ((window.innerWidth < 700) === narrow) return;
    narrow = !narrow;
    drawn.delete('analysis');
    if (latest) draw(latest);
  };
  window.addEventListener('resize', onResize);

  let source = null;
  let stopped = false;
  getJSON(path).then((detail) => {
    if (stopped) return;
    draw(detail);
    source = follow(`${path}/watch`, {
      rollout: draw,
      deleted: () => toast(`Rollout ${name} was deleted`, 'error'),
    }, setLive);
  }).catch((error) => {
    setLive('offline');
    clear(slots.head).append(h('a', { class: 'back', href: `#/ns/${encodeURIComponent(namespace)}` }, '← Rollouts'),
      h('div', { class: 'empty error-box' }, explain(error)));
  });
  return () => {
    stopped = true;
    window.removeEventListener('resize', onResize);
    if (source) source.close();
  };
}
