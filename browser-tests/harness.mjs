// What a browser test of the passenger app needs around it: a demo of its own (the real
// binary with the simulated operators, SMSC, banks and buses) on a port of its own, Debian's
// Chromium at a phone's size, a passenger signed in through the API, the demo's admin, a
// bank top-up over the biller protocol, axe-core and the catalogue check on every screen, and
// the screenshots in ../screenshots.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { MESSAGES } from '../web/lib/messages.js';
import { totp, accessible } from './staff.mjs';
export { totp, accessible };

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
export const shots = join(here, '..', 'screenshots');
export const PHONE_VIEW = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
const ADMIN_LOGIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
/// The demo's Kaspi and its secret (`smsbus demo` configures it; the bank calls from 127.0.0.1).
const KASPI = { id: 'kaspi', secret: 'demo-kaspi-bank-secret-0000' };

/// One demo and one browser for the test file that calls this (port: `portBase` + pid).
export function demoServer(portBase) {
  const port = portBase + (process.pid % 1000);
  const server = { base: `http://127.0.0.1:${port}`, browser: null };
  let demo;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smsbus-browser-'));
    mkdirSync(shots, { recursive: true });
    demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
    await waitForHealth(server.base);
    server.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await server.browser?.close();
    demo?.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

async function waitForHealth(base) {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the demo did not start');
}

const adminSessions = new Map();
/// The admin's bearer header, signed in once per demo (each TOTP step is good once).
export async function admin(server) {
  if (!adminSessions.has(server.base)) {
    const r = await fetch(`${server.base}/v1/staff/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: ADMIN_LOGIN.login, password: ADMIN_LOGIN.password, totp: totp(ADMIN_LOGIN.secret) }),
    });
    const session = await r.json();
    assert.equal(r.status, 201, JSON.stringify(session));
    adminSessions.set(server.base, { Authorization: `Bearer ${session.token}` });
  }
  return adminSessions.get(server.base);
}

async function codeFor(server, phone, after) {
  for (let i = 0; i < 50; i++) {
    const outbox = await (await fetch(`${server.base}/v1/sms/outbox`, { headers: GATEWAY })).json();
    const sms = outbox.messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).slice(after).at(-1);
    if (sms) return sms.text.match(/\d{6}/)[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code for ${phone}`);
}

/// A passenger's session opened through the API as the app does it (code by SMS).
export async function openSession(server, phone) {
  const sent = (await (await fetch(`${server.base}/v1/sms/outbox`, { headers: GATEWAY })).json()).messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).length;
  const asked = await fetch(`${server.base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone }) });
  assert.equal(asked.status, 202);
  const code = await codeFor(server, phone, sent);
  const opened = await fetch(`${server.base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone, code }) });
  assert.equal(opened.status, 201);
  return opened.json();
}

/// A browser context of a signed-in passenger in `lang` and `city` (the token in storage).
export async function signedIn(server, lang, phone, { city = 'astana', ...extra } = {}) {
  const session = await openSession(server, phone);
  const context = await server.browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: server.base, ...extra });
  await context.addInitScript(([token, phone, lang, city]) => {
    if (!localStorage.getItem('smsbus.token')) {
      localStorage.setItem('smsbus.token', token);
      localStorage.setItem('smsbus.phone', phone);
      localStorage.setItem('smsbus.lang', lang);
      localStorage.setItem('smsbus.started', '1');
      localStorage.setItem('smsbus.city', city);
      localStorage.setItem('smsbus.tz', 'Asia/Almaty');
    }
  }, [session.token, session.phone, lang, city]);
  const call = async (path, { method = 'GET', body, headers = {} } = {}) => {
    const r = await fetch(`${server.base}${path}`, { method, headers: { Authorization: `Bearer ${session.token}`, 'Content-Type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, data: await r.json().catch(() => null) };
  };
  return { context, token: session.token, call };
}

let txn = Date.now();
/// Kaspi pays `sum` tenge onto a card over the biller protocol; the answer's result code.
export async function topUp(server, card, sum) {
  txn += 1;
  const q = new URLSearchParams({ command: 'pay', txn_id: String(txn), txn_date: '20261201120000', account: card, sum: String(sum) });
  const r = await fetch(`${server.base}/v1/banks/${KASPI.id}/biller?${q}`, { headers: { Authorization: `Bearer ${KASPI.secret}` } });
  const xml = await r.text();
  assert.equal(r.status, 200, xml);
  return Number(xml.match(/<result>(\d+)<\/result>/)?.[1]);
}

/// No text of another language's catalogue (that differs from this language's), no raw key.
export async function translated(page, lang, name) {
  const text = await page.evaluate(() => document.body.innerText);
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
  assert.doesNotMatch(text, /\bnull|undefined\b|NaN/, `${name} (${lang}) shows a missing value`);
  if (lang !== 'en') assert.doesNotMatch(text, /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Dec)[a-z]*\b|\bM1?\d\b/, `${name} (${lang}) shows an English date`);
}

/// The whole page as a screenshot (header and tab bar in place, as when scrolled), then axe and the catalogue check.
export async function screen(page, lang, name) {
  const unstick = (on) => page.evaluate((on) => {
    for (const el of [document.getElementById('tabs'), document.querySelector('header.top')]) {
      if (on) el?.style.setProperty('position', 'static');
      else el?.style.removeProperty('position');
    }
  }, on);
  await unstick(true);
  await page.screenshot({ path: join(shots, `${name}-${lang}.png`), fullPage: true });
  await unstick(false);
  await accessible(page, `${name} (${lang})`);
  await translated(page, lang, name);
}
