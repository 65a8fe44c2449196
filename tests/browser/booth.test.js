// The interpretation booth's view, on the real binary in Debian's Chromium: each booth
// opens its own link (the booth is the link's, no menu); a speech switches FR → EN, then a
// Portuguese delegate takes the floor and each booth is told plainly what to do (the ES
// booth is the pivot, FR, EN and AR take relay from ES); alerts to the chair and their
// acknowledgement; the speaker's text; a floor-language correction; the handover turn
// with its gentle cue. In all four interface languages at 1366×768 and 390×844 the speech
// clock and the main actions lie inside the viewport with no horizontal overflow;
// screenshots go to test-artifacts/screenshots/booth-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  Podium, launch, newPage, open, setLang, command, waitState, geometry, assertInside, overflowers,
  axeCheck, shot, eventually, pageErrors, catalogue, here, LANGS, VIEWPORTS,
} from './lib.js';

const SHORT_TURN = path.join(here, 'fixtures', 'booth-short-turn.toml');
const SIZES = { '1366x768': VIEWPORTS['1366x768'], '390x844': VIEWPORTS['390x844'] };
/** What must be in view on every booth screen without scrolling. */
const MAIN = ['main-clock-text', 'slow-down-button', 'no-interpretation-button', 'relay-instruction', 'current-speaker-language'];

let srv;
let browser;
const pages = {};

before(async () => {
  srv = await new Podium().start({ agendas: [SHORT_TURN] });
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

/** A delegate joins over a raw websocket from `page` and raises a hand in `language`. */
async function delegate(page, joinUrl, { name, delegation, language }) {
  const u = new URL(joinUrl);
  return page.evaluate(({ meeting, token, name, delegation, language }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    const timer = setTimeout(() => reject(new Error('no answer')), 10000);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', protocol: window.__podium.conn.model.protocol || 2, meeting, token, name, delegation, language }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'command', id: 1, command: { type: 'raise_hand' } }));
      else if (m.type === 'ack' || (m.type === 'error' && m.id === 1)) {
        clearTimeout(timer);
        ws.close();
        if (m.type === 'ack') resolve(); else reject(new Error(m.message));
      } else if (m.type === 'error') { clearTimeout(timer); reject(new Error(m.message)); }
    };
  }), { meeting: u.pathname.split('/')[2], token: u.hash.slice(1), name, delegation, language });
}

async function dutyOf(page) {
  const el = page.getByTestId('relay-instruction');
  return { duty: await el.getAttribute('data-duty'), from: await el.getAttribute('data-from'), text: (await el.textContent()).trim() };
}

