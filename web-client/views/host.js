// The host console (also the segment moderators'): agenda with planned and actual
// times and drift, both clocks, floor, queue moderation, messages, toggles, alerts
// and keyboard shortcuts.

import { html, patch, personId, isTyping } from '../dom.js';
import { t } from '../i18n/index.js';
import { formatDuration } from '../clock.js';
import {
  agendaHtml, clockHtml, currentSpeakerHtml, queueHtml, segmentHtml, currentSegment,
  drift, driftText, fmtTime, langName, viewerZone, personDetails, tick,
} from './common.js';

const SHORTCUTS = [
  ['Space', 'shortcut.space'],
  ['→', 'shortcut.right'],
  ['←', 'shortcut.left'],
  ['N', 'shortcut.n'],
  ['E', 'shortcut.e'],
  ['+', 'shortcut.plus'],
  ['−', 'shortcut.minus'],
];

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  const dismissed = ctx.viewMemory.dismissed || (ctx.viewMemory.dismissed = {});

  root.innerHTML = String(html`
    <div class="host-grid">
      <section class="panel now-panel" aria-labelledby="now-h">
        <h2 id="now-h" class="panel-title">${t('host.now')}</h2>
        <div data-part="now"></div>
        <div data-part="controls"></div>
      </section>
      <section class="panel floor-panel" aria-labelledby="floor-h">
        <h2 id="floor-h" class="panel-title">${t('host.floor')}</h2>
        <div data-part="floor"></div>
        <form class="message-form" data-form="message">
          <label for="msg-input">${t('host.message_label')}</label>
          <div class="row">
            <input id="msg-input" type="text" maxlength="200" data-testid="message-input" placeholder="${t('host.message_placeholder')}" autocomplete="off">
            <button type="submit" data-testid="message-send">${t('host.message_send')}</button>
          </div>
        </form>
      </section>
      <section class="panel queue-panel" aria-labelledby="queue-h">
        <h2 id="queue-h" class="panel-title">${t('queue.title')}</h2>
        <div data-part="queue-controls"></div>
        <div data-part="queue"></div>
      </section>
      <section class="panel alerts-panel" aria-labelledby="alerts-h">
        <h2 id="alerts-h" class="panel-title">${t('host.alerts')}</h2>
        <div data-part="alerts"></div>
      </section>
      <section class="panel agenda-panel" aria-labelledby="agenda-h">
        <h2 id="agenda-h" class="panel-title">${t('agenda.title')}</h2>
        <div data-part="agenda"></div>
      </section>
      <section class="panel history-panel" aria-labelledby="history-h">
        <h2 id="history-h" class="panel-title">${t('host.history')}</h2>
        <div data-part="history"></div>
      </section>
      <section class="panel help-panel" aria-labelledby="help-h" data-testid="shortcuts-help">
        <h2 id="help-h" class="panel-title">${t('shortcut.title')}</h2>
        <dl class="shortcuts">
          ${SHORTCUTS.map(([k, key]) => html`<div><dt><kbd dir="ltr">${k === 'Space' ? t('shortcut.space_key') : k}</kbd></dt><dd>${t(key)}</dd></div>`)}
        </dl>
        <p class="muted">${t('shortcut.note')}</p>
      </section>
    </div>`);

  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const send = (cmd) => ctx.send(cmd);

  function segToggleCommand() {
    const c = model.state && model.state.segment_clock;
    if (!c) return null;
    if (c.state === 'running') return { type: 'pause_clock', target: 'segment' };
    if (c.state === 'paused') return { type: 'resume_clock', target: 'segment' };
    return { type: 'start_clock', target: 'segment' };
  }
  function speechToggleCommand() {
    const sp = model.state && model.state.speech;
    if (!sp) return null;
    if (sp.clock.state === 'running') return { type: 'pause_clock', target: 'speech' };
    if (sp.clock.state === 'paused') return { type: 'resume_clock', target: 'speech' };
    return { type: 'start_clock', target: 'speech' };
  }
  function toggleLabel(clock) {
    if (!clock) return t('host.start_clock');
    if (clock.state === 'running') return t('host.pause');
    if (clock.state === 'paused') return t('host.resume');
    return t('host.start_clock');
  }

  function renderNow(now) {
    const st = model.state;
    if (!st) return '';
    const d = drift(model, now);
    return html`
      ${segmentHtml(model)}
      ${st.phase === 'running' ? html`<p class="drift" data-testid="drift" data-drift aria-live="off">${driftText(d)}</p>` : ''}
      ${currentSpeakerHtml(model)}
      <div class="clocks">
        ${st.phase === 'running' ? clockHtml('segment', model, now) : ''}
        ${st.speech ? clockHtml('speech', model, now) : ''}
      </div>`;
  }

  function renderControls() {
    const st = model.state;
    if (!st) return '';
    if (st.phase === 'not_started') {
      return html`<div class="controls"><button type="button" class="primary big" data-action="start-meeting" data-testid="start-meeting">${t('host.start_meeting')}</button></div>`;
    }
    if (st.phase === 'ended') return '';
    const segs = model.agenda.segment;
    const sp = st.speech;
    return html`
      <div class="controls" role="group" aria-labelledby="grp-seg">
        <span class="group-label" id="grp-seg">${t('clock.segment')}</span>
        <button type="button" class="primary" data-action="segment-toggle" data-testid="segment-toggle">${toggleLabel(st.segment_clock)}</button>
        <button type="button" data-action="segment-plus" data-testid="segment-plus">${t('host.plus_minute')}</button>
        <button type="button" data-action="segment-minus" data-testid="segment-minus">${t('host.minus_minute')}</button>
      </div>
      ${sp ? html`<div class="controls" role="group" aria-labelledby="grp-speech">
        <span class="group-label" id="grp-speech">${t('clock.speech')}</span>
        <button type="button" data-action="speech-toggle" data-testid="speech-toggle">${toggleLabel(sp.clock)}</button>
        <button type="button" data-action="speech-plus" data-testid="speech-plus">${t('host.plus_minute')}</button>
        <button type="button" data-action="speech-minus" data-testid="speech-minus">${t('host.minus_minute')}</button>
        <button type="button" class="danger" data-action="end-speech" data-testid="end-speech">${t('host.end_speech')}</button>
      </div>` : ''}
      <div class="controls" role="group" aria-labelledby="grp-nav">
        <span class="group-label" id="grp-nav">${t('host.navigation')}</span>
        <button type="button" data-action="prev-segment" data-testid="prev-segment" ${st.current === 0 ? 'disabled' : ''}>${t('host.previous')}</button>
        <button type="button" data-action="next-segment" data-testid="next-segment" ${st.current >= segs.length - 1 ? 'disabled' : ''}>${t('host.next')}</button>
        <span class="jump">
          <label for="jump-select" class="visually-hidden">${t('host.jump_label')}</label>
          <select id="jump-select" data-testid="jump-select">
            ${segs.map((s, i) => html`<option value="${s.id}"${i === st.current ? ' selected' : ''} translate="no" dir="auto">${i + 1}. ${s.title}</option>`)}
          </select>
          <button type="button" data-action="jump" data-testid="jump-go">${t('host.jump')}</button>
        </span>
        <button type="button" class="danger" data-action="end-meeting" data-testid="end-meeting">${t('host.end_meeting')}</button>
      </div>`;
  }

  function renderFloor() {
    const st = model.state;
    const seg = currentSegment(model);
    if (!st || st.phase !== 'running' || !seg) return html`<p class="muted">${t('host.floor_idle')}</p>`;
    const spoken = new Map();
    for (const r of st.history || []) {
      if (r.segment === st.current && r.speaker.person) spoken.set(r.speaker.person, (spoken.get(r.speaker.person) || 0) + r.spoken_ms);
    }
    const holder = st.speech && st.speech.speaker.person;
    const row = (p, kind) => {
      const id = personId(p);
      return html`<li class="named-speaker${holder === id ? ' holding' : ''}" data-testid="named-speaker" data-person="${id}">
        <span class="who"><span class="name" translate="no" dir="auto">${p.name}</span>
          <span class="details" translate="no" dir="auto">${personDetails(p)}</span></span>
        <span class="meta"><span class="badge">${kind}</span>
          <span class="badge lang">${langName(p.language)}</span>
          ${spoken.has(id) ? html`<span class="badge spoke">${t('host.spoke_for', { time: formatDuration(spoken.get(id)) })}</span>` : ''}
          ${holder === id ? html`<span class="badge now">${t('host.has_floor')}</span>` : ''}</span>
        <button type="button" class="primary small" data-action="give-floor" data-person="${id}" data-testid="give-floor-${id}" ${holder === id ? 'disabled' : ''}>${t('host.give_floor')}</button>
      </li>`;
    };
    const speakers = (seg.speakers || []).map((p) => row(p, t('host.speaker')));
    const reactions = (seg.reactions || []).map((p) => row(p, t('host.reaction')));
    return html`
      ${speakers.length || reactions.length ? html`<ul class="named-speakers">${speakers}${reactions}</ul>` : html`<p class="muted">${t('host.no_named')}</p>`}
      <div class="controls">
        <button type="button" class="primary" data-action="floor-next" data-testid="floor-next-hand" ${st.queue.length ? '' : 'disabled'}>${t('host.floor_next_hand')}</button>
      </div>`;
  }

  function renderQueueControls() {
    const st = model.state;
    if (!st) return '';
    const check = (action, testid, on, label) => html`<label class="toggle">
      <input type="checkbox" data-action="${action}" data-testid="${testid}"${on ? ' checked' : ''}> ${label}</label>`;
    return html`<div class="controls">
        <button type="button" data-action="queue-toggle" data-testid="queue-toggle">${st.queue_open ? t('host.close_queue') : t('host.reopen_queue')}</button>
        <button type="button" class="danger" data-action="queue-clear" data-testid="queue-clear" ${st.queue.length ? '' : 'disabled'}>${t('host.clear_queue')}</button>
      </div>
      <div class="toggles">
        ${check('toggle-priority', 'toggle-priority', st.not_yet_spoken_first, t('host.not_yet_spoken_first'))}
        ${check('toggle-observers', 'toggle-observers', st.observers_may_raise_hand, t('host.observer_hands'))}
        ${check('toggle-auto', 'toggle-auto', st.auto_advance, t('host.auto_advance'))}
      </div>`;
  }

  function renderAlerts() {
    const st = model.state;
    if (!st) return '';
    const vz = viewerZone();
    const items = [];
    const add = (kind, sig, text) => {
      if (!sig || dismissed[kind] === sig.n) return;
      items.push(html`<li class="alert alert-${kind}" data-testid="alert-${kind}">
        <span>${text}</span> <span class="muted">${fmtTime(sig.at, vz)}</span>
        <button type="button" class="small" data-action="dismiss" data-kind="${kind}" data-n="${sig.n}">${t('host.dismiss')}</button></li>`);
    };
    const booth = (sig) => (sig.language ? langName(sig.language) : t('interp.booth_unknown'));
    add('no_interpretation', st.no_interpretation, st.no_interpretation && t('alert.no_interpretation', { booth: booth(st.no_interpretation) }));
    // Protocol 2: the slow-down and the message travel with the speech in progress.
    const slow = st.speech && st.speech.slow_down;
    const message = st.speech && st.speech.message;
    add('slow_down', slow, slow && t('alert.slow_down', { booth: booth(slow) }));
    add('speaker_done', st.speaker_done, t('alert.speaker_done'));
    if (message) {
      items.push(html`<li class="alert alert-info" data-testid="last-message">${t('host.last_message')} <q translate="no" dir="auto">${message.text}</q> <span class="muted">${fmtTime(message.at, vz)}</span></li>`);
    }
    if (!items.length) return html`<p class="muted">${t('host.no_alerts')}</p>`;
    return html`<ul class="alerts" role="list">${items}</ul>`;
  }

  function renderHistory() {
    const st = model.state;
    const hist = (st && st.history) || [];
    if (!hist.length) return html`<p class="muted">${t('host.history_empty')}</p>`;
    return html`<ol class="history" data-testid="history">${hist.map((r) => html`<li>
      <span class="name" translate="no" dir="auto">${r.speaker.name}</span>
      <span class="badge lang">${langName(r.speaker.language)}</span>
      <span class="spoken" dir="ltr">${formatDuration(r.spoken_ms)}</span>
      ${r.over_limit ? html`<span class="badge over">${t('host.over_limit')}</span>` : ''}
      <span class="muted" translate="no" dir="auto">${model.agenda.segment[r.segment] ? model.agenda.segment[r.segment].title : ''}</span>
    </li>`)}</ol>`;
  }

  let lastAlertN = {};
  function update() {
    if (!model.state || !model.agenda) return;
    const now = conn.serverNow();
    patch(part('now'), renderNow(now));
    patch(part('controls'), renderControls());
    patch(part('floor'), renderFloor());
    patch(part('queue-controls'), renderQueueControls());
    patch(part('queue'), queueHtml(model, now, { staff: true }));
    patch(part('alerts'), renderAlerts());
    patch(part('agenda'), agendaHtml(model, { detailed: true }));
    patch(part('history'), renderHistory());
    const st = model.state;
    for (const kind of ['no_interpretation', 'slow_down', 'speaker_done']) {
      const sig = kind === 'slow_down' ? st.speech && st.speech.slow_down : st[kind];
      if (sig && lastAlertN[kind] !== undefined && lastAlertN[kind] !== sig.n) {
        ctx.announce(kind === 'speaker_done' ? t('alert.speaker_done') : t(`alert.${kind}`, { booth: sig.language ? langName(sig.language) : t('interp.booth_unknown') }));
      }
      lastAlertN[kind] = sig ? sig.n : null;
    }
  }

  const actions = {
    'start-meeting': () => send({ type: 'start_meeting' }),
    'end-meeting': () => { if (confirm(t('confirm.end_meeting'))) send({ type: 'end_meeting' }); },
    'segment-toggle': () => { const c = segToggleCommand(); if (c) send(c); },
    'segment-plus': () => send({ type: 'adjust_clock', target: 'segment', seconds: 60 }),
    'segment-minus': () => send({ type: 'adjust_clock', target: 'segment', seconds: -60 }),
    'speech-toggle': () => { const c = speechToggleCommand(); if (c) send(c); },
    'speech-plus': () => send({ type: 'adjust_clock', target: 'speech', seconds: 60 }),
    'speech-minus': () => send({ type: 'adjust_clock', target: 'speech', seconds: -60 }),
    'end-speech': () => send({ type: 'end_speech' }),
    'prev-segment': () => send({ type: 'previous_segment' }),
    'next-segment': () => send({ type: 'next_segment' }),
    jump: () => {
      const sel = root.querySelector('[data-testid="jump-select"]');
      if (sel) send({ type: 'go_to_segment', segment: sel.value });
    },
    'give-floor': (el) => send({ type: 'give_floor', person: el.dataset.person }),
    'floor-next': () => send({ type: 'give_floor_to_hand' }),
    'floor-hand': (el) => send({ type: 'give_floor_to_hand', hand: Number(el.dataset.hand) }),
    'hand-up': (el) => send({ type: 'move_hand', hand: Number(el.dataset.hand), to: Math.max(0, Number(el.dataset.index) - 1) }),
    'hand-down': (el) => send({ type: 'move_hand', hand: Number(el.dataset.hand), to: Number(el.dataset.index) + 1 }),
    'hand-remove': (el) => {
      const h = model.state.queue.find((x) => x.id === Number(el.dataset.hand));
      if (confirm(t('confirm.remove_hand', { name: h ? h.name : '' }))) send({ type: 'remove_hand', hand: Number(el.dataset.hand) });
    },
    'queue-toggle': () => send(model.state.queue_open ? { type: 'close_queue' } : { type: 'reopen_queue' }),
    'queue-clear': () => { if (confirm(t('confirm.clear_queue'))) send({ type: 'clear_queue' }); },
    dismiss: (el) => { dismissed[el.dataset.kind] = Number(el.dataset.n); update(); },
  };
  const toggles = {
    'toggle-priority': (on) => send({ type: 'set_priority', not_yet_spoken_first: on }),
    'toggle-observers': (on) => send({ type: 'set_observer_hands', allowed: on }),
    'toggle-auto': (on) => send({ type: 'set_auto_advance', on }),
  };

  function onClick(e) {
    const el = e.target.closest('button[data-action]');
    if (!el || !root.contains(el) || el.disabled) return;
    const fn = actions[el.dataset.action];
    if (fn) fn(el);
  }
  function onChange(e) {
    const el = e.target.closest('input[type=checkbox][data-action]');
    if (!el) return;
    const fn = toggles[el.dataset.action];
    if (fn) {
      const want = el.checked;
      // Shown as asked at once; put back if the server refuses.
      fn(want).then((ok) => { if (!ok && el.isConnected) el.checked = !want; });
    }
  }
  function onSubmit(e) {
    const form = e.target.closest('form[data-form="message"]');
    if (!form) return;
    e.preventDefault();
    const input = form.querySelector('input');
    const text = input.value.trim();
    if (!text) return;
    ctx.send({ type: 'message_speaker', text }).then((ok) => { if (ok) { input.value = ''; ctx.notify(t('host.message_sent')); } });
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || e.defaultPrevented) return;
    const st = model.state;
    if (!st || st.phase !== 'running') return;
    const onButton = e.target && e.target.closest && e.target.closest('button, a, summary');
    switch (e.key) {
      case ' ':
      case 'Spacebar':
        if (onButton) return;
        e.preventDefault();
        actions['segment-toggle']();
        break;
      case 'ArrowRight':
        e.preventDefault();
        if (confirm(t('confirm.next_segment'))) actions['next-segment']();
        break;
      case 'ArrowLeft':
        e.preventDefault();
        if (confirm(t('confirm.previous_segment'))) actions['prev-segment']();
        break;
      case 'n':
      case 'N':
        e.preventDefault();
        actions['floor-next']();
        break;
      case 'e':
      case 'E':
        e.preventDefault();
        actions['end-speech']();
        break;
      case '+':
      case '=':
        e.preventDefault();
        actions['segment-plus']();
        break;
      case '-':
      case '−':
      case '_':
        e.preventDefault();
        actions['segment-minus']();
        break;
      default:
        break;
    }
  }

  root.addEventListener('click', onClick);
  root.addEventListener('change', onChange);
  root.addEventListener('submit', onSubmit);
  document.addEventListener('keydown', onKey);
  update();

  return {
    update,
    tick(now) {
      for (const kind of tick(root, model, now)) ctx.announce(t('clock.one_minute_announce'));
    },
    destroy() {
      root.removeEventListener('click', onClick);
      root.removeEventListener('change', onChange);
      root.removeEventListener('submit', onSubmit);
      document.removeEventListener('keydown', onKey);
    },
  };
}
