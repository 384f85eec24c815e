// The controller app's screens: home (the vehicle, the big scan button, what the phone holds),
// choosing the vehicle (typed code or plate, the sticker, the controller's location), the
// ticket scanner with a typed code for a broken screen, the full-screen verdict, and the
// shift summary.
import { t, money, dateTime, time, setTimeZone, LANGUAGES } from '../lib/i18n.js';
import { h, problemView } from '../lib/ui.js';
import { distanceM } from '../lib/geo.js';
import { account, staffApi } from '../lib/staff.js';
import { camera } from './scan.js';
import * as device from './device.js';
import { MESSAGES } from '../lib/messages.js';

/// A controller's own location puts them in a vehicle reported within this many metres.
export const NEAR_M_MAX = 60;
/// A live position older than this does not place a vehicle.
const LIVE_FRESH_MS = 60_000;

export const online = () => navigator.onLine;

function vehicleLine(v) {
  return t('ctl_vehicle_line', { route: v.route_number, plate: v.plate });
}

export function languageButtons(onChange) {
  const current = document.documentElement.lang;
  return h('div', { class: 'languages', role: 'group', 'aria-label': t('ctl_language') },
    LANGUAGES.map((lang) => h('button', { type: 'button', lang, 'aria-pressed': String(lang === current), onclick: () => onChange(lang) }, t(`lang_${lang}`))));
}

/// Home: the vehicle, the scan button, the phone's lists and queue.
export function home({ go, signOut, chooseLanguage, ed25519, syncNow }) {
  const vehicle = device.state.vehicle();
  const me = account();
  const shift = device.shiftSummary();
  const keysAt = device.state.keysFetchedAt();
  const invalidated = Object.keys(device.state.invalidations().entries).length;
  return h('section', {},
    h('h1', {}, t('ctl_home_title')),
    h('p', { class: 'muted' }, t('staff_signed_in', { login: me?.login ?? '', role: t(`staff_role_${me?.role ?? 'controller'}`) })),
    vehicle
      ? h('div', { class: 'card vehicle-card' },
        h('p', { class: 'label' }, t('ctl_vehicle')),
        h('p', { class: 'vehicle-code' }, vehicle.transport_code),
        h('p', {}, vehicleLine(vehicle)),
        h('button', { type: 'button', class: 'secondary wide', onclick: () => go('#/vehicle') }, t('ctl_vehicle_change')))
      : h('div', { class: 'card soft' }, h('p', {}, t('ctl_vehicle_none')),
        h('button', { type: 'button', class: 'wide big', onclick: () => go('#/vehicle') }, t('ctl_vehicle_choose'))),
    h('button', { type: 'button', class: 'wide big scan-button', disabled: !vehicle, onclick: () => go('#/scan') }, t('ctl_scan_ticket')),
    ed25519 ? null : h('div', { class: 'problem', role: 'status' }, h('p', {}, t(online() ? 'ctl_no_ed25519_online' : 'ctl_no_ed25519_offline'))),
    h('div', { class: 'card soft' },
      h('h2', {}, t('ctl_device_title')),
      h('dl', { class: 'facts device-facts' },
        h('dt', {}, t('ctl_keys')), h('dd', {}, keysAt ? t('ctl_keys_at', { n: device.state.keyCount(), time: dateTime(new Date(keysAt).toISOString()) }) : t('ctl_keys_none')),
        h('dt', {}, t('ctl_invalidated')), h('dd', {}, String(invalidated)),
        h('dt', {}, t('ctl_pending')), h('dd', { id: 'pending' }, String(shift.pending))),
      h('button', { type: 'button', class: 'secondary wide', disabled: !online(), onclick: syncNow }, t('ctl_sync_now'))),
    h('button', { type: 'button', class: 'secondary wide', onclick: () => go('#/shift') }, t('ctl_shift_open', { n: shift.checked })),
    languageButtons(chooseLanguage),
    h('button', { type: 'button', class: 'secondary wide', onclick: signOut }, t('staff_signout')));
}

/// The transport code a scanned sticker names (the passenger-app link `…/?bus=<code>`).
export function stickerBus(text) {
  const plain = String(text).trim();
  if (/^\d{3,8}$/.test(plain)) return plain;
  try { return new URL(plain).searchParams.get('bus'); } catch { return null; }
}

