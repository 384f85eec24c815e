// Staff sign-in shared by the staff apps (controller, office, carrier, operator): a cookie
// session (the server's `__Host-` cookie, HttpOnly and SameSite=Strict) and its CSRF token,
// sent back as X-CSRF-Token on every state-changing request. The signed-in account is kept on
// the device, so an app reopened without network still knows whose shift it is; the server
// stays the judge of every request.
import { t, language } from './i18n.js';
import { ApiError } from './api.js';
import { h, field, problemView } from './ui.js';

const KEY = 'smsbus.staff';

function stored() {
  try { return JSON.parse(localStorage.getItem(KEY)) ?? null; } catch { return null; }
}

/// The signed-in account ({login, role, cities, carriers, …}) or null.
export const account = () => stored()?.account ?? null;

function keep(value) {
  if (value) localStorage.setItem(KEY, JSON.stringify(value));
  else localStorage.removeItem(KEY);
}

/// A request with the staff cookie: JSON in and out, the language, the CSRF token on anything
/// but GET/HEAD. A refusal is thrown as an ApiError; a 401 forgets the session and says so
/// with the `smsbus:staff-signed-out` event. `raw: true` returns the Response (CSV, PDF, SVG).
export async function staffApi(path, { method = 'GET', body, headers = {}, signal, raw = false } = {}) {
  const all = { 'Accept-Language': language(), Accept: raw ? '*/*' : 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = stored()?.csrf;
    if (token) all['X-CSRF-Token'] = token;
  }
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer || typeof body === 'string') payload = body;
  else if (body !== undefined) {
    all['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers: all, body: payload, signal, credentials: 'same-origin' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && path !== '/v1/staff/session' && stored()) {
      keep(null);
      window.dispatchEvent(new Event('smsbus:staff-signed-out'));
    }
    throw new ApiError(response.status, data);
  }
  return { status: response.status, data };
}

/// Opens a cookie session; the account and the CSRF token are kept on the device.
export async function signIn({ login, password, totp }) {
  const body = { login, password, cookie: true };
  if (totp) body.totp = totp;
  const { data } = await staffApi('/v1/staff/session', { method: 'POST', body });
  keep({ account: data.account, csrf: data.csrf_token, session_id: data.session_id, expires_at: data.expires_at });
  return data.account;
}

/// Ends the session on the server (when it can be reached) and on the device.
export async function signOut() {
  try { await staffApi('/v1/staff/session', { method: 'DELETE' }); } catch { /* ended here anyway */ }
  keep(null);
}

/// The sign-in form of a staff app: login, password and, for accounts that need it (admins),
/// the authenticator's six digits — asked for when the server says so. `roles` lists the roles
/// this app serves: another role's account is told which app is theirs and not kept.
export function signInForm({ title, roles, onSignedIn }) {
  const box = h('section', { class: 'card signin' });
  let needTotp = false;
  const draw = (error) => {
    const login = h('input', { type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
    const password = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const totp = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}' });
    const submit = h('button', { class: 'wide big', type: 'submit' }, t('staff_signin_submit'));
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const signed = await signIn({ login: login.value.trim(), password: password.value, totp: totp.value.trim() || undefined });
        if (roles && !roles.includes(signed.role)) {
          await signOut();
          draw(new ApiError(403, { code: 'ROLE_FORBIDDEN', message: t('staff_wrong_app', { role: t(`staff_role_${signed.role}`) }) }));
          return;
        }
        onSignedIn(signed);
      } catch (err) {
        if (err.code === 'STAFF_TOTP_REQUIRED') needTotp = true;
        draw(err);
      }
    } },
    field('staff-login', t('staff_login'), login),
    field('staff-password', t('staff_password'), password),
    needTotp ? field('staff-totp', t('staff_totp'), totp, t('staff_totp_hint')) : null,
    submit);
    // (replaceChildren would write a null as the text "null".)
    box.replaceChildren(...[h('h1', {}, title ?? t('staff_signin_title')), form, error ? problemView(error) : null].filter(Boolean));
    login.focus();
  };
  draw();
  return box;
}
