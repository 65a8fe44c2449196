// End to end: the real `podium` binary, Debian's Chromium driven by playwright-core.
//
// A host, a speaker (Carola Gunnarsson, round 1), an interpreter and three participants
// in separate browser contexts run a piece of the bundled meeting: start, go to round 1,
// give the floor, raise hands (one point of order, one in Arabic), give the floor to a
// hand, reload with the hand up. Then: two pages (one with a clock several seconds off)
// show the same remaining second at the same instant; the Arabic views are right to
// left with no English left; axe-core finds no serious or critical violation in any view
// in any language; a screenshot of every view in every language is written to
// test-artifacts/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const BIN = path.resolve(here, process.env.PODIUM_BIN || '../../target/debug/podium');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(repo, 'test-artifacts', 'screenshots');
const AXE = path.join(here, 'node_modules', 'axe-core', 'axe.min.js');
const LANGS = ['en', 'fr', 'es', 'ar'];
const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

const en = (await import(pathToFileURL(path.join(repo, 'web-client/i18n/en.js')).href)).default;
const ar = (await import(pathToFileURL(path.join(repo, 'web-client/i18n/ar.js')).href)).default;

let server;
let dataDir;
let baseUrl;
let links = [];
let browser;
const contexts = [];
const pages = {};

/** Waits until `fn` returns a truthy value (or throws the last failure). */
async function eventually(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
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

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

async function startServer(bind = ['--bind', '127.0.0.1:0']) {
  if (!dataDir) dataDir = await mkdtemp(path.join(tmpdir(), 'podium-e2e-'));
  server = spawn(BIN, ['serve', ...bind, '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stdout.on('data', (d) => { out += d; });
  server.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => server.once('exit', (code) => r(code)));
  await Promise.race([
    eventually(() => /listening on (http:\/\/[^\s]+)/.exec(out), { timeout: 20000, what: 'the server to listen' }),
    exited.then((code) => { throw new Error(`podium serve exited with ${code}:\n${out}\n${err}`); }),
  ]);
  baseUrl = /listening on (http:\/\/[^\s]+)/.exec(out)[1].replace(/\/$/, '');
  // The role links, from `podium links --json` (or, failing that, from what serve printed).
  try {
    links = JSON.parse(await run(BIN, ['links', '--data', dataDir, '--json']));
  } catch (e) {
    await new Promise((r) => setTimeout(r, 300));
    links = [];
    for (const line of out.split('\n')) {
      const m = /(https?:\/\/\S+\/m\/([^/\s]+)\/([a-z]+)#([0-9a-f]{32}))/.exec(line);
      if (m) links.push({ meeting: m[2], role: m[3], url: m[1], speaker: line });
    }
  }
  assert.ok(links.length > 0, `no role link found; serve printed:\n${out}`);
  // Use the address the server listens on, whatever base the links were printed with.
  links = links.map((l) => ({ ...l, url: baseUrl + new URL(l.url).pathname + new URL(l.url).hash }));
}

function link(role, who) {
  const l = links.find((x) => x.role === role && (!who || `${x.speaker || ''} ${x.person || ''}`.toLowerCase().includes(who)));
  assert.ok(l, `no ${role} link${who ? ` for ${who}` : ''} in ${JSON.stringify(links.map((x) => [x.role, x.speaker]))}`);
  return l.url;
}

async function newPage(name, { lang = 'en', skewMs = 0 } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'America/New_York' });
  await ctx.addInitScript(({ lang, skewMs }) => {
    try { if (!localStorage.getItem('podium:lang')) localStorage.setItem('podium:lang', lang); } catch { /* opaque origin */ }
    if (skewMs) {
      const real = Date.now.bind(Date);
      Date.now = () => real() + skewMs;
    }
  }, { lang, skewMs });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('dialog', (d) => d.accept());
  page.on('pageerror', (e) => { page.__errors = (page.__errors || []).concat(String(e)); });
  // Whatever the Content-Security-Policy blocks is an error too.
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|connect|execute|apply|frame)/.test(m.text())) {
      page.__errors = (page.__errors || []).concat(`CSP: ${m.text()}`);
    }
  });
  pages[name] = page;
  return page;
}

async function open(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || document.querySelector('[data-testid="join-form"]'), null, { timeout: 15000 });
}

async function join(page, { name, delegation, language }) {
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-delegation').fill(delegation);
  await page.getByTestId('join-language').selectOption(language);
  await page.getByTestId('join-submit').click();
  await page.getByTestId('queue-position-none').or(page.getByTestId('queue-position')).waitFor({ timeout: 10000 });
}

