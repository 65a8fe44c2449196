// The stage display (projector and speaker) measured, not inspected: at 1024×768,
// 1280×720, 1366×768 and 1920×1080, in English and Arabic, with the bundled meeting and
// with an agenda of long French titles, the clock, its wrap-up words and the host's
// message lie wholly inside the viewport, uncut, the message never over the digits,
// and the page never scrolls. Also: the title slide before the start and after the
// end, the speaker's own slot before their turn, signals only on the screen of the
// person speaking, and a participant given the floor gets the countdown and Done.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Podium, launch, newPage, open, join, setLang, command, waitState, geometry, assertInside, assertNoOverflow,
  shot, eventually, pageErrors, catalogue, FRENCH_AGENDA, VIEWPORTS,
} from './lib.js';

const en = await catalogue('en');

const SIZES = ['1024x768', '1280x720', '1366x768', '1920x1080'];
const FR = 'titres-longs';
const LONG_MESSAGE = 'Please wrap up within the next minute: the Mayor of Lampedusa and Linosa is waiting and the interpreters need a short pause before the next round.';

let srv;
let browser;
const pages = {};

before(async () => {
  srv = await new Podium().start({ agendas: [FRENCH_AGENDA] });
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

/** Measures a stage page at every size in `langs`; `ids` must be inside and uncut. */
async function measure(page, label, { ids, langs = ['en', 'ar'], refresh = null, shots = true }) {
  for (const lang of langs) {
    await setLang(page, lang);
    for (const size of SIZES) {
      await page.setViewportSize(VIEWPORTS[size]);
      if (refresh) await refresh();
      await page.waitForTimeout(60);
      const g = await geometry(page, [...ids, 'main-clock-text', 'stage']);
      const what = `${label} ${lang} ${size}`;
      if (shots) await shot(page, `stage-${label}-${lang}-${size}`);
      assertNoOverflow(g, what, { vertical: true });
      assertInside(g, ids, what);
      const msg = g.boxes['host-message'];
      const digits = g.boxes['main-clock-text'];
      if (msg && digits) assert.ok(msg.bottom <= digits.y + 1, `${what}: the message (bottom ${msg.bottom}) covers the digits (top ${digits.y})`);
    }
  }
}

test('stage displays fit every screen', async (t) => {
  const host = pages.host = await newPage(browser);
  const hostFr = pages.hostFr = await newPage(browser);
  const interp = pages.interp = await newPage(browser);
  const proj = pages.proj = await newPage(browser);
  const projFr = pages.projFr = await newPage(browser);
  const carola = pages.carola = await newPage(browser);
  const alexandra = pages.alexandra = await newPage(browser);
  const jb = pages.jb = await newPage(browser);
  await Promise.all([
    open(host, srv.link('host')), open(hostFr, srv.link('host', null, FR)), open(interp, srv.link('interpreter', 'fr')),
    open(proj, srv.link('projector')), open(projFr, srv.link('projector', null, FR)),
    open(carola, srv.link('speaker', 'carola')), open(alexandra, srv.link('speaker', 'alexandra')),
    open(jb, srv.link('speaker', 'jean-baptiste', FR)),
  ]);

  await t.test('before the start: a title slide with the meeting, its date and the agenda', async () => {
    for (const [page, label] of [[proj, 'projector-slide'], [projFr, 'projector-slide-fr']]) {
      await page.getByTestId('slide-title').waitFor();
      assert.ok(await page.getByTestId('slide-item').count() >= 5);
      assert.match(await page.getByTestId('slide-when').textContent(), /2021/);
      await measure(page, label, { ids: ['slide-title', 'slide-when', 'slide-agenda', 'segment-status'] });
    }
    await carola.getByTestId('your-slot').waitFor();
    assert.match(await carola.getByTestId('slot-title').textContent(), /Round 1/);
    assert.equal(await carola.getByTestId('slot-limit').textContent(), '5:00');
    assert.equal(await carola.getByTestId('main-clock').count(), 0, 'no clock before the turn');
    await measure(carola, 'speaker-before', { ids: ['your-slot', 'slot-limit'] });
  });

  await t.test('before their turn a speaker sees their own slot, not the current clock', async () => {
    await command(host, { type: 'start_meeting' });
    await command(hostFr, { type: 'start_meeting' });
    await waitState(carola, (m) => m.state.phase === 'running');
    await carola.getByTestId('your-slot').waitFor();
    assert.equal(await carola.getByTestId('main-clock').count(), 0);
    assert.match(await carola.getByTestId('slot-when').textContent(), /\d\d:\d\d/);
    await measure(carola, 'speaker-slot', { ids: ['your-slot'], langs: ['en'] });
  });

  await t.test('speaker with the floor: clock, words, message and slow-down inside the screen', async () => {
    await command(host, { type: 'go_to_segment', segment: 'round-1' });
    await command(host, { type: 'give_floor', person: 'carola-gunnarsson' });
    await command(host, { type: 'adjust_clock', target: 'speech', seconds: -245 });
    await command(host, { type: 'message_speaker', text: LONG_MESSAGE });
    await carola.getByTestId('host-message').waitFor();
    await eventually(async () => (await carola.getByTestId('main-clock').getAttribute('data-level')) === 'warning', { what: 'the warning level' });
    const slow = () => command(interp, { type: 'slow_down' }).then(() => carola.getByTestId('slow-down').waitFor());
    await slow();
    await measure(carola, 'speaker-warning', {
      ids: ['main-clock-text', 'main-clock-note', 'host-message', 'host-message-text', 'slow-down', 'done-button'],
      refresh: async () => { if (!(await carola.getByTestId('slow-down').count())) await slow(); },
    });
    await measure(proj, 'projector-warning', { ids: ['main-clock-text', 'main-clock-note', 'segment-title', 'time-of-day'] });
    assert.equal(await proj.getByTestId('host-message').count(), 0, 'the room screen shows no message');
    assert.equal(await proj.getByTestId('slow-down').count(), 0, 'the room screen shows no slow-down');
  });

  await t.test('overtime, paused: the longest wrap-up words still fit', async () => {
    await command(host, { type: 'adjust_clock', target: 'speech', seconds: -120 });
    await command(host, { type: 'pause_clock', target: 'speech' });
    await eventually(async () => (await carola.getByTestId('main-clock').getAttribute('data-level')) === 'overtime', { what: 'overtime' });
    const note = await carola.getByTestId('main-clock-note').textContent();
    assert.ok(note.includes('·'), `paused and overtime both said: ${note}`);
    await measure(carola, 'speaker-overtime', { ids: ['main-clock-text', 'main-clock-note', 'host-message', 'host-message-text', 'done-button'], langs: ['en', 'ar', 'fr'] });
    await measure(proj, 'projector-overtime', { ids: ['main-clock-text', 'main-clock-note'], langs: ['en', 'ar', 'fr'] });
    await command(host, { type: 'resume_clock', target: 'speech' });
  });

  await t.test('long French titles: the clock and the words still fit', async () => {
    await command(hostFr, { type: 'go_to_segment', segment: 'premier-tour' });
    await command(hostFr, { type: 'give_floor', person: 'jean-baptiste-montgolfier-dumoulin' });
    await command(hostFr, { type: 'adjust_clock', target: 'speech', seconds: -250 });
    await command(hostFr, { type: 'message_speaker', text: 'Merci de conclure : il vous reste moins d’une minute, et la cabine arabe demande de ralentir un peu le débit.' });
    await jb.getByTestId('host-message').waitFor();
    // This segment's own thresholds (warning 2m, danger 1m): 0:50 left is "danger".
    await eventually(async () => (await jb.getByTestId('main-clock').getAttribute('data-level')) === 'danger', { what: 'the segment\'s danger threshold' });
    await setLang(jb, 'en');
    assert.equal(await jb.getByTestId('main-clock-note').textContent(), en['clock.danger']);
    await command(hostFr, { type: 'adjust_clock', target: 'speech', seconds: 60 });
    await eventually(async () => (await jb.getByTestId('main-clock').getAttribute('data-level')) === 'warning', { what: 'back to warning after +1 min' });
    assert.equal(await jb.getByTestId('main-clock-note').textContent(), en['clock.warning'].replace('{time}', '2 min'));
    await command(hostFr, { type: 'adjust_clock', target: 'speech', seconds: -60 });
    await measure(jb, 'speaker-fr-titles', { ids: ['main-clock-text', 'main-clock-note', 'host-message', 'host-message-text', 'done-button'], langs: ['en', 'ar', 'fr'] });
    await measure(projFr, 'projector-fr-titles', { ids: ['main-clock-text', 'main-clock-note', 'segment-title'], langs: ['en', 'ar', 'fr'] });
  });

  await t.test('a speaker who does not have the floor never sees another\'s message or slow-down', async () => {
    // Carola has the floor, with a message and slow-downs; Alexandra waits.
    await command(host, { type: 'message_speaker', text: 'Only for Carola' });
    await command(interp, { type: 'slow_down' });
    await carola.getByTestId('slow-down').waitFor();
    await alexandra.getByTestId('your-slot').waitFor();
    assert.equal(await alexandra.getByTestId('host-message').count(), 0);
    assert.equal(await alexandra.getByTestId('slow-down').count(), 0);
    assert.doesNotMatch(await alexandra.locator('body').innerText(), /Only for Carola/);
    // The floor passes to Alexandra: Carola's signals stay with Carola's speech.
    await command(host, { type: 'give_floor', person: 'alexandra-young' });
    await alexandra.getByTestId('you-have-floor').waitFor();
    await carola.getByTestId('you-have-floor').waitFor({ state: 'detached' });
    assert.equal(await alexandra.getByTestId('host-message').count(), 0, 'an old message does not follow the floor');
    assert.equal(await alexandra.getByTestId('slow-down').count(), 0, 'an old slow-down does not follow the floor');
    assert.equal(await carola.getByTestId('host-message').count(), 0, 'the message ends with the speech');
    // A new message reaches Alexandra only.
    await command(host, { type: 'message_speaker', text: 'Only for Alexandra' });
    await alexandra.getByTestId('host-message').waitFor();
    assert.match(await alexandra.getByTestId('host-message-text').textContent(), /Only for Alexandra/);
    await carola.waitForTimeout(300);
    assert.equal(await carola.getByTestId('host-message').count(), 0);
    assert.equal(await proj.getByTestId('host-message').count(), 0);
  });

  await t.test('a participant given the floor from the queue gets the countdown and Done', async (t) => {
    const p = pages.p = await newPage(browser, { viewport: VIEWPORTS['390x844'] });
    await open(p, srv.link('participant'));
    await join(p, { name: 'Lucía Pérez', delegation: 'Government of Colombia', language: 'es' });
    await p.getByTestId('raise-hand').click();
    await p.getByTestId('queue-position').waitFor();
    await command(host, { type: 'give_floor_to_hand' });
    await p.getByTestId('you-have-floor').waitFor();
    await command(host, { type: 'message_speaker', text: 'Un minuto, por favor' });
    await p.getByTestId('host-message').waitFor();
    const g = await geometry(p, ['main-clock-text', 'main-clock-note', 'done-button', 'host-message', 'you-have-floor']);
    assertInside(g, ['main-clock-text', 'done-button', 'host-message'], 'participant floor 390×844');
    assertNoOverflow(g, 'participant floor 390×844');
    await shot(p, 'participant-floor-390x844-en');
    if (await p.evaluate(() => window.__podium.conn.model.protocol) < 2) {
      // Protocol 1 lets only named speakers send `done` (protocol 2: whoever has the floor).
      t.diagnostic('server speaks protocol 1: Done from the queue not tried');
      await command(host, { type: 'end_speech' });
      return;
    }
    await p.getByTestId('done-button').click();
    await p.getByTestId('you-have-floor').waitFor({ state: 'detached' });
    await waitState(host, (m) => !m.state.speech);
  });

  await t.test('after the end: the title slide, no clock', async () => {
    await command(host, { type: 'end_meeting' });
    await proj.getByTestId('slide-title').waitFor();
    await carola.getByTestId('slide-title').waitFor();
    assert.equal(await carola.getByTestId('main-clock').count(), 0);
    await measure(proj, 'projector-ended', { ids: ['slide-title', 'segment-status'], langs: ['en', 'ar'] });
  });

  await t.test('no page threw', () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
