// A QR code encoder for the host console's links (ISO/IEC 18004): byte mode (UTF-8),
// error correction level M, versions 1–13 (up to 331 bytes, far more than a link of
// 120 characters needs). Written for Podium, with no dependency: a link's QR code is
// drawn in the page (an SVG), so nothing leaves the machine to make one.
//
//   qrMatrix(text) -> { version, size, mask, dark(x, y) }   the chosen symbol
//   qrMatrix(text, { mask: 3, version: 5 })                 a given mask or version
//   qrSvg(text, { label })                                  an SVG string, 4-module quiet zone
//
// The layers, in the order the standard builds a symbol: the data bit stream, the
// Reed–Solomon error correction per block and the interleaving, the function patterns
// (finders, timing, alignment, dark module, format and version areas), the data placed
// in the zigzag, and the mask with the lowest penalty.

/** Error correction level M, per version 1–13: EC codewords per block, and the blocks
 * as [count, data codewords] groups. */
const EC_M = [
  null,
  [10, [[1, 16]]],
  [16, [[1, 28]]],
  [26, [[1, 44]]],
  [18, [[2, 32]]],
  [24, [[2, 43]]],
  [16, [[4, 27]]],
  [18, [[4, 31]]],
  [22, [[2, 38], [2, 39]]],
  [22, [[3, 36], [2, 37]]],
  [26, [[4, 43], [1, 44]]],
  [30, [[1, 50], [4, 51]]],
  [22, [[6, 36], [2, 37]]],
  [22, [[8, 37], [1, 38]]],
];
export const MAX_VERSION = EC_M.length - 1;
/** The two format bits of level M. */
const LEVEL_M_BITS = 0b00;

// ---- Galois field GF(2^8), primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 ----

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let v = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = v;
    LOG[v] = i;
    v <<= 1;
    if (v & 0x100) v ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}
function gfMul(a, b) {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

/** The generator polynomial of degree n, (x − α^0)…(x − α^(n−1)), highest power first
 * without its leading 1. */
const generators = new Map();
function generator(n) {
  if (generators.has(n)) return generators.get(n);
  let poly = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(poly.length + 1).fill(0);
    for (let j = 0; j < poly.length; j++) {
      next[j] ^= poly[j];
      next[j + 1] ^= gfMul(poly[j], EXP[i]);
    }
    poly = next;
  }
  const g = poly.slice(1);
  generators.set(n, g);
  return g;
}

/** The n error correction codewords of `data`: the remainder of data·x^n by the
 * generator. */
export function reedSolomon(data, n) {
  const g = generator(n);
  const rem = new Array(n).fill(0);
  for (const byte of data) {
    const factor = byte ^ rem[0];
    rem.shift();
    rem.push(0);
    if (factor) for (let i = 0; i < n; i++) rem[i] ^= gfMul(g[i], factor);
  }
  return rem;
}

// ---- Sizes ----

/** Modules available for data and error correction in a version (all but the function
 * patterns), in bits. */
export function rawDataModules(version) {
  const size = 17 + 4 * version;
  let n = size * size;
  n -= 3 * 64 + 2 * 15 + 1; // finders with separators, format areas, the dark module
  n -= 2 * (size - 16); // timing patterns between the finders
  if (version >= 2) {
    const k = Math.floor(version / 7) + 2; // alignment patterns per side
    n -= 25 * (k * k - 3); // minus the three that would overlap the finders
    n += 10 * (k - 2); // the timing patterns already counted cross the inner ones
  }
  if (version >= 7) n -= 2 * 18; // version information
  return n;
}

function blocksOf(version) {
  const [ec, groups] = EC_M[version];
  const sizes = [];
  for (const [count, data] of groups) for (let i = 0; i < count; i++) sizes.push(data);
  return { ec, sizes, data: sizes.reduce((a, b) => a + b, 0) };
}

/** Bytes a version holds at level M in byte mode. */
export function capacity(version) {
  const { data } = blocksOf(version);
  const countBits = version <= 9 ? 8 : 16;
  return Math.floor((data * 8 - 4 - countBits) / 8);
}

/** Centres of the alignment patterns on one axis. */
export function alignmentCentres(version) {
  if (version < 2) return [];
  const size = 17 + 4 * version;
  const k = Math.floor(version / 7) + 2;
  const step = Math.ceil((size - 13) / (2 * k - 2)) * 2;
  const out = [6];
  for (let i = k - 2; i >= 0; i--) out.push(size - 7 - i * step);
  return out;
}

// ---- The bit stream ----

function utf8(text) {
  return Array.from(new TextEncoder().encode(text));
}

