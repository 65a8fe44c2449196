// The agenda editor's model, pure (no DOM): which segments may change and how (the
// server's rules, PROTOCOL.md *Editing the agenda*, so the console offers only what
// will be accepted), durations as people write them, ids for new segments, and the
// `edit_agenda` operations a form's values make. The server checks everything again.

import { slug } from '../dom.js';

/**
 * What may change now. History (a segment that has been on and is not the current one)
 * never changes; the segments up to the last one that has been on stay in place
 * (`fixed` is the first index that may be inserted at, moved or removed); after the
 * end nothing changes.
 */
export function editRules(state) {
  const segs = (state && state.segments) || [];
  let last = -1;
  segs.forEach((t, i) => { if (t && t.started_at) last = i; });
  const ended = !!state && state.phase === 'ended';
  const current = state && state.phase === 'running' ? state.current : null;
  return { ended, fixed: last + 1, current, entered: (i) => !!(segs[i] && segs[i].started_at) };
}

/** `history`, `current` or `upcoming`. */
export function segmentStatus(rules, i) {
  if (rules.current === i) return 'current';
  return rules.entered(i) ? 'history' : 'upcoming';
}

/** Whether a segment's fields and people may change. */
export function canEdit(rules, i) {
  return !rules.ended && segmentStatus(rules, i) !== 'history';
}

/** Whether a segment may be moved or removed. */
export function canMove(rules, i) {
  return !rules.ended && i >= rules.fixed;
}

/** Where "any other business" goes: just after the current segment, or after the last
 * one that has been on if the chair went back (before the start: after the first). */
export function insertAfterCurrent(rules, count) {
  const afterCurrent = rules.current === null ? 1 : rules.current + 1;
  return Math.min(count, Math.max(afterCurrent, rules.fixed));
}

const ARABIC_DIGITS = /[\u0660-\u0669\u06f0-\u06f9]/g;
function asciiDigits(text) {
  return String(text).replace(ARABIC_DIGITS, (d) => String(d.charCodeAt(0) & 0xf));
}

/** Seconds from "20m", "90s", "1h30m", "4m 30s", "4:30" (minutes:seconds) or a bare
 * number of minutes ("5"); Arabic-Indic digits too. null when it is not a duration. */
export function parseDuration(text) {
  const t = asciiDigits(text).trim().toLowerCase();
  if (!t) return null;
  if (/^\d+$/.test(t)) return Number(t) * 60;
  let m = /^(\d+):([0-5]\d)$/.exec(t);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  if (!/^(\d+\s*[hms]\s*)+$/.test(t)) return null;
  let total = 0;
  const re = /(\d+)\s*([hms])/g;
  const seen = new Set();
  while ((m = re.exec(t))) {
    if (seen.has(m[2])) return null;
    seen.add(m[2]);
    total += Number(m[1]) * { h: 3600, m: 60, s: 1 }[m[2]];
  }
  return total;
}

/** "20m", "4m30s", "1h30m", "0s": how the agenda file writes durations. */
export function formatSecs(secs) {
  if (secs === null || secs === undefined) return '';
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (r || !out) out += `${r}s`;
  return out;
}

/** Longest duration the server takes (24 hours). */
export const MAX_SECS = 24 * 3600;

