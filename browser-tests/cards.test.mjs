// The passenger app's transport cards in Debian's Chromium at a phone's size, against a demo
// of their own: the cards reached from "More", a school and a regular card opened, a
// preferential card applied for (the city's categories with fare, who is eligible, the
// documents) and approved at the office, a card's balance and paged history, block and
// unblock, close into another card; the pay screen's sources (phone balance and each card at
// its own fare, a card without the fare refused with the others offered, the choice
// remembered, the ride paid from the card); the nearest city proposed from location on the
// first start; a stop's next arrivals on the map; pay by detection reaching a confident
// answer as the phone rides a live bus. axe-core and the catalogue check on every screen; screenshots
// ../screenshots/cards-*-{kk,ru,en}.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MESSAGES } from '../web/lib/messages.js';
import { demoServer, signedIn, admin, topUp, screen, shots, PHONE_VIEW } from './harness.mjs';

const server = demoServer(21000);
const GROUPED = /^\d{4} \d{4} \d{4} \d{4}$/;
// Numbers of the kcell prefix: signed in by SMS code; their cards pay, not their balance.
const HOLDERS = { kk: '+77015550101', ru: '+77015550102', en: '+77015550103' };

for (const lang of ['kk', 'ru', 'en']) {
  test(`cards (${lang}): open, apply, approve, history, block, unblock, close into another`, async () => {
    const m = MESSAGES[lang];
    const { context, call } = await signedIn(server, lang, HOLDERS[lang], { city: 'almaty' });
    const page = await context.newPage();
    await page.goto('/#/more');
    await page.locator('a', { hasText: m.more_cards }).click();
    await page.locator('h1', { hasText: m.cards_title }).waitFor();
    await page.locator('p', { hasText: m.cards_none }).waitFor();
    await screen(page, lang, 'cards-empty');

    // A school card: the pupil's name, school and class.
    await page.locator('a', { hasText: m.cards_open }).click();
    await page.locator('h1', { hasText: m.cards_open_title }).waitFor();
    await screen(page, lang, 'cards-open');
    await page.locator('button[data-kind="school"]').click();
    await page.locator('#pupil').fill('Алихан');
    await page.locator('#school').fill('№ 12');
    await page.locator('#class').fill('3Б');
    await screen(page, lang, 'cards-open-school');
    await page.locator('form button[type=submit]').click();
    const tile = page.locator('section.card-tile');
    await tile.waitFor();
    const school = await tile.getAttribute('data-card');
    assert.match(await tile.locator('.card-number').innerText(), GROUPED);
    assert.match(await tile.innerText(), /Алихан/);
    assert.equal(await page.locator(`a[data-top-up="${school}"]`).getAttribute('href'), `#/cards/${school}/top-up`);
    await screen(page, lang, 'cards-opened');

    // A regular card, to take the school card's balance when it is closed.
    await page.goto('/#/cards/open');
    await page.locator('#holder').fill('Айгерим Серикова');
    await page.locator('form button[type=submit]').click();
    await page.locator('section.card-tile').waitFor();
    const regular = await page.locator('section.card-tile').getAttribute('data-card');
    assert.notEqual(regular, school);

    // A preferential card: the city's categories with their fare, who, which documents.
    await page.goto('/#/cards/apply');
    await page.locator('button[data-category="pensioner"]').click();
    await page.locator('#category-details').waitFor();
    const details = await page.locator('#category-details').innerText();
    assert.ok(details.includes(m.cat_who_pensioner) && details.includes(m.cat_docs_pensioner), details);
    assert.match(details, /40\s?₸/);
    assert.equal(await page.locator('#doc-kind').inputValue(), m.cat_doc_pensioner);
    await page.locator('#full-name').fill('Бауыржан Омаров');
    await page.locator('#doc-number').fill('ПУ-123456');
    await screen(page, lang, 'cards-apply');
    await page.locator('form button[type=submit]').click();
    await page.locator('#applied').waitFor();
    await screen(page, lang, 'cards-applied');
    await page.goto('/#/cards');
    await page.locator('#applications li').waitFor();
    assert.match(await page.locator('#applications').innerText(), new RegExp(m.app_status_pending));
    await page.locator('section.card-tile').nth(1).waitFor();
    await screen(page, lang, 'cards-list-pending');

    // The office approves it: the preferential card is listed, the application approved.
    const { data: mine } = await call('/v1/card-applications');
    const approved = await fetch(`${server.base}/v1/office/card-applications/${mine.applications[0].id}/approve`, {
      method: 'POST', headers: { ...(await admin(server)), 'Content-Type': 'application/json' },
      body: JSON.stringify({ document_kind: 'pension certificate', document_number: 'ПУ-123456', valid_until: '2030-06-30' }),
    });
    assert.equal(approved.status, 200, await approved.text());
    await page.reload();
    await page.locator('section.kind-preferential').waitFor();
    assert.match(await page.locator('#applications').innerText(), new RegExp(m.app_status_approved));
    assert.match(await page.locator('section.kind-preferential').innerText(), /2030/);
    await screen(page, lang, 'cards-list');
    // Every card's number fits a 320 px screen.
    await page.setViewportSize({ width: 320, height: 640 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'the cards fit 320 px');
    await page.setViewportSize(PHONE_VIEW.viewport);

    // The school card's balance and history, a page at a time.
    for (let i = 0; i < 12; i++) assert.equal(await topUp(server, school, 100), 0);
    await page.goto(`/#/cards/${school}`);
    await page.locator('#history li').first().waitFor();
    assert.match(await page.locator('section.card-tile .balance').innerText(), /1[\s\u00a0,]?200/);
    assert.equal(await page.locator('#history li').count(), 10);
    await screen(page, lang, 'cards-detail');
    await page.setViewportSize({ width: 320, height: 640 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'the card fits 320 px');
    await page.setViewportSize(PHONE_VIEW.viewport);
    await page.locator('button', { hasText: m.cards_more }).click();
    await page.waitForFunction(() => document.querySelectorAll('#history li').length === 12);
    assert.ok(await page.locator('button', { hasText: m.cards_more }).isHidden());

    // Blocked (a lost phone), unblocked, closed into the regular card.
    await page.locator('#block').click();
    await page.locator('#unblock').waitFor();
    assert.match(await page.locator('section.card-tile').innerText(), new RegExp(m.cards_status_blocked));
    await screen(page, lang, 'cards-blocked');
    assert.equal((await call(`/v1/cards/${school}`)).data.status, 'blocked');
    await page.locator('#unblock').click();
    await page.locator('#block').waitFor();
    await page.locator('#close summary').click();
    await page.locator('#close-into').selectOption(regular);
    await screen(page, lang, 'cards-close');
    await page.locator('#close-confirm').click();
    await page.locator('.ok', { hasText: m.cards_closed_into.split('{card}')[0].trim() }).waitFor();
    assert.equal((await call(`/v1/cards/${school}`)).data.status, 'closed');
    assert.equal((await call(`/v1/cards/${regular}`)).data.balance.amount, '1200.00');
    await screen(page, lang, 'cards-closed');
    await context.close();
  });
}

/// A passenger holding an empty regular card and a pensioner's card with 200 ₸ on it.
async function holderWithCards(lang, phone) {
  const signed = await signedIn(server, lang, phone, { city: 'almaty' });
  const { call } = signed;
  const empty = await call('/v1/cards', { method: 'POST', body: { kind: 'regular' } });
  assert.equal(empty.status, 201);
  const applied = await call('/v1/card-applications', { method: 'POST', body: { city: 'almaty', category: 'pensioner', full_name: 'Бауыржан Омаров', document_kind: 'pension certificate', document_number: `ПУ-${phone.slice(-4)}` } });
  assert.equal(applied.status, 201);
  const approved = await fetch(`${server.base}/v1/office/card-applications/${applied.data.id}/approve`, {
    method: 'POST', headers: { ...(await admin(server)), 'Content-Type': 'application/json' },
    body: JSON.stringify({ document_kind: 'pension certificate', document_number: 'ПУ-1', valid_until: '2030-06-30' }),
  });
  const preferential = (await approved.json()).card;
  assert.equal(await topUp(server, preferential, 200), 0);
  return { ...signed, empty: empty.data.number, preferential };
}

for (const [lang, phone] of [['kk', '+77015550201'], ['ru', '+77015550202'], ['en', '+77011234567']]) {
  test(`the pay screen's sources (${lang}): each card at its fare, one refused, the choice remembered`, async () => {
    const m = MESSAGES[lang];
    const { context, call, empty, preferential } = await holderWithCards(lang, phone);
    const page = await context.newPage();
    await page.goto('/#/pay/20032');
    const pay = page.locator('button[data-pay="20032"]');
    await pay.waitFor();
    const sources = page.locator('fieldset.sources');
    // The phone balance at 80 ₸, the pensioner's card at its own 40 ₸; the empty card refused
    // with its reason and not selectable.
    assert.match(await sources.locator('[data-source="phone"]').innerText(), /80\s?₸/);
    assert.match(await sources.locator(`[data-source="${preferential}"]`).innerText(), /40\s?₸/);
    const refused = sources.locator(`[data-source="${empty}"]`);
    assert.ok(await refused.locator('input').isDisabled());
    assert.ok((await refused.innerText()).includes((await call('/v1/rides/quote?transport_code=20032', { headers: { 'Accept-Language': lang } })).data.cards.find((c) => c.number === empty).refusal.message));
    assert.ok(await sources.locator('[data-source="phone"] input').isChecked(), 'the phone balance until another is chosen');
    await screen(page, lang, 'cards-pay-sources');
    await page.setViewportSize({ width: 320, height: 640 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'the sources fit 320 px');
    await page.setViewportSize(PHONE_VIEW.viewport);
    await sources.locator(`[data-source="${preferential}"] input`).check();
    assert.match(await pay.innerText(), /40\s?₸/);
    // A companion pays the regular fare from the phone balance: the total says so.
    await page.locator(`button[aria-label="${m.pay_passengers_more}"]`).click();
    assert.match(await pay.innerText(), /120\s?₸/);
    assert.ok(await page.locator('p.hint', { hasText: m.pay_companions_phone }).isVisible());
    await page.locator(`button[aria-label="${m.pay_passengers_less}"]`).click();
    await pay.click();
    await page.locator('.ticket').first().waitFor();
    // The card's ticket is bound to the card: its number is on the ticket, for a controller.
    const grouped = preferential.replace(/(\d{4})(?=\d)/g, '$1 ');
    await page.locator('.ticket .holder-card', { hasText: grouped }).waitFor();
    assert.ok(await page.locator('.ticket p.hint', { hasText: m.ticket_card_hint }).isVisible());
    await screen(page, lang, 'cards-ticket');
    const card = (await call(`/v1/cards/${preferential}`)).data;
    assert.equal(card.balance.amount, '160.00', 'the ride was paid from the card');
    // The next payment offers the same card first.
    await page.goto('/#/pay/20032');
    await page.locator('button[data-pay="20032"]').waitFor();
    assert.ok(await page.locator(`[data-source="${preferential}"] input`).isChecked(), 'the choice is remembered');
    assert.match(await page.locator('button[data-pay="20032"]').innerText(), /40\s?₸/);
    await context.close();
  });
}

for (const lang of ['kk', 'ru', 'en']) {
  test(`the first start proposes the nearest city from location (${lang})`, async () => {
    const context = await server.browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: server.base, permissions: ['geolocation'], geolocation: { latitude: 51.128, longitude: 71.43, accuracy: 20 } });
    await context.addInitScript(() => { if (!localStorage.getItem('smsbus.city')) localStorage.setItem('smsbus.city', 'shymkent'); });
    const page = await context.newPage();
    await page.goto('/');
    const found = page.locator('#city-found');
    await found.waitFor();
    assert.equal(await page.locator('#city').inputValue(), 'astana');
    assert.match(await found.innerText(), /Астана|Astana/);
    await screen(page, lang, 'cards-start-city');
    // Another city may still be chosen.
    await page.locator('#city').selectOption('almaty');
    assert.ok(await found.isHidden());
    await context.close();
  });
}

/// A stop that a live bus is on its way to, expected at least `aheadMs` from now (asked
/// sparingly: the demo limits requests per client, the browser's included).
async function stopWithLiveArrival(aheadMs) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { vehicles } = await (await fetch(`${server.base}/v1/live/astana/vehicles?bbox=-180,-85,180,85`)).json();
    for (const stop of [...new Set(vehicles.map((v) => v.next_stop_id).filter(Boolean))].slice(0, 5)) {
      const answer = await (await fetch(`${server.base}/v1/cities/astana/stops/${encodeURIComponent(stop)}/arrivals`)).json();
      if (answer.arrivals?.some((a) => a.live && Date.parse(a.expected_at) - Date.now() > aheadMs)) return stop;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('no live bus on its way to a stop');
}

for (const lang of ['kk', 'ru', 'en']) {
  test(`a stop tapped on the map shows its routes and next arrivals, live ones marked (${lang})`, async () => {
    const m = MESSAGES[lang];
    const context = await server.browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: server.base });
    await context.addInitScript((lang) => { localStorage.setItem('smsbus.started', '1'); localStorage.setItem('smsbus.lang', lang); localStorage.setItem('smsbus.tz', 'Asia/Almaty'); }, lang);
    const page = await context.newPage();
    const stop = await stopWithLiveArrival(90_000);
    await page.goto('/#/map');
    await page.locator(`path[data-stop="${stop}"]`).waitFor();
    await page.locator(`path[data-stop="${stop}"]`).dispatchEvent('click');
    const popup = page.locator(`.leaflet-popup-content [data-stop="${stop}"]`);
    await popup.locator('.arrivals li.live').first().waitFor();
    const text = await popup.innerText();
    assert.ok(text.includes(m.map_arrivals), text);
    assert.match(text, /\d{2}:\d{2}/);
    assert.match(text, new RegExp(m.map_routes.split('{routes}')[0].trim()));
    await screen(page, lang, 'cards-stop-arrivals');
    await context.close();
  });
}

