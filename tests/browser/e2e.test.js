// End to end: the real `podium` binary, Debian's Chromium driven by playwright-core.
//
// A host, a speaker (Carola Gunnarsson, round 1), an interpreter and three participants
// in separate browser contexts run a piece of the bundled meeting: start, go to round 1,
// give the floor, raise hands (one point of order, one in Arabic), give the floor to a
// hand, reload with the hand up. Then: two pages (one with a clock several seconds off)
// show the same remaining second at the same instant; the wrap-up levels; the Arabic
// views are right to left with no English left; a server killed with -9 shows as
// offline (clocks at their last known value, a counting retry) and the pages resume by
// themselves when it is back. (Every view in every language, light and dark, is
// checked with axe and photographed by views.test.js.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  Podium, launch, newPage as makePage, open, join, setLang, eventually, pageErrors, catalogue, SHOTS,
} from './lib.js';

const en = await catalogue('en');
const ar = await catalogue('ar');

let srv;
let browser;
const pages = {};
/** The link of a role in the bundled meeting. */
const link = (role, who) => srv.link(role, who);

async function newPage(name, opts) {
  const page = await makePage(browser, opts);
  pages[name] = page;
  return page;
}

/** Hand ids in queue order, as a page shows them. */
function queueOf(page) {
  return page.$$eval('[data-testid="queue-item"]', (els) => els.map((e) => Number(e.dataset.hand)));
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
  srv = await new Podium().start();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

test('the index page and assets are served', async () => {
  const res = await fetch(`${srv.baseUrl}/m/whatever/host`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /\/assets\/app\.js/);
  const js = await fetch(`${srv.baseUrl}/assets/i18n/ar.js`);
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
    await open(interp, link('interpreter', 'fr'));
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
    // Changes do not carry the register and the hand history: the host's client pages them in.
    await eventually(() => host.evaluate(() => {
      const m = window.__podium.conn.model;
      return m.participants.map((p) => p.name).join() === 'Jean Dupont,Amina Haddad,Lucía Pérez'
        && m.handHistory.length === 1 && m.handHistory[0].outcome === 'called';
    }), { what: "the host's register and hand history" });
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
    await interp.getByTestId('slow-down-button').click();
    // Jean Dupont has the floor: the signal is his, not Carola's (whose speech ended).
    await p1.getByTestId('slow-down').waitFor({ timeout: 5000 });
    assert.equal(await speaker.getByTestId('slow-down').count(), 0);
    await interp.getByTestId('no-interpretation-button').click();
    await host.getByTestId('no-interpretation-banner').waitFor();
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
    await p1.getByTestId('host-message').waitFor();
    assert.match(await p1.getByTestId('host-message').textContent(), /Please wrap up/);
    assert.equal(await speaker.getByTestId('host-message').count(), 0, 'only the person speaking sees it');
  });

  await t.test('the speech clock turns amber with "Less than 1 min left", then red counting up with "Overtime"', async () => {
    const clock = speaker.getByTestId('main-clock');
    for (let i = 0; i < 4; i++) {
      await host.getByTestId('speech-minus').click();
      await host.waitForTimeout(150);
    }
    await eventually(async () => (await clock.getAttribute('data-level')) === 'warning', { what: 'amber' });
    // The agenda's default `flash = true`: a gentle flash at the threshold.
    await eventually(async () => /\bflash\b/.test(await clock.getAttribute('class')), { what: 'the flash at the threshold' });
    assert.equal(await speaker.getByTestId('main-clock-note').textContent(), en['clock.warning'].replace('{time}', '1 min'));
    await speaker.screenshot({ path: path.join(SHOTS, 'speaker-warning-en.png') });
    await host.getByTestId('speech-minus').click();
    await eventually(async () => (await clock.getAttribute('data-level')) === 'overtime', { what: 'red' });
    assert.match(await speaker.getByTestId('main-clock-text').textContent(), /^\+\d+:\d\d$/);
    assert.equal(await speaker.getByTestId('main-clock-note').textContent(), en['clock.overtime']);
    // Said to the person speaking (Jean Dupont, from the queue) and to the host, once
    // each; not to a participant who only follows.
    const said = (page) => page.evaluate(() => window.__said.slice());
    await eventually(async () => (await said(p1)).includes(en['clock.overtime_announce']), { what: 'overtime said to the speaker' });
    assert.ok((await said(p1)).includes(en['clock.warning_announce'].replace('{time}', '1 min')), `the speaker heard: ${await said(p1)}`);
    await eventually(async () => (await said(host)).includes(en['clock.overtime_announce']), { what: 'overtime said to the host' });
    const p3said = await said(p3);
    assert.ok(!p3said.some((x) => /minute|min|Overtime|Dépassement/.test(x)), `a participant heard: ${p3said}`);
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

  await t.test('observers get hand buttons only when the host allows it', async () => {
    const obs = await newPage('observer-hands');
    await open(obs, link('observer'));
    await join(obs, { name: 'Ana Silva', delegation: 'Youth mechanism', language: 'es' });
    await obs.getByTestId('observer-note').waitFor();
    assert.equal(await obs.getByTestId('raise-hand').count(), 0);
    await host.getByTestId('queue-options').locator('summary').click();
    await host.getByTestId('toggle-observers').check();
    await obs.getByTestId('raise-hand').waitFor();
    await host.getByTestId('toggle-observers').uncheck();
    await obs.getByTestId('observer-note').waitFor();
  });

  await t.test('after kill -9: offline after 3 s, clocks at their last known value, a counting retry; then back by themselves, hands still up', async () => {
    const before = await queueOf(host);
    const port = new URL(srv.baseUrl).port;
    await srv.kill('SIGKILL');
    const lost = Date.now();
    await eventually(async () => (await p2.getByTestId('connection-status').getAttribute('data-status')) === 'reconnecting', { what: 'the page to notice' });
    // A blip is not "offline": nothing for the first 3 s.
    if (Date.now() - lost < 2500) assert.equal(await projector.getByTestId('offline-banner').isVisible(), false, 'offline shown too early');
    await projector.getByTestId('offline-banner').waitFor({ timeout: 8000 });
    assert.ok(Date.now() - lost >= 2900, 'offline shown before 3 s');
    const clock = projector.getByTestId('main-clock');
    assert.match(await clock.getAttribute('class'), /\boffline\b/);
    assert.equal(await projector.getByTestId('main-clock-note').textContent(), en['clock.offline']);
    const frozen = await projector.getByTestId('main-clock-text').textContent();
    const retries = new Set();
    for (let i = 0; i < 12; i++) {
      retries.add(await projector.getByTestId('offline-retry').textContent());
      await projector.waitForTimeout(350);
    }
    assert.equal(await projector.getByTestId('main-clock-text').textContent(), frozen, 'the clock stays at its last known value');
    assert.ok(retries.size >= 2, `the retry counts: ${[...retries].join(' / ')}`);
    await projector.screenshot({ path: path.join(SHOTS, 'projector-offline-en.png') });
    await host.screenshot({ path: path.join(SHOTS, 'host-offline-en.png') });
    await srv.start({ port });
    for (const page of [host, p2, speaker, projector]) {
      await eventually(async () => (await page.getByTestId('connection-status').getAttribute('data-status')) === 'open', { timeout: 20000, what: 'reconnection' });
    }
    await projector.getByTestId('offline-banner').waitFor({ state: 'hidden' });
    assert.doesNotMatch(await clock.getAttribute('class'), /\boffline\b/);
    await eventually(async () => (await projector.getByTestId('main-clock-text').textContent()) !== frozen, { what: 'the clock to run again' });
    await eventually(async () => (await queueOf(p2)).join() === before.join(), { what: 'the same queue after the restart' });
    await p2.getByTestId('lower-hand').waitFor();
  });

  await t.test('no page threw', async () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
