// Transport cards: the passenger's cards with balance and status (#/cards); open a regular or
// a school card (#/cards/open); apply for a preferential card — the city's categories with
// their fare, who is eligible, which documents to bring — and follow each application
// (#/cards/apply); one card's balance, paged history, block and unblock, close into another
// card of the holder (#/cards/<number>). "Top up" links to #/cards/<number>/top-up, the
// acquirer's screen, which lives apart from these.
import { t, money, dateTime, day } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { h, problemView, field } from '../lib/ui.js';
import { state, go } from './app.js';

const HISTORY_PAGE = 10;
const CATEGORY_DOCUMENTS = ['student', 'pensioner', 'disability', 'large_family'];

export const riderName = (category) => t(`rider_${category}`);
/// A category as a title: its first letter in capitals.
const riderTitle = (category) => { const n = riderName(category); return n.charAt(0).toLocaleUpperCase() + n.slice(1); };
const kindName = (kind) => t(`cards_kind_${kind}`);
const statusName = (status) => t(`cards_status_${status}`);
const movementName = (kind) => (['top_up', 'ride', 'refund', 'reversal', 'adjustment', 'payout'].includes(kind) ? t(`mv_${kind}`) : t('mv_other'));

export function render(main, [number, sub]) {
  if (number === 'open') return openCard(main);
  if (number === 'apply') return apply(main);
  if (number) return card(main, number, sub);
  return list(main);
}

/// The line that says until when a preferential card pays its own fare (or that it ended).
function statusUntil(c) {
  if (!c.category_until) return null;
  const ended = Date.parse(c.category_until) < Date.now();
  return h('p', { class: ended ? 'problem' : 'muted' }, t(ended ? 'cards_ended' : 'cards_until', { date: day(c.category_until) }));
}

function cardFacts(c) {
  return h('dl', { class: 'facts' },
    h('dt', {}, t('cards_balance')), h('dd', { class: 'balance' }, money(c.available)),
    Number(c.held.tiyn) > 0 ? [h('dt', {}, t('cards_held')), h('dd', {}, money(c.held))] : null,
    h('dt', {}, t('cards_status')), h('dd', { class: `status-${c.status}` }, statusName(c.status)),
    h('dt', {}, t('cards_category')), h('dd', {}, riderName(c.rider_category)),
    c.pupil_name ? [h('dt', {}, t('cards_pupil')), h('dd', {}, c.pupil_name)] : null,
    c.school ? [h('dt', {}, t('cards_school')), h('dd', {}, c.school)] : null,
    c.class ? [h('dt', {}, t('cards_class')), h('dd', {}, c.class)] : null);
}

/// The grouped 16 digits, read out in groups by a screen reader too.
function cardNumber(c) {
  return h('p', { class: 'card-number', 'aria-label': `${t('cards_number')} ${c.number_grouped}` }, c.number_grouped);
}

function topUpLink(c) {
  return c.status === 'active' ? h('a', { class: 'button', href: `#/cards/${c.number}/top-up`, dataset: { topUp: c.number } }, t('cards_top_up')) : null;
}

function list(main) {
  const slot = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('loading')));
  const applications = h('div', {});
  main.append(h('h1', {}, t('cards_title')), slot,
    h('a', { class: 'button wide', href: '#/cards/open' }, t('cards_open')),
    h('a', { class: 'button wide secondary', href: '#/cards/apply' }, t('cards_apply')),
    applications);
  api('/v1/cards').then(({ data }) => {
    const shown = data.cards.filter((c) => c.status !== 'closed');
    slot.replaceChildren(...(shown.length ? shown.map((c) => h('section', { class: `card card-tile kind-${c.kind}`, 'aria-label': `${kindName(c.kind)} ${c.last_four}`, dataset: { card: c.number } },
      h('h2', {}, kindName(c.kind)), cardNumber(c), cardFacts(c), statusUntil(c),
      h('div', { class: 'row' }, topUpLink(c), h('a', { class: 'button secondary', href: `#/cards/${c.number}` }, t('cards_details')))))
      : [h('p', {}, t('cards_none'))]));
  }).catch((error) => slot.replaceChildren(problemView(error)));
  showApplications(applications);
}

