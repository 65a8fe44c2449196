// The speaker's screen: a countdown readable from across the room (the speech clock
// while a speech is on, else the segment clock), the host's messages, the
// interpreters' "slow down" signal, the segment and its question, and a Done button.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { clockHtml, currentSpeakerHtml, segmentHtml, fmtTime, viewerZone, langName, tick } from './common.js';

/** How long the "slow down" signal stays on screen. */
const SLOW_DOWN_MS = 10000;
/** How long a new host message is highlighted. */
const MESSAGE_FRESH_MS = 30000;

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;

  root.innerHTML = String(html`
    <div class="speaker-view">
      <div data-part="slow" class="slow-slot"></div>
      <div data-part="floor"></div>
      <div data-part="clock" class="big-clock-slot"></div>
      <div data-part="message"></div>
      <div class="controls center">
        <button type="button" class="primary big" data-action="done" data-testid="done-button">${t('speaker.done')}</button>
      </div>
      <div data-part="segment"></div>
    </div>`);
  const part = (n) => root.querySelector(`[data-part="${n}"]`);

  let lastMsgN = null;
  let holding = false;

  function youHoldFloor() {
    const st = model.state;
    const you = model.you;
    if (!st || !st.speech || !you) return false;
    return !!you.person && st.speech.speaker.person === you.person;
  }

  /** Signals travel with the speech (protocol 2): only the person speaking sees them. */
  function mySpeech() {
    return youHoldFloor() ? model.state.speech : null;
  }

  function renderSlow(now) {
    const sp = mySpeech();
    const s = sp && sp.slow_down;
    if (!s || now - s.at > SLOW_DOWN_MS || now - s.at < -2000) return '';
    return html`<div class="slow-down" data-testid="slow-down" role="alert">
      <span class="slow-icon" aria-hidden="true">⏷</span> ${t('speaker.slow_down')}
      ${s.language ? html`<span class="muted">${t('speaker.slow_down_booth', { lang: langName(s.language) })}</span>` : ''}
    </div>`;
  }

  function renderMessage(now) {
    const sp = mySpeech();
    const m = sp && sp.message;
    if (!m) return '';
    const fresh = now - m.at < MESSAGE_FRESH_MS;
    return html`<div class="host-message${fresh ? ' fresh' : ''}" data-testid="host-message">
      <span class="label">${t('speaker.message_from_host', { time: fmtTime(m.at, viewerZone()) })}</span>
      <span class="text" translate="no" dir="auto">${m.text}</span>
    </div>`;
  }

  function renderFloor() {
    const mine = youHoldFloor();
    return html`${mine ? html`<div class="floor-banner" data-testid="you-have-floor">${t('floor.you_have_it')}</div>` : currentSpeakerHtml(model)}`;
  }

  function update() {
    if (!model.state) return;
    const now = conn.serverNow();
    patch(part('floor'), renderFloor());
    patch(part('clock'), clockHtml('main', model, now, { size: 'huge' }));
    patch(part('message'), renderMessage(now));
    patch(part('segment'), segmentHtml(model));
    const done = root.querySelector('[data-testid="done-button"]');
    const mine = youHoldFloor();
    done.disabled = !mine;
    done.title = mine ? '' : t('speaker.done_hint');
    if (mine && !holding) ctx.announce(t('floor.you_have_it'));
    holding = mine;
    const sp = mySpeech();
    const m = sp && sp.message;
    const key = m ? `${sp.started_at}:${m.n}` : '';
    if (m && lastMsgN !== null && key !== lastMsgN) ctx.announce(t('speaker.new_message', { text: m.text }));
    lastMsgN = key;
  }

  function onClick(e) {
    const el = e.target.closest('button[data-action="done"]');
    if (!el || el.disabled) return;
    ctx.send({ type: 'done' });
  }
  root.addEventListener('click', onClick);
  update();

  let lastSlow = null;
  return {
    update,
    tick(now) {
      for (const k of tick(root, model, now)) ctx.announce(t('clock.one_minute_announce'));
      // The slow-down banner and the message highlight expire by time, not by change.
      const slow = renderSlow(now);
      if (String(slow) !== lastSlow) {
        const had = lastSlow;
        lastSlow = String(slow);
        patch(part('slow'), slow);
        if (lastSlow && !had) ctx.announce(t('speaker.slow_down'));
      }
      patch(part('message'), renderMessage(now));
    },
    destroy() { root.removeEventListener('click', onClick); },
  };
}
