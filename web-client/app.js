// The router and page shell. The role is the last segment of /m/<meeting>/<role>,
// the capability token is the URL fragment (#<token>, never sent over HTTP). It opens
// one protocol Connection and mounts the view for the role; views only render state.

import { Connection } from './protocol.js';
import { t, getLang, setLang, onLangChange, applyToDocument, UI_LANGS, CATALOGUES } from './i18n/index.js';
import { html, esc } from './dom.js';
import { errorText } from './views/common.js';
import * as host from './views/host.js';
import * as speaker from './views/speaker.js';
import * as participant from './views/participant.js';
import * as interpreter from './views/interpreter.js';
import * as projector from './views/projector.js';

const VIEWS = {
  host, moderator: host, speaker, participant, observer: participant, interpreter, projector,
};

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
  document.body.dataset.role = role;

  const viewModule = VIEWS[role];
  let conn = null;
  let view = null;
  const viewMemory = {};
  let status = { status: 'connecting' };

  function announce(text) {
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
    fsBtn.textContent = t('app.fullscreen');
    fsBtn.hidden = role !== 'projector';
    renderTitle();
    renderStatus();
  }
  function renderTitle() {
    const ag = conn && conn.model.agenda;
    // Before a participant joins there is no agenda yet: the role names the page.
    titleEl.textContent = ag ? ag.meeting.title : (viewModule ? t(`role.${role}`) : 'Podium');
    document.title = `${viewModule ? t(`role.${role}`) : 'Podium'}${ag ? ` — ${ag.meeting.title}` : ''} · Podium`;
  }
  function renderStatus() {
    const s = status.status;
    let text;
    if (s === 'open') text = t('conn.open');
    else if (s === 'reconnecting') text = status.retryIn ? t('conn.reconnecting_in', { s: Math.ceil(status.retryIn / 1000) }) : t('conn.reconnecting');
    else if (s === 'denied') text = t('conn.denied');
    else if (s === 'need_join') text = t('conn.need_join');
    else text = t('conn.connecting');
    statusEl.textContent = text;
    statusEl.dataset.status = s;
  }

  function mountView() {
    if (view) view.destroy();
    main.innerHTML = '';
    if (!viewModule || !meeting) {
      main.innerHTML = String(html`<section class="panel"><h2>${t('app.bad_link_title')}</h2><p>${t('app.bad_link')}</p></section>`);
      return;
    }
    const ctx = {
      conn, role, meeting, viewMemory, announce, notify,
      get status() { return status.status; },
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
    const box = document.createElement('section');
    box.className = 'panel denied';
    box.setAttribute('role', 'alert');
    box.dataset.testid = 'denied';
    box.innerHTML = String(html`<h2>${t('app.denied_title')}</h2><p>${status.code ? errorText({ code: status.code }) : t('app.bad_link')}</p>`);
    main.prepend(box);
  }

  langSel.addEventListener('change', () => setLang(langSel.value));
  onLangChange(() => {
    // Announcements and notices were written in the old language.
    liveRegion.textContent = '';
    notice.className = 'notice';
    notice.textContent = '';
    renderShell();
    mountView();
  });
  fsBtn.addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });

  if (viewModule && meeting) {
    conn = new Connection({ meeting, role, token });
    conn.on('status', (s) => {
      const before = status.status;
      status = s;
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
    window.__podium = { conn, serverNow: () => conn.serverNow(), parseLocation };
  }
  renderShell();
  mountView();
  if (conn) conn.start();

  function frame() {
    if (view && conn && conn.model.state) view.tick(conn.serverNow());
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  // rAF stops in hidden tabs; keep a slow redraw so that a tab coming back is right at once.
  setInterval(() => { if (document.hidden && view && conn && conn.model.state) view.tick(conn.serverNow()); }, 1000);
}

start();
