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

// A single-use ticket for one event stream (EventSource cannot send the token in a header, and the token never
// goes into a URL); null without a token, or when the dashboard refuses one (reads may be open anyway).
async function streamTicket() {
  if (!token()) return null;
  try {
    const response = await fetch('/api/v1/stream-ticket', { method: 'POST', headers: headers() });
    return response.ok ? (await response.json()).ticket : null;
  } catch {
    return null;
  }
}

// Follow a server-sent event stream; `handlers` maps event names to callbacks, `onState` gets live/reconnecting.
// A ticket opens one connection only, so each reconnection (after an error or the server ending the stream)
// opens a new EventSource with a fresh ticket, waiting a little longer each time it fails. Returns {close()}.
export function follow(path, handlers, onState) {
  let source = null;
  let closed = false;
  let timer = null;
  let delay = 500;

  async function open() {
    const ticket = await streamTicket();
    if (closed) return;
    source = new EventSource(ticket ? `${path}?ticket=${encodeURIComponent(ticket)}` : path);
    for (const [event, handler] of Object.entries(handlers)) {
      source.addEventListener(event, (message) => {
        delay = 500;
        handler(JSON.parse(message.data));
      });
    }
    source.onopen = () => onState('live');
    source.onerror = () => {
      source.close();
      if (closed) return;
      onState('reconnecting');
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}

export function rolloutsPath(namespace) {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/rollouts`;
}
