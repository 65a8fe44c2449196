// Pieces every view shares: agenda, clocks, current speaker, queue, times and errors.
// They only render state; they never talk to the server.

import { html, slug as slugOf } from '../dom.js';
import { t, locale } from '../i18n/index.js';
import { clockView, formatDuration } from '../clock.js';

/** The viewer's own time zone. */
export function viewerZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

const fmtCache = new Map();
function formatter(tz, withZone) {
  const key = `${locale()}|${tz}|${withZone}`;
  if (!fmtCache.has(key)) {
    const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    if (tz) opts.timeZone = tz;
    if (withZone) opts.timeZoneName = 'short';
    let f;
    try { f = new Intl.DateTimeFormat(locale(), opts); } catch { f = new Intl.DateTimeFormat(locale(), { ...opts, timeZone: 'UTC' }); }
    fmtCache.set(key, f);
  }
  return fmtCache.get(key);
}

/** "16:05" in zone `tz`. */
export function fmtTime(ms, tz) {
  if (ms === null || ms === undefined) return '';
  return formatter(tz, false).format(new Date(ms));
}

/** The short name of zone `tz` at time `ms` ("CET", "UTC+1"). */
export function zoneName(tz, ms) {
  try {
    const parts = formatter(tz, true).formatToParts(new Date(ms || 0));
    const z = parts.find((p) => p.type === 'timeZoneName');
    return z ? z.value : tz;
  } catch {
    return tz;
  }
}

/** Name of a floor language in the interface language. */
export function langName(code) {
  if (!code) return '';
  const s = t(`lang.${code}`);
  return s === `lang.${code}` ? code : s;
}

/** The current segment, or null. */
export function currentSegment(model) {
  const st = model.state;
  if (!st || !model.agenda || st.current === undefined || st.current === null) return null;
  return model.agenda.segment[st.current] || null;
}

/**
 * How far the planned schedule is moved: when the meeting starts on another day than
 * the agenda says (a rehearsal, or the bundled demo agenda run today), the planned
 * times are shifted to the actual start so that drift still means something.
 */
export function scheduleShift(model) {
  const st = model.state;
  const p0 = model.planned && model.planned[0];
  if (!st || !st.started_at || !p0) return 0;
  const d = st.started_at - p0;
  return Math.abs(d) > 6 * 3600 * 1000 ? d : 0;
}

/** Planned start of segment i (or the planned end for i = n), shifted as above. */
export function plannedAt(model, i) {
  const p = model.planned && model.planned[i];
  if (p === undefined || p === null) return null;
  return p + scheduleShift(model);
}

/** Drift of the schedule in ms (positive: late), or null before the meeting runs. */
export function drift(model, now) {
  const st = model.state;
  if (!st || st.phase !== 'running' || st.current === undefined || st.current === null) return null;
  const plannedEnd = plannedAt(model, st.current + 1);
  if (plannedEnd === null) return null;
  const clock = st.segment_clock;
  let rem = clock.state === 'running' ? clock.ends_at - now : clock.remaining;
  const projected = now + Math.max(rem, 0);
  return projected - plannedEnd;
}

/** "Running 3 min late" / "On time" / "Running 2 min early". */
export function driftText(ms) {
  if (ms === null) return '';
  const min = Math.round(ms / 60000);
  if (min === 0) return t('drift.on_time');
  if (min > 0) return t('drift.late', { n: min });
  return t('drift.early', { n: -min });
}

/** A command's error, for a person. */
export function errorText(err) {
  const code = (err && err.code) || 'internal';
  const s = t(`error.${code}`);
  return s === `error.${code}` ? t('error.internal') : s;
}

export function kindLabel(kind) {
  return t(`kind.${kind}`);
}

/** One line about a person of the agenda: title, affiliation, country. */
export function personDetails(p) {
  if (!p) return '';
  return [p.title, p.affiliation, p.country].filter(Boolean).join(' · ');
}

