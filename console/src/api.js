// The console's one door to the coordinator: fetch /api/v1 with the token
// kept in sessionStorage (gone when the tab closes). Errors carry the
// RFC 9457 problem's detail and, for a bad member of a body, its pointer
// ("/cron").

const KEY = 'drover.token';

export function getToken() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, detail, pointer) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.pointer = pointer;
  }
}

// api('GET', '/tasks', {state: 'dead'}) -> the reply's JSON.
export async function api(method, path, query, body) {
  const url = new URL('/api/v1' + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!r.ok) throw new ApiError(r.status, json && json.detail, json && json.pointer);
  return json;
}

// The role's rank, to compare with what an action needs.
const RANK = { viewer: 0, operator: 1, admin: 2 };
export function can(who, role) {
  return !!who && RANK[who.role] >= RANK[role];
}
