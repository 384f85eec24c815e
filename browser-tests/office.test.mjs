// The office clerk's console (/office/) in Debian's Chromium at a desktop's size, against a
// real demo: the clerk of Astana approves a preferential application with the document seen,
// finds the demo's card holder by phone and by card number, blocks and unblocks the card,
// refunds a card ride, closes the card paying its balance out in cash, and sees each action in
// the passenger's record; the ledger holds and the card pays nothing more. Every screen in
// kk, ru and en: axe-core and the catalogue's texts. Screenshots: ../screenshots/office-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../web/lib/messages.js';
import { startDemo, passenger, call, signIn, chooseLanguage, screen, DESKTOP, OFFICE } from './consoles.mjs';

const HOLDER = '+77051234567';
const APPLICANTS = ['+77011234567', '+77021234567', '+77071234567'];
let demo;
let card;
let holderToken;
const checks = [];

before(async () => {
  demo = await startDemo(0);
  holderToken = await passenger(demo.base, HOLDER);
  card = (await call(demo.base, holderToken, '/v1/cards')).body.cards[0].number;
  const topUp = await fetch(`${demo.base}/v1/banks/kaspi/biller?command=pay&txn_id=office-1&txn_date=20261201120000&account=${card}&sum=500.00`,
    { headers: { Authorization: 'Bearer demo-kaspi-bank-secret-0000' } });
  assert.match(await topUp.text(), /<result>0<\/result>/);
  for (const key of ['office-ride-1', 'office-ride-2']) {
    const ride = await call(demo.base, holderToken, '/v1/rides', { method: 'POST', headers: { 'Idempotency-Key': key }, body: { transport_code: '10101', card, additional: true } });
    assert.equal(ride.status, 201, JSON.stringify(ride.body));
    checks.push(ride.body.check_number);
  }
  // A phone-balance ride, refunded later through the simulated operator.
  const phoneRide = await call(demo.base, holderToken, '/v1/rides', { method: 'POST', headers: { 'Idempotency-Key': 'office-ride-phone' }, body: { transport_code: '10102' } });
  assert.equal(phoneRide.status, 201, JSON.stringify(phoneRide.body));
  checks.push(phoneRide.body.check_number);
  for (const [i, phone] of APPLICANTS.entries()) {
    const token = await passenger(demo.base, phone);
    const applied = await call(demo.base, token, '/v1/card-applications', { method: 'POST', body: {
      city: 'astana', category: ['pensioner', 'student', 'disability'][i], full_name: ['Бауыржан Омаров', 'Дана Ахметова', 'Ерлан Сапаров'][i],
      document_kind: 'certificate', document_number: `ПУ-12345${i}` } });
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
  }
});

after(async () => { await demo?.stop(); });

async function openConsole(lang) {
  const context = await demo.browser.newContext({ ...DESKTOP, baseURL: demo.base });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto('/office/');
  await chooseLanguage(page, lang);
  await page.locator('#staff-login').waitFor();
  return { context, page };
}

async function confirm(page, fill = {}) {
  const dialog = page.locator('dialog.confirm');
  await dialog.waitFor();
  for (const [id, value] of Object.entries(fill)) {
    const input = dialog.locator(`#dialog-${id}`);
    if (await input.evaluate((el) => el.tagName) === 'SELECT') await input.selectOption(value);
    else await input.fill(value);
  }
  await dialog.locator('button[type=submit]').click();
  await dialog.waitFor({ state: 'detached' });
}

