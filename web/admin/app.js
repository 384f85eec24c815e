// The system operator's console (/admin/): signing keys (rotate, see which are published),
// staff accounts and machine credentials, the catalogue (cities, carriers, routes, vehicles,
// fare rules edited in place, operator prefixes), banks, the partners (mobile operators' CAMARA
// APIs, the card acquirer, the SMSC binds, the banks: where each is, how we sign in there —
// never a secret — and its live state), GTFS imports with their progress and
// problems, live trackers and feed tokens, and the audit trail with its verification. Reports
// are the carrier helper's /reports/, linked from the menu. Secrets are shown once, when made.
import { t } from '../lib/i18n.js';
import { h, field } from '../lib/ui.js';
import { staffApi } from '../lib/staff.js';
import { startConsole, table, confirmDialog, notice, noticeBox, loading, data, when, auditAction, known } from '../staff/console.js';

const ROLES = ['admin', 'office', 'carrier', 'controller', 'support'];
const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

/// A form of labelled inputs; `submit(values)` runs on send.
function form({ id, title, fields, submit, button }) {
  const inputs = {};
  const rows = fields.map((f) => {
    const input = f.kind === 'select'
      ? h('select', {}, f.options.map(([v, label]) => h('option', { value: v }, label.startsWith('#') ? label.slice(1) : t(label))))
      : f.kind === 'checkbox' ? h('input', { type: 'checkbox', checked: f.checked })
        : h('input', { type: f.kind ?? 'text', required: f.required, autocomplete: 'off', spellcheck: 'false' });
    inputs[f.id] = input;
    return field(`${id}-${f.id}`, t(f.label), input, f.hint ? t(f.hint) : undefined);
  });
  const el = h('form', { class: 'card', id, onsubmit: async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.type === 'checkbox' ? i.checked : i.value.trim()]));
    await submit(values, el);
  } }, h('h2', {}, t(title)), rows, h('button', { type: 'submit' }, t(button)));
  return el;
}

async function run(notices, okText, call) {
  try { const result = await call(); notice(notices, typeof okText === 'function' ? okText(result) : okText); return result; } catch (error) { notice(notices, '', error); return null; }
}

function keys(main) {
  const notices = noticeBox();
  const box = h('div');
  const draw = () => loading(box, () => staffApi('/v1/keys'), ({ data: list }) => {
    const now = Date.now();
    box.append(table({ id: 'keys', csv: 'keys.csv', columns: [
      { label: 'admin_col_kid', value: (k) => k.kid, cell: (k) => h('span', { class: 'data mono' }, k.kid) },
      { label: 'admin_col_from', value: (k) => when(k.not_before) },
      { label: 'admin_col_until', value: (k) => when(k.not_after) },
      { label: 'admin_col_state', value: (k) => t(Date.parse(k.not_before) > now ? 'admin_key_next' : 'admin_key_signing') },
    ], rows: list.keys }));
  });
  main.append(h('h1', {}, t('admin_keys_title')), h('p', { class: 'muted' }, t('admin_keys_text')), notices,
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'rotate', onclick: async () => {
        const v = await confirmDialog({ title: t('admin_rotate_title'), text: t('admin_rotate_text'),
          fields: [{ id: 'when', label: 'admin_rotate_when', kind: 'select', options: [['scheduled', 'admin_rotate_scheduled'], ['now', 'admin_rotate_now']] }], confirm: 'admin_rotate' });
        if (!v) return;
        const done = await run(notices, (r) => t('admin_rotated', { kid: r.data.keys[0]?.kid ?? '' }),
          () => staffApi(`/v1/admin/keys/rotate${v.when === 'now' ? '?immediately=true' : ''}`, { method: 'POST' }));
        if (done) draw();
      } }, t('admin_rotate'))), box);
  draw();
}

