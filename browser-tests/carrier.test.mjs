// The carrier's dashboard (/carrier/) and the reports (/reports/) at a desktop's size in
// Debian's Chromium against a real demo: rides by SMS on the carrier's buses and another
// carrier's, a passenger's feedback; the manager sees the charts, the new feedback appear
// without a reload, replies (the passenger's SMS is in the outbox) and sets its status, adds,
// suspends and moves a vehicle, downloads the CSV and the month's PDF, opens the stickers; it
// sees nothing of the other carrier. The admin opens /reports/. axe-core on every screen, and
// every screen in kk, ru and en: ../screenshots/carrier-*, reports-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { MESSAGES } from '../web/lib/messages.js';
import { accessible, totp, waitForHealth } from './staff.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
const port = 21000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const shots = join(here, '..', 'screenshots');
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000', 'Content-Type': 'application/json' };
const CARRIER = { login: 'carrier-park-1', password: 'demo-carrier-password' };
const ADMIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
const OWN = 'astana-avtobus-park-1';
const OTHER = 'astana-avtobus-park-3';
const PASSENGER = '+77051234567';
let demo;
let dir;
let browser;

async function outbox() {
  return (await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json()).messages;
}

let smsCount = 0;
/// A passenger's SMS to 2505 through the HTTP gateway; the reply's text.
async function sms(from, text) {
  const r = await fetch(`${base}/v1/sms/incoming`, { method: 'POST', headers: GATEWAY, body: JSON.stringify({ smsc: 'browser', message_id: `b-${smsCount++}`, sender: from, text }) });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body.text;
}

/// The passenger's bearer token, signed in by the code the SMS brought.
async function passengerToken(phone) {
  await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone }) });
  const code = (await outbox()).filter((m) => m.to === phone && /\d{6}/.test(m.text)).at(-1).text.match(/\d{6}/)[0];
  const r = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone, code }) });
  return (await r.json()).token;
}

/// A ride bought in the app and feedback on it; the ticket number.
async function rideWithFeedback(token, code, comment, key) {
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const ride = await (await fetch(`${base}/v1/rides`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': key }, body: JSON.stringify({ transport_code: code, additional: true }) })).json();
  const r = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: auth, body: JSON.stringify({ ticket_number: ride.number, service_rating: 2, vehicle_rating: 3, category: 'late', comment }) });
  assert.equal(r.status, 201, await r.text());
  return ride.number;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsbus-carrier-'));
  mkdirSync(shots, { recursive: true });
  demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  await waitForHealth(base);
  // Rides on the carrier's three buses and on the other carrier's.
  for (const [phone, code] of [['+77011234567', '10101'], ['+77071234567', '10102'], ['+77011234567', '13101'], ['+77071234567', '10101+'], ['+77011234567', '10121']]) {
    assert.match(await sms(phone, code), /№/);
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  demo?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/// No text of another language's catalogue, no raw key, no English month in kk/ru.
async function translated(page, lang, name) {
  // Logins and carrier ids are data, not words of a language.
  // What passengers, managers and the catalogue file wrote (marked data-user-text: comments,
  // replies, carrier and route names) is data, not the message catalogue's.
  const text = (await page.evaluate(() => {
    const marked = [...document.querySelectorAll('[data-user-text]')];
    for (const el of marked) el.hidden = true;
    const seen = document.body.innerText;
    for (const el of marked) el.hidden = false;
    return seen;
  })).replaceAll(CARRIER.login, '').replace(/[a-z]+(-[a-z0-9]+)+/g, '');
  const own = new Set(Object.values(MESSAGES[lang]).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v))));
  for (const [other, messages] of Object.entries(MESSAGES)) {
    if (other === lang) continue;
    for (const [key, value] of Object.entries(messages)) {
      for (const s of typeof value === 'string' ? [value] : Object.values(value)) {
        const fixed = s.split(/\{\w+\}/).filter((p) => p.trim().length >= 6);
        if (own.has(s) || key.startsWith('lang_') || !fixed.length) continue;
        for (const part of fixed.filter((p) => ![...own].some((o) => o.includes(p.trim())))) assert.ok(!text.includes(part.trim()), `${name} (${lang}) shows "${part.trim()}" of ${other}.${key}`);
      }
    }
  }
  assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+\b/, `${name} (${lang}) shows a raw message key`);
  if (lang !== 'en') assert.doesNotMatch(text, /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Dec)[a-z]*\b/, `${name} (${lang}) shows an English date`);
}

