// The interface catalogues must all hold the same keys, with the same placeholders,
// and no empty message. Runs without a browser or a server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const webClient = path.resolve(here, '../../web-client');
const i18nDir = path.join(webClient, 'i18n');
const LANGS = ['en', 'fr', 'es', 'ar'];

async function load(lang) {
  const mod = await import(pathToFileURL(path.join(i18nDir, `${lang}.js`)).href);
  return mod.default;
}

function placeholders(s) {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

test('every catalogue has exactly the keys of every other', async () => {
  const cats = Object.fromEntries(await Promise.all(LANGS.map(async (l) => [l, await load(l)])));
  const all = new Set(LANGS.flatMap((l) => Object.keys(cats[l])));
  const problems = [];
  for (const l of LANGS) {
    for (const key of all) {
      if (!(key in cats[l])) {
        const has = LANGS.filter((o) => key in cats[o]).join(', ');
        problems.push(`${l}.js misses "${key}" (present in ${has})`);
      }
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('messages are non-empty strings with the same placeholders as English', async () => {
  const en = await load('en');
  const problems = [];
  for (const l of LANGS) {
    const cat = await load(l);
    for (const [key, value] of Object.entries(cat)) {
      if (typeof value !== 'string' || !value.trim()) {
        problems.push(`${l}.js "${key}" is empty or not a string`);
        continue;
      }
      if (key in en && placeholders(value).join() !== placeholders(en[key]).join()) {
        problems.push(`${l}.js "${key}" has placeholders {${placeholders(value)}} but en has {${placeholders(en[key])}}`);
      }
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('every key the client uses exists in the English catalogue', async () => {
  const en = await load('en');
  const files = [];
  async function walk(dir) {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) { if (ent.name !== 'i18n') await walk(p); } else if (p.endsWith('.js')) files.push(p);
    }
  }
  await walk(webClient);
  const missing = [];
  for (const f of files) {
    const src = await readFile(f, 'utf8');
    for (const m of src.matchAll(/\bt\('([a-z_]+\.[a-z_]+)'/g)) {
      if (!(m[1] in en)) missing.push(`${path.relative(webClient, f)} uses "${m[1]}"`);
    }
  }
  assert.deepEqual(missing, [], missing.join('\n'));
});

test('dynamic keys are complete: kinds, roles, error codes and languages', async () => {
  const en = await load('en');
  const needed = [
    ...['intro', 'welcome', 'round', 'open_floor', 'closing', 'break'].map((k) => `kind.${k}`),
    ...['host', 'moderator', 'speaker', 'participant', 'observer', 'interpreter', 'projector'].map((k) => `role.${k}`),
    ...['bad_request', 'invalid_argument', 'unsupported_version', 'unauthorized', 'forbidden', 'invalid_state',
      'not_found', 'duplicate', 'queue_closed', 'rate_limited', 'too_large', 'no_such_meeting', 'archived', 'meeting_full',
      'internal', 'offline'].map((k) => `error.${k}`),
    ...['ar', 'de', 'en', 'es', 'fr', 'it', 'pt', 'ru', 'sv', 'zh'].map((k) => `lang.${k}`),
    ...['no_interpretation', 'slow_down', 'speaker_done'].map((k) => `alert.${k}`),
  ];
  const missing = needed.filter((k) => !(k in en));
  assert.deepEqual(missing, [], `missing: ${missing.join(', ')}`);
});

test('translations are not English left in place', async () => {
  const en = await load('en');
  // Short technical strings may legitimately coincide ("+1 min", "Introduction"...).
  const allowed = new Set(['host.plus_minute', 'host.minus_minute', 'kind.intro', 'agenda.actual', 'role.participant', 'host.pause']);
  const problems = [];
  for (const l of ['fr', 'es', 'ar']) {
    const cat = await load(l);
    for (const [key, value] of Object.entries(cat)) {
      if (allowed.has(key) || key === 'app.autonym') continue;
      if (value === en[key] && /[a-z]{4,}/i.test(value)) problems.push(`${l}.js "${key}" is still English: ${value}`);
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});