function staff(main) {
  const notices = noticeBox();
  const box = h('div');
  const action = (a, verb, label) => h('button', { type: 'button', class: 'secondary', [`data-${verb}`]: a.login, onclick: async () => {
    const ok = await confirmDialog({ title: t(verb === 'reset-password' ? 'admin_reset_title' : `admin_${verb}_title`, { login: a.login }), confirm: label, danger: verb !== 'enable' });
    if (!ok) return;
    const r = await run(notices, (res) => (res.data?.password ? t('admin_password_once', { login: a.login, password: res.data.password }) : t('admin_done')),
      () => staffApi(`/v1/admin/staff/${encodeURIComponent(a.login)}/${verb}`, { method: 'POST', body: {} }));
    if (r) draw();
  } }, t(label));
  const draw = () => loading(box, () => staffApi('/v1/admin/staff'), ({ data: res }) => {
    box.append(table({ id: 'accounts', csv: 'staff.csv', columns: [
      { label: 'admin_col_login', value: (a) => a.login },
      { label: 'admin_col_role', value: (a) => t(`staff_role_${a.role}`) },
      { label: 'admin_col_scope', value: (a) => [...a.cities, ...a.carriers].join(', ') },
      { label: 'admin_col_totp', value: (a) => t(a.totp_enrolled ? 'admin_yes' : 'admin_no') },
      { label: 'admin_col_state', value: (a) => t(a.disabled ? 'admin_disabled' : 'admin_enabled') },
      { label: 'office_col_actions', value: () => '', cell: (a) => h('div', { class: 'row' },
        a.disabled ? action(a, 'enable', 'admin_enable') : action(a, 'disable', 'admin_disable'),
        action(a, 'reset-password', 'admin_reset')) },
    ], rows: res.accounts }));
  });
  main.append(h('h1', {}, t('admin_staff_title')), notices,
    form({ id: 'add-staff', title: 'admin_add_staff', button: 'admin_add', fields: [
      { id: 'login', label: 'admin_col_login', required: true },
      { id: 'role', label: 'admin_col_role', kind: 'select', options: ROLES.map((r) => [r, `staff_role_${r}`]) },
      { id: 'cities', label: 'admin_cities', hint: 'admin_list_hint' },
      { id: 'carriers', label: 'admin_carriers', hint: 'admin_list_hint' },
    ], submit: async (v, el) => {
      const r = await run(notices, (res) => t('admin_added', { login: res.data.account.login, password: res.data.password }) + (res.data.totp_secret ? ` ${t('admin_totp_once', { secret: res.data.totp_secret })}` : ''),
        () => staffApi('/v1/admin/staff', { method: 'POST', body: { login: v.login, role: v.role, cities: list(v.cities), carriers: list(v.carriers) } }));
      if (r) { el.reset(); draw(); }
    } }), box);
  draw();
}

function credentials(main) {
  const notices = noticeBox();
  const box = h('div');
  const draw = () => loading(box, () => staffApi('/v1/admin/credentials'), ({ data: res }) => {
    box.append(table({ id: 'credentials', csv: 'credentials.csv', columns: [
      { label: 'admin_col_id', value: (c) => c.id },
      { label: 'admin_col_kind', value: (c) => t(`admin_machine_${c.kind}`) },
      { label: 'admin_col_partner', value: (c) => c.partner },
      { label: 'admin_col_created', value: (c) => when(c.created_at) },
      { label: 'admin_col_state', value: (c) => (c.revoked_at ? t('admin_revoked_at', { at: when(c.revoked_at) }) : t('admin_enabled')) },
      { label: 'office_col_actions', value: () => '', cell: (c) => (c.revoked_at ? '' : h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (!(await confirmDialog({ title: t('admin_revoke_title', { partner: c.partner }), confirm: 'admin_revoke', danger: true }))) return;
        if (await run(notices, t('admin_done'), () => staffApi(`/v1/admin/credentials/${encodeURIComponent(c.id)}/revoke`, { method: 'POST' }))) draw();
      } }, t('admin_revoke'))) },
    ], rows: res.credentials }));
  });
  main.append(h('h1', {}, t('admin_credentials_title')), notices,
    form({ id: 'add-credential', title: 'admin_add_credential', button: 'admin_add', fields: [
      { id: 'kind', label: 'admin_col_kind', kind: 'select', options: [['sms_gateway', 'admin_machine_sms_gateway'], ['metrics', 'admin_machine_metrics']] },
      { id: 'partner', label: 'admin_col_partner', required: true },
    ], submit: async (v, el) => {
      const r = await run(notices, (res) => t('admin_secret_once', { secret: res.data.secret }), () => staffApi('/v1/admin/credentials', { method: 'POST', body: v }));
      if (r) { el.reset(); draw(); }
    } }), box);
  draw();
}

