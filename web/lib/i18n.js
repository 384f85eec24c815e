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

export function money(m) {
  const tenge = Number(m.tiyn) / 100;
  return new Intl.NumberFormat(LOCALE[current], { style: 'currency', currency: 'KZT', currencyDisplay: 'narrowSymbol', maximumFractionDigits: tenge % 1 ? 2 : 0 }).format(tenge);
}

export function moneyTiyn(tiyn) {
  return money({ tiyn });
}

export function time(iso) {
  return new Intl.DateTimeFormat(LOCALE[current], { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(new Date(iso));
}

export function dateTime(iso) {
  return new Intl.DateTimeFormat(LOCALE[current], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone }).format(new Date(iso));
}

/// Fills every [data-i18n] element of root with its text.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
