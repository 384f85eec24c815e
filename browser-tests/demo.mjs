// What the top-up and reconciliation browser tests share: a demo of their own on its own port
// (started and stopped), a passenger session by the SMS code the gateway's outbox shows, the
// admin's TOTP code, and the check every screen passes (axe-core: no serious or critical
// violation; no raw message key; no text of another language's catalogue under `prefix`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { MESSAGES } from '../web/lib/messages.js';
import { totp } from './staff.mjs';
export { totp };

const here = dirname(fileURLToPath(import.meta.url));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
export const shots = join(here, '..', 'screenshots');

/// A demo on `port` and a Chromium; `stop()` ends both and removes the demo's files.
export async function startDemo(port) {
  const base = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'smsbus-browser-'));
  mkdirSync(shots, { recursive: true });
  const demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (i > 240) throw new Error('the demo did not start');
    await new Promise((r) => setTimeout(r, 500));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const stop = async () => {
    await browser.close();
    demo.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, browser, stop };
}

/// A passenger session ({token, …}) opened with the code the SMS brought.
export async function passengerSession(base, phone) {
  const asked = await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone }) });
  assert.equal(asked.status, 202);
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    const outbox = await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json();
    code = outbox.messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).at(-1)?.text.match(/\d{6}/)[0];
    if (!code) await new Promise((r) => setTimeout(r, 200));
  }
  const opened = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone, code }) });
  assert.equal(opened.status, 201);
  return opened.json();
}

/// The first card of a passenger, as the API shows it.
export async function firstCard(base, token) {
  const { cards } = await (await fetch(`${base}/v1/cards`, { headers: { Authorization: `Bearer ${token}` } })).json();
  return cards[0];
}

/// Screenshot `<name>-<lang>.png` from the top, then axe-core and the catalogue check.
export async function screen(page, lang, name, prefix) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}-${lang}.png`), fullPage: true });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => v.id), [], `axe on ${name} (${lang})`);
  const text = await page.evaluate(() => document.querySelector('main').innerText);
  assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+\b/, `${name} (${lang}) shows a raw message key`);
  for (const [other, messages] of Object.entries(MESSAGES)) {
    if (other === lang) continue;
    for (const [key, value] of Object.entries(messages)) {
      if (!key.startsWith(prefix) || typeof value !== 'string' || value === MESSAGES[lang][key]) continue;
      for (const part of value.split(/\{\w+\}/).map((p) => p.trim()).filter((p) => p.length >= 6)) {
        assert.ok(!text.includes(part), `${name} (${lang}) shows "${part}" of ${other}.${key}`);
      }
    }
  }
}
