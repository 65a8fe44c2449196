// The speaking queue as the views show it: the staff's compact moderation list (one
// line per hand, scrolling inside its panel) and the public list, plus one's own places.
// Public states carry the first hands in full and the queue's length; a participant's
// own places come in the connection's `place` message (older servers: `queue_keys`).

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { formatDuration } from '../clock.js';
import { icon } from './icons.js';
import { toolIcon } from './tool-icons.js';

function langNameOf(code) {
  const s = t(`lang.${code}`);
  return s === `lang.${code}` ? code : s;
}

/** Hands in the whole queue. */
export function queueLength(st) {
  if (!st) return 0;
  if (typeof st.queue_len === 'number') return st.queue_len;
  return st.queue_keys ? st.queue_keys.length : (st.queue || []).length;
}

/** One's own hands as `{ i, point_of_order }`, `i` being the place in the whole queue
 * (from `queue_keys`, or the queue itself for staff states). */
export function ownHands(st, participant) {
  if (!st || participant === undefined || participant === null) return [];
  const keys = st.queue_keys || (st.queue || []).map((h) => h.participant * 2 + (h.point_of_order ? 1 : 0));
  const out = [];
  keys.forEach((k, i) => {
    if (Math.floor(k / 2) === participant) out.push({ i, point_of_order: k % 2 === 1 });
  });
  return out;
}

/** One's own places (0-based, null when no such hand): `{hand, point_of_order}`. */
export function myPlaces(model) {
  const you = model.you;
  if (!you || you.participant === undefined || you.participant === null || !model.state) return { hand: null, point_of_order: null };
  if (model.place) {
    return { hand: model.place.hand ?? null, point_of_order: model.place.point_of_order ?? null };
  }
  const own = ownHands(model.state, you.participant);
  const hand = own.find((h) => !h.point_of_order);
  const poo = own.find((h) => h.point_of_order);
  return { hand: hand ? hand.i : null, point_of_order: poo ? poo.i : null };
}

/**
 * The speaking queue. `staff` gives the compact moderation list (buttons named for the
 * person, for screen readers); `you` (a participant id) marks one's own hands;
 * `disabled` greys every moderation button (after the end, or outside a moderator's
 * segments) with `reason` as their description.
 */
export function queueHtml(model, now, { staff = false, you = null, disabled = false, reason = '', removable = false } = {}) {
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
  const dis = disabled ? html` aria-disabled="true"${reason ? html` title="${reason}"` : ''}` : '';
  const items = q.map((h, i) => {
    const mine = you !== null && you !== undefined && h.participant === you;
    const first = i === 0;
    const last = i === q.length - 1 && total <= q.length;
    return html`<li class="queue-item${h.point_of_order ? ' poo' : ''}${mine ? ' mine' : ''}${staff ? ' compact' : ''}" data-testid="queue-item" data-hand="${h.id}" data-participant="${h.participant}">
      <span class="queue-pos">${i + 1}</span>
      <span class="queue-who">
        <span class="queue-name" data-testid="queue-name" translate="no" dir="auto">${h.name}</span>
        ${h.delegation ? html`<span class="queue-delegation" translate="no" dir="auto">${h.delegation}</span>` : ''}
      </span>
      ${mine ? html`<span class="badge mine">${t('queue.you')}</span>` : ''}
      <span class="queue-meta">
        ${h.point_of_order ? (staff
          ? html`<span class="badge poo icon-badge" data-testid="queue-poo" title="${t('queue.point_of_order')}">${icon('flag')}<span class="visually-hidden">${t('queue.point_of_order')}</span></span>`
          : html`<span class="badge poo" data-testid="queue-poo">${t('queue.point_of_order')}</span>`) : ''}
        <span class="badge lang" data-testid="queue-language" data-lang="${h.language}">${staff ? h.language.toUpperCase() : langNameOf(h.language)}</span>
        <span class="waiting"><span class="visually-hidden">${t('queue.waiting_label')} </span><span data-since="${h.raised_at}" dir="ltr">${formatDuration(now - h.raised_at)}</span></span>
      </span>
      ${staff ? html`<span class="queue-actions">
        <button type="button" class="primary small icon-button" data-action="floor-hand" data-hand="${h.id}" data-testid="hand-floor-${h.id}" aria-label="${t('host.give_floor_name', { name: h.name })}"${dis}>${icon('mic')}</button>
        <button type="button" class="small icon-button" data-action="hand-up" data-hand="${h.id}" data-index="${i}" data-testid="hand-up-${h.id}" aria-label="${t('host.move_up_name', { name: h.name })}"${first || disabled ? html` aria-disabled="true"` : ''}>${icon('up')}</button>
        <button type="button" class="small icon-button" data-action="hand-down" data-hand="${h.id}" data-index="${i}" data-testid="hand-down-${h.id}" aria-label="${t('host.move_down_name', { name: h.name })}"${last || disabled ? html` aria-disabled="true"` : ''}>${icon('down')}</button>
        <button type="button" class="small icon-button danger" data-action="hand-remove" data-hand="${h.id}" data-testid="hand-remove-${h.id}" aria-label="${t('host.remove_name', { name: h.name })}"${dis}>${icon('remove')}</button>
        ${removable ? html`<button type="button" class="small icon-button danger" data-desk="remove-participant" data-participant="${h.participant}" data-testid="participant-remove-${h.participant}-${h.id}" aria-label="${t('people.remove_name', { name: h.name })}">${toolIcon('ban')}</button>` : ''}
      </span>` : ''}
    </li>`;
  });
  const more = total > q.length
    ? html`<p class="muted" data-testid="queue-more">${t('queue.more', { n: total - q.length })}</p>`
    : '';
  return html`${head}<ol class="queue${staff ? ' compact' : ''}" data-testid="queue" aria-label="${t('queue.title')}">${items}</ol>${more}`;
}
