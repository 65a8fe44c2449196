// The host console (also the segment moderators'), laid out to fit 1366×768: the
// clocks with their controls, the floor and the alerts stay in view; the guiding
// question folds; the queue is one line per hand and scrolls inside its panel; agenda,
// history and shortcuts share a tabbed panel. A moderator sees which segments are
// theirs, no host-only control, and controls that are off outside their segments with
// the reason. After the end every live control is off and the host gets the report.

import { html, patch, isTyping } from '../dom.js';
import { t } from '../i18n/index.js';
import { agendaHtml, queueHtml, drift, driftText, tick, riseText } from './common.js';
import {
  consoleRole, bannerHtml, nowHtml, clocksHtml, navHtml, floorHtml, alertsHtml, queueControlsHtml, historyHtml,
} from './host-parts.js';
import { mountTools } from './host-tools.js';
import { mountDesk, deskAlertItems } from './host-desk.js';

const SHORTCUTS = [
  ['Space', 'shortcut.space'],
  ['→', 'shortcut.right'],
  ['←', 'shortcut.left'],
  ['N', 'shortcut.n'],
  ['E', 'shortcut.e'],
  ['+', 'shortcut.plus'],
  ['−', 'shortcut.minus'],
];
const TABS = ['agenda', 'history', 'shortcuts'];

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  const mem = ctx.viewMemory;
  const dismissed = mem.dismissed || (mem.dismissed = {});
  if (!mem.tab) mem.tab = 'agenda';

  root.innerHTML = String(html`
    <div class="console" data-testid="console">
      <div class="console-banner" data-part="banner"></div>
      <div class="console-grid">
        <section class="panel now-panel" aria-labelledby="now-h">
          <h2 id="now-h" class="visually-hidden">${t('host.now')}</h2>
          <div data-part="now"></div>
          <div data-part="clocks"></div>
          <div data-part="nav"></div>
        </section>
        <div class="side-column">
          <section class="panel alerts-panel" aria-labelledby="alerts-h" data-testid="alerts-panel">
            <h2 id="alerts-h" class="panel-title">${t('host.alerts')}</h2>
            <div data-part="alerts" class="alerts-scroll"></div>
          </section>
          <section class="panel floor-panel" aria-labelledby="floor-h">
            <h2 id="floor-h" class="panel-title">${t('host.floor')}</h2>
            <div data-part="floor-lang"></div>
            <div data-part="floor" class="floor-scroll"></div>
            <form class="message-form" data-form="message">
              <label for="msg-input">${t('host.message_label')}</label>
              <div class="row">
                <input id="msg-input" type="text" maxlength="200" data-testid="message-input" placeholder="${t('host.message_placeholder')}" autocomplete="off">
                <button type="submit" data-testid="message-send">${t('host.message_send')}</button>
              </div>
            </form>
          </section>
        </div>
        <section class="panel queue-panel" aria-labelledby="queue-h">
          <h2 id="queue-h" class="panel-title">${t('queue.title')}</h2>
          <div data-part="queue-controls"></div>
          <div data-part="queue" class="queue-scroll" tabindex="0" aria-labelledby="queue-h"></div>
        </section>
        <section class="panel tabs-panel" aria-label="${t('host.more')}">
          <div data-part="tools"></div>
          <div class="tabs" role="tablist">
            ${TABS.map((k) => html`<button type="button" role="tab" id="tab-${k}" data-tab="${k}" data-testid="tab-${k}" aria-controls="tabpanel-${k}" aria-selected="${mem.tab === k ? 'true' : 'false'}" tabindex="${mem.tab === k ? '0' : '-1'}">${t(`host.tab_${k}`)}</button>`)}
          </div>
          <div class="tab-body">
            <div role="tabpanel" id="tabpanel-agenda" aria-labelledby="tab-agenda" tabindex="0" data-part="agenda"${mem.tab === 'agenda' ? '' : ' hidden'}></div>
            <div role="tabpanel" id="tabpanel-history" aria-labelledby="tab-history" tabindex="0" data-part="history"${mem.tab === 'history' ? '' : ' hidden'}></div>
            <div role="tabpanel" id="tabpanel-shortcuts" aria-labelledby="tab-shortcuts" tabindex="0" data-testid="shortcuts-help"${mem.tab === 'shortcuts' ? '' : ' hidden'}>
              <dl class="shortcuts">
                ${SHORTCUTS.map(([k, key]) => html`<div><dt><kbd dir="ltr">${k === 'Space' ? t('shortcut.space_key') : k}</kbd></dt><dd>${t(key)}</dd></div>`)}
              </dl>
              <p class="muted">${t('shortcut.note')}</p>
            </div>
          </div>
        </section>
      </div>
    </div>`);

  const part = (name) => root.querySelector(`[data-part="${name}"]`);
  const send = (cmd) => ctx.send(cmd);
  let who = null;

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

  let lastAlertN = mem.lastAlertN || (mem.lastAlertN = {});
  let lastBanner = 0;
  function update() {
    if (!model.state || !model.agenda) return;
    const now = ctx.now();
    who = consoleRole(model, ctx.role, { offline: ctx.offline });
    document.body.dataset.phase = model.state.phase;
    patch(part('banner'), bannerHtml(model, now, who, dismissed));
    patch(part('now'), nowHtml(model, now, { questionOpen: !!mem.questionOpen }));
    patch(part('clocks'), clocksHtml(model, now, who));
    patch(part('nav'), navHtml(model, who));
    patch(part('floor'), floorHtml(model, who));
    patch(part('queue-controls'), queueControlsHtml(model, who, { optionsOpen: !!mem.optionsOpen }));
    patch(part('queue'), queueHtml(model, now, { staff: true, disabled: !who.active, reason: who.reason, removable: who.host && !who.ended }));
    patch(part('alerts'), alertsHtml(model, dismissed, deskAlertItems(model, who)));
    desk.update(who);
    tools.update();
    patch(part('agenda'), agendaHtml(model, { detailed: true }));
    patch(part('history'), historyHtml(model));
    root.querySelector('#msg-input').disabled = !who.active;
    root.querySelector('[data-testid="message-send"]').disabled = !who.active;
    // Alerts are announced once each, also across a language switch.
    const st = model.state;
    for (const kind of ['no_interpretation', 'speaker_done']) {
      const sig = st[kind];
      if (sig && lastAlertN[kind] !== undefined && lastAlertN[kind] !== sig.n) {
        ctx.announce(kind === 'speaker_done' ? t('alert.speaker_done') : t(`alert.${kind}`, { booth: sig.language ? t(`lang.${sig.language}`) : t('interp.booth_unknown') }));
      }
      lastAlertN[kind] = sig ? sig.n : null;
    }
  }

  /** Blocks commands the console shows as off (aria-disabled keeps focus in place). */
  const isOff = (el) => el.disabled || el.getAttribute('aria-disabled') === 'true';
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
    report: (el) => downloadReport(el.dataset.format),
  };
  const toggles = {
    'toggle-priority': (on) => send({ type: 'set_priority', not_yet_spoken_first: on }),
    'toggle-observers': (on) => send({ type: 'set_observer_hands', allowed: on }),
    'toggle-auto': (on) => send({ type: 'set_auto_advance', on }),
  };

  /** The report needs the host's token in a header, so it is fetched, then saved. */
  async function downloadReport(format) {
    try {
      const res = await fetch(`/api/meetings/${encodeURIComponent(ctx.meeting)}/report.${format}`, {
        headers: { Authorization: `Bearer ${conn.linkToken}` },
      });
      if (!res.ok) throw new Error(String(res.status));
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${ctx.meeting}-report.${format}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch {
      ctx.notify(t('host.report_failed'), 'error');
    }
  }

  function selectTab(k, focus) {
    mem.tab = k;
    for (const b of root.querySelectorAll('[role="tab"]')) {
      const on = b.dataset.tab === k;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    for (const k2 of TABS) root.querySelector(`#tabpanel-${k2}`).hidden = k2 !== k;
  }

  function onClick(e) {
    const tab = e.target.closest('[role="tab"]');
    if (tab && root.contains(tab)) { selectTab(tab.dataset.tab, false); return; }
    const el = e.target.closest('button[data-action]');
    if (!el || !root.contains(el) || isOff(el)) return;
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
  function onToggle(e) {
    if (e.target.matches('[data-testid="segment-question-fold"]')) mem.questionOpen = e.target.open;
    if (e.target.matches('[data-testid="queue-options"]')) mem.optionsOpen = e.target.open;
  }
  function onSubmit(e) {
    const form = e.target.closest('form[data-form="message"]');
    if (!form) return;
    e.preventDefault();
    const input = form.querySelector('input');
    const text = input.value.trim();
    if (!text || input.disabled) return;
    ctx.send({ type: 'message_speaker', text }).then((ok) => { if (ok) { input.value = ''; ctx.notify(t('host.message_sent')); } });
  }
  function onKey(e) {
    const tab = e.target.closest && e.target.closest('[role="tab"]');
    if (tab && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) {
      e.preventDefault();
      const rtl = document.documentElement.dir === 'rtl';
      const step = (e.key === 'ArrowRight') !== rtl ? 1 : -1;
      const i = (TABS.indexOf(tab.dataset.tab) + step + TABS.length) % TABS.length;
      selectTab(TABS[i], true);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || e.defaultPrevented) return;
    const st = model.state;
    if (!st || st.phase !== 'running' || !who || !who.active) return;
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

  const tools = mountTools(root, ctx);
  const desk = mountDesk(root, ctx, tools.env);
  root.addEventListener('click', onClick);
  root.addEventListener('change', onChange);
  root.addEventListener('toggle', onToggle, true);
  root.addEventListener('submit', onSubmit);
  document.addEventListener('keydown', onKey);
  update();

  return {
    update,
    tick(now) {
      const rises = tick(root, model, now, { offline: ctx.offline });
      // Staff hear the speech clock's thresholds (the segment's too when nobody speaks).
      for (const r of rises) {
        if (r.kind === 'speech' || !model.state.speech) ctx.announce(riseText(r));
      }
      // The moderator's "(in 18 min)" moves on without a change.
      if (who && now - lastBanner > 15000) {
        lastBanner = now;
        patch(part('banner'), bannerHtml(model, now, who, dismissed));
      }
      const d = root.querySelector('[data-drift]');
      if (d) {
        const txt = driftText(drift(model, now));
        if (d.textContent !== txt) d.textContent = txt;
      }
    },
    destroy() {
      tools.destroy();
      desk.destroy();
      root.removeEventListener('click', onClick);
      root.removeEventListener('change', onChange);
      root.removeEventListener('toggle', onToggle, true);
      root.removeEventListener('submit', onSubmit);
      document.removeEventListener('keydown', onKey);
    },
  };
}
