// What every browser test file shares: the real `podium` binary on a free port (one per
// test file, with extra meetings created over the admin API), Debian's Chromium through
// playwright-core, pages in their own contexts, commands sent through a page's own
// protocol connection, geometry measured in the page, axe-core, and screenshots.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const BIN = path.resolve(here, process.env.PODIUM_BIN || '../../target/debug/podium');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(repo, 'test-artifacts', 'screenshots');
const AXE = path.join(here, 'node_modules', 'axe-core', 'axe.min.js');
export const LANGS = ['en', 'fr', 'es', 'ar'];
export const FRENCH_AGENDA = path.join(here, 'fixtures', 'french-titles.toml');
/** The screens the issue names: three laptop/projector sizes, full HD, a phone. */
export const VIEWPORTS = {
  '1024x768': { width: 1024, height: 768 },
  '1280x720': { width: 1280, height: 720 },
  '1366x768': { width: 1366, height: 768 },
  '1920x1080': { width: 1920, height: 1080 },
  '390x844': { width: 390, height: 844 },
};
const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function catalogue(lang) {
  return (await import(pathToFileURL(path.join(repo, `web-client/i18n/${lang}.js`)).href)).default;
}

/** Waits until `fn` returns a truthy value (or throws the last failure). */
export async function eventually(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error(`${what}: got ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last && last.message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/**
 * A running `podium serve` with its data directory. `links` holds every role link of
 * every meeting (bundled first, then those of `agendas`, created over the admin API).
 */
export class Podium {
  constructor() {
    this.proc = null;
    this.dataDir = null;
    this.baseUrl = null;
    this.links = [];
    this.adminToken = 'a'.repeat(32);
  }

  async start({ agendas = [], port = 0 } = {}) {
    assert.ok(existsSync(BIN), `no server binary at ${BIN}: run \`cargo build -p podium-server\` or set PODIUM_BIN`);
    if (!this.dataDir) this.dataDir = await mkdtemp(path.join(tmpdir(), 'podium-browser-'));
    const env = { ...process.env, PODIUM_ADMIN_TOKEN: this.adminToken };
    this.proc = spawn(BIN, ['serve', '--bind', `127.0.0.1:${port}`, '--data', this.dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    this.proc.stdout.on('data', (d) => { out += d; });
    this.proc.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    await Promise.race([
      eventually(() => /listening on (http:\/\/[^\s]+)/.exec(out), { timeout: 20000, what: 'the server to listen' }),
      exited.then((code) => { throw new Error(`podium serve exited with ${code}:\n${out}\n${err}`); }),
    ]);
    this.baseUrl = /listening on (http:\/\/[^\s]+)/.exec(out)[1].replace(/\/$/, '');
    const fix = (l) => ({ ...l, url: this.baseUrl + new URL(l.url).pathname + new URL(l.url).hash });
    const known = JSON.parse(await run(BIN, ['links', '--data', this.dataDir, '--json']));
    this.links = known.map(fix);
    for (const file of agendas) {
      const body = await readFile(file, 'utf8');
      const res = await fetch(`${this.baseUrl}/api/meetings`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.adminToken}`, 'Content-Type': 'application/toml' },
        body,
      });
      if (res.status === 409) continue; // already there (a restart)
      const text = await res.text();
      assert.equal(res.status, 201, `creating ${file}: ${res.status} ${text}`);
      const made = JSON.parse(text);
      this.links.push(...made.links.map(fix));
    }
    if (agendas.length) {
      const again = JSON.parse(await run(BIN, ['links', '--data', this.dataDir, '--json']).catch(() => '[]'));
      for (const l of again.map(fix)) if (!this.links.some((x) => x.url === l.url)) this.links.push(l);
    }
    return this;
  }

  /** The link of `role` (in `meeting`, default the bundled one), for the person whose
   * name or id contains `who`. */
  link(role, who, meeting = 'gfmd-mayors-2021-01-22') {
    const l = this.links.find((x) => x.meeting === meeting && x.role === role
      && (!who || `${x.speaker || ''} ${x.person || ''}`.toLowerCase().includes(who)));
    assert.ok(l, `no ${role} link${who ? ` for ${who}` : ''} in ${meeting}: ${JSON.stringify(this.links.map((x) => [x.meeting, x.role, x.person]))}`);
    return l.url;
  }

  async kill(signal = 'SIGKILL') {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => { this.proc.kill('SIGKILL'); r(); }, 5000);
        this.proc.once('exit', () => { clearTimeout(t); r(); });
      });
    }
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Debian's Chromium, headless. */
export async function launch() {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  await mkdir(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
}

/** A page in its own browser context (own storage: own participant token). */
export async function newPage(browser, { lang = 'en', viewport = { width: 1280, height: 900 }, colorScheme = 'light', skewMs = 0, timezoneId = 'America/New_York' } = {}) {
  const ctx = await browser.newContext({ viewport, locale: 'en-GB', timezoneId, colorScheme, reducedMotion: 'reduce' });
  await ctx.addInitScript(({ lang, skewMs }) => {
    try { if (!localStorage.getItem('podium:lang')) localStorage.setItem('podium:lang', lang); } catch { /* opaque origin */ }
    if (skewMs) {
      const real = Date.now.bind(Date);
      Date.now = () => real() + skewMs;
    }
    // Collects what the live region says, for the announcement tests.
    window.__said = [];
    document.addEventListener('DOMContentLoaded', () => {
      const lr = document.querySelector('[data-testid="live-region"]');
      if (lr) new MutationObserver(() => { if (lr.textContent) window.__said.push(lr.textContent); }).observe(lr, { childList: true, characterData: true, subtree: true });
    });
  }, { lang, skewMs });
  if (process.env.PODIUM_ASSETS_FROM_DISK) {
    // While editing the client: serve web-client/ as it is on disk instead of the copy
    // embedded in the binary (no rebuild per change). Never set in CI.
    await ctx.route('**/assets/**', (route) => {
      const rel = decodeURIComponent(new URL(route.request().url()).pathname.replace(/^\/assets\//, ''));
      const type = rel.endsWith('.css') ? 'text/css' : rel.endsWith('.js') ? 'text/javascript' : undefined;
      return route.fulfill({ path: path.join(repo, 'web-client', rel), contentType: type });
    });
  }
  const page = await ctx.newPage();
  page.on('dialog', (d) => d.accept());
  page.__errors = [];
  page.on('pageerror', (e) => { page.__errors.push(String(e)); });
  // Whatever the Content-Security-Policy blocks is an error too.
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|connect|execute|apply|frame)/.test(m.text())) {
      page.__errors.push(`CSP: ${m.text()}`);
    }
  });
  return page;
}

/** Opens a link and waits for the first state (or the join form). */
export async function open(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || document.querySelector('[data-testid="join-form"]'), null, { timeout: 15000 });
}

export async function join(page, { name, delegation, language }) {
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-delegation').fill(delegation);
  await page.getByTestId('join-language').selectOption(language);
  await page.getByTestId('join-submit').click();
  await page.getByTestId('queue-position-none').or(page.getByTestId('queue-position')).or(page.getByTestId('observer-note')).first().waitFor({ timeout: 10000 });
}

/** Switches the interface language (on a stage display, through the corner control). */
export async function setLang(page, lang) {
  if (await page.evaluate(() => document.documentElement.lang) === lang) return;
  const sel = page.getByTestId('lang-select');
  if (!(await sel.isVisible())) await page.getByTestId('tools-toggle').click();
  await sel.selectOption(lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  await page.evaluate(() => { const d = document.querySelector('[data-testid="tools"]'); if (document.body.dataset.stage) d.open = false; });
}

/** Sends a command through the page's own connection (a host or moderator page). */
export async function command(page, cmd) {
  return page.evaluate((c) => window.__podium.conn.command(c).then((a) => a.seq, (e) => { throw new Error(`${c.type}: ${e.code} ${e.message}`); }), cmd);
}

/** Waits until the page's state satisfies `pred` (evaluated in the page on
 * `window.__podium.conn.model`). */
export async function waitState(page, pred, arg) {
  // The predicate's source is composed here, not with `new Function` in the page: the
  // pages' Content-Security-Policy forbids eval (Playwright evaluates through CDP).
  const src = `(arg) => { const m = window.__podium && window.__podium.conn.model; return !!(m && m.state && (${pred.toString()})(m, arg)); }`;
  await page.waitForFunction(src, arg, { timeout: 10000 });
}

/**
 * Geometry of the page: viewport, document scroll sizes, and the bounding box of each
 * named element (by data-testid; first visible match) with whether its content is
 * clipped inside it.
 */
export async function geometry(page, testids) {
  return page.evaluate((ids) => {
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const d = document.documentElement;
    const boxes = {};
    for (const id of ids) {
      const els = [...document.querySelectorAll(`[data-testid="${id}"]`)].filter((e) => e.getClientRects().length);
      const el = els[0];
      if (!el) { boxes[id] = null; continue; }
      const r = el.getBoundingClientRect();
      boxes[id] = {
        x: r.left, y: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
        clipped: el.scrollHeight > el.clientHeight + 2 || el.scrollWidth > el.clientWidth + 2,
        text: el.textContent.trim().slice(0, 80),
      };
    }
    return {
      vw, vh,
      scrollWidth: Math.max(d.scrollWidth, document.body.scrollWidth),
      scrollHeight: Math.max(d.scrollHeight, document.body.scrollHeight),
      boxes,
    };
  }, testids);
}

/** Asserts that each named element lies wholly inside the viewport, unclipped. */
export function assertInside(g, ids, label, { clip = true } = {}) {
  const problems = [];
  for (const id of ids) {
    const b = g.boxes[id];
    if (!b) { problems.push(`${id}: not shown`); continue; }
    if (b.width < 1 || b.height < 1) problems.push(`${id}: empty box`);
    if (b.x < -0.5 || b.y < -0.5 || b.right > g.vw + 0.5 || b.bottom > g.vh + 0.5) {
      problems.push(`${id} at x ${b.x.toFixed(0)}..${b.right.toFixed(0)}, y ${b.y.toFixed(0)}..${b.bottom.toFixed(0)} is outside ${g.vw}×${g.vh}`);
    }
    if (clip && b.clipped) problems.push(`${id} ("${b.text}") is cut inside its box`);
  }
  assert.deepEqual(problems, [], `${label}: ${problems.join('; ')}`);
}

/** Asserts no horizontal overflow (and, with `vertical`, no vertical scroll). */
export function assertNoOverflow(g, label, { vertical = false } = {}) {
  assert.ok(g.scrollWidth <= g.vw + 1, `${label}: page is ${g.scrollWidth}px wide in a ${g.vw}px viewport`);
  if (vertical) assert.ok(g.scrollHeight <= g.vh + 1, `${label}: page is ${g.scrollHeight}px tall in a ${g.vh}px viewport (it scrolls)`);
}

/** Elements wider than the viewport or starting left of it (for a clear failure). */
export async function overflowers(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width || getComputedStyle(el).position === 'fixed') continue;
      if (r.right > vw + 1 || r.left < -1) {
        out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}.${[...el.classList].join('.')} ${r.left.toFixed(0)}..${r.right.toFixed(0)}`);
      }
    }
    return out.slice(0, 8);
  });
}

