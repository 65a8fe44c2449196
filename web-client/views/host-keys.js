// API keys, for the host (PROTOCOL.md *API keys*): create one (a role — host, a
// moderator, a booth, observer — and a label saying which device holds it), list them
// (label, role, created, last used, status) and revoke them, over the HTTP API with the
// host link's token as Bearer. A new key is shown once, with Copy and a warning; it is
// dropped from the page when the host says it is copied or leaves the tab's list.

import { html, patch } from '../dom.js';
import { t, locale } from '../i18n/index.js';
import { langName, viewerZone } from './common.js';
import { personKey, iso } from './edit-model.js';
import { copyText } from './host-links.js';
import { toolIcon } from './tool-icons.js';

/** The moderators of the agenda, once each: `[id, name]`. */
function moderators(agenda) {
  const seen = new Map();
  for (const s of agenda.segment) if (s.moderator && !seen.has(personKey(s.moderator))) seen.set(personKey(s.moderator), s.moderator.name);
  return [...seen];
}

/** A key's role in words: "Moderator: Cécile Riallant", "Arabic booth". */
export function roleText(role, agenda) {
  const [kind, who] = String(role).split(':');
  if (kind === 'moderator') {
    const m = moderators(agenda).find(([id]) => id === who);
    return t('keys.role_moderator_name', { name: m ? m[1] : who });
  }
  if (kind === 'interpreter') return t('links.booth', { lang: langName(who) });
  if (kind === 'host') return t('keys.role_host');
  if (kind === 'observer') return t('keys.role_observer');
  return role;
}