function catalogue(main, [cityId]) {
  const notices = noticeBox();
  const box = h('div');
  main.append(h('h1', {}, t('admin_catalogue_title')), notices, box);
  const draw = () => loading(box, () => staffApi('/v1/admin/catalogue'), ({ data: file }) => {
    const city = file.cities.find((c) => c.id === cityId) ?? file.cities[0];
    const select = h('select', { onchange: () => { location.hash = `#/catalogue/${select.value}`; } },
      file.cities.map((c) => h('option', { value: c.id, selected: c.id === city.id }, c.name[document.documentElement.lang] ?? c.id)));
    const amounts = city.fares.map((f) => h('input', { type: 'text', inputmode: 'decimal', value: f.amount, 'aria-label': t('admin_fare_amount_of', { rule: fareRule(f) }), class: 'fare-amount' }));
    const head = { id: city.id, name: city.name, timezone: city.timezone, utc_offset_minutes: city.utc_offset_minutes };
    // A city's fare rules, caps and transfer rule are replaced as a whole: every change sends
    // the city with all of them (a PUT without its caps would drop them).
    const rules = { fares: city.fares, fare_caps: city.fare_caps ?? [], ...(city.transfer ? { transfer: city.transfer } : {}) };
    const put = (okText, part) => run(notices, okText, () => staffApi('/v1/admin/catalogue', {
      method: 'PUT', body: JSON.stringify({ cities: [{ ...head, ...rules, ...part }] }), headers: { 'Content-Type': 'application/json' },
    }));
    const save = async () => {
      const fares = city.fares.map((f, i) => ({ ...f, amount: amounts[i].value.trim() }));
      if (await put(t('admin_fares_saved'), { fares })) draw();
    };
    // The caps: one per rider category (or for all riders) that has one, and an empty row for
    // all riders when there is none; an emptied amount drops the cap.
    const caps = (city.fare_caps ?? []).some((c) => !c.rider_category) ? (city.fare_caps ?? []) : [...(city.fare_caps ?? []), { daily: '' }];
    const capWho = (c) => (c.rider_category ? t(`office_category_${c.rider_category}`) : t('admin_cap_all'));
    const capAmounts = caps.map((c) => h('input', { type: 'text', inputmode: 'decimal', value: c.daily, 'aria-label': t('admin_cap_daily_of', { who: capWho(c) }), class: 'cap-amount' }));
    const transferWindow = h('input', { type: 'number', min: '1', step: '1', value: city.transfer?.window_minutes ?? '' });
    const transferAmount = h('input', { type: 'text', inputmode: 'decimal', value: city.transfer?.amount ?? '' });
    const savePolicy = async () => {
      const fareCaps = caps.map((c, i) => ({ ...c, daily: capAmounts[i].value.trim() })).filter((c) => c.daily !== '');
      const minutes = transferWindow.value.trim();
      const part = { fare_caps: fareCaps, transfer: minutes ? { window_minutes: Number(minutes), amount: transferAmount.value.trim() || '0' } : undefined };
      if (await put(t('admin_policy_saved'), part)) draw();
    };
    const options = (items, label) => items.map((x) => [x.id, `#${label(x)}`]);
    const vehicleForm = form({ id: 'vehicle', title: 'admin_edit_vehicle', button: 'admin_save', fields: [
      { id: 'transport_code', label: 'admin_col_code', required: true, hint: 'admin_vehicle_hint' },
      { id: 'plate', label: 'admin_col_plate', required: true },
      { id: 'carrier', label: 'admin_col_carrier', kind: 'select', options: options(city.carriers, (c) => c.name) },
      { id: 'route', label: 'admin_col_route', kind: 'select', options: options(city.routes, (r) => `${r.number} ${r.name}`) },
      { id: 'active', label: 'admin_vehicle_active', kind: 'checkbox', checked: true },
    ], submit: async (v) => {
      if (await put(t('admin_vehicle_saved', { code: v.transport_code }), { vehicles: [v] })) draw();
    } });
    const routeForm = form({ id: 'route', title: 'admin_edit_route', button: 'admin_save', fields: [
      { id: 'id', label: 'admin_col_id', required: true }, { id: 'number', label: 'admin_col_number', required: true },
      { id: 'name', label: 'admin_col_name', required: true },
      { id: 'kind', label: 'admin_col_kind', kind: 'select', options: ['regular', 'express', 'suburban'].map((k) => [k, `admin_route_${k}`]) },
      { id: 'max_ride_minutes', label: 'admin_route_minutes', kind: 'number', required: true },
    ], submit: async (v) => {
      if (await put(t('admin_route_saved', { number: v.number }), { routes: [{ ...v, max_ride_minutes: Number(v.max_ride_minutes) }] })) draw();
    } });
    const carrierForm = form({ id: 'carrier', title: 'admin_edit_carrier', button: 'admin_save', fields: [
      { id: 'id', label: 'admin_col_id', required: true }, { id: 'name', label: 'admin_col_name', required: true },
    ], submit: async (v) => {
      if (await put(t('admin_carrier_saved', { name: v.name }), { carriers: [v] })) draw();
    } });
    box.append(field('catalogue-city', t('admin_city'), select),
      h('h2', {}, t('admin_fares')),
      table({ id: 'fares', columns: [
        { label: 'admin_col_rule', value: (f) => fareRule(f) },
        { label: 'admin_col_amount', value: (f) => f.amount, cell: (f) => amounts[city.fares.indexOf(f)] },
      ], rows: city.fares }),
      h('button', { type: 'button', id: 'save-fares', onclick: save }, t('admin_save_fares')),
      h('h2', {}, t('admin_caps')),
      h('p', { class: 'muted' }, t('admin_caps_hint')),
      table({ id: 'caps', columns: [
        { label: 'admin_col_category', value: capWho },
        { label: 'admin_col_daily', value: (c) => c.daily, cell: (c) => capAmounts[caps.indexOf(c)] },
      ], rows: caps }),
      h('div', { class: 'grid2', id: 'transfer' },
        field('transfer-window', t('admin_transfer_window'), transferWindow, t('admin_transfer_hint')),
        field('transfer-amount', t('admin_transfer_amount'), transferAmount)),
      h('button', { type: 'button', id: 'save-policy', onclick: savePolicy }, t('admin_save_policy')),
      h('div', { class: 'grid2' },
        h('div', {}, h('h2', {}, t('admin_carriers')), table({ id: 'carriers', csv: `${city.id}-carriers.csv`, columns: [
          { label: 'admin_col_id', value: (c) => c.id }, { label: 'admin_col_name', value: (c) => c.name }], rows: city.carriers })),
        h('div', {}, h('h2', {}, t('admin_routes')), table({ id: 'routes', csv: `${city.id}-routes.csv`, columns: [
          { label: 'admin_col_number', value: (r) => r.number }, { label: 'admin_col_name', value: (r) => r.name },
          { label: 'admin_col_kind', value: (r) => t(`admin_route_${r.kind}`) }], rows: city.routes }))),
      h('h2', {}, t('admin_vehicles')),
      table({ id: 'vehicles', csv: `${city.id}-vehicles.csv`, columns: [
        { label: 'admin_col_code', value: (v) => v.transport_code }, { label: 'admin_col_plate', value: (v) => v.plate },
        { label: 'admin_col_carrier', value: (v) => v.carrier }, { label: 'admin_col_route', value: (v) => v.route },
        { label: 'admin_col_state', value: (v) => t(v.active ? 'admin_enabled' : 'admin_disabled') }], rows: city.vehicles }),
      h('div', { class: 'grid2' }, vehicleForm, h('div', {}, routeForm, carrierForm)),
      h('h2', {}, t('admin_prefixes')),
      table({ id: 'prefixes', csv: 'operator-prefixes.csv', columns: [
        { label: 'admin_col_prefix', value: ([p]) => `+7 ${p}` }, { label: 'admin_col_operator', value: ([, o]) => o }],
      rows: Object.entries(file.operator_prefixes) }));
  });
  draw();
}