/// Choosing the vehicle: typed, the sticker, or the controller's location.
export function vehicleScreen({ go }) {
  const message = h('div', { 'aria-live': 'polite' });
  const say = (text, kind = 'problem') => message.replaceChildren(h('div', { class: kind, role: kind === 'problem' ? 'alert' : 'status' }, h('p', {}, text)));
  let cam = null;
  const choose = (v, how) => {
    cam?.stop();
    device.state.setVehicle(v);
    setTimeZone(v.timezone);
    go('#/', { notice: t(how, { code: v.transport_code, route: v.route_number }) });
  };
  const pick = (text, how) => {
    const v = device.findVehicle(text);
    if (v) choose(v, how);
    else say(t(device.state.vehicles().length ? 'ctl_vehicle_unknown' : 'ctl_vehicle_list_empty', { text }));
    return Boolean(v);
  };
  const input = h('input', { id: 'vehicle-text', type: 'text', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters', required: true });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); pick(input.value, 'ctl_vehicle_chosen'); } },
    h('div', { class: 'field' }, h('label', { for: 'vehicle-text' }, t('ctl_vehicle_input')), input,
      h('p', { class: 'hint' }, t('ctl_vehicle_input_hint'))),
    h('button', { type: 'submit', class: 'wide big' }, t('ctl_vehicle_submit')));
  const stickerBox = h('div', {});
  const sticker = h('button', { type: 'button', class: 'secondary wide', onclick: () => {
    cam = camera({ label: t('ctl_sticker_scan'), onText: (text) => {
      const bus = stickerBus(text);
      if (!bus) { say(t('ctl_sticker_not_ours')); return false; }
      return pick(bus, 'ctl_vehicle_chosen');
    } });
    stickerBox.replaceChildren(cam.view);
  } }, t('ctl_sticker_scan'));
  const locate = h('button', { type: 'button', class: 'secondary wide', onclick: () => {
    if (!online()) { say(t('ctl_location_offline')); return; }
    if (!navigator.geolocation) { say(t('ctl_location_unavailable')); return; }
    say(t('ctl_location_finding'), 'ok');
    navigator.geolocation.getCurrentPosition(async (position) => {
      const here = { lat: position.coords.latitude, lon: position.coords.longitude };
      const mine = new Map(device.state.vehicles().map((v) => [v.transport_code, v]));
      const cities = [...new Set(device.state.vehicles().map((v) => v.city))];
      let best = null;
      try {
        for (const city of cities) {
          const response = await fetch(`/v1/live/${encodeURIComponent(city)}/vehicles`, { headers: { Accept: 'application/json' } });
          if (!response.ok) continue;
          for (const live of (await response.json()).vehicles) {
            if (!live.transport_code || !mine.has(live.transport_code) || Date.now() - live.at_ms > LIVE_FRESH_MS) continue;
            const distance = distanceM(here, live);
            if (distance <= NEAR_M_MAX && (!best || distance < best.distance)) best = { vehicle: mine.get(live.transport_code), distance };
          }
        }
      } catch { say(t('ctl_location_offline')); return; }
      if (best) choose(best.vehicle, 'ctl_vehicle_located');
      else say(t('ctl_location_none', { m: NEAR_M_MAX }));
    }, () => say(t('ctl_location_denied')), { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  } }, t('ctl_location'));
  const screen = h('section', {},
    h('h1', {}, t('ctl_vehicle_title')), form, message, sticker, stickerBox, locate,
    h('button', { type: 'button', class: 'secondary wide', onclick: () => { cam?.stop(); go('#/'); } }, t('ctl_back')));
  screen.cleanup = () => cam?.stop();
  return screen;
}

/// The facts of a ticket, from the phone's claims or the server's answer.
function facts(f) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  // A category added after this app was built shows as its code.
  const rider = `ctl_rider_${f.category}` in MESSAGES.en ? t(`ctl_rider_${f.category}`) : f.category;
  return h('dl', { class: 'facts verdict-facts' },
    row(t('ctl_fact_route'), f.route),
    row(t('ctl_fact_vehicle'), f.plate ? `${f.vehicle} · ${f.plate}` : f.vehicle),
    row(t('ctl_fact_fare'), `${money({ tiyn: f.fareTiyn })} · ${rider}`),
    row(t('ctl_fact_bought'), dateTime(f.boughtAt)),
    row(t('ctl_fact_until'), dateTime(f.validUntil)),
    row(t('ctl_fact_check'), f.checkNumber));
}

export function factsOfClaims(claims) {
  const plate = device.state.vehicles().find((v) => v.transport_code === claims.vehicle)?.plate ?? '';
  return {
    route: claims.route, vehicle: claims.vehicle, plate, fareTiyn: claims.amountTiyn, category: claims.riderCategory,
    boughtAt: new Date(claims.issuedAt * 1000).toISOString(), validUntil: new Date(claims.notAfter * 1000).toISOString(),
    checkNumber: claims.checkNumber,
  };
}

export function factsOfServer(ticket) {
  return {
    route: ticket.route_number, vehicle: ticket.transport_code, plate: ticket.plate, fareTiyn: ticket.fare.tiyn,
    category: ticket.rider_category, boughtAt: ticket.bought_at, validUntil: ticket.valid_until, checkNumber: ticket.check_number,
  };
}

/// The words of a sharing flag.
export function flagText(answer) {
  const earlier = answer.flagged_because_of;
  const where = earlier ? t('ctl_flag_earlier', { code: earlier.transport_code, time: time(earlier.at) }) : '';
  return `${t(`ctl_flag_${answer.flag_reason}`)}${where ? ` ${where}` : ''}`;
}

/// The full-screen verdict. `flags` is filled in when the sync's answer comes.
/// What the holder form asks for, by the kind of holder the ticket is bound to: the number it
/// was bought from, or the transport card that paid (shown in the passenger's app).
const HOLDER_ASKS = {
  phone: { id: 'holder-phone', type: 'tel', inputmode: 'tel', read: device.phoneE164, words: 'ctl_holder' },
  card: { id: 'holder-card', type: 'text', inputmode: 'numeric', read: device.cardDigits, words: 'ctl_holder_card' },
};

/// Asks for the holder the ticket is bound to, and says whether the passenger's answer is it.
function holderForm(claims) {
  const kind = claims.holder.kind;
  const ask = HOLDER_ASKS[kind];
  if (!ask) return null;
  const input = h('input', { id: ask.id, type: ask.type, inputmode: ask.inputmode, autocomplete: 'off' });
  const answer = h('p', { class: 'holder-answer', 'aria-live': 'polite' });
  const form = h('form', { class: 'holder', dataset: { holderKind: kind }, onsubmit: async (e) => {
    e.preventDefault();
    const value = ask.read(input.value);
    if (!value) { answer.textContent = t(`${ask.words}_bad`); answer.dataset.holder = ''; return; }
    const result = await device.holderOf(claims, { kind, value });
    answer.dataset.holder = result;
    answer.textContent = t(`${ask.words}_${result}`);
  } },
  h('label', { for: ask.id }, t(`${ask.words}_label`)),
  h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'secondary' }, t('ctl_holder_check'))),
  answer);
  return h('details', { class: 'holder-box' }, h('summary', {}, t(`${ask.words}_open`)), form);
}