async function screen(page, lang, name) {
  await page.screenshot({ path: join(shots, `${name}-${lang}.png`), fullPage: true });
  await accessible(page, `${name} (${lang})`);
  await translated(page, lang, name);
}

async function signIn(page, { login, password, secret }) {
  await page.locator('#staff-login').fill(login);
  await page.locator('#staff-password').fill(password);
  await page.locator('button[type=submit]').click();
  if (secret) {
    // The form asks for the code and is drawn anew: everything is typed again.
    await page.locator('#staff-totp').waitFor();
    await page.locator('#staff-login').fill(login);
    await page.locator('#staff-password').fill(password);
    await page.locator('#staff-totp').fill(totp(secret));
    await page.locator('button[type=submit]').click();
  }
}

async function language(page, lang) {
  await page.locator(`.lang-switch button[lang="${lang}"]`).click();
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

test('the carrier manager: charts, live feedback with a reply and a status, vehicles, downloads, stickers', async () => {
  const context = await browser.newContext({ ...DESKTOP, locale: 'ru', baseURL: base, acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  await page.goto('/carrier/');
  await page.locator('#staff-login').waitFor();
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await screen(page, lang, 'carrier-signin');
  }
  await signIn(page, CARRIER);
  // The dashboard: its tiles, the two charts, its own vehicles only.
  await page.locator('svg.chart').first().waitFor();
  assert.equal(await page.locator('svg.chart').count(), 2);
  assert.equal(await page.locator('.tile[data-tile="rides"] strong').innerText(), '4');
  const table = await page.locator('table.data').first().innerText();
  assert.match(table, /10101/);
  assert.doesNotMatch(table, /10121/, 'another carrier\'s bus is not shown');
  assert.doesNotMatch(await page.locator('body').innerText(), /\bnull\b|\bundefined\b/, 'nothing empty is shown as a word');
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await page.locator('svg.chart').first().waitFor();
    await screen(page, lang, 'carrier-dashboard');
  }
  // CSV and the month's PDF.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-action="csv"]').click()]);
  const csvText = readFileSync(await csv.path(), 'utf8');
  assert.match(csvText, /^day,city,carrier,route,transport_code,source/);
  assert.equal(csvText.trim().split('\n').length, 1 + 4, csvText);
  assert.doesNotMatch(csvText, new RegExp(OTHER));
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-action="month-pdf"]').click()]);
  assert.equal(readFileSync(await pdf.path()).subarray(0, 8).toString(), '%PDF-1.4');
  // Another carrier's data is refused, API and screen alike.
  const refused = await page.evaluate(async (other) => (await fetch(`/v1/carriers/${other}/feedback`)).json(), OTHER);
  assert.equal(refused.code, 'SCOPE_FORBIDDEN');

  // Feedback: a new one appears without a reload; a reply goes out by SMS; the status moves.
  await page.locator('a[data-tab="feedback"]').click();
  await page.locator('h1').waitFor();
  const token = await passengerToken(PASSENGER);
  const number = await rideWithFeedback(token, '10101', 'Автобус опоздал на 20 минут', 'fb-b-1');
  const card = page.locator(`.feedback[data-status="new"]`).first();
  await card.waitFor({ timeout: 15000 });
  assert.match(await card.innerText(), /20/);
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await page.locator('.feedback').first().waitFor();
    await screen(page, lang, 'carrier-feedback');
  }
  const answer = 'Sorry, the driver has been told.';
  await page.locator('.feedback textarea').first().fill(answer);
  await page.locator('.feedback button[type=submit]').first().click();
  await page.locator('.feedback[data-status="in_work"] .replies').waitFor();
  const sent = (await outbox()).filter((m) => m.to === PASSENGER && m.text.includes(answer));
  assert.equal(sent.length, 1, 'the reply is in the outbox once');
  assert.match(sent[0].text, new RegExp(`№${number}`));
  await page.locator('.feedback select').first().selectOption('resolved');
  await page.locator('.feedback[data-status="resolved"]').waitFor();
  await screen(page, 'en', 'carrier-feedback-resolved');

  // Vehicles: add one, suspend it (the passenger cannot pay for it), move it.
  await page.locator('a[data-tab="vehicles"]').click();
  await page.locator('table.vehicles').waitFor();
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await page.locator('table.vehicles').waitFor();
    await screen(page, lang, 'carrier-vehicles');
  }
  await page.locator('#veh-new-code').fill('10109');
  await page.locator('#veh-new-plate').fill('109 ABC 01');
  await page.locator('#veh-new-route').selectOption('astana-10');
  await page.locator('form.card button[type=submit]').click();
  await page.locator('tr[data-code="10109"]').waitFor();
  await page.locator('tr[data-code="10109"] button[data-action="suspend"]').click();
  await page.locator('tr[data-code="10109"] button[data-action="resume"]').waitFor();
  assert.match(await sms('+77011234567', '10109'), /снят|suspended|тоқтатылды|уақытша/i);
  await page.locator('tr[data-code="10109"] select').selectOption('astana-12');
  await page.locator('tr[data-code="10109"] button[data-action="move"]').click();
  await page.waitForFunction(() => document.querySelector('tr[data-code="10109"]')?.innerText.includes('№12'));
  await screen(page, 'en', 'carrier-vehicles-changed');

  // Stickers: the SVG page shows every vehicle of the carrier; the PDF downloads.
  await page.locator('a[data-tab="stickers"]').click();
  const img = page.locator('.stickers-preview img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('.stickers-preview img')?.naturalWidth > 0);
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await page.waitForFunction(() => document.querySelector('.stickers-preview img')?.naturalWidth > 0);
    await screen(page, lang, 'carrier-stickers');
  }
  const svg = await page.evaluate(async (own) => (await fetch(`/v1/carriers/${own}/stickers`)).text(), OWN);
  for (const code of ['10101', '10102', '13101', '10109']) assert.match(svg, new RegExp(`data-code="${code}"`));
  assert.match(svg, /отправьте 10101 на номер 2505/);
  const [stickersPdf] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-action="stickers-pdf"]').click()]);
  assert.equal(readFileSync(await stickersPdf.path()).subarray(0, 8).toString(), '%PDF-1.4');
  await context.close();
});

test('the admin opens the reports: every carrier, what operators and carriers are owed', async () => {
  const context = await browser.newContext({ ...DESKTOP, locale: 'en', baseURL: base, acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  await page.goto('/reports/');
  await page.locator('#staff-login').waitFor();
  await signIn(page, ADMIN);
  await page.locator('svg.chart').first().waitFor().catch(async (e) => {
    await page.screenshot({ path: join(shots, 'reports-failed.png'), fullPage: true });
    throw e;
  });
  const text = await page.locator('main').innerText();
  assert.match(text, new RegExp(OWN));
  assert.match(text, new RegExp(OTHER));
  assert.match(text, /Kcell|Tele2/);
  for (const lang of ['kk', 'ru', 'en']) {
    await language(page, lang);
    await page.locator('svg.chart').first().waitFor();
    await screen(page, lang, 'reports');
  }
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-action="csv"]').click()]);
  assert.match(readFileSync(await csv.path(), 'utf8'), new RegExp(OTHER));
  await context.close();
});
