// The client's pure helpers, without a browser: clock arithmetic and wrap-up levels from
// the agenda's thresholds, one's own places from the `place` message, the queue's length
// from `queue_len`, the signals that belong to the speech in progress, and the French
// originals chosen by the interface language.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repo } from './lib.js';

const load = (p) => import(pathToFileURL(path.join(repo, 'web-client', p)).href);
const clock = await load('clock.js');
const clocks = await load('views/clocks.js');
const queue = await load('views/queue.js');
const common = await load('views/common.js');
const i18n = await load('i18n/index.js');

test('clock text: counting down, zero, overtime counting up', () => {
  assert.equal(clock.formatClock(299001), '5:00');
  assert.equal(clock.formatClock(1), '0:01');
  assert.equal(clock.formatClock(0), '0:00');
  assert.equal(clock.formatClock(-1), '+0:00');
  assert.equal(clock.formatClock(-61000), '+1:01');
  assert.equal(clock.formatClock(3723000), '1:02:03');
  assert.equal(clock.remaining({ state: 'running', ends_at: 10000 }, 4000), 6000);
  assert.equal(clock.remaining({ state: 'paused', remaining: -5 }, 4000), -5);
});

test('wrap-up levels follow the thresholds: warning ≤ warning, danger ≤ danger, overtime < 0', () => {
  const th = { warning: 120000, danger: 30000, flash: true };
  assert.equal(clock.level(120001, th), 'ok');
  assert.equal(clock.level(120000, th), 'warning');
  assert.equal(clock.level(30001, th), 'warning');
  assert.equal(clock.level(30000, th), 'danger');
  assert.equal(clock.level(0, th), 'danger');
  assert.equal(clock.level(-1, th), 'overtime');
  // Defaults: amber at one minute, red at zero.
  assert.equal(clock.level(60000), 'warning');
  assert.equal(clock.level(0), 'danger');
  assert.equal(clock.level(-1000), 'overtime');
});

test('thresholds: the segment\'s own, else the meeting\'s, else 1 min and 0 (agenda seconds)', () => {
  const model = {
    agenda: {
      meeting: { warning: 90, danger: 10, flash: false },
      segment: [{}, { warning: 120 }, { danger: 0, warning: 30 }],
    },
  };
  assert.deepEqual(clocks.thresholds(model, 0), { warning: 90000, danger: 10000, flash: false });
  assert.deepEqual(clocks.thresholds(model, 1), { warning: 120000, danger: 10000, flash: false });
  assert.deepEqual(clocks.thresholds(model, 2), { warning: 30000, danger: 0, flash: false });
  assert.deepEqual(clocks.thresholds({ agenda: { meeting: {}, segment: [{}] } }, 0), { warning: 60000, danger: 0, flash: true });
});

test('own places come from the `place` message; the length from `queue_len`', () => {
  const model = {
    you: { role: 'participant', participant: 7 },
    state: { queue: [{ id: 1, participant: 3 }], queue_len: 40 },
    place: { seq: 12, hand: 30, point_of_order: null },
  };
  assert.deepEqual(queue.myPlaces(model), { hand: 30, point_of_order: null });
  assert.equal(queue.queueLength(model.state), 40);
  model.place = { seq: 13, hand: null, point_of_order: 0 };
  assert.deepEqual(queue.myPlaces(model), { hand: null, point_of_order: 0 });
  // A staff state (the whole queue) counts its hands.
  assert.equal(queue.queueLength({ queue: [{}, {}, {}] }), 3);
});

test('signals belong to the speech in progress', () => {
  const speech = { started_at: 1000, speaker: { person: 'a' }, message: { n: 2, text: 'Wrap up', at: 1500 } };
  assert.deepEqual(common.speechSignals({ speech }).message.text, 'Wrap up');
  assert.equal(common.speechSignals({ speech }).slow, null);
  assert.deepEqual(common.speechSignals({ speech: null }), { message: null, slow: null });
  // A server that kept them at the top level: only those sent during this speech.
  const old = { speech: { started_at: 1000, speaker: {} }, speaker_message: { n: 1, text: 'old', at: 900 }, slow_down: { n: 3, at: 1200 } };
  assert.equal(common.speechSignals(old).message, null);
  assert.equal(common.speechSignals(old).slow.n, 3);
});

test('the French interface shows the agenda\'s French originals, the others the translation', () => {
  const model = { agenda: { meeting: { original_language: 'fr' }, segment: [] } };
  const seg = { title: 'Round 1', title_original: 'Premier tour', question: 'Q?', question_original: 'Q ?' };
  i18n.setLang('fr');
  assert.deepEqual(common.segTitle(model, seg), { text: 'Premier tour', lang: 'fr' });
  assert.equal(common.agendaText(model, seg, 'question').text, 'Q ?');
  for (const l of ['en', 'es', 'ar']) {
    i18n.setLang(l);
    assert.deepEqual(common.segTitle(model, seg), { text: 'Round 1', lang: null });
  }
  // No original: the translation everywhere.
  i18n.setLang('fr');
  assert.equal(common.segTitle(model, { title: 'Closing' }).text, 'Closing');
  i18n.setLang('en');
});
