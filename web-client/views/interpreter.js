// The interpreters' booth view: who speaks now and in which language, who is next
// (named speakers not yet heard and the queue, with their languages), time left, and
// two signals: "please slow down" to the speaker, "no interpretation" to the host.

import { html, patch, personId } from '../dom.js';
import { t } from '../i18n/index.js';
import { clockHtml, currentSpeakerHtml, queueHtml, segmentHtml, currentSegment, langName, langOptions, tick } from './common.js';

const BOOTH_KEY = 'podium:booth';

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;

  root.innerHTML = String(html`
    <div class="interpreter-grid">
      <section class="panel now-panel" aria-labelledby="i-now-h">
        <h2 id="i-now-h" class="panel-title">${t('interp.now')}</h2>
        <div data-part="speaker"></div>
        <div data-part="clock"></div>
        <div data-part="segment"></div>
      </section>
      <section class="panel signal-panel" aria-labelledby="i-sig-h">
        <h2 id="i-sig-h" class="panel-title">${t('interp.signals')}</h2>
        <div class="hand-form">
          <label for="booth-lang">${t('interp.booth')}</label>
          <select id="booth-lang" data-testid="booth-language"></select>
        </div>
        <div class="controls">
          <button type="button" class="primary big" data-action="slow" data-testid="slow-down-button">${t('interp.slow_down')}</button>
          <button type="button" class="danger big" data-action="noint" data-testid="no-interpretation-button">${t('interp.no_interpretation')}</button>
        </div>
      </section>
      <section class="panel next-panel" aria-labelledby="i-next-h">
        <h2 id="i-next-h" class="panel-title">${t('interp.next')}</h2>
        <div data-part="named"></div>
        <h3 class="sub-title">${t('queue.title')}</h3>
        <div data-part="queue"></div>
      </section>
    </div>`);
  const part = (n) => root.querySelector(`[data-part="${n}"]`);

  function booth() {
    const sel = root.querySelector('[data-testid="booth-language"]');
    return sel && sel.value ? sel.value : undefined;
  }

  function renderNamed() {
    const st = model.state;
    const seg = currentSegment(model);
    if (!st || !seg) return '';
    const heard = new Set((st.history || []).filter((r) => r.segment === st.current && r.speaker.person).map((r) => r.speaker.person));
    const now = st.speech && st.speech.speaker.person;
    const next = [...(seg.speakers || []), ...(seg.reactions || [])].filter((p) => !heard.has(personId(p)) && personId(p) !== now);
    if (!next.length) return '';
    return html`<ol class="named-next" data-testid="named-next">${next.map((p) => html`<li>
      <span class="name" translate="no" dir="auto">${p.name}</span> <span class="badge lang" data-lang="${p.language}">${langName(p.language)}</span></li>`)}</ol>`;
  }

  function update() {
    if (!model.state || !model.agenda) return;
    const now = conn.serverNow();
    const sel = root.querySelector('[data-testid="booth-language"]');
    const langs = model.agenda.meeting.languages;
    if (sel.options.length !== langs.length + 1) {
      let saved = null;
      try { saved = localStorage.getItem(BOOTH_KEY); } catch { /* ignore */ }
      sel.innerHTML = String(html`<option value="">${t('interp.booth_choose')}</option>${langOptions(langs, saved)}`);
    }
    patch(part('speaker'), currentSpeakerHtml(model, { big: true }));
    patch(part('clock'), model.state.phase === 'running' ? clockHtml('main', model, now, { size: 'large' }) : '');
    patch(part('segment'), segmentHtml(model, { question: false }));
    patch(part('named'), renderNamed());
    patch(part('queue'), queueHtml(model, now, {}));
  }

  function onChange(e) {
    if (e.target.matches('[data-testid="booth-language"]')) {
      try { localStorage.setItem(BOOTH_KEY, e.target.value); } catch { /* ignore */ }
    }
  }
  function onClick(e) {
    const el = e.target.closest('button[data-action]');
    if (!el || el.disabled) return;
    const language = booth();
    if (el.dataset.action === 'slow') {
      ctx.send({ type: 'slow_down', ...(language ? { language } : {}) }).then((ok) => ok && ctx.notify(t('interp.sent_slow_down')));
    } else if (el.dataset.action === 'noint') {
      ctx.send({ type: 'no_interpretation', ...(language ? { language } : {}) }).then((ok) => ok && ctx.notify(t('interp.sent_no_interpretation')));
    }
  }
  root.addEventListener('change', onChange);
  root.addEventListener('click', onClick);
  update();

  return {
    update,
    tick(now) { tick(root, model, now); },
    destroy() {
      root.removeEventListener('change', onChange);
      root.removeEventListener('click', onClick);
    },
  };
}
