// The participant's view (also the observer's): a join form first (name, delegation,
// floor language), then the agenda, the current segment and speaker, the countdown,
// the hand buttons and one's own place in the queue.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import {
  agendaHtml, clockHtml, currentSpeakerHtml, queueHtml, segmentHtml, langOptions, tick, errorText,
  ownHands, queueLength,
} from './common.js';

const DEFAULT_LANGS = ['en', 'fr', 'es', 'ar'];

/** Where the floor language given at join is kept (the default for hands). */
function languageKey(meeting) {
  return `podium:${meeting}:language`;
}
function storedLanguage(meeting) {
  try { return localStorage.getItem(languageKey(meeting)); } catch { return null; }
}

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  const mem = ctx.viewMemory;
  const observer = ctx.role === 'observer';

  root.innerHTML = String(html`
    <div class="participant-view">
      <div data-part="join"></div>
      <div data-part="live" class="live-grid"></div>
    </div>`);
  const part = (n) => root.querySelector(`[data-part="${n}"]`);

  // The live part has a static skeleton (so the hand form keeps its selection) and
  // parts redrawn on change.
  let skeleton = false;
  function buildLive() {
    if (skeleton) return;
    skeleton = true;
    part('live').innerHTML = String(html`
      <div data-part="floor"></div>
      <section class="panel now-panel" aria-labelledby="p-now-h">
        <h2 id="p-now-h" class="panel-title">${t('participant.now')}</h2>
        <div data-part="segment"></div>
        <div data-part="speaker"></div>
        <div data-part="clock"></div>
      </section>
      <section class="panel hand-panel" aria-labelledby="p-hand-h">
        <h2 id="p-hand-h" class="panel-title">${t('participant.your_hand')}</h2>
        <div data-part="position"></div>
        <div class="hand-form">
          <label for="hand-lang">${t('participant.speak_in')}</label>
          <select id="hand-lang" data-testid="hand-language"></select>
        </div>
        <div data-part="hands"></div>
      </section>
      <section class="panel queue-panel" aria-labelledby="p-queue-h">
        <h2 id="p-queue-h" class="panel-title">${t('queue.title')}</h2>
        <div data-part="queue"></div>
      </section>
      <section class="panel agenda-panel" aria-labelledby="p-agenda-h">
        <h2 id="p-agenda-h" class="panel-title">${t('agenda.title')}</h2>
        <div data-part="agenda"></div>
      </section>`);
  }

  function myParticipant() {
    const you = model.you;
    if (!you || you.participant === undefined || !model.state) return null;
    return (model.state.participants || []).find((p) => p.id === you.participant) || null;
  }

  function myHands() {
    const you = model.you;
    if (!you || you.participant === undefined || !model.state) return [];
    return ownHands(model.place).map(({ i, point_of_order }) => ({ i, h: { point_of_order } }));
  }

  function renderJoin() {
    const langs = (model.agenda && model.agenda.meeting.languages) || DEFAULT_LANGS;
    const d = mem.joinDraft || {};
    const uiLang = document.documentElement.lang;
    const chosen = d.language || (langs.includes(uiLang) ? uiLang : langs[0]);
    return html`<section class="panel join-panel" aria-labelledby="join-h">
      <h2 id="join-h" class="panel-title">${observer ? t('join.title_observer') : t('join.title')}</h2>
      <p>${t('join.intro')}</p>
      <form data-form="join" data-testid="join-form" class="join-form">
        <label for="join-name">${t('join.name')}</label>
        <input id="join-name" name="name" required maxlength="80" autocomplete="name" data-testid="join-name" value="${d.name || ''}">
        <label for="join-delegation">${t('join.delegation')}</label>
        <input id="join-delegation" name="delegation" required maxlength="120" autocomplete="organization" data-testid="join-delegation" value="${d.delegation || ''}">
        <label for="join-language">${t('join.language')}</label>
        <select id="join-language" name="language" data-testid="join-language">${langOptions(langs, chosen)}</select>
        <button type="submit" class="primary big" data-testid="join-submit">${t('join.submit')}</button>
        ${mem.joinError ? html`<p class="error" role="alert" data-testid="join-error">${mem.joinError}</p>` : ''}
      </form>
    </section>`;
  }

  function renderFloor() {
    const st = model.state;
    const you = model.you;
    const mine = st && st.speech && you && you.participant !== undefined && st.speech.speaker.participant === you.participant;
    return mine ? html`<div class="floor-banner" data-testid="you-have-floor">${t('floor.you_have_it')}</div>` : '';
  }

  function canRaise() {
    const st = model.state;
    return !!st && (!observer || st.observers_may_raise_hand);
  }

  function renderHands() {
    const st = model.state;
    if (!canRaise()) return html`<p class="muted" data-testid="observer-note">${t('participant.observer_no_hands')}</p>`;
    const hands = myHands();
    const ordinary = hands.find(({ h }) => !h.point_of_order);
    const poo = hands.find(({ h }) => h.point_of_order);
    return html`<div class="controls">
      ${ordinary
        ? html`<button type="button" data-action="lower" data-testid="lower-hand">${t('participant.lower_hand')}</button>`
        : html`<button type="button" class="primary big" data-action="raise" data-testid="raise-hand" ${st.queue_open ? '' : 'disabled'}>${t('participant.raise_hand')}</button>`}
      ${poo
        ? html`<button type="button" data-action="lower-poo" data-testid="lower-point-of-order">${t('participant.withdraw_point_of_order')}</button>`
        : html`<button type="button" data-action="poo" data-testid="point-of-order">${t('participant.point_of_order')}</button>`}
    </div>
    ${st.queue_open ? '' : html`<p class="note" data-testid="queue-closed-note">${t('participant.queue_closed')}</p>`}`;
  }

  function positionText() {
    const hands = myHands();
    if (!hands.length) return '';
    return t('participant.position', { n: hands[0].i + 1, total: queueLength(model.state) });
  }

  let lastPosition = null;
  let hadFloor = false;
  function update() {
    const joined = model.you && model.you.participant !== undefined;
    const needJoin = !joined && (ctx.status === 'need_join' || ctx.status === 'denied' && mem.joinError);
    patch(part('join'), needJoin ? renderJoin() : '');
    if (!joined || !model.state || !model.agenda) {
      part('live').hidden = true;
      return;
    }
    part('live').hidden = false;
    buildLive();
    const now = conn.serverNow();
    const sel = root.querySelector('[data-testid="hand-language"]');
    const langs = model.agenda.meeting.languages;
    if (sel.options.length !== langs.length) {
      const me = myParticipant();
      const def = mem.handLang || (me && me.language) || storedLanguage(ctx.meeting) || langs[0];
      sel.innerHTML = String(html`${langOptions(langs, def)}`);
    }
    patch(part('floor'), renderFloor());
    patch(part('segment'), segmentHtml(model));
    patch(part('speaker'), currentSpeakerHtml(model));
    patch(part('clock'), model.state.phase === 'running' ? clockHtml('main', model, now, { size: 'large' }) : '');
    patch(part('hands'), renderHands());
    const pos = positionText();
    patch(part('position'), pos ? html`<p class="position" data-testid="queue-position">${pos}</p>` : html`<p class="muted" data-testid="queue-position-none">${t('participant.no_hand')}</p>`);
    patch(part('queue'), queueHtml(model, now, { you: model.you.participant }));
    patch(part('agenda'), agendaHtml(model));
    if (lastPosition !== null && pos !== lastPosition && pos) ctx.announce(pos);
    lastPosition = pos;
    const floor = !!renderFloor().toString();
    if (floor && !hadFloor) ctx.announce(t('floor.you_have_it'));
    hadFloor = floor;
  }

  function onSubmit(e) {
    const form = e.target.closest('form[data-form="join"]');
    if (!form) return;
    e.preventDefault();
    const name = form.elements.name.value.trim();
    const delegation = form.elements.delegation.value.trim();
    const language = form.elements.language.value;
    mem.joinDraft = { name, delegation, language };
    if (!name || !delegation) return;
    mem.joinError = null;
    mem.handLang = language;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    conn.join({ name, delegation, language }).then(() => {
      mem.joinDraft = null;
      try { localStorage.setItem(languageKey(ctx.meeting), language); } catch { /* ignore */ }
      update();
    }, (err) => {
      mem.joinError = errorText(err);
      btn.disabled = false;
      update();
    });
  }
  function onInput(e) {
    const form = e.target.closest('form[data-form="join"]');
    if (form) {
      mem.joinDraft = {
        name: form.elements.name.value,
        delegation: form.elements.delegation.value,
        language: form.elements.language.value,
      };
    }
    if (e.target.matches && e.target.matches('[data-testid="hand-language"]')) mem.handLang = e.target.value;
  }
  function handLanguage() {
    const sel = root.querySelector('[data-testid="hand-language"]');
    return sel ? sel.value : undefined;
  }
  function onClick(e) {
    const el = e.target.closest('button[data-action]');
    if (!el || el.disabled) return;
    switch (el.dataset.action) {
      case 'raise': ctx.send({ type: 'raise_hand', language: handLanguage(), point_of_order: false }); break;
      case 'poo': ctx.send({ type: 'raise_hand', language: handLanguage(), point_of_order: true }); break;
      case 'lower': ctx.send({ type: 'lower_hand', point_of_order: false }); break;
      case 'lower-poo': ctx.send({ type: 'lower_hand', point_of_order: true }); break;
      default: break;
    }
  }
  root.addEventListener('submit', onSubmit);
  root.addEventListener('input', onInput);
  root.addEventListener('change', onInput);
  root.addEventListener('click', onClick);
  update();

  return {
    update,
    tick(now) {
      for (const k of tick(root, model, now)) ctx.announce(t('clock.one_minute_announce'));
    },
    destroy() {
      root.removeEventListener('submit', onSubmit);
      root.removeEventListener('input', onInput);
      root.removeEventListener('change', onInput);
      root.removeEventListener('click', onClick);
    },
  };
}
