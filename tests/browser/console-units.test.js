// The host console's pure helpers, without a browser: the QR encoder against symbols an
// independent encoders made (fixtures/qr-reference.json: python-qrcode and libqrencode), and against the
// standard's own published values; the agenda editor's model (which segments may change,
// durations as people write them, new ids, the operations an edit sends).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { repo, here } from './lib.js';

const load = (p) => import(pathToFileURL(path.join(repo, 'web-client', p)).href);
const qr = await load('qr.js');
const edit = await load('views/edit-model.js');

const rowsOf = (q) => Array.from({ length: q.size }, (_, y) => Array.from({ length: q.size }, (_, x) => (q.dark(x, y) ? '1' : '0')).join(''));

test('QR: every mask of every reference symbol is the same, module for module', async () => {
  const ref = JSON.parse(await readFile(path.join(here, 'fixtures', 'qr-reference.json'), 'utf8'));
  const fixed = ref.cases.filter((c) => c.mask !== null);
  assert.ok(fixed.length >= 40);
  for (const c of fixed) {
    const q = qr.qrMatrix(c.text, { mask: c.mask });
    assert.equal(q.version, c.version, `version for ${c.text.length} bytes`);
    const mine = rowsOf(q);
    const diff = [];
    for (let y = 0; y < q.size; y++) for (let x = 0; x < q.size; x++) if (mine[y][x] !== c.rows[y][x]) diff.push(`(${x},${y})`);
    assert.deepEqual(diff, [], `"${c.text.slice(0, 30)}…" v${c.version} mask ${c.mask}: ${diff.length} modules differ`);
  }
});

/** The mask of a symbol, from the format information around its top-left finder. */
function maskOf(rows) {
  const at = [[8, 0], [8, 1], [8, 2], [8, 3], [8, 4], [8, 5], [8, 7], [8, 8], [7, 8], [5, 8], [4, 8], [3, 8], [2, 8], [1, 8], [0, 8]];
  let f = 0;
  at.forEach(([x, y], i) => { f |= (rows[y][x] === '1' ? 1 : 0) << i; });
  for (let m = 0; m < 8; m++) if (qr.formatBits(m) === f) return m;
  throw new Error(`no level-M mask has the format bits ${f.toString(2)}`);
}

test('QR: libqrencode\'s symbols, with the mask it chose, are the same; ours has the lowest penalty', async () => {
  const ref = JSON.parse(await readFile(path.join(here, 'fixtures', 'qr-reference.json'), 'utf8'));
  const cases = ref.cases.filter((x) => x.mask === null);
  assert.equal(cases.length, 5);
  for (const c of cases) {
    const q = qr.qrMatrix(c.text, { mask: maskOf(c.rows) });
    assert.deepEqual(rowsOf(q), c.rows, `"${c.text.slice(0, 30)}…" as libqrencode made it`);
    const chosen = qr.qrMatrix(c.text);
    const scores = Array.from({ length: 8 }, (_, m) => { const s = qr.qrMatrix(c.text, { mask: m }); return qr.penalty(s.size, s.modules); });
    assert.equal(scores[chosen.mask], Math.min(...scores), `mask ${chosen.mask} of ${scores}`);
  }
});

test('QR: format and version information, sizes and capacities as the standard gives them', () => {
  // Annex C: level M, mask 0 is 101010000010010; version 7 is 000111110010010100.
  assert.equal(qr.formatBits(0), 0b101010000010010);
  assert.equal(qr.versionBits(7), 0b000111110010010100);
  assert.equal(qr.versionBits(13), 0b001101100001000111);
  // Codewords per version (raw modules / 8) and byte capacities at M.
  const codewords = [26, 44, 70, 100, 134, 172, 196, 242, 292, 346, 404, 466, 532];
  const bytes = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331];
  for (let v = 1; v <= 13; v++) {
    assert.equal(Math.floor(qr.rawDataModules(v) / 8), codewords[v - 1], `codewords of version ${v}`);
    assert.equal(qr.capacity(v), bytes[v - 1], `bytes in version ${v}`);
  }
  assert.deepEqual(qr.alignmentCentres(7), [6, 22, 38]);
  assert.deepEqual(qr.alignmentCentres(13), [6, 34, 62]);
  // A link of 120 characters fits (version 7), and 332 bytes do not.
  assert.equal(qr.qrMatrix('h'.repeat(120)).version, 7);
  assert.throws(() => qr.qrMatrix('h'.repeat(332)), RangeError);
});

test('QR: Reed–Solomon codewords make every syndrome zero', () => {
  const data = Array.from({ length: 43 }, (_, i) => (i * 37 + 11) & 0xff);
  const ec = qr.reedSolomon(data, 24);
  // Evaluate the whole codeword at α^0 … α^23: a valid one is divisible by the generator.
  const exp = [1];
  for (let i = 1; i < 255; i++) { let v = exp[i - 1] << 1; if (v & 0x100) v ^= 0x11d; exp.push(v); }
  const log = []; exp.forEach((v, i) => { log[v] = i; });
  const mul = (a, b) => (a && b ? exp[(log[a] + log[b]) % 255] : 0);
  for (let i = 0; i < 24; i++) {
    let s = 0;
    for (const c of [...data, ...ec]) s = mul(s, exp[i]) ^ c;
    assert.equal(s, 0, `syndrome ${i}`);
  }
});