export function verdictScreen({ verdict, facts: f, how, onNext, onDone, claims = null }) {
  const valid = verdict === 'VALID';
  // Not checked at all (no Ed25519 and no network) is neither valid nor invalid.
  const unchecked = verdict === 'UNCHECKED';
  const word = t(valid ? 'ctl_valid' : unchecked ? 'ctl_unchecked' : 'ctl_not_valid');
  const flags = h('div', { class: 'flags', 'aria-live': 'polite' });
  const next = h('button', { type: 'button', class: 'wide big next', onclick: onNext }, t('ctl_next'));
  const look = valid ? 'is-valid' : unchecked ? 'is-unchecked' : 'is-invalid';
  const screen = h('section', { class: `verdict ${look}`, role: 'alert', 'aria-labelledby': 'verdict-word' },
    // As large as the word fits the phone's width (НЕДЕЙСТВИТЕЛЕН is twice ЖАРАМДЫ).
    h('p', { class: 'verdict-word', id: 'verdict-word', style: { fontSize: `min(4rem, calc((100vw - 32px) / ${(0.92 * word.length).toFixed(2)}))` } }, word),
    valid || unchecked ? null : h('p', { class: 'verdict-reason', dataset: { reason: verdict } }, t(`ctl_reason_${verdict}`)),
    h('p', { class: 'verdict-how' }, t(how)),
    f ? facts(f) : null,
    flags,
    claims ? holderForm(claims) : null,
    next,
    h('button', { type: 'button', class: 'wide secondary done', onclick: onDone }, t('ctl_done')));
  screen.dataset.verdict = verdict;
  screen.showFlag = (answer) => {
    if (!answer?.flag_reason) return;
    flags.replaceChildren(h('div', { class: 'flag', role: 'status' }, h('p', {}, flagText(answer))));
  };
  queueMicrotask(() => next.focus());
  return screen;
}

