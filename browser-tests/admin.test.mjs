// The system operator's console (/admin/) in Debian's Chromium at a desktop's size, against a
// real demo: the admin signs in with a TOTP code, rotates the signing key (the next key is
// published), adds a staff account, edits a fare and Almaty's daily cap and transfer window
// (the catalogue the server keeps changes; saving the fares keeps the caps),
// uploads a GTFS zip with planted problems and sees them listed, registers a tracker and sees
// it listed with the feed tokens (never a secret), sees the partners' live state (the demo's
// simulated operators, acquirer and SMSC: a ride and a top-up counted, every bind up, no
// secret), and verifies the audit trail.
// Every screen in kk, ru and en: axe-core and the catalogue's texts. Screenshots:
// ../screenshots/admin-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { inflateRawSync, crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGES } from '../web/lib/messages.js';
import { startDemo, call, passenger, signIn, chooseLanguage, screen, totp, DESKTOP, ADMIN } from './consoles.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let demo;
let zipPath;

/// The entries of a zip (stored or deflated), by name.
function readZip(bytes) {
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < count; i++) {
    const method = bytes.readUInt16LE(at + 10);
    const size = bytes.readUInt32LE(at + 20);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extra = bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
    const local = bytes.readUInt32LE(at + 42);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString();
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const raw = bytes.subarray(start, start + size);
    files.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    at += 46 + nameLength + extra;
  }
  return files;
}

