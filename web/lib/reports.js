// The ride and revenue report as staff see it, shared by the reports app (admins: every
// carrier; the office: its cities) and the carrier's dashboard (its own carrier only: the
// server refuses another's with SCOPE_FORBIDDEN). Totals come from the API, which reads them
// off the ledger; the charts and tables only arrange them. CSV and the month's PDF are plain
// downloads of the same report.
import { t, money } from './i18n.js';
import { h, field, problemView } from './ui.js';
import { staffApi } from './staff.js';
import { columnChart, barChart } from './charts.js';

const OPERATORS = { beeline: 'Beeline', kcell: 'Kcell', tele2: 'Tele2' };
const iso = (d) => d.toISOString().slice(0, 10);
const KAZAKHSTAN_OFFSET_MS = 5 * 3600 * 1000;

export function sourceName(source) {
  return source === 'card' ? t('rep_source_card') : (OPERATORS[source] ?? source);
}

function sum(lines, key) {
  return lines.reduce((total, l) => total + (typeof l[key] === 'object' ? l[key].tiyn : l[key]), 0);
}

function groupBy(lines, key, value) {
  const out = new Map();
  for (const l of lines) {
    const k = key(l);
    out.set(k, (out.get(k) ?? 0) + value(l));
  }
  return out;
}

function table(caption, headers, rows) {
  return h('div', { class: 'scroll' }, h('table', { class: 'data' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i ? h('td', { class: 'num' }, c) : h('th', { scope: 'row' }, c))))))));
}

function tile(label, value, name) {
  return h('div', { class: 'tile', dataset: { tile: name } }, h('span', { class: 'label' }, label), h('strong', {}, value));
}

/// The report screen. `carrier`: the carrier's own view; `cities`: [{id, name}] for a city
/// filter (admins, the office).
export function reportView({ carrier, cities = [] }) {
  const root = h('section', { class: 'report' });
  // Days are Kazakhstan's (UTC+5, the offset the catalogue gives every city), as the server
  // counts them: at 01:00 in Astana "today" is already the next UTC day's date.
  const today = new Date(Date.now() + KAZAKHSTAN_OFFSET_MS);
  const from = h('input', { type: 'date', value: iso(new Date(today.getTime() - 29 * 86400000)), required: true });
  const to = h('input', { type: 'date', value: iso(today), required: true });
  const city = cities.length
    ? h('select', {}, h('option', { value: '' }, t('rep_all_cities')), cities.map((c) => h('option', { value: c.id }, c.name)))
    : null;
  const out = h('div', { class: 'report-body', 'aria-live': 'polite' });
  const month = h('input', { type: 'month', value: iso(today).slice(0, 7) });
  const query = () => {
    const q = new URLSearchParams({ from: from.value, to: to.value });
    if (city?.value) q.set('city', city.value);
    return q;
  };
  const path = (format) => {
    const q = query();
    if (format) q.set('format', format);
    return carrier ? `/v1/carriers/${carrier}/reports/rides?${q}` : `/v1/reports/rides?${q}`;
  };
  const csv = h('a', { class: 'button secondary', download: '', href: path('csv'), dataset: { action: 'csv' } }, t('rep_csv'));
  const pdf = carrier
    ? h('a', { class: 'button secondary', download: '', dataset: { action: 'month-pdf' } }, t('rep_month_pdf'))
    : null;
  const refreshLinks = () => {
    csv.href = path('csv');
    if (pdf) pdf.href = `/v1/carriers/${carrier}/settlement/${month.value}?format=pdf`;
  };
  month.addEventListener('change', refreshLinks);
  const load = async () => {
    refreshLinks();
    out.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    try {
      const { data } = await staffApi(path());
      out.replaceChildren(...draw(data, { carrier }).filter(Boolean));
    } catch (error) {
      out.replaceChildren(problemView(error));
    }
  };
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); load(); } },
    field('rep-from', t('rep_from'), from),
    field('rep-to', t('rep_to'), to),
    city ? field('rep-city', t('rep_city'), city) : null,
    h('button', { type: 'submit' }, t('rep_show')));
  root.append(form,
    h('div', { class: 'row actions' }, csv, pdf ? field('rep-month', t('rep_month'), month) : null, pdf),
    out);
  refreshLinks();
  load();
  return root;
}