test('the clerk approves, finds, blocks, unblocks, refunds and pays out, and sees it all in the record', async () => {
  const lang = 'en';
  const m = MESSAGES[lang];
  const { context, page } = await openConsole(lang);
  await screen(page, 'office', lang, 'signin');
  await signIn(page, OFFICE);
  await page.locator('#queue table').waitFor();
  await screen(page, 'office', lang, 'queue');
  // Approve the first application with the document seen.
  await page.locator('button[data-approve]').first().click();
  await page.locator('dialog.confirm #dialog-until').fill('2030-12-31');
  await screen(page, 'office', lang, 'approve');
  await page.locator('dialog.confirm button[type=submit]').click();
  await page.locator('.notices .ok').waitFor();
  assert.match(await page.locator('.notices').innerText(), /Бауыржан Омаров/);
  assert.equal(await page.locator('button[data-approve]').count(), 2);

  // Found by phone, and by the card number as printed (grouped).
  await page.locator('nav.side a[href="#/search"]').click();
  await page.locator('#passenger-search').fill(HOLDER);
  await page.locator('form.search button[type=submit]').click();
  await page.locator(`#found a[data-open="${HOLDER}"]`).waitFor();
  const grouped = card.replace(/(\d{4})(?=\d)/g, '$1 ');
  await page.locator('#passenger-search').fill(grouped);
  await page.locator('form.search button[type=submit]').click();
  await page.locator('#found').filter({ hasText: grouped }).waitFor();
  await screen(page, 'office', lang, 'search');
  // A mistyped digit is caught by the check digit.
  await page.locator('#passenger-search').fill(card.slice(0, 15) + String((Number(card[15]) + 1) % 10));
  await page.locator('form.search button[type=submit]').click();
  await page.locator('.problem').waitFor();
  assert.match(await page.locator('.problem').innerText(), /CARD_NUMBER_MISTYPED/);
  await page.locator('#passenger-search').fill(grouped);
  await page.locator('form.search button[type=submit]').click();
  await page.locator(`#found a[data-open="${HOLDER}"]`).click();
  await page.locator('#cards table').waitFor();

  // Block, then unblock, with reasons.
  await page.locator(`button[data-block="${card}"]`).click();
  await confirm(page, { reason: 'lost phone' });
  await page.locator(`button[data-unblock="${card}"]`).waitFor();
  assert.match(await page.locator('#cards').innerText(), new RegExp(m.office_status_blocked));
  const blockedRide = await call(demo.base, holderToken, '/v1/rides', { method: 'POST', headers: { 'Idempotency-Key': 'office-ride-3' }, body: { transport_code: '10101', card, additional: true } });
  assert.equal(blockedRide.body.code, 'CARD_BLOCKED');
  await page.locator(`button[data-unblock="${card}"]`).click();
  await confirm(page, { reason: 'phone found' });
  await page.locator(`button[data-block="${card}"]`).waitFor();

  // Refund one card ride to the card.
  await page.locator(`button[data-refund="${checks[0]}"]`).click();
  await confirm(page, { reason: 'the bus broke down' });
  await page.locator(`button[data-refund="${checks[0]}"]`).waitFor({ state: 'detached' });
  assert.match(await page.locator('#tickets').innerText(), new RegExp(m.office_status_refunded));
  // The phone-balance ride: the operator refunds it, and the record says so.
  await page.locator(`button[data-refund="${checks[2]}"]`).click();
  await confirm(page, { reason: 'charged twice by mistake' });
  await page.locator(`button[data-refund="${checks[2]}"]`).waitFor({ state: 'detached' });
  // The record is drawn again after each action: read it once the other card ride is back.
  await page.locator(`button[data-refund="${checks[1]}"]`).waitFor();
  assert.equal(await page.locator(`button[data-refund]`).count(), 1);

  // Close the card and pay its balance out in cash: 500 − 90 (the ride kept) = 410.
  await page.locator(`button[data-payout="${card}"]`).click();
  await page.locator('dialog.confirm #dialog-way').waitFor();
  await screen(page, 'office', lang, 'payout');
  await confirm(page, { way: 'cash', reason: 'moving away' });
  await page.locator(`button[data-payout="${card}"]`).waitFor({ state: 'detached' });
  const cardsText = await page.locator('#cards').innerText();
  assert.match(cardsText, new RegExp(m.office_status_closed));
  assert.match(cardsText, /410/);

  // Every action is in the record, newest first, by the clerk.
  const auditText = await page.locator('#audit').innerText();
  for (const key of ['audit_card__payout', 'audit_ticket__refund', 'audit_card__unblock', 'audit_card__block']) assert.match(auditText, new RegExp(m[key]), key);
  assert.match(auditText, /office-astana/);
  await screen(page, 'office', lang, 'record');
  const record = await call(demo.base, (await adminlessOffice()), `/v1/office/passengers/${encodeURIComponent(HOLDER)}`);
  assert.equal(record.body.cards[0].status, 'closed');
  assert.equal(record.body.cards[0].payout.amount.amount, '410.00');
  const again = await call(demo.base, holderToken, '/v1/rides', { method: 'POST', headers: { 'Idempotency-Key': 'office-ride-4' }, body: { transport_code: '10101', card, additional: true } });
  assert.equal(again.body.code, 'CARD_CLOSED');
  await context.close();
});

/// A bearer session of the demo's clerk, for reading back what the screens did.
async function adminlessOffice() {
  const r = await fetch(`${demo.base}/v1/staff/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: OFFICE.login, password: OFFICE.password }) });
  return (await r.json()).token;
}

for (const lang of ['kk', 'ru']) {
  test(`every office screen in ${lang}`, async () => {
    const { context, page } = await openConsole(lang);
    await screen(page, 'office', lang, 'signin');
    await signIn(page, OFFICE);
    await page.locator('#queue table').waitFor();
    await screen(page, 'office', lang, 'queue');
    await page.locator('button[data-approve]').first().click();
    await screen(page, 'office', lang, 'approve');
    await page.locator('dialog.confirm button.secondary').click();
    await page.locator('nav.side a[href="#/search"]').click();
    await page.locator('#passenger-search').fill('Айгерим');
    await page.locator('form.search button[type=submit]').click();
    await page.locator(`#found a[data-open="${HOLDER}"]`).waitFor();
    await screen(page, 'office', lang, 'search');
    await page.locator(`#found a[data-open="${HOLDER}"]`).click();
    await page.locator('#audit table').waitFor();
    await screen(page, 'office', lang, 'record');
    await context.close();
  });
}
