// The API as a browser client sees it: JSON in and out, the language in Accept-Language, the
// session as a bearer token; a refusal is thrown as an ApiError carrying the problem+json
// (its stable `code`, the `message` in the passenger's language, `retry_after_s`, facts).
import { language } from './i18n.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.message ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    this.code = this.problem.code ?? (status === 0 ? 'NETWORK' : `HTTP_${status}`);
  }
}

let token = localStorage.getItem('smsbus.token');
export const session = () => token;
export function setSession(value) {
  token = value;
  if (value) localStorage.setItem('smsbus.token', value);
  else localStorage.removeItem('smsbus.token');
}

export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const all = { 'Accept-Language': language(), Accept: 'application/json', ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  if (body !== undefined) all['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && token && path !== '/v1/auth/session') {
      setSession(null);
      window.dispatchEvent(new Event('smsbus:signed-out'));
    }
    throw new ApiError(response.status, data);
  }
  return { status: response.status, data };
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
