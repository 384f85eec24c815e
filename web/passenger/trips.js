// Trip details (every ride, newest first, a page at a time, with the ticket's facts and check
// number) and the feedback on a ride: the service and the vehicle rated 1–5, a complaint's
// category and a comment, sent to the carrier of that bus.
import { t, count, money, dateTime } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { h, problemView, field } from '../lib/ui.js';
import { go } from './app.js';

const PAGE = 10;
const CATEGORIES = ['driver', 'cleanliness', 'late', 'overcrowded', 'fare', 'other'];

/// A ride's state in the passenger's words: valid, ended (its bus reached the final stop, or
/// its time ran out), revoked, refunded.
function statusText(tk) {
  if (tk.valid) return t('status_valid');
  if (tk.status === 'valid') return t('status_expired');
  return ['ended', 'revoked', 'refunded'].includes(tk.status) ? t(`status_${tk.status}`) : tk.status;
}

export function render(main) {
  const list = h('ul', { class: 'list', id: 'trips' });
  const more = h('button', { class: 'wide secondary', type: 'button', hidden: true }, t('trips_more'));
  const status = h('div', { 'aria-live': 'polite' });
  main.append(h('h1', {}, t('trips_title')), status, list, more);
  let cursor = null;
  let rated = new Set();
  const load = async () => {
    more.disabled = true;
    try {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) q.set('cursor', cursor);
      const [{ data }, given] = await Promise.all([api(`/v1/tickets/history?${q}`), cursor ? null : api('/v1/feedback')]);
      if (given) rated = new Set(given.data.ticket_numbers);
      for (const tk of data.tickets) {
        list.append(h('li', { dataset: { ticket: tk.number } },
          h('div', { class: 'row' }, h('strong', {}, t('ticket_route', { number: tk.route_number }), ' · ', tk.plate), h('span', { style: { textAlign: 'right' } }, money(tk.fare))),
          h('p', { class: 'muted' }, dateTime(tk.issued_at), ' · ', statusText(tk)),
          h('p', { class: 'muted' }, t('ticket_check'), ': ', tk.check_number),
          rated.has(tk.number) ? h('p', { class: 'ok' }, t('trip_rated'))
            : h('a', { class: 'button secondary', href: `#/feedback/${tk.number}` }, t('trip_rate'))));
      }
      if (!list.children.length) status.replaceChildren(h('p', {}, t('trips_none')));
      cursor = data.next_cursor ?? null;
      more.hidden = !cursor;
    } catch (error) {
      status.replaceChildren(problemView(error));
    } finally { more.disabled = false; }
  };
  more.addEventListener('click', load);
  load();
}

function stars(name, onPick) {
  const group = h('div', { class: 'stars', role: 'group', 'aria-labelledby': `${name}-label` });
  for (let n = 1; n <= 5; n++) {
    group.append(h('button', { type: 'button', 'aria-pressed': 'false', 'aria-label': count('feedback_stars', n), dataset: { stars: n },
      onclick: () => {
        for (const b of group.children) b.setAttribute('aria-pressed', String(Number(b.dataset.stars) <= n));
        onPick(n);
      } }, '★'));
  }
  return h('div', { class: 'field' }, h('span', { class: 'label', id: `${name}-label` }, t(`feedback_${name}`)), group);
}

export function feedback(main, [number]) {
  const ratings = { service: 0, vehicle: 0 };
  const category = h('select', {}, h('option', { value: '' }, t('cat_none')), CATEGORIES.map((c) => h('option', { value: c }, t(`cat_${c}`))));
  const comment = h('textarea', { maxlength: '1000' });
  const result = h('div', { 'aria-live': 'polite' });
  const send = h('button', { class: 'wide big', type: 'submit' }, t('feedback_send'));
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    if (!ratings.service || !ratings.vehicle) { result.replaceChildren(h('p', { class: 'problem', role: 'alert' }, t('feedback_need_rating'))); return; }
    send.disabled = true;
    try {
      await api('/v1/feedback', { method: 'POST', body: { ticket_number: Number(number), service_rating: ratings.service, vehicle_rating: ratings.vehicle,
        category: category.value || null, comment: comment.value } });
      form.replaceWith(h('p', { class: 'ok', role: 'status', id: 'feedback-thanks' }, t('feedback_thanks')),
        h('a', { class: 'button wide secondary', href: '#/trips' }, t('back')));
    } catch (error) {
      send.disabled = false;
      result.replaceChildren(problemView(error));
    }
  } },
  stars('service', (n) => { ratings.service = n; }), stars('vehicle', (n) => { ratings.vehicle = n; }),
  field('category', t('feedback_category'), category), field('comment', t('feedback_comment'), comment), send, result);
  main.append(h('h1', {}, t('feedback_title')), h('p', { class: 'muted' }, t('ticket_number', { n: number })), form,
    h('button', { class: 'wide secondary', type: 'button', onclick: () => go('#/trips') }, t('back')));
}