function fareRule(f) {
  const parts = [];
  if (f.route) parts.push(t('admin_rule_route', { route: f.route }));
  if (f.route_kind) parts.push(t(`admin_route_${f.route_kind}`));
  if (f.rider_category) parts.push(t(`office_category_${f.rider_category}`));
  if (f.zone) parts.push(t('admin_rule_zone', { zone: f.zone }));
  return parts.length ? parts.join(' · ') : t('admin_rule_base');
}

/// The banks as a table (the banks screen and the partners screen).
function bankTable(rows, id = 'banks') {
  return table({ id, csv: `${id}.csv`, columns: [
    { label: 'admin_col_id', value: (b) => b.id }, { label: 'admin_col_name', value: (b) => b.name },
    { label: 'admin_col_dialect', value: (b) => b.dialect }, { label: 'admin_col_networks', value: (b) => b.networks },
    { label: 'admin_col_secret', value: (b) => t(b.secret_set ? 'admin_secret_set' : 'admin_no') },
    { label: 'admin_col_payments', value: (b) => String(b.payments) },
    { label: 'admin_col_last_payment', value: (b) => when(b.last_payment_at) },
  ], rows });
}

function banks(main) {
  const notices = noticeBox();
  const box = h('div');
  const draw = () => loading(box, () => staffApi('/v1/admin/banks'), ({ data: res }) => {
    box.append(bankTable(res.banks));
  });
  main.append(h('h1', {}, t('admin_banks_title')), h('p', { class: 'muted' }, t('admin_banks_text')), notices,
    form({ id: 'bank', title: 'admin_configure_bank', button: 'admin_save', fields: [
      { id: 'id', label: 'admin_col_id', required: true }, { id: 'name', label: 'admin_col_name', required: true },
      { id: 'dialect', label: 'admin_col_dialect', kind: 'select', options: [['kaspi', '#Kaspi (0–5)'], ['osmp', '#OSMP']] },
      { id: 'networks', label: 'admin_col_networks', required: true, hint: 'admin_networks_hint' },
      { id: 'secret', label: 'admin_col_secret', kind: 'password', required: true, hint: 'admin_secret_hint' },
    ], submit: async (v, el) => {
      const r = await run(notices, t('admin_done'), () => staffApi(`/v1/admin/banks/${encodeURIComponent(v.id)}`, { method: 'PUT', body: { name: v.name, dialect: v.dialect, networks: v.networks, secret: v.secret } }));
      if (r) { el.reset(); draw(); }
    } }), box);
  draw();
}

