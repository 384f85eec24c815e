// More: the transport cards, language, city, journeys, support numbers, the rules of service, install, sign out.
import { t, LANGUAGES, language } from '../lib/i18n.js';
import { api, session, setSession } from '../lib/api.js';
import { h, maskPhone, field } from '../lib/ui.js';
import { state, chooseLanguage, chooseCity, go } from './app.js';
import { store } from './tickets.js';

const SUPPORT = ['+7 777 000 2505', '+7 700 000 2505', '+7 707 000 2505'];
let installPrompt = null;
window.addEventListener('beforeinstallprompt', (e) => { e.preventDefault(); installPrompt = e; });

export function render(main) {
  const draw = () => {
    main.replaceChildren();
    let cities = [];
    const city = h('select', { onchange: () => chooseCity(city.value, cities) }, h('option', { value: state.city }, state.city));
    api('/v1/cities').then(({ data }) => (cities = data.cities) && city.replaceChildren(...data.cities.map((c) => h('option', { value: c.id, selected: c.id === state.city }, c.name)))).catch(() => {});
    main.append(...[
      h('h1', {}, t('more_title')),
      session() ? h('p', {}, t('more_signed_in', { phone: maskPhone(state.phone) })) : null,
      session() ? h('a', { class: 'button wide', href: '#/cards' }, t('more_cards')) : null,
      h('a', { class: 'button wide', href: '#/journey' }, t('more_journeys')),
      h('h2', {}, t('more_language')),
      h('div', { class: 'languages', role: 'group', 'aria-label': t('more_language') },
        LANGUAGES.map((lang) => h('button', { type: 'button', lang, 'aria-pressed': String(language() === lang), onclick: () => { chooseLanguage(lang); draw(); } }, t(`lang_${lang}`)))),
      field('more-city', t('more_city'), city),
      h('h2', {}, t('more_support')),
      h('ul', { class: 'list' }, SUPPORT.map((n) => h('li', {}, h('a', { class: 'button secondary wide', href: `tel:${n.replace(/\s/g, '')}` }, n)))),
      h('details', { class: 'card soft' }, h('summary', {}, t('more_rules')), h('p', {}, t('rules_text'))),
      installPrompt ? h('button', { class: 'wide secondary', type: 'button', onclick: () => installPrompt.prompt() }, t('more_install')) : null,
      session() ? h('button', { class: 'wide secondary', type: 'button', onclick: async () => {
        await api('/v1/auth/session', { method: 'DELETE' }).catch(() => {});
        setSession(null);
        state.phone = '';
        store([]);
        go('#/signin');
      } }, t('more_signout')) : h('a', { class: 'button wide', href: '#/signin' }, t('signin_title'))].filter(Boolean));
  };
  draw();
}
