// The host console's tools, driven through the UI of a running meeting (the real server,
// Chromium), with the other roles' screens watched as they follow:
//
// - the agenda editor: "any other business" inserted by keyboard alone (focus lands on
//   the new segment), a late speaker added with a floor language (her link appears at
//   once; her speaker screen opens with it), the current round cut (the projector's
//   clock follows), a segment moved, a cancelled speaker removed (his open screen is
//   told and closed); a moderator adds and reorders speakers of their own segment only;
// - links: Copy, a QR code that a real decoder (zbarimg) reads back as the link,
//   Replace (the old link's screen is closed), the shared join links switched off;
// - defending the floor: the points-of-order switch, a participant removed from the
//   queue (their screen is closed, the register says so);
// - the interpretation desk: a booth's alert with its language and time, acknowledged
//   (the booth sees it), the pivot booth while Portuguese is on the floor, the floor
//   language set from the console, a speaker's text for the booths;
// - API keys: created (shown once), used, listed, revoked (refused at once);
// - geometry: at 1366×768 the open sheet leaves the clocks, their controls, the floor
//   and the alerts uncovered (EN and AR); at 390×844 nothing overflows sideways in four
//   languages; axe finds nothing serious in any panel, light and dark, four languages.
//   Screenshots of every panel, EN and AR, both sizes, in test-artifacts/screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import {
  Podium, launch, newPage, open, join, setLang, command, waitState, geometry, assertInside, assertNoOverflow,
  overflowers, shot, eventually, pageErrors, axeCheck, catalogue, LANGS, VIEWPORTS, SHOTS,
} from './lib.js';

const WIDE = VIEWPORTS['1366x768'];
const PHONE = VIEWPORTS['390x844'];
const PINNED = ['segment-clock', 'speech-clock', 'segment-toggle', 'segment-plus', 'segment-minus', 'speech-toggle',
  'speech-plus', 'speech-minus', 'end-speech', 'alerts-panel', 'floor-next-hand'];
const PANELS = ['edit', 'people', 'links', 'keys'];

let srv;
let browser;
const pages = {};
const en = await catalogue('en');

before(async () => {
  srv = await new Podium().start();
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.stop();
});

const activeTestid = (page) => page.evaluate(() => (document.activeElement && (document.activeElement.dataset.testid || document.activeElement.id)) || 'none');
const agendaIds = (page) => page.evaluate(() => window.__podium.conn.model.agenda.segment.map((s) => s.id));
const remainingOf = (page, which) => page.evaluate((w) => {
  const st = window.__podium.conn.model.state;
  const c = w === 'speech' ? st.speech.clock : st.segment_clock;
  return c.state === 'running' ? c.ends_at - window.__podium.serverNow() : c.remaining;
}, which);

function zbar(file) {
  return new Promise((resolve, reject) => {
    execFile('zbarimg', ['--raw', '-q', file], (err, stdout, stderr) => (err ? reject(new Error(`zbarimg: ${err.message} ${stderr}`)) : resolve(stdout.trim())));
  });
}

async function openTool(page, tab) {
  if (!(await page.getByTestId('tools-sheet').isVisible())) await page.getByTestId(`tools-open-${tab}`).click();
  else await page.getByTestId(`sheet-tab-${tab}`).click();
  await page.getByTestId(`sheet-panel-${tab}`).waitFor();
}
/** Back to the editor's list of segments, from wherever it is. */
async function toList(page) {
  for (let i = 0; i < 3 && await page.getByTestId('edit-back').count(); i++) await page.getByTestId('edit-back').click();
  await page.getByTestId('edit-list').waitFor();
}
async function closeTools(page) {
  if (await page.getByTestId('tools-sheet').isVisible()) await page.getByTestId('tools-close').click();
  await page.getByTestId('tools-sheet').waitFor({ state: 'hidden' });
}

