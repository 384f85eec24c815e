// Topping a card up with a bank card, at #/cards/<number>/top-up: amount presets and an own
// amount within the card's limits (shown), then the acquirer's payment page (we never see the
// card number), then back here at #/cards/<number>/top-up?top_up=<id> with the result and
// the card's new balance. A repeated tap reuses the attempt's Idempotency-Key, so it never
// makes a second order.
import { t, money } from '../lib/i18n.js';
import { api, newKey } from '../lib/api.js';
import { h, problemView, field } from '../lib/ui.js';

const PRESETS_TENGE = [500, 1000, 2000, 5000];
/// The result screen asks for the top-up's state at most this many times, a second apart.
const POLLS_MAX = 20;

const path = (number, rest = '') => `/v1/cards/${encodeURIComponent(number)}${rest}`;
const lastFour = (number) => `•••• ${String(number).slice(-4)}`;

export function render(main, [number = '', rest = '']) {
  const topUp = new URLSearchParams(rest.split('?')[1] ?? '').get('top_up');
  const stopped = { now: false };
  if (topUp) result(main, number, topUp, stopped);
  else form(main, number);
  return () => { stopped.now = true; };
}

async function form(main, number) {
  const slot = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('loading')));
  main.replaceChildren(h('h1', {}, t('topup_title')), h('p', { class: 'muted' }, t('topup_card', { card: lastFour(number) })), slot);
  let card;
  let limits;
  try {
    [card, limits] = await Promise.all([api(path(number)).then((r) => r.data), api(path(number, '/top-ups/limits')).then((r) => r.data)]);
  } catch (error) {
    slot.replaceChildren(problemView(error));
    return;
  }
  const min = limits.min.tiyn;
  const max = limits.max.tiyn;
  const balance = h('p', { class: 'card soft' }, t('topup_balance', { amount: money(card.balance) }));
  if (max < min) {
    slot.replaceChildren(balance, h('p', { role: 'status' }, t('topup_full')));
    return;
  }
  let amount = null;
  let key = null;
  const problem = h('div', { 'aria-live': 'polite' });
  const pay = h('button', { class: 'wide big', type: 'button', id: 'topup-pay', disabled: true }, t('topup_choose'));
  const own = h('input', { type: 'number', inputmode: 'decimal', min: min / 100, max: max / 100, step: '1', autocomplete: 'off' });
  const presets = PRESETS_TENGE.map((tenge) => tenge * 100).filter((tiyn) => tiyn >= min && tiyn <= max);
  const choose = (tiyn) => {
    amount = tiyn;
    key = null;
    problem.replaceChildren();
    const ok = Number.isInteger(tiyn) && tiyn >= min && tiyn <= max;
    pay.disabled = !ok;
    pay.textContent = ok ? t('topup_pay', { amount: money({ tiyn }) }) : t('topup_choose');
    for (const b of choice.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.tiyn) === tiyn));
    if (!ok && own.value !== '') problem.replaceChildren(h('p', { class: 'problem', role: 'alert' }, t('topup_invalid', { min: money({ tiyn: min }), max: money({ tiyn: max }) })));
  };
  const choice = h('div', { class: 'choice', role: 'group', 'aria-label': t('topup_choose'), style: { gridTemplateColumns: '1fr 1fr' } },
    presets.map((tiyn) => h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', dataset: { tiyn: String(tiyn) }, onclick: () => { own.value = ''; choose(tiyn); } }, money({ tiyn }))));
  own.addEventListener('input', () => choose(own.value === '' ? null : Math.round(Number(own.value) * 100)));
  pay.addEventListener('click', async () => {
    if (amount === null) return;
    pay.disabled = true;
    pay.textContent = t('topup_opening');
    key ??= newKey();
    try {
      const { data } = await api(path(number, '/top-ups'), { method: 'POST', body: { amount: (amount / 100).toFixed(2) }, headers: { 'Idempotency-Key': key } });
      if (data.payment_url) location.assign(data.payment_url);
      else location.hash = `#/cards/${number}/top-up?top_up=${encodeURIComponent(data.top_up_id)}`;
    } catch (error) {
      pay.disabled = false;
      pay.textContent = t('topup_pay', { amount: money({ tiyn: amount }) });
      problem.replaceChildren(problemView(error));
      if (error.status !== 0 && error.status !== 503) key = null;
    }
  });
  slot.replaceChildren(balance, choice,
    field('topup-own', t('topup_amount'), own, t('topup_limits', { min: money({ tiyn: min }), max: money({ tiyn: max }) })),
    pay, problem, h('p', { class: 'hint' }, t('topup_note')));
}

async function result(main, number, id, stopped) {
  const slot = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, t('topup_waiting')));
  main.replaceChildren(h('h1', {}, t('topup_title')), h('p', { class: 'muted' }, t('topup_card', { card: lastFour(number) })), slot);
  let state;
  try {
    for (let i = 0; i < POLLS_MAX && !stopped.now; i++) {
      ({ data: state } = await api(path(number, `/top-ups/${encodeURIComponent(id)}`)));
      if (state.status !== 'created') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (stopped.now) return;
    const again = h('a', { class: 'button wide secondary', href: `#/cards/${number}/top-up` }, t('topup_again'));
    if (state.status === 'paid') {
      const { data: card } = await api(path(number));
      slot.replaceChildren(
        h('div', { class: 'ok', role: 'status' },
          h('p', { id: 'topup-result', style: { fontSize: '1.25rem', fontWeight: '700' } }, t('topup_paid', { amount: money(state.amount) })),
          h('p', { id: 'topup-balance' }, t('topup_new_balance', { amount: money(card.balance) }))), again);
    } else if (state.status === 'failed') {
      const key = ['declined', 'insufficient_funds', 'expired'].includes(state.failure) ? `topup_failed_${state.failure}` : 'topup_failed_other';
      again.textContent = t('topup_try_again');
      slot.replaceChildren(h('div', { class: 'problem', role: 'alert', id: 'topup-result' }, h('p', {}, t(key))), again);
    } else {
      slot.replaceChildren(h('p', { role: 'status', id: 'topup-result' }, t('topup_still_waiting')), again);
    }
  } catch (error) {
    slot.replaceChildren(problemView(error));
  }
}