async function showApplications(slot) {
  try {
    const { data } = await api('/v1/card-applications');
    if (!data.applications.length) return;
    slot.replaceChildren(h('h2', {}, t('cards_applications')), h('ul', { class: 'list', id: 'applications' }, data.applications.map((a) => h('li', { dataset: { application: a.id } },
      h('div', { class: 'row' }, h('strong', {}, riderTitle(a.category)), h('span', { class: `chip app-${a.status}` }, t(`app_status_${a.status}`))),
      h('p', { class: 'muted' }, t('cards_app_sent', { date: dateTime(a.created_at) })),
      a.status === 'rejected' && a.decision ? h('p', {}, t('cards_app_reason', { reason: a.decision })) : null,
      a.status === 'approved' && a.card ? h('a', { class: 'button secondary', href: `#/cards/${a.card}` }, t('cards_details')) : null))));
  } catch (error) {
    slot.replaceChildren(problemView(error));
  }
}

function openCard(main) {
  let kind = 'regular';
  const result = h('div', { 'aria-live': 'polite' });
  const pupil = h('input', { type: 'text', autocomplete: 'off', maxlength: '80' });
  const school = h('input', { type: 'text', autocomplete: 'off', maxlength: '80' });
  const klass = h('input', { type: 'text', autocomplete: 'off', maxlength: '80' });
  const holder = h('input', { type: 'text', autocomplete: 'name', maxlength: '80' });
  const schoolFields = h('div', { hidden: true }, field('pupil', t('cards_pupil_name'), pupil), field('school', t('cards_school_name'), school),
    field('class', t('cards_class_name'), klass, t('cards_class_hint')));
  const kinds = h('div', { class: 'choice', role: 'group', 'aria-labelledby': 'kind-label' });
  const drawKinds = () => kinds.replaceChildren(...['regular', 'school'].map((k) => h('button', { type: 'button', 'aria-pressed': String(kind === k), dataset: { kind: k },
    onclick: () => { kind = k; schoolFields.hidden = k !== 'school'; pupil.required = school.required = klass.required = k === 'school'; drawKinds(); } },
  h('span', {}, h('strong', {}, kindName(k)), h('br'), h('span', { class: 'small' }, t(`cards_open_${k}_hint`))))));
  drawKinds();
  const submit = h('button', { class: 'wide big', type: 'submit' }, t('cards_open_submit'));
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    result.replaceChildren();
    const body = { kind, holder_name: holder.value.trim() || undefined };
    if (kind === 'school') Object.assign(body, { pupil_name: pupil.value.trim(), school: school.value.trim(), class: klass.value.trim() });
    try {
      const { data } = await api('/v1/cards', { method: 'POST', body });
      sessionStorage.setItem('smsbus.card-opened', data.number);
      go(`#/cards/${data.number}`);
    } catch (error) {
      submit.disabled = false;
      result.replaceChildren(problemView(error));
    }
  } }, h('span', { class: 'label', id: 'kind-label' }, t('cards_open_kind')), kinds, schoolFields,
  field('holder', t('cards_holder_name'), holder, t('cards_holder_hint')), result, submit);
  main.append(h('h1', {}, t('cards_open_title')), form, h('a', { class: 'button wide secondary', href: '#/cards' }, t('back')));
}

