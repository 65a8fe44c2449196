// The speaker's screen, a stage display. While they have the floor: their own countdown
// as large as the screen allows, the wrap-up words, the signals addressed to their
// speech (the host's message, the booths' "slow down") and a Done button. Before their
// turn: their own slot (segment, planned time, how long they will have), not someone
// else's clock. After their turn: the room's view. Before the start and after the end:
// the title slide.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { formatClock } from '../clock.js';
import {
  tick, riseText, currentSegment, segTitle, textHtml, segmentsOfSpeaker, holdsFloor, speechSignals,
  expectedStart, relativeText, langName, findPerson,
} from './common.js';
import {
  titleSlideHtml, liveStageHtml, metaHtml, personLineHtml, nextHtml, segmentAsideHtml, signalsHtml,
  slotTimes, tickTod, tickAside, lenClass, fitSignals, onResize,
} from './stage.js';

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  const mem = ctx.viewMemory;
  root.innerHTML = String(html`<div class="stage-host" data-part="screen"></div>`);
  const screen = root.querySelector('[data-part="screen"]');

  /** The segment of this speaker's next turn: the first of their segments still ahead,
   * or the current one if they have not spoken in it yet. */
  function slotIndex() {
    const st = model.state;
    const you = model.you;
    if (!st || !you || !you.person) return null;
    const mine = segmentsOfSpeaker(model.agenda, you.person);
    if (st.phase === 'not_started') return mine.length ? mine[0] : null;
    if (st.phase !== 'running') return null;
    const spoke = (i) => (st.history || []).some((r) => r.segment === i && r.speaker.person === you.person);
    return mine.find((i) => i > st.current || (i === st.current && !spoke(i))) ?? null;
  }

  function slotHtml(i, now) {
    const st = model.state;
    const seg = model.agenda.segment[i];
    const limit = (seg.speech_limit ?? model.agenda.meeting.speech_limit ?? seg.duration) * 1000;
    const at = expectedStart(model, i, now);
    const current = st.phase === 'running' && st.current === i;
    const rel = current ? t('speaker.slot_now') : at !== null && at > now ? relativeText(at - now) : '';
    const title = segTitle(model, seg);
    const me = findPerson(model.agenda, model.you.person);
    return html`<div class="slot-card" data-testid="your-slot">
      <span class="slot-label">${t('speaker.your_slot')}</span>
      <h2 class="slot-title ${lenClass(title.text)}" dir="auto">${textHtml(title, '', 'slot-title')}</h2>
      <p class="slot-when" data-testid="slot-when">${slotTimes(model, i)}${rel ? html` · <strong>${rel}</strong>` : ''}</p>
      <p class="slot-limit">${t('speaker.your_time')} <span class="slot-digits" dir="ltr" data-testid="slot-limit">${formatClock(limit)}</span>${me ? html` · ${langName(me.language)}` : ''}</p>
    </div>`;
  }

  function render(now) {
    const st = model.state;
    if (st.phase === 'not_started') {
      const i = slotIndex();
      return titleSlideHtml(model, now, { extra: i !== null ? slotHtml(i, now) : '', agenda: i === null });
    }
    if (st.phase === 'ended') return titleSlideHtml(model, now);
    const seg = currentSegment(model);
    const title = seg ? segTitle(model, seg) : { text: '' };
    if (holdsFloor(model)) {
      const top = html`${metaHtml(model, now)}
        <div class="floor-banner" data-testid="you-have-floor">${t('floor.you_have_it')}</div>
        <h2 class="stage-title small ${lenClass(title.text)}" dir="auto">${textHtml(title, '', 'segment-title')}</h2>`;
      const bottom = html`<button type="button" class="done-button" data-action="done" data-testid="done-button" data-focus="done">${t('speaker.done')}</button>${segmentAsideHtml(model, now)}`;
      return liveStageHtml(model, now, { top, bottom, screen: 'speaker-floor', cls: 'has-done' });
    }
    const i = slotIndex();
    if (i !== null) {
      return html`<div class="stage live waiting" data-testid="stage" data-screen="speaker-slot">
        <div class="stage-top">${metaHtml(model, now)}
          <p class="stage-now"><span class="stage-now-label">${t('speaker.now_on')}</span> ${textHtml(title, 'stage-now-title', 'segment-title')}</p>
          ${personLineHtml(model)}</div>
        <div class="stage-center">${slotHtml(i, now)}</div>
        <div class="stage-bottom"><span class="stage-wait">${t('speaker.wait_for_floor')}</span></div>
      </div>`;
    }
    const top = html`${metaHtml(model, now)}
      <h2 class="stage-title ${lenClass(title.text)}" dir="auto">${textHtml(title, '', 'segment-title')}</h2>
      ${personLineHtml(model)}`;
    return liveStageHtml(model, now, { top, bottom: html`${nextHtml(model)}${segmentAsideHtml(model, now)}`, screen: 'speaker-room' });
  }

  function renderSignals(now) {
    const slot = root.querySelector('[data-part="signals"]');
    if (!slot) return;
    if (patch(slot, holdsFloor(model) ? signalsHtml(model, now) : '')) fitSignals(slot);
  }

  /** Announces what concerns this speaker, once: the floor given and ended, a new
   * message, a slow-down. Remembered across remounts (language switches). */
  function announceChanges() {
    const st = model.state;
    const mine = holdsFloor(model);
    const speechKey = mine ? st.speech.started_at : null;
    if (mem.floorKey === undefined) {
      mem.floorKey = speechKey;
    } else if (speechKey !== mem.floorKey) {
      if (speechKey !== null) ctx.announce(t('floor.you_have_it'));
      else if (mem.floorKey !== null) ctx.announce(t('floor.ended'));
      mem.floorKey = speechKey;
    }
    const { message, slow } = mine ? speechSignals(st) : { message: null, slow: null };
    const mKey = message ? `${message.n}` : null;
    if (mem.messageKey !== undefined && mKey && mKey !== mem.messageKey) ctx.announce(t('speaker.new_message', { text: message.text }));
    mem.messageKey = mKey;
    const sKey = slow ? `${slow.n}` : null;
    if (mem.slowKey !== undefined && sKey && sKey !== mem.slowKey) ctx.announce(t('speaker.slow_down'));
    mem.slowKey = sKey;
  }

  let lastFull = 0;
  function update() {
    if (!model.state || !model.agenda || !model.you) return;
    const now = ctx.now();
    lastFull = now;
    patch(screen, render(now));
    renderSignals(now);
    announceChanges();
  }

  function onClick(e) {
    const el = e.target.closest('button[data-action="done"]');
    if (!el || el.getAttribute('aria-disabled') === 'true') return;
    el.setAttribute('aria-disabled', 'true');
    ctx.send({ type: 'done' }).then((ok) => { if (!ok && el.isConnected) el.removeAttribute('aria-disabled'); });
  }
  root.addEventListener('click', onClick);
  const stopResize = onResize(root, () => fitSignals(root));
  update();

  return {
    update,
    tick(now) {
      const rises = tick(root, model, now, { offline: ctx.offline });
      if (holdsFloor(model)) for (const r of rises) ctx.announce(riseText(r));
      tickTod(root, model, conn.serverNow());
      tickAside(root, model, now);
      // The slow-down overlay and the message highlight expire by time, not by change.
      if (model.state && model.state.phase === 'running') renderSignals(now);
      // "in 18 min" on the slot and the title slide moves on without a change.
      if (now - lastFull > 15000 && screen.querySelector('[data-screen="speaker-slot"], [data-screen="slide"]')) update();
    },
    destroy() { root.removeEventListener('click', onClick); stopResize(); },
  };
}
