// The reconciliation screen (web/reconcile/) in Debian's Chromium at a desktop's size, against
// a real demo: the admin signs in (password and TOTP), imports a bank registry generated with
// a payment we never booked and a line of another day, sees both listed, credits the first
// (the demo card's balance grows by it, once) and writes the second off; nothing stays open.
// axe-core and the catalogue check in kk, ru and en; screenshots ../screenshots/reconcile-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { MESSAGES } from '../web/lib/messages.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
const port = 22000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const shots = join(here, '..', 'screenshots');
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
const HOLDER = '+77051234567';
const ADMIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
let demo;
let dir;
let browser;

function totp(secret, atMs = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...secret].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsbus-reconcile-'));
  mkdirSync(shots, { recursive: true });
  demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (i > 240) throw new Error('the demo did not start');
    await new Promise((r) => setTimeout(r, 500));
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

/// The demo card of the holder, read with a passenger session opened by its SMS code.
async function demoCard() {
  await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: HOLDER }) });
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    const outbox = await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json();
    code = outbox.messages.filter((m) => m.to === HOLDER && /\d{6}/.test(m.text)).at(-1)?.text.match(/\d{6}/)[0];
    if (!code) await new Promise((r) => setTimeout(r, 200));
  }
  const opened = await (await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: HOLDER, code }) })).json();
  return async () => (await (await fetch(`${base}/v1/cards`, { headers: { Authorization: `Bearer ${opened.token}` } })).json()).cards[0];
}

async function screen(page, lang, name) {
  // From the top: the sticky header stays where a person sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `reconcile-${name}-${lang}.png`), fullPage: true });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => v.id), [], `axe on ${name} (${lang})`);
  const text = await page.evaluate(() => document.querySelector('main').innerText);
  assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+\b/, `${name} (${lang}) shows a raw message key`);
  for (const [other, messages] of Object.entries(MESSAGES)) {
    if (other === lang) continue;
    for (const [key, value] of Object.entries(messages)) {
      if (!key.startsWith('rec_') || typeof value !== 'string' || value === MESSAGES[lang][key]) continue;
      for (const part of value.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => p.length >= 6)) {
        assert.ok(!text.includes(part), `${name} (${lang}) shows "${part}" of ${other}.${key}`);
      }
    }
  }
}

test('an admin imports a bank registry, credits what we never booked and writes off the rest', async () => {
  const card = await demoCard();
  const before = await card();
  const day = new Date(Date.now() + 5 * 3600e3).toISOString().slice(0, 10);
  const compact = day.replaceAll('-', '');
  const registry = `txn_id;txn_date;account;sum;prv_txn_id\nbrowser-1;${compact}120000;${before.number};300.00;\nbrowser-2;20200101120000;${before.number};70.00;\ntotal;2;370.00\n`;
  // bypassCSP only lets axe-core's script in.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en', bypassCSP: true, baseURL: base });
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
  await context.close();
});
