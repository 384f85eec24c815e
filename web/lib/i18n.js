// Texts from the one catalogue (messages.js), in the chosen language: t('key', {n, …}) picks
// the plural form with Intl.PluralRules and fills {placeholders}. Money and times are
// formatted with Intl in the same language. Elements with data-i18n get their text here.
import { MESSAGES } from './messages.js';

export const LANGUAGES = ['kk', 'ru', 'en'];
const LOCALE = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
let current = 'ru';
let zone = localStorage.getItem('smsbus.tz') || undefined;

/// Times are shown in the city's time zone (the API's are instants).
export function setTimeZone(tz) {
  zone = tz || undefined;
  if (tz) localStorage.setItem('smsbus.tz', tz);
}

/// The phone's first language we speak, else Russian.
export function phoneLanguage() {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'ru';
}

export function setLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : 'ru';
  document.documentElement.lang = current;
  return current;
}

export const language = () => current;
export const locale = () => LOCALE[current];

export function t(key, params = {}) {
  let entry = MESSAGES[current][key];
  if (entry === undefined) {
    console.error(`missing message ${key} (${current})`);
    return key;
  }
  if (typeof entry === 'object') {
    const form = new Intl.PluralRules(LOCALE[current]).select(params.n ?? 0);
    entry = entry[form] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/// "5 seconds", "5 секунд", "5 секунд": a count with its noun in the right form.
export const count = (key, n) => t(key, { n });

/// 90 ₸, 1 250 ₸: the tenge after the number, as Kazakhstan writes it (Chromium's ICU has no
/// Kazakh patterns, so the app does not rely on them).
export function money(m) {
  const tenge = Number(m.tiyn) / 100;
  const number = new Intl.NumberFormat(current === 'en' ? 'en-GB' : 'ru-RU', { maximumFractionDigits: tenge % 1 ? 2 : 0, minimumFractionDigits: tenge % 1 ? 2 : 0 }).format(tenge);
  return `${number}\u00a0₸`;
}

export function moneyTiyn(tiyn) {
  return money({ tiyn });
}

/// The parts of an instant in the city's time zone (numbers only: the names come from the
/// catalogue, since Chromium has no Kazakh month and weekday names).
function parts(date) {
  const out = {};
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short' });
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  out.wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(out.weekday);
  return out;
}

export function time(iso) {
  const p = parts(new Date(iso));
  return `${p.hour}:${p.minute}`;
}

export function dateTime(iso) {
  const p = parts(new Date(iso));
  return `${Number(p.day)} ${t(`month_${Number(p.month)}`)}, ${p.hour}:${p.minute}`;
}

/// The day of an instant in the city: 30 Jun 2027.
export function day(iso) {
  const p = parts(new Date(iso));
  return `${Number(p.day)} ${t(`month_${Number(p.month)}`)} ${p.year}`;
}

/// Today's weekday in the city, in words.
export function weekday(date = new Date()) {
  return t(`wd_${parts(date).wd}`);
}

/// Fills every [data-i18n] element of root with its text.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
