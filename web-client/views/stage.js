// The stage display shared by the projector, the speaker's screen and a participant who
// has the floor: a dark, viewport-sized layout (stage.css) with three fixed bands — top
// (what and who), the clock (digits sized from their own box, so they always fit), and
// bottom (who is next, or the Done button) — plus overlays for the signals addressed to
// the speech in progress, which cover the top band and never move the clock. Before
// the start and after the end, a title slide: meeting, date and time in the meeting's
// zone, the agenda with planned times.

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { formatClock } from '../clock.js';
import {
  clockHtml, currentSegment, segTitle, textHtml, kindLabel, fmtTime, fmtDate, zoneName, timeRange,
  plannedAt, personDetails, findPerson, langName, nextUp, speechSignals, viewerZone,
} from './common.js';
import { icon } from './icons.js';

/** How long a "slow down" stays on the speaker's screen. */
export const SLOW_DOWN_MS = 10000;
/** How long a new message is highlighted. */
export const MESSAGE_FRESH_MS = 30000;

/** A length class for a text, so the stylesheet can give long texts a smaller size. */
export function lenClass(text) {
  const n = (text || '').length;
  if (n > 110) return 'xlong';
  if (n > 60) return 'long';
  if (n > 28) return 'medium';
  return 'short';
}

/** The time of day in the meeting's zone; tick() keeps it current. */
export function todHtml(model, now) {
  const mz = model.agenda.meeting.time_zone;
  return html`<span class="stage-tod" data-tod data-testid="time-of-day" dir="ltr">${fmtTime(now, mz)}</span>`;
}

/** Redraws the time of day under `root`. */
export function tickTod(root, model, now) {
  const el = root.querySelector('[data-tod]');
  if (!el || !model.agenda) return;
  const txt = fmtTime(now, model.agenda.meeting.time_zone);
  if (el.textContent !== txt) el.textContent = txt;
}

/** The meeting's planned date and hours, in its own zone. */
export function whenText(model) {
  const ag = model.agenda;
  const mz = ag.meeting.time_zone;
  const n = ag.segment.length;
  const start = model.planned && model.planned[0];
  const end = model.planned && model.planned[n];
  if (start === undefined || start === null) return '';
  return `${fmtDate(start, mz)} · ${timeRange(start, end, mz)} ${zoneName(mz, start)}`;
}

/** The title slide: before the start and after the end. `extra` goes above the agenda
 * (the speaker's own slot); `agenda` false leaves the agenda out. */
export function titleSlideHtml(model, now, { extra = '', agenda = true, maxItems = 12 } = {}) {
  const ag = model.agenda;
  const st = model.state;
  const mz = ag.meeting.time_zone;
  const ended = st && st.phase === 'ended';
  // Unshifted planned times: the slide tells what the agenda says.
  const planned = model.planned || [];
  let segs = ag.segment.map((s, i) => ({ s, i }));
  const more = Math.max(0, segs.length - maxItems);
  segs = segs.slice(0, maxItems);
  const items = segs.map(({ s, i }) => html`<li class="slide-item" data-testid="slide-item">
    <span class="slide-item-time" dir="ltr">${fmtTime(planned[i], mz)}</span>
    ${textHtml(segTitle(model, s), 'slide-item-title')}
  </li>`);
  return html`<div class="stage slide" data-testid="stage" data-screen="slide">
    <div class="slide-head">
      <div class="stage-meta">${todHtml(model, now)}<span class="stage-kind">${t(ended ? 'stage.ended' : 'stage.soon')}</span></div>
      <h2 class="slide-title ${lenClass(ag.meeting.title)}" data-testid="slide-title" translate="no" dir="auto">${ag.meeting.title}</h2>
      ${ag.meeting.subtitle ? html`<p class="slide-sub" translate="no" dir="auto">${ag.meeting.subtitle}</p>` : ''}
      <p class="slide-when" data-testid="slide-when">${whenText(model)}</p>
    </div>
    ${extra}
    ${agenda ? html`<ol class="slide-agenda" data-count="${Math.min(segs.length, maxItems)}" data-testid="slide-agenda" aria-label="${t('agenda.title')}">${items}</ol>` : ''}
    ${agenda && more ? html`<p class="slide-more">${t('queue.more', { n: more })}</p>` : ''}
    <p class="slide-status" data-testid="segment-status">${ended ? t('meeting.ended') : t('meeting.not_started')}</p>
  </div>`;
}

/** The speaker line of the top band: who has the floor (or the segment's moderator). */
export function personLineHtml(model) {
  const st = model.state;
  const sp = st.speech && st.speech.speaker;
  if (sp) {
    const person = sp.person ? findPerson(model.agenda, sp.person) : null;
    const details = person ? personDetails(person) : sp.delegation || '';
    return html`<div class="stage-person" data-testid="current-speaker">
      <span class="stage-person-name" data-testid="current-speaker-name" translate="no" dir="auto">${sp.name}</span>
      <span class="stage-person-details"><span data-testid="current-speaker-language">${t('speaker.floor_language', { lang: langName(sp.language) })}</span>${details ? html` · <span translate="no" dir="auto">${details}</span>` : ''}</span>
    </div>`;
  }
  const seg = currentSegment(model);
  if (seg && seg.moderator) {
    return html`<div class="stage-person none" data-testid="current-speaker">
      <span class="stage-person-details">${t('stage.moderator', { name: seg.moderator.name })}</span></div>`;
  }
  return html`<div class="stage-person none" data-testid="current-speaker"><span class="stage-person-details">${t('speaker.nobody')}</span></div>`;
}

