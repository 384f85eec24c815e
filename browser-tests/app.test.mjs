// The passenger app (the PWA at /) in Debian's Chromium at a phone's size, against a real
// demo with the simulated operators, SMSC and buses: sign in with an SMS code, pay by code,
// the ticket offline, pay by the sticker's QR link and by the decoder, pay by detection with
// the location moving along a bus (the time to a ticket printed), trip details, the map with
// buses moving, a journey drawn, feedback reaching the carrier's API; axe-core on every
// screen and, per language, no text outside the catalogue. Screenshots: ../screenshots/app-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import qrcode from 'qrcode-generator';
import { MESSAGES } from '../web/lib/messages.js';
import { totp, accessible, translated } from './harness.mjs';
import { waitForHealth } from './staff.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.SMSBUS_BIN ?? join(here, '..', 'target', 'debug', 'smsbus');
const port = 19000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const shots = join(here, '..', 'screenshots');
const PHONE_VIEW = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const GATEWAY = { Authorization: 'Bearer demo-sms-gateway-token-0000' };
// The demo's admin signs in with its password and a TOTP code (RFC 6238) of its seeded secret.
const ADMIN_LOGIN = { login: 'admin', password: 'demo-admin-password', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
let adminHeaders;
let demo;
let dir;
let browser;

/** The admin's bearer header, signed in once (each TOTP step is good once). */
async function admin() {
  if (!adminHeaders) {
    const r = await fetch(`${base}/v1/staff/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: ADMIN_LOGIN.login, password: ADMIN_LOGIN.password, totp: totp(ADMIN_LOGIN.secret) }),
    });
    const session = await r.json();
    assert.equal(r.status, 201, JSON.stringify(session));
    adminHeaders = { Authorization: `Bearer ${session.token}` };
  }
  return adminHeaders;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsbus-app-'));
  mkdirSync(shots, { recursive: true });
  demo = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--simulator-addr', '127.0.0.1:0', '--db', join(dir, 'demo.db')], { stdio: 'ignore' });
  await waitForHealth(base);
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

async function newContext(lang, extra = {}) {
  const context = await browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: base, ...extra });
  return context;
}

/// The newest sign-in code the SMS gateway's outbox shows for a phone.
async function codeFor(phone, after = 0) {
  for (let i = 0; i < 50; i++) {
    const outbox = await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json();
    const sms = outbox.messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).slice(after).at(-1);
    if (sms) return sms.text.match(/\d{6}/)[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code for ${phone}`);
}

async function screen(page, lang, name) {
  // The whole page, with the tab bar at its end as the phone shows it when scrolled down.
  await page.evaluate(() => document.getElementById('tabs')?.style.setProperty('position', 'static'));
  await page.screenshot({ path: join(shots, `app-${name}-${lang}.png`), fullPage: true });
  await page.evaluate(() => document.getElementById('tabs')?.style.removeProperty('position'));
  await accessible(page, `${name} (${lang})`);
  await translated(page, lang, name);
}

/// Through the first start and the sign-in screens as a passenger does.
async function signInByUi(page, lang, phone, check = true) {
  await page.goto('/');
  await page.locator(`.languages button[lang="${lang}"]`).click();
  await page.locator('#city option[value="astana"]').waitFor({ state: 'attached' });
  if (check) await screen(page, lang, 'start');
  await page.locator('#rules').check();
  await page.locator('button.big').click();
  await page.locator('#phone').fill(phone);
  if (check) await screen(page, lang, 'signin');
  const before = (await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json()).messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).length;
  await page.locator('button[type=submit]').click();
  await page.locator('#code').waitFor();
  const code = await codeFor(phone, before);
  if (check) {
    await screen(page, lang, 'signin-code');
    // A mistyped code: refused with what to do, in the language; the right one still works.
    await page.locator('#code').fill(`${code.slice(0, 5)}${(Number(code[5]) + 1) % 10}`);
    await page.locator('button[type=submit]').click();
    await page.locator('.problem').waitFor();
    assert.match(await page.locator('.problem').innerText(), /SIGN_IN_/);
    await screen(page, lang, 'signin-wrong-code');
  }
  await page.locator('#code').fill(code);
  await page.locator('button[type=submit]').click();
  await page.locator('h1').filter({ hasText: MESSAGES[lang].pay_title }).waitFor();
}

function decodeQr(png) {
  const image = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

test('sign in, pay by code, the ticket shows and stays on the phone offline', async () => {
  const context = await newContext('en');
  const page = await context.newPage();
  await signInByUi(page, 'en', '+77051234567');
  await page.locator('#code').fill('10101');
  await page.locator('form button[type=submit]').click();
  const pay = page.locator('button[data-pay="10101"]');
  await pay.waitFor();
  assert.match(await page.locator('#quote').innerText(), /₸\s?90|90\s?₸/);
  assert.match(await page.locator('#quote').innerText(), /kcell|beeline|tele2/i);
  await page.screenshot({ path: join(shots, 'app-pay-quote-en.png'), fullPage: true });
  await pay.click();
  const ticket = page.locator('.ticket').first();
  await ticket.waitFor();
  const valid = await (await fetch(`${base}/v1/tickets/valid`, { headers: { Authorization: `Bearer ${await page.evaluate(() => localStorage.getItem('smsbus.token'))}` } })).json();
  assert.equal(decodeQr(await ticket.locator('.qr').screenshot()), valid.tickets[0].token, 'the QR is the ticket token');
  assert.match(await ticket.innerText(), /101 ABC 01/);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null || (location.reload(), false), null, { timeout: 10000 }).catch(async () => {
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  });
  // Installable: Chromium itself finds nothing missing (manifest, icons, service worker).
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  // (A test's browser context is incognito-like, which alone keeps Chromium from offering it.)
  assert.deepEqual(installabilityErrors.filter((e) => e.errorId !== 'in-incognito'), [], 'the app is installable');
  await cdp.detach();
  await context.setOffline(true);
  await page.reload();
  await page.locator('.ticket').first().waitFor();
  assert.match(await page.locator('.ticket').first().innerText(), /101 ABC 01/);
  await page.locator('#offline').waitFor({ state: 'visible', timeout: 5000 });
  await page.screenshot({ path: join(shots, 'app-tickets-offline-en.png'), fullPage: true });
  // Usable at 320 px: nothing wider than the screen.
  await page.setViewportSize({ width: 320, height: 640 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'the tickets fit 320 px');
  await page.screenshot({ path: join(shots, 'app-tickets-320-en.png') });
  // Ended while the phone was offline (here: revoked): it goes once the phone is online.
  const revoked = await fetch(`${base}/v1/admin/tickets/${valid.tickets[0].check_number}/revoke`, { method: 'POST', headers: { ...(await admin()), 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'browser test' }) });
  assert.equal(revoked.status, 200);
  assert.equal(await page.locator('.ticket').count(), 1, 'offline, the phone still shows it');
  await context.setOffline(false);
  await page.locator('.ticket').waitFor({ state: 'detached' });
  assert.match(await page.locator('main').innerText(), new RegExp(MESSAGES.en.tickets_none));
  await context.close();
});

/// A signed-in context without going through the screens again (the token in storage).
const sessions = new Map();
async function signedIn(lang, phone, extra = {}) {
  if (!sessions.has(phone)) sessions.set(phone, await openSession(phone));
  const session = sessions.get(phone);
  const context = await newContext(lang, extra);
  await context.addInitScript(([token, phone, lang]) => {
    if (!localStorage.getItem('smsbus.token')) {
      localStorage.setItem('smsbus.token', token);
      localStorage.setItem('smsbus.phone', phone);
      localStorage.setItem('smsbus.lang', lang);
      localStorage.setItem('smsbus.started', '1');
      localStorage.setItem('smsbus.city', 'astana');
      localStorage.setItem('smsbus.tz', 'Asia/Almaty');
    }
  }, [session.token, session.phone, lang]);
  return { context, token: session.token };
}

async function openSession(phone) {
  const sent = (await (await fetch(`${base}/v1/sms/outbox`, { headers: GATEWAY })).json()).messages.filter((m) => m.to === phone && /\d{6}/.test(m.text)).length;
  const asked = await fetch(`${base}/v1/auth/code`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone }) });
  assert.equal(asked.status, 202);
  const code = await codeFor(phone, sent);
  const opened = await fetch(`${base}/v1/auth/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone, code }) });
  assert.equal(opened.status, 201);
  return opened.json();
}

test('the sticker QR link opens the payment for that bus; the in-app decoder reads a photo of a QR', async () => {
  const { context } = await signedIn('ru', '+77071234567');
  const page = await context.newPage();
  await page.goto('/?bus=10102');
  await page.locator('button[data-pay="10102"]').waitFor();
  assert.match(await page.locator('#quote').innerText(), /102 ABC 01/);
  // With a companion: two passengers, one payment tap, a ticket each.
  await page.locator('button[aria-label="' + MESSAGES.ru.pay_passengers_more + '"]').click();
  assert.match(await page.locator('button[data-pay="10102"]').innerText(), /180/);
  await page.screenshot({ path: join(shots, 'app-pay-link-ru.png'), fullPage: true });
  await page.locator('button[data-pay="10102"]').click();
  await page.locator('.ticket .plate', { hasText: '102 ABC 01' }).first().waitFor();
  assert.equal(await page.locator('.ticket .plate', { hasText: '102 ABC 01' }).count(), 2, 'a ticket for each passenger');
  assert.match(await page.locator('main').innerText(), /2-й билет в этом автобусе/);
  // The sticker of bus 13101, photographed: the decoder (jsQR from npm) reads it.
  const qr = qrcode(0, 'M');
  qr.addData(`${base}/?bus=13101`);
  qr.make();
  const gif = Buffer.from(qr.createDataURL(8, 4).split(',')[1], 'base64');
  await page.goto('/#/pay');
  await page.locator('button', { hasText: MESSAGES.ru.pay_scan }).click();
  await page.locator('dialog').waitFor();
  await page.screenshot({ path: join(shots, 'app-scan-ru.png') });
  await accessible(page, 'scan (ru)');
  await page.locator('#scan-photo').setInputFiles({ name: 'sticker.gif', mimeType: 'image/gif', buffer: gif });
  await page.locator('button[data-pay="13101"]').waitFor();
  assert.match(await page.locator('#quote').innerText(), /180/);
  await context.close();
});

/// A .y4m video (YUV 4:2:0) of a QR code holding `text`, for Chromium's fake camera.
function qrVideo(path, text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const cells = qr.getModuleCount() + 8;
  const scale = 8;
  const size = cells * scale + (cells * scale) % 2;
  const y = Buffer.alloc(size * size, 235);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const r = Math.floor(row / scale) - 4;
      const c = Math.floor(col / scale) - 4;
      if (r >= 0 && c >= 0 && r < cells - 8 && c < cells - 8 && qr.isDark(r, c)) y[row * size + col] = 16;
    }
  }
  const chroma = Buffer.alloc((size / 2) * (size / 2) * 2, 128);
  const frames = [];
  for (let i = 0; i < 10; i++) frames.push(Buffer.from('FRAME\n'), y, chroma);
  writeFileSync(path, Buffer.concat([Buffer.from(`YUV4MPEG2 W${size} H${size} F10:1 Ip A1:1 C420jpeg\n`), ...frames]));
}

test('the in-app camera reads the bus sticker (Chromium fake camera playing a QR)', async () => {
  const video = join(dir, 'sticker.y4m');
  qrVideo(video, `${base}/?bus=10101`);
  const camera = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const session = sessions.get('+77071234567') ?? await openSession('+77071234567');
    sessions.set('+77071234567', session);
    const context = await camera.newContext({ ...PHONE_VIEW, locale: 'en', baseURL: base, permissions: ['camera'] });
    await context.addInitScript(([token, phone]) => {
      localStorage.setItem('smsbus.token', token);
      localStorage.setItem('smsbus.phone', phone);
      localStorage.setItem('smsbus.lang', 'en');
      localStorage.setItem('smsbus.started', '1');
    }, [session.token, session.phone]);
    const page = await context.newPage();
    await page.goto('/#/pay');
    await page.locator('button', { hasText: MESSAGES.en.pay_scan }).click();
    await page.locator('button[data-pay="10101"]').waitFor({ timeout: 15000 });
    await page.screenshot({ path: join(shots, 'app-pay-camera-en.png'), fullPage: true });
    await context.close();
  } finally {
    await camera.close();
  }
});

test('pay by detection: location moving with a bus, the bus proposed, one tap to the ticket', async () => {
  // A catalogue bus (one that can be paid) reporting now.
  const live = (await (await fetch(`${base}/v1/live/astana/vehicles`)).json()).vehicles;
  let bus = null;
  for (const v of live.filter((v) => v.transport_code && Date.now() - v.at_ms < 20000)) {
    const seen = await (await fetch(`${base}/v1/live/astana/detect`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fixes: [{ lat: v.lat, lon: v.lon, at_ms: Date.now() }] }) })).json();
    if (seen.candidates.some((c) => c.transport_code === v.transport_code)) { bus = v; break; }
  }
  assert.ok(bus, 'a catalogue bus is live and seen by the detection');
  const { context } = await signedIn('kk', '+77011234567', { permissions: ['geolocation'], geolocation: { latitude: bus.lat, longitude: bus.lon, accuracy: 10 } });
  const page = await context.newPage();
  // The passenger rides it: the phone's position follows the bus as the server sees it.
  let riding = true;
  const follow = (async () => {
    while (riding) {
      const now = (await (await fetch(`${base}/v1/live/astana/vehicles`)).json()).vehicles.find((v) => v.id === bus.id);
      if (now && riding) await context.setGeolocation({ latitude: now.lat, longitude: now.lon, accuracy: 10 }).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const started = Date.now();
  await page.goto('/#/pay');
  const payThis = page.locator(`#detect button[data-pay="${bus.transport_code}"]`);
  await payThis.waitFor({ timeout: 15000 }).catch(async (error) => {
    await page.screenshot({ path: join(shots, 'app-pay-detect-failed.png'), fullPage: true });
    riding = false;
    throw new Error(`${error.message}\nthe page shows: ${await page.locator('main').innerText()}`);
  });
  await page.screenshot({ path: join(shots, 'app-pay-detect-kk.png'), fullPage: true });
  const proposed = await page.locator('#detect').innerText();
  assert.match(proposed, new RegExp(bus.plate.replace(/ /g, '\\s')));
  let taps = 0;
  await payThis.click();
  taps++;
  await page.locator('.ticket .plate', { hasText: bus.plate }).waitFor();
  const ms = Date.now() - started;
  console.log(`time to ticket: taps=${taps} ms=${ms}`);
  riding = false;
  await follow;
  await screen(page, 'kk', 'tickets');
  assert.ok(taps <= 2);
  await context.close();
});