/// Where every stop of the demo's routes is.
async function stopPlaces() {
  const places = new Map();
  for (const route of ['astana-10', 'astana-12', 'astana-310']) {
    const detail = await (await fetch(`${server.base}/v1/cities/astana/routes/${route}`)).json();
    for (const v of detail.variants ?? []) for (const s of v.stops) places.set(s.id, s);
  }
  return places;
}

function metres(a, b) {
  const rad = Math.PI / 180;
  const x = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 12742000 * Math.asin(Math.sqrt(x));
}

/// A catalogue bus reporting now, moving, with a long way to its next stop (so it keeps
/// moving while the phone rides it).
async function movingBus() {
  const places = await stopPlaces();
  for (let attempt = 0; attempt < 30; attempt++) {
    const live = (await (await fetch(`${server.base}/v1/live/astana/vehicles`)).json()).vehicles;
    const ahead = (v) => (places.has(v.next_stop_id) ? metres(v, places.get(v.next_stop_id)) : 0);
    const bus = live.filter((v) => v.transport_code && Date.now() - v.at_ms < 20000 && (v.speed_mps ?? 0) > 3 && ahead(v) > 500)
      .sort((a, b) => ahead(b) - ahead(a))[0];
    if (bus) return bus;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('no catalogue bus is moving with a long way ahead');
}

test('pay by detection reaches a confident answer: the phone rides a live bus, the proposal names it, one tap pays', async () => {
  const m = MESSAGES.ru;
  const bus = await movingBus();
  const { context } = await signedIn(server, 'ru', '+77071234567', { permissions: ['geolocation'], geolocation: { latitude: bus.lat, longitude: bus.lon, accuracy: 10 } });
  const page = await context.newPage();
  // The phone follows the bus as the server sees it, at the bus's own speed.
  let riding = true;
  const follow = (async () => {
    while (riding) {
      const now = (await (await fetch(`${server.base}/v1/live/astana/vehicles`)).json()).vehicles.find((v) => v.id === bus.id);
      if (now && riding) await context.setGeolocation({ latitude: now.lat, longitude: now.lon, accuracy: 10 }).catch(() => {});
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    await page.goto('/#/pay');
    // Confident needs 150 m travelled over 20 s at least: a bus at 5–10 m/s gets there in
    // half a minute; the short list may show first.
    const detected = page.locator('#detect #detected');
    await detected.waitFor({ timeout: 90000 }).catch(async (error) => {
      throw new Error(`${error.message}\nthe page shows: ${await page.locator('main').innerText()}`);
    });
    const text = await detected.innerText();
    const expected = m.detect_confident.replace('{route}', bus.route_number).replace('{plate}', bus.plate).split('{amount}')[0];
    assert.ok(text.startsWith(expected), `${text} / ${expected}`);
    assert.equal(await page.locator('#detect section.card').count(), 1, 'one bus proposed, not a list');
    await page.screenshot({ path: join(shots, 'cards-pay-detect-confident-ru.png'), fullPage: true });
    await page.locator(`#detect button[data-pay="${bus.transport_code}"]`).click();
    await page.locator('.ticket .plate', { hasText: bus.plate }).waitFor();
  } finally {
    riding = false;
    await follow;
  }
  await context.close();
});
