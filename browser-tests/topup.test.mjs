// Topping a card up in the passenger app (web/passenger/topup.js) in Debian's Chromium at a
// phone's size, against a real demo and its simulated acquirer: the top-up screen of the demo
// card, a preset amount, the acquirer's payment page (a test card typed there), back to the
// app with the result — the balance grew once, by the amount — and a declined card said so.
// axe-core and the catalogue check on every screen; screenshots ../screenshots/topup-*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../web/lib/messages.js';
import { firstCard, passengerSession, screen as checked, startDemo } from './demo.mjs';

const PHONE_VIEW = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
// The demo card's holder (crates/smsbus/src/bank_cli.rs) and the simulated acquirer's cards.
const HOLDER = '+77051234567';
const CARD_OK = '4405645000006150';
const CARD_DECLINED = '4000000000000002';
let demo;
let session;

before(async () => {
  demo = await startDemo(21000 + (process.pid % 1000));
  session = await passengerSession(demo.base, HOLDER);
});

after(async () => demo?.stop());

const screen = (page, lang, name) => checked(page, lang, `topup-${name}`, 'topup_');
const card = () => firstCard(demo.base, session.token);

async function signedIn(lang) {
  // bypassCSP only lets axe-core's script in; the app itself runs under its CSP elsewhere.
  const context = await demo.browser.newContext({ ...PHONE_VIEW, locale: lang, bypassCSP: true, baseURL: demo.base });
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

/// On the acquirer's page: the card typed, paid; back in the app.
async function payOnAcquirerPage(page, number) {
  await page.waitForURL((url) => url.pathname.startsWith('/pay/'));
  await page.locator('#card').fill(number);
  await page.locator('#expiry').fill('12/29');
  await page.locator('#cvc').fill('123');
  await page.locator('#pay').click();
  await page.waitForURL((url) => url.origin === demo.base && url.hash.includes('top_up='));
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
