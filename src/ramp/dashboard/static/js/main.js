// The page shell: hash routes (#/ns/<namespace> and #/ns/<namespace>/rollouts/<name>), the namespace switcher,
// the token dialog, the live indicator and toasts. Pages: list.js and rollout.js.
import { ApiError, getJSON, setToken, token } from './api.js';
import { clear, h } from './dom.js';
import { showList } from './list.js';
import { showRollout } from './rollout.js';

const view = document.getElementById('view');
const select = document.getElementById('namespace');
const live = document.getElementById('live');
const signin = document.getElementById('signin');
const dialog = document.getElementById('token-dialog');
let config = { defaultNamespace: 'default' };
let stopCurrent = () => {};

export function toast(message, kind = 'info') {
  const box = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', title: 'Click to dismiss',
    onclick: () => box.remove() }, message);
  document.getElementById('toasts').append(box);
  setTimeout(() => box.classList.add('toast-out'), kind === 'error' ? 7000 : 3500);
  setTimeout(() => box.remove(), kind === 'error' ? 7600 : 4100);
}

export function setLive(state) {
  live.className = `live live-${state}`;
  live.textContent = { live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' }[state] || state;
}

export function askForToken() {
  document.getElementById('token-input').value = '';
  if (!dialog.open) dialog.showModal();
}

export function explain(error) {
  if (error instanceof ApiError && error.status === 401) {
    return 'Refused (401): this needs the dashboard token. Use “Sign in” and paste the token ramp dashboard printed.';
  }
  return error.message || String(error);
}

function renderSignin() {
  const has = Boolean(token());
  signin.textContent = has ? 'Signed in' : 'Sign in';
  signin.classList.toggle('signed-in', has);
  signin.title = has ? 'A token is set: actions are enabled' : 'Paste the token to enable actions';
}

// The token given in the page's address: after the `#` (`#/ns/<namespace>?token=...`, as `ramp dashboard` prints
// it, so it never reaches the server), or in an old-style `?token=` link. Either way it is stored and removed from
// the address at once.
function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const [route, fragmentQuery = ''] = url.hash.split('?');
  const fromHash = new URLSearchParams(fragmentQuery).get('token');
  const given = fromHash || url.searchParams.get('token');
  if (given) {
    setToken(given);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + (fromHash ? route : url.hash));
  }
}

async function fillNamespaces(current) {
  let names = [current];
  try {
    names = (await getJSON('/api/v1/namespaces')).namespaces;
  } catch {
    // Not allowed to read yet: the switcher shows the current namespace only.
  }
  if (!names.includes(current)) names.push(current);
  clear(select).append(...names.sort().map((n) => h('option', { value: n, selected: n === current }, n)));
}

function route() {
  stopCurrent();
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] !== 'ns' || !parts[1]) {
    window.location.replace(`#/ns/${encodeURIComponent(config.defaultNamespace)}`);
    return;
  }
  const namespace = parts[1];
  if (select.value !== namespace) fillNamespaces(namespace);
  const context = { view, namespace, toast, setLive, askForToken, explain };
  if (parts[2] === 'rollouts' && parts[3]) {
    document.title = `${parts[3]} · Ramp`;
    stopCurrent = showRollout(context, parts[3]);
  } else {
    document.title = `Rollouts · ${namespace} · Ramp`;
    stopCurrent = showList(context);
  }
}

async function start() {
  takeTokenFromUrl();
  renderSignin();
  try {
    config = await getJSON('/api/v1/config');
  } catch (error) {
    toast(explain(error), 'error');
  }
  select.addEventListener('change', () => {
    window.location.hash = `#/ns/${encodeURIComponent(select.value)}`;
  });
  signin.addEventListener('click', askForToken);
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') setToken(document.getElementById('token-input').value.trim());
    if (dialog.returnValue === 'forget') setToken('');
  });
  window.addEventListener('ramp-token', () => {
    renderSignin();
    route();
  });
  window.addEventListener('hashchange', route);
  route();
}

start();
