// The pieces of the host and moderator console, as pure renderers of the state: the
// banner (no-interpretation alert, the moderator's role, the end with the report), the
// segment, the two clocks with their controls, navigation, the floor, the alerts and
// the queue's controls. `who` says what this console may do now (see consoleRole).

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { formatDuration } from '../clock.js';
import { personId } from '../dom.js';
import { queueSwitchesHtml } from './host-desk.js';
import {
  clockHtml, currentSegment, segmentHtml, drift, driftText, fmtTime, langName, viewerZone, personDetails,
  segmentsModeratedBy, segTitle, textHtml, expectedStart, relativeText, plannedAt, zoneName, timeRange,
  speechSignals,
} from './common.js';
import { icon } from './icons.js';

/**
 * What the console may do now: `{host, moderator, mine, active, ended, reason}`.
 * `active` is false after the end, before the start, and for a moderator outside
 * their segments; `reason` then says why (shown beside the disabled controls).
 */
export function consoleRole(model, role, { offline = false } = {}) {
  const st = model.state;
  const host = role === 'host';
  const you = model.you || {};
  const mine = !host && you.person ? segmentsModeratedBy(model.agenda, you.person) : [];
  const ended = st.phase === 'ended';
  const running = st.phase === 'running';
  let active = running && (host || mine.includes(st.current));
  let reason = '';
  if (ended) reason = t('host.ended_disabled');
  else if (!running) reason = host ? '' : t('mod.before_start');
  else if (!active) reason = mine.length ? t('mod.outside') : t('mod.none');
  if (offline && active) {
    active = false;
    reason = t('host.offline_disabled');
  }
  return { host, moderator: !host, mine, active, ended, running, reason };
}

/** Attributes of a control that is off for now: still focusable (focus stays where it
 * was), described by the console's reason when there is one. */
function offFor(who) {
  return (on) => (on ? '' : html` aria-disabled="true"${who.reason ? html` aria-describedby="console-reason"` : ''}`);
}

/** The moderator's own line: "You moderate Round 2 — 16:30–16:50 (in 18 min)". */
function moderatorLine(model, now, who) {
  const st = model.state;
  if (!who.moderator) return '';
  if (!who.mine.length) return html`<p class="role-line" data-testid="moderator-role">${t('mod.none')}</p>`;
  const mz = model.agenda.meeting.time_zone;
  const upcoming = who.mine.find((i) => st.phase !== 'running' || i >= st.current);
  const i = upcoming ?? who.mine[who.mine.length - 1];
  const seg = model.agenda.segment[i];
  const times = `${timeRange(plannedAt(model, i), plannedAt(model, i + 1), mz)} ${zoneName(mz, plannedAt(model, i))}`;
  let rel = '';
  if (st.phase === 'running' && st.current === i) rel = t('mod.on_now');
  else if (upcoming !== undefined && st.phase !== 'ended') {
    const at = expectedStart(model, i, now);
    if (at !== null && at > now) rel = relativeText(at - now);
  } else rel = t('mod.done');
  const others = who.mine.filter((j) => j !== i).map((j) => segTitle(model, model.agenda.segment[j]).text);
  return html`<p class="role-line" data-testid="moderator-role">${icon('mic')}<span>${t('mod.you_moderate')} <strong>${textHtml(segTitle(model, seg))}</strong> — ${times}${rel ? html` (<span data-testid="moderator-when">${rel}</span>)` : ''}${others.length ? html` · ${t('mod.also', { segments: others.join(' · ') })}` : ''}</span></p>`;
}

/** The banner above the console: the no-interpretation alert (unmissable), the
 * moderator's role, and after the end the report. */
