// The carrier's dashboard (desktop): its rides and revenue with charts (the shared report
// view, restricted to its carrier by the server), the feedback of its vehicles as it arrives
// (polled) with replies to the passenger by SMS and a status, its vehicles (add, suspend,
// put back, move to another route) and the QR stickers to print.
import { t, count, dateTime } from '../lib/i18n.js';
import { h, field, problemView } from '../lib/ui.js';
import { staffApi } from '../lib/staff.js';
import { startDesk } from '../lib/desk.js';
import { reportView } from '../lib/reports.js';

/// How often the feedback list asks for new feedback.
const FEEDBACK_POLL_MS = 5000;
let poll = null;

const carrierOf = (who) => who.carriers?.[0];

function dashboard(main, who) {
  main.append(h('h1', {}, t('cr_nav_dashboard')), reportView({ carrier: carrierOf(who) }));
}

const STATUSES = ['new', 'in_work', 'resolved'];

function feedbackCard(f, carrier, redraw) {
  const status = h('select', { onchange: async () => {
    try {
      const { data } = await staffApi(`/v1/carriers/${carrier}/feedback/${f.id}/status`, { method: 'POST', body: { status: status.value } });
      redraw(data);
    } catch (error) { card.append(problemView(error)); }
  } }, STATUSES.map((s) => h('option', { value: s, selected: s === f.status }, t(`fb_status_${s}`))));
  const text = h('textarea', { maxlength: '300', required: true });
  const send = h('button', { type: 'submit' }, t('fb_reply_send'));
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    send.disabled = true;
    try {
      const { data } = await staffApi(`/v1/carriers/${carrier}/feedback/${f.id}/reply`, { method: 'POST', body: { text: text.value } });
      redraw(data);
    } catch (error) { send.disabled = false; card.append(problemView(error)); }
  } }, field(`fb-reply-${f.id}`, t('fb_reply'), text, t('fb_reply_hint')), send);
  const card = h('article', { class: 'feedback', dataset: { id: f.id, status: f.status } },
    h('div', { class: 'row' },
      h('strong', {}, f.category ? t(`cat_${f.category}`) : t('cat_none')),
      h('span', { class: 'meta' }, t('fb_ticket', { n: f.ticket_number })),
      h('span', { class: 'meta' }, t('fb_route', { route: f.route_number, code: f.transport_code })),
      h('span', { class: 'meta' }, dateTime(f.created_at)),
      field(`fb-status-${f.id}`, t('fb_status'), status)),
    h('p', { class: 'meta' }, `${t('fb_service', { n: f.service_rating })} · ${t('fb_vehicle', { n: f.vehicle_rating })}`),
    f.comment ? h('p', { dataset: { userText: '' } }, f.comment) : h('p', {}, t('fb_no_comment')),
    f.replies.length ? h('div', { class: 'replies' }, f.replies.map((r) => h('p', {}, `${dateTime(r.created_at)} · ${r.author}: `, h('q', { dataset: { userText: '' } }, r.text)))) : null,
    form);
  return card;
}

function feedback(main, who) {
  const carrier = carrierOf(who);
  const list = h('div', { class: 'feedback-list', 'aria-live': 'polite' });
  const counter = h('p', { class: 'muted', dataset: { count: '' } });
  const shown = new Map();
  const place = (f) => {
    const old = shown.get(f.id);
    const card = feedbackCard(f, carrier, place);
    shown.set(f.id, { f, card });
    if (old) old.card.replaceWith(card);
    else {
      const newer = [...list.children].find((c) => Number(c.dataset.id) < f.id);
      list.insertBefore(card, newer ?? null);
    }
    const fresh = [...shown.values()].filter((x) => x.f.status === 'new').length;
    counter.textContent = `${t('fb_live')} ${count('fb_new_count', fresh)}`;
  };
  const load = async () => {
    try {
      const { data } = await staffApi(`/v1/carriers/${carrier}/feedback?limit=50`);
      if (!data.feedback.length && !shown.size) list.replaceChildren(h('p', { class: 'muted' }, t('fb_none')));
      // A card being typed into is left alone; new feedback is added above.
      for (const f of data.feedback.reverse()) {
        const old = shown.get(f.id);
        if (!old) { if (!shown.size) list.replaceChildren(); place(f); }
        else if (old.f.status !== f.status || old.f.replies.length !== f.replies.length) {
          if (!old.card.contains(document.activeElement)) place(f);
        }
      }
    } catch (error) {
      list.replaceChildren(problemView(error));
    }
  };
  main.append(h('h1', {}, t('fb_title')), counter, list);
  load();
  clearInterval(poll);
  poll = setInterval(() => { if (document.body.contains(list)) load(); else clearInterval(poll); }, FEEDBACK_POLL_MS);
}

async function cityRoutes(city) {
  const { data } = await staffApi('/v1/cities');
  return data.cities.find((c) => c.id === city)?.routes ?? [];
}

function routeSelect(routes, selected, id) {
  return h('select', { id, dataset: { userText: '' } }, routes.map((r) => h('option', { value: r.id, selected: r.id === selected }, `№${r.number} ${r.name}`)));
}

