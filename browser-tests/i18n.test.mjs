// The web apps' message catalogue: every key in all three languages, every count with the
// plural forms its language has (Intl.PluralRules), the same placeholders everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../web/lib/messages.js';

const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
const placeholders = (v) => [...new Set((typeof v === 'string' ? [v] : Object.values(v)).flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();

test('every key exists in kk, ru and en, with the same placeholders', () => {
  const keys = new Set(Object.values(MESSAGES).flatMap((m) => Object.keys(m)));
  for (const lang of Object.keys(LOCALES)) {
    for (const key of keys) {
      assert.ok(key in MESSAGES[lang], `${key} is missing in ${lang}`);
      assert.deepEqual(placeholders(MESSAGES[lang][key]), placeholders(MESSAGES.en[key]), `${key} (${lang}) placeholders`);
      assert.equal(typeof MESSAGES[lang][key], typeof MESSAGES.en[key], `${key} (${lang}) is a count in every language or in none`);
    }
  }
});

test('every count has each plural form its language uses', () => {
  for (const [lang, locale] of Object.entries(LOCALES)) {
    const forms = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
    for (const [key, value] of Object.entries(MESSAGES[lang])) {
      if (typeof value !== 'object') continue;
      for (const form of forms) assert.ok(value[form], `${key} (${lang}) lacks the "${form}" form`);
    }
  }
  // Russian: 1 секунду, 3 секунды, 5 секунд, 21 секунду; Kazakh keeps the noun as it is.
  const ru = new Intl.PluralRules('ru-RU');
  assert.deepEqual([1, 3, 5, 21, 1.5].map((n) => ru.select(n)), ['one', 'few', 'many', 'one', 'other']);
  assert.equal(MESSAGES.ru.n_seconds[ru.select(5)].replace('{n}', 5), '5 секунд');
  assert.equal(MESSAGES.ru.n_seconds[ru.select(22)].replace('{n}', 22), '22 секунды');
  assert.equal(MESSAGES.kk.n_seconds[new Intl.PluralRules('kk-KZ').select(5)].replace('{n}', 5), '5 секунд');
});