export function bannerHtml(model, now, who, dismissed) {
  const st = model.state;
  const vz = viewerZone();
  const ni = st.no_interpretation;
  const alert = ni && dismissed.no_interpretation !== ni.n
    ? html`<div class="big-alert" role="alert" data-testid="no-interpretation-banner">
        ${icon('alert')}<span class="big-alert-text">${t('alert.no_interpretation', { booth: ni.language ? langName(ni.language) : t('interp.booth_unknown') })}</span>
        <span class="big-alert-time">${fmtTime(ni.at, vz)}</span>
        <button type="button" class="small" data-action="dismiss" data-kind="no_interpretation" data-n="${ni.n}" data-focus="dismiss-ni">${t('host.dismiss')}</button>
      </div>` : '';
  const end = who.ended ? html`<div class="ended-line" data-testid="ended-line">
      <span>${t('host.ended_at', { time: st.ended_at ? fmtTime(st.ended_at, vz) : '' })}</span>
      ${who.host ? html`<span class="report-links">${t('host.report')}
        <button type="button" class="small" data-action="report" data-format="csv" data-testid="report-csv">${t('host.report_csv')}</button>
        <button type="button" class="small" data-action="report" data-format="json" data-testid="report-json">${t('host.report_json')}</button></span>` : ''}
    </div>` : '';
  const reason = who.reason ? html`<p class="console-reason" id="console-reason" data-testid="console-reason">${who.reason}</p>` : '';
  return html`${alert}${moderatorLine(model, now, who)}${end}${reason}`;
}

/** The segment, the drift and who speaks. */
export function nowHtml(model, now, { questionOpen }) {
  const st = model.state;
  const sp = st.speech && st.speech.speaker;
  return html`${segmentHtml(model, { question: 'collapsible', open: questionOpen })}
    ${st.phase === 'running' ? html`<p class="now-line">
      <span class="drift" data-testid="drift" data-drift>${driftText(drift(model, now))}</span>
      ${sp ? html`<span class="now-speaker" data-testid="current-speaker"><span class="muted">${t('speaker.now')}:</span> <strong data-testid="current-speaker-name" translate="no" dir="auto">${sp.name}</strong> <span class="badge lang" data-testid="current-speaker-language">${langName(sp.language)}</span></span>`
        : html`<span class="now-speaker muted" data-testid="current-speaker">${t('speaker.nobody')}</span>`}
    </p>` : ''}`;
}

function toggleLabel(clock) {
  if (!clock) return t('host.start_clock');
  if (clock.state === 'running') return t('host.pause');
  if (clock.state === 'paused') return t('host.resume');
  return t('host.start_clock');
}

/** The two clocks, each with its own controls right under it. */
export function clocksHtml(model, now, who) {
  const off = offFor(who);
  const st = model.state;
  if (st.phase === 'not_started') {
    return who.host
      ? html`<div class="controls"><button type="button" class="primary big" data-action="start-meeting" data-testid="start-meeting" data-focus="primary">${t('host.start_meeting')}</button></div>`
      : html`<p class="muted">${t('mod.before_start')}</p>`;
  }
  if (st.phase === 'ended') return '';
  const sp = st.speech;
  const on = who.active;
  return html`<div class="clock-cards">
    <div class="clock-card" role="group" aria-label="${t('clock.segment')}">
      ${clockHtml('segment', model, now)}
      <div class="controls tight">
        <button type="button" class="primary" data-action="segment-toggle" data-testid="segment-toggle" data-focus="primary"${off(on)}>${toggleLabel(st.segment_clock)}</button>
        <button type="button" data-action="segment-plus" data-testid="segment-plus"${off(on)}>${t('host.plus_minute')}</button>
        <button type="button" data-action="segment-minus" data-testid="segment-minus"${off(on)}>${t('host.minus_minute')}</button>
      </div>
    </div>
    <div class="clock-card" role="group" aria-label="${t('clock.speech')}">
      ${sp ? clockHtml('speech', model, now) : html`<div class="clock clock-medium idle" data-testid="speech-clock-idle"><div class="clock-label">${t('clock.speech')}</div><div class="clock-idle">${t('speaker.nobody')}</div></div>`}
      ${sp ? html`<div class="controls tight">
        <button type="button" data-action="speech-toggle" data-testid="speech-toggle" data-focus="speech"${off(on)}>${toggleLabel(sp.clock)}</button>
        <button type="button" data-action="speech-plus" data-testid="speech-plus"${off(on)}>${t('host.plus_minute')}</button>
        <button type="button" data-action="speech-minus" data-testid="speech-minus"${off(on)}>${t('host.minus_minute')}</button>
        <button type="button" class="danger" data-action="end-speech" data-testid="end-speech" data-focus="speech"${off(on)}>${t('host.end_speech')}</button>
      </div>` : ''}
    </div>
  </div>`;
}

