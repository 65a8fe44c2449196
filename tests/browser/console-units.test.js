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

export { edit };
