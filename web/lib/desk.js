// The shell of a desktop staff app (the carrier's dashboard, the reports): the header with
// the language switch and the signed-in account, the section tabs, the sign-in screen, and a
// hash router that draws one section at a time. Texts come from messages.js.
import { LANGUAGES, phoneLanguage, setLanguage, translate, t } from './i18n.js';
import { h } from './ui.js';
import { account, signInForm, signOut } from './staff.js';

/// Starts the app: `sections` is [{id, label (message key), draw(main, account)}]; `roles`
/// the roles it serves; `title` its name's message key.
export function startDesk({ title, roles, sections }) {
  const lang = localStorage.getItem('smsbus.lang') || phoneLanguage();
  setLanguage(lang);
  const header = document.querySelector('header.desk-top');
  const nav = document.querySelector('nav.desk-tabs');
  const main = document.getElementById('main');
  const render = () => {
    document.title = `SMSBUS · ${t(title)}`;
    const who = account();
    const languages = h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('more_language') },
      LANGUAGES.map((l) => h('button', {
        type: 'button', class: 'secondary', 'aria-pressed': String(l === lang_()), lang: l,
        onclick: () => { localStorage.setItem('smsbus.lang', l); setLanguage(l); render(); },
      }, t(`lang_${l}`))));
    header.replaceChildren(
      h('span', { class: 'brand' }, `SMSBUS · ${t(title)}`),
      h('div', { class: 'row right' }, languages,
        who ? h('span', { class: 'who' }, t('staff_signed_in', { login: who.login, role: t(`staff_role_${who.role}`) })) : null,
        who ? h('button', { type: 'button', class: 'secondary', onclick: async () => { await signOut(); render(); } }, t('staff_signout')) : null));
    if (!who || !roles.includes(who.role)) {
      nav.hidden = true;
      main.replaceChildren(signInForm({ title: t(title), roles, onSignedIn: () => render() }));
      translate();
      return;
    }
    const current = sections.find((s) => location.hash === `#/${s.id}`) ?? sections[0];
    nav.hidden = sections.length < 2;
    nav.setAttribute('aria-label', t('cr_nav_label'));
    nav.replaceChildren(...sections.map((s) => h('a', { href: `#/${s.id}`, 'aria-current': s === current ? 'page' : null, dataset: { tab: s.id } }, t(s.label))));
    main.replaceChildren();
    current.draw(main, who);
    translate();
  };
  const lang_ = () => document.documentElement.lang;
  window.addEventListener('hashchange', render);
  window.addEventListener('smsbus:staff-signed-out', render);
  render();
}
