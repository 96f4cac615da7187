// Calls to the JSON API. The session is an HttpOnly cookie; every request that
// changes data echoes the keqing_csrf cookie in X-CSRF-Token.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network' : 'generic');
    this.details = body?.details ?? null;
  }
}

function cookie(name) {
  const hit = document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === name);
  return hit ? decodeURIComponent(hit[1] || '') : '';
}

let onExpired = () => {};
/** What to do when the session has ended (set by the app: back to login with a message). */
export function whenSessionEnds(fn) { onExpired = fn; }

/** `api('/customers?q=hx')`, `api('/customers/3', {method: 'PATCH', body: {...}})`. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = cookie('keqing_csrf');
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof FormData) && !(body instanceof ArrayBuffer)) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(`/api/v1${path}`, { method, headers: h, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, null);
  }
  if (r.status === 204) return null;
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const e = new ApiError(r.status, data);
    if (r.status === 401 && !path.startsWith('/auth/login')) onExpired(e);
    throw e;
  }
  return data;
}

/**
 * Names of customers by id (those the user may read), one request for up to
 * 200 of them instead of one each: Map id → name.
 */
export async function customerNames(ids) {
  const names = new Map();
  const list = [...new Set(ids.filter((x) => x !== null && x !== undefined))];
  for (let i = 0; i < list.length; i += 200) {
    const r = await api(`/customers?ids=${list.slice(i, i + 200).join(',')}`);
    for (const c of r.items) names.set(c.id, c.name);
  }
  return names;
}
