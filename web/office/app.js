// The office clerk's console (/office/): the preferential applications queue of the clerk's
// cities, passenger search by card number, phone or name, and the passenger's record — cards
// (block, unblock, close with a payout), applications, rides (refund a card ride) and the
// audit entries of every action taken on them.
import { t } from '../lib/i18n.js';
import { h } from '../lib/ui.js';
import { staffApi } from '../lib/staff.js';
import { newKey } from '../lib/api.js';
import { startConsole, go, table, searchBox, confirmDialog, notice, noticeBox, loading, data, money, when, auditAction } from '../staff/console.js';

const status = (value) => h('span', { class: `status ${value}` }, t(`office_status_${value}`));
const category = (value) => t(`office_category_${value}`);
const phonePath = (phone) => encodeURIComponent(phone);

function queue(main, [query = '']) {
  const box = h('div');
  const notices = noticeBox();
  main.append(h('h1', {}, t('office_queue_title')), notices,
    searchBox({ id: 'queue-search', label: 'office_queue_search', hint: 'office_queue_search_hint', value: query,
      onSearch: (q) => go(q ? `#/queue/${encodeURIComponent(q)}` : '#/queue') }), box);
  const draw = () => loading(box, () => staffApi(`/v1/office/card-applications${query ? `?q=${encodeURIComponent(query)}` : ''}`), ({ data: list }) => {
    box.append(table({
      id: 'queue', csv: 'applications.csv',
      caption: t('office_queue_count', { n: list.applications.length }),
      empty: 'office_queue_empty',
      columns: [
        { label: 'office_col_applied', value: (a) => when(a.created_at) },
        { label: 'office_col_name', value: (a) => a.full_name },
        { label: 'office_col_phone', value: (a) => a.phone, cell: (a) => h('a', { href: `#/passenger/${phonePath(a.phone)}` }, data(a.phone)) },
        { label: 'office_col_city', value: (a) => a.city },
        { label: 'office_col_category', value: (a) => category(a.category) },
        { label: 'office_col_document', value: (a) => `${a.document_kind} ${a.document_number}` },
        { label: 'office_col_actions', value: () => '', cell: (a) => h('div', { class: 'row' },
          h('button', { type: 'button', 'data-approve': a.id, onclick: () => decide(a, 'approve') }, t('office_approve')),
          h('button', { type: 'button', class: 'secondary', 'data-reject': a.id, onclick: () => decide(a, 'reject') }, t('office_reject'))) },
      ],
      rows: list.applications,
    }));
  });
  const decide = async (a, verb) => {
    const fields = verb === 'approve'
      ? [{ id: 'kind', label: 'office_doc_kind', required: true, value: a.document_kind },
        { id: 'number', label: 'office_doc_number', required: true, value: a.document_number },
        { id: 'until', label: 'office_doc_until', required: true, kind: 'date', hint: 'office_doc_until_hint' }]
      : [{ id: 'reason', label: 'office_reason', required: true, hint: 'office_reason_hint' }];
    const values = await confirmDialog({
      title: t(verb === 'approve' ? 'office_approve_title' : 'office_reject_title', { name: a.full_name }),
      text: t(verb === 'approve' ? 'office_approve_text' : 'office_reject_text'),
      fields, confirm: verb === 'approve' ? 'office_approve' : 'office_reject', danger: verb === 'reject',
    });
    if (!values) return;
    try {
      const body = verb === 'approve'
        ? { document_kind: values.kind, document_number: values.number, valid_until: values.until }
        : { reason: values.reason };
      await staffApi(`/v1/office/card-applications/${a.id}/${verb}`, { method: 'POST', body });
      notice(notices, t(verb === 'approve' ? 'office_approved' : 'office_rejected', { name: a.full_name }));
      draw();
    } catch (error) { notice(notices, '', error); }
  };
  draw();
}