/** Data codewords: mode, count, bytes, terminator, padding. */
function dataCodewords(bytes, version) {
  const { data } = blocksOf(version);
  const bits = [];
  const put = (value, n) => { for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
  put(0b0100, 4);
  put(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const room = data * 8;
  put(0, Math.min(4, room - bits.length));
  while (bits.length % 8) bits.push(0);
  const out = [];
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; out.length < data; pad ^= 0xec ^ 0x11) out.push(pad);
  return out;
}

/** Splits the data into blocks, adds each block's error correction, interleaves. */
function interleaved(data, version) {
  const { ec, sizes } = blocksOf(version);
  const blocks = [];
  let at = 0;
  for (const n of sizes) {
    const d = data.slice(at, at + n);
    at += n;
    blocks.push({ d, e: reedSolomon(d, ec) });
  }
  const out = [];
  const longest = Math.max(...sizes);
  for (let i = 0; i < longest; i++) for (const b of blocks) if (i < b.d.length) out.push(b.d[i]);
  for (let i = 0; i < ec; i++) for (const b of blocks) out.push(b.e[i]);
  return out;
}

// ---- BCH codes of the format and version information ----

function bchRemainder(value, dataBits, poly, polyBits) {
  let r = value << (polyBits - 1);
  for (let i = dataBits + polyBits - 2; i >= polyBits - 1; i--) {
    if ((r >>> i) & 1) r ^= poly << (i - (polyBits - 1));
  }
  return r;
}

/** The 15 format bits of level M with `mask`, masked with 101010000010010. */
export function formatBits(mask) {
  const data = (LEVEL_M_BITS << 3) | mask;
  return ((data << 10) | bchRemainder(data, 5, 0b10100110111, 11)) ^ 0b101010000010010;
}

/** The 18 version bits (versions 7 and up). */
export function versionBits(version) {
  return (version << 12) | bchRemainder(version, 6, 0b1111100100101, 13);
}

// ---- The symbol ----

class Grid {
  constructor(version) {
    this.version = version;
    this.size = 17 + 4 * version;
    this.dark = new Uint8Array(this.size * this.size);
    this.fixed = new Uint8Array(this.size * this.size);
  }
  set(x, y, on) {
    const i = y * this.size + x;
    this.dark[i] = on ? 1 : 0;
    this.fixed[i] = 1;
  }
  get(x, y) { return this.dark[y * this.size + x] === 1; }
}

function drawFunctionPatterns(g) {
  const s = g.size;
  // Timing patterns first: finders and alignment patterns overwrite their ends.
  for (let i = 0; i < s; i++) {
    g.set(6, i, i % 2 === 0);
    g.set(i, 6, i % 2 === 0);
  }
  // Finders with their light separators.
  for (const [cx, cy] of [[3, 3], [s - 4, 3], [3, s - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || y < 0 || x >= s || y >= s) continue;
        const ring = Math.max(Math.abs(dx), Math.abs(dy));
        g.set(x, y, ring !== 2 && ring !== 4);
      }
    }
  }
  // Alignment patterns, except where a finder is.
  const c = alignmentCentres(g.version);
  for (const cy of c) {
    for (const cx of c) {
      const corner = (cx === 6 && cy === 6) || (cx === 6 && cy === s - 7) || (cx === s - 7 && cy === 6);
      if (corner) continue;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) g.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }
  }
  // Format areas reserved now, written once the mask is known; the dark module.
  drawFormat(g, 0);
  // Version information.
  if (g.version >= 7) {
    const v = versionBits(g.version);
    for (let i = 0; i < 18; i++) {
      const on = ((v >>> i) & 1) === 1;
      const a = s - 11 + (i % 3);
      const b = Math.floor(i / 3);
      g.set(a, b, on);
      g.set(b, a, on);
    }
  }
}

function drawFormat(g, mask) {
  const s = g.size;
  const f = formatBits(mask);
  const bit = (i) => ((f >>> i) & 1) === 1;
  // Around the top-left finder.
  for (let i = 0; i <= 5; i++) g.set(8, i, bit(i));
  g.set(8, 7, bit(6));
  g.set(8, 8, bit(7));
  g.set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) g.set(14 - i, 8, bit(i));
  // Beside the top-right finder, and below the bottom-left one.
  for (let i = 0; i < 8; i++) g.set(s - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) g.set(8, s - 15 + i, bit(i));
  g.set(8, s - 8, true);
}

/** Places the codewords' bits in the zigzag: pairs of columns from the right, up then
 * down, skipping the vertical timing pattern and every function module. */
