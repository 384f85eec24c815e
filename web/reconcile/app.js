// Reconciliation for the system operator (admins), at /reconcile/: import a partner's daily
// file (a bank's registry, the acquirer's settlement report, an operator's settlement report),
// see each day's report, and resolve the discrepancies still open — credit (what they took
// reaches the card), reversal (what we credited and they never took goes back), write-off —
// each booked and audited by the server, once. Every report shows a chart of its lines by
// outcome (matched against each kind of discrepancy) and downloads as CSV with every line, its
// outcome and its resolution.
import { t, money, phoneLanguage, setLanguage, translate, LANGUAGES, language } from '../lib/i18n.js';
import { h, field, problemView } from '../lib/ui.js';
import { account, signInForm, signOut, staffApi } from '../lib/staff.js';
import { barChart } from '../lib/charts.js';
import { downloadCsv } from '../staff/console.js';

/// The outcomes a line can have, in the server's order (domain::reconcile::Outcome::ALL).
const OUTCOMES = ['matched', 'missing_ours', 'missing_theirs', 'sum_mismatch', 'duplicate', 'wrong_date'];

const main = document.getElementById('main');

/// The resolutions that fit a line (the server decides; only these are offered).
function resolutions(line) {
  const operator = (line.report ?? '').startsWith('operator:');
  const theirs = line.theirs?.tiyn ?? 0;
  const ours = line.ours?.tiyn ?? 0;
  const out = [];
  if (!operator && ['missing_ours', 'sum_mismatch'].includes(line.outcome) && theirs > ours && /^\d{16}$/.test(line.account)) out.push('credit');
  if (!operator && ['missing_theirs', 'sum_mismatch'].includes(line.outcome) && ours > theirs) out.push('reversal');
  out.push('write_off');
  return out;
}

const amount = (m) => (m ? money(m) : '—');

/// Where a line stands: matched, still open, or how (and by whom) it was resolved.
function standing(line) {
  if (line.outcome === 'matched') return '—';
  return line.resolution ? t(`rec_resolved_${line.resolution}`) : t('rec_resolved_open');
}

/// A report's every line, as the CSV download writes them.
const CSV_COLUMNS = [
  { label: 'rec_col_reference', value: (l) => l.reference },
  { label: 'rec_col_outcome', value: (l) => t(`rec_outcome_${l.outcome}`) },
  { label: 'rec_account', value: (l) => l.account },
  { label: 'rec_theirs', value: (l) => (l.theirs ? money(l.theirs) : '') },
  { label: 'rec_ours', value: (l) => (l.ours ? money(l.ours) : '') },
  { label: 'rec_col_resolution', value: standing },
  { label: 'rec_col_resolved_by', value: (l) => l.resolved_by ?? '' },
  { label: 'rec_col_transfer', value: (l) => l.transfer_id ?? '' },
];

function reportItem(report) {
  const counts = new Map(OUTCOMES.map((o) => [o, 0]));
  for (const line of report.lines) counts.set(line.outcome, (counts.get(line.outcome) ?? 0) + 1);
  const name = `${t(`rec_kind_${report.partner_kind}`)} · ${report.partner} · ${report.day}`;
  const chart = barChart({
    title: t('rec_chart_title', { report: name }),
    points: OUTCOMES.map((o) => ({ label: t(`rec_outcome_${o}`), value: counts.get(o) })),
    width: 440,
    left: 150,
  });
  const file = `reconciliation-${report.partner_kind}-${report.partner}-${report.day}.csv`;
  return h('li', { dataset: { report: String(report.id), day: report.day } },
    h('strong', {}, name),
    h('p', { class: 'muted' }, t('rec_report_counts', { lines: report.their_lines, matched: report.matched, open: report.open })),
    h('figure', { class: 'rec-chart', style: { margin: '8px 0' } }, chart),
    h('button', { type: 'button', class: 'secondary', dataset: { action: 'csv' }, onclick: () => downloadCsv(file, CSV_COLUMNS, report.lines) }, t('rec_csv')));
}

function discrepancyItem(line, redraw) {
  const problem = h('div', { 'aria-live': 'polite' });
  const buttons = resolutions(line).map((resolution) => h('button', {
    type: 'button', class: resolution === 'write_off' ? 'secondary' : '', dataset: { resolve: resolution, line: String(line.id) },
    onclick: async (e) => {
      e.target.disabled = true;
      try {
        await staffApi(`/v1/admin/reconciliation/discrepancies/${line.id}/resolve`, { method: 'POST', body: { resolution } });
        redraw();
      } catch (error) {
        e.target.disabled = false;
        problem.replaceChildren(problemView(error));
      }
    },
  }, t(`rec_resolve_${resolution}`)));
  return h('li', { dataset: { reference: line.reference, outcome: line.outcome } },
    h('p', {}, h('strong', {}, t(`rec_outcome_${line.outcome}`)), ' · ', line.reference),
    h('dl', { class: 'facts' },
      h('dt', {}, t('rec_report')), h('dd', {}, line.report ?? ''),
      h('dt', {}, t('rec_account')), h('dd', {}, line.account || '—'),
      h('dt', {}, t('rec_theirs')), h('dd', {}, amount(line.theirs)),
      h('dt', {}, t('rec_ours')), h('dd', {}, amount(line.ours))),
    h('div', { class: 'choice', role: 'group', 'aria-label': t('rec_resolve'), style: { gridTemplateColumns: 'repeat(auto-fit, minmax(9rem, 1fr))' } }, buttons),
    problem);
}

