// Clocks as every view draws them: the wrap-up thresholds of the agenda, the clock's
// markup (digits + words, colour never alone), the per-frame redraw, the level
// transitions that announcements and the gentle flash follow, and the "offline — last
// known" state. Rendering only; no network.

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { clockView, formatDuration, DEFAULT_THRESHOLDS } from '../clock.js';

const LEVELS = ['ok', 'warning', 'danger', 'overtime'];

/** The wrap-up thresholds in force for segment `i` (ms): the segment's own `warning` and
 * `danger`, else the meeting's, else 1 min and 0 (agenda durations are seconds). */
export function thresholds(model, i) {
  const ag = model && model.agenda;
  if (!ag) return DEFAULT_THRESHOLDS;
  const m = ag.meeting || {};
  const seg = (i !== undefined && i !== null && ag.segment && ag.segment[i]) || {};
  const secs = (v, d) => (typeof v === 'number' && Number.isFinite(v) ? v * 1000 : d);
  return {
    warning: secs(seg.warning, secs(m.warning, DEFAULT_THRESHOLDS.warning)),
    danger: secs(seg.danger, secs(m.danger, DEFAULT_THRESHOLDS.danger)),
    flash: m.flash !== false,
  };
}

/** The clock object a data-clock kind refers to: "segment", "speech", or "main" (the
 * speech clock while someone speaks, else the segment clock). */
export function clockFor(kind, model) {
  const st = model.state;
  if (!st) return null;
  if (kind === 'segment') return st.segment_clock;
  if (kind === 'speech') return st.speech ? st.speech.clock : null;
  return st.speech ? st.speech.clock : st.segment_clock;
}

/** What identifies one clock's life: a new speech or a newly entered segment is a new
 * clock, whose levels start afresh. */
function clockIdentity(kind, model) {
  const st = model.state;
  if (!st) return '';
  const speech = st.speech && (kind === 'speech' || kind === 'main');
  if (speech) return `speech:${st.speech.started_at}`;
  return `segment:${st.current}:${st.segment_entered_at}`;
}

function segmentOf(kind, model) {
  const st = model.state;
  if (!st) return null;
  if ((kind === 'speech' || kind === 'main') && st.speech) return st.speech.segment;
  return st.current;
}

/** Words beside the digits, so that colour is never the only signal. */
export function clockNote(v, th = DEFAULT_THRESHOLDS) {
  if (v.state === 'ready') return t('clock.not_started');
  const parts = [];
  if (v.state === 'paused') parts.push(t('clock.paused'));
  if (v.level === 'overtime') parts.push(t('clock.overtime'));
  else if (v.level === 'danger') parts.push(t('clock.danger'));
  else if (v.level === 'warning') parts.push(t('clock.warning', { time: thresholdText(th.warning) }));
  return parts.join(' · ');
}

/** "1 min", "90 s": a threshold as people say it. */
export function thresholdText(ms) {
  const s = Math.round(ms / 1000);
  if (s >= 60 && s % 60 === 0) return t('unit.min', { n: s / 60 });
  return t('unit.s', { n: s });
}

function clockLabel(kind, model) {
  if (kind === 'segment') return t('clock.segment');
  if (kind === 'speech') return t('clock.speech');
  return model.state && model.state.speech ? t('clock.speech') : t('clock.segment');
}

/** A clock that tick() redraws. `size` is "medium", "large" or "stage" (sized from its
 * own box: see style.css). */
export function clockHtml(kind, model, now, { size = 'medium', label = true } = {}) {
  const clock = clockFor(kind, model);
  const th = thresholds(model, segmentOf(kind, model));
  const v = clockView(clock, now, th);
  return html`<div class="clock clock-${size} level-${v.level} state-${v.state}" data-clock="${kind}" data-level="${v.level}" data-chars="${v.chars}" data-testid="${kind}-clock" role="timer" aria-live="off">
    ${label ? html`<div class="clock-label">${clockLabel(kind, model)}</div>` : ''}
    <div class="clock-digits" dir="ltr" translate="no" data-testid="${kind}-clock-text">${v.text}</div>
    <div class="clock-note" data-testid="${kind}-clock-note">${clockNote(v, th)}</div>
  </div>`;
}

/**
 * Redraws every clock and waiting time under `root` at server time `now`; touches the
 * DOM only when a shown value changes. Returns the level rises seen since the last call
 * (`[{kind, level}]`, level "warning", "danger" or "overtime"), each clock's first sight
 * excepted: the caller announces them to those concerned. Levels are remembered on the
 * model, so a redraw, a remount or a language switch never repeats one, and a jump
 * (−1 min into the last minute) is seen like a crossing.
 */
export function tick(root, model, now, { offline = false } = {}) {
  const rises = [];
  const seen = model.__levels || (model.__levels = new Map());
  for (const el of root.querySelectorAll('[data-clock]')) {
    const kind = el.dataset.clock;
    const clock = clockFor(kind, model);
    if (!clock) continue;
    const th = thresholds(model, segmentOf(kind, model));
    const v = clockView(clock, now, th);
    const digits = el.querySelector('.clock-digits');
    if (digits && digits.textContent !== v.text) digits.textContent = v.text;
    if (el.dataset.chars !== String(v.chars)) el.dataset.chars = String(v.chars);
    if (el.dataset.level !== v.level) {
      for (const l of LEVELS) el.classList.toggle(`level-${l}`, l === v.level);
      el.dataset.level = v.level;
    }
    for (const s of ['ready', 'running', 'paused']) el.classList.toggle(`state-${s}`, s === v.state);
    el.classList.toggle('offline', offline);
    const note = el.querySelector('.clock-note');
    const nt = offline ? t('clock.offline') : clockNote(v, th);
    if (note && note.textContent !== nt) note.textContent = nt;

    const id = `${kind}|${clockIdentity(kind, model)}`;
    const before = seen.get(id);
    seen.set(id, v.level);
    if (before !== undefined && !offline && LEVELS.indexOf(v.level) > LEVELS.indexOf(before)) {
      rises.push({ kind, level: v.level, th });
      if (th.flash) flash(el);
    } else if (before === undefined && seen.size > 64) {
      // Forget clocks long gone.
      for (const k of [...seen.keys()].slice(0, seen.size - 32)) seen.delete(k);
    }
  }
  for (const el of root.querySelectorAll('[data-since]')) {
    const txt = formatDuration(now - Number(el.dataset.since));
    if (el.textContent !== txt) el.textContent = txt;
  }
  return rises;
}

/** A gentle flash (three slow pulses; none with reduced motion, see style.css). */
function flash(el) {
  el.classList.remove('flash');
  // Restart the animation on the next frame.
  requestAnimationFrame(() => {
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 3200);
  });
}

/** What a level rise says to a screen reader. */
export function riseText(rise) {
  const th = rise.th || DEFAULT_THRESHOLDS;
  if (rise.level === 'overtime') return t('clock.overtime_announce');
  if (rise.level === 'danger') return t('clock.danger_announce');
  return t('clock.warning_announce', { time: thresholdText(th.warning) });
}