/** Hand ids in queue order, as a page shows them. */
function queueOf(page) {
  return page.$$eval('[data-testid="queue-item"]', (els) => els.map((e) => Number(e.dataset.hand)));
}

async function setLang(page, lang) {
  await page.getByTestId('lang-select').selectOption(lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

async function axeCheck(page, label) {
  // Evaluated through the DevTools protocol: the pages' CSP forbids inline scripts, and
  // addScriptTag would insert one.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const result = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`),
    [],
    `axe violations in ${label}`,
  );
}

/** Pieces of English interface text (from en.js) visible or announced on a page. */
async function englishLeft(page) {
  const fragments = new Set();
  for (const [key, value] of Object.entries(en)) {
    if (ar[key] === value) continue;
    for (const piece of value.split(/\{\w+\}/)) {
      const p = piece.trim().replace(/[.:…]+$/, '');
      if (/[A-Za-z]{4,}/.test(p)) fragments.add(p);
    }
  }
  const texts = await page.evaluate(() => {
    const out = [];
    const skip = (el) => !!el.closest('[translate="no"], [data-testid="lang-select"], script, style, noscript, [hidden]');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement && !skip(n.parentElement) && n.textContent.trim()) {
        const where = n.parentElement.closest('[data-testid]');
        out.push([n.textContent.trim(), where ? where.dataset.testid : '']);
      }
    }
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (skip(el)) continue;
      for (const a of ['aria-label', 'placeholder', 'title']) if (el.getAttribute(a)) out.push([el.getAttribute(a), `@${a}`]);
    }
    out.push([document.title.split(' — ')[0], 'title']);
    return out;
  });
  const found = [];
  for (const [text, where] of texts) {
    for (const f of fragments) if (text.includes(f)) found.push(`"${f}" in "${text}" (${where})`);
  }
  return found;
}