/// A link's state in words and colour: failing (its last call failed), working, or idle.
function healthState(health) {
  const [key, cls] = health.failing ? ['admin_health_failing', 'failing'] : health.calls ? ['admin_health_ok', 'working'] : ['admin_health_idle', 'idle'];
  return { text: t(key), cell: h('span', { class: `status ${cls}` }, t(key)) };
}

/// The last failure: when, and its kind in words.
const lastFailure = (health) => (health.last_failure_at ? `${when(health.last_failure_at)} · ${known(`admin_error_${health.last_error}`, health.last_error)}` : '');

/// Lines of "label: value", the value shown as data (an address, an id).
const labelled = (pairs) => h('div', { class: 'stack' }, pairs.filter(([, v]) => v).map(([label, v]) => h('div', {}, `${t(label)}: `, h('span', { class: 'data mono small' }, v))));

/// How each operator's calls are going: what a system operator looks at first.
function operatorHealthTable(operators) {
  return table({ id: 'operators', caption: t('admin_cap_calls'), csv: 'operators-health.csv', columns: [
    { label: 'admin_col_operator', value: (o) => o.id },
    { label: 'admin_col_health', value: (o) => healthState(o.health).text, cell: (o) => healthState(o.health).cell },
    { label: 'admin_col_calls', value: (o) => String(o.health.calls) },
    { label: 'admin_col_failures', value: (o) => String(o.health.failures) },
    { label: 'admin_col_last_success', value: (o) => when(o.health.last_success_at) },
    { label: 'admin_col_last_failure', value: (o) => lastFailure(o.health) },
  ], rows: operators });
}

/// Where each operator's CAMARA APIs are and how we sign in there (never a secret).
function operatorConfigTable(operators) {
  const authText = (a) => [t(`admin_auth_${a.kind}`), a.token_url, a.client_id].filter(Boolean).join(' · ');
  return table({ id: 'operator-apis', caption: t('admin_cap_apis'), csv: 'operators-apis.csv', columns: [
    { label: 'admin_col_operator', value: (o) => o.id },
    { label: 'admin_col_apis', value: (o) => [o.carrier_billing_url, o.sim_swap_url, o.refund_url].join(' '),
      cell: (o) => labelled([['admin_api_billing', o.carrier_billing_url], ['admin_api_sim_swap', o.sim_swap_url], ['admin_api_refunds', o.refund_url]]) },
    { label: 'admin_col_auth', value: (o) => authText(o.auth),
      cell: (o) => h('div', { class: 'stack' }, h('div', {}, t(`admin_auth_${o.auth.kind}`)), labelled([['admin_auth_token_url', o.auth.token_url], ['admin_auth_client', o.auth.client_id]])) },
  ], rows: operators });
}

function acquirerFacts(a) {
  if (!a) return h('p', { class: 'muted', id: 'acquirer' }, t('admin_no_acquirer'));
  const state = healthState(a.health);
  const fact = (label, value, params) => [h('dt', {}, t(label, params)), h('dd', {}, value)];
  const last = a.callbacks.last_at ? `${when(a.callbacks.last_at)} · ${t(`admin_callback_${a.callbacks.last_outcome}`)}` : t('admin_never');
  return h('section', { class: 'card', id: 'acquirer' }, h('dl', { class: 'facts' },
    fact('admin_acq_name', data(a.id)),
    fact('admin_col_health', state.cell),
    fact('admin_acq_base_url', h('span', { class: 'data mono small' }, a.base_url)),
    fact('admin_acq_merchant', data(a.merchant_id)),
    fact('admin_acq_callback', h('span', { class: 'data mono small' }, a.callback_url)),
    fact('admin_acq_orders', h('span', { id: 'acquirer-orders' }, t('admin_acq_orders_value', a.orders)), { hours: a.orders.window_hours }),
    fact('admin_acq_callbacks', t('admin_acq_callbacks_value', a.callbacks)),
    fact('admin_acq_last_callback', last),
    fact('admin_col_calls', data(String(a.health.calls))),
    fact('admin_col_failures', data(String(a.health.failures))),
    fact('admin_col_last_success', a.health.last_success_at ? data(when(a.health.last_success_at)) : t('admin_never')),
    fact('admin_col_last_failure', a.health.last_failure_at ? lastFailure(a.health) : t('admin_never'))));
}

