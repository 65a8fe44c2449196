// The broadcast overlays in Debian's Chromium, the way OBS shows a browser source: each
// page in a full-size transparent iframe over a checkerboard (a stand-in for video), at
// 1920×1080 and 1280×720, in English and Arabic. Checks: the page is transparent and has
// no controls; what it shows lies inside the title-safe area and is not cut off; the
// lower third and the next-speakers strip animate out and in on floor changes; the clock
// turns amber, then red and counts up. Writes test-artifacts/screenshots/overlay-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const BIN = path.resolve(here, process.env.PODIUM_BIN || '../../target/debug/podium');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(repo, 'test-artifacts', 'screenshots');
const ADMIN = '0123456789abcdef0123456789abcdef';
const SIZES = [
  [1920, 1080],
  [1280, 720],
];
const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

let server;
let data;
let base;
let meeting;
let tokens = {};
let key;
let browser;

async function eventually(fn, what, timeout = 10000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last && (last.message || JSON.stringify(last))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function api(method, p, token, body) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

const host = (command) => api('POST', `/api/meetings/${meeting}/commands`, tokens.host, command);

before(async () => {
  data = mkdtempSync(path.join(tmpdir(), 'podium-overlays-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--bind', `127.0.0.1:${port}`, '--data', data], {
    env: { ...process.env, PODIUM_ADMIN_TOKEN: ADMIN },
    stdio: 'ignore',
  });
  await eventually(async () => (await fetch(`${base}/healthz`)).ok, 'the server', 30000);
  const links = JSON.parse(execFileSync(BIN, ['links', '--json', '--data', data]).toString());
  meeting = links[0].meeting;
  for (const l of links) tokens[l.person ? `${l.role}:${l.person}` : l.role] = l.url.split('#')[1];
  key = (await api('POST', `/api/meetings/${meeting}/keys`, tokens.host, { role: 'observer', label: 'Webcast PC' })).key;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  if (data) rmSync(data, { recursive: true, force: true });
});

/** A page showing `overlay` (path + query) over a checkerboard, as a browser source. */
async function source(overlay, [width, height], credential = key) {
  const page = await browser.newPage({ viewport: { width, height } });
  const url = `${base}/overlays/${overlay}#key=${credential}`;
  await page.setContent(`<!doctype html><html><head><style>
    html, body { margin: 0; width: 100%; height: 100%; overflow: hidden; }
    body {
      background-color: #7d8593;
      background-image:
        linear-gradient(45deg, #4d5563 25%, transparent 25%, transparent 75%, #4d5563 75%),
        linear-gradient(45deg, #4d5563 25%, transparent 25%, transparent 75%, #4d5563 75%);
      background-size: 80px 80px;
      background-position: 0 0, 40px 40px;
    }
    iframe { border: 0; width: 100%; height: 100%; display: block; background: transparent; }
  </style></head><body><iframe allowtransparency="true" src="${url}"></iframe></body></html>`);
  const frame = await eventually(() => page.frames().find((f) => f.url().startsWith(`${base}/overlays/`)), 'the overlay frame');
  await frame.waitForLoadState('load');
  return { page, frame };
}

/** Waits until the element is fully in (its entrance transition has ended). */
async function shownIn(frame, testid) {
  const el = frame.locator(`[data-testid="${testid}"]`);
  await eventually(async () => (await el.getAttribute('data-state')) === 'in', `${testid} to come in`);
  await eventually(async () => Number(await el.evaluate((e) => getComputedStyle(e).opacity)) === 1, `${testid} opaque`);
  return el;
}

/** The page is a transparent browser source without controls. */
async function checkSource(frame) {
  const bg = await frame.evaluate(() => [
    getComputedStyle(document.documentElement).backgroundColor,
    getComputedStyle(document.body).backgroundColor,
  ]);
  assert.deepEqual(bg, ['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)'], 'transparent page');
  const controls = await frame.locator('button, input, select, textarea, a[href]').count();
  assert.equal(controls, 0, 'no controls');
  const scroll = await frame.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight, innerWidth, innerHeight]);
  assert.ok(scroll[0] <= scroll[2] && scroll[1] <= scroll[3], `no scrolling: ${scroll}`);
}