test('QR: the SVG has a quiet zone, black on white, and a name', () => {
  const svg = qr.qrSvg('HELLO', { label: 'Link <of> "Ana"' });
  assert.match(svg, /viewBox="0 0 29 29"/);
  assert.match(svg, /role="img" aria-label="Link &lt;of> &quot;Ana&quot;"/);
  assert.match(svg, /fill="#fff"/);
  assert.match(svg, /fill="#000"/);
});

test('durations as people write them', () => {
  assert.equal(edit.parseDuration('20m'), 1200);
  assert.equal(edit.parseDuration('1h30m'), 5400);
  assert.equal(edit.parseDuration('4m 30s'), 270);
  assert.equal(edit.parseDuration('90s'), 90);
  assert.equal(edit.parseDuration('5'), 300);
  assert.equal(edit.parseDuration('4:30'), 270);
  assert.equal(edit.parseDuration('٢٠m'), 1200, 'Arabic-Indic digits');
  for (const bad of ['', 'm', '20x', '1m1m', '4:75', '-5m', '2 0m s']) assert.equal(edit.parseDuration(bad), null, bad);
  assert.equal(edit.formatSecs(1200), '20m');
  assert.equal(edit.formatSecs(270), '4m30s');
  assert.equal(edit.formatSecs(5400), '1h30m');
  assert.equal(edit.formatSecs(0), '0s');
  for (const s of [1, 59, 61, 3600, 3661, 86400]) assert.equal(edit.parseDuration(edit.formatSecs(s)), s);
});

test('what may change: history fixed, moves only after the last segment that has been on', () => {
  const state = {
    phase: 'running',
    current: 1,
    segments: [{ started_at: 1, ended_at: 2 }, { started_at: 3 }, {}, { started_at: 5, ended_at: 6 }, {}],
  };
  const r = edit.editRules(state);
  // The chair went to segment 3 and back to 1: everything up to 3 stays in place.
  assert.equal(r.fixed, 4);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => edit.segmentStatus(r, i)), ['history', 'current', 'upcoming', 'history', 'upcoming']);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => edit.canEdit(r, i)), [false, true, true, false, true]);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => edit.canMove(r, i)), [false, false, false, false, true]);
  assert.equal(edit.insertAfterCurrent(r, 5), 4, 'not among the fixed ones');
  const before = edit.editRules({ phase: 'not_started', segments: [{}, {}] });
  assert.equal(before.fixed, 0);
  assert.ok(edit.canMove(before, 0));
  assert.equal(edit.insertAfterCurrent(before, 2), 1);
  const ended = edit.editRules({ phase: 'ended', segments: [{ started_at: 1, ended_at: 2 }, {}] });
  assert.ok(!edit.canEdit(ended, 1) && !edit.canMove(ended, 1));
});

test('an edit sends only what changed; an emptied optional field is cleared', () => {
  const seg = { id: 'round-2', kind: 'round', title: 'Round 2', question: 'Why?', duration: 1200, speech_limit: 300 };
  const same = { kind: 'round', title: 'Round 2 ', title_original: '', question: 'Why?', question_original: '', duration: '20m', speech_limit: '5m', warning: '', danger: '' };
  assert.deepEqual(edit.segmentChanges(seg, same), { set: {}, errors: {} });
  const changed = { ...same, title: 'Round two', question: '', duration: '15m', speech_limit: '', warning: '2m' };
  assert.deepEqual(edit.segmentChanges(seg, changed).set, { title: 'Round two', question: null, duration: 900, speech_limit: null, warning: 120 });
  assert.deepEqual(edit.segmentChanges(seg, { ...same, title: ' ', duration: 'soon', danger: '25h' }).errors,
    { title: 'edit.err_required', duration: 'edit.err_duration', danger: 'edit.err_duration_range' });
  const p = { name: 'Ahmed Skim', title: 'Director', language: 'fr' };
  assert.deepEqual(edit.personChanges(p, { name: 'Ahmed Skim', title: '', affiliation: 'Morocco', country: '', language: 'ar' }).set,
    { title: null, affiliation: 'Morocco', language: 'ar' });
});

test('new segments and people', () => {
  const agenda = { segment: [{ id: 'intro' }, { id: 'any-other-business' }] };
  assert.equal(edit.newSegmentId('Any other business', agenda), 'any-other-business-2');
  assert.equal(edit.newSegmentId('Clôture', agenda), 'cloture');
  assert.equal(edit.newSegmentId('ما يستجد', agenda), 'segment');
  const { segment, errors } = edit.newSegment({ title: 'AOB', kind: 'open_floor', duration: '10m', speech_limit: '3m', question: '' }, agenda);
  assert.deepEqual(errors, {});
  assert.deepEqual(segment, { id: 'aob', kind: 'open_floor', title: 'AOB', duration: 600, speech_limit: 180 });
  const made = edit.newPerson({ name: ' Nadia Rahman ', affiliation: 'Dhaka North', language: 'ar', text_url: 'http://x.org/a.pdf' });
  assert.deepEqual(made.person, { name: 'Nadia Rahman', affiliation: 'Dhaka North', language: 'ar' });
  assert.deepEqual(made.errors, { text_url: 'edit.err_url' });
  assert.ok(edit.isHttpsUrl('https://example.org/slides.pdf'));
  assert.ok(!edit.isHttpsUrl('https://'));
  assert.ok(!edit.isHttpsUrl('javascript:alert(1)'));
});
