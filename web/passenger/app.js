// The passenger app: a hash router over the screens, the chosen language and city, the
// session, the offline badge and the service worker. Each screen module exports
// render(main, params) and may return a function that stops what it started.
import { phoneLanguage, setLanguage, setTimeZone, translate, t } from '../lib/i18n.js';
import { session } from '../lib/api.js';
import { clear } from '../lib/ui.js';
import * as signin from './signin.js';
import * as pay from './pay.js';
import * as tickets from './tickets.js';
import * as trips from './trips.js';
import * as map from './map.js';
import * as journey from './journey.js';
import * as more from './more.js';
import * as cards from './cards.js';
import * as topup from './topup.js';

export const state = {
  get city() { return localStorage.getItem('smsbus.city') || 'astana'; },
  set city(v) { localStorage.setItem('smsbus.city', v); },
  get phone() { return localStorage.getItem('smsbus.phone') || ''; },
  set phone(v) { if (v) localStorage.setItem('smsbus.phone', v); else localStorage.removeItem('smsbus.phone'); },
  get started() { return localStorage.getItem('smsbus.started') === '1'; },
  set started(v) { localStorage.setItem('smsbus.started', v ? '1' : '0'); },
};

/// The city the passenger rides in: its id and the time zone its times are shown in.
export function chooseCity(id, cities) {
  state.city = id;
  setTimeZone(cities?.find((c) => c.id === id)?.timezone);
}

export function chooseLanguage(lang) {
  localStorage.setItem('smsbus.lang', lang);
  setLanguage(lang);
  translate();
}

const SCREENS = { start: signin.start, signin: signin.render, pay: pay.render, tickets: tickets.render, trips: trips.render,
  feedback: trips.feedback, map: map.render, journey: journey.render, more: more.render, cards: cards.render, 'top-up': topup.render };
const PUBLIC = new Set(['start', 'signin', 'map', 'journey', 'more']);
let stop = null;
let routed = false;

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const [name = 'pay', ...params] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  // #/cards/<number>/top-up[?top_up=<id>]: the top-up screen (topup.js), beside any cards screen.
  const topUp = name === 'cards' && (params[1] ?? '').startsWith('top-up');
  let screen = topUp ? 'top-up' : SCREENS[name] ? name : 'pay';
  if (!state.started && screen !== 'start') screen = 'start';
  else if (!session() && !PUBLIC.has(screen)) screen = 'signin';
  if (typeof stop === 'function') stop();
  stop = null;
  const main = clear(document.getElementById('main'));
  // A new screen: focus moves to its start (a screen may then focus its first field).
  if (routed) main.focus();
  routed = true;
  const tabs = document.getElementById('tabs');
  tabs.hidden = screen === 'start' || screen === 'signin';
  for (const a of tabs.querySelectorAll('a')) {
    if (a.dataset.tab === screen || (screen === 'feedback' && a.dataset.tab === 'trips') || (screen === 'cards' && a.dataset.tab === 'more')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  stop = SCREENS[screen](main, params.map(decodeURIComponent));
  document.title = `${t('app_name')} · ${main.querySelector('h1')?.textContent ?? ''}`;
}

function showOnline() {
  document.getElementById('offline').hidden = navigator.onLine;
}

function boot() {
  setLanguage(localStorage.getItem('smsbus.lang') || phoneLanguage());
  translate();
  // The sticker's QR opens /?bus=<transport code>: the payment screen for that bus.
  const bus = new URLSearchParams(location.search).get('bus');
  if (bus) {
    sessionStorage.setItem('smsbus.bus', bus);
    history.replaceState(null, '', `/#/pay/${encodeURIComponent(bus)}`);
  }
  window.addEventListener('hashchange', route);
  window.addEventListener('online', showOnline);
  window.addEventListener('offline', showOnline);
  window.addEventListener('smsbus:signed-out', () => go('#/signin'));
  showOnline();
  tickets.refreshBadge();
  route();
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker', e));
}

boot();