/** The box lies in the title-safe area (5 % of the height from each edge) … */
async function checkSafe(el, [width, height], what) {
  const b = await el.boundingBox();
  const m = height * 0.05 - 1;
  assert.ok(b, `${what} has a box`);
  assert.ok(b.x >= m && b.y >= m && b.x + b.width <= width - m && b.y + b.height <= height - m,
    `${what} ${JSON.stringify(b)} leaves the title-safe area of ${width}×${height}`);
  return b;
}

/** … and none of its text is cut off. */
async function checkNotCut(el, selector, what) {
  const cut = await el.evaluate((root, sel) => [...root.querySelectorAll(sel)]
    .filter((e) => !e.hidden && e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.textContent), selector);
  assert.deepEqual(cut, [], `${what}: text cut off`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `overlay-${name}.png`) });
}

test('the lower third shows who speaks, in the page language, and animates on floor changes', async () => {
  await host({ type: 'start_meeting' });
  await host({ type: 'go_to_segment', segment: 'round-2' });
  await host({ type: 'give_floor', person: 'ahmed-skim' });
  for (const lang of ['en', 'ar', 'fr']) {
    for (const size of SIZES) {
      if (lang === 'fr' && size[0] !== 1920) continue;
      const { page, frame } = await source(`lower-third?lang=${lang}`, size);
      await checkSource(frame);
      const el = await shownIn(frame, 'lower-third');
      assert.equal(await frame.locator('[data-testid="name"]').textContent(), 'Ahmed Skim');
      const language = await frame.locator('[data-testid="language"]').textContent();
      const segment = await frame.locator('[data-testid="segment"]').textContent();
      if (lang === 'en') {
        assert.equal(language, 'Speaking in French');
        assert.match(segment, /^Round 2/);
      } else if (lang === 'ar') {
        assert.equal(language, 'لغة المداخلة: الفرنسية');
        assert.equal(await frame.evaluate(() => document.documentElement.dir), 'rtl');
        // Right to left: the lower third starts at the right edge.
        const b = await el.boundingBox();
        assert.ok(b.x + b.width > size[0] * 0.9, `the Arabic lower third sits on the right: ${JSON.stringify(b)}`);
      } else {
        // French pages get the agenda's original French title.
        assert.match(segment, /^Deuxième tour/);
        assert.equal(language, 'Intervention en français');
      }
      assert.equal(await frame.locator('[data-testid="title"]').textContent(), 'Director of Migration Affairs');
      assert.match(await frame.locator('[data-testid="org"]').textContent(), /^Morocco · Ministry Delegate/);
      const b = await checkSafe(el, size, `lower third (${lang})`);
      assert.ok(b.y > size[1] / 2, 'in the lower half');
      await checkNotCut(el, '.name, .title, .chip', `lower third (${lang})`);
      // Lines follow the page's direction: in Arabic, the name ends at the panel's right.
      const nameBox = await frame.evaluate(() => {
        const r = document.createRange();
        r.selectNodeContents(document.querySelector('.name'));
        const b = r.getBoundingClientRect();
        return { x: b.x, width: b.width };
      });
      const panelBox = await frame.locator('.panel').evaluate((e) => {
        const b = e.getBoundingClientRect();
        return { x: b.x, width: b.width };
      });
      const startGap = lang === 'ar' ? panelBox.x + panelBox.width - (nameBox.x + nameBox.width) : nameBox.x - panelBox.x;
      assert.ok(startGap < size[1] * 0.04, `the name starts at the line's start (${lang}): gap ${startGap}`);
      await shot(page, `lower-third-${lang}-${size[0]}x${size[1]}`);
      await page.close();
    }
  }

  // Floor changes: out, then in with the new speaker; nobody on the floor: out.
  const { page, frame } = await source('lower-third?lang=en', SIZES[0]);
  const el = await shownIn(frame, 'lower-third');
  const states = [];
  await frame.evaluate(() => {
    window.__states = [];
    new MutationObserver(() => window.__states.push(document.querySelector('.lower-third').dataset.state))
      .observe(document.querySelector('.lower-third'), { attributes: true, attributeFilter: ['data-state'] });
  });
  await host({ type: 'give_floor', person: 'salvatore-martello' });
  await eventually(async () => (await frame.locator('[data-testid="name"]').textContent()) === 'Salvatore Martello'
    && (await el.getAttribute('data-state')) === 'in', 'the new speaker');
  states.push(...(await frame.evaluate(() => window.__states)));
  assert.deepEqual(states, ['out', 'in'], 'left, then came back with the new speaker');
  await shownIn(frame, 'lower-third');
  await host({ type: 'end_speech' });
  await eventually(async () => (await el.getAttribute('data-state')) === 'out', 'the lower third to leave');
  await eventually(async () => Number(await el.evaluate((e) => getComputedStyle(e).opacity)) === 0, 'it to fade out');
  await shot(page, 'lower-third-en-1920x1080-nobody');
  await page.close();
});