/** Previous, next, jump, end. A moderator jumps only between their own segments. */
export function navHtml(model, who) {
  const off = offFor(who);
  const st = model.state;
  if (st.phase !== 'running') return '';
  const segs = model.agenda.segment;
  const on = who.active;
  const targets = segs.map((s, i) => ({ s, i })).filter(({ i }) => who.host || who.mine.includes(i));
  return html`<div class="controls nav-controls" role="group" aria-label="${t('host.navigation')}">
    <button type="button" data-action="prev-segment" data-testid="prev-segment"${off(on && st.current > 0)}>${t('host.previous')}</button>
    <button type="button" data-action="next-segment" data-testid="next-segment"${off(on && st.current < segs.length - 1)}>${t('host.next')}</button>
    <span class="jump">
      <label for="jump-select" class="visually-hidden">${t('host.jump_label')}</label>
      <select id="jump-select" data-testid="jump-select"${on ? '' : html` aria-disabled="true"`}>
        ${targets.map(({ s, i }) => html`<option value="${s.id}"${i === st.current ? ' selected' : ''} translate="no" dir="auto">${i + 1}. ${segTitle(model, s).text}</option>`)}
      </select>
      <button type="button" data-action="jump" data-testid="jump-go"${off(on)}>${t('host.jump')}</button>
    </span>
    ${who.host ? html`<button type="button" class="danger" data-action="end-meeting" data-testid="end-meeting"${off(on)}>${t('host.end_meeting')}</button>` : ''}
  </div>`;
}

/** The named speakers of the segment (compact rows) and the next-hand button. */
export function floorHtml(model, who) {
  const off = offFor(who);
  const st = model.state;
  const seg = currentSegment(model);
  if (st.phase !== 'running' || !seg) return html`<p class="muted">${st.phase === 'ended' ? t('host.ended_disabled') : t('host.floor_idle')}</p>`;
  const spoken = new Map();
  for (const r of st.history || []) {
    if (r.segment === st.current && r.speaker.person) spoken.set(r.speaker.person, (spoken.get(r.speaker.person) || 0) + r.spoken_ms);
  }
  const holder = st.speech && st.speech.speaker.person;
  const row = (p, kind) => {
    const id = personId(p);
    const holding = holder === id;
    return html`<li class="named-speaker${holding ? ' holding' : ''}" data-testid="named-speaker" data-person="${id}">
      <span class="who"><span class="name" translate="no" dir="auto">${p.name}</span>
        <span class="details" translate="no" dir="auto">${personDetails(p)}</span></span>
      <span class="meta"><span class="badge">${kind}</span>
        <span class="badge lang">${langName(p.language)}</span>
        ${spoken.has(id) ? html`<span class="badge spoke">${t('host.spoke_for', { time: formatDuration(spoken.get(id)) })}</span>` : ''}
        ${holding ? html`<span class="badge now">${t('host.has_floor')}</span>` : ''}</span>
      <button type="button" class="primary small" data-action="give-floor" data-person="${id}" data-testid="give-floor-${id}" aria-label="${t('host.give_floor_name', { name: p.name })}"${off(who.active && !holding)}>${t('host.floor_short')}</button>
    </li>`;
  };
  const speakers = (seg.speakers || []).map((p) => row(p, t('host.speaker')));
  const reactions = (seg.reactions || []).map((p) => row(p, t('host.reaction')));
  const hasHands = (st.queue || []).length > 0;
  return html`
    ${speakers.length || reactions.length ? html`<ul class="named-speakers">${speakers}${reactions}</ul>` : html`<p class="muted">${t('host.no_named')}</p>`}
    <div class="controls tight">
      <button type="button" class="primary" data-action="floor-next" data-testid="floor-next-hand" data-focus="floor-next"${off(who.active && hasHands)}>${t('host.floor_next_hand')}</button>
    </div>`;
}

