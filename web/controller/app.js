// The controller's app at /controller/: staff sign-in (cookie session), then a hash router
// over the screens. A scanned ticket is checked on the phone (verify.js, WebCrypto Ed25519)
// against the lists the phone keeps, shown at once full-screen, and queued; the queue is
// synced whenever the network is there, and the flags the server finds are shown. Where the
// browser has no Ed25519 the server checks the ticket while online.
import { phoneLanguage, setLanguage, setTimeZone, translate, t } from '../lib/i18n.js';
import { h, clear } from '../lib/ui.js';
import { account, signInForm, signOut as endSession, staffApi } from '../lib/staff.js';
import * as device from './device.js';
import * as screens from './screens.js';

const INSPECTOR_ROLES = ['controller', 'admin'];
const main = document.getElementById('main');
let ed25519 = true;
let current = null;
let notice = null;

function chooseLanguage(lang) {
  localStorage.setItem('smsbus.lang', lang);
  setLanguage(lang);
  translate();
  route();
}

export function go(hash, options = {}) {
  notice = options.notice ?? null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function showOffline() {
  document.getElementById('offline').hidden = navigator.onLine;
}

async function signOut() {
  await endSession();
  device.forget();
  go('#/');
}

/// The lists are fetched again after a check when older than this.
const REFRESH_AFTER_MS = 5 * 60 * 1000;
/// The ticket just checked, read again this soon after "Next ticket", is the same showing.
const RESCAN_QUIET_MS = 4000;
let refreshedAt = 0;
let last = { token: null, at: 0 };

/// Syncs the queue, then refreshes the lists (always, or when older than REFRESH_AFTER_MS);
/// returns the sync's answers (or [] offline).
async function whenOnline({ always = true } = {}) {
  if (!navigator.onLine || !account()) return [];
  let answers = [];
  try { answers = await device.sync(); } catch { answers = []; }
  if (always || Date.now() - refreshedAt > REFRESH_AFTER_MS) {
    if (await device.refresh()) refreshedAt = Date.now();
  }
  return answers;
}

/// Whether a code read by the camera is the ticket just checked, still in front of it.
function justChecked(text) {
  return text === last.token && Date.now() - last.at < RESCAN_QUIET_MS;
}

async function syncNow() {
  await whenOnline();
  route();
}

/// A scanned text: checked, shown, queued, synced when it can be.
async function onToken(text, decodedAt) {
  last = { token: text, at: Date.now() };
  const vehicle = device.state.vehicle();
  const scannedAtMs = Date.now();
  const offline = !navigator.onLine;
  let verdict;
  let facts = null;
  let claims = null;
  let server = null;
  let how;
  if (ed25519) {
    let checked = await device.check(text, vehicle.transport_code, scannedAtMs);
    if (checked.verdict === 'UNKNOWN_KEY' && !offline && await device.refresh()) {
      // A key published since the phone's list was fetched (a rotation): fetched, checked again.
      refreshedAt = Date.now();
      checked = await device.check(text, vehicle.transport_code, scannedAtMs);
    }
    verdict = checked.verdict;
    facts = checked.claims ? screens.factsOfClaims(checked.claims) : null;
    claims = checked.claims ?? null;
    how = offline ? 'ctl_how_phone_offline' : 'ctl_how_phone';
    device.enqueue({ token: text, vehicle: vehicle.transport_code, result: verdict, scannedAtMs, offline, claims: checked.claims });
  } else if (!offline) {
    try {
      const { data } = await staffApi('/v1/inspections', { method: 'POST', body: { token: text, transport_code: vehicle.transport_code, inspector: account().login } });
      verdict = data.result;
      facts = data.ticket ? screens.factsOfServer(data.ticket) : null;
      server = data;
      how = 'ctl_how_server';
      device.enqueue({ token: text, vehicle: vehicle.transport_code, result: verdict, scannedAtMs, offline, claims: facts && { checkNumber: facts.checkNumber }, server: { result: data.result, agrees: true, flag_reason: data.flag_reason, flagged_because_of: data.flagged_because_of ?? null } });
    } catch {
      verdict = 'UNCHECKED';
      how = 'ctl_how_server_failed';
    }
  } else {
    verdict = 'UNCHECKED';
    how = 'ctl_how_cannot';
  }
  const screen = screens.verdictScreen({ verdict, facts, how, claims, onNext: () => { last.at = Date.now(); go('#/scan'); }, onDone: () => go('#/') });
  clear(main).append(screen);
  current = screen;
  requestAnimationFrame(() => {
    const ms = performance.now() - decodedAt;
    window.smsbusLastVerdictMs = ms;
    screen.dataset.ms = ms.toFixed(1);
  });
  if (server) screen.showFlag(server);
  else if (!offline) {
    const answers = await whenOnline({ always: false });
    const mine = answers.find((a) => a.check_number && facts && a.check_number === facts.checkNumber && a.flag_reason);
    if (mine && current === screen) screen.showFlag({ ...mine, flagged_because_of: mine.inspection?.flagged_because_of });
  }
}

function route() {
  current?.cleanup?.();
  translate();
  showOffline();
  const vehicle = device.state.vehicle();
  // Times in the city of the vehicle, else of the controller's first city.
  const zone = vehicle?.timezone ?? device.state.vehicles()[0]?.timezone;
  if (zone) setTimeZone(zone);
  if (!account()) {
    current = h('div', {}, signInForm({ title: t('ctl_signin_title'), roles: INSPECTOR_ROLES, onSignedIn: async () => {
      device.startShift();
      await whenOnline();
      go('#/');
    } }), screens.languageButtons(chooseLanguage));
    clear(main).append(current);
    return;
  }
  const hash = location.hash || '#/';
  const context = { go, signOut, chooseLanguage, ed25519, syncNow, onToken, justChecked, redraw: route };
  if (hash === '#/vehicle') current = screens.vehicleScreen(context);
  else if (hash === '#/scan' && vehicle) current = screens.scanScreen(context);
  else if (hash === '#/shift') current = screens.shiftScreen(context);
  else current = screens.home(context);
  clear(main).append(notice ? h('div', { class: 'ok', role: 'status' }, h('p', {}, notice)) : '', current);
  notice = null;
  main.focus({ preventScroll: true });
}

async function start() {
  setLanguage(localStorage.getItem('smsbus.lang') || phoneLanguage());
  ed25519 = await device.ed25519Available();
  window.addEventListener('hashchange', route);
  window.addEventListener('online', async () => { showOffline(); await whenOnline(); if (!location.hash.startsWith('#/scan') && !main.querySelector('.verdict')) route(); });
  window.addEventListener('offline', showOffline);
  window.addEventListener('smsbus:staff-signed-out', () => route());
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/controller/sw.js', { scope: '/controller/' }).catch(() => {});
  route();
  whenOnline().then(() => { if (location.hash === '' || location.hash === '#/') route(); });
}

start();
