// The router and page shell. The role is the last segment of /m/<meeting>/<role>,
// the capability token is the URL fragment (#<token>, never sent over HTTP). It opens
// one protocol Connection and mounts the view for the role; views only render state.
//
// The shell also owns what every view shares: the language picker, the live region
// (announcements, remembered across remounts so a language switch repeats nothing), the
// stage mode of the projector and the speaker (no app bar: a corner control instead),
// and the offline state: 3 s after the connection drops, clocks stop at their last
// known value and a banner counts down to the next retry.

import { Connection } from './protocol.js';
import { t, getLang, setLang, onLangChange, applyToDocument, UI_LANGS, CATALOGUES } from './i18n/index.js';
import { html, esc } from './dom.js';
import { errorText, segTitle } from './views/common.js';
import { icon } from './views/icons.js';
import * as host from './views/host.js';
import * as speaker from './views/speaker.js';
import * as participant from './views/participant.js';
import * as interpreter from './views/interpreter.js';
import * as projector from './views/projector.js';

const VIEWS = {
  host, moderator: host, speaker, participant, observer: participant, interpreter, projector,
};
/** Roles whose view is a stage display: full viewport, dark, no app bar. */
const STAGE_ROLES = new Set(['projector', 'speaker']);
/** How long a dropped connection may last before the clocks say "offline". */
const OFFLINE_AFTER_MS = 3000;

