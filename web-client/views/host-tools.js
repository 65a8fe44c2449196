// The host console's tools: a row of buttons (edit the agenda, participants, links, API
// keys; a moderator gets "their speakers" only) that open one side sheet with a tab per
// tool. On a wide screen the sheet is a non-modal panel over the queue's column, so the
// clocks, their controls, the floor and the alerts stay in view and in use while the
// host edits; on a phone it is a modal dialog over the console. Escape or the close
// button closes it and gives focus back to the button that opened it.
//
// Each tool is its own module (host-edit.js, host-people.js, host-links.js,
// host-keys.js) with `create(el, env)` → `{ show(), update(), destroy() }`.

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { icon } from './icons.js';
import { toolIcon } from './tool-icons.js';
import * as edit from './host-edit.js';
import * as people from './host-people.js';
import * as links from './host-links.js';
import * as keys from './host-keys.js';

const TOOLS = { edit, people, links, keys };
const HOST_TABS = ['edit', 'people', 'links', 'keys'];
const MOD_TABS = ['edit'];
/** Where the console is one screen (console.css): the sheet then leaves the clocks free. */
const WIDE = '(min-width: 1100px) and (min-height: 600px)';

export function mountTools(root, ctx) {
  const host = ctx.role === 'host';
  const tabs = host ? HOST_TABS : MOD_TABS;
  const mem = ctx.viewMemory.tools || (ctx.viewMemory.tools = { tab: 'edit', open: false });
  if (!tabs.includes(mem.tab)) mem.tab = tabs[0];
  const bar = root.querySelector('[data-part="tools"]');
  const label = (k) => t(host ? `tools.tab_${k}` : 'tools.tab_edit_mod');

  bar.innerHTML = String(html`<div class="console-tools" role="group" aria-label="${t('tools.title')}">
    ${tabs.map((k) => html`<button type="button" class="small" data-tool-open="${k}" data-testid="tools-open-${k}" aria-haspopup="dialog" aria-controls="tools-sheet" aria-expanded="false">${toolIcon(TOOL_ICONS[k])}<span>${label(k)}</span></button>`)}
  </div>`);

  const dlg = document.createElement('dialog');
  dlg.id = 'tools-sheet';
  dlg.className = 'tools-sheet';
  dlg.dataset.testid = 'tools-sheet';
  dlg.setAttribute('aria-labelledby', 'tools-sheet-title');
  dlg.innerHTML = String(html`
    <div class="sheet-head">
      <h2 id="tools-sheet-title" class="sheet-title" tabindex="-1">${host ? t('tools.title') : t('tools.title_mod')}</h2>
      <button type="button" class="small icon-button" data-sheet-close data-testid="tools-close" aria-label="${t('tools.close')}">${icon('remove')}</button>
    </div>
    ${tabs.length > 1 ? html`<div class="tabs sheet-tabs" role="tablist" aria-labelledby="tools-sheet-title">
      ${tabs.map((k) => html`<button type="button" role="tab" id="sheet-tab-${k}" data-sheet-tab="${k}" data-testid="sheet-tab-${k}" aria-controls="sheet-panel-${k}" aria-selected="false" tabindex="-1">${label(k)}</button>`)}
    </div>` : ''}
    <div class="sheet-body">
      ${tabs.map((k) => html`<div ${tabs.length > 1 ? html`role="tabpanel" aria-labelledby="sheet-tab-${k}"` : ''} id="sheet-panel-${k}" class="sheet-panel" data-testid="sheet-panel-${k}" hidden></div>`)}
    </div>`);
  document.body.append(dlg);

  const env = {
    ctx,
    conn: ctx.conn,
    model: ctx.conn.model,
    host,
    memory: ctx.viewMemory,
    /** Sends a command and resolves to `{ok}` or `{ok: false, code, message}`, without
     * the shell's generic notice: the tools say what went wrong where it happened. */
    run(cmd) {
      return ctx.conn.command(cmd).then(() => ({ ok: true }), (err) => ({ ok: false, code: err.code, message: err.message }));
    },
    open: (k) => open(k),
  };
  const panels = {};
  for (const k of tabs) panels[k] = TOOLS[k].create(dlg.querySelector(`#sheet-panel-${k}`), env);

  let opener = null;
  function isOpen() { return dlg.open; }
  function select(k, focus) {
    mem.tab = k;
    for (const b of dlg.querySelectorAll('[data-sheet-tab]')) {
      const on = b.dataset.sheetTab === k;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    for (const k2 of tabs) dlg.querySelector(`#sheet-panel-${k2}`).hidden = k2 !== k;
    for (const b of bar.querySelectorAll('[data-tool-open]')) b.setAttribute('aria-expanded', isOpen() && b.dataset.toolOpen === k ? 'true' : 'false');
    if (isOpen()) panels[k].show();
  }
  /** The sheet starts where the console's columns do: below the app bar and the
   * console's banner (the no-interpretation alert, the moderator's line), which it must
   * never cover. Measured again with every update: the banner comes and goes. */
  function place() {
    const grid = root.querySelector('.console-grid');
    const y = grid ? Math.max(0, grid.getBoundingClientRect().top) : 0;
    const v = `${Math.round(y)}px`;
    if (dlg.style.getPropertyValue('--sheet-top') !== v) dlg.style.setProperty('--sheet-top', v);
  }
  function open(k, { focus = true } = {}) {
    if (!isOpen()) {
      const wide = window.matchMedia(WIDE).matches;
      dlg.classList.toggle('modal', !wide);
      place();
      if (wide) dlg.show();
      else dlg.showModal();
    }
    mem.open = true;
    select(k, false);
    if (focus) {
      const tab = dlg.querySelector(`[data-sheet-tab="${k}"]`);
      (tab || dlg.querySelector('.sheet-title')).focus();
    }
  }
  function close() {
    if (!isOpen()) return;
    dlg.close();
  }
  function onClose() {
    mem.open = false;
    for (const b of bar.querySelectorAll('[data-tool-open]')) b.setAttribute('aria-expanded', 'false');
    const back = opener && opener.isConnected ? opener : bar.querySelector(`[data-tool-open="${mem.tab}"]`);
    if (back) back.focus();
  }
  dlg.addEventListener('close', onClose);

  function onBarClick(e) {
    const b = e.target.closest('[data-tool-open]');
    if (!b) return;
    opener = b;
    open(b.dataset.toolOpen);
  }
  function onSheetClick(e) {
    // The console's own click handler (tabs, actions) must not see the sheet's clicks.
    e.stopPropagation();
    const tab = e.target.closest('[data-sheet-tab]');
    if (tab) { select(tab.dataset.sheetTab, false); return; }
    if (e.target.closest('[data-sheet-close]')) close();
  }
  function onSheetKey(e) {
    // The console's shortcuts (Space, arrows, N, E, ±) are for the console, not the sheet.
    e.stopPropagation();
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault();
      close();
      return;
    }
    const tab = e.target.closest && e.target.closest('[data-sheet-tab]');
    if (tab && ['ArrowRight', 'ArrowLeft', 'Home', 'End'].includes(e.key)) {
      e.preventDefault();
      const rtl = document.documentElement.dir === 'rtl';
      let i = tabs.indexOf(tab.dataset.sheetTab);
      if (e.key === 'Home') i = 0;
      else if (e.key === 'End') i = tabs.length - 1;
      else i = (i + ((e.key === 'ArrowRight') !== rtl ? 1 : -1) + tabs.length) % tabs.length;
      select(tabs[i], true);
    }
  }
  function onResize() { if (isOpen()) place(); }
  bar.addEventListener('click', onBarClick);
  dlg.addEventListener('click', onSheetClick);
  dlg.addEventListener('keydown', onSheetKey);
  dlg.addEventListener('submit', (e) => e.stopPropagation());
  dlg.addEventListener('change', (e) => e.stopPropagation());
  window.addEventListener('resize', onResize);

  // After a language switch the console is mounted again: so is an open sheet.
  if (mem.open) open(mem.tab, { focus: false });

  return {
    update() {
      if (isOpen()) {
        place();
        panels[mem.tab].update();
      }
      for (const k of tabs) if (panels[k].always) panels[k].always();
    },
    open,
    panels,
    env,
    destroy() {
      window.removeEventListener('resize', onResize);
      for (const k of tabs) panels[k].destroy();
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      dlg.remove();
    },
  };
}

const TOOL_ICONS = { edit: 'edit', people: 'people', links: 'link', keys: 'key' };
