// Pieces every view shares: times and zones, the agenda's texts (French originals in the
// French interface), the schedule (planned, expected, drift), the agenda list, the
// segment, the current speaker, the signals addressed to the speech in progress, and
// errors. Clocks live in clocks.js and the queue in queue.js (re-exported here). They
// only render state; they never talk to the server.

import { html, slug as slugOf } from '../dom.js';
import { t, locale, getLang } from '../i18n/index.js';
import { formatDuration, remaining } from '../clock.js';

export { clockHtml, clockFor, clockNote, tick, thresholds, riseText } from './clocks.js';
export { queueHtml, queueLength, ownHands, myPlaces } from './queue.js';

/** The viewer's own time zone. */
export function viewerZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

const fmtCache = new Map();
function formatter(tz, kind) {
  const key = `${locale()}|${tz}|${kind}`;
  if (!fmtCache.has(key)) {
    let opts;
    if (kind === 'date') opts = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' };
    else opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    if (kind === 'zone') opts.timeZoneName = 'short';
    if (tz) opts.timeZone = tz;
    let f;
    try { f = new Intl.DateTimeFormat(locale(), opts); } catch { f = new Intl.DateTimeFormat(locale(), { ...opts, timeZone: 'UTC' }); }
    fmtCache.set(key, f);
  }
  return fmtCache.get(key);
}

/** "16:05" in zone `tz`. */
export function fmtTime(ms, tz) {
  if (ms === null || ms === undefined) return '';
  return formatter(tz, 'time').format(new Date(ms));
}

/** "Friday 22 January 2021" in zone `tz`, in the interface language. */
export function fmtDate(ms, tz) {
  if (ms === null || ms === undefined) return '';
  return formatter(tz, 'date').format(new Date(ms));
}

/** The short name of zone `tz` at time `ms` ("CET", "UTC+1"). */
export function zoneName(tz, ms) {
  try {
    const parts = formatter(tz, 'zone').formatToParts(new Date(ms || 0));
    const z = parts.find((p) => p.type === 'timeZoneName');
    return z ? z.value : tz;
  } catch {
    return tz;
  }
}

/** "16:00–18:00" kept left to right inside any text (bidi isolate). */
export function timeRange(a, b, tz) {
  return `\u2066${fmtTime(a, tz)}–${fmtTime(b, tz)}\u2069`;
}

/** "in 18 min", "in 2 h 05 min", "now" — from `ms` ahead. */
export function relativeText(ms) {
  if (ms <= 30000) return t('time.now');
  const min = Math.ceil(ms / 60000);
  if (min < 120) return t('time.in_min', { n: min });
  return t('time.in_h', { h: Math.floor(min / 60), m: String(min % 60).padStart(2, '0') });
}

/** Name of a floor language in the interface language. */
export function langName(code) {
  if (!code) return '';
  const s = t(`lang.${code}`);
  return s === `lang.${code}` ? code : s;
}

/**
 * A text of the agenda in the interface language: the original (`title_original`,
 * `question_original`) when the interface speaks the agenda's original language, else
 * the translation. Returns `{text, lang}`; `lang` is set when the text is the original.
 */
export function agendaText(model, obj, field) {
  if (!obj) return { text: '', lang: null };
  const orig = obj[`${field}_original`];
  const ol = model && model.agenda && model.agenda.meeting.original_language;
  if (orig && ol && getLang() === ol) return { text: orig, lang: ol };
  return { text: obj[field] || orig || '', lang: obj[field] ? null : ol || null };
}

/** A segment's title in the interface language (see agendaText). */
export function segTitle(model, seg) {
  return agendaText(model, seg, 'title');
}

/** Markup for an agenda text: kept as written (translate="no"), its own direction and
 * language. */