async function vehicles(main, who) {
  const carrier = carrierOf(who);
  const note = h('div', { 'aria-live': 'polite' });
  const body = h('div');
  main.append(h('h1', {}, t('veh_title')), note, body);
  const change = async (path, bodyJson, then) => {
    try {
      const { data } = await staffApi(`/v1/carriers/${carrier}/vehicles${path}`, { method: 'POST', body: bodyJson });
      note.replaceChildren(h('p', { class: 'ok', role: 'status' }, then(data)));
      draw();
    } catch (error) { note.replaceChildren(problemView(error)); }
  };
  const stateText = (v) => (v.active ? t('veh_active') : t('veh_suspended'));
  const draw = async () => {
    let data; let routes;
    try {
      ({ data } = await staffApi(`/v1/carriers/${carrier}/vehicles`));
      routes = await cityRoutes(data.city);
    } catch (error) { body.replaceChildren(problemView(error)); return; }
    const number = (id) => routes.find((r) => r.id === id)?.number ?? id;
    const said = (v) => t('veh_changed', { code: v.transport_code, state: stateText(v), route: number(v.route) });
    const rows = data.vehicles.map((v) => {
      const move = routeSelect(routes, v.route, `move-${v.transport_code}`);
      move.setAttribute('aria-label', t('veh_move_to', { code: v.transport_code }));
      return h('tr', { dataset: { code: v.transport_code } },
        h('th', { scope: 'row' }, v.transport_code),
        h('td', {}, v.plate),
        h('td', {}, `№${number(v.route)}`),
        h('td', { class: v.active ? 'state-active' : 'state-suspended' }, stateText(v)),
        h('td', {}, h('div', { class: 'row' },
          v.active
            ? h('button', { type: 'button', class: 'secondary', dataset: { action: 'suspend' }, onclick: () => change(`/${v.transport_code}/suspend`, undefined, said) }, t('veh_suspend'))
            : h('button', { type: 'button', dataset: { action: 'resume' }, onclick: () => change(`/${v.transport_code}/resume`, undefined, said) }, t('veh_resume')),
          move,
          h('button', { type: 'button', class: 'secondary', dataset: { action: 'move' }, onclick: () => change(`/${v.transport_code}/move`, { route: move.value }, said) }, t('veh_move')),
          h('a', { class: 'button secondary', href: `/v1/carriers/${carrier}/stickers?vehicle=${v.transport_code}`, target: '_blank', rel: 'noopener' }, t('veh_sticker')))));
    });
    const code = h('input', { type: 'text', inputmode: 'numeric', required: true, pattern: '[0-9]{4,6}' });
    const plate = h('input', { type: 'text', required: true });
    const route = routeSelect(routes, routes[0]?.id, 'veh-new-route');
    const add = h('form', { class: 'filters card', onsubmit: (e) => {
      e.preventDefault();
      change('', { transport_code: code.value.trim(), plate: plate.value.trim(), route: route.value }, (v) => t('veh_added', { code: v.transport_code }));
    } },
    field('veh-new-code', t('veh_code'), code), field('veh-new-plate', t('veh_plate'), plate),
    h('div', { class: 'field' }, h('label', { for: 'veh-new-route' }, t('veh_route')), route),
    h('button', { type: 'submit' }, t('veh_add_submit')));
    body.replaceChildren(
      h('p', { class: 'muted' }, h('span', { dataset: { userText: '' } }, data.name), ` · ${count('veh_count', data.vehicles.length)}`),
      h('table', { class: 'data vehicles' },
        h('thead', {}, h('tr', {}, [t('veh_code'), t('veh_plate'), t('veh_route'), t('veh_state'), ''].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, rows)),
      h('h2', {}, t('veh_add')), add);
  };
  draw();
}

function stickers(main, who) {
  const carrier = carrierOf(who);
  main.append(
    h('h1', {}, t('st_title')),
    h('p', { class: 'muted' }, t('st_hint')),
    h('div', { class: 'row actions no-print' },
      h('button', { type: 'button', onclick: () => window.print() }, t('st_print')),
      h('a', { class: 'button secondary', href: `/v1/carriers/${carrier}/stickers?format=pdf`, download: '', dataset: { action: 'stickers-pdf' } }, t('st_pdf')),
      h('a', { class: 'button secondary', href: `/v1/carriers/${carrier}/stickers`, target: '_blank', rel: 'noopener' }, t('st_svg'))),
    h('div', { class: 'stickers-preview' }, h('img', { src: `/v1/carriers/${carrier}/stickers`, alt: t('st_preview', { name: carrier }) })));
}

startDesk({
  title: 'cr_title',
  roles: ['carrier'],
  sections: [
    { id: 'dashboard', label: 'cr_nav_dashboard', draw: dashboard },
    { id: 'feedback', label: 'fb_title', draw: feedback },
    { id: 'vehicles', label: 'cr_nav_vehicles', draw: vehicles },
    { id: 'stickers', label: 'cr_nav_stickers', draw: stickers },
  ],
});