/// Each bind's state now and what went over it.
function smscStateTable(smscs) {
  const bind = (s) => t(`admin_bind_${s.state}`);
  return table({ id: 'smscs', caption: t('admin_cap_binds'), csv: 'smsc-binds.csv', empty: 'admin_no_smscs', columns: [
    { label: 'admin_col_operator', value: (s) => s.operator },
    { label: 'admin_col_bind', value: (s) => `${bind(s)} ${t('admin_since', { at: when(s.since) })}`,
      cell: (s) => h('div', { class: 'stack' }, h('span', { class: `status ${s.state}` }, bind(s)), h('span', { class: 'muted nowrap' }, t('admin_since', { at: when(s.since) }))) },
    { label: 'admin_col_last_error', value: (s) => (s.last_error ? `${when(s.last_error_at)} · ${s.last_error}` : ''),
      cell: (s) => (s.last_error ? h('div', { class: 'stack' }, data(when(s.last_error_at)), data(s.last_error)) : '') },
    { label: 'admin_col_backlog', value: (s) => String(s.backlog) },
    { label: 'admin_col_submits', value: (s) => (s.submit_failures ? `${s.submits} (${s.submit_failures} ${t('admin_col_failures')})` : String(s.submits)) },
    { label: 'admin_col_deliveries', value: (s) => String(s.deliveries) },
    { label: 'admin_col_receipts', value: (s) => String(s.receipts) },
  ], rows: smscs });
}

/// Where each bind goes, as whom (never its password) and within which limits.
function smscConfigTable(smscs) {
  if (!smscs.length) return null;
  return table({ id: 'smsc-config', caption: t('admin_cap_bind_config'), csv: 'smsc-config.csv', columns: [
    { label: 'admin_col_operator', value: (s) => s.operator },
    { label: 'admin_col_address', value: (s) => `${s.host}:${s.port}`, cell: (s) => h('span', { class: 'data mono' }, `${s.host}:${s.port}`) },
    { label: 'admin_col_tls', value: (s) => t(s.tls ? 'admin_yes' : 'admin_no') },
    { label: 'admin_col_login', value: (s) => s.system_id },
    { label: 'admin_col_limits', value: (s) => t('admin_limits_value', { window: s.window, rate: s.throughput_per_s }) },
  ], rows: smscs });
}

function partners(main) {
  const box = h('div', { id: 'partners' });
  const draw = () => loading(box, () => staffApi('/v1/admin/partners'), ({ data: res }) => {
    box.append(
      h('h2', {}, t('admin_partners_operators')), operatorHealthTable(res.operators), operatorConfigTable(res.operators),
      h('h2', {}, t('admin_partners_acquirer')), acquirerFacts(res.acquirer),
      h('h2', {}, t('admin_partners_smscs')), smscStateTable(res.smscs), smscConfigTable(res.smscs),
      h('h2', {}, t('admin_partners_banks')), bankTable(res.banks, 'partner-banks'));
  });
  main.append(h('h1', {}, t('admin_partners_title')), h('p', { class: 'muted' }, t('admin_partners_text')),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'refresh-partners', class: 'secondary', onclick: draw }, t('admin_partners_refresh'))), box);
  draw();
}

/// Sends the zip with XMLHttpRequest, for the upload's progress (fetch has none).
function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const csrf = JSON.parse(localStorage.getItem('smsbus.staff') ?? '{}').csrf;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Content-Type', 'application/zip');
    xhr.setRequestHeader('Accept-Language', document.documentElement.lang);
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(Object.assign(new Error('refused'), { status: xhr.status, problem: body ?? {}, code: body?.code ?? `HTTP_${xhr.status}` }));
    };
    xhr.onerror = () => reject(Object.assign(new Error('network'), { status: 0, problem: {}, code: 'NETWORK' }));
    xhr.send(file);
  });
}