/// A zip of `files` (stored, no compression).
function writeZip(files) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, content] of files) {
    const nameBytes = Buffer.from(name);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0); head.writeUInt16LE(20, 4); head.writeUInt32LE(crc32(content), 14);
    head.writeUInt32LE(content.length, 18); head.writeUInt32LE(content.length, 22); head.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6); entry.writeUInt32LE(crc32(content), 16);
    entry.writeUInt32LE(content.length, 20); entry.writeUInt32LE(content.length, 24); entry.writeUInt16LE(nameBytes.length, 28); entry.writeUInt32LE(offset, 42);
    locals.push(head, nameBytes, content);
    central.push(entry, nameBytes);
    offset += head.length + nameBytes.length + content.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.size, 8); end.writeUInt16LE(files.size, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

before(async () => {
  demo = await startDemo(250);
  // The demo's Astana feed with three bad stops planted: a latitude out of range, a duplicate
  // id, a stop without a name's coordinates.
  const files = readZip(readFileSync(join(here, '..', 'crates', 'smsbus', 'data', 'astana-gtfs.zip')));
  files.set('stops.txt', Buffer.concat([files.get('stops.txt'),
    Buffer.from('bad-lat,Плохая,151.0,71.4,1\nzhd,ЖД вокзал дубль,51.19640,71.40930,1\nno-lon,Без долготы,51.1,,1\n')]));
  zipPath = join(mkdtempSync(join(tmpdir(), 'smsbus-gtfs-')), 'astana-planted.zip');
  writeFileSync(zipPath, writeZip(files));
});

after(async () => { await demo?.stop(); });

/// The admin's bearer token (its own TOTP step: each code is good once, so wait for a fresh one).
async function adminToken() {
  const r = await fetch(`${demo.base}/v1/staff/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: ADMIN.login, password: ADMIN.password, totp: totp(ADMIN.secret) }) });
  const session = await r.json();
  assert.equal(r.status, 201, JSON.stringify(session));
  return session.token;
}

async function openConsole(lang) {
  const context = await demo.browser.newContext({ ...DESKTOP, baseURL: demo.base });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto('/admin/');
  await chooseLanguage(page, lang);
  await page.locator('#staff-login').waitFor();
  return { context, page };
}

/// Each TOTP code signs in once: wait for the next 30-second step between sign-ins.
let lastStep = 0;
async function freshStep() {
  while (Math.floor(Date.now() / 30000) === lastStep) await new Promise((r) => setTimeout(r, 500));
  lastStep = Math.floor(Date.now() / 30000);
}

async function menu(page, id) {
  await page.locator(`nav.side a[href="#/${id}"]`).click();
  await page.locator(`nav.side a[href="#/${id}"][aria-current="page"]`).waitFor();
}

test('the admin rotates a key, adds staff, edits a fare, imports GTFS with its problems and verifies the audit trail', async () => {
  const lang = 'en';
  const m = MESSAGES[lang];
  const { context, page } = await openConsole(lang);
  await screen(page, 'admin', lang, 'signin');
  await freshStep();
  await signIn(page, ADMIN);

  // Keys: a rotation publishes the next key.
  await page.locator('#keys table').waitFor();
  const keysBefore = (await (await fetch(`${demo.base}/v1/keys`)).json()).keys.length;
  await page.locator('#rotate').click();
  await page.locator('dialog.confirm button[type=submit]').click();
  await page.locator('.notices .ok').waitFor();
  const keysAfter = (await (await fetch(`${demo.base}/v1/keys`)).json()).keys;
  assert.equal(keysAfter.length, keysBefore + 1);
  await page.locator('#keys tbody tr').nth(keysAfter.length - 1).waitFor();
  await screen(page, 'admin', lang, 'keys');

  // Staff: a clerk for Almaty; the password is shown once.
  await menu(page, 'staff');
  await page.locator('#accounts table').waitFor();
  await page.locator('#add-staff-login').fill('office-almaty');
  await page.locator('#add-staff-role').selectOption('office');
  await page.locator('#add-staff-cities').fill('almaty');
  await page.locator('#add-staff button[type=submit]').click();
  await page.locator('.notices .ok').waitFor();
  const password = (await page.locator('.notices .ok').innerText()).match(/: (\S+)\.$/)[1];
  await page.locator('#accounts').filter({ hasText: 'office-almaty' }).waitFor();
  const signedIn = await fetch(`${demo.base}/v1/staff/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'office-almaty', password }) });
  assert.equal(signedIn.status, 201, 'the new clerk signs in with the password shown');
  await screen(page, 'admin', lang, 'staff');

  // Catalogue: Astana's base fare 90 → 95.
  await menu(page, 'catalogue');
  await page.locator('#catalogue-city').selectOption('astana');
  await page.locator('nav.side a[href="#/catalogue"][aria-current="page"]').waitFor();
  await page.locator('#fares input.fare-amount[aria-label$=": every ride"]').waitFor();
  await page.locator('#fares input.fare-amount[aria-label$=": every ride"]').fill('95');

  await page.locator('#save-fares').click();
  await page.locator('.notices .ok').filter({ hasText: m.admin_fares_saved }).waitFor();
  const token = await (async () => { await freshStep(); return adminToken(); })();
  const file = (await call(demo.base, token, '/v1/admin/catalogue')).body;
  const astana = file.cities.find((c) => c.id === 'astana');
  const base = astana.fares.filter((f) => !f.route && !f.route_kind && !f.rider_category && !f.zone);
  assert.deepEqual(base.map((f) => f.amount), ['95.00'], JSON.stringify(astana.fares));
  await page.locator('#vehicles table').waitFor();
  // A new bus on route 12 of Astana's second carrier.
  await page.locator('#vehicle-transport_code').fill('10199');
  await page.locator('#vehicle-plate').fill('199 ABC 01');
  await page.locator('#vehicle-carrier').selectOption('astana-avtobus-park-3');
  await page.locator('#vehicle-route').selectOption('astana-12');
  await page.locator('#vehicle button[type=submit]').click();
  await page.locator('#vehicles').filter({ hasText: '10199' }).waitFor();
  const bus = (await call(demo.base, token, '/v1/admin/catalogue')).body.cities.find((c) => c.id === 'astana').vehicles.find((v) => v.transport_code === '10199');
  assert.deepEqual([bus.route, bus.carrier, bus.active], ['astana-12', 'astana-avtobus-park-3', true]);
  await screen(page, 'admin', lang, 'catalogue');

  // Almaty's daily cap 400 → 450 and its transfer window 40 → 45; its fares stay as they were.
  const almatyBefore = (await call(demo.base, token, '/v1/admin/catalogue')).body.cities.find((c) => c.id === 'almaty');
  assert.deepEqual(almatyBefore.fare_caps, [{ daily: '400.00' }], JSON.stringify(almatyBefore));
  await page.locator('#catalogue-city').selectOption('almaty');
  const cap = page.locator(`#caps input.cap-amount[aria-label="${m.admin_cap_daily_of.replace('{who}', m.admin_cap_all)}"]`);
  await cap.waitFor();
  assert.equal(await cap.inputValue(), '400.00');
  assert.equal(await page.locator('#transfer-window').inputValue(), '40');
  await cap.fill('450');
  await page.locator('#transfer-window').fill('45');
  await page.locator('#save-policy').click();
  await page.locator('.notices .ok').filter({ hasText: m.admin_policy_saved }).waitFor();
  const almaty = (await call(demo.base, token, '/v1/admin/catalogue')).body.cities.find((c) => c.id === 'almaty');
  assert.deepEqual(almaty.fare_caps, [{ daily: '450.00' }]);
  assert.deepEqual(almaty.transfer, { window_minutes: 45, amount: almatyBefore.transfer.amount });
  assert.deepEqual(almaty.fares, almatyBefore.fares, 'the fares are sent along unchanged');
  // The screen is drawn anew from the server's answer.
  await page.waitForFunction(() => document.querySelector('#caps input.cap-amount')?.value === '450.00');
  await screen(page, 'admin', lang, 'catalogue-caps');
  // Saving the fares sends the caps and the transfer along: they stay.
  const [saved] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/admin/catalogue') && r.request().method() === 'PUT'),
    page.locator('#save-fares').click(),
  ]);
  assert.equal(saved.status(), 200);
  const kept = (await call(demo.base, token, '/v1/admin/catalogue')).body.cities.find((c) => c.id === 'almaty');
  assert.deepEqual([kept.fare_caps, kept.transfer], [almaty.fare_caps, almaty.transfer]);

  // GTFS: the planted problems are listed, the rest is imported.
  await menu(page, 'gtfs');
  await page.locator('#gtfs-city option[value="astana"]').waitFor({ state: 'attached' });
  await page.locator('#gtfs-city').selectOption('astana');
  await page.locator('#gtfs-file').setInputFiles(zipPath);
  await page.locator('#gtfs button[type=submit]').click();
  await page.locator('#problems table').waitFor();
  assert.equal(Number(await page.locator('#problem-count').innerText()), 3);
  const problems = await page.locator('#problems').innerText();
  assert.match(problems, new RegExp(m.admin_problem_coordinate_out_of_range));
  assert.match(problems, new RegExp(m.admin_problem_duplicate_id));
  assert.equal(await page.locator('#gtfs progress').evaluate((p) => p.value), 100);
  await screen(page, 'admin', lang, 'gtfs');

  // Banks, credentials, live: their screens.
  await menu(page, 'banks');
  await page.locator('#banks table').filter({ hasText: 'kaspi' }).waitFor();
  assert.doesNotMatch(await page.locator('#banks').innerText(), /demo-kaspi-bank-secret/);
  await screen(page, 'admin', lang, 'banks');
  await menu(page, 'credentials');
  await page.locator('#credentials').waitFor();
  await screen(page, 'admin', lang, 'credentials');

  // Partners: a ride and a top-up by the demo's card holder reach the simulated operator and
  // acquirer; the screen shows their live state, every SMSC bind up, and no secret.
  const holder = '+77051234567';
  const rider = await passenger(demo.base, holder);
  const ride = await call(demo.base, rider, '/v1/rides', { method: 'POST', body: { transport_code: '10101' }, headers: { 'Idempotency-Key': 'admin-partners-1' } });
  assert.equal(ride.status, 201, JSON.stringify(ride.body));
  const card = (await call(demo.base, rider, '/v1/cards')).body.cards[0].number;
  const topUp = await call(demo.base, rider, `/v1/cards/${card}/top-ups`, { method: 'POST', body: { amount: '500.00' }, headers: { 'Idempotency-Key': 'admin-partners-2' } });
  assert.equal(topUp.status, 201, JSON.stringify(topUp.body));
  const state = (await call(demo.base, token, '/v1/admin/partners')).body;
  const secrets = ['demo-client-secret', 'demo2505', 'demo-acquirer-client-secret-0000', 'demo-acquirer-callback-secret-0000', 'demo-kaspi-bank-secret-0000'];
  for (const secret of secrets) assert.doesNotMatch(JSON.stringify(state), new RegExp(secret));
  const used = state.operators.find((o) => o.health.calls > 0);
  assert.ok(used, JSON.stringify(state.operators));
  await menu(page, 'partners');
  await page.locator('#operators table').waitFor();
  const rows = page.locator('#operators tbody tr');
  assert.equal(await rows.count(), 3);
  const usedRow = rows.filter({ hasText: used.id });
  await usedRow.locator('.status.working').filter({ hasText: m.admin_health_ok }).waitFor();
  const apis = page.locator('#operator-apis tbody tr').filter({ hasText: used.id });
  assert.match(await apis.innerText(), new RegExp(`${used.id}/carrier-billing/v0\\.5`));
  assert.match(await apis.innerText(), new RegExp(m.admin_auth_client_credentials));
  assert.equal(await page.locator('#smscs tbody tr').count(), 3);
  assert.equal(await page.locator('#smscs tbody tr .status.bound').count(), 3);
  assert.match(await page.locator('#smsc-config').innerText(), /127\.0\.0\.1:\d+/);
  assert.match(await page.locator('#acquirer').innerText(), /halyk-epay/);
  assert.match(await page.locator('#acquirer').innerText(), new RegExp(`${demo.base}/v1/acquirer/halyk-epay/callback`));
  assert.match(await page.locator('#acquirer-orders').innerText(), /1 open/);
  await page.locator('#partner-banks tbody tr').filter({ hasText: 'kaspi' }).waitFor();
  const shown = await page.locator('main').innerText();
  for (const secret of secrets) assert.doesNotMatch(shown, new RegExp(secret));
  await screen(page, 'admin', lang, 'partners');
  await menu(page, 'live');
  // A tracker registered here is listed at once; feed tokens are listed without the token.
  await page.locator('#trackers').waitFor();
  await page.locator('#tracker-tracker_id').fill('0000browser1');
  await page.locator('#tracker-password').fill('browser-tracker-pw');
  await page.locator('#tracker-transport_code').fill('20032');
  await page.locator('#tracker button[type=submit]').click();
  await page.locator('#trackers tbody tr').filter({ hasText: '0000browser1' }).filter({ hasText: '20032' }).waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), /browser-tracker-pw/);
  const feeds = (await call(demo.base, token, '/v1/admin/live/feed-tokens')).body.feed_tokens;
  assert.ok(feeds.length > 0, 'the demo makes feed tokens');
  await page.locator('#feed-tokens tbody tr').filter({ hasText: feeds[0].id }).waitFor();
  await screen(page, 'admin', lang, 'live');

  // Audit: every change above is in the trail, and the chain holds.
  await menu(page, 'audit');
  await page.locator('#audit table').waitFor();
  const audit = await page.locator('#audit').innerText();
  for (const key of ['audit_key__rotate', 'audit_staff__add', 'audit_catalogue__upsert', 'audit_gtfs__import']) assert.match(audit, new RegExp(m[key]), key);
  await page.locator('#verify').click();
  await page.locator('#verdict .status.intact').waitFor();
  assert.match(await page.locator('.notices').innerText(), /The chain holds/);
  await screen(page, 'admin', lang, 'audit');
  assert.equal(await page.locator('nav.side a[href="/reports/"]').count(), 1);
  await context.close();
});

