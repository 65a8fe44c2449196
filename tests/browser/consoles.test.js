// The host and moderator consoles, measured at 1366×768: both clocks and their controls,
// the floor and the alerts in view without scrolling the page, in English, French and
// Arabic, with the bundled meeting and with long French titles, the guiding question
// open or folded, and 30 hands in the queue (one line each, scrolling inside its panel).
// Also: an unmissable no-interpretation alert, focus kept on the control that replaced
// the one pressed, a moderator who knows their segment and whose controls are off
// (with the reason) outside it, participants' announcements, and after the end every
// live control off with the report one click away.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Podium, launch, newPage, open, join, setLang, command, waitState, geometry, assertInside, assertNoOverflow,
  shot, eventually, pageErrors, raiseHands, catalogue, FRENCH_AGENDA, VIEWPORTS,
} from './lib.js';

const FR = 'titres-longs';
const WIDE = VIEWPORTS['1366x768'];
const CONTROLS = ['segment-clock', 'speech-clock', 'segment-toggle', 'segment-plus', 'segment-minus', 'speech-toggle', 'speech-plus', 'speech-minus', 'end-speech'];
const PINNED = [...CONTROLS, 'alerts-panel', 'floor-next-hand', 'message-input', 'queue-count'];

let srv;
let browser;
const pages = {};
const en = await catalogue('en');

