// The ticket page behind the SMS link, in a real Chromium at a phone's size: the QR code must
// decode to the ticket's token, and the page must say in the passenger's language that the
// ticket is valid. Screenshots go to ../screenshots/ to be looked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
const port = 18000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const shots = join(here, '..', 'screenshots');
let demo;
let dir;
let browser;

async function waitForHealth() {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the demo did not start');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsbus-browser-'));
  mkdirSync(shots, { recursive: true });
  demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  await waitForHealth();
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

const json = { 'Content-Type': 'application/json' };
let session;

// Signs in as a passenger does: a code by SMS (read here from the demo's SMS gateway outbox).
async function signIn(phone) {
  const asked = await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: json, body: JSON.stringify({ phone }) });
  assert.equal(asked.status, 202);
  const outbox = await (await fetch(`${base}/v1/sms/outbox`, { headers: { Authorization: 'Bearer demo-sms-gateway-token-0000' } })).json();
  const sms = outbox.messages.filter((m) => m.to === phone).at(-1);
  const code = sms.text.match(/\d{6}/)[0];
  const opened = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: json, body: JSON.stringify({ phone, code }) });
  assert.equal(opened.status, 201);
  return (await opened.json()).token;
}

async function buyRide(key) {
  session ??= await signIn('+77011234567');
  const response = await fetch(`${base}/v1/rides`, {
    method: 'POST',
    headers: { ...json, 'Idempotency-Key': key, Authorization: `Bearer ${session}` },
    // One ticket per language on one bus: each asked for on purpose (a repeat would be refused).
    body: JSON.stringify({ transport_code: '10101', additional: true }),
  });
  assert.equal(response.status, 201);
  return response.json();
}

for (const [lang, validText] of [['en', 'Valid'], ['ru', 'Действует'], ['kk', 'Жарамды']]) {
  test(`the ticket page shows a scannable QR and "${validText}" (${lang})`, async () => {
    const ticket = await buyRide(`browser-${lang}`);
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: lang });
    await page.goto(ticket.link);
    await page.screenshot({ path: join(shots, `ticket-page-${lang}.png`), fullPage: true });
    assert.equal((await page.locator('.status').innerText()).trim(), validText);
    assert.match(await page.locator('main').innerText(), new RegExp(ticket.check_number));
    const png = PNG.sync.read(await page.locator('.qr').screenshot());
    const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(code, 'the QR code decodes');
    assert.equal(code.data, ticket.token);
    await page.close();
  });
}

test('an unknown ticket link is a page that says so', async () => {
  const page = await browser.newPage({ locale: 'ru' });
  const response = await page.goto(`${base}/t/aaaaaaaaaaaa`);
  assert.equal(response.status(), 404);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Билет не найден');
  await page.screenshot({ path: join(shots, 'ticket-page-not-found.png') });
  await page.close();
});