function gtfs(main) {
  const notices = noticeBox();
  const result = h('div');
  const bar = h('progress', { max: '100', value: '0', 'aria-label': t('admin_gtfs_progress') });
  const step = h('p', { class: 'muted', 'aria-live': 'polite' });
  const cities = h('select', {});
  staffApi('/v1/cities').then(({ data: res }) => cities.replaceChildren(...res.cities.map((c) => h('option', { value: c.id }, c.name ?? c.id)))).catch(() => {});
  const file = h('input', { type: 'file', accept: '.zip,application/zip', required: true });
  main.append(h('h1', {}, t('admin_gtfs_title')), h('p', { class: 'muted' }, t('admin_gtfs_text')), notices,
    h('form', { class: 'card', id: 'gtfs', onsubmit: async (e) => {
      e.preventDefault();
      const zip = file.files[0];
      if (!zip) return;
      result.replaceChildren();
      bar.value = 0;
      step.textContent = t('admin_gtfs_uploading');
      try {
        const summary = await upload(`/v1/admin/cities/${encodeURIComponent(cities.value)}/gtfs`, zip, (done, total) => {
          bar.value = Math.round((done / total) * 100);
          if (done === total) step.textContent = t('admin_gtfs_checking');
        });
        bar.value = 100;
        step.textContent = t('admin_gtfs_done');
        notice(notices, t('admin_gtfs_imported', { stops: summary.stops, routes: summary.routes, trips: summary.trips }));
        result.append(
          h('dl', { class: 'facts' },
            h('dt', {}, t('admin_gtfs_problems')), h('dd', { id: 'problem-count' }, String(summary.problem_count)),
            h('dt', {}, t('admin_gtfs_linked')), h('dd', {}, data(summary.linked_routes.join(', '))),
            h('dt', {}, t('admin_gtfs_unlinked')), h('dd', {}, data(summary.unlinked_routes.join(', '))),
            h('dt', {}, t('admin_gtfs_digest')), h('dd', {}, h('span', { class: 'data mono' }, summary.feed_sha256))),
          h('h2', {}, t('admin_gtfs_problem_list')),
          table({ id: 'problems', csv: 'gtfs-problems.csv', empty: 'admin_gtfs_no_problems', columns: [
            { label: 'admin_col_kind', value: (p) => known(`admin_problem_${p.kind.replace(/ /g, '_')}`, p.kind) }, { label: 'admin_col_where', value: (p) => p.text }], rows: summary.problems }));
      } catch (error) {
        step.textContent = t('admin_gtfs_refused');
        notice(notices, '', error);
      }
    } },
    field('gtfs-city', t('admin_city'), cities),
    field('gtfs-file', t('admin_gtfs_file'), file, t('admin_gtfs_file_hint')),
    h('button', { type: 'submit' }, t('admin_gtfs_upload')), bar, step), result);
}

