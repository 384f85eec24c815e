// Valid tickets: each a large QR (the signed token) with the route, plate, fare, when it was
// bought and how long it has been running, a moving band and today's colour (a screenshot
// looks different). The list is kept on the phone (localStorage) and shown with no network;
// when the phone is online again the server's list replaces it, so an ended ticket goes.
import qrcode from '/vendor/qrcode-generator/dist/qrcode.mjs';
import { t, count, money, time, weekday } from '../lib/i18n.js';
import { api, session } from '../lib/api.js';
import { h, problemView } from '../lib/ui.js';

const KEY = 'smsbus.tickets';
const PALETTE = ['#0b5cad', '#9d174d', '#166534', '#7c2d12', '#5b21b6', '#0f766e', '#1e3a8a'];

/// Today's colour: one of seven dark colours, changing every day.
export function todayColour(now = new Date()) {
  const day = Math.floor((now.getTime() + 5 * 3600_000) / 86_400_000);
  return PALETTE[day % PALETTE.length];
}

export function stored() {
  try {
    const all = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return all.filter((tk) => Date.parse(tk.valid_until) > Date.now());
  } catch { return []; }
}

export function store(list) {
  localStorage.setItem(KEY, JSON.stringify(list));
  refreshBadge();
}

export function remember(ticket) {
  store([ticket, ...stored().filter((tk) => tk.number !== ticket.number)]);
}

export function refreshBadge() {
  const badge = document.getElementById('ticket-badge');
  if (!badge) return;
  const n = session() ? stored().length : 0;
  badge.hidden = n === 0;
  badge.textContent = String(n);
  badge.setAttribute('aria-label', count('tickets_count', n));
}

/// The server's list, or none when there is no network.
export async function fetchValid() {
  try {
    const { data } = await api('/v1/tickets/valid');
    store(data.tickets);
    return { tickets: data.tickets, offline: false };
  } catch (error) {
    if (error.status === 0) return { tickets: stored(), offline: true };
    throw error;
  }
}

function qrSvg(token) {
  const qr = qrcode(0, 'M');
  qr.addData(token);
  qr.make();
  return qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true, alt: t('ticket_qr') });
}

function running(since) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/// A card's 16 digits in groups of four, as the card screen shows them.
const grouped = (digits) => String(digits).replace(/(\d{4})(?=\d)/g, '$1 ');

export function ticketCard(tk) {
  const qr = h('div', { class: 'qr', role: 'img', 'aria-label': t('ticket_qr') });
  qr.innerHTML = qrSvg(tk.token);
  qr.querySelector('svg')?.setAttribute('aria-hidden', 'true');
  const clock = h('span', { class: 'running', dataset: { since: tk.issued_at } }, running(tk.issued_at));
  return h('article', { class: 'ticket', dataset: { ticket: tk.number }, 'aria-label': t('ticket_number', { n: tk.number }) },
    h('div', { class: 'band' }, h('span', { class: 'route' }, tk.route_number), h('span', {}, t('ticket_valid')), h('span', {}, money(tk.fare), tk.fare_basis && tk.fare_basis !== 'full' ? ` · ${t(`ticket_basis_${tk.fare_basis}`)}` : '')),
    h('div', { class: 'live', 'aria-hidden': 'true' }),
    qr,
    h('div', { class: 'body' },
      h('dl', { class: 'facts' },
        h('dt', {}, t('ticket_plate')), h('dd', { class: 'plate' }, tk.plate),
        h('dt', {}, t('ticket_bought')), h('dd', {}, time(tk.issued_at)),
        h('dt', {}, t('ticket_running')), h('dd', {}, clock),
        h('dt', {}, t('ticket_check')), h('dd', {}, tk.check_number),
        // A card's ticket is bound to the card: its number is what a controller in doubt asks.
        ...(tk.holder?.kind === 'card' ? [h('dt', {}, t('ticket_card')), h('dd', { class: 'holder-card' }, grouped(tk.holder.card))] : []),
        h('dt', {}, t('ticket_today')), h('dd', {}, h('span', { class: 'today-chip', 'aria-hidden': 'true' }), ' ', weekday())),
      tk.ordinal_on_vehicle > 1 ? h('p', {}, t('ticket_ordinal', { n: tk.ordinal_on_vehicle })) : null,
      tk.holder?.kind === 'card' ? h('p', { class: 'hint' }, t('ticket_card_hint')) : null,
      h('p', { class: 'hint' }, t('ticket_valid_until'))));
}

export function render(main) {
  document.documentElement.style.setProperty('--today', todayColour());
  const list = h('div', { id: 'tickets' });
  const status = h('div', { 'aria-live': 'polite' });
  main.append(h('h1', {}, t('tickets_title')), status, list);
  const show = (tickets, offline) => {
    status.replaceChildren(...[
      offline ? h('p', { class: 'ok' }, t('tickets_offline')) : null,
      h('p', { class: 'muted' }, count('tickets_count', tickets.length))].filter(Boolean));
    list.replaceChildren(...(tickets.length ? tickets.map(ticketCard) : [h('p', {}, t('tickets_none'))]));
  };
  show(stored(), !navigator.onLine);
  const refresh = () => fetchValid().then(({ tickets, offline }) => show(tickets, offline)).catch((e) => status.replaceChildren(problemView(e)));
  refresh();
  const timer = setInterval(() => {
    for (const el of list.querySelectorAll('.running')) el.textContent = running(el.dataset.since);
    if (stored().length !== list.querySelectorAll('.ticket').length && !navigator.onLine) show(stored(), true);
  }, 1000);
  window.addEventListener('online', refresh);
  return () => { clearInterval(timer); window.removeEventListener('online', refresh); };
}
