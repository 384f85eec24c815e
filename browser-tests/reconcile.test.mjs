// The reconciliation screen (web/reconcile/) in Debian's Chromium at a desktop's size, against
// a real demo: the admin signs in (password and TOTP), imports a bank registry generated with
// a payment we never booked and a line of another day, sees both listed, credits the first
// (the demo card's balance grows by it, once) and writes the second off; nothing stays open.
// The report then charts its lines by outcome and downloads as CSV with every line and how it
// was resolved. axe-core and the catalogue check in kk, ru and en; screenshots
// ../screenshots/reconcile-*.
import { readFileSync } from 'node:fs';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../web/lib/messages.js';
import { firstCard, passengerSession, screen as checked, startDemo, totp } from './demo.mjs';

const HOLDER = '+77051234567';
const ADMIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
let demo;

before(async () => {
  demo = await startDemo(22000 + (process.pid % 1000));
});

after(async () => demo?.stop());

const screen = (page, lang, name) => checked(page, lang, `reconcile-${name}`, 'rec_');

test('an admin imports a bank registry, credits what we never booked and writes off the rest', async () => {
  const { token } = await passengerSession(demo.base, HOLDER);
  const card = () => firstCard(demo.base, token);
  const before = await card();
  const day = new Date(Date.now() + 5 * 3600e3).toISOString().slice(0, 10);
  const compact = day.replaceAll('-', '');
  const registry = `txn_id;txn_date;account;sum;prv_txn_id\nbrowser-1;${compact}120000;${before.number};300.00;\nbrowser-2;20200101120000;${before.number};70.00;\ntotal;2;370.00\n`;
  // bypassCSP only lets axe-core's script in.
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en', bypassCSP: true, baseURL: demo.base });
  const page = await context.newPage();
  await page.goto('/reconcile/');
  await page.locator('#staff-login').fill(ADMIN.login);
  await page.locator('#staff-password').fill(ADMIN.password);
  await page.locator('button[type=submit]').click();
  await page.locator('#staff-totp').waitFor();
  await screen(page, 'en', 'signin');
  // The form is drawn anew with the code's field: everything is typed again.
  await page.locator('#staff-login').fill(ADMIN.login);
  await page.locator('#staff-password').fill(ADMIN.password);
  await page.locator('#staff-totp').fill(totp(ADMIN.secret));
  await page.locator('button[type=submit]').click();
  await page.locator('#rec-import').waitFor();
  await page.locator('#rec-kind').selectOption('bank');
  await page.locator('#rec-partner').fill('kaspi');
  await page.locator('#rec-day').fill(day);
  await page.locator('#rec-file').setInputFiles({ name: 'kaspi.csv', mimeType: 'text/csv', buffer: Buffer.from(registry) });
  await page.locator('#rec-import').click();
  await page.locator('#rec-discrepancies li').nth(1).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(MESSAGES.en.rec_outcome_missing_ours));
  await screen(page, 'en', 'open');
  for (const lang of ['kk', 'ru']) {
    await page.locator(`.languages button[lang="${lang}"]`).click();
    await page.locator('#rec-discrepancies li').nth(1).waitFor();
    await screen(page, lang, 'open');
  }
  await page.locator('.languages button[lang="en"]').click();
  const missing = page.locator('li[data-reference="browser-1"]');
  await missing.locator('button[data-resolve="credit"]').click();
  await missing.waitFor({ state: 'detached' });
  assert.equal((await card()).balance.tiyn, before.balance.tiyn + 30000, 'credited once, by their sum');
  const other = page.locator('li[data-reference="browser-2"]');
  assert.equal(await other.locator('button[data-resolve="credit"]').count(), 0, 'another day is not credited');
  await other.locator('button[data-resolve="write_off"]').click();
  await page.locator('main').getByText(MESSAGES.en.rec_none_open).waitFor();
  await screen(page, 'en', 'resolved');
  assert.equal((await card()).balance.tiyn, before.balance.tiyn + 30000);
  // The report: a chart with one bar per outcome, titled with the report, and its CSV.
  const report = page.locator(`#rec-report-list li[data-day="${day}"]`).first();
  const chart = report.locator('svg.chart');
  await chart.waitFor();
  assert.equal(await chart.locator('rect.bar').count(), 6, 'matched and each kind of discrepancy');
  assert.match(await chart.getAttribute('aria-label'), new RegExp(`${MESSAGES.en.rec_kind_bank} · kaspi · ${day}`));
  assert.match(await chart.innerHTML(), new RegExp(`${MESSAGES.en.rec_outcome_wrong_date}</text>`));
  const [download] = await Promise.all([page.waitForEvent('download'), report.locator('button[data-action="csv"]').click()]);
  assert.equal(download.suggestedFilename(), `reconciliation-bank-kaspi-${day}.csv`);
  const csv = readFileSync(await download.path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r\n/);
  assert.equal(csv[0], ['rec_col_reference', 'rec_col_outcome', 'rec_account', 'rec_theirs', 'rec_ours', 'rec_col_resolution', 'rec_col_resolved_by', 'rec_col_transfer'].map((k) => MESSAGES.en[k]).join(','));
  const row = (reference) => csv.find((l) => l.startsWith(`${reference},`)) ?? '';
  assert.match(row('browser-1'), new RegExp(`^browser-1,${MESSAGES.en.rec_outcome_missing_ours},${before.number},.*,${MESSAGES.en.rec_resolved_credit},[^,]+,.+$`), csv.join('\n'));
  assert.match(row('browser-2'), new RegExp(`^browser-2,${MESSAGES.en.rec_outcome_wrong_date},${before.number},.*,${MESSAGES.en.rec_resolved_write_off},[^,]+,$`), csv.join('\n'));
  await report.scrollIntoViewIfNeeded();
  for (const lang of ['kk', 'ru', 'en']) {
    await page.locator(`.languages button[lang="${lang}"]`).click();
    await page.locator(`#rec-report-list li[data-day="${day}"] svg.chart`).first().waitFor();
    await screen(page, lang, 'report');
  }
  await context.close();
});