before(async () => {
  srv = await new Podium().start({ agendas: [FRENCH_AGENDA] });
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

const activeTestid = (page) => page.evaluate(() => (document.activeElement && document.activeElement.dataset.testid) || document.activeElement.tagName);
const said = (page) => page.evaluate(() => window.__said.slice());

test('host and moderator consoles', async (t) => {
  const host = pages.host = await newPage(browser, { viewport: WIDE });
  const hostFr = pages.hostFr = await newPage(browser, { viewport: WIDE });
  const mod = pages.mod = await newPage(browser, { viewport: WIDE });
  const interp = pages.interp = await newPage(browser);
  const p = pages.p = await newPage(browser, { viewport: VIEWPORTS['390x844'] });
  await Promise.all([
    open(host, srv.link('host')), open(hostFr, srv.link('host', null, FR)), open(interp, srv.link('interpreter', 'fr')),
    open(mod, srv.link('moderator', 'emilia')), open(p, srv.link('participant')),
  ]);
  await join(p, { name: 'Amina Haddad', delegation: 'Kingdom of Morocco', language: 'ar' });

  await t.test('before the start: Start in view and, after it, focus on the control that replaced it', async () => {
    assertInside(await geometry(host, ['start-meeting']), ['start-meeting'], 'host before the start');
    assert.equal(await mod.getByTestId('start-meeting').count(), 0, 'a moderator cannot start the meeting');
    assert.match(await mod.getByTestId('moderator-role').textContent(), /Round 2/);
    await shot(host, 'host-before-1366x768-en');
    await host.getByTestId('start-meeting').focus();
    await host.keyboard.press('Enter');
    await host.getByTestId('segment-toggle').waitFor();
    assert.equal(await activeTestid(host), 'segment-toggle');
  });

  await t.test('a moderator outside their segment: they know which and when; controls off, with the reason; no host-only control', async () => {
    await command(host, { type: 'go_to_segment', segment: 'round-1' });
    await waitState(mod, (m) => m.state.current === 2);
    const role = await mod.getByTestId('moderator-role').textContent();
    assert.match(role, /Round 2/);
    assert.match(role, /\d\d:\d\d–\d\d:\d\d/);
    assert.match(role, /in \d+ min/, role);
    for (const id of ['segment-toggle', 'segment-plus', 'next-segment', 'jump-go']) {
      assert.equal(await mod.getByTestId(id).getAttribute('aria-disabled'), 'true', `${id} is off`);
    }
    assert.equal(await mod.getByTestId('console-reason').textContent(), en['mod.outside']);
    assert.equal(await mod.getByTestId('segment-toggle').getAttribute('aria-describedby'), 'console-reason');
    for (const id of ['start-meeting', 'end-meeting', 'toggle-observers', 'toggle-auto']) {
      assert.equal(await mod.getByTestId(id).count(), 0, `no ${id} for a moderator`);
    }
    // Pressing an off control sends nothing (no "You may not do that now").
    await mod.getByTestId('segment-toggle').click({ force: true });
    await mod.waitForTimeout(300);
    assert.equal(await mod.getByTestId('notice').textContent(), '');
    await shot(mod, 'moderator-outside-1366x768-en');
  });

  await t.test('at 1366×768 both clocks, their controls, the floor and the alerts are in view; 30 hands scroll inside the queue', async () => {
    await command(host, { type: 'give_floor', person: 'carola-gunnarsson' });
    await command(hostFr, { type: 'start_meeting' });
    await command(hostFr, { type: 'go_to_segment', segment: 'premier-tour' });
    await command(hostFr, { type: 'give_floor', person: 'jean-baptiste-montgolfier-dumoulin' });
    const names = Array.from({ length: 30 }, (_, i) => `Delegate ${String(i + 1).padStart(2, '0')} Example-Longname`);
    await raiseHands(host, srv.link('participant'), names);
    await raiseHands(hostFr, srv.link('participant', null, FR), names.slice(0, 12));
    await eventually(async () => (await host.getByTestId('queue-item').count()) === 30, { what: '30 hands on the host console' });
    await command(interp, { type: 'slow_down' });
    for (const [page, label] of [[host, 'host'], [hostFr, 'host-fr-titles']]) {
      for (const lang of ['en', 'fr', 'ar']) {
        await setLang(page, lang);
        for (const open of [false, true]) {
          const fold = page.getByTestId('segment-question-fold');
          if (await fold.count() && (await fold.evaluate((d) => d.open)) !== open) await fold.locator('summary').click();
          await page.waitForTimeout(50);
          const g = await geometry(page, [...PINNED, 'queue', 'segment-title']);
          const what = `${label} ${lang} question ${open ? 'open' : 'folded'}`;
          await shot(page, `${label}-live-${lang}-1366x768${open ? '-question' : ''}`);
          assertNoOverflow(g, what, { vertical: true });
          assertInside(g, PINNED, what, { clip: false });
        }
      }
      await setLang(page, 'en');
    }
    // One line per hand, and the list scrolls inside its panel.
    const rows = await host.$$eval('[data-testid="queue-item"]', (els) => els.map((e) => e.getBoundingClientRect().height));
    assert.ok(Math.max(...rows) <= 44, `queue rows up to ${Math.max(...rows)}px tall`);
    const scroll = await host.evaluate(() => { const q = document.querySelector('.queue-scroll'); return [q.scrollHeight, q.clientHeight]; });
    assert.ok(scroll[0] > scroll[1], `the queue scrolls inside its panel: ${scroll}`);
  });

  await t.test('the no-interpretation alert is unmissable', async () => {
    await command(interp, { type: 'no_interpretation' });
    await host.getByTestId('no-interpretation-banner').waitFor();
    const g = await geometry(host, ['no-interpretation-banner', ...CONTROLS]);
    assertInside(g, ['no-interpretation-banner', ...CONTROLS], 'alert banner and controls', { clip: false });
    assert.ok(g.boxes['no-interpretation-banner'].y < 120, 'at the top');
    assert.equal(await host.getByTestId('no-interpretation-banner').getAttribute('role'), 'alert');
    await shot(host, 'host-no-interpretation-1366x768-en');
    await host.getByTestId('no-interpretation-banner').getByRole('button').click();
    await host.getByTestId('no-interpretation-banner').waitFor({ state: 'detached' });
  });

  await t.test('focus stays on the control pressed, or on the one that replaced it', async () => {
    await host.getByTestId('give-floor-alexandra-young').click();
    await waitState(host, (m) => m.state.speech && m.state.speech.speaker.person === 'alexandra-young');
    await host.waitForTimeout(100);
    assert.equal(await activeTestid(host), 'give-floor-alexandra-young');
    const third = await host.locator('[data-testid="queue-item"]').nth(2).getAttribute('data-hand');
    await host.getByTestId(`hand-up-${third}`).click();
    await waitState(host, (m, id) => m.state.queue[1].id === id, Number(third));
    await host.waitForTimeout(100);
    assert.equal(await activeTestid(host), `hand-up-${third}`);
    await p.getByTestId('raise-hand').click();
    await p.getByTestId('lower-hand').waitFor();
    assert.equal(await activeTestid(p), 'lower-hand');
  });

  await t.test('a participant hears their place when it changes because of them or when they are next, and nothing again on a language switch', async () => {
    await eventually(async () => (await said(p)).some((x) => /number 31 of 31/.test(x)), { what: 'the place after raising' });
    const before = (await said(p)).length;
    // Others' hands move and leave: not announced to this participant.
    const q = await host.evaluate(() => window.__podium.conn.model.state.queue.map((h) => h.id));
    await command(host, { type: 'remove_hand', hand: q[0] });
    await command(host, { type: 'move_hand', hand: q[1], to: 5 });
    await waitState(p, (m) => m.place ? m.place.hand === 29 : m.state.queue_keys && m.state.queue_keys.length === 30);
    await p.waitForTimeout(300);
    assert.equal((await said(p)).length, before, `heard: ${(await said(p)).slice(before)}`);
    await setLang(p, 'fr');
    await setLang(p, 'en');
    await p.waitForTimeout(300);
    assert.equal((await said(p)).length, before, `a language switch repeated: ${(await said(p)).slice(before)}`);
    // Moved to the head of the queue: "you are next".
    const mine = await host.evaluate(() => window.__podium.conn.model.state.queue.find((h) => h.name === 'Amina Haddad').id);
    await command(host, { type: 'move_hand', hand: mine, to: 0 });
    await eventually(async () => (await said(p)).includes(en['participant.next']), { what: '"you are next"' });
  });

  await t.test('a moderator in their own segment has live controls', async () => {
    await command(host, { type: 'go_to_segment', segment: 'round-2' });
    await waitState(mod, (m) => m.state.current === 3);
    await eventually(async () => (await mod.getByTestId('segment-toggle').getAttribute('aria-disabled')) === null, { what: 'the controls to come on' });
    assert.equal(await mod.getByTestId('console-reason').count(), 0);
    await mod.getByTestId('segment-toggle').click();
    await waitState(mod, (m) => m.state.segment_clock.state === 'paused');
    await shot(mod, 'moderator-own-segment-1366x768-en');
    await mod.getByTestId('segment-toggle').click();
  });

  await t.test('after the end every live control is off, and the report downloads', async () => {
    await command(host, { type: 'end_meeting' });
    await host.getByTestId('ended-line').waitFor();
    const live = await host.$$eval('.console button[data-action], .console input, .console select', (els) => els
      .filter((e) => !['dismiss', 'report'].includes(e.dataset.action))
      .filter((e) => !(e.disabled || e.getAttribute('aria-disabled') === 'true'))
      .map((e) => e.dataset.testid || e.dataset.action || e.id));
    assert.deepEqual(live, [], 'controls still live after the end');
    assertInside(await geometry(host, ['report-csv', 'report-json']), ['report-csv', 'report-json'], 'report links');
    await shot(host, 'host-ended-1366x768-en');
    const [download] = await Promise.all([host.waitForEvent('download'), host.getByTestId('report-csv').click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const file = await download.path();
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    assert.match(text, /Carola Gunnarsson/);
  });

  await t.test('no page threw', () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