/** The whole agenda with planned times (meeting zone and viewer zone) and actual times. */
export function agendaHtml(model, { detailed = false } = {}) {
  const ag = model.agenda;
  const st = model.state;
  if (!ag) return '';
  const mz = ag.meeting.time_zone;
  const vz = viewerZone();
  const first = plannedAt(model, 0);
  const sameZone = zoneName(mz, first) === zoneName(vz, first);
  const shifted = scheduleShift(model) !== 0;
  const items = ag.segment.map((seg, i) => {
    const start = plannedAt(model, i);
    const end = plannedAt(model, i + 1);
    const times = st && st.segments ? st.segments[i] || {} : {};
    const isCurrent = st && st.phase === 'running' && st.current === i;
    const done = times.ended_at && !isCurrent;
    const people = [seg.moderator ? seg.moderator.name : null, ...(seg.speakers || []).map((p) => p.name)].filter(Boolean);
    return html`<li class="agenda-item${isCurrent ? ' current' : ''}${done ? ' done' : ''}" data-testid="agenda-item" data-segment="${seg.id}"${isCurrent ? html` aria-current="step"` : ''}>
      <div class="agenda-times">
        <span class="planned" data-testid="planned-time"><span class="visually-hidden">${t('agenda.planned')} </span>\u2066${fmtTime(start, mz)}–${fmtTime(end, mz)}\u2069 <span class="zone">${zoneName(mz, start)}</span></span>
        ${sameZone ? '' : html`<span class="viewer-time" data-testid="viewer-time">${t('agenda.your_time', { time: `\u2066${fmtTime(start, vz)}–${fmtTime(end, vz)}\u2069` })}</span>`}
      </div>
      <div class="agenda-main">
        <span class="kind">${kindLabel(seg.kind)}</span>
        ${isCurrent ? html`<span class="badge now">${t('agenda.now')}</span>` : ''}
        <span class="agenda-title" translate="no" dir="auto">${seg.title}</span>
        ${detailed && people.length ? html`<span class="agenda-people" translate="no" dir="auto">${people.join(', ')}</span>` : ''}
        ${detailed && times.started_at ? html`<span class="actual" data-testid="actual-time">${isCurrent
          ? t('agenda.actual_since', { start: fmtTime(times.started_at, mz) })
          : t('agenda.actual', {
            start: fmtTime(times.started_at, mz),
            end: times.ended_at ? fmtTime(times.ended_at, mz) : '…',
            elapsed: formatDuration(times.elapsed_ms || 0),
          })}</span>` : ''}
      </div>
    </li>`;
  });
  return html`${shifted ? html`<p class="note" data-testid="schedule-shifted">${t('agenda.shifted')}</p>` : ''}
    <ol class="agenda" data-testid="agenda">${items}</ol>`;
}

/** A clock that the tick redraws: kind is "segment", "speech" or "main". */
export function clockHtml(kind, model, now, { size = 'medium', label = true } = {}) {
  const clock = clockFor(kind, model);
  const v = clockView(clock, now);
  return html`<div class="clock clock-${size} level-${v.level} state-${v.state}" data-clock="${kind}" data-testid="${kind}-clock" role="timer" aria-live="off">
    ${label ? html`<div class="clock-label">${clockLabel(kind, model)}</div>` : ''}
    <div class="clock-digits" dir="ltr" data-testid="${kind}-clock-text">${v.text}</div>
    <div class="clock-note" data-testid="${kind}-clock-note">${clockNote(v)}</div>
  </div>`;
}

function clockLabel(kind, model) {
  if (kind === 'segment') return t('clock.segment');
  if (kind === 'speech') return t('clock.speech');
  return model.state && model.state.speech ? t('clock.speech') : t('clock.segment');
}

/** The clock object a data-clock kind refers to. */
export function clockFor(kind, model) {
  const st = model.state;
  if (!st) return null;
  if (kind === 'segment') return st.segment_clock;
  if (kind === 'speech') return st.speech ? st.speech.clock : null;
  return st.speech ? st.speech.clock : st.segment_clock;
}

/** Words beside the digits, so that colour is never the only signal. */
export function clockNote(v) {
  if (v.state === 'ready') return t('clock.not_started');
  const parts = [];
  if (v.state === 'paused') parts.push(t('clock.paused'));
  if (v.level === 'over') parts.push(t('clock.overtime'));
  else if (v.level === 'warn') parts.push(t('clock.one_minute'));
  return parts.join(' · ');
}