/** Alerts from the booths and the speaker, and the last message sent; `extra` (the
 * booths' alerts and the relay, host-desk.js) come first. */
export function alertsHtml(model, dismissed, extra = []) {
  const st = model.state;
  const vz = viewerZone();
  const items = [...extra];
  const add = (kind, sig, text) => {
    if (!sig || dismissed[kind] === sig.n) return;
    items.push(html`<li class="alert alert-${kind}" data-testid="alert-${kind}">
      <span class="alert-text">${text}</span> <span class="muted">${fmtTime(sig.at, vz)}</span>
      <button type="button" class="small" data-action="dismiss" data-kind="${kind}" data-n="${sig.n}" data-focus="dismiss-${kind}">${t('host.dismiss')}</button></li>`);
  };
  const booth = (sig) => (sig.language ? langName(sig.language) : t('interp.booth_unknown'));
  const { message, slow } = speechSignals(st);
  // The no-interpretation alert is the banner above the console (bannerHtml).
  add('slow_down', slow, slow && t('alert.slow_down', { booth: booth(slow) }));
  add('speaker_done', st.speaker_done, t('alert.speaker_done'));
  if (message) {
    items.push(html`<li class="alert alert-info" data-testid="last-message">${t('host.last_message')} <q translate="no" dir="auto">${message.text}</q> <span class="muted">${fmtTime(message.at, vz)}</span></li>`);
  }
  if (!items.length) return html`<p class="muted">${t('host.no_alerts')}</p>`;
  return html`<ul class="alerts">${items}</ul>`;
}

/** Close/reopen and clear the queue, and its options (folded). */
export function queueControlsHtml(model, who, { optionsOpen }) {
  const off = offFor(who);
  const st = model.state;
  const check = (action, testid, on, label, enabled) => html`<label class="toggle">
      <input type="checkbox" data-action="${action}" data-testid="${testid}"${on ? ' checked' : ''}${enabled ? '' : html` disabled`}> ${label}</label>`;
  const on = who.active;
  // Hands may be raised before the start: the queue can be moderated then too.
  const canQueue = who.host ? !who.ended : on;
  return html`<div class="controls tight">
      ${queueSwitchesHtml(model, who, canQueue)}
      <button type="button" class="danger" data-action="queue-clear" data-testid="queue-clear"${off(canQueue && (st.queue || []).length > 0)}>${t('host.clear_queue')}</button>
    </div>
    <details class="fold options" data-testid="queue-options"${optionsOpen ? ' open' : ''}>
      <summary>${t('host.queue_options')}</summary>
      <div class="toggles">
        ${check('toggle-priority', 'toggle-priority', st.not_yet_spoken_first, t('host.not_yet_spoken_first'), canQueue)}
        ${who.host ? check('toggle-observers', 'toggle-observers', st.observers_may_raise_hand, t('host.observer_hands'), !who.ended) : ''}
        ${who.host ? check('toggle-auto', 'toggle-auto', st.auto_advance, t('host.auto_advance'), !who.ended) : ''}
      </div>
    </details>`;
}

/** Who has spoken, latest first. */
export function historyHtml(model) {
  const st = model.state;
  const hist = (st && st.history) || [];
  if (!hist.length) return html`<p class="muted">${t('host.history_empty')}</p>`;
  return html`<ol class="history" data-testid="history">${[...hist].reverse().map((r) => html`<li>
    <span class="name" translate="no" dir="auto">${r.speaker.name}</span>
    <span class="badge lang">${langName(r.speaker.language)}</span>
    <span class="spoken" dir="ltr">${formatDuration(r.spoken_ms)}</span>
    ${r.over_limit ? html`<span class="badge over">${t('host.over_limit')}</span>` : ''}
    <span class="muted">${model.agenda.segment[r.segment] ? textHtml(segTitle(model, model.agenda.segment[r.segment])) : ''}</span>
  </li>`)}</ol>`;
}