function uploadForm(redraw) {
  const kind = h('select', {}, ['bank', 'acquirer', 'operator'].map((k) => h('option', { value: k }, t(`rec_kind_${k}`))));
  const partner = h('input', { type: 'text', required: true, pattern: '[a-z0-9-]{1,32}', autocapitalize: 'none', spellcheck: 'false', value: 'kaspi' });
  const day = h('input', { type: 'date', required: true, value: new Date(Date.now() + 5 * 3600e3).toISOString().slice(0, 10) });
  const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', required: true });
  const result = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'wide', id: 'rec-import' }, t('rec_import'));
  return h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    submit.disabled = true;
    result.replaceChildren();
    try {
      const { data } = await staffApi(`/v1/admin/reconciliation/${kind.value}/${encodeURIComponent(partner.value.trim())}/${day.value}`, { method: 'POST', body: await chosen.text() });
      result.replaceChildren(h('p', { class: 'ok', role: 'status' }, t('rec_imported', { lines: data.their_lines, matched: data.matched, open: data.open })));
      redraw(result);
    } catch (error) {
      result.replaceChildren(problemView(error));
    } finally {
      submit.disabled = false;
    }
  } },
  h('h2', {}, t('rec_import_title')),
  field('rec-kind', t('rec_kind'), kind),
  field('rec-partner', t('rec_partner'), partner, t('rec_partner_hint')),
  field('rec-day', t('rec_day'), day),
  field('rec-file', t('rec_file'), file, t('rec_file_hint')),
  submit, result);
}

async function board() {
  const header = h('div', {},
    h('h1', {}, t('rec_title')),
    h('p', { class: 'muted' }, t('staff_signed_in', { login: account()?.login ?? '', role: t(`staff_role_${account()?.role ?? 'admin'}`) })),
    h('div', { class: 'languages', role: 'group', 'aria-label': t('rec_language') },
      LANGUAGES.map((lang) => h('button', { type: 'button', lang, 'aria-pressed': String(language() === lang), onclick: () => { localStorage.setItem('smsbus.lang', lang); setLanguage(lang); translate(); board(); } }, t(`lang_${lang}`)))),
    h('button', { type: 'button', class: 'secondary', onclick: async () => { await signOut(); start(); } }, t('staff_signout')));
  const open = h('section', { 'aria-labelledby': 'rec-open' }, h('h2', { id: 'rec-open' }, t('rec_open_title')), h('p', { class: 'muted' }, t('loading')));
  const reports = h('section', { 'aria-labelledby': 'rec-reports' }, h('h2', { id: 'rec-reports' }, t('rec_reports_title')), h('p', { class: 'muted' }, t('loading')));
  const keep = { notice: null };
  const redraw = async (notice) => {
    if (notice) keep.notice = notice;
    try {
      const [{ data: d }, { data: r }] = await Promise.all([
        staffApi('/v1/admin/reconciliation/discrepancies'), staffApi('/v1/admin/reconciliation/reports')]);
      open.replaceChildren(h('h2', { id: 'rec-open' }, t('rec_open_title')),
        d.discrepancies.length ? h('ul', { class: 'list', id: 'rec-discrepancies' }, d.discrepancies.map((l) => discrepancyItem(l, () => redraw()))) : h('p', { role: 'status' }, t('rec_none_open')));
      reports.replaceChildren(h('h2', { id: 'rec-reports' }, t('rec_reports_title')),
        r.reports.length ? h('ul', { class: 'list', id: 'rec-report-list' }, r.reports.map(reportItem))
          : h('p', {}, t('rec_no_reports')));
    } catch (error) {
      open.replaceChildren(h('h2', { id: 'rec-open' }, t('rec_open_title')), problemView(error));
    }
  };
  main.replaceChildren(header, uploadForm(redraw), open, reports);
  document.title = `${t('app_name')} · ${t('rec_title')}`;
  redraw();
}

function start() {
  if (account()?.role === 'admin') {
    board();
    return;
  }
  main.replaceChildren(signInForm({ title: t('rec_title'), roles: ['admin'], onSignedIn: () => board() }));
  document.title = `${t('app_name')} · ${t('rec_title')}`;
}

setLanguage(localStorage.getItem('smsbus.lang') || phoneLanguage());
translate();
window.addEventListener('smsbus:staff-signed-out', start);
start();
