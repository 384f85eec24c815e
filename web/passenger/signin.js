// First start (language, city — the nearest served one proposed from location —, the rules) and sign-in with the phone number and an SMS code.
// Every refusal is shown in the passenger's words (the API's message, the wait it asks for).
import { t, count, LANGUAGES, language } from '../lib/i18n.js';
import { api, setSession } from '../lib/api.js';
import { h, problemView, field } from '../lib/ui.js';
import { distanceM } from '../lib/geo.js';
import { state, chooseLanguage, chooseCity, go } from './app.js';

function languagePicker(onChange) {
  return h('div', { class: 'languages', role: 'group', 'aria-label': t('start_language') },
    LANGUAGES.map((lang) => h('button', { type: 'button', lang, 'aria-pressed': String(language() === lang),
      onclick: () => { chooseLanguage(lang); onChange(); } }, t(`lang_${lang}`))));
}

/// The served city nearest the phone (one inside a city's bounds first), when location is
/// allowed already: the first start proposes it and the passenger may still choose another.
function proposeNearest(cities, propose) {
  if (!navigator.geolocation || !navigator.permissions) return;
  navigator.permissions.query({ name: 'geolocation' }).then((p) => {
    if (p.state !== 'granted') return;
    navigator.geolocation.getCurrentPosition(({ coords }) => {
      const here = { lat: coords.latitude, lon: coords.longitude };
      const inside = (c) => c.bounds && here.lat >= c.bounds.south && here.lat <= c.bounds.north && here.lon >= c.bounds.west && here.lon <= c.bounds.east;
      const ranked = cities.filter((c) => c.centre).sort((a, b) => (inside(b) - inside(a)) || distanceM(here, a.centre) - distanceM(here, b.centre));
      if (ranked[0]) propose(ranked[0]);
    }, () => {}, { maximumAge: 60_000, timeout: 10_000 });
  }).catch(() => {});
}

export function start(main) {
  const draw = () => {
    main.replaceChildren();
    const city = h('select', {}, h('option', { value: state.city }, state.city));
    const accept = h('input', { type: 'checkbox', id: 'rules', style: { width: '28px', minHeight: '28px' } });
    let cities = [];
    const go_on = h('button', { class: 'wide big', type: 'button', disabled: true, onclick: () => {
      chooseCity(city.value, cities);
      state.started = true;
      const bus = sessionStorage.getItem('smsbus.bus');
      go(bus ? `#/pay/${encodeURIComponent(bus)}` : '#/signin');
    } }, t('start_continue'));
    accept.addEventListener('change', () => { go_on.disabled = !accept.checked; });
    main.append(
      h('h1', {}, t('start_title')),
      h('p', { class: 'muted' }, t('app_tagline')),
      h('h2', {}, t('start_language')), languagePicker(draw),
      field('city', t('start_city'), city),
      h('details', { class: 'card soft' }, h('summary', {}, t('rules_title')), h('p', {}, t('rules_text'))),
      h('div', { class: 'row', style: { flexWrap: 'nowrap' } }, accept, h('label', { for: 'rules', style: { flex: '1 1 100%' } }, t('start_rules'))),
      go_on);
    const found = h('p', { class: 'ok', id: 'city-found', role: 'status', hidden: true });
    city.after(found);
    city.addEventListener('change', () => { found.hidden = true; });
    api('/v1/cities').then(({ data }) => {
      cities = data.cities;
      city.replaceChildren(...data.cities.map((c) => h('option', { value: c.id, selected: c.id === state.city }, c.name)));
      proposeNearest(cities, (c) => {
        if (!city.isConnected) return;
        city.value = c.id;
        found.textContent = t('start_city_found', { city: c.name });
        found.hidden = false;
      });
    }).catch(() => {});
  };
  draw();
}

export function render(main) {
  let timer = null;
  let phoneSent = null;
  const draw = (error) => {
    clearInterval(timer);
    main.replaceChildren(h('h1', {}, t('signin_title')));
    if (!phoneSent) {
      const phone = h('input', { type: 'tel', autocomplete: 'tel', inputmode: 'tel', value: state.phone || '+7 ' });
      const send = h('button', { class: 'wide big', type: 'submit' }, t('signin_send'));
      const form = h('form', { onsubmit: async (e) => {
        e.preventDefault();
        send.disabled = true;
        try {
          const { data } = await api('/v1/auth/code', { method: 'POST', body: { phone: phone.value } });
          phoneSent = { phone: phone.value.replace(/[^\d+]/g, ''), expires: data.expires_in_s, at: Date.now() };
          draw();
        } catch (err) { draw(err); }
      } }, field('phone', t('signin_phone'), phone, t('signin_phone_hint')), send);
      main.append(...[form, error ? problemView(error) : null, h('p', { class: 'hint' }, t('signin_limits'))].filter(Boolean));
      phone.focus();
      return;
    }
    const code = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}' });
    const submit = h('button', { class: 'wide big', type: 'submit' }, t('signin_submit'));
    const resend = h('button', { class: 'wide secondary', type: 'button', disabled: true, onclick: async () => {
      try {
        await api('/v1/auth/code', { method: 'POST', body: { phone: phoneSent.phone } });
        phoneSent.at = Date.now();
        draw();
      } catch (err) { draw(err); }
    } }, t('signin_resend'));
    const tick = () => {
      const left = 30 - Math.floor((Date.now() - phoneSent.at) / 1000);
      resend.disabled = left > 0;
      resend.textContent = left > 0 ? t('signin_resend_in', { seconds: count('n_seconds', left) }) : t('signin_resend');
    };
    tick();
    timer = setInterval(tick, 1000);
    const form = h('form', { onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const { data } = await api('/v1/auth/session', { method: 'POST', body: { phone: phoneSent.phone, code: code.value.trim() } });
        setSession(data.token);
        state.phone = data.phone;
        const bus = sessionStorage.getItem('smsbus.bus');
        go(bus ? `#/pay/${encodeURIComponent(bus)}` : '#/pay');
      } catch (err) { draw(err); }
    } },
    h('p', { class: 'ok', role: 'status' }, t('signin_code_sent', { phone: phoneSent.phone, minutes: count('n_minutes', Math.round(phoneSent.expires / 60)) })),
    field('code', t('signin_code'), code), submit);
    main.append(...[form, error ? problemView(error) : null, resend,
      h('button', { class: 'wide secondary', type: 'button', onclick: () => { phoneSent = null; draw(); } }, t('signin_change_phone')),
      h('p', { class: 'hint' }, t('signin_limits'))].filter(Boolean));
    code.focus();
  };
  draw();
  return () => clearInterval(timer);
}

