// The meeting's role links, for the host: one row per link (host, each moderator and
// speaker, the shared join links, each booth, the room screen), each with Copy, a QR
// code drawn here (qr.js) and Replace (`rotate_link`, after a confirmation: the old link
// stops working at once and whoever holds it is disconnected). The links follow the
// agenda: when its version changes the list is asked for again, so a speaker just added
// has a link at once. The shared join links' switch (`set_join_links`) sits with them.
//
// A console may be on a shared screen: links show only the start of their secret; Copy
// and the QR code carry the whole link.

import { html, patch, raw } from '../dom.js';
import { t } from '../i18n/index.js';
import { langName, errorText } from './common.js';
import { qrSvg } from '../qr.js';
import { toolIcon } from './tool-icons.js';
import { iso } from './edit-model.js';

const GROUPS = [
  ['host', 'links.group_host'],
  ['moderator', 'links.group_moderators'],
  ['speaker', 'links.group_speakers'],
  ['participant', 'links.group_join'],
  ['observer', 'links.group_join'],
  ['interpreter', 'links.group_booths'],
  ['projector', 'links.group_screen'],
];

const keyOf = (l) => (l.person ? `${l.role}-${l.person}` : l.role);

/** Who a link is for, in the interface language. */
export function linkWho(l) {
  if (l.role === 'interpreter') return t('links.booth', { lang: langName(l.person) });
  if (l.role === 'participant') return t('links.participant_join');
  if (l.role === 'observer') return t('links.observer_join');
  if (l.role === 'host') return t('links.host');
  if (l.role === 'projector') return t('role.projector');
  return iso(l.name || l.person || '');
}

/** Copies a text: the Clipboard API where the page may use it, else a selection. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back below */ }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden';
  const back = document.activeElement;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  area.remove();
  if (back) back.focus();
  return ok;
}

