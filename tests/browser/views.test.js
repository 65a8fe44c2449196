// Every view, in every language, at every screen size the issue names, in a live
// meeting: a screenshot of each (test-artifacts/screenshots/<role>-<lang>-<size>.png)
// to look at; no horizontal overflow anywhere (and no scrolling at all on the stage
// displays); on a phone (390×844) the participant's raise-hand button and the
// observer's (absent) one checked; axe-core finds no serious or critical violation on
// any view, light and dark, in any language; and the join form names the meeting and
// its date, with browser validation messages in the interface language.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Podium, launch, newPage, open, join, setLang, command, geometry, assertInside, assertNoOverflow, overflowers,
  axeCheck, shot, eventually, pageErrors, catalogue, LANGS, VIEWPORTS,
} from './lib.js';

const PHONE = VIEWPORTS['390x844'];
/** Pages open at the same time while photographing (the machine has two cores). */
const PARALLEL = 3;

let srv;
let browser;
const pages = {};

before(async () => {
  srv = await new Podium().start();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

/** Runs `fn` over `items`, `n` at a time. */
async function pool(items, n, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await fn(queue.shift());
  }));
}

test('every view, every language, every screen', async (t) => {
  const roles = {
    host: srv.link('host'),
    moderator: srv.link('moderator', 'cecile'),
    speaker: srv.link('speaker', 'carola'),
    'speaker-waiting': srv.link('speaker', 'alexandra'),
    participant: srv.link('participant'),
    observer: srv.link('observer'),
    join: srv.link('participant'),
    interpreter: srv.link('interpreter', 'fr'),
    projector: srv.link('projector'),
  };
  for (const [name, url] of Object.entries(roles)) {
    pages[name] = await newPage(browser, { viewport: PHONE });
    await open(pages[name], url);
  }
  const { host } = pages;

  await t.test('the join form names the meeting and its date; validation speaks the interface language', async () => {
    const form = pages.join;
    await form.getByTestId('join-meeting').waitFor();
    assert.match(await form.getByTestId('join-meeting').textContent(), /Enabling local solutions/);
    assert.match(await form.getByTestId('join-meeting-when').textContent(), /2021/);
    for (const lang of ['fr', 'ar']) {
      await setLang(form, lang);
      await form.getByTestId('join-submit').click();
      const cat = await catalogue(lang);
      assert.equal(await form.getByTestId('join-name').evaluate((e) => e.validationMessage), cat['join.need_name'], `${lang} validation message`);
    }
    await setLang(form, 'en');
  });

  await t.test('a live meeting to look at', async () => {
    await join(pages.participant, { name: 'Amina Haddad', delegation: 'Kingdom of Morocco', language: 'ar' });
    await join(pages.observer, { name: 'Ana Silva', delegation: 'Youth mechanism', language: 'es' });
    await command(host, { type: 'start_meeting' });
    await command(host, { type: 'go_to_segment', segment: 'round-1' });
    await command(host, { type: 'give_floor', person: 'carola-gunnarsson' });
    await command(host, { type: 'adjust_clock', target: 'speech', seconds: -250 });
    await command(host, { type: 'message_speaker', text: 'Please wrap up' });
    // On a phone, "Raise my hand" is within reach without scrolling, in every language.
    const p = pages.participant;
    for (const lang of LANGS) {
      await setLang(p, lang);
      assertInside(await geometry(p, ['raise-hand', 'main-clock-text']), ['raise-hand', 'main-clock-text'], `participant ${lang} 390×844`);
    }
    await setLang(p, 'en');
    await p.getByTestId('raise-hand').click();
    await p.getByTestId('queue-position').waitFor();
    await command(pages.interpreter, { type: 'no_interpretation' });
    await host.getByTestId('no-interpretation-banner').waitFor();
    await pages.speaker.getByTestId('host-message').waitFor();
  });

  await t.test('on a phone: no horizontal overflow in any language; the main action within reach', async () => {
    await pool(Object.keys(pages), PARALLEL, async (name) => {
      const page = pages[name];
      await page.setViewportSize(PHONE);
      for (const lang of LANGS) {
        await setLang(page, lang);
        await page.waitForTimeout(80);
        const g = await geometry(page, ['raise-hand', 'lower-hand', 'queue-position', 'main-clock-text', 'done-button', 'slow-down-button']);
        const what = `${name} ${lang} 390×844`;
        if (g.scrollWidth > g.vw + 1) assert.fail(`${what}: page is ${g.scrollWidth}px wide: ${(await overflowers(page)).join(', ')}`);
        if (name === 'participant') assertInside(g, ['lower-hand', 'queue-position'], what);
        if (name === 'speaker') {
          assertInside(g, ['main-clock-text', 'done-button'], what);
          assertNoOverflow(g, what, { vertical: true });
          // The largest digits that fit: a phone's width, nearly.
          assert.ok(g.boxes['main-clock-text'].width >= 0.75 * g.vw, `${what}: digits only ${g.boxes['main-clock-text'].width}px wide`);
        }
        if (name === 'projector') { assertInside(g, ['main-clock-text'], what); assertNoOverflow(g, what, { vertical: true }); }
        if (name === 'observer') assert.equal(await page.getByTestId('raise-hand').count(), 0, `${what}: an observer who may not raise a hand sees no such button`);
      }
    });
  });

  await t.test('screenshots of every view in every language at every size; nothing wider than the screen', async () => {
    await pool(Object.keys(pages), PARALLEL, async (name) => {
      const page = pages[name];
      for (const lang of LANGS) {
        await setLang(page, lang);
        for (const [size, vp] of Object.entries(VIEWPORTS)) {
          await page.setViewportSize(vp);
          await page.waitForTimeout(60);
          const g = await geometry(page, []);
          await shot(page, `${name}-${lang}-${size}`);
          if (g.scrollWidth > g.vw + 1) assert.fail(`${name} ${lang} ${size}: page is ${g.scrollWidth}px wide: ${(await overflowers(page)).join(', ')}`);
          if (name === 'projector' || name.startsWith('speaker')) assertNoOverflow(g, `${name} ${lang} ${size}`, { vertical: true });
        }
      }
    });
  });

  await t.test('axe: no serious or critical violation, light and dark, every language', async () => {
    await pool(Object.keys(pages), PARALLEL, async (name) => {
      const page = pages[name];
      await page.setViewportSize(name === 'participant' || name === 'observer' || name === 'join' ? PHONE : VIEWPORTS['1366x768']);
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
        for (const lang of LANGS) {
          await setLang(page, lang);
          await page.waitForTimeout(60);
          if (scheme === 'dark' && (lang === 'en' || lang === 'ar')) {
            const vp = page.viewportSize();
            await shot(page, `${name}-dark-${lang}-${vp.width}x${vp.height}`);
          }
          await axeCheck(page, `${name} (${lang}, ${scheme})`);
        }
      }
      await page.emulateMedia({ colorScheme: 'light' });
    });
  });

  await t.test('axe on the title slides and after the end', async () => {
    await command(host, { type: 'end_meeting' });
    await pages.projector.getByTestId('slide-title').waitFor();
    await host.getByTestId('ended-line').waitFor();
    await pool(['projector', 'speaker', 'host', 'participant'], PARALLEL, async (name) => {
      const page = pages[name];
      for (const lang of ['en', 'ar']) {
        await setLang(page, lang);
        await page.waitForTimeout(60);
        await axeCheck(page, `${name} after the end (${lang})`);
        await shot(page, `${name}-ended-${lang}-${name === 'participant' ? '390x844' : '1366x768'}`);
      }
    });
  });

  await t.test('no page threw', () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