function search(main, [query = '']) {
  const box = h('div');
  main.append(h('h1', {}, t('office_search_title')),
    searchBox({ id: 'passenger-search', label: 'office_search_label', hint: 'office_search_hint', value: query,
      onSearch: (q) => go(q ? `#/search/${encodeURIComponent(q)}` : '#/search') }), box);
  if (!query) return;
  loading(box, () => staffApi(`/v1/office/search?q=${encodeURIComponent(query)}`), ({ data: found }) => {
    box.append(table({
      id: 'found', empty: 'office_search_none',
      caption: t('office_found', { n: found.passengers.length }),
      columns: [
        { label: 'office_col_name', value: (p) => p.name },
        { label: 'office_col_phone', value: (p) => p.phone },
        { label: 'office_col_cards', value: (p) => p.cards.map((c) => c.number_grouped).join(', ') },
        { label: 'office_col_actions', value: () => '', cell: (p) => h('a', { class: 'button', href: `#/passenger/${phonePath(p.phone)}`, 'data-open': p.phone }, t('office_open_record')) },
      ],
      rows: found.passengers,
    }));
  });
}

function record(main, [phone]) {
  const notices = noticeBox();
  const box = h('div');
  main.append(h('p', {}, h('a', { href: '#/search' }, t('office_back_to_search'))), h('h1', {}, t('office_record_title', { phone })), notices, box);
  // `label` is the notice after success: a text, or a function of the answer.
  const act = async (label, run) => {
    try {
      const answer = await run();
      notice(notices, typeof label === 'function' ? label(answer?.data) : label);
      draw();
    } catch (error) { notice(notices, '', error); }
  };
  const cardActions = (c) => {
    const buttons = [];
    if (c.status === 'active') buttons.push(h('button', { type: 'button', class: 'secondary', 'data-block': c.number, onclick: async () => {
      const v = await confirmDialog({ title: t('office_block_title', { card: c.number_grouped }), fields: [{ id: 'reason', label: 'office_reason', required: true, hint: 'office_reason_hint' }], confirm: 'office_block', danger: true });
      if (v) act(t('office_blocked', { card: c.number_grouped }), () => staffApi(`/v1/office/cards/${c.number}/block`, { method: 'POST', body: { reason: v.reason } }));
    } }, t('office_block')));
    if (c.status === 'blocked') buttons.push(h('button', { type: 'button', class: 'secondary', 'data-unblock': c.number, onclick: async () => {
      const v = await confirmDialog({ title: t('office_unblock_title', { card: c.number_grouped }), fields: [{ id: 'reason', label: 'office_reason', required: true, hint: 'office_reason_hint' }], confirm: 'office_unblock' });
      if (v) act(t('office_unblocked', { card: c.number_grouped }), () => staffApi(`/v1/office/cards/${c.number}/unblock`, { method: 'POST', body: { reason: v.reason } }));
    } }, t('office_unblock')));
    if (c.status !== 'closed') buttons.push(h('button', { type: 'button', class: 'danger', 'data-payout': c.number, onclick: async () => {
      const v = await confirmDialog({
        title: t('office_payout_title', { card: c.number_grouped }),
        text: t('office_payout_text', { amount: money(c.available) }),
        fields: [
          { id: 'way', label: 'office_payout_way', kind: 'select', options: [['cash', 'office_way_cash'], ['bank_transfer', 'office_way_bank_transfer']] },
          { id: 'reference', label: 'office_payout_reference', hint: 'office_payout_reference_hint' },
          { id: 'reason', label: 'office_reason_optional' },
        ],
        confirm: 'office_payout', danger: true,
      });
      if (!v) return;
      // One key per payout asked for: a retry of this request never pays twice.
      const key = newKey();
      act(t('office_paid_out', { card: c.number_grouped, amount: money(c.available) }), () => staffApi(`/v1/office/cards/${c.number}/payout`, {
        method: 'POST', headers: { 'Idempotency-Key': key }, body: { way: v.way, reference: v.reference, reason: v.reason },
      }));
    } }, t('office_payout')));
    return h('div', { class: 'row' }, buttons);
  };
  const refund = async (ticket) => {
    // A card ride goes back to its card; a phone-balance ride through the passenger's operator.
    const text = ticket.card_last_four ? 'office_refund_text' : 'office_refund_text_phone';
    const v = await confirmDialog({ title: t('office_refund_title', { check: ticket.check_number }), text: t(text, { amount: money(ticket.fare) }),
      fields: [{ id: 'reason', label: 'office_reason', required: true, hint: 'office_reason_hint' }], confirm: 'office_refund', danger: true });
    const said = (answer) => t(answer?.status === 'refunding' ? 'office_refunding' : 'office_refunded', { check: ticket.check_number });
    if (v) act(said, () => staffApi(`/v1/office/tickets/${ticket.check_number}/refund`, { method: 'POST', body: { reason: v.reason } }));
  };
  const draw = () => loading(box, async () => {
    const [rec, tickets] = await Promise.all([
      staffApi(`/v1/office/passengers/${phonePath(phone)}`),
      staffApi(`/v1/staff/passengers/${phonePath(phone)}/tickets?limit=100`),
    ]);
    return { rec: rec.data, tickets: tickets.data.tickets };
  }, ({ rec, tickets }) => {
    box.append(
      h('p', {}, t('office_record_cities'), ' ', data(rec.cities.join(', '))),
      h('h2', {}, t('office_cards')),
      table({ id: 'cards', csv: 'cards.csv', empty: 'office_no_cards', columns: [
        { label: 'office_col_card', value: (c) => c.number_grouped, cell: (c) => h('span', { class: 'data mono' }, c.number_grouped) },
        { label: 'office_col_kind', value: (c) => t(`office_kind_${c.kind}`) },
        { label: 'office_col_category', value: (c) => category(c.rider_category) + (c.category_until ? ` · ${t('office_until', { date: when(c.category_until) })}` : '') },
        { label: 'office_col_status', value: (c) => t(`office_status_${c.status}`), cell: (c) => status(c.status) },
        { label: 'office_col_balance', value: (c) => money(c.balance) },
        { label: 'office_col_payout', value: (c) => (c.payout ? `${money(c.payout.amount)} · ${t(`office_way_${c.payout.way}`)}${c.payout.reference ? ` ${c.payout.reference}` : ''}` : '') },
        { label: 'office_col_actions', value: () => '', cell: cardActions },
      ], rows: rec.cards }),
      h('h2', {}, t('office_applications')),
      table({ id: 'applications', empty: 'office_no_applications', columns: [
        { label: 'office_col_applied', value: (a) => when(a.created_at) },
        { label: 'office_col_category', value: (a) => category(a.category) },
        { label: 'office_col_document', value: (a) => `${a.document_kind} ${a.document_number}` },
        { label: 'office_col_status', value: (a) => t(`office_status_${a.status}`), cell: (a) => status(a.status) },
        { label: 'office_col_decision', value: (a) => a.decision ?? '' },
      ], rows: rec.applications }),
      h('h2', {}, t('office_rides')),
      table({ id: 'tickets', csv: 'rides.csv', empty: 'office_no_rides', columns: [
        { label: 'office_col_when', value: (r) => when(r.issued_at) },
        { label: 'office_col_check', value: (r) => r.check_number },
        { label: 'office_col_route', value: (r) => `${r.route_number} · ${r.plate}` },
        { label: 'office_col_fare', value: (r) => money(r.fare) },
        { label: 'office_col_paid_from', value: (r) => (r.card_last_four ? t('office_paid_card', { four: r.card_last_four }) : t('office_paid_phone')) },
        { label: 'office_col_status', value: (r) => t(`office_status_${r.status}`), cell: (r) => status(r.status) },
        { label: 'office_col_actions', value: () => '', cell: (r) => (r.status === 'valid'
          ? h('button', { type: 'button', class: 'secondary', 'data-refund': r.check_number, onclick: () => refund(r) }, t('office_refund')) : '') },
      ], rows: tickets }),
      h('h2', {}, t('office_audit')),
      table({ id: 'audit', csv: 'audit.csv', empty: 'office_no_audit', columns: [
        { label: 'office_col_when', value: (e) => when(e.at) },
        { label: 'office_col_actor', value: (e) => e.actor },
        { label: 'office_col_action', value: (e) => auditAction(e.action) },
        { label: 'office_col_object', value: (e) => e.object },
        { label: 'office_col_after', value: (e) => e.after },
      ], rows: rec.audit }));
  });
  draw();
}

startConsole({
  title: 'office_title',
  roles: ['office', 'admin'],
  menu: [
    { id: 'queue', label: 'office_menu_queue', render: queue },
    { id: 'search', label: 'office_menu_search', render: search },
    { id: 'passenger', label: 'office_menu_record', render: record, hidden: true },
  ],
});
