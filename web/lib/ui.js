// Small DOM helpers shared by the web apps: h() builds elements, notice() shows a message
// in a live region, problemText() says a refusal in the passenger's words.
import { t, count } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/// The words of an ApiError: the server's message in the passenger's language (what happened
/// and what to do), the wait where the API asks for one, and the stable code.
export function problemView(error) {
  if (error?.status === 0) return h('div', { class: 'problem', role: 'alert' }, h('p', {}, t('err_network')));
  const p = error?.problem ?? {};
  const wait = Number(p.retry_after_s);
  return h('div', { class: 'problem', role: 'alert' },
    h('p', {}, p.message ?? t('err_generic')),
    wait > 0 ? h('p', {}, t('signin_wait', { seconds: count('n_seconds', Math.ceil(wait)) })) : null,
    h('p', { class: 'code' }, t('err_code', { code: error?.code ?? 'UNKNOWN' })));
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function field(id, label, input, hint) {
  input.id = id;
  if (hint) input.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

export function maskPhone(phone) {
  const p = String(phone);
  return p.length > 8 ? `${p.slice(0, 5)} ${p.slice(5, 8)} ** ${p.slice(-2)}` : p;
}