/**
 * Redraws every clock and waiting time under `root` from local time. Called on every
 * animation frame; touches the DOM only when a shown value changes. Returns the kinds
 * whose clock just crossed into the last minute while running.
 */
export function tick(root, model, now) {
  const crossed = [];
  for (const el of root.querySelectorAll('[data-clock]')) {
    const kind = el.dataset.clock;
    const clock = clockFor(kind, model);
    if (!clock) continue;
    const v = clockView(clock, now);
    const digits = el.querySelector('.clock-digits');
    if (digits && digits.textContent !== v.text) digits.textContent = v.text;
    const cls = `level-${v.level}`;
    if (!el.classList.contains(cls)) {
      const was = el.dataset.level;
      el.classList.remove('level-ok', 'level-warn', 'level-over');
      el.classList.add(cls);
      if (was === 'ok' && v.level === 'warn' && v.state === 'running') crossed.push(kind);
    }
    el.dataset.level = v.level;
    const note = el.querySelector('.clock-note');
    const nt = clockNote(v);
    if (note && note.textContent !== nt) note.textContent = nt;
  }
  for (const el of root.querySelectorAll('[data-since]')) {
    const since = Number(el.dataset.since);
    const txt = t('queue.waiting', { time: formatDuration(now - since) });
    if (el.textContent !== txt) el.textContent = txt;
  }
  for (const el of root.querySelectorAll('[data-drift]')) {
    const txt = driftText(drift(model, now));
    if (el.textContent !== txt) el.textContent = txt;
  }
  return crossed;
}

/** The person holding the floor, or the segment when nobody does. */
export function currentSpeakerHtml(model, { big = false } = {}) {
  const st = model.state;
  const sp = st && st.speech ? st.speech.speaker : null;
  if (!sp) {
    return html`<div class="current-speaker none" data-testid="current-speaker"><span class="muted">${t('speaker.nobody')}</span></div>`;
  }
  const person = sp.person && model.agenda ? findPerson(model.agenda, sp.person) : null;
  const details = person ? personDetails(person) : sp.delegation || '';
  return html`<div class="current-speaker${big ? ' big' : ''}" data-testid="current-speaker">
    <div class="speaker-heading">${t('speaker.now')}</div>
    <div class="speaker-name" data-testid="current-speaker-name" translate="no" dir="auto">${sp.name}</div>
    ${details ? html`<div class="speaker-details" translate="no" dir="auto">${details}</div>` : ''}
    <div class="speaker-lang" data-testid="current-speaker-language">${t('speaker.floor_language', { lang: langName(sp.language) })}</div>
  </div>`;
}

/** A person named in the agenda, by id. */
export function findPerson(agenda, id) {
  const all = [];
  if (agenda.meeting.host) all.push(agenda.meeting.host);
  for (const s of agenda.segment) {
    if (s.moderator) all.push(s.moderator);
    all.push(...(s.speakers || []), ...(s.reactions || []));
  }
  return all.find((p) => (p.id || slugOf(p.name)) === id) || null;
}

/**
 * The speaking queue. `staff` adds the moderation buttons; `you` (a participant id)
 * marks one's own hands.
 */