export function create(el, env) {
  const { model, conn, ctx } = env;
  el.tabIndex = -1;
  el.innerHTML = String(html`<p class="note">${t('links.note')}</p>
    <div data-part="links-list" aria-busy="true"><p class="muted">${t('links.loading')}</p></div>`);
  const list = el.querySelector('[data-part="links-list"]');
  let links = null;
  let loadedVersion = null;
  let loading = false;
  let failed = '';
  let qrOpen = null;

  async function load() {
    if (loading) return;
    loading = true;
    const version = model.state ? model.state.agenda_version : null;
    try {
      const msg = await conn.request({ type: 'links' });
      links = msg.links;
      loadedVersion = version;
      failed = '';
    } catch (err) {
      failed = errorText(err);
    }
    loading = false;
    update();
  }

  function row(l) {
    const k = keyOf(l);
    const abs = new URL(l.url, location.origin).href;
    // The end of the path and the start of the secret: enough to tell links apart and
    // see that a replaced one changed, not enough to use.
    const u = new URL(abs);
    const shown = `…/${u.pathname.split('/').pop()}${u.hash ? `${u.hash.slice(0, 5)}…` : ''}`;
    const who = linkWho(l);
    const open = qrOpen === k;
    let qr = '';
    if (open) {
      try {
        qr = html`<div class="link-qr" id="qr-${k}" data-testid="link-qr-img-${k}">${raw(qrSvg(abs, { label: t('links.qr_label', { who }) }))}
          <p class="hint">${t('links.qr_hint')}</p></div>`;
      } catch {
        qr = html`<p class="error" id="qr-${k}">${t('links.qr_too_long')}</p>`;
      }
    }
    return html`<li class="link-row" data-testid="link-row" data-link="${k}">
      <span class="link-who"><span class="name" translate="no" dir="auto">${who}</span>
        <code class="link-url" dir="ltr" translate="no" data-testid="link-url-${k}">${shown}</code></span>
      <span class="link-buttons">
        <button type="button" class="small" data-act="copy" data-link="${k}" data-testid="link-copy-${k}" aria-label="${t('links.copy_name', { who })}">${toolIcon('copy')}<span>${t('links.copy')}</span></button>
        <button type="button" class="small" data-act="qr" data-link="${k}" data-testid="link-qr-${k}" aria-expanded="${open ? 'true' : 'false'}" aria-controls="qr-${k}" aria-label="${t('links.qr_name', { who })}">${toolIcon('qr')}<span>${t('links.qr')}</span></button>
        <button type="button" class="small danger" data-act="rotate" data-link="${k}" data-testid="link-rotate-${k}" aria-label="${t('links.rotate_name', { who })}">${toolIcon('rotate')}<span>${t('links.rotate')}</span></button>
      </span>
      ${qr}
    </li>`;
  }

  function listHtml() {
    if (failed) return html`<p class="error" role="alert">${failed}</p><button type="button" class="small" data-act="reload" data-testid="links-reload">${t('links.retry')}</button>`;
    if (!links) return html`<p class="muted">${t('links.loading')}</p>`;
    const out = [];
    const done = new Set();
    for (const [role, title] of GROUPS) {
      if (done.has(title)) continue;
      const roles = GROUPS.filter(([, t2]) => t2 === title).map(([r]) => r);
      done.add(title);
      const ls = links.filter((l) => roles.includes(l.role));
      if (!ls.length) continue;
      out.push(html`<section class="link-group" aria-labelledby="lg-${role}"><h3 id="lg-${role}">${t(title)}</h3>
        ${role === 'participant' ? switchHtml() : ''}
        <ul class="link-list">${ls.map(row)}</ul></section>`);
    }
    return html`${out}`;
  }

  function switchHtml() {
    const st = model.state;
    const on = !!st.join_links_open;
    const off = st.phase === 'ended';
    return html`<div class="switch-line">
      <button type="button" role="switch" class="switch${on ? ' on' : ' off'}" aria-checked="${on ? 'true' : 'false'}" data-act="join-links" data-testid="join-links-switch"${off ? html` aria-disabled="true"` : ''}>
        <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
        <span class="switch-label">${t('links.join_switch')}</span>
        <strong class="switch-state" data-testid="join-links-state">${on ? t('links.join_open') : t('links.join_closed')}</strong>
      </button>
      <span class="hint">${on ? t('links.join_open_hint') : t('links.join_closed_hint')}</span>
    </div>`;
  }

  function update() {
    if (el.hidden || !model.state) return;
    if (links && loadedVersion !== model.state.agenda_version) load();
    list.setAttribute('aria-busy', links || failed ? 'false' : 'true');
    patch(list, listHtml());
  }

  const find = (k) => (links || []).find((l) => keyOf(l) === k);
  const acts = {
    copy: async (b) => {
      const l = find(b.dataset.link);
      if (!l) return;
      const ok = await copyText(new URL(l.url, location.origin).href);
      ctx.notify(ok ? t('links.copied', { who: linkWho(l) }) : t('links.copy_failed'), ok ? 'info' : 'error');
    },
    qr: (b) => {
      qrOpen = qrOpen === b.dataset.link ? null : b.dataset.link;
      update();
    },
    rotate: async (b) => {
      const l = find(b.dataset.link);
      if (!l) return;
      const who = linkWho(l);
      const own = l.role === 'host';
      if (!confirm(t(own ? 'links.confirm_rotate_host' : 'links.confirm_rotate', { who }))) return;
      let msg;
      try {
        msg = await conn.request({ type: 'rotate_link', role: l.role, ...(l.person ? { person: l.person } : {}) });
      } catch (err) {
        ctx.notify(errorText(err), 'error');
        return;
      }
      const fresh = msg.links && msg.links[0];
      if (!fresh) return;
      links = links.map((x) => (keyOf(x) === keyOf(fresh) ? fresh : x));
      update();
      ctx.announce(t('links.rotated', { who }));
      ctx.notify(t('links.rotated', { who }));
      if (own) {
        // This console's own link was replaced: carry on with the new one.
        location.replace(new URL(fresh.url, location.origin).href);
        location.reload();
      }
    },
    'join-links': async () => {
      const open = !model.state.join_links_open;
      const res = await env.run({ type: 'set_join_links', open });
      if (!res.ok) ctx.notify(errorText(res), 'error');
      else ctx.announce(open ? t('links.join_open') : t('links.join_closed'));
    },
    reload: () => { failed = ''; update(); load(); },
  };
  function onClick(e) {
    const b = e.target.closest('[data-act]');
    if (!b || !el.contains(b) || b.getAttribute('aria-disabled') === 'true') return;
    const fn = acts[b.dataset.act];
    if (fn) fn(b);
  }
  el.addEventListener('click', onClick);

  return {
    show() {
      if (!links && !loading) load();
      update();
    },
    update,
    destroy() { el.removeEventListener('click', onClick); },
  };
}