before(async () => {
  assert.ok(existsSync(BIN), `no server binary at ${BIN}: run \`cargo build -p podium-server\` or set PODIUM_BIN`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  await mkdir(SHOTS, { recursive: true });
  await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(() => { server.kill('SIGKILL'); r(); }, 5000); server.once('exit', () => { clearTimeout(t); r(); }); });
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('the index page and assets are served', async () => {
  const res = await fetch(`${baseUrl}/m/whatever/host`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /\/assets\/app\.js/);
  const js = await fetch(`${baseUrl}/assets/i18n/ar.js`);
  assert.equal(js.status, 200);
});

test('a live meeting across roles', async (t) => {
  const host = await newPage('host');
  const speaker = await newPage('speaker');
  const interp = await newPage('interpreter');
  const p1 = await newPage('p1');
  const p2 = await newPage('p2', { lang: 'ar' });
  const p3 = await newPage('p3', { lang: 'fr' });
  const projector = await newPage('projector');

  await t.test('host starts the meeting and goes to round 1', async () => {
    await open(host, link('host'));
    await host.getByTestId('start-meeting').click();
    await host.getByTestId('segment-toggle').waitFor();
    await host.getByTestId('jump-select').selectOption('round-1');
    await host.getByTestId('jump-go').click();
    await eventually(async () => (await host.getByTestId('segment-title').textContent()).startsWith('Round 1'), { what: 'round 1 on the host console' });
    await host.getByTestId('drift').waitFor();
  });

  await t.test('host gives the floor to Carola Gunnarsson; her screen counts down', async () => {
    await open(speaker, link('speaker', 'carola'));
    await host.getByTestId('give-floor-carola-gunnarsson').click();
    await speaker.getByTestId('you-have-floor').waitFor();
    const first = await speaker.getByTestId('main-clock-text').textContent();
    assert.match(first, /^\d+:\d\d$/);
    await eventually(async () => (await speaker.getByTestId('main-clock-text').textContent()) !== first, { what: 'the speaker countdown to move' });
    assert.equal(await speaker.getByTestId('done-button').isEnabled(), true);
  });

  await t.test('participants join and raise hands; every page shows the same queue', async () => {
    await open(interp, link('interpreter'));
    await open(projector, link('projector'));
    for (const [page, who] of [
      [p1, { name: 'Jean Dupont', delegation: 'City of Lyon', language: 'fr' }],
      [p2, { name: 'Amina Haddad', delegation: 'Kingdom of Morocco', language: 'ar' }],
      [p3, { name: 'Lucía Pérez', delegation: 'Government of Colombia', language: 'es' }],
    ]) {
      await open(page, link('participant'));
      await join(page, who);
    }
    await p1.getByTestId('raise-hand').click();
    await p1.getByTestId('queue-position').waitFor();
    await p2.getByTestId('hand-language').selectOption('ar');
    await p2.getByTestId('raise-hand').click();
    await p2.getByTestId('queue-position').waitFor();
    await p3.getByTestId('point-of-order').click();
    await p3.getByTestId('queue-position').waitFor();

    const views = [host, interp, p1, p2, p3];
    const order = await eventually(async () => {
      const all = await Promise.all(views.map(queueOf));
      return all.every((q) => q.length === 3 && q.join() === all[0].join()) && all[0];
    }, { what: 'the same queue of three on every page' });
    // The point of order goes first; the others keep their order.
    const names = await host.$$eval('[data-testid="queue-item"] [data-testid="queue-name"]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(names, ['Lucía Pérez', 'Jean Dupont', 'Amina Haddad']);
    assert.equal(await host.locator(`[data-hand="${order[0]}"] [data-testid="queue-poo"]`).count(), 1);
    assert.equal(await host.locator(`[data-hand="${order[2]}"] [data-testid="queue-language"]`).getAttribute('data-lang'), 'ar');
    assert.match(await p1.getByTestId('queue-position').textContent(), /2/);
  });

  await t.test('host gives the floor to a hand; that participant has the floor', async () => {
    const order = await queueOf(host);
    await host.getByTestId(`hand-floor-${order[1]}`).click();
    await p1.getByTestId('you-have-floor').waitFor();
    assert.equal(await p2.getByTestId('you-have-floor').count(), 0);
    await eventually(async () => (await queueOf(p2)).length === 2, { what: 'the called hand to leave the queue' });
    await eventually(async () => (await interp.getByTestId('current-speaker-name').textContent()) === 'Jean Dupont', { what: 'the interpreter to see the new speaker' });
    assert.match(await interp.getByTestId('current-speaker-language').textContent(), /French/);
  });

  await t.test('a reloaded participant still has their hand up', async () => {
    const before = await queueOf(p2);
    await p2.reload();
    await p2.getByTestId('queue-position').waitFor({ timeout: 10000 });
    await p2.getByTestId('lower-hand').waitFor();
    assert.equal(await p2.getByTestId('join-form').count(), 0);
    assert.deepEqual(await queueOf(p2), before);
    assert.equal(await p2.getByTestId('hand-language').inputValue(), 'ar');
  });

  await t.test('interpreter signals reach the person speaking and the host', async () => {
    // Signals travel with the speech in progress (protocol 2): Carola has the floor again.
    await host.getByTestId('give-floor-carola-gunnarsson').click();
    await speaker.getByTestId('you-have-floor').waitFor();
    await interp.getByTestId('booth-language').selectOption('fr');
    await interp.getByTestId('slow-down-button').click();
    await speaker.getByTestId('slow-down').waitFor({ timeout: 5000 });
    await interp.getByTestId('no-interpretation-button').click();
    await host.getByTestId('alert-no_interpretation').waitFor();
  });

  await t.test('two pages show the same remaining second at the same instant, one clock skewed', async () => {
    const skewed = await newPage('skewed', { skewMs: 7300 });
    await open(skewed, link('projector'));
    await open(projector, link('projector'));
    await new Promise((r) => setTimeout(r, 2500)); // the clock-sync burst
    const watch = () => {
      window.__transitions = [];
      const el = document.querySelector('[data-testid="main-clock-text"]');
      new MutationObserver(() => window.__transitions.push([performance.timeOrigin + performance.now(), el.textContent]))
        .observe(el, { childList: true, characterData: true, subtree: true });
    };
    await Promise.all([skewed.evaluate(watch), projector.evaluate(watch)]);
    await new Promise((r) => setTimeout(r, 3600));
    const [a, b] = await Promise.all([skewed, projector].map((p) => p.evaluate(() => window.__transitions)));
    const at = new Map(b.map(([time, text]) => [text, time]));
    const deltas = a.filter(([, text]) => at.has(text)).map(([time, text]) => Math.abs(time - at.get(text)));
    assert.ok(deltas.length >= 2, `too few common transitions: ${JSON.stringify({ a, b })}`);
    assert.ok(Math.max(...deltas) <= 100, `pages changed second ${deltas.map((d) => d.toFixed(0)).join(', ')} ms apart`);
    // And the skew is real: that page's own clock is ahead of the other's by seconds.
    const [ta, tb] = await Promise.all([skewed, projector].map((p) => p.evaluate(() => Date.now())));
    assert.ok(ta - tb > 5000, 'the skewed page is not skewed');
  });

  await t.test('host keyboard shortcuts: Space pauses and resumes the segment clock', async () => {
    const clock = host.getByTestId('segment-clock');
    await host.locator('body').click({ position: { x: 5, y: 300 } });
    await host.keyboard.press('Space');
    await eventually(async () => (await clock.getAttribute('class')).includes('state-paused'), { what: 'the segment clock to pause' });
    await host.keyboard.press('Space');
    await eventually(async () => (await clock.getAttribute('class')).includes('state-running'), { what: 'the segment clock to resume' });
    // Typing in a field is not a shortcut.
    await host.getByTestId('message-input').fill('Please wrap up');
    await host.getByTestId('message-input').press('Space');
    assert.ok((await clock.getAttribute('class')).includes('state-running'));
    await host.getByTestId('message-send').click();
    await speaker.getByTestId('host-message').waitFor();
    assert.match(await speaker.getByTestId('host-message').textContent(), /Please wrap up/);
  });

  await t.test('the speech clock turns amber with "1 min left", then red counting up with "Overtime"', async () => {
    const clock = speaker.getByTestId('main-clock');
    for (let i = 0; i < 4; i++) {
      await host.getByTestId('speech-minus').click();
      await host.waitForTimeout(150);
    }
    await eventually(async () => (await clock.getAttribute('class')).includes('level-warn'), { what: 'amber' });
    assert.equal(await speaker.getByTestId('main-clock-note').textContent(), en['clock.one_minute']);
    await speaker.screenshot({ path: path.join(SHOTS, 'speaker-warning-en.png') });
    await host.getByTestId('speech-minus').click();
    await eventually(async () => (await clock.getAttribute('class')).includes('level-over'), { what: 'red' });
    assert.match(await speaker.getByTestId('main-clock-text').textContent(), /^\+\d+:\d\d$/);
    assert.equal(await speaker.getByTestId('main-clock-note').textContent(), en['clock.overtime']);
    await speaker.screenshot({ path: path.join(SHOTS, 'speaker-overtime-en.png') });
  });

  await t.test('Arabic host console and participant view are right to left with no English left', async () => {
    await setLang(host, 'ar');
    for (const [page, label] of [[host, 'host'], [p2, 'participant']]) {
      assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl', `${label} dir`);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'ar', `${label} lang`);
      const left = await englishLeft(page);
      assert.deepEqual(left, [], `English left in the Arabic ${label} view`);
    }
  });

  await t.test('every view in every language: axe finds no serious violation; screenshots', async () => {
    const observer = await newPage('observer');
    await open(observer, link('observer'));
    const joinForm = await newPage('join-form');
    await open(joinForm, link('participant'));
    const views = [
      ['host', host], ['speaker', speaker], ['participant', p2], ['participant-floor', p1], ['interpreter', interp],
      ['projector', projector], ['join', joinForm], ['observer-join', observer],
    ];
    for (const lang of LANGS) {
      for (const [name, page] of views) {
        await setLang(page, lang);
        await page.waitForTimeout(150);
        await page.screenshot({ path: path.join(SHOTS, `${name}-${lang}.png`), fullPage: name !== 'projector' && name !== 'speaker' });
        await axeCheck(page, `${name} (${lang})`);
      }
    }
  });

  await t.test('observers get hand buttons only when the host allows it', async () => {
    const obs = await newPage('observer-hands');
    await open(obs, link('observer'));
    await join(obs, { name: 'Ana Silva', delegation: 'Youth mechanism', language: 'es' });
    await obs.getByTestId('observer-note').waitFor();
    assert.equal(await obs.getByTestId('raise-hand').count(), 0);
    await host.getByTestId('toggle-observers').check();
    await obs.getByTestId('raise-hand').waitFor();
    await host.getByTestId('toggle-observers').uncheck();
    await obs.getByTestId('observer-note').waitFor();
  });

  await t.test('after kill -9 and a restart the pages reconnect by themselves, hands still up', async () => {
    const before = await queueOf(host);
    const port = new URL(baseUrl).port;
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await eventually(async () => (await p2.getByTestId('connection-status').getAttribute('data-status')) === 'reconnecting', { what: 'the page to notice' });
    await startServer(['--bind', `127.0.0.1:${port}`]);
    for (const page of [host, p2, speaker]) {
      await eventually(async () => (await page.getByTestId('connection-status').getAttribute('data-status')) === 'open', { timeout: 20000, what: 'reconnection' });
    }
    await eventually(async () => (await queueOf(p2)).join() === before.join(), { what: 'the same queue after the restart' });
    await p2.getByTestId('lower-hand').waitFor();
  });

  await t.test('no page threw', async () => {
    const errors = Object.entries(pages).flatMap(([n, p]) => (p.__errors || []).map((e) => `${n}: ${e}`));
    assert.deepEqual(errors, []);
  });
});
