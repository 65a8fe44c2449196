// The register, for the host to defend the floor: everyone who joined (searchable by
// name or delegation: a meeting may have thousands), with their language, whether they
// were invited, are observers, have a hand up or were removed, and "Remove from the
// meeting" (`remove_participant`, after a confirmation that names the person: their
// hands go, their link stops working, they cannot come back with it). The queue's rows
// offer the same removal (removeParticipant, used by host.js).

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { langName } from './common.js';
import { toolIcon } from './tool-icons.js';
import { iso } from './edit-model.js';

/** Rows shown at once; the search narrows a long register. */
const SHOWN = 60;

/** The register as this console has it: paged in by the connection (model.participants)
 * where the server no longer sends it in every change, else in the state. */
export function register(model) {
  if (Array.isArray(model.participants) && model.participants.length) return model.participants;
  return (model.state && model.state.participants) || [];
}

/** Asks, then removes a participant. Resolves to whether they were removed. */
export async function removeParticipant(env, id) {
  const p = register(env.model).find((x) => x.id === id)
    || ((env.model.state && env.model.state.queue) || []).find((h) => h.participant === id);
  const name = p ? p.name : `#${id}`;
  const delegation = p ? p.delegation : '';
  if (!confirm(t('people.confirm_remove', { name: iso(name), delegation: iso(delegation) }))) return false;
  const res = await env.run({ type: 'remove_participant', participant: id });
  if (!res.ok) {
    env.ctx.notify(`${t(`error.${res.code}`)}${res.message ? ` (${res.message})` : ''}`, 'error');
    return false;
  }
  env.ctx.announce(t('people.removed', { name: iso(name) }));
  return true;
}

export function create(el, env) {
  const { model } = env;
  el.tabIndex = -1;
  el.innerHTML = String(html`<div class="field people-search">
      <label for="people-filter">${t('people.search')}</label>
      <input id="people-filter" type="search" data-testid="people-filter" autocomplete="off" dir="auto">
    </div>
    <p class="muted" data-testid="people-count" aria-live="polite"></p>
    <div data-part="people-list"></div>`);
  const filter = el.querySelector('#people-filter');
  const list = el.querySelector('[data-part="people-list"]');
  const count = el.querySelector('[data-testid="people-count"]');

  function rows() {
    const reg = register(model);
    const needle = filter.value.trim().toLocaleLowerCase();
    const hands = new Set(((model.state && model.state.queue) || []).map((h) => h.participant));
    const match = needle ? reg.filter((p) => `${p.name} ${p.delegation}`.toLocaleLowerCase().includes(needle)) : reg;
    // Newest first: the one who just came in is the one a host looks for.
    const shown = match.slice(-SHOWN).reverse();
    const removed = reg.filter((p) => p.removed).length;
    const text = t('people.count', { n: reg.length, removed });
    if (count.textContent !== text) count.textContent = text;
    if (!shown.length) return html`<p class="muted">${reg.length ? t('people.no_match') : t('people.none')}</p>`;
    return html`<ul class="people-list" data-testid="people-list">${shown.map((p) => html`<li class="person-row${p.removed ? ' removed' : ''}" data-testid="person-row" data-participant="${p.id}">
      <span class="who"><span class="name" translate="no" dir="auto">${p.name}</span>
        <span class="details" translate="no" dir="auto">${p.delegation}</span></span>
      <span class="badges">
        <span class="badge lang">${langName(p.language)}</span>
        ${p.observer ? html`<span class="badge">${t('people.observer')}</span>` : ''}
        ${p.invited ? html`<span class="badge">${t('people.invited')}</span>` : ''}
        ${hands.has(p.id) ? html`<span class="badge poo">${t('people.hand_up')}</span>` : ''}
        ${p.removed ? html`<span class="badge closed" data-testid="person-removed">${t('people.removed_badge')}</span>` : ''}
      </span>
      ${p.removed ? '' : html`<button type="button" class="small danger" data-act="remove" data-participant="${p.id}" data-testid="person-remove-${p.id}" aria-label="${t('people.remove_name', { name: p.name })}">${toolIcon('ban')}<span>${t('people.remove')}</span></button>`}
    </li>`)}</ul>${match.length > SHOWN ? html`<p class="muted">${t('people.more', { n: match.length - SHOWN })}</p>` : ''}`;
  }

  function update() {
    if (el.hidden || !model.state) return;
    patch(list, rows());
  }
  async function onClick(e) {
    const b = e.target.closest('[data-act="remove"]');
    if (!b) return;
    const id = Number(b.dataset.participant);
    const row = b.closest('li');
    const next = row && (row.nextElementSibling || row.previousElementSibling);
    const nextId = next ? next.dataset.participant : null;
    if (await removeParticipant(env, id)) {
      update();
      const again = (nextId && el.querySelector(`[data-testid="person-remove-${nextId}"]`)) || filter;
      again.focus();
    }
  }
  filter.addEventListener('input', update);
  el.addEventListener('click', onClick);
  return {
    show: update,
    update,
    destroy() {
      el.removeEventListener('click', onClick);
    },
  };
}