function apply(main) {
  let category = null;
  const result = h('div', { 'aria-live': 'polite' });
  const choices = h('div', { class: 'choice', role: 'group', 'aria-labelledby': 'category-label' }, h('p', { class: 'muted' }, t('loading')));
  const details = h('div', { 'aria-live': 'polite' });
  const name = h('input', { type: 'text', autocomplete: 'name', maxlength: '80', required: true });
  const docKind = h('input', { type: 'text', autocomplete: 'off', maxlength: '80', required: true });
  const docNumber = h('input', { type: 'text', autocomplete: 'off', maxlength: '80', required: true });
  const submit = h('button', { class: 'wide big', type: 'submit' }, t('cards_apply_submit'));
  const pick = (c, offered) => {
    category = c.category;
    for (const b of choices.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.category === category));
    const known = CATEGORY_DOCUMENTS.includes(category);
    details.replaceChildren(h('section', { class: 'card soft', id: 'category-details' },
      h('h2', {}, riderTitle(category), ' · ', t('cards_apply_fare', { amount: money(c.fare) })),
      known ? [h('h3', {}, t('cards_apply_who')), h('p', {}, t(`cat_who_${category}`)), h('h3', {}, t('cards_apply_docs')), h('p', {}, t(`cat_docs_${category}`))] : null));
    // The document that proves the category, unless the passenger typed another.
    if (!docKind.value || offered.some((o) => CATEGORY_DOCUMENTS.includes(o.category) && docKind.value === t(`cat_doc_${o.category}`))) {
      docKind.value = known ? t(`cat_doc_${category}`) : '';
    }
  };
  api('/v1/cities').then(({ data }) => {
    const city = data.cities.find((c) => c.id === state.city) ?? data.cities[0];
    const offered = city?.categories ?? [];
    choices.replaceChildren(...(offered.length ? offered.map((c) => h('button', { type: 'button', 'aria-pressed': 'false', dataset: { category: c.category }, onclick: () => pick(c, offered) },
      h('span', {}, h('strong', {}, riderTitle(c.category)), ' — ', money(c.fare)))) : [h('p', {}, t('cards_apply_none'))]));
    submit.disabled = !offered.length;
  }).catch((error) => choices.replaceChildren(problemView(error)));
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    result.replaceChildren();
    if (!category) { result.replaceChildren(h('p', { class: 'problem', role: 'alert' }, t('cards_apply_choose'))); return; }
    submit.disabled = true;
    try {
      await api('/v1/card-applications', { method: 'POST', body: { city: state.city, category, full_name: name.value.trim(), document_kind: docKind.value.trim(), document_number: docNumber.value.trim() } });
      form.replaceWith(h('div', { class: 'ok', role: 'status', id: 'applied' }, h('p', {}, t('cards_applied'))), h('a', { class: 'button wide', href: '#/cards' }, t('cards_title')));
    } catch (error) {
      submit.disabled = false;
      result.replaceChildren(problemView(error));
    }
  } }, h('span', { class: 'label', id: 'category-label' }, t('cards_category')), choices, details,
  field('full-name', t('cards_full_name'), name), field('doc-kind', t('cards_doc_kind'), docKind), field('doc-number', t('cards_doc_number'), docNumber),
  result, submit);
  main.append(h('h1', {}, t('cards_apply_title')), h('p', {}, t('cards_apply_intro')), form, h('a', { class: 'button wide secondary', href: '#/cards' }, t('back')));
}