/// The scanner: the camera, or the code typed from a broken screen.
export function scanScreen({ go, onToken, justChecked }) {
  const vehicle = device.state.vehicle();
  const cam = camera({ label: t('ctl_scan_title'), onText: (text, at) => {
    if (justChecked(text)) return false;
    onToken(text, at);
    return true;
  } });
  const typed = h('textarea', { id: 'typed-token', rows: '3', autocapitalize: 'none', spellcheck: 'false', autocomplete: 'off' });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); if (typed.value.trim()) { cam.stop(); onToken(typed.value.trim(), performance.now()); } } },
    h('div', { class: 'field' }, h('label', { for: 'typed-token' }, t('ctl_typed')), typed, h('p', { class: 'hint' }, t('ctl_typed_hint'))),
    h('button', { type: 'submit', class: 'wide secondary' }, t('ctl_typed_check')));
  const screen = h('section', {},
    h('h1', {}, t('ctl_scan_title')),
    h('p', { class: 'muted' }, t('ctl_scan_in', { code: vehicle?.transport_code ?? '', route: vehicle?.route_number ?? '' })),
    cam.view,
    h('details', { class: 'card' }, h('summary', {}, t('ctl_typed_open')), form),
    h('button', { type: 'button', class: 'secondary wide', onclick: () => { cam.stop(); go('#/'); } }, t('ctl_back')));
  screen.cleanup = () => cam.stop();
  return screen;
}

function counts(map, prefix) {
  const entries = Object.entries(map);
  if (!entries.length) return h('p', { class: 'muted' }, t('ctl_shift_none'));
  return h('ul', { class: 'list' }, entries.map(([code, n]) => h('li', { dataset: { code } }, `${t(`${prefix}${code}`)} — ${n}`)));
}

/// The shift: from the phone's queue, and the server's count while online.
export function shiftScreen({ go, redraw }) {
  const s = device.shiftSummary();
  const server = h('div', { 'aria-live': 'polite' });
  const invalidTotal = Object.values(s.invalid).reduce((a, b) => a + b, 0);
  const flagTotal = Object.values(s.flags).reduce((a, b) => a + b, 0);
  if (online()) {
    staffApi(`/v1/controller/shift?since_ms=${s.since}`).then(({ data }) => {
      server.replaceChildren(h('div', { class: 'card soft' }, h('h2', {}, t('ctl_shift_server')),
        h('p', { id: 'server-shift' }, t('ctl_shift_server_counts', { checked: data.checked, invalid: data.invalid, flagged: data.flagged }))));
    }).catch((error) => server.replaceChildren(problemView(error)));
  } else server.replaceChildren(h('p', { class: 'muted' }, t('ctl_shift_server_offline')));
  return h('section', {},
    h('h1', {}, t('ctl_shift_title')),
    h('p', { class: 'muted' }, t('ctl_shift_since', { time: dateTime(new Date(s.since).toISOString()) })),
    h('div', { class: 'card' },
      h('dl', { class: 'facts shift-facts' },
        h('dt', {}, t('ctl_shift_checked')), h('dd', { id: 'shift-checked' }, String(s.checked)),
        h('dt', {}, t('ctl_shift_invalid')), h('dd', { id: 'shift-invalid' }, String(invalidTotal)),
        h('dt', {}, t('ctl_shift_flagged')), h('dd', { id: 'shift-flagged' }, String(flagTotal)),
        h('dt', {}, t('ctl_pending')), h('dd', {}, String(s.pending)))),
    h('h2', {}, t('ctl_shift_by_reason')), counts(s.invalid, 'ctl_reason_'),
    h('h2', {}, t('ctl_shift_flags')), counts(s.flags, 'ctl_flagname_'),
    server,
    h('button', { type: 'button', class: 'secondary wide', onclick: () => { device.startShift(); redraw(); } }, t('ctl_shift_new')),
    h('button', { type: 'button', class: 'wide', onclick: () => go('#/') }, t('ctl_back')));
}
