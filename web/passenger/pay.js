// Paying a ride: by the transport code or plate typed, by the bus's QR (the sticker links to
// /?bus=<code>, or the in-app scanner reads it), by automatic detection (location fixes sent
// to the server's detection: "You are on bus 10, 101 ABC 01 — pay 90 ₸?", a short list when
// it is not sure), or from the map. The fare and its source are shown before paying; one tap
// pays; companions get a ticket each; every refusal says what happened and what to do. The
// source is the phone balance or one of the passenger's cards (each with its own fare), the
// last one used chosen again; a card that cannot pay says why and offers the others.
import { t, count, money } from '../lib/i18n.js';
import { api, newKey } from '../lib/api.js';
import { h, problemView, field, maskPhone } from '../lib/ui.js';
import { state, go } from './app.js';
import { remember } from './tickets.js';
import { openScanner } from './scan.js';
import { riderName } from './cards.js';

const quotes = new Map();

async function quoteFor(code, zone) {
  const key = `${code}|${zone ?? ''}`;
  if (!quotes.has(key)) {
    const q = new URLSearchParams(/^\d+$/.test(code.replace(/\s/g, '')) ? { transport_code: code.replace(/\s/g, '') } : { plate: code });
    if (zone) q.set('zone', zone);
    quotes.set(key, api(`/v1/rides/quote?${q}`).then((r) => r.data).catch((e) => { quotes.delete(key); throw e; }));
  }
  return quotes.get(key);
}

async function waitForRide(rideId) {
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const { status, data } = await api(`/v1/rides/${encodeURIComponent(rideId)}`);
    if (status === 200 && data.token) return data;
    if (data.status === 'failed') throw Object.assign(new Error(data.message), { status: 409, problem: data, code: data.code });
  }
  throw Object.assign(new Error('pending'), { status: 202, problem: { message: t('pay_pending') }, code: 'PAYMENT_PENDING' });
}

/// The source remembered from the last payment (`phone` or a card number), if this quote
/// offers it and it can pay; else the phone balance.
const SOURCE_KEY = 'smsbus.source';
function rememberedSource(quote) {
  const remembered = localStorage.getItem(SOURCE_KEY) || 'phone';
  return quote.cards?.some((c) => c.number === remembered && !c.refusal) ? remembered : 'phone';
}

/// Who pays each passenger's ticket: the holder's from the chosen source; companions from the
/// same card only when it is a regular one (a preferential or pupil's fare is the holder's
/// alone), else from the phone balance at the regular fare.
function plan(quote, source, passengers) {
  const card = quote.cards?.find((c) => c.number === source) ?? null;
  const companionsOnCard = card !== null && card.rider_category === 'regular';
  const fare = card ? card.fare : quote.fare;
  const companionFare = companionsOnCard ? card.fare : quote.fare;
  return {
    card,
    companionsOnCard,
    total: { tiyn: Number(fare.tiyn) + Number(companionFare.tiyn) * (passengers - 1) },
    fare,
  };
}

/// Pays `passengers` rides on the quoted bus, one ticket each; the first is the holder's,
/// the others are asked for on purpose (`additional`). Keys are kept for the attempt, so a
/// repeated tap after a lost answer is never a second charge.
async function payRides(quote, passengers, additional, keys, source) {
  const issued = [];
  const { card, companionsOnCard } = plan(quote, source, passengers);
  for (let i = 0; i < passengers; i++) {
    keys[i] ??= newKey();
    const body = { transport_code: quote.transport_code, additional: additional || i > 0 };
    if (quote.zone) body.zone = quote.zone;
    if (card && (i === 0 || companionsOnCard)) body.card = card.number;
    const { status, data } = await api('/v1/rides', { method: 'POST', body, headers: { 'Idempotency-Key': keys[i] } });
    const ticket = status === 202 ? await waitForRide(data.ride_id) : data;
    remember(ticket);
    issued.push(ticket);
  }
  return issued;
}

/// The sources a ride can be paid from: the phone balance and each active card with its own
/// fare; a card that cannot pay says why and cannot be picked.
function sourcePicker(quote, chosen, onPick) {
  const name = `source-${quote.transport_code}`;
  const option = (value, title, detail, fare, refusal) => {
    const input = h('input', { type: 'radio', name, value, checked: value === chosen, disabled: Boolean(refusal), onchange: () => onPick(value) });
    return h('label', { class: refusal ? 'refused' : null, dataset: { source: value } }, input,
      h('span', {}, h('strong', {}, title), ' — ', money(fare), h('br'), h('span', { class: 'small' }, detail),
        refusal ? h('span', { class: 'refusal' }, refusal.message) : null));
  };
  return h('fieldset', { class: 'sources' }, h('legend', { class: 'label' }, t('pay_sources')),
    option('phone', t('source_phone'), `${maskPhone(state.phone)} (${quote.operator})`, quote.fare, null),
    quote.cards.map((c) => option(c.number, t('source_card', { last4: c.last_four }),
      [t('source_card_holds', { kind: riderName(c.rider_category), amount: money(c.available) }), basisText(c)].filter(Boolean).join(' · '),
      c.fare, c.refusal)));
}

