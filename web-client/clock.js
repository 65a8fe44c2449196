// Pure helpers for the countdown clocks. No DOM, no network, no clock reads:
// the caller passes `now` (the synchronised server time, see protocol.js serverNow()).
//
// A clock from the server is one of
//   {state: "ready",   remaining}   not started, will count down from `remaining` ms
//   {state: "running", ends_at}     counting down; zero at server time `ends_at`
//   {state: "paused",  remaining}   stopped with `remaining` ms left (negative = overtime)
//
// Wrap-up levels follow the agenda's thresholds (PROTOCOL.md, "Wrap-up thresholds"):
// "warning" when remaining ≤ warning, "danger" when ≤ danger, "overtime" when < 0.

/** Milliseconds left at server time `now`; negative means overtime. */
export function remaining(clock, now) {
  if (!clock) return 0;
  if (clock.state === 'running') return clock.ends_at - now;
  return clock.remaining ?? 0;
}

/** Whole seconds shown for `ms`: rounded up while counting down (so 0:00 is reached at
 * zero exactly), rounded down in overtime. */
export function shownSeconds(ms) {
  return ms > 0 ? Math.ceil(ms / 1000) : -Math.floor(-ms / 1000);
}

function mss(totalSeconds) {
  const s = Math.abs(totalSeconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const ss = String(sec).padStart(2, '0');
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  return `${m}:${ss}`;
}

/** "4:59" while counting down, "+0:42" in overtime (always Latin digits). */
export function formatClock(ms) {
  if (ms > 0) return mss(Math.ceil(ms / 1000));
  if (ms === 0) return '0:00';
  return '+' + mss(Math.floor(-ms / 1000));
}

/** A duration without sign, "m:ss" (used for spoken times and waiting times). */
export function formatDuration(ms) {
  return mss(Math.round(Math.max(0, ms) / 1000));
}

/** The defaults of the agenda's `[meeting]` thresholds: amber at one minute, red at zero,
 * a gentle flash at each. */
export const DEFAULT_THRESHOLDS = Object.freeze({ warning: 60000, danger: 0, flash: true });

/** Wrap-up level of `ms` left: "ok", "warning", "danger" or "overtime". */
export function level(ms, th = DEFAULT_THRESHOLDS) {
  if (ms < 0) return 'overtime';
  if (ms <= th.danger) return 'danger';
  if (ms <= th.warning) return 'warning';
  return 'ok';
}

/** Everything a view needs to draw one clock. */
export function clockView(clock, now, th = DEFAULT_THRESHOLDS) {
  const ms = remaining(clock, now);
  const text = formatClock(ms);
  return {
    ms,
    text,
    level: level(ms, th),
    state: clock ? clock.state : 'ready',
    // Digits and separators, for sizing the digits to their box.
    chars: text.length,
  };
}

/** Whole minutes, rounded to the nearest, of a signed drift in ms. */
export function driftMinutes(ms) {
  return Math.round(ms / 60000);
}
