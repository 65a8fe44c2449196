// The interpretation desk and the floor's defences in the host's and moderators'
// console: booth alerts in the Alerts panel (the booth's language, the time, the
// booth's words, Acknowledge), the pivot booth while a relay language is on the floor,
// the floor language of the speech in progress (set or corrected), the queue's two
// switches (ordinary hands, points of order) with their state in words, and removing a
// participant from the queue. host.js mounts it and asks it for these pieces; its
// buttons carry `data-desk` (the console's own handler ignores them).

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtTime, viewerZone, langName, floorLanguages, langOptions, errorText } from './common.js';
import { toolIcon } from './tool-icons.js';
import { removeParticipant } from './host-people.js';

/** Acknowledged alerts still shown, for context. */
const ACKED_SHOWN = 3;

const booth = (code) => t('links.booth', { lang: langName(code) });

function signalText(a) {
  const key = `booth.signal_${a.signal}`;
  const s = t(key);
  return s === key ? t('desk.signal_message') : s;
}

function offAttrs(on, who) {
  return on ? '' : html` aria-disabled="true"${who.reason ? html` aria-describedby="console-reason"` : ''}`;
}

/** Booth alerts (unacknowledged first, newest first) and the relay in force, as items
 * of the Alerts panel's list. */
export function deskAlertItems(model, who) {
  const st = model.state;
  const interp = (st && st.interpretation) || {};
  const vz = viewerZone();
  const alerts = interp.alerts || [];
  const open = alerts.filter((a) => !a.acknowledged_at).reverse();
  const seen = alerts.filter((a) => a.acknowledged_at).slice(-ACKED_SHOWN).reverse();
  const item = (a) => html`<li class="alert alert-booth${a.acknowledged_at ? ' acked' : ''}" data-testid="booth-alert" data-alert="${a.id}">
      <span class="alert-text"><strong>${booth(a.booth)}</strong> — ${signalText(a)}${a.text ? html` <q translate="no" dir="auto">${a.text}</q>` : ''}</span>
      <span class="muted alert-time" dir="ltr">${fmtTime(a.at, vz)}</span>
      ${a.acknowledged_at
    ? html`<span class="muted" data-testid="booth-alert-seen">${t('desk.seen_at', { time: fmtTime(a.acknowledged_at, vz) })}</span>`
    : html`<button type="button" class="small" data-desk="ack" data-alert="${a.id}" data-testid="booth-alert-ack-${a.id}" data-focus="ack" aria-label="${t('desk.ack_name', { booth: booth(a.booth), signal: signalText(a) })}"${offAttrs(who.active, who)}>${toolIcon('check')}<span>${t('desk.ack')}</span></button>`}
    </li>`;
  const out = [];
  const r = interp.relay;
  if (r && st.phase === 'running') {
    out.push(html`<li class="alert alert-info alert-relay" data-testid="relay-info">${t('desk.relay', {
      floor: langName(r.floor), pivot: langName(r.pivot), takers: (r.takers || []).map((x) => langName(x)).join(', '),
    })}</li>`);
  }
  return [...out, ...open.map(item), ...seen.map(item)];
}

/** The floor language of the speech in progress: set or corrected by the chair. */
export function floorLangHtml(model, who) {
  const st = model.state;
  if (!st || st.phase !== 'running' || !st.speech) return '';
  const cur = st.speech.speaker.language;
  const langs = floorLanguages(model.agenda);
  return html`<form class="floor-lang" data-desk-form="floor-lang" data-testid="floor-lang-form">
    <label for="floor-lang-select">${t('desk.floor_lang')}</label>
    <span class="row">
      <select id="floor-lang-select" data-testid="floor-lang-select"${who.active ? '' : html` aria-disabled="true"`}>${langOptions(langs.includes(cur) ? langs : [cur, ...langs], cur)}</select>
      <button type="submit" class="small" data-testid="floor-lang-set"${offAttrs(who.active, who)}>${t('desk.floor_lang_set')}</button>
    </span>
  </form>`;
}

