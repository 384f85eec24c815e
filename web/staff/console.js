// What the desktop staff consoles (the office clerk's /office/, the system operator's /admin/)
// have in common: the page frame with a side menu and the language switch, the staff sign-in,
// a hash router over the menu's screens, tables with paging and CSV download, search boxes,
// confirm dialogs that ask for what an action needs (a reason, a reference), and notices.
// Every visible text comes from web/lib/messages.js; data (names, numbers, audit values) is
// shown as it is, marked with class "data".
import { LANGUAGES, setLanguage, t, translate, language, money as formatMoney } from '../lib/i18n.js';
import { MESSAGES } from '../lib/messages.js';
import { h, clear, field, problemView } from '../lib/ui.js';
import { account, signInForm, signOut } from '../lib/staff.js';

/// Rows a table page shows.
export const PAGE_ROWS = 20;

let current = null;

/// Starts a console: `menu` is [{ id, label (message key), render(main, params) }]; the first
/// entry is the home screen. `roles` are the account roles this console serves.
export function startConsole({ title, roles, menu }) {
  setLanguage(localStorage.getItem('smsbus.lang') || 'ru');
  current = { title, roles, menu };
  window.addEventListener('hashchange', route);
  window.addEventListener('smsbus:staff-signed-out', route);
  route();
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function languageSwitch() {
  return h('div', { class: 'languages console-languages', role: 'group', 'aria-label': t('more_language') },
    LANGUAGES.map((lang) => h('button', {
      type: 'button', lang, 'aria-pressed': String(lang === document.documentElement.lang),
      onclick: () => { localStorage.setItem('smsbus.lang', lang); setLanguage(lang); translate(); route(); },
    }, t(`lang_${lang}`))));
}

function route() {
  const { title, roles, menu } = current;
  const body = clear(document.body);
  const signed = account();
  const main = h('main', { id: 'main', tabindex: '-1', class: 'console-main' });
  const header = h('header', { class: 'top console-top' },
    h('span', { class: 'brand' }, `${t('app_name')} · ${t(title)}`),
    h('div', { class: 'row console-account' },
      signed ? h('span', {}, t('staff_signed_in', { login: signed.login, role: t(`staff_role_${signed.role}`) })) : null,
      languageSwitch(),
      signed ? h('button', { type: 'button', class: 'secondary', id: 'signout', onclick: async () => { await signOut(); route(); } }, t('staff_signout')) : null));
  body.append(h('a', { class: 'skip', href: '#main' }, t('console_skip')), header);
  if (!signed || !roles.includes(signed.role)) {
    main.append(signInForm({ title: t('staff_signin_title'), roles, onSignedIn: () => route() }));
    body.append(h('div', { class: 'console' }, main));
    document.title = `${t('app_name')} · ${t(title)}`;
    return;
  }
  const [name = menu[0].id, ...params] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const screen = menu.find((m) => m.id === name) ?? menu[0];
  const nav = h('nav', { class: 'side', 'aria-label': t('console_menu') },
    h('ul', {}, menu.filter((m) => !m.hidden).map((m) => h('li', {}, h('a', {
      href: m.href ?? `#/${m.id}`, 'aria-current': m.id === screen.id ? 'page' : undefined,
    }, t(m.label))))));
  body.append(h('div', { class: 'console' }, nav, main));
  screen.render(main, params.map(decodeURIComponent));
  document.title = `${t('app_name')} · ${main.querySelector('h1')?.textContent ?? t(title)}`;
}

/// An audit action (`card.block`) in words when the catalogue has them, else as recorded.
export function auditAction(action) {
  return known(`audit_${action.replace(/\./g, '__')}`, action);
}

/// The catalogue's text for `key`, or `fallback` (a value as the server wrote it) without one.
export function known(key, fallback) {
  return MESSAGES[language()][key] ? t(key) : fallback;
}

/// A value shown as data (not a text of the catalogue).
export const data = (value, tag = 'span') => h(tag, { class: 'data' }, value ?? '');

/// Money as the API gives it ({amount, currency, tiyn}), as every app writes it (`90 ₸`); empty
/// for none.
export const money = (m) => (m ? formatMoney(m) : '');

/// A time (RFC 3339) as date and time in the language.
export function when(text) {
  if (!text) return '';
  const at = new Date(text);
  const month = t(`month_${at.getMonth() + 1}`);
  const pad = (n) => String(n).padStart(2, '0');
  return `${at.getDate()} ${month} ${at.getFullYear()}, ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/// A table of `rows` with `columns` [{ label (key), value(row) → text, cell(row) → node }],
/// paged by PAGE_ROWS, with a CSV download of all rows when `csv` names the file.
export function table({ caption, columns, rows, csv, empty = 'console_empty', id }) {
  const box = h('section', { class: 'table-box', id });
  let page = 0;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
  const draw = () => {
    const shown = rows.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS);
    const tableEl = h('table', { class: 'grid' },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, t(c.label))))),
      h('tbody', {}, shown.map((row) => h('tr', {}, columns.map((c) => h('td', {}, c.cell ? c.cell(row) : data(String(c.value(row) ?? ''))))))));
    const pager = pages > 1 ? h('div', { class: 'row pager' },
      h('button', { type: 'button', class: 'secondary', disabled: page === 0, onclick: () => { page -= 1; draw(); } }, t('console_prev')),
      h('span', { 'aria-live': 'polite' }, t('console_page', { page: page + 1, pages })),
      h('button', { type: 'button', class: 'secondary', disabled: page >= pages - 1, onclick: () => { page += 1; draw(); } }, t('console_next'))) : null;
    const download = csv && rows.length ? h('button', { type: 'button', class: 'secondary csv', onclick: () => downloadCsv(csv, columns, rows) }, t('console_csv')) : null;
    box.replaceChildren(rows.length ? h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption ?? t('console_table') }, tableEl) : h('p', { class: 'muted' }, t(empty)), h('div', { class: 'row table-actions' }, pager, download));
  };
  draw();
  return box;
}

function csvCell(value) {
  const text = String(value ?? '');
  return /[",\n;]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/// Downloads `rows` as a CSV file (the header in the language, values as shown).
export function downloadCsv(name, columns, rows) {
  const lines = [columns.map((c) => csvCell(t(c.label))).join(',')]
    .concat(rows.map((row) => columns.map((c) => csvCell(c.value ? c.value(row) : c.text?.(row))).join(',')));
  const blob = new Blob([`\ufeff${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' });
  const link = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/// A search form: one box and a button; `onSearch(text)` is called with the trimmed text.
export function searchBox({ id, label, hint, value = '', onSearch }) {
  const input = h('input', { type: 'search', value, autocomplete: 'off', spellcheck: 'false' });
  return h('form', { class: 'row search', role: 'search', onsubmit: (e) => { e.preventDefault(); onSearch(input.value.trim()); } },
    field(id, t(label), input, hint ? t(hint) : undefined),
    h('button', { type: 'submit' }, t('console_search')));
}

/// A modal dialog asking to confirm an action: `fields` are [{ id, label, required, kind:
/// 'text'|'select'|'date', options: [[value, label key]] }]. Resolves with the values, or
/// null when cancelled.
export function confirmDialog({ title, text, fields = [], confirm = 'console_confirm', danger = false }) {
  return new Promise((resolve) => {
    const inputs = {};
    const rows = fields.map((f) => {
      let input;
      if (f.kind === 'select') input = h('select', {}, f.options.map(([v, label]) => h('option', { value: v }, t(label))));
      else input = h('input', { type: f.kind === 'date' ? 'date' : 'text', required: f.required, value: f.value ?? '', autocomplete: 'off' });
      inputs[f.id] = input;
      return field(`dialog-${f.id}`, t(f.label), input, f.hint ? t(f.hint) : undefined);
    });
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'dialog-title' });
    const finish = (values) => { dialog.close(); dialog.remove(); resolve(values); };
    const form = h('form', { method: 'dialog', onsubmit: (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      finish(Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()])));
    } },
    h('h2', { id: 'dialog-title' }, title),
    text ? h('p', {}, text) : null,
    rows,
    h('div', { class: 'row dialog-actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => finish(null) }, t('console_cancel')),
      h('button', { type: 'submit', class: danger ? 'danger' : undefined }, t(confirm))));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    (Object.values(inputs)[0] ?? form.querySelector('button[type=submit]')).focus();
  });
}

/// A message in a live region at the top of `main`: 'ok' or a refusal (an ApiError).
export function notice(box, okText, error) {
  box.replaceChildren(error ? problemView(error) : h('div', { class: 'ok', role: 'status' }, okText));
}

/// A live region for notices.
export const noticeBox = () => h('div', { class: 'notices', 'aria-live': 'polite' });

/// Shows "loading", runs `load`, then `draw(data)`; a refusal is shown instead.
export async function loading(box, load, draw) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const value = await load();
    box.replaceChildren();
    draw(value);
  } catch (error) {
    box.replaceChildren(problemView(error));
  }
}