test('trip details list the rides, paged; feedback on a ride reaches the carrier', async () => {
  const { context, token } = await signedIn('en', '+77021234567');
  const bought = [];
  for (const [i, code] of ['10101', '10102', '20032'].entries()) {
    const r = await fetch(`${base}/v1/rides`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Idempotency-Key': `trips-${i}` }, body: JSON.stringify({ transport_code: code }) });
    if (r.status === 201) bought.push(await r.json());
  }
  // Enough rides for a second page (the app asks for 10 at a time).
  for (let i = 0; i < 9; i++) {
    const r = await fetch(`${base}/v1/rides`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Idempotency-Key': `trips-more-${i}` }, body: JSON.stringify({ transport_code: '20032', additional: true }) });
    assert.equal(r.status, 201);
  }
  const page = await context.newPage();
  await page.goto('/#/trips');
  await page.locator('#trips li').first().waitFor();
  assert.equal(await page.locator('#trips li').count(), 10, 'one page');
  await page.screenshot({ path: join(shots, 'app-trips-en.png'), fullPage: true });
  await page.locator('button', { hasText: MESSAGES.en.trips_more }).click();
  await page.waitForFunction(() => document.querySelectorAll('#trips li').length === 12);
  assert.ok(await page.locator('button', { hasText: MESSAGES.en.trips_more }).isHidden(), 'no third page');
  await page.evaluate(() => window.scrollTo(0, 0));
  const first = page.locator('#trips li').first();
  const number = await first.getAttribute('data-ticket');
  await first.locator('a.button').click();
  await page.locator('.stars').first().waitFor();
  await page.locator('.stars').nth(0).locator('button[data-stars="4"]').click();
  await page.locator('.stars').nth(1).locator('button[data-stars="2"]').click();
  await page.locator('#category').selectOption('overcrowded');
  await page.locator('#comment').fill('Too many people at 8 am');
  await screen(page, 'en', 'feedback');
  await page.locator('button[type=submit]').click();
  await page.locator('#feedback-thanks').waitFor();
  // The carrier of the ride reads it: the admin looks through every carrier of the catalogue.
  const catalogue = JSON.parse(readFileSync(join(here, '..', 'crates', 'smsbus', 'data', 'catalogue.json'), 'utf8'));
  const carriers = catalogue.cities.flatMap((c) => c.carriers.map((k) => k.id));
  let got;
  for (const id of carriers) {
    const r = await fetch(`${base}/v1/carriers/${id}/feedback`, { headers: await admin() });
    assert.equal(r.status, 200);
    got ??= (await r.json()).feedback.find((f) => String(f.ticket_number) === number);
  }
  assert.ok(got, 'the carrier reads the feedback');
  assert.equal(got.service_rating, 4);
  assert.equal(got.vehicle_rating, 2);
  assert.equal(got.category, 'overcrowded');
  assert.equal(got.comment, 'Too many people at 8 am');
  await context.close();
});

test('the map draws stops, lines and live buses that move', async () => {
  const context = await newContext('ru', { permissions: ['geolocation'], geolocation: { latitude: 51.128, longitude: 71.43 } });
  await context.addInitScript(() => { localStorage.setItem('smsbus.started', '1'); localStorage.setItem('smsbus.lang', 'ru'); });
  const page = await context.newPage();
  await page.goto('/#/map');
  await page.locator('[data-bus]').first().waitFor();
  await page.locator('.leaflet-overlay-pane path').first().waitFor();
  const positions = () => page.evaluate(() => [...document.querySelectorAll('[data-bus]')].map((m) => `${m.dataset.bus}:${m.dataset.lat}`).sort().join('|'));
  const first = await positions();
  await page.screenshot({ path: join(shots, 'app-map-1-ru.png') });
  await page.waitForFunction((before) => [...document.querySelectorAll('[data-bus]')].map((m) => `${m.dataset.bus}:${m.dataset.lat}`).sort().join('|') !== before, first, { timeout: 20000 });
  await page.screenshot({ path: join(shots, 'app-map-2-ru.png') });
  assert.notEqual(await positions(), first, 'buses moved');
  await screen(page, 'ru', 'map');
  // Buses drawn on top of each other are common at a city's zoom: the tap goes to the marker
  // itself, not to whichever icon covers it.
  await page.locator('[data-bus]').first().dispatchEvent('click');
  await page.locator('.leaflet-popup-content').waitFor();
  await page.screenshot({ path: join(shots, 'app-map-bus-ru.png') });
  await page.locator('.leaflet-popup-close-button').click();
  await page.locator('path.stop').first().dispatchEvent('click');
  await page.locator('.leaflet-popup-content', { hasText: 'Маршруты:' }).waitFor();
  await page.screenshot({ path: join(shots, 'app-map-stop-ru.png') });
  await context.close();
});

test('a journey is planned and drawn on the map', async () => {
  const context = await newContext('en');
  await context.addInitScript(() => { localStorage.setItem('smsbus.started', '1'); localStorage.setItem('smsbus.lang', 'en'); localStorage.setItem('smsbus.tz', 'Asia/Almaty'); });
  const page = await context.newPage();
  await page.goto('/#/journey');
  await page.locator('#from').fill('Байтерек');
  await page.locator('#from-list button').first().click();
  await page.locator('#to').fill('аэропорт');
  await page.locator('#to-list button').first().click();
  await page.locator('form button[type=submit]').click();
  await page.locator('#journeys section').first().waitFor();
  await page.locator('#journey-map[data-drawn]').waitFor();
  assert.ok(await page.locator('#journey-map .leaflet-overlay-pane path').count() >= 1, 'the itinerary is drawn');
  await screen(page, 'en', 'journey');
  await context.close();
  // Signed in, a ride leg offers to pay that ride: the payment screen, finding the bus.
  const rider = await signedIn('en', '+77071234567');
  const riderPage = await rider.context.newPage();
  await riderPage.goto('/#/journey');
  await riderPage.locator('#from').fill('Байтерек');
  await riderPage.locator('#from-list button').first().click();
  await riderPage.locator('#to').fill('аэропорт');
  await riderPage.locator('#to-list button').first().click();
  await riderPage.locator('form button[type=submit]').click();
  await riderPage.locator('button[data-pay-route]').first().click();
  await riderPage.locator('#detect').waitFor({ state: 'attached' });
  assert.equal(new URL(riderPage.url()).hash, '#/pay');
  await rider.context.close();
});

for (const [lang, phone] of [['kk', '+77010000001'], ['ru', '+77010000002'], ['en', '+77010000006']]) {
  test(`every screen in ${lang}: screenshots, axe-core, nothing untranslated`, async () => {
    const context = await newContext(lang);
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await signInByUi(page, lang, phone);
    await screen(page, lang, 'pay');
    await page.setViewportSize({ width: 320, height: 640 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), `pay (${lang}) fits 320 px`);
    await page.setViewportSize(PHONE_VIEW.viewport);
    // This number's operator refuses the payment: the refusal says why and what to do.
    await page.goto('/#/pay/10101');
    await page.locator('button[data-pay="10101"]').click();
    await page.locator('#quote .problem').waitFor();
    assert.match(await page.locator('#quote .problem').innerText(), /PAYMENT_/);
    await screen(page, lang, 'pay-refused-operator');
    await page.goto('/#/pay/13011');
    await page.locator('#quote .choice button').first().waitFor();
    await screen(page, lang, 'pay-zones');
    await page.goto('/#/pay/99999');
    await page.locator('#quote .problem').waitFor();
    assert.match(await page.locator('#quote .problem').innerText(), /TRANSPORT_CODE_UNKNOWN/);
    await screen(page, lang, 'pay-refused');
    await page.goto('/#/pay');
    await page.locator('button', { hasText: MESSAGES[lang].pay_scan }).click();
    await page.locator('dialog').waitFor();
    await screen(page, lang, 'scan');
    await page.locator('dialog button').click();
    await page.goto('/#/more');
    await page.locator('h1').waitFor();
    await screen(page, lang, 'more');
    await page.goto('/#/map');
    await page.locator('[data-bus]').first().waitFor();
    await screen(page, lang, 'map');
    await page.goto('/#/journey');
    await page.locator('#from').waitFor();
    await screen(page, lang, 'journey-form');
    assert.deepEqual(errors.filter((e) => e.includes('missing message')), []);
    await context.close();
    // A passenger with rides: the tickets, the trips and the feedback form.
    const rider = await signedIn(lang, '+77021234567');
    const riderPage = await rider.context.newPage();
    riderPage.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await riderPage.goto('/#/tickets');
    await riderPage.locator('#tickets .ticket').first().waitFor();
    await screen(riderPage, lang, 'tickets');
    await riderPage.goto('/#/trips');
    await riderPage.locator('#trips li').first().waitFor();
    await screen(riderPage, lang, 'trips');
    await riderPage.locator('#trips li a.button').first().click();
    await riderPage.locator('.stars').first().waitFor();
    await screen(riderPage, lang, 'feedback');
    assert.deepEqual(errors.filter((e) => e.includes('missing message')), []);
    await rider.context.close();
  });
}