/** One switch: a button with role=switch, its state in words beside its name. */
function switchHtml({ act, testid, on, label, enabled, who }) {
  return html`<button type="button" role="switch" class="switch${on ? ' on' : ' off'}" aria-checked="${on ? 'true' : 'false'}" data-desk="${act}" data-testid="${testid}"${offAttrs(enabled, who)}>
    <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
    <span class="switch-label">${label}</span>
    <strong class="switch-state" data-testid="${testid}-state">${on ? t('desk.open') : t('desk.closed')}</strong>
  </button>`;
}

/** The queue's two switches: ordinary hands, points of order. */
export function queueSwitchesHtml(model, who, enabled) {
  const st = model.state;
  return html`<div class="queue-switches" role="group" aria-label="${t('desk.switches')}">
    ${switchHtml({ act: 'queue', testid: 'queue-toggle', on: !!st.queue_open, label: t('desk.hands'), enabled, who })}
    ${switchHtml({ act: 'poo', testid: 'poo-toggle', on: st.points_of_order_open !== false, label: t('desk.points_of_order'), enabled, who })}
  </div>`;
}

/** Listens to the desk's controls in the console and announces new booth alerts. */
export function mountDesk(root, ctx, env) {
  const model = ctx.conn.model;
  const mem = ctx.viewMemory.desk || (ctx.viewMemory.desk = { lastAlert: null });
  const alertsPart = root.querySelector('[data-part="alerts"]');
  if (alertsPart) alertsPart.tabIndex = -1;
  let who = null;

  function update(w) {
    who = w;
    const part = root.querySelector('[data-part="floor-lang"]');
    if (part) patch(part, floorLangHtml(model, w));
    const alerts = (model.state.interpretation && model.state.interpretation.alerts) || [];
    const newest = alerts.length ? alerts[alerts.length - 1].id : 0;
    if (mem.lastAlert !== null) {
      for (const a of alerts) {
        if (a.id > mem.lastAlert && !a.acknowledged_at) ctx.announce(`${booth(a.booth)}: ${signalText(a)}${a.text ? ` — ${a.text}` : ''}`);
      }
    }
    mem.lastAlert = Math.max(mem.lastAlert || 0, newest);
  }

  const send = async (cmd) => {
    const res = await env.run(cmd);
    if (!res.ok) ctx.notify(errorText(res), 'error');
    return res.ok;
  };
  const acts = {
    ack: (b) => send({ type: 'acknowledge_alert', alert: Number(b.dataset.alert) }),
    queue: () => send(model.state.queue_open ? { type: 'close_queue' } : { type: 'reopen_queue' }),
    poo: () => send(model.state.points_of_order_open !== false ? { type: 'close_points_of_order' } : { type: 'reopen_points_of_order' }),
    'remove-participant': async (b) => {
      const row = b.closest('[data-testid="queue-item"]');
      const next = row && (row.nextElementSibling || row.previousElementSibling);
      if (await removeParticipant(env, Number(b.dataset.participant))) {
        const again = next && next.dataset.hand ? root.querySelector(`[data-testid="hand-floor-${next.dataset.hand}"]`) : null;
        (again || root.querySelector('[data-part="queue"]')).focus();
      }
    },
  };
  function onClick(e) {
    const b = e.target.closest('button[data-desk]');
    if (!b || !root.contains(b) || b.getAttribute('aria-disabled') === 'true') return;
    const fn = acts[b.dataset.desk];
    if (fn) fn(b);
  }
  async function onSubmit(e) {
    const form = e.target.closest('form[data-desk-form="floor-lang"]');
    if (!form) return;
    e.preventDefault();
    if (!who || !who.active) return;
    const language = form.querySelector('select').value;
    const sp = model.state.speech;
    if (!sp || sp.speaker.language === language) return;
    if (await send({ type: 'set_floor_language', language })) ctx.announce(t('desk.floor_lang_done', { lang: langName(language) }));
  }
  root.addEventListener('click', onClick);
  root.addEventListener('submit', onSubmit);
  return {
    update,
    destroy() {
      root.removeEventListener('click', onClick);
      root.removeEventListener('submit', onSubmit);
    },
  };
}