for (const lang of ['kk', 'ru']) {
  test(`every admin screen in ${lang}`, async () => {
    const { context, page } = await openConsole(lang);
    await screen(page, 'admin', lang, 'signin');
    await freshStep();
    await signIn(page, ADMIN);
    await page.locator('#keys table').waitFor();
    await screen(page, 'admin', lang, 'keys');
    for (const [id, ready] of [['staff', '#accounts table'], ['catalogue', '#vehicles table'], ['gtfs', '#gtfs'], ['banks', '#banks table'], ['partners', '#smscs table'],
      ['credentials', '#credentials'], ['live', '#feed-tokens'], ['audit', '#audit table']]) {
      await menu(page, id);
      await page.locator(ready).waitFor();
      if (id === 'gtfs') {
        await page.locator('#gtfs-city option[value="astana"]').waitFor({ state: 'attached' });
        await page.locator('#gtfs-city').selectOption('astana');
        await page.locator('#gtfs-file').setInputFiles(zipPath);
        await page.locator('#gtfs button[type=submit]').click();
        await page.locator('#problems table').waitFor();
      }
      if (id === 'catalogue') {
        // Almaty: its daily cap and transfer rule are on the screen.
        await page.locator('#catalogue-city').selectOption('almaty');
        await page.locator('#caps input.cap-amount').first().waitFor();
        await page.locator('#transfer-window').waitFor();
        assert.notEqual(await page.locator('#transfer-window').inputValue(), '');
      }
      if (id === 'audit') {
        await page.locator('#verify').click();
        await page.locator('#verdict .status.intact').waitFor();
      }
      await screen(page, 'admin', lang, id);
    }
    await context.close();
  });
}