function card(main, number) {
  const head = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('loading')));
  const actions = h('div', {});
  const history = h('ul', { class: 'list', id: 'history' });
  const more = h('button', { class: 'wide secondary', type: 'button', hidden: true }, t('cards_more'));
  const historyStatus = h('div', {});
  main.append(h('h1', {}, t('cards_title')), head, actions, h('h2', {}, t('cards_history')), historyStatus, history, more,
    h('a', { class: 'button wide secondary', href: '#/cards' }, t('back')));
  const opened = sessionStorage.getItem('smsbus.card-opened') === number;
  sessionStorage.removeItem('smsbus.card-opened');
  const show = (c, all, note) => {
    head.replaceChildren(...[note, opened && c.status === 'active' && Number(c.balance.tiyn) === 0 ? h('div', { class: 'ok', role: 'status' }, h('p', {}, t('cards_opened'))) : null,
      h('section', { class: `card card-tile kind-${c.kind}`, dataset: { card: c.number } }, h('h2', {}, kindName(c.kind)), cardNumber(c), cardFacts(c), statusUntil(c),
        c.status === 'blocked' ? h('p', { class: 'problem' }, t('cards_blocked_note')) : null, topUpLink(c))].filter(Boolean));
    actions.replaceChildren(...cardActions(c, all, (next, nextNote) => show(next, all, nextNote)));
  };
  Promise.all([api(`/v1/cards/${encodeURIComponent(number)}`), api('/v1/cards')]).then(([{ data }, { data: mine }]) => show(data, mine.cards))
    .catch((error) => head.replaceChildren(problemView(error)));
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const q = new URLSearchParams({ limit: String(HISTORY_PAGE) });
      if (cursor !== null) q.set('before', String(cursor));
      const { data } = await api(`/v1/cards/${encodeURIComponent(number)}/history?${q}`);
      for (const m of data.movements) {
        const incoming = Number(m.amount.tiyn) > 0;
        history.append(h('li', { dataset: { movement: m.kind } }, h('div', { class: 'row' },
          h('strong', {}, movementName(m.kind), m.on_hold ? ` (${t('mv_on_hold')})` : ''),
          h('span', { class: incoming ? 'amount in' : 'amount', style: { textAlign: 'right' } }, incoming ? '+' : '−', money({ tiyn: Math.abs(Number(m.amount.tiyn)) }))),
        h('p', { class: 'muted' }, dateTime(m.at))));
      }
      if (history.children.length) historyStatus.replaceChildren();
      else historyStatus.replaceChildren(h('p', {}, t('cards_history_none')));
      cursor = data.next_cursor ?? null;
      more.hidden = cursor === null;
    } catch (error) {
      historyStatus.replaceChildren(problemView(error));
    } finally { more.disabled = false; }
  };
  more.addEventListener('click', load);
  load();
}

/// Block or unblock, and close (the balance moved to another active card of the holder's).
function cardActions(c, all, redraw) {
  if (c.status === 'closed') return [];
  const result = h('div', { 'aria-live': 'polite' });
  const act = async (path, body) => {
    result.replaceChildren();
    try {
      const { data } = await api(`/v1/cards/${c.number}/${path}`, { method: 'POST', body });
      const into = body?.into ? all.find((o) => o.number === body.into) : null;
      redraw(data, into ? h('div', { class: 'ok', role: 'status' }, h('p', {}, t('cards_closed_into', { card: into.number_grouped }))) : null);
    } catch (error) {
      result.replaceChildren(problemView(error));
    }
  };
  const out = [];
  if (c.status === 'active') out.push(h('button', { class: 'wide secondary', type: 'button', id: 'block', onclick: () => act('block', {}) }, t('cards_block')), h('p', { class: 'hint' }, t('cards_block_hint')));
  if (c.status === 'blocked') out.push(h('button', { class: 'wide', type: 'button', id: 'unblock', onclick: () => act('unblock', {}) }, t('cards_unblock')));
  const targets = all.filter((o) => o.number !== c.number && o.status === 'active');
  const hasMoney = Number(c.balance.tiyn) > 0;
  const into = h('select', {}, targets.map((o) => h('option', { value: o.number }, `${kindName(o.kind)} •••• ${o.last_four}`)));
  const close = h('details', { class: 'card soft', id: 'close' }, h('summary', {}, t('cards_close')), h('p', {}, t('cards_close_hint')),
    hasMoney && !targets.length ? h('p', { class: 'problem' }, t('cards_close_no_target'))
      : [hasMoney ? field('close-into', t('cards_close_into'), into) : null,
        h('button', { class: 'wide', type: 'button', id: 'close-confirm', onclick: () => act('close', hasMoney ? { into: into.value } : {}) }, t('cards_close_confirm'))]);
  out.push(close, result);
  return out;
}