/// Why a card ride costs less than its fare: a transfer, or the city's daily cap.
export function basisText(priced) {
  if (priced.fare_basis === 'transfer') return t('fare_basis_transfer', { full: money(priced.full_fare) });
  if (priced.fare_basis === 'capped') return t('fare_basis_capped', { full: money(priced.full_fare) });
  return '';
}

/// The card that shows what a ride costs and pays it with one tap.
export function quoteCard(quote, { onPaid, compact = false } = {}) {
  let passengers = 1;
  let additional = false;
  let source = rememberedSource(quote);
  const keys = [];
  const out = h('output', { 'aria-live': 'polite' }, '1');
  const result = h('div', { 'aria-live': 'polite' });
  const payButton = h('button', { class: 'wide big', type: 'button', dataset: { pay: quote.transport_code } });
  const fareText = h('dd', { class: 'fare' });
  const companionsNote = h('p', { class: 'hint', hidden: true }, t('pay_companions_phone'));
  const label = () => {
    const p = plan(quote, source, passengers);
    fareText.textContent = quote.zone ? t('pay_zone_n', { zone: quote.zone, amount: money(p.fare) }) : money(p.fare);
    companionsNote.hidden = passengers === 1 || !p.card || p.companionsOnCard;
    payButton.textContent = passengers === 1 ? t('pay_button', { amount: money(p.total) })
      : t('pay_button_many', { amount: money(p.total), passengers: count('n_passengers', passengers) });
  };
  label();
  const step = (d) => { passengers = Math.min(5, Math.max(1, passengers + d)); out.textContent = String(passengers); keys.length = 0; label(); };
  const pick = (value) => { source = value; keys.length = 0; label(); };
  const pay = async () => {
    payButton.disabled = true;
    payButton.textContent = t('pay_paying');
    result.replaceChildren();
    try {
      const issued = await payRides(quote, passengers, additional, keys, source);
      localStorage.setItem(SOURCE_KEY, source);
      // A card's balance moved: the next quote reads it anew.
      quotes.clear();
      onPaid?.(issued);
      go('#/tickets');
    } catch (error) {
      payButton.disabled = false;
      label();
      result.replaceChildren(problemView(error));
      if (error.code === 'TICKET_ALREADY_BOUGHT') {
        result.append(h('button', { class: 'wide secondary', type: 'button', onclick: () => { additional = true; keys.length = 0; pay(); } }, t('pay_one_more')));
      } else if (error.code !== 'PAYMENT_PENDING') {
        keys.length = 0;
      }
    }
  };
  payButton.addEventListener('click', pay);
  const hasCards = Array.isArray(quote.cards) && quote.cards.length > 0;
  return h('section', { class: 'card', 'aria-label': t('pay_route', { number: quote.route_number }) },
    h('h2', {}, t('pay_route', { number: quote.route_number }), ' · ', quote.plate),
    compact ? null : h('p', { class: 'muted' }, quote.route_name),
    h('dl', { class: 'facts' },
      h('dt', {}, t('pay_fare')), fareText,
      hasCards ? null : [h('dt', {}, t('pay_source')), h('dd', {}, t('source_phone_balance', { phone: maskPhone(state.phone), operator: quote.operator }))]),
    hasCards ? sourcePicker(quote, source, pick) : null,
    compact ? null : h('div', {},
      h('span', { class: 'label', id: 'pax-label' }, t('pay_passengers')),
      h('div', { class: 'stepper', role: 'group', 'aria-labelledby': 'pax-label' },
        h('button', { type: 'button', class: 'secondary', 'aria-label': t('pay_passengers_less'), onclick: () => step(-1) }, '−'), out,
        h('button', { type: 'button', class: 'secondary', 'aria-label': t('pay_passengers_more'), onclick: () => step(1) }, '+')),
      h('p', { class: 'hint' }, t('pay_passengers_note')), companionsNote),
    payButton, result);
}

/// Shows the fare of a bus (asking for the zone on a zone-priced route) in `slot`.
export async function showQuote(slot, code, zone) {
  slot.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const quote = await quoteFor(code, zone);
    slot.replaceChildren(quoteCard(quote));
    slot.querySelector('button[data-pay]')?.focus();
  } catch (error) {
    const zones = error.problem?.zones;
    // The zone picker says it all for a zone fare; any other refusal says what to do.
    slot.replaceChildren(error.code === 'ZONE_REQUIRED' && Array.isArray(zones) ? h('h2', {}, t('pay_route', { number: error.problem.route_number ?? '' })) : problemView(error));
    if (error.code === 'ZONE_REQUIRED' && Array.isArray(zones)) {
      slot.append(h('p', {}, t('pay_zone')), h('div', { class: 'choice' }, zones.map((z) =>
        h('button', { type: 'button', class: 'secondary', onclick: () => showQuote(slot, code, z.zone) }, t('pay_zone_n', { zone: z.zone, amount: money(z.fare) })))));
    }
  }
}