/** Reads /m/<meeting>/<role> and #<token>. */
export function parseLocation(loc = location) {
  const parts = loc.pathname.split('/').filter(Boolean);
  const role = parts.length ? decodeURIComponent(parts[parts.length - 1]) : '';
  const mIndex = parts.indexOf('m');
  const meeting = mIndex >= 0 && parts.length > mIndex + 2 ? decodeURIComponent(parts[mIndex + 1]) : '';
  const token = (loc.hash || '').replace(/^#/, '');
  return { meeting, role, token };
}

function start() {
  applyToDocument();
  document.body.dataset.ready = 'false';
  const { meeting, role, token } = parseLocation();
  const main = document.getElementById('view');
  const liveRegion = document.querySelector('[data-testid="live-region"]');
  const notice = document.querySelector('[data-testid="notice"]');
  const statusEl = document.querySelector('[data-testid="connection-status"]');
  const roleEl = document.querySelector('[data-testid="role-label"]');
  const titleEl = document.querySelector('[data-testid="meeting-title"]');
  const langSel = document.querySelector('[data-testid="lang-select"]');
  const fsBtn = document.querySelector('[data-testid="fullscreen"]');
  const tools = document.querySelector('[data-testid="tools"]');
  const toolsToggle = document.querySelector('[data-testid="tools-toggle"]');
  const offlineBanner = document.querySelector('[data-testid="offline-banner"]');
  document.body.dataset.role = role;
  const stage = STAGE_ROLES.has(role);
  if (stage) {
    document.body.dataset.stage = 'true';
    tools.open = false;
  }

  const viewModule = VIEWS[role];
  let conn = null;
  let view = null;
  const viewMemory = {};
  let status = { status: 'connecting' };
  /** Local time the connection dropped, and the server time then (the last known). */
  let lostAt = null;
  let lostServerNow = null;
  let retryAt = null;
  let offline = false;

  function announce(text) {
    if (!text) return;
    liveRegion.textContent = '';
    setTimeout(() => { liveRegion.textContent = text; }, 50);
  }
  let noticeTimer = null;
  function notify(text, kind = 'info') {
    notice.textContent = text;
    notice.className = `notice show ${kind}`;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.className = 'notice'; notice.textContent = ''; }, kind === 'error' ? 8000 : 3000);
  }

  function renderShell() {
    document.querySelector('.skip-link').textContent = t('app.skip');
    document.querySelector('.lang-label').textContent = t('app.language');
    langSel.innerHTML = UI_LANGS.map((l) => `<option value="${l}" lang="${l}"${l === getLang() ? ' selected' : ''}>${esc(CATALOGUES[l]['app.autonym'])}</option>`).join('');
    roleEl.textContent = viewModule ? t(`role.${role}`) : '';
    toolsToggle.innerHTML = `${icon('chevron')}<span class="visually-hidden">${esc(t('app.settings'))}</span>`;
    toolsToggle.setAttribute('aria-label', t('app.settings'));
    fsBtn.hidden = role !== 'projector' && role !== 'speaker';
    renderFullscreen();
    renderTitle();
    renderStatus();
  }
  function renderFullscreen() {
    const on = !!document.fullscreenElement;
    fsBtn.innerHTML = `${icon(on ? 'shrink' : 'expand')}<span>${esc(on ? t('app.exit_fullscreen') : t('app.fullscreen'))}</span>`;
  }
  function renderTitle() {
    const ag = conn && conn.model.agenda;
    // Before a participant joins there is no agenda yet: the join form's preview names
    // the meeting, or else the role names the page.
    const title = ag ? ag.meeting.title : (viewMemory.joinInfo && viewMemory.joinInfo.title) || null;
    titleEl.textContent = title || (viewModule ? t(`role.${role}`) : 'Podium');
    document.title = `${viewModule ? t(`role.${role}`) : 'Podium'}${title ? ` — ${title}` : ''} · Podium`;
  }
  function renderStatus() {
    const s = status.status;
    let text;
    if (s === 'open') text = t('conn.open');
    else if (s === 'reconnecting') text = retryAt ? t('conn.reconnecting_in', { s: Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) }) : t('conn.reconnecting');
    else if (s === 'denied') text = t('conn.denied');
    else if (s === 'need_join') text = t('conn.need_join');
    else text = t('conn.connecting');
    if (statusEl.textContent !== text) statusEl.textContent = text;
    statusEl.dataset.status = s;
    renderOffline();
  }
  /** The banner and the clocks' offline state: a counting retry, the time since the
   * last contact. Updated once a second while offline. */
  function renderOffline() {
    const was = offline;
    offline = lostAt !== null && Date.now() - lostAt >= OFFLINE_AFTER_MS && status.status !== 'denied';
    document.body.dataset.offline = offline ? 'true' : 'false';
    offlineBanner.hidden = !offline;
    if (offline) {
      const secs = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
      const retry = secs > 0 ? t('offline.retry_in', { s: secs }) : t('offline.retrying');
      const text = String(html`<span class="offline-icon">${icon('offline')}</span><strong>${t('offline.title')}</strong> <span>${t('offline.last_known')}</span> <span class="offline-retry" data-testid="offline-retry">${retry}</span>`);
      if (offlineBanner._last !== text) { offlineBanner._last = text; offlineBanner.innerHTML = text; }
    }
    if (offline !== was) {
      if (offline) announce(t('offline.announce'));
      else if (was) announce(t('offline.back'));
      if (view) view.update();
    }
  }

  function mountView() {
    if (view) view.destroy();
    main.innerHTML = '';
    if (!viewModule || !meeting) {
      main.innerHTML = String(html`<section class="panel"><h2>${t('app.bad_link_title')}</h2><p>${t('app.bad_link')}</p></section>`);
      return;
    }
    const ctx = {
      conn, role, meeting, viewMemory, announce, notify, stage,
      refreshTitle: () => renderTitle(),
      get status() { return status.status; },
      get offline() { return offline; },
      /** Server time for drawing clocks: the last known while offline. */
      now() { return offline && lostServerNow !== null ? lostServerNow : conn.serverNow(); },
      /** Sends a command; shows the error if any; resolves to true on ack. */
      send(cmd) {
        return conn.command(cmd).then(() => true, (err) => {
          notify(errorText(err), 'error');
          return false;
        });
      },
    };
    view = viewModule.mount(main, ctx);
    if (status.status === 'denied') showDenied();
  }

  function showDenied() {
    if (main.querySelector('[data-testid="denied"]')) return;
    const box = document.createElement('section');
    box.className = 'panel denied';
    box.setAttribute('role', 'alert');
    box.dataset.testid = 'denied';
    const code = status.code;
    const title = code === 'archived' ? t('app.archived_title') : t('app.denied_title');
    const text = code === 'revoked' ? t('app.revoked') : code ? errorText({ code }) : t('app.bad_link');
    box.innerHTML = String(html`<h2>${title}</h2><p>${text}</p>`);
    main.prepend(box);
  }

  langSel.addEventListener('change', () => setLang(langSel.value));
  onLangChange(() => {
    // Notices were written in the old language; announcements are not repeated.
    liveRegion.textContent = '';
    notice.className = 'notice';
    notice.textContent = '';
    const focusLang = document.activeElement === langSel;
    renderShell();
    mountView();
    if (focusLang) langSel.focus();
  });
  fsBtn.addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener('fullscreenchange', renderFullscreen);
  if (stage) stageHabits(fsBtn);

  if (viewModule && meeting) {
    conn = new Connection({ meeting, role, token });
    conn.on('status', (s) => {
      const before = status.status;
      status = s;
      if (s.status === 'open') {
        lostAt = null;
        lostServerNow = null;
        retryAt = null;
      } else if (s.status === 'reconnecting' || s.status === 'connecting') {
        if (lostAt === null) {
          lostAt = Date.now();
          if (before === 'open') lostServerNow = conn.serverNow();
        }
        retryAt = s.retryIn ? Date.now() + s.retryIn : null;
      } else {
        lostAt = null;
        retryAt = null;
      }
      renderStatus();
      if (view && (before !== s.status)) {
        if (s.status === 'denied') showDenied();
        view.update();
      }
    });
    conn.on('state', () => {
      renderTitle();
      if (view) view.update();
      document.body.dataset.ready = 'true';
    });
    conn.on('welcome', () => { if (view) view.update(); });
    conn.on('error', (msg) => notify(errorText(msg), 'error'));
    window.__podium = { conn, serverNow: () => conn.serverNow(), parseLocation, segTitle };
  }
  renderShell();
  mountView();
  if (conn) conn.start();

  const nowForClocks = () => (offline && lostServerNow !== null ? lostServerNow : conn.serverNow());
  function frame() {
    if (view && conn && conn.model.state) view.tick(nowForClocks());
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  setInterval(() => {
    // The offline banner counts; rAF stops in hidden tabs, so redraw slowly there too.
    if (lostAt !== null || status.status === 'reconnecting') renderStatus();
    if (document.hidden && view && conn && conn.model.state) view.tick(nowForClocks());
  }, 250);
}