/** A new segment id from its title, unused in the agenda (ids are a–z, 0–9 and -). */
export function newSegmentId(title, agenda) {
  const used = new Set(agenda.segment.map((s) => s.id));
  let base = slug(title).slice(0, 48).replace(/-+$/, '') || 'segment';
  if (!/^[a-z0-9]/.test(base)) base = `segment-${base}`;
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** A person's id as the server names them (explicit, else the slug of the name). */
export function personKey(p) {
  return p.id || slug(p.name);
}

/** Where a person is in a segment: `{list: 'speakers'|'reactions', index}` or null. */
export function findInSegment(seg, id) {
  for (const list of ['speakers', 'reactions']) {
    const i = (seg[list] || []).findIndex((p) => personKey(p) === id);
    if (i >= 0) return { list, index: i };
  }
  return null;
}

const OPTIONAL_TEXT = ['title_original', 'question', 'question_original'];
const OPTIONAL_SECS = ['speech_limit', 'warning', 'danger'];

/**
 * The `set` of an update_segment from a form's values (strings, as typed), with only
 * what changed; an emptied optional field is `null` (cleared). Returns `{set, errors}`;
 * `errors` maps a field to an error key (`edit.err_*`).
 */
export function segmentChanges(seg, values) {
  const set = {};
  const errors = {};
  if (values.kind !== undefined && values.kind !== seg.kind) set.kind = values.kind;
  if (values.title !== undefined) {
    const title = values.title.trim();
    if (!title) errors.title = 'edit.err_required';
    else if (title !== seg.title) set.title = title;
  }
  for (const f of OPTIONAL_TEXT) {
    if (values[f] === undefined) continue;
    const v = values[f].trim();
    if (v && v !== (seg[f] || '')) set[f] = v;
    else if (!v && seg[f]) set[f] = null;
  }
  if (values.duration !== undefined) {
    const d = parseDuration(values.duration);
    if (d === null) errors.duration = 'edit.err_duration';
    else if (d < 1 || d > MAX_SECS) errors.duration = 'edit.err_duration_range';
    else if (d !== seg.duration) set.duration = d;
  }
  for (const f of OPTIONAL_SECS) {
    if (values[f] === undefined) continue;
    const text = values[f].trim();
    if (!text) {
      if (seg[f] !== undefined && seg[f] !== null) set[f] = null;
      continue;
    }
    const d = parseDuration(text);
    if (d === null) errors[f] = 'edit.err_duration';
    else if (d > MAX_SECS || (f === 'speech_limit' && d < 1)) errors[f] = 'edit.err_duration_range';
    else if (d !== seg[f]) set[f] = d;
  }
  return { set, errors };
}

/** A whole new segment from a form's values: `{segment, errors}`. */
export function newSegment(values, agenda) {
  const errors = {};
  const title = (values.title || '').trim();
  if (!title) errors.title = 'edit.err_required';
  const duration = parseDuration(values.duration || '');
  if (duration === null) errors.duration = 'edit.err_duration';
  else if (duration < 1 || duration > MAX_SECS) errors.duration = 'edit.err_duration_range';
  const segment = { id: newSegmentId(title, agenda), kind: values.kind || 'open_floor', title, duration };
  const question = (values.question || '').trim();
  if (question) segment.question = question;
  const limitText = (values.speech_limit || '').trim();
  if (limitText) {
    const limit = parseDuration(limitText);
    if (limit === null) errors.speech_limit = 'edit.err_duration';
    else if (limit < 1 || limit > MAX_SECS) errors.speech_limit = 'edit.err_duration_range';
    else segment.speech_limit = limit;
  }
  return { segment, errors };
}

const PERSON_TEXT = ['title', 'affiliation', 'country'];

/** Whether a text is an address the booths' text may have (`https://` with a host). */
export function isHttpsUrl(text) {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' && !!u.hostname && text.length <= 500;
  } catch {
    return false;
  }
}

/** A new person from a form's values: `{person, errors}`. */
export function newPerson(values) {
  const errors = {};
  const name = (values.name || '').trim();
  if (!name) errors.name = 'edit.err_required';
  const person = { name, language: values.language };
  for (const f of PERSON_TEXT) {
    const v = (values[f] || '').trim();
    if (v) person[f] = v;
  }
  const url = (values.text_url || '').trim();
  if (url) {
    if (isHttpsUrl(url)) person.text_url = url;
    else errors.text_url = 'edit.err_url';
  }
  return { person, errors };
}

/** The `set` of an update_speaker (only what changed, emptied fields `null`). */
export function personChanges(p, values) {
  const set = {};
  const errors = {};
  if (values.name !== undefined) {
    const name = values.name.trim();
    if (!name) errors.name = 'edit.err_required';
    else if (name !== p.name) set.name = name;
  }
  for (const f of PERSON_TEXT) {
    if (values[f] === undefined) continue;
    const v = values[f].trim();
    if (v && v !== (p[f] || '')) set[f] = v;
    else if (!v && p[f]) set[f] = null;
  }
  if (values.language !== undefined && values.language !== p.language) set.language = values.language;
  return { set, errors };
}

/** The text or slides the booths see for a person: the chair's, else the agenda's. */
export function boothText(model, id, p) {
  const texts = (model.state && model.state.interpretation && model.state.interpretation.texts) || [];
  const entry = texts.find((x) => x.person === id);
  if (entry) return entry.url || '';
  return (p && p.text_url) || '';
}

/** An agenda text or a name inside a sentence of the interface, isolated (FSI … PDI) so
 * that its own direction does not reorder the sentence: an English title in an Arabic
 * heading keeps its question mark at its end. */
export function iso(text) {
  return `\u2068${text}\u2069`;
}