/// Collects location fixes and asks the server's detection which bus they ride.
function detector(panel) {
  const fixes = [];
  let watch = null;
  let busy = false;
  let lastShown = '';
  const ask = async () => {
    if (busy || fixes.length === 0) return;
    busy = true;
    try {
      const { data } = await api(`/v1/live/${encodeURIComponent(state.city)}/detect`, { method: 'POST', body: { fixes: fixes.slice(-60) } });
      await show(data);
    } catch (error) {
      panel.replaceChildren(problemView(error));
    } finally { busy = false; }
  };
  const show = async (answer) => {
    // A ride leg of a journey asked for its route: that route's buses come first.
    const route = sessionStorage.getItem('smsbus.route');
    const ranked = route ? [...answer.candidates].sort((a, b) => (b.route_number === route) - (a.route_number === route)) : answer.candidates;
    const buses = answer.status === 'confident' ? [answer.bus] : ranked.slice(0, 3);
    const shown = `${answer.status}:${buses.map((b) => b.transport_code).join(',')}`;
    if (shown === lastShown) return;
    if (buses.length === 0) {
      lastShown = shown;
      panel.replaceChildren(h('p', {}, t('detect_none')));
      return;
    }
    const priced = await Promise.all(buses.map((b) => quoteFor(b.transport_code).catch(() => null)));
    lastShown = shown;
    if (answer.status === 'confident' && priced[0]) {
      const q = priced[0];
      panel.replaceChildren(h('div', { class: 'ok', role: 'status' }, h('p', { id: 'detected' }, t('detect_confident', { route: q.route_number, plate: q.plate, amount: money(plan(q, rememberedSource(q), 1).fare) }))),
        quoteCard(q, { compact: true }));
      return;
    }
    panel.replaceChildren(h('p', { role: 'status' }, t('detect_choose')), ...priced.filter(Boolean).map((q) => quoteCard(q, { compact: true })));
  };
  const startWatch = () => {
    panel.replaceChildren(h('p', { role: 'status' }, t('detect_searching')));
    watch = navigator.geolocation.watchPosition((p) => {
      fixes.push({ lat: p.coords.latitude, lon: p.coords.longitude, at_ms: Math.round(p.timestamp || Date.now()), accuracy_m: p.coords.accuracy || undefined });
      while (fixes.length && fixes.at(-1).at_ms - fixes[0].at_ms > 90_000) fixes.shift();
      ask();
    }, (error) => {
      // A fix that comes late is no reason to drop what was found; only a refusal is.
      if (error.code === error.PERMISSION_DENIED) panel.replaceChildren(h('p', {}, t('detect_denied')));
    }, { enableHighAccuracy: true, maximumAge: 2000 });
  };
  const poll = setInterval(ask, 3000);
  return { start: startWatch, stop: () => { clearInterval(poll); if (watch !== null) navigator.geolocation.clearWatch(watch); } };
}

export function render(main, [code]) {
  sessionStorage.removeItem('smsbus.bus');
  const slot = h('div', { id: 'quote' });
  const input = h('input', { type: 'text', autocomplete: 'off', autocapitalize: 'characters', value: code ?? '' });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) go(`#/pay/${encodeURIComponent(input.value.trim())}`); } },
    field('code', t('pay_code_label'), input, t('pay_code_hint')),
    h('button', { class: 'wide', type: 'submit' }, t('pay_check')));
  const detectPanel = h('div', { id: 'detect', 'aria-live': 'polite' });
  const detect = detector(detectPanel);
  const detectButton = h('button', { class: 'wide secondary', type: 'button', onclick: () => { detectButton.remove(); detect.start(); } }, t('pay_detect'));
  main.append(h('h1', {}, t('pay_title')), slot);
  // The bus found by location comes first: it is the fastest way to a ticket.
  if (!code) main.append(h('section', { 'aria-label': t('pay_detect') }, detectButton, detectPanel));
  main.append(form, h('button', { class: 'wide secondary', type: 'button', onclick: () => openScanner(main) }, t('pay_scan')));
  if (code) showQuote(slot, code);
  else if (navigator.permissions && navigator.geolocation) {
    // Location already allowed: look for the bus at once (the fastest way to a ticket).
    navigator.permissions.query({ name: 'geolocation' }).then((p) => {
      if (p.state === 'granted' && detectButton.isConnected) { detectButton.remove(); detect.start(); }
    }).catch(() => {});
  }
  return () => { detect.stop(); sessionStorage.removeItem('smsbus.route'); };
}