function draw(data, { carrier }) {
  const lines = data.lines;
  const tiles = h('div', { class: 'tiles' },
    tile(t('rep_rides'), String(sum(lines, 'rides')), 'rides'),
    tile(t('rep_fares'), money({ tiyn: sum(lines, 'fares') }), 'fares'),
    tile(t('rep_refunds'), `${sum(lines, 'refunds')} · ${money({ tiyn: sum(lines, 'refunded') })}`, 'refunds'),
    tile(carrier ? t('rep_payable_own') : t('rep_payable'), money(data.total_payable), 'payable'),
    tile(t('rep_subsidy'), money({ tiyn: data.subsidy.reduce((s, x) => s + x.amount.tiyn, 0) }), 'subsidy'));
  if (!lines.length) return [tiles, h('p', { class: 'muted' }, t('rep_none'))];
  const days = [];
  for (let d = new Date(`${data.from}T00:00:00Z`); iso(d) <= data.to; d = new Date(d.getTime() + 86400000)) days.push(iso(d));
  const perDay = groupBy(lines, (l) => l.day, (l) => l.payable.tiyn);
  const perRoute = groupBy(lines, (l) => l.route_number, (l) => l.rides - l.refunds);
  const perVehicle = new Map();
  for (const l of lines) {
    const v = perVehicle.get(l.transport_code) ?? { route: l.route_number, rides: 0, refunds: 0, payable: 0 };
    v.rides += l.rides; v.refunds += l.refunds; v.payable += l.payable.tiyn;
    perVehicle.set(l.transport_code, v);
  }
  const tenge = (tiyn) => money({ tiyn });
  const dayLabel = (d) => `${Number(d.slice(8))}.${d.slice(5, 7)}`;
  const parts = [
    tiles,
    h('p', { class: 'muted' }, t('rep_no_commission')),
    h('div', { class: 'charts' },
      h('figure', { class: 'card' }, h('figcaption', {}, t('rep_by_day')),
        columnChart({ title: t('rep_chart_day', { from: data.from, to: data.to }), points: days.map((d) => ({ label: dayLabel(d), value: (perDay.get(d) ?? 0) })), format: (v) => tenge(v) })),
      h('figure', { class: 'card' }, h('figcaption', {}, t('rep_by_route')),
        barChart({ title: t('rep_chart_route'), points: [...perRoute].sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label: `№${label}`, value })) }))),
    h('div', { class: 'tables' },
      table(t('rep_by_vehicle'), [t('rep_vehicle'), t('rep_route'), t('rep_rides'), t('rep_refunds'), t('rep_amount')],
        [...perVehicle].map(([code, v]) => [code, v.route, String(v.rides), String(v.refunds), tenge(v.payable)])),
      table(t('rep_by_source'), [t('rep_source'), t('rep_amount')], data.by_source.map((o) => [sourceName(o.party), money(o.amount)])),
      carrier ? null : table(t('rep_by_carrier'), [t('rep_carrier'), t('rep_amount')], data.by_carrier.map((o) => [o.party, money(o.amount)])),
      data.by_bank.length ? table(t('rep_by_bank'), [t('rep_source'), t('rep_amount')], data.by_bank.map((o) => [o.party.toUpperCase(), money(o.amount)])) : null,
      data.subsidy.length ? table(t('rep_subsidy_title'), [t('rep_city'), t('rep_category'), t('rep_amount')], data.subsidy.map((s) => [s.city, t(`rider_${s.category}`), s.estimated ? `${money(s.amount)} (${t('rep_estimated')})` : money(s.amount)])) : null),
    data.subsidy.some((s) => s.estimated) ? h('p', { class: 'muted', id: 'subsidy-estimated' }, t('rep_estimated_note')) : null,
  ];
  return parts;
}