function when(ms) {
  if (ms === null || ms === undefined) return t('keys.never');
  try {
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: viewerZone() }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

export function create(el, env) {
  const { model, conn, ctx } = env;
  el.tabIndex = -1;
  const api = () => `/api/meetings/${encodeURIComponent(ctx.meeting)}/keys`;
  let keys = null;
  let failed = '';
  let fresh = null; // the key just created, shown once
  let busy = false;

  function roleOptions() {
    const ag = model.agenda;
    const opt = (v, label) => html`<option value="${v}">${label}</option>`;
    const mods = moderators(ag);
    return html`${opt('host', t('keys.role_host'))}${opt('observer', t('keys.role_observer'))}
      ${mods.length ? html`<optgroup label="${t('keys.group_moderators')}">${mods.map(([id, name]) => opt(`moderator:${id}`, name))}</optgroup>` : ''}
      <optgroup label="${t('keys.group_booths')}">${ag.meeting.languages.map((l) => opt(`interpreter:${l}`, t('links.booth', { lang: langName(l) })))}</optgroup>`;
  }

  el.innerHTML = String(html`<form class="edit-form keys-form" data-form="key" novalidate>
      <h3 class="sub-title">${t('keys.create_title')}</h3>
      <p class="note">${t('keys.intro')}</p>
      <div class="field"><label for="key-label">${t('keys.label')}</label>
        <input id="key-label" name="label" type="text" maxlength="80" autocomplete="off" dir="auto" data-testid="key-label" aria-describedby="key-label-hint key-label-error" placeholder="${t('keys.label_placeholder')}">
        <span class="hint" id="key-label-hint">${t('keys.label_hint')}</span>
        <span class="field-error" id="key-label-error" hidden></span></div>
      <div class="field"><label for="key-role">${t('keys.role')}</label>
        <select id="key-role" name="role" data-testid="key-role"></select></div>
      <p class="form-error" role="alert" data-testid="key-error"></p>
      <div class="controls tight"><button type="submit" class="primary" data-testid="key-create">${toolIcon('key')}<span>${t('keys.create')}</span></button></div>
    </form>
    <div data-part="fresh"></div>
    <h3 class="sub-title" id="keys-list-h">${t('keys.list_title')}</h3>
    <div data-part="keys-list" aria-labelledby="keys-list-h"></div>`);
  const form = el.querySelector('form');
  const roleSel = el.querySelector('#key-role');
  const list = el.querySelector('[data-part="keys-list"]');
  const freshBox = el.querySelector('[data-part="fresh"]');
  /** The roles to choose from follow the agenda (new moderators, booths). */
  function refreshRoles() {
    if (!model.agenda) return;
    const opts = String(roleOptions());
    if (roleSel._last === opts) return;
    const was = roleSel.value;
    roleSel._last = opts;
    roleSel.innerHTML = opts;
    if ([...roleSel.options].some((o) => o.value === was)) roleSel.value = was;
  }

  async function call(method, path = '', body) {
    const res = await fetch(api() + path, {
      method,
      headers: { Authorization: `Bearer ${conn.linkToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (!res.ok) {
      const code = (data && data.error) || (res.status === 401 ? 'unauthorized' : 'internal');
      const err = new Error((data && data.message) || String(res.status));
      err.code = code;
      throw err;
    }
    return data;
  }
  const problem = (err) => {
    const local = t(`error.${err.code}`);
    const known = local !== `error.${err.code}` ? local : t('error.internal');
    return err.message && err.message !== known ? `${known} (${err.message})` : known;
  };

  async function load() {
    try {
      keys = await call('GET');
      failed = '';
    } catch (err) {
      failed = problem(err);
    }
    draw();
  }

  function listHtml() {
    if (failed) return html`<p class="error" role="alert">${failed}</p>`;
    if (!keys) return html`<p class="muted">${t('links.loading')}</p>`;
    if (!keys.length) return html`<p class="muted" data-testid="keys-none">${t('keys.none')}</p>`;
    const sorted = [...keys].sort((a, b) => (a.status === b.status ? b.created_at - a.created_at : a.status === 'active' ? -1 : 1));
    return html`<ul class="key-list" data-testid="key-list">${sorted.map((k) => html`<li class="key-row${k.status === 'revoked' ? ' revoked' : ''}" data-testid="key-row" data-key="${k.id}">
      <span class="key-main"><span class="name" translate="no" dir="auto">${k.label}</span>
        <span class="badge">${roleText(k.role, model.agenda)}</span>
        <span class="badge ${k.status === 'active' ? 'ok' : 'closed'}" data-testid="key-status-${k.id}">${t(`keys.status_${k.status}`)}</span></span>
      <span class="key-times muted">${t('keys.created', { time: when(k.created_at) })} · ${t('keys.last_used', { time: when(k.last_used_at) })}${k.revoked_at ? html` · ${t('keys.revoked_at', { time: when(k.revoked_at) })}` : ''}</span>
      ${k.status === 'active' ? html`<button type="button" class="small danger" data-act="revoke" data-key="${k.id}" data-testid="key-revoke-${k.id}" aria-label="${t('keys.revoke_name', { label: k.label })}">${t('keys.revoke')}</button>` : ''}
    </li>`)}</ul>`;
  }

  function freshHtml() {
    if (!fresh) return '';
    return html`<section class="fresh-key" role="group" aria-labelledby="fresh-key-h" data-testid="fresh-key">
      <h3 id="fresh-key-h" tabindex="-1">${t('keys.fresh_title', { label: iso(fresh.label) })}</h3>
      <p class="fresh-warning"><strong>${t('keys.fresh_warning')}</strong></p>
      <div class="row"><label for="fresh-key-value" class="visually-hidden">${t('keys.fresh_label')}</label>
        <input id="fresh-key-value" type="text" readonly dir="ltr" translate="no" value="${fresh.key}" data-testid="fresh-key-value">
        <button type="button" class="small" data-act="copy-key" data-testid="fresh-key-copy">${toolIcon('copy')}<span>${t('links.copy')}</span></button></div>
      <button type="button" class="small" data-act="done" data-testid="fresh-key-done">${t('keys.fresh_done')}</button>
    </section>`;
  }

  function draw() {
    patch(freshBox, freshHtml());
    patch(list, listHtml());
  }

  async function onSubmit(e) {
    e.preventDefault();
    if (busy) return;
    const label = form.elements.namedItem('label');
    const err = el.querySelector('#key-label-error');
    const text = label.value.trim();
    err.hidden = !!text;
    err.textContent = text ? '' : t('edit.err_required');
    if (!text) { label.setAttribute('aria-invalid', 'true'); label.focus(); return; }
    label.removeAttribute('aria-invalid');
    busy = true;
    el.querySelector('[data-testid="key-error"]').textContent = '';
    try {
      fresh = await call('POST', '', { role: roleSel.value, label: text });
      label.value = '';
      await load();
      const h = el.querySelector('#fresh-key-h');
      if (h) h.focus();
      ctx.announce(t('keys.fresh_title', { label: iso(fresh.label) }));
    } catch (ex) {
      el.querySelector('[data-testid="key-error"]').textContent = problem(ex);
    }
    busy = false;
  }

  async function onClick(e) {
    const b = e.target.closest('[data-act]');
    if (!b || !el.contains(b)) return;
    const act = b.dataset.act;
    if (act === 'copy-key' && fresh) {
      const ok = await copyText(fresh.key);
      ctx.notify(ok ? t('keys.copied') : t('links.copy_failed'), ok ? 'info' : 'error');
    } else if (act === 'done') {
      fresh = null;
      draw();
      form.elements.namedItem('label').focus();
    } else if (act === 'revoke') {
      const k = (keys || []).find((x) => x.id === b.dataset.key);
      if (!k || !confirm(t('keys.confirm_revoke', { label: iso(k.label) }))) return;
      try {
        await call('DELETE', `/${encodeURIComponent(k.id)}`);
        ctx.announce(t('keys.revoked', { label: iso(k.label) }));
        await load();
        const next = el.querySelector('[data-act="revoke"]');
        (next || el.querySelector('#key-label')).focus();
      } catch (ex) {
        ctx.notify(problem(ex), 'error');
      }
    }
  }
  form.addEventListener('submit', onSubmit);
  el.addEventListener('click', onClick);

  return {
    show() {
      refreshRoles();
      if (keys === null && !failed) load();
      else draw();
    },
    update: refreshRoles,
    destroy() {
      form.removeEventListener('submit', onSubmit);
      el.removeEventListener('click', onClick);
    },
  };
}