test('the host console\'s tools in a running meeting', async (t) => {
  const host = pages.host = await newPage(browser, { viewport: WIDE });
  await host.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.baseUrl });
  const mod = pages.mod = await newPage(browser, { viewport: WIDE });
  const part = pages.part = await newPage(browser, { viewport: PHONE });
  const proj = pages.proj = await newPage(browser, { viewport: { width: 1280, height: 720 } });
  const booth = pages.booth = await newPage(browser);
  const felipe = pages.felipe = await newPage(browser);
  await Promise.all([
    open(host, srv.link('host')), open(mod, srv.link('moderator', 'emilia')), open(part, srv.link('participant')),
    open(proj, srv.link('projector')), open(booth, srv.link('interpreter', 'ar')), open(felipe, srv.link('speaker', 'felipe')),
  ]);
  await join(part, { name: 'Ana Souza', delegation: 'Brazil', language: 'es' });
  await command(host, { type: 'start_meeting' });
  await command(host, { type: 'go_to_segment', segment: 'round-1' });
  await command(host, { type: 'give_floor', person: 'carola-gunnarsson' });
  await waitState(proj, (m) => m.state.speech && m.state.current === 2);

  await t.test('keyboard only: "any other business" goes in after the current segment, focus on its Edit button', async () => {
    await host.getByTestId('tools-open-edit').focus();
    await host.keyboard.press('Enter');
    await host.getByTestId('edit-list').waitFor();
    assert.equal(await activeTestid(host), 'sheet-tab-edit', 'the sheet opens on its tab');
    await host.keyboard.press('Tab');
    assert.equal(await activeTestid(host), 'edit-aob');
    await host.keyboard.press('Enter');
    assert.equal(await activeTestid(host), 'nf-title', 'the form opens on its title');
    assert.equal(await host.inputValue('#nf-title'), en['edit.aob_title']);
    // The duration: Tab twice (kind, duration), type, Enter submits.
    await host.keyboard.press('Tab');
    await host.keyboard.press('Tab');
    assert.equal(await activeTestid(host), 'nf-duration');
    await host.keyboard.press('Control+A');
    await host.keyboard.type('12m');
    await host.keyboard.press('Enter');
    await waitState(host, (m) => m.agenda.segment.some((s) => s.id === 'any-other-business'));
    await eventually(async () => (await activeTestid(host)) === 'edit-open-any-other-business', { what: 'focus on the new segment' });
    const ids = await agendaIds(host);
    assert.equal(ids[3], 'any-other-business', `inserted after the current segment: ${ids}`);
    // Every other screen has it, with the new plan.
    await waitState(part, (m) => m.agenda.segment[3] && m.agenda.segment[3].id === 'any-other-business' && m.agenda.segment[3].duration === 720);
    await part.locator('[data-testid="agenda-item"][data-segment="any-other-business"]').waitFor({ state: 'attached' });
    await waitState(proj, (m) => m.agenda.segment.length === 8 && m.planned.length === 9);
    await waitState(mod, (m) => m.agenda.segment[3].id === 'any-other-business');
  });

  await t.test('a late speaker with a floor language: her link appears at once, and works', async () => {
    await host.getByTestId('edit-open-any-other-business').click();
    await host.getByTestId('person-add-any-other-business-speakers').click();
    await host.fill('#pf-name', 'Nadia Rahman');
    await host.fill('#pf-affiliation', 'Dhaka North City Corporation');
    await host.selectOption('#pf-language', 'ar');
    await host.fill('#pf-text_url', 'https://example.org/nadia.pdf');
    await host.getByTestId('person-save').click();
    await host.getByTestId('person-edit-any-other-business-nadia-rahman').waitFor();
    assert.equal(await activeTestid(host), 'person-edit-any-other-business-nadia-rahman');
    await waitState(part, (m) => m.agenda.segment[3].speakers && m.agenda.segment[3].speakers[0].name === 'Nadia Rahman' && m.agenda.segment[3].speakers[0].language === 'ar');
    await openTool(host, 'links');
    await host.getByTestId('link-copy-speaker-nadia-rahman').click();
    const copied = await host.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /\/m\/gfmd-mayors-2021-01-22\/speaker#[0-9a-f]{32}$/);
    // Shown without its secret.
    assert.ok(!(await host.getByTestId('link-url-speaker-nadia-rahman').textContent()).includes(copied.split('#')[1]));
    // Her QR code reads back, with a real decoder, as her link.
    await host.getByTestId('link-qr-speaker-nadia-rahman').click();
    const img = host.getByTestId('link-qr-img-speaker-nadia-rahman').locator('svg');
    await img.scrollIntoViewIfNeeded();
    const file = path.join(SHOTS, 'console-qr-nadia.png');
    await img.screenshot({ path: file });
    assert.equal(await zbar(file), copied);
    await shot(host, 'console-links-qr-1366x768-en');
    const nadia = pages.nadia = await newPage(browser);
    await open(nadia, copied);
    assert.equal(await nadia.evaluate(() => window.__podium.conn.model.you.name), 'Nadia Rahman');
  });

  await t.test('the current round cut by 5 minutes: the projector\'s clock follows; a segment moved; a cancelled speaker removed', async () => {
    await openTool(host, 'edit');
    await toList(host);
    await host.getByTestId('edit-open-round-1').click();
    const before = await remainingOf(proj, 'segment');
    await host.fill('#sf-duration', '15m');
    await host.getByTestId('edit-save').click();
    await eventually(async () => (await host.getByTestId('edit-status').textContent()) === en['edit.saved'], { what: 'saved' });
    await waitState(proj, (m) => m.agenda.segment[2].duration === 900);
    const after = await remainingOf(proj, 'segment');
    assert.ok(before - after > 299000 && before - after < 301000 + 3000, `the projector's segment clock lost 5 min: ${before} → ${after}`);
    // Move "any other business" one later: the button keeps focus, every screen follows.
    await host.getByTestId('edit-back').click();
    await host.getByTestId('edit-down-any-other-business').click();
    await waitState(part, (m) => m.agenda.segment[4].id === 'any-other-business');
    await host.waitForTimeout(100);
    assert.equal(await activeTestid(host), 'edit-down-any-other-business');
    // Felipe Muñoz cancels: removed from round 3; his open screen is closed for good.
    await host.getByTestId('edit-open-round-3').click();
    await host.getByTestId('person-remove-round-3-felipe-munoz').click();
    await felipe.getByTestId('denied').waitFor({ timeout: 10000 });
    assert.equal(await activeTestid(host), 'person-edit-round-3-jeniffer-villarreal-de-hoyos', 'focus moves to the speaker left');
    await waitState(proj, (m) => m.agenda.segment.find((s) => s.id === 'round-3').speakers.length === 1);
    await shot(host, 'console-edit-segment-1366x768-en');
  });

  await t.test('a moderator adds and reorders the speakers of their own segment, and nothing else', async () => {
    await openTool(mod, 'edit');
    const rows = await mod.$$eval('[data-testid="edit-seg"]', (els) => els.map((e) => e.dataset.segment));
    assert.deepEqual(rows, ['round-2'], 'only their own segment');
    assert.equal(await mod.getByTestId('edit-aob').count(), 0);
    assert.equal(await mod.getByTestId('tools-open-links').count(), 0);
    assert.equal(await mod.getByTestId('tools-open-keys').count(), 0);
    await mod.getByTestId('edit-open-round-2').click();
    assert.equal(await mod.locator('[data-act="person-remove"], [data-act="person-edit"], [data-act="moderator-edit"]').count(), 0);
    await mod.getByTestId('person-add-round-2-speakers').click();
    await mod.fill('#pf-name', 'Late Delegate');
    await mod.selectOption('#pf-language', 'fr');
    await mod.getByTestId('person-save').click();
    await mod.getByTestId('person-up-round-2-late-delegate').waitFor();
    await mod.getByTestId('person-up-round-2-late-delegate').click();
    await waitState(host, (m) => m.agenda.segment.find((s) => s.id === 'round-2').speakers.map((p) => p.name).join() === 'Salvatore Martello,Late Delegate,Ahmed Skim');
    await shot(mod, 'console-moderator-speakers-1366x768-en');
  });

  await t.test('links: a replaced link closes its screen; the shared join links switch off', async () => {
    const nadia = pages.nadia;
    await openTool(host, 'links');
    const old = await host.evaluate(() => navigator.clipboard.readText());
    await host.getByTestId('link-rotate-speaker-nadia-rahman').click();
    await nadia.getByTestId('denied').waitFor({ timeout: 10000 });
    await host.getByTestId('link-copy-speaker-nadia-rahman').click();
    const fresh = await host.evaluate(() => navigator.clipboard.readText());
    assert.notEqual(fresh, old);
    await open(nadia, fresh);
    assert.equal(await nadia.evaluate(() => window.__podium.conn.model.you.name), 'Nadia Rahman');
    const sw = host.getByTestId('join-links-switch');
    assert.equal(await sw.getAttribute('aria-checked'), 'true');
    await sw.click();
    await waitState(host, (m) => m.state.join_links_open === false);
    await eventually(async () => (await sw.getAttribute('aria-checked')) === 'false', { what: 'the switch to show closed' });
    assert.equal(await host.getByTestId('join-links-state').textContent(), en['links.join_closed']);
    const late = pages.late = await newPage(browser, { viewport: PHONE });
    await open(late, srv.link('participant'));
    await late.getByTestId('join-name').fill('Too Late');
    await late.getByTestId('join-delegation').fill('Nowhere');
    await late.getByTestId('join-submit').click();
    await eventually(async () => (await late.getByTestId('join-error').textContent()) === en['error.joins_closed'], { what: 'the join to be refused' });
    await sw.click();
    await waitState(host, (m) => m.state.join_links_open === true);
  });

  await t.test('defending the floor: points of order closed, a participant removed from the queue', async () => {
    await closeTools(host);
    const poo = host.getByTestId('poo-toggle');
    assert.equal(await poo.getAttribute('aria-checked'), 'true');
    assert.equal(await host.getByTestId('poo-toggle-state').textContent(), en['desk.open']);
    await poo.click();
    await waitState(part, (m) => m.state.points_of_order_open === false);
    await eventually(async () => (await host.getByTestId('poo-toggle-state').textContent()) === en['desk.closed'], { what: 'the switch to say closed' });
    assert.equal(await poo.getAttribute('aria-checked'), 'false');
    await shot(host, 'console-switches-1366x768-en');
    await poo.click();
    await waitState(host, (m) => m.state.points_of_order_open === true);
    await part.getByTestId('raise-hand').click();
    await waitState(host, (m) => m.state.queue.some((h) => h.name === 'Ana Souza'));
    const id = await host.evaluate(() => window.__podium.conn.model.state.queue.find((h) => h.name === 'Ana Souza').participant);
    const hand = await host.evaluate(() => window.__podium.conn.model.state.queue.find((h) => h.name === 'Ana Souza').id);
    let asked = '';
    host.once('dialog', (d) => { asked = d.message(); });
    await host.getByTestId(`participant-remove-${id}-${hand}`).click();
    await part.getByTestId('denied').waitFor({ timeout: 10000 });
    assert.match(asked.replace(/[\u2068\u2069]/g, ''), /Ana Souza \(Brazil\)/, 'the confirmation names the person');
    await waitState(host, (m) => !m.state.queue.length);
    await openTool(host, 'people');
    await host.getByTestId('person-removed').first().waitFor();
    await shot(host, 'console-people-1366x768-en');
  });

  await t.test('the interpretation desk: a booth alert acknowledged, the pivot shown, the floor language set, a text for the booths', async () => {
    await closeTools(host);
    await command(booth, { type: 'booth_alert', signal: 'repeat_figure', text: 'the 2019 figure' });
    const alert = host.locator('[data-testid="alerts-panel"] [data-testid="booth-alert"]').first();
    await alert.waitFor();
    const text = await alert.textContent();
    assert.match(text, /Arabic booth/);
    assert.match(text, /Please repeat the figure/);
    assert.match(text, /the 2019 figure/);
    assert.match(text, /\d\d:\d\d/);
    const ackId = await alert.getAttribute('data-alert');
    await host.getByTestId(`booth-alert-ack-${ackId}`).click();
    await booth.locator(`[data-testid="booth-alert"][data-alert="${ackId}"][data-acknowledged="true"]`).waitFor();
    assert.match(await alert.textContent(), /seen \d\d:\d\d/);
    // Portuguese on the floor: the host sees the pivot.
    await host.selectOption('[data-testid="floor-lang-select"]', 'pt');
    await host.getByTestId('floor-lang-set').click();
    await waitState(booth, (m) => m.state.speech.speaker.language === 'pt');
    const relay = await host.getByTestId('relay-info').textContent();
    assert.match(relay, /Portuguese on the floor — the Spanish booth is the pivot/);
    await shot(host, 'console-desk-1366x768-en');
    await host.selectOption('[data-testid="floor-lang-select"]', 'en');
    await host.getByTestId('floor-lang-set').click();
    await waitState(host, (m) => !m.state.interpretation.relay);
    // A text for the booths, before Alexandra Young's speech.
    await openTool(host, 'edit');
    await toList(host);
    await host.getByTestId('edit-open-round-1').click();
    await host.getByTestId('person-edit-round-1-alexandra-young').click();
    await host.fill('#pf-text_url', 'https://example.org/young-slides.pdf');
    await host.getByTestId('person-save').click();
    await waitState(booth, (m) => m.state.interpretation.texts.some((x) => x.person === 'alexandra-young' && x.url === 'https://example.org/young-slides.pdf'));
    await booth.getByTestId('booth-text-alexandra-young').waitFor();
  });

  await t.test('API keys: created and shown once, used, listed, revoked', async () => {
    await openTool(host, 'keys');
    await host.getByTestId('key-label').fill('Stream Deck A');
    await host.selectOption('[data-testid="key-role"]', 'moderator:cecile-riallant');
    await host.getByTestId('key-create').click();
    await host.getByTestId('fresh-key').waitFor();
    assert.equal(await activeTestid(host), 'fresh-key-h');
    const key = await host.inputValue('[data-testid="fresh-key-value"]');
    assert.match(key, /^pod_[0-9a-f]{32}$/);
    await host.getByTestId('fresh-key-copy').click();
    assert.equal(await host.evaluate(() => navigator.clipboard.readText()), key);
    const me = await fetch(`${srv.baseUrl}/api/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).role, 'moderator:cecile-riallant');
    await shot(host, 'console-keys-fresh-1366x768-en');
    await host.getByTestId('fresh-key-done').click();
    assert.equal(await host.getByTestId('fresh-key').count(), 0, 'the key is shown once');
    assert.ok(!(await host.locator('body').textContent()).includes(key));
    const row = host.locator('[data-testid="key-row"]').first();
    assert.match(await row.textContent(), /Stream Deck A/);
    assert.match(await row.textContent(), /Moderator: Cécile Riallant/);
    assert.match(await row.textContent(), /last used/);
    const id = await row.getAttribute('data-key');
    await host.getByTestId(`key-revoke-${id}`).click();
    await eventually(async () => (await host.getByTestId(`key-status-${id}`).textContent()) === en['keys.status_revoked'], { what: 'revoked' });
    const after = await fetch(`${srv.baseUrl}/api/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(after.status, 401);
  });

  await t.test('at 1366×768 the sheet covers none of the clocks, their controls, the floor, the alerts or the banner (EN, AR); Escape gives focus back', async () => {
    // The unmissable alert is up: the sheet must leave it whole too.
    await command(booth, { type: 'no_interpretation' });
    await host.getByTestId('no-interpretation-banner').waitFor();
    for (const lang of ['en', 'ar']) {
      await setLang(host, lang);
      for (const tab of PANELS) {
        await openTool(host, tab);
        await host.waitForTimeout(150);
        const shown = [...PINNED, 'no-interpretation-banner'];
        const g = await geometry(host, [...shown, 'tools-sheet']);
        assertNoOverflow(g, `${lang} ${tab}`, { vertical: true });
        assertInside(g, shown, `${lang} ${tab}`, { clip: false });
        const sheet = g.boxes['tools-sheet'];
        for (const id of shown) {
          const b = g.boxes[id];
          const overlaps = b.x < sheet.right && b.right > sheet.x && b.y < sheet.bottom && b.bottom > sheet.y;
          assert.ok(!overlaps, `${lang} ${tab}: the sheet covers ${id}`);
        }
        await shot(host, `console-${tab}-1366x768-${lang}`);
      }
      await host.keyboard.press('Escape');
      await host.getByTestId('tools-sheet').waitFor({ state: 'hidden' });
      assert.match(await activeTestid(host), /^tools-open-/, 'focus back on a button that opens the sheet');
    }
    await setLang(host, 'en');
  });

  await t.test('at 390×844 every panel fits the width, in four languages', async () => {
    const phone = pages.phone = await newPage(browser, { viewport: PHONE });
    await open(phone, srv.link('host'));
    for (const lang of LANGS) {
      await setLang(phone, lang);
      const g0 = await geometry(phone, []);
      assertNoOverflow(g0, `phone console ${lang}: ${await overflowers(phone)}`);
      for (const tab of PANELS) {
        await openTool(phone, tab);
        await phone.waitForTimeout(150);
        const g = await geometry(phone, ['tools-sheet', 'tools-close']);
        assertNoOverflow(g, `phone ${lang} ${tab}: ${await overflowers(phone)}`);
        assertInside(g, ['tools-close'], `phone ${lang} ${tab}`);
        if (lang === 'en' || lang === 'ar') await shot(phone, `console-${tab}-390x844-${lang}`);
        if (tab === 'edit') {
          await phone.getByTestId('edit-open-round-2').click();
          const g2 = await geometry(phone, []);
          assertNoOverflow(g2, `phone ${lang} segment form: ${await overflowers(phone)}`);
          if (lang === 'en' || lang === 'ar') await shot(phone, `console-edit-segment-390x844-${lang}`);
          await phone.getByTestId('edit-back').click();
        }
      }
      await closeTools(phone);
    }
    await setLang(phone, 'en');
  });

  await t.test('axe: no serious or critical violation in any panel, light and dark, four languages', async () => {
    for (const scheme of ['light', 'dark']) {
      const page = await newPage(browser, { viewport: WIDE, colorScheme: scheme });
      pages[`axe-${scheme}`] = page;
      await open(page, srv.link('host'));
      for (const lang of LANGS) {
        await setLang(page, lang);
        await axeCheck(page, `console ${scheme} ${lang}`);
        for (const tab of PANELS) {
          await openTool(page, tab);
          if (tab === 'links') await page.locator('[data-testid="link-row"]').first().waitFor();
          if (tab === 'keys') await page.locator('[data-testid="key-row"], [data-testid="keys-none"]').first().waitFor();
          await axeCheck(page, `${tab} ${scheme} ${lang}`);
        }
        await page.getByTestId('sheet-tab-edit').click();
        await page.getByTestId('edit-open-round-2').click();
        await axeCheck(page, `segment form ${scheme} ${lang}`);
        await page.getByTestId('person-add-round-2-speakers').click();
        await axeCheck(page, `person form ${scheme} ${lang}`);
        await page.getByTestId('edit-back').click();
        await page.getByTestId('edit-back').click();
        await closeTools(page);
      }
    }
  });

  await t.test('no page threw', () => {
    assert.deepEqual(pageErrors(pages), []);
  });
});