function live(main) {
  const notices = noticeBox();
  // What is registered: trackers with their bus, feed tokens with their city and scope (the
  // server never sends a password or a token; a token is named by its digest's prefix).
  const trackers = h('div');
  const tokens = h('div');
  const draw = () => {
    loading(trackers, () => staffApi('/v1/admin/live/trackers'), ({ data: res }) => {
      trackers.append(table({ id: 'trackers', csv: 'trackers.csv', empty: 'admin_no_trackers', columns: [
        { label: 'admin_tracker_id', value: (x) => x.tracker_id },
        { label: 'admin_col_code', value: (x) => x.transport_code },
        { label: 'admin_col_created', value: (x) => when(x.created_at) }], rows: res.trackers }));
    });
    loading(tokens, () => staffApi('/v1/admin/live/feed-tokens'), ({ data: res }) => {
      tokens.append(table({ id: 'feed-tokens', csv: 'feed-tokens.csv', empty: 'admin_no_feed_tokens', columns: [
        { label: 'admin_col_id', value: (x) => x.id },
        { label: 'admin_city', value: (x) => x.city },
        { label: 'admin_col_name', value: (x) => x.name },
        { label: 'admin_feed_scope', value: (x) => [x.carrier ? t('admin_feed_scope_carrier', { carrier: x.carrier }) : null, x.vehicles.length ? x.vehicles.join(', ') : null].filter(Boolean).join(' · ') || t('admin_feed_scope_own') },
        { label: 'admin_authoritative', value: (x) => t(x.authoritative ? 'admin_yes' : 'admin_no') },
        { label: 'admin_col_created', value: (x) => when(x.created_at) }], rows: res.feed_tokens }));
    });
  };
  main.append(h('h1', {}, t('admin_live_title')), h('p', { class: 'muted' }, t('admin_live_text')), notices,
    h('div', { class: 'grid2' },
      form({ id: 'tracker', title: 'admin_add_tracker', button: 'admin_add', fields: [
        { id: 'tracker_id', label: 'admin_tracker_id', required: true }, { id: 'password', label: 'staff_password', kind: 'password', required: true },
        { id: 'transport_code', label: 'admin_col_code', required: true }],
      submit: async (v, el) => { if (await run(notices, t('admin_tracker_added', { id: v.tracker_id }), () => staffApi('/v1/admin/live/trackers', { method: 'POST', body: v }))) { el.reset(); draw(); } } }),
      form({ id: 'feed-token', title: 'admin_add_feed_token', button: 'admin_add', fields: [
        { id: 'city', label: 'admin_city', required: true }, { id: 'name', label: 'admin_col_name', required: true },
        { id: 'vehicles', label: 'admin_vehicles', hint: 'admin_list_hint' }, { id: 'carrier', label: 'admin_col_carrier' },
        { id: 'authoritative', label: 'admin_authoritative', kind: 'checkbox' }],
      submit: async (v, el) => {
        const body = { city: v.city, name: v.name, vehicles: list(v.vehicles), authoritative: v.authoritative };
        if (v.carrier) body.carrier = v.carrier;
        if (await run(notices, (r) => t('admin_secret_once', { secret: r.data.token }), () => staffApi('/v1/admin/live/feed-tokens', { method: 'POST', body }))) { el.reset(); draw(); }
      } })),
    h('h2', {}, t('admin_trackers')), trackers,
    h('h2', {}, t('admin_feed_tokens')), tokens);
  draw();
}

function audit(main) {
  const notices = noticeBox();
  const box = h('div');
  const verdict = h('div', { id: 'verdict', 'aria-live': 'polite' });
  const actor = h('input', { type: 'search' });
  const object = h('input', { type: 'search' });
  const draw = () => loading(box, () => {
    const q = new URLSearchParams();
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (object.value.trim()) q.set('object', object.value.trim());
    return staffApi(`/v1/admin/audit?${q}`);
  }, ({ data: res }) => {
    box.append(table({ id: 'audit', csv: 'audit.csv', columns: [
      { label: 'admin_col_seq', value: (e) => String(e.seq) }, { label: 'office_col_when', value: (e) => when(e.at) },
      { label: 'office_col_actor', value: (e) => e.actor }, { label: 'office_col_action', value: (e) => auditAction(e.action) },
      { label: 'office_col_object', value: (e) => e.object }, { label: 'admin_col_before', value: (e) => e.before },
      { label: 'office_col_after', value: (e) => e.after }], rows: res.entries }));
  });
  main.append(h('h1', {}, t('admin_audit_title')), notices,
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'verify', onclick: async () => {
      const r = await run(notices, (res) => (res.data.intact ? t('admin_audit_intact', { n: res.data.entries }) : t('admin_audit_broken', { where: res.data.broken })), () => staffApi('/v1/admin/audit/verify'));
      if (r) verdict.replaceChildren(h('span', { class: `status ${r.data.intact ? 'intact' : 'broken'}` }, t(r.data.intact ? 'admin_intact' : 'admin_broken')));
    } }, t('admin_audit_verify')), verdict),
    h('form', { class: 'row search', role: 'search', onsubmit: (e) => { e.preventDefault(); draw(); } },
      field('audit-actor', t('office_col_actor'), actor), field('audit-object', t('office_col_object'), object, t('admin_object_hint')),
      h('button', { type: 'submit' }, t('console_search'))), box);
  draw();
}

startConsole({
  title: 'admin_title',
  roles: ['admin'],
  menu: [
    { id: 'keys', label: 'admin_menu_keys', render: keys },
    { id: 'staff', label: 'admin_menu_staff', render: staff },
    { id: 'credentials', label: 'admin_menu_credentials', render: credentials },
    { id: 'catalogue', label: 'admin_menu_catalogue', render: catalogue },
    { id: 'banks', label: 'admin_menu_banks', render: banks },
    { id: 'partners', label: 'admin_menu_partners', render: partners },
    { id: 'gtfs', label: 'admin_menu_gtfs', render: gtfs },
    { id: 'live', label: 'admin_menu_live', render: live },
    { id: 'audit', label: 'admin_menu_audit', render: audit },
    { id: 'reports', label: 'admin_menu_reports', href: '/reports/', render: keys },
  ],
});