function placeData(g, codewords) {
  const s = g.size;
  let k = 0;
  const total = codewords.length * 8;
  let upward = true;
  for (let right = s - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < s; step++) {
      const y = upward ? s - 1 - step : step;
      for (const x of [right, right - 1]) {
        if (g.fixed[y * s + x]) continue;
        const on = k < total && ((codewords[k >> 3] >>> (7 - (k & 7))) & 1) === 1;
        g.dark[y * s + x] = on ? 1 : 0;
        k++;
      }
    }
    upward = !upward;
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function applyMask(g, mask) {
  const s = g.size;
  const m = MASKS[mask];
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const i = y * s + x;
      if (!g.fixed[i] && m(x, y)) g.dark[i] ^= 1;
    }
  }
}

/** The standard's penalty score of a finished symbol (lower is easier to read). */
export function penalty(size, dark) {
  const at = (x, y) => dark[y * size + x];
  let score = 0;
  const FINDERISH = [[1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1]];
  for (const horizontal of [true, false]) {
    for (let a = 0; a < size; a++) {
      const line = [];
      for (let b = 0; b < size; b++) line.push(horizontal ? at(b, a) : at(a, b));
      // N1: runs of five or more of one colour.
      let run = 1;
      for (let b = 1; b <= size; b++) {
        if (b < size && line[b] === line[b - 1]) { run++; continue; }
        if (run >= 5) score += 3 + (run - 5);
        run = 1;
      }
      // N3: a finder-like 1:1:3:1:1 with four light modules on one side.
      for (let b = 0; b + 11 <= size; b++) {
        for (const p of FINDERISH) if (p.every((v, i) => line[b + i] === v)) score += 40;
      }
    }
  }
  // N2: 2×2 blocks of one colour.
  for (let y = 0; y < size - 1; y++) {
    for (let x = 0; x < size - 1; x++) {
      const c = at(x, y);
      if (c === at(x + 1, y) && c === at(x, y + 1) && c === at(x + 1, y + 1)) score += 3;
    }
  }
  // N4: how far the share of dark modules is from half, by steps of 5 %.
  let n = 0;
  for (const v of dark) n += v;
  score += 10 * Math.floor(Math.abs(n * 100 / (size * size) - 50) / 5);
  return score;
}

/** The smallest version that holds `n` bytes at level M (or null). */
export function versionFor(n) {
  for (let v = 1; v <= MAX_VERSION; v++) if (capacity(v) >= n) return v;
  return null;
}

/**
 * The QR symbol of `text`. Options: `version` (at least the smallest that fits),
 * `mask` (0–7; default: the one with the lowest penalty). Throws a RangeError when the
 * text does not fit version 13.
 */
export function qrMatrix(text, { version = null, mask = null } = {}) {
  const bytes = utf8(text);
  const least = versionFor(bytes.length);
  if (least === null) throw new RangeError(`too long for a QR code of version ${MAX_VERSION} (${bytes.length} bytes)`);
  const v = version === null ? least : version;
  if (v < least || v > MAX_VERSION) throw new RangeError(`version ${v} cannot hold ${bytes.length} bytes`);
  const codewords = interleaved(dataCodewords(bytes, v), v);
  const base = new Grid(v);
  drawFunctionPatterns(base);
  placeData(base, codewords);
  const tryMask = (m) => {
    const g = new Grid(v);
    g.dark.set(base.dark);
    g.fixed.set(base.fixed);
    applyMask(g, m);
    drawFormat(g, m);
    return g;
  };
  let best = null;
  let bestMask = 0;
  if (mask !== null) {
    best = tryMask(mask);
    bestMask = mask;
  } else {
    let bestScore = Infinity;
    for (let m = 0; m < 8; m++) {
      const g = tryMask(m);
      const p = penalty(g.size, g.dark);
      if (p < bestScore) { bestScore = p; best = g; bestMask = m; }
    }
  }
  const { size, dark } = best;
  return { version: v, size, mask: bestMask, modules: dark, dark: (x, y) => dark[y * size + x] === 1 };
}

/** The symbol as an SVG image (black on white whatever the theme, so phones read it),
 * with the standard's 4-module quiet zone. `label` names it for screen readers. */
export function qrSvg(text, { label = '', quiet = 4 } = {}) {
  const q = qrMatrix(text);
  const n = q.size + 2 * quiet;
  let d = '';
  for (let y = 0; y < q.size; y++) {
    for (let x = 0; x < q.size; x++) if (q.dark(x, y)) d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
  }
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  return `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" role="img" aria-label="${esc(label)}" shape-rendering="crispEdges">`
    + `<rect width="${n}" height="${n}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}
