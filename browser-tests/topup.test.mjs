// Topping a card up in the passenger app (web/passenger/topup.js) in Debian's Chromium at a
// phone's size, against a real demo and its simulated acquirer: the top-up screen of the demo
// card, a preset amount, the acquirer's payment page (a test card typed there), back to the
// app with the result — the balance grew once, by the amount — and a declined card said so.
// axe-core and the catalogue check on every screen; screenshots ../screenshots/topup-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
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
const port = 21000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const shots = join(here, '..', 'screenshots');
const PHONE_VIEW = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
// The demo card's holder (crates/smsbus/src/bank_cli.rs) and the simulated acquirer's cards.
const HOLDER = '+77051234567';
const CARD_OK = '4405645000006150';
const CARD_DECLINED = '4000000000000002';
let demo;
let dir;
let browser;
let session;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsbus-topup-'));
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
  // Signed in by the SMS code the gateway's outbox shows.
  const asked = await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: HOLDER }) });
  assert.equal(asked.status, 202);
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    const outbox = await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json();
    code = outbox.messages.filter((m) => m.to === HOLDER && /\d{6}/.test(m.text)).at(-1)?.text.match(/\d{6}/)[0];
    if (!code) await new Promise((r) => setTimeout(r, 200));
  }
  const opened = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: HOLDER, code }) });
  assert.equal(opened.status, 201);
  session = await opened.json();
});

after(async () => {
  await browser?.close();
  demo?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function signedIn(lang) {
  // bypassCSP only lets axe-core's script in; the app itself runs under its CSP elsewhere.
  const context = await browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: base });
  await context.addInitScript(([token, phone, lang]) => {
    if (!localStorage.getItem('smsbus.token')) {
      localStorage.setItem('smsbus.token', token);
      localStorage.setItem('smsbus.phone', phone);
      localStorage.setItem('smsbus.lang', lang);
      localStorage.setItem('smsbus.started', '1');
      localStorage.setItem('smsbus.city', 'astana');
    }
  }, [session.token, HOLDER, lang]);
  return context;
}

async function card() {
  const r = await fetch(`${base}/v1/cards`, { headers: { Authorization: `Bearer ${session.token}` } });
  const { cards } = await r.json();
  return cards[0];
}

/// axe-core (no serious or critical violation), no raw key and no other language's text.
async function screen(page, lang, name) {
  // From the top: the sticky header stays where a person sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `topup-${name}-${lang}.png`), fullPage: true });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => v.id), [], `axe on ${name} (${lang})`);
  const text = await page.evaluate(() => document.querySelector('main').innerText);
  assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+\b/, `${name} (${lang}) shows a raw message key`);
  for (const [other, messages] of Object.entries(MESSAGES)) {
    if (other === lang) continue;
    for (const [key, value] of Object.entries(messages)) {
      if (!key.startsWith('topup_') || typeof value !== 'string' || value === MESSAGES[lang][key]) continue;
      const fixed = value.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => p.length >= 6);
      for (const part of fixed) assert.ok(!text.includes(part), `${name} (${lang}) shows "${part}" of ${other}.${key}`);
    }
  }
}

/// On the acquirer's page: the card typed, paid; back in the app.
async function payOnAcquirerPage(page, number) {
  await page.waitForURL((url) => url.pathname.startsWith('/pay/'));
  await page.locator('#card').fill(number);
  await page.locator('#expiry').fill('12/29');
  await page.locator('#cvc').fill('123');
  await page.locator('#pay').click();
  await page.waitForURL((url) => url.origin === base && url.hash.includes('top_up='));
}

for (const [lang, preset] of [['kk', 0], ['ru', 1], ['en', 2]]) {
  test(`top up the demo card on the acquirer's page (${lang}): the balance grows once`, async () => {
    const context = await signedIn(lang);
    const page = await context.newPage();
    const before = await card();
    await page.goto(`/#/cards/${before.number}/top-up`);
    const choice = page.locator('.choice button').nth(preset);
    await choice.waitFor();
    assert.match(await page.locator('main').innerText(), /₸/);
    await screen(page, lang, 'form');
    const amountTiyn = Number(await choice.getAttribute('data-tiyn'));
    await choice.click();
    assert.equal(await choice.getAttribute('aria-pressed'), 'true');
    await page.locator('#topup-pay').click();
    await payOnAcquirerPage(page, CARD_OK);
    await page.locator('#topup-balance').waitFor();
    assert.match(await page.locator('#topup-result').innerText(), /₸/);
    await screen(page, lang, 'paid');
    const after = await card();
    assert.equal(after.balance.tiyn, before.balance.tiyn + amountTiyn, 'credited once, by the amount');
    // Back in the app once more (a reload of the result): nothing new.
    await page.reload();
    await page.locator('#topup-balance').waitFor();
    assert.equal((await card()).balance.tiyn, after.balance.tiyn);
    await context.close();
  });
}

test('a declined card says so and credits nothing; an amount outside the limits is refused on the screen', async () => {
  const context = await signedIn('en');
  const page = await context.newPage();
  const before = await card();
  await page.goto(`/#/cards/${before.number}/top-up`);
  await page.locator('#topup-own').fill('10');
  await page.locator('.problem').waitFor();
  assert.ok(await page.locator('#topup-pay').isDisabled());
  await screen(page, 'en', 'invalid');
  await page.locator('#topup-own').fill('750');
  await page.locator('#topup-pay').click();
  await payOnAcquirerPage(page, CARD_DECLINED);
  await page.locator('#topup-result').waitFor();
  assert.equal(await page.locator('#topup-result').innerText(), MESSAGES.en.topup_failed_declined);
  await screen(page, 'en', 'declined');
  assert.equal((await card()).balance.tiyn, before.balance.tiyn);
  await context.close();
});