test('the clock shows the time left, amber then red, counting up in overtime', async () => {
  await host({ type: 'go_to_segment', segment: 'round-1' });
  await host({ type: 'give_floor', person: 'carola-gunnarsson' });
  for (const lang of ['en', 'ar']) {
    for (const size of SIZES) {
      const { page, frame } = await source(`clock?lang=${lang}`, size);
      await checkSource(frame);
      const el = await shownIn(frame, 'clock');
      const time = frame.locator('[data-testid="clock-time"]');
      await eventually(async () => /^[45]:\d\d$/.test(await time.textContent()), 'a five-minute speech clock');
      assert.equal(await el.getAttribute('data-level'), 'ok');
      assert.equal(await frame.locator('[data-testid="clock-label"]').textContent(), lang === 'ar' ? 'وقت الكلمة' : 'Speaking time');
      const b = await checkSafe(el, size, `clock (${lang})`);
      assert.ok(b.height > size[1] * 0.1, 'a clock big enough to read on a stream');
      await checkNotCut(el, '.time, .label', `clock (${lang})`);
      await shot(page, `clock-${lang}-${size[0]}x${size[1]}`);
      await page.close();
    }
  }
  const { page, frame } = await source('clock?lang=ar', SIZES[1]);
  const el = await shownIn(frame, 'clock');
  const time = frame.locator('[data-testid="clock-time"]');
  await host({ type: 'adjust_clock', target: 'speech', seconds: -260 });
  await eventually(async () => (await el.getAttribute('data-level')) === 'warning', 'amber');
  await shot(page, 'clock-ar-1280x720-warning');
  await host({ type: 'adjust_clock', target: 'speech', seconds: -60 });
  await eventually(async () => (await el.getAttribute('data-level')) === 'overtime' && /^\+0:\d\d$/.test(await time.textContent()), 'overtime');
  await shot(page, 'clock-ar-1280x720-overtime');
  // The floor changes: the clock leaves and comes back with the new speech.
  await frame.evaluate(() => {
    window.__states = [];
    new MutationObserver(() => window.__states.push(document.querySelector('.clock').dataset.state))
      .observe(document.querySelector('.clock'), { attributes: true, attributeFilter: ['data-state'] });
  });
  await host({ type: 'give_floor', person: 'alexandra-young' });
  await eventually(async () => /^[45]:\d\d$/.test(await time.textContent()) && (await el.getAttribute('data-state')) === 'in', 'the new speech clock');
  assert.deepEqual(await frame.evaluate(() => window.__states), ['out', 'in']);
  assert.equal(await el.getAttribute('data-level'), 'ok');
  await page.close();
});