test('the interpretation booth', async (t) => {
  pages.host = await newPage(browser, { viewport: VIEWPORTS['1366x768'] });
  pages.es = await newPage(browser, { viewport: SIZES['390x844'] });
  pages.fr = await newPage(browser, { viewport: SIZES['1366x768'] });
  await open(pages.host, srv.link('host'));
  await open(pages.es, srv.link('interpreter', 'es'));
  await open(pages.fr, srv.link('interpreter', 'fr'));
  const { host, es, fr } = pages;

  await t.test('each booth is its link\'s: no menu, its language named', async () => {
    assert.equal(await es.getByTestId('booth-language').count(), 0, 'no booth menu any more');
    assert.match(await es.getByTestId('booth-name').textContent(), /ES[\s\S]*Spanish booth/);
    assert.match(await fr.getByTestId('booth-name').textContent(), /FR[\s\S]*French booth/);
  });

  await t.test('a speech switches FR → EN: every booth sees it at once and knows its duty', async () => {
    await command(host, { type: 'start_meeting' });
    await command(host, { type: 'go_to_segment', segment: 'round-2' });
    await command(host, { type: 'set_booth_text', person: 'ahmed-skim', url: 'https://example.org/skim-speech.pdf' });
    await command(host, { type: 'give_floor', person: 'ahmed-skim' });
    await eventually(async () => (await es.getByTestId('current-speaker-name').textContent()) === 'Ahmed Skim', { what: 'the ES booth to see Ahmed Skim' });
    assert.match(await es.getByTestId('current-speaker-language').textContent(), /French/);
    assert.equal((await dutyOf(es)).duty, 'direct');
    await eventually(async () => (await dutyOf(fr)).duty === 'own_language', { what: 'the FR booth hears its own language' });
    // The speaker's text, sent before the speech, is in every booth.
    assert.equal(await es.getByTestId('booth-text-current').getAttribute('href'), 'https://example.org/skim-speech.pdf');
    assert.equal(await es.getByTestId('booth-text-current').getAttribute('rel'), 'noopener noreferrer');
    await command(host, { type: 'set_floor_language', language: 'en' });
    await eventually(async () => /English/.test(await es.getByTestId('current-speaker-language').textContent()), { what: 'English on the floor, at once' });
    await eventually(async () => (await dutyOf(fr)).duty === 'direct', { what: 'the FR booth now interprets from English' });
  });

  await t.test('a booth corrects the floor language', async () => {
    await es.getByTestId('floor-correct-select').selectOption('es');
    await es.getByTestId('floor-correct-button').click();
    await waitState(host, (m) => m.state.speech && m.state.speech.speaker.language === 'es');
    await eventually(async () => (await dutyOf(es)).duty === 'own_language', { what: 'the ES booth hears Spanish' });
  });

  await t.test('a Portuguese delegate from the floor: the ES booth is pivot, FR takes relay from ES', async () => {
    await command(host, { type: 'go_to_segment', segment: 'open-conversation' });
    await delegate(host, srv.link('participant'), { name: 'Ana Souza', delegation: 'Brazil', language: 'pt' });
    await waitState(host, (m) => m.state.queue.length === 1);
    await command(host, { type: 'give_floor_to_hand' });
    await eventually(async () => (await dutyOf(es)).duty === 'pivot', { what: 'the ES booth to be pivot' });
    const esDuty = await dutyOf(es);
    assert.match(esDuty.text, /Portuguese/);
    assert.match(esDuty.text, /FR, EN, AR/);
    await eventually(async () => (await dutyOf(fr)).duty === 'relay', { what: 'the FR booth to take relay' });
    const frDuty = await dutyOf(fr);
    assert.equal(frDuty.from, 'es');
    assert.equal(frDuty.text, 'Take relay from the ES booth.');
    // In French, too.
    await setLang(fr, 'fr');
    assert.equal((await dutyOf(fr)).text, (await catalogue('fr'))['booth.duty_relay'].replace('{booth}', 'ES'));
    await setLang(fr, 'en');
    // The host's state shows the pivot.
    await waitState(host, (m) => m.state.interpretation.relay && m.state.interpretation.relay.pivot === 'es');
  });

  await t.test('alerts reach the chair, who acknowledges; the booth sees it', async () => {
    await fr.getByTestId('booth-signal-repeat_figure').click();
    await fr.getByTestId('booth-alert').first().waitFor();
    assert.equal(await fr.getByTestId('booth-alert').first().getAttribute('data-acknowledged'), 'false');
    await es.getByTestId('booth-message-input').fill('Channel 3 is silent');
    await es.getByTestId('booth-message-send').click();
    await es.getByTestId('booth-alert').first().waitFor();
    await waitState(host, (m) => m.state.interpretation.alerts.length === 2);
    const alerts = await host.evaluate(() => window.__podium.conn.model.state.interpretation.alerts);
    assert.deepEqual(alerts.map((a) => [a.booth, a.signal, a.text || null]), [['fr', 'repeat_figure', null], ['es', 'message', 'Channel 3 is silent']]);
    await command(host, { type: 'acknowledge_alert', alert: alerts[0].id });
    await eventually(async () => (await fr.getByTestId('booth-alert').first().getAttribute('data-acknowledged')) === 'true', { what: 'the FR booth to see the acknowledgement' });
    assert.match(await fr.getByTestId('booth-alert').first().textContent(), /seen by the chair/);
    // A booth cannot slow down for another: its button carries no language at all.
    await es.getByTestId('slow-down-button').click();
    await waitState(host, (m) => m.state.speech && m.state.speech.slow_down && m.state.speech.slow_down.language === 'es');
  });

  await t.test('in every language, on a laptop and a phone: the clock and the main actions in view, nothing wider than the screen', async () => {
    for (const [who, page] of [['pivot-es', es], ['relay-fr', fr]]) {
      for (const lang of LANGS) {
        await setLang(page, lang);
        for (const [size, vp] of Object.entries(SIZES)) {
          await page.setViewportSize(vp);
          // As the booth opens the page: from the top.
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.waitForTimeout(80);
          const g = await geometry(page, [...MAIN, 'handed-over-button', 'turn-timer']);
          const label = `booth ${who} ${lang} ${size}`;
          await shot(page, `booth-${who}-${lang}-${size}`);
          if (g.scrollWidth > g.vw + 1) assert.fail(`${label}: page is ${g.scrollWidth}px wide: ${(await overflowers(page)).join(', ')}`);
          assertInside(g, MAIN, label);
          // The turn timer never covers the speech clock.
          const c = g.boxes['main-clock-text'];
          const tt = g.boxes['turn-timer'];
          const overlap = tt && c && !(tt.bottom <= c.y || tt.y >= c.bottom || tt.right <= c.x || tt.x >= c.right);
          assert.ok(!overlap, `${label}: the turn timer overlaps the speech clock`);
          if (size === '1366x768') assertInside(g, ['handed-over-button', 'turn-timer'], label);
        }
      }
      await setLang(page, 'en');
    }
  });

  await t.test('axe: no serious or critical violation in the booth view, light and dark', async () => {
    for (const scheme of ['light', 'dark']) {
      await fr.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      for (const lang of ['en', 'ar']) {
        await setLang(fr, lang);
        await axeCheck(fr, `booth relay (${lang}, ${scheme})`);
      }
    }
    await fr.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
    await setLang(fr, 'en');
  });

  await t.test('the handover turn: a gentle cue before its end, restarted by "Handed over" on every console of the booth', async () => {
    const meeting = 'booth-short-turn';
    const h2 = await newPage(browser, { viewport: VIEWPORTS['1366x768'] });
    const a1 = await newPage(browser, { viewport: SIZES['390x844'] });
    const a2 = await newPage(browser, { viewport: SIZES['1366x768'] });
    pages.h2 = h2; pages.a1 = a1; pages.a2 = a2;
    await open(h2, srv.link('host', null, meeting));
    await open(a1, srv.link('interpreter', 'ar', meeting));
    await open(a2, srv.link('interpreter', 'ar', meeting));
    assert.match(await a1.getByTestId('turn-timer-note').textContent(), /Starts with the meeting/);
    await command(h2, { type: 'start_meeting' });
    await command(h2, { type: 'give_floor', person: 'ana-souza' });
    // The agenda's text for the speaker, and the relay plan of this meeting.
    assert.equal(await a1.getByTestId('booth-text-current').getAttribute('href'), 'https://example.org/souza.pdf');
    assert.equal((await dutyOf(a1)).from, 'es', 'takers default to every other booth');
    await eventually(async () => (await a1.getByTestId('turn-timer').getAttribute('data-level')) === 'cue', { timeout: 15000, what: 'the cue two minutes before the end of the turn' });
    assert.match(await a1.getByTestId('turn-timer-note').textContent(), /Hand over in 2 minutes/);
    await shot(a1, 'booth-turn-cue-en-390x844');
    // The cue is gentle: no flashing, and the speech clock keeps its place and size.
    assert.equal(await a1.getByTestId('turn-timer').evaluate((e) => getComputedStyle(e).animationName), 'none');
    assertInside(await geometry(a1, MAIN), MAIN, 'booth with the cue, 390×844');
    await a1.getByTestId('handed-over-button').click();
    for (const p of [a1, a2]) {
      await eventually(async () => (await p.getByTestId('turn-timer').getAttribute('data-level')) === 'ok', { what: 'the turn restarted on every console of the booth' });
    }
    const turns = await Promise.all([a1, a2].map((p) => p.evaluate(() => window.__podium.conn.model.state.interpretation.booths.find((b) => b.language === 'ar'))));
    assert.deepEqual(turns[0], turns[1]);
    assert.equal(turns[0].handovers, 1);
    await shot(a2, 'booth-turn-restarted-en-1366x768');
  });

  await t.test('no script errors', async () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
