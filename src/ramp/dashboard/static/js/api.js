// The dashboard's JSON API (/api/v1): reads, actions and server-sent event streams, with the bearer token.
const KEY = 'ramp.dashboard.token';

export function token() {
  return localStorage.getItem(KEY) || '';
}

export function setToken(value) {
  if (value) localStorage.setItem(KEY, value);
  else localStorage.removeItem(KEY);
  window.dispatchEvent(new Event('ramp-token'));
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra = {}) {
  const value = token();
  return value ? { ...extra, Authorization: `Bearer ${value}` } : extra;
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error || response.statusText);
  return body;
}

export async function getJSON(path) {
  return answer(await fetch(path, { headers: headers() }));
}

export async function act(namespace, name, action, body) {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/rollouts/${encodeURIComponent(name)}/${action}`;
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body || {}),
  });
  return answer(response);
}

// Follow a server-sent event stream; `handlers` maps event names to callbacks, `onState` gets live/reconnecting.
export function follow(path, handlers, onState) {
  const value = token();
  const source = new EventSource(value ? `${path}?token=${encodeURIComponent(value)}` : path);
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handler(JSON.parse(message.data)));
  }
  source.onopen = () => onState('live');
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting');
  return source;
}

export function rolloutsPath(namespace) {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/rollouts`;
}