/** The top band's meta line: time of day, segment kind and place. */
export function metaHtml(model, now) {
  const st = model.state;
  const seg = currentSegment(model);
  return html`<div class="stage-meta">${todHtml(model, now)}<span class="stage-kind">${seg ? `${kindLabel(seg.kind)} · ${t('segment.position', { n: st.current + 1, total: model.agenda.segment.length })}` : ''}</span></div>`;
}

/** "Next: Alexandra Young (English) · Lucía Pérez (Spanish)". */
export function nextHtml(model) {
  const next = nextUp(model, { hands: 3 });
  if (!next.length) return '';
  return html`<span class="stage-next" data-testid="stage-next"><span class="stage-next-label">${t('stage.next')}</span> ${next.map((p, i) => html`${i ? ' · ' : ''}<span class="stage-next-name" translate="no" dir="auto">${p.name}</span> <span class="stage-next-lang">(${langName(p.language)})</span>`)}</span>`;
}

/** The segment clock as a small aside while a speech clock fills the stage. */
export function segmentAsideHtml(model, now) {
  const st = model.state;
  if (!st.speech) return '';
  const c = st.segment_clock;
  const ms = c.state === 'running' ? c.ends_at - now : c.remaining;
  return html`<span class="stage-aside" data-testid="segment-aside">${t('clock.segment')} <span class="stage-aside-digits" data-aside-clock dir="ltr">${formatClock(ms)}</span></span>`;
}

/** Redraws the segment aside. */
export function tickAside(root, model, now) {
  const el = root.querySelector('[data-aside-clock]');
  const st = model.state;
  if (!el || !st) return;
  const c = st.segment_clock;
  const txt = formatClock(c.state === 'running' ? c.ends_at - now : c.remaining);
  if (el.textContent !== txt) el.textContent = txt;
}

/** The live stage: top band, clock, bottom band. */
export function liveStageHtml(model, now, { top, bottom, screen = 'live', kind = 'main', cls = '' }) {
  return html`<div class="stage live ${cls}" data-testid="stage" data-screen="${screen}">
    <div class="stage-top" data-testid="stage-top">${top}</div>
    <div class="stage-center">${clockHtml(kind, model, now, { size: 'stage' })}</div>
    <div class="stage-bottom" data-testid="stage-bottom">${bottom}</div>
    <div class="stage-signals" data-part="signals" data-testid="stage-signals"></div>
  </div>`;
}

/** The signals addressed to the speech in progress, as overlays of the top band. The
 * caller decides whether this screen is the speaker's (only then are they shown). */
export function signalsHtml(model, now) {
  const { message, slow } = speechSignals(model.state);
  const showSlow = slow && now - slow.at <= SLOW_DOWN_MS && now - slow.at >= -2000;
  if (!message && !showSlow) return '';
  const fresh = message && now - message.at < MESSAGE_FRESH_MS;
  return html`${showSlow ? html`<div class="signal slow-down" data-testid="slow-down" role="alert">
      ${icon('slow', 'signal-icon')}<span>${t('speaker.slow_down')}</span>
      ${slow.language ? html`<span class="signal-sub">${t('speaker.slow_down_booth', { lang: langName(slow.language) })}</span>` : ''}
    </div>` : ''}
    ${message ? html`<div class="signal host-message${fresh ? ' fresh' : ''} ${lenClass(message.text)}" data-testid="host-message">
      <span class="signal-label">${t('speaker.message_from_host', { time: fmtTime(message.at, viewerZone()) })}</span>
      <span class="signal-text" data-testid="host-message-text" translate="no" dir="auto">${message.text}</span>
    </div>` : ''}`;
}

/**
 * Shrinks the message overlays under `root` until their text fits their box (the CSS
 * gives a size by length; a long French label or a narrow screen may still need less).
 * Never below 12 px. Runs after each redraw of the signals and on resize.
 */
export function fitSignals(root) {
  for (const box of root.querySelectorAll('.signal.host-message')) {
    box.style.removeProperty('font-size');
    let size = parseFloat(getComputedStyle(box).fontSize);
    for (let i = 0; i < 24 && size > 12 && (box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1); i++) {
      size = Math.max(12, size * 0.92);
      box.style.fontSize = `${size}px`;
    }
  }
}

/** Calls `fn` when the stage's size changes (a window resize, full screen). */
export function onResize(root, fn) {
  if (typeof ResizeObserver !== 'function') return () => {};
  const ro = new ResizeObserver(() => fn());
  ro.observe(root);
  return () => ro.disconnect();
}

/** Planned start and end of segment i in the meeting's zone, shifted like the agenda. */
export function slotTimes(model, i) {
  const mz = model.agenda.meeting.time_zone;
  const a = plannedAt(model, i);
  const b = plannedAt(model, i + 1);
  return `${timeRange(a, b, mz)} ${zoneName(mz, a)}`;
}
