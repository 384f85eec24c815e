// What the staff consoles' browser tests share: a demo server of their own, Debian's Chromium
// at a desktop's size, the demo's passengers and admin over the API (SMS codes from the
// gateway's outbox, the admin's TOTP code), signing in through the console's form, and each
// screen's checks: axe-core (no serious or critical violation), no text of another language
// outside data, and a screenshot in ../screenshots/.
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
const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
export const shots = join(here, '..', 'screenshots');
export const DESKTOP = { viewport: { width: 1366, height: 900 }, bypassCSP: true };
export const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
export const ADMIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
export const OFFICE = { login: 'office-astana', password: 'demo-office-password' };

/// Starts a demo on its own port and Chromium; returns { base, browser, stop }.
export async function startDemo(offset) {
  const port = 20000 + offset + (process.pid % 500);
  const base = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'smsbus-console-'));
  mkdirSync(shots, { recursive: true });
  const demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
    if (i > 240) throw new Error('the demo did not start');
    await new Promise((r) => setTimeout(r, 500));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    base, browser,
    stop: async () => { await browser.close(); demo.kill(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/// A passenger's bearer token, signed in with the code the gateway's outbox shows.
export async function passenger(base, phone) {
  const count = async () => (await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json()).messages.filter((m) => m.to === phone && /\d{6}/.test(m.text));
  const before = (await count()).length;
  const asked = await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone }) });
  assert.ok(asked.ok, await asked.text());
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    code = (await count()).slice(before).at(-1)?.text.match(/\d{6}/)[0];
    if (!code) await new Promise((r) => setTimeout(r, 200));
  }
  const opened = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone, code }) });
  const session = await opened.json();
  assert.equal(opened.status, 201, JSON.stringify(session));
  return session.token;
}

/// JSON over the API with a bearer token: { status, body }.
export async function call(base, token, path, { method = 'GET', body, headers = {} } = {}) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Accept-Language': 'en', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: r.status, body: parsed };
}

/// Signs in through the console's form (the admin with its TOTP code when asked).
export async function signIn(page, account) {
  await page.locator('#staff-login').fill(account.login);
  await page.locator('#staff-password').fill(account.password);
  await page.locator('form button[type=submit]').click();
  if (account.secret) {
    await page.locator('#staff-totp').waitFor();
    // The form asks again with the code's field (web/lib/staff.js draws it anew).
    await page.locator('#staff-login').fill(account.login);
    await page.locator('#staff-password').fill(account.password);
    await page.locator('#staff-totp').fill(totp(account.secret));
    await page.locator('form button[type=submit]').click();
  }
  await page.locator('nav.side').waitFor();
}

/// Chooses the console's language with its switch.
export async function chooseLanguage(page, lang) {
  await page.locator(`.console-languages button[lang="${lang}"]`).click();
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

async function accessible(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), [], `axe on ${name}`);
}

/// No text of another language's catalogue and no raw message key, outside data (names,
/// numbers, audit values shown as recorded: class "data").
async function translated(page, lang, name) {
  const text = await page.evaluate(() => {
    const copy = document.body.cloneNode(true);
    for (const el of copy.querySelectorAll('.data, input, select, textarea, .code')) el.remove();
    return copy.innerText ?? copy.textContent;
  });
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
}

/// The screen's checks and its screenshot `<app>-<name>-<lang>.png`.
export async function screen(page, app, lang, name) {
  await page.screenshot({ path: join(shots, `${app}-${name}-${lang}.png`), fullPage: true });
  await accessible(page, `${app} ${name} (${lang})`);
  await translated(page, lang, `${app} ${name}`);
}