test('the next-speakers strip lists who is still to speak, then the hands', async () => {
  await host({ type: 'go_to_segment', segment: 'open-conversation' });
  // Two delegates join in a browser page and raise hands (one a point of order).
  const joiner = await browser.newPage();
  await joiner.goto(`${base}/healthz`);
  const join = (name, delegation, language, hand) => joiner.evaluate(async ([url, m, token, name, delegation, language, hand]) => {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.addEventListener('open', r));
    ws.send(JSON.stringify({ type: 'join', protocol: 2, meeting: m, token, name, delegation, language }));
    await new Promise((resolve) => ws.addEventListener('message', (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === 'snapshot') {
        ws.send(JSON.stringify({ type: 'command', id: 1, command: { type: 'raise_hand', ...hand } }));
      }
      if (msg.type === 'ack' || msg.type === 'error') resolve(msg);
    }));
    return true;
  }, [`${base.replace('http', 'ws')}/ws`, meeting, tokens.participant, name, delegation, language, hand]);
  await join('Jeniffer Villarreal de Hoyos', 'Barranquilla, Colombia', 'es', {});
  await join('Karim Benali', 'City of Rabat', 'ar', { point_of_order: true });
  for (const lang of ['en', 'ar']) {
    for (const size of SIZES) {
      const { page, frame } = await source(`next?lang=${lang}&count=3`, size);
      await checkSource(frame);
      const el = await shownIn(frame, 'next');
      const names = await frame.locator('[data-testid="next-item"] .who').allTextContents();
      // The open conversation's reaction speakers come first, then the hands.
      // The open conversation's reaction speakers first, then the queue (the point of
      // order ahead of the ordinary hand), three at most.
      assert.deepEqual(names, ['Bettina Etter', 'Diego Morejon', 'Karim Benali']);
      assert.equal(await frame.locator('[data-testid="next-title"]').textContent(), lang === 'ar' ? 'المتحدثون التالون' : 'Next');
      await checkSafe(el, size, `next (${lang})`);
      await checkNotCut(el, '.who, .chip, .title', `next (${lang})`);
      await shot(page, `next-${lang}-${size[0]}x${size[1]}`);
      await page.close();
    }
  }
  // Give the floor to the hands: the strip follows.
  const { page, frame } = await source('next?lang=en&count=5', SIZES[0]);
  await shownIn(frame, 'next');
  const before = await frame.locator('[data-testid="next-item"] .who').allTextContents();
  assert.ok(before.includes('Karim Benali') && before.includes('Jeniffer Villarreal de Hoyos'), JSON.stringify(before));
  assert.equal(await frame.locator('.chip.poo').count(), 1, 'the point of order is marked');
  await host({ type: 'give_floor_to_hand' });
  await eventually(async () => !(await frame.locator('[data-testid="next-item"] .who').allTextContents()).includes('Karim Benali')
    && (await frame.locator('[data-testid="next"]').getAttribute('data-state')) === 'in', 'Karim off the list');
  await page.close();
  await joiner.close();
});

test('an overlay without a key, or with a revoked one, says so', async () => {
  const { page, frame } = await source('lower-third?lang=en', SIZES[1], '');
  await eventually(async () => /key/.test(await frame.locator('[data-testid="notice"]').textContent()), 'the no-key notice');
  await page.close();
  const made = await api('POST', `/api/meetings/${meeting}/keys`, tokens.host, { role: 'observer', label: 'Old PC' });
  const second = await source('clock?lang=en', SIZES[1], made.key);
  await shownIn(second.frame, 'clock');
  await api('DELETE', `/api/meetings/${meeting}/keys/${made.id}`, tokens.host);
  await eventually(async () => (await second.frame.locator('[data-testid="notice"]').textContent()) === 'This key was revoked', 'the revoked notice');
  await second.page.close();
});