export function textHtml({ text, lang }, cls = '', testid = '') {
  return html`<span class="${cls}"${testid ? html` data-testid="${testid}"` : ''} translate="no" dir="auto"${lang ? html` lang="${lang}"` : ''}>${text}</span>`;
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

/** When segment i starts: its actual start once entered, else the best guess from the
 * running clock and the planned durations in between, else (not started) the plan. */
export function expectedStart(model, i, now) {
  const st = model.state;
  if (!st || !model.agenda) return null;
  if (st.phase === 'not_started') return plannedAt(model, i);
  const seen = st.segments && st.segments[i];
  if (st.phase === 'ended' || i <= st.current) return seen && seen.started_at ? seen.started_at : null;
  let at = now + Math.max(0, remaining(st.segment_clock, now));
  for (let j = st.current + 1; j < i; j++) at += (model.agenda.segment[j].duration || 0) * 1000;
  return at;
}

/** Drift of the schedule in ms (positive: late), or null before the meeting runs. */
export function drift(model, now) {
  const st = model.state;
  if (!st || st.phase !== 'running' || st.current === undefined || st.current === null) return null;
  const plannedEnd = plannedAt(model, st.current + 1);
  if (plannedEnd === null) return null;
  const rem = remaining(st.segment_clock, now);
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

/** Indexes of the segments where person `id` is a named speaker or reaction. */
export function segmentsOfSpeaker(agenda, id) {
  const out = [];
  agenda.segment.forEach((s, i) => {
    if ([...(s.speakers || []), ...(s.reactions || [])].some((p) => (p.id || slugOf(p.name)) === id)) out.push(i);
  });
  return out;
}

/** Indexes of the segments that person `id` moderates. */
export function segmentsModeratedBy(agenda, id) {
  const out = [];
  agenda.segment.forEach((s, i) => {
    if (s.moderator && (s.moderator.id || slugOf(s.moderator.name)) === id) out.push(i);
  });
  return out;
}

/** The speech in progress and whether `you` (welcome identity) holds it. */
export function holdsFloor(model) {
  const st = model.state;
  const you = model.you;
  if (!st || !st.speech || !you) return false;
  const sp = st.speech.speaker;
  if (you.person) return sp.person === you.person;
  if (you.participant !== undefined && you.participant !== null) return sp.participant === you.participant;
  return false;
}

/**
 * The signals addressed to the speech in progress: `{message, slow}`. They belong to
 * the speech (`state.speech.message`, `state.speech.slow_down`) and end with it; with a
 * server that still sends them at the top level, only those sent during this speech
 * count.
 */
export function speechSignals(st) {
  const sp = st && st.speech;
  if (!sp) return { message: null, slow: null };
  const since = sp.started_at;
  const pick = (own, top) => {
    if (own !== undefined) return own || null;
    return top && top.at >= since ? top : null;
  };
  return { message: pick(sp.message, st.speaker_message), slow: pick(sp.slow_down, st.slow_down) };
}

/** Who comes next in the current segment: named speakers and reactions not yet heard
 * (nor speaking), then the first hands. */
export function nextUp(model, { hands = 3 } = {}) {
  const st = model.state;
  const seg = currentSegment(model);
  if (!st || !seg || st.phase !== 'running') return [];
  const heard = new Set((st.history || []).filter((r) => r.segment === st.current && r.speaker.person).map((r) => r.speaker.person));
  const now = st.speech && st.speech.speaker.person;
  const named = [...(seg.speakers || []), ...(seg.reactions || [])]
    .filter((p) => !heard.has(p.id || slugOf(p.name)) && (p.id || slugOf(p.name)) !== now)
    .map((p) => ({ name: p.name, language: p.language }));
  const q = (st.queue || []).slice(0, hands).map((h) => ({ name: h.name, language: h.language, hand: true }));
  return [...named, ...q];
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
        <span class="planned" data-testid="planned-time"><span class="visually-hidden">${t('agenda.planned')} </span>${timeRange(start, end, mz)} <span class="zone">${zoneName(mz, start)}</span></span>
        ${sameZone ? '' : html`<span class="viewer-time" data-testid="viewer-time">${t('agenda.your_time', { time: timeRange(start, end, vz) })}</span>`}
      </div>
      <div class="agenda-main">
        <span class="kind">${kindLabel(seg.kind)}</span>
        ${isCurrent ? html`<span class="badge now">${t('agenda.now')}</span>` : ''}
        ${textHtml(segTitle(model, seg), 'agenda-title')}
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

/** The segment's title and guiding question (the question folds away when
 * `question` is "collapsible"). */
export function segmentHtml(model, { question = true, open = false } = {}) {
  const st = model.state;
  const seg = currentSegment(model);
  if (!st || st.phase === 'not_started') {
    return html`<div class="segment" data-testid="segment"><p class="segment-status" data-testid="segment-status">${t('meeting.not_started')}</p></div>`;
  }
  if (st.phase === 'ended') {
    return html`<div class="segment" data-testid="segment"><p class="segment-status" data-testid="segment-status">${t('meeting.ended')}</p></div>`;
  }
  if (!seg) return '';
  const q = agendaText(model, seg, 'question');
  const qHtml = html`<span class="question-label">${t('segment.question')}</span> ${textHtml(q)}`;
  return html`<div class="segment" data-testid="segment">
    <div class="kind">${kindLabel(seg.kind)} · ${t('segment.position', { n: st.current + 1, total: model.agenda.segment.length })}</div>
    <h2 class="segment-title" dir="auto">${textHtml(segTitle(model, seg), '', 'segment-title')}</h2>
    ${question && q.text ? (question === 'collapsible'
      ? html`<details class="question-fold" data-testid="segment-question-fold"${open ? html` open` : ''}><summary>${t('segment.show_question')}</summary><p class="question" data-testid="segment-question" tabindex="0">${qHtml}</p></details>`
      : html`<p class="question" data-testid="segment-question">${qHtml}</p>`) : ''}
  </div>`;
}

/** The languages that may be spoken on the floor: the booths' (`meeting.languages`) and
 * those a relay rule of the agenda's `interpretation` covers (PROTOCOL.md). */
export function floorLanguages(agenda) {
  const out = [...agenda.meeting.languages];
  for (const r of (agenda.interpretation && agenda.interpretation.relay) || []) {
    if (!out.includes(r.floor)) out.push(r.floor);
  }
  return out;
}

/** Options of a language <select>. */
export function langOptions(codes, selected) {
  return codes.map((c) => html`<option value="${c}"${c === selected ? ' selected' : ''}>${langName(c)}</option>`);
}