export function queueHtml(model, now, { staff = false, you = null, compact = false } = {}) {
  const st = model.state;
  const q = (st && st.queue) || [];
  const total = queueLength(st);
  const head = html`<div class="queue-head">
    <span class="queue-count" data-testid="queue-count">${t('queue.count', { n: total })}</span>
    ${st && !st.queue_open ? html`<span class="badge closed" data-testid="queue-closed">${t('queue.closed')}</span>` : ''}
  </div>`;
  if (!q.length) {
    return html`${head}<p class="muted" data-testid="queue-empty">${t('queue.empty')}</p>`;
  }
  const items = q.map((h, i) => {
    const mine = you !== null && you !== undefined && h.participant === you;
    return html`<li class="queue-item${h.point_of_order ? ' poo' : ''}${mine ? ' mine' : ''}" data-testid="queue-item" data-hand="${h.id}" data-participant="${h.participant}">
      <span class="queue-pos">${i + 1}</span>
      <span class="queue-who">
        <span class="queue-name" data-testid="queue-name" translate="no" dir="auto">${h.name}</span>
        ${h.delegation ? html`<span class="queue-delegation" translate="no" dir="auto">${h.delegation}</span>` : ''}
        ${mine ? html`<span class="badge mine">${t('queue.you')}</span>` : ''}
      </span>
      <span class="queue-meta">
        ${h.point_of_order ? html`<span class="badge poo" data-testid="queue-poo">${t('queue.point_of_order')}</span>` : ''}
        <span class="badge lang" data-testid="queue-language" data-lang="${h.language}">${langName(h.language)}</span>
        ${compact ? '' : html`<span class="waiting" data-since="${h.raised_at}">${t('queue.waiting', { time: formatDuration(now - h.raised_at) })}</span>`}
      </span>
      ${staff ? html`<span class="queue-actions">
        <button type="button" class="primary small" data-action="floor-hand" data-hand="${h.id}" data-testid="hand-floor-${h.id}">${t('host.give_floor')}</button>
        <button type="button" class="small" data-action="hand-up" data-hand="${h.id}" data-index="${i}" data-testid="hand-up-${h.id}" ${i === 0 ? 'disabled' : ''} aria-label="${t('host.move_up_name', { name: h.name })}">${t('host.move_up')}</button>
        <button type="button" class="small" data-action="hand-down" data-hand="${h.id}" data-index="${i}" data-testid="hand-down-${h.id}" ${i === q.length - 1 ? 'disabled' : ''} aria-label="${t('host.move_down_name', { name: h.name })}">${t('host.move_down')}</button>
        <button type="button" class="small danger" data-action="hand-remove" data-hand="${h.id}" data-testid="hand-remove-${h.id}" aria-label="${t('host.remove_name', { name: h.name })}">${t('host.remove')}</button>
      </span>` : ''}
    </li>`;
  });
  const more = total > q.length
    ? html`<p class="muted" data-testid="queue-more">${t('queue.more', { n: total - q.length })}</p>`
    : '';
  return html`${head}<ol class="queue" data-testid="queue">${items}</ol>${more}`;
}

/** Hands in the whole queue: everyone but staff gets the first hands in full and the
 * queue's length as `queue_len`. */
export function queueLength(st) {
  if (!st) return 0;
  return typeof st.queue_len === 'number' ? st.queue_len : (st.queue || []).length;
}

/** One's own hands as `{ i, point_of_order }`, `i` being the place in the whole queue,
 * from the connection's `place` (see protocol.js), first place first. */
export function ownHands(place) {
  if (!place) return [];
  const out = [];
  if (typeof place.hand === 'number') out.push({ i: place.hand, point_of_order: false });
  if (typeof place.point_of_order === 'number') out.push({ i: place.point_of_order, point_of_order: true });
  return out.sort((a, b) => a.i - b.i);
}

/** The segment's title and guiding question. */
export function segmentHtml(model, { question = true } = {}) {
  const st = model.state;
  const seg = currentSegment(model);
  if (!st || st.phase === 'not_started') {
    return html`<div class="segment" data-testid="segment"><p class="segment-status" data-testid="segment-status">${t('meeting.not_started')}</p></div>`;
  }
  if (st.phase === 'ended') {
    return html`<div class="segment" data-testid="segment"><p class="segment-status" data-testid="segment-status">${t('meeting.ended')}</p></div>`;
  }
  if (!seg) return '';
  return html`<div class="segment" data-testid="segment">
    <div class="kind">${kindLabel(seg.kind)} · ${t('segment.position', { n: st.current + 1, total: model.agenda.segment.length })}</div>
    <h2 class="segment-title" data-testid="segment-title" translate="no" dir="auto">${seg.title}</h2>
    ${question && seg.question ? html`<p class="question" data-testid="segment-question"><span class="question-label">${t('segment.question')}</span> <span translate="no" dir="auto">${seg.question}</span></p>` : ''}
  </div>`;
}

/** Options of a language <select>. */
export function langOptions(codes, selected) {
  return codes.map((c) => html`<option value="${c}"${c === selected ? ' selected' : ''}>${langName(c)}</option>`);
}