/**
 * What a room technician expects of a stage display: the screen does not go to sleep
 * (a wake lock, taken again when the tab comes back), the pointer hides when still,
 * and F or a double-click toggles full screen.
 */
function stageHabits(fsBtn) {
  let lock = null;
  const wake = () => {
    if (document.visibilityState !== 'visible' || lock || !navigator.wakeLock) return;
    navigator.wakeLock.request('screen').then((l) => {
      lock = l;
      l.addEventListener('release', () => { lock = null; });
    }).catch(() => {});
  };
  wake();
  document.addEventListener('visibilitychange', wake);
  let idle = null;
  const stir = () => {
    document.body.dataset.idle = 'false';
    clearTimeout(idle);
    idle = setTimeout(() => { document.body.dataset.idle = 'true'; }, 3000);
  };
  stir();
  document.addEventListener('pointermove', stir);
  document.addEventListener('keydown', (e) => {
    stir();
    if ((e.key === 'f' || e.key === 'F') && !e.ctrlKey && !e.metaKey && !e.altKey
      && !(e.target.closest && e.target.closest('input, select, textarea'))) fsBtn.click();
  });
  document.getElementById('view').addEventListener('dblclick', (e) => {
    if (!e.target.closest('button, a, select')) fsBtn.click();
  });
}

start();