export async function axeCheck(page, label) {
  // Evaluated through the DevTools protocol: the pages' CSP forbids inline scripts, and
  // addScriptTag would insert one.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(await readFile(AXE, 'utf8'));
  const result = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${n.failureSummary ? n.failureSummary.split('\n').slice(1, 2).join('') : ''}`).join(' | ')}`),
    [],
    `axe violations in ${label}`,
  );
}

/** A screenshot of the viewport (what a person sees without scrolling). */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Errors the pages threw. */
export function pageErrors(pages) {
  return Object.entries(pages).flatMap(([n, p]) => (p.__errors || []).map((e) => `${n}: ${e}`));
}

/**
 * `names.length` participants join through the join link `joinUrl` and raise a hand
 * (every third one in Arabic, every tenth a point of order), each over its own raw
 * websocket opened from inside `page` (fast: no page per delegate). Their hands stay up
 * after the sockets close.
 */
export async function raiseHands(page, joinUrl, names) {
  const u = new URL(joinUrl);
  const meeting = u.pathname.split('/')[2];
  const token = u.hash.slice(1);
  return page.evaluate(async ({ meeting, token, names }) => {
    const protocol = (window.__podium && window.__podium.conn.model.protocol) || 1;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const one = (name, i) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error(`${name}: no answer`)), 10000);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'join', protocol, meeting, token, name, delegation: `Delegation ${i + 1}`, language: i % 3 === 0 ? 'ar' : 'en' }));
      ws.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'command', id: 1, command: { type: 'raise_hand', point_of_order: i % 10 === 9 } }));
        else if (m.type === 'ack' || m.type === 'error') { clearTimeout(timer); ws.close(); if (m.type === 'ack') resolve(); else reject(new Error(`${name}: ${m.message}`)); }
      };
    });
    // A few at a time: the rate limit is per connection, the server is shared.
    for (let i = 0; i < names.length; i += 5) await Promise.all(names.slice(i, i + 5).map((n, j) => one(n, i + j)));
  }, { meeting, token, names });
}
