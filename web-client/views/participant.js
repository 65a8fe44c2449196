// The participant's view (also the observer's), phone first: a join form (naming the
// meeting and its date), then what is on now with the countdown, the hand buttons and
// one's own place within reach without scrolling, the queue and the agenda. A
// participant given the floor from the queue gets the speaker's stage: their own
// countdown, the signals addressed to them, and a Done button.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import {
  agendaHtml, clockHtml, queueHtml, langOptions, tick, riseText, errorText, myPlaces, queueLength,
  currentSegment, segTitle, textHtml, holdsFloor, speechSignals, langName, fmtDate, zoneName, timeRange,
  floorLanguages,
} from './common.js';
import { liveStageHtml, signalsHtml, segmentAsideHtml, tickAside, lenClass, fitSignals, onResize } from './stage.js';
import { joinInfo } from '../join-info.js';

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
      <div data-part="floor" class="floor-slot"></div>
      <section class="panel now-panel compact" aria-labelledby="p-now-h">
        <h2 id="p-now-h" class="visually-hidden">${t('participant.now')}</h2>
        <div data-part="now"></div>
      </section>
      <section class="panel hand-panel" aria-labelledby="p-hand-h" data-part="hand-panel">
        <h2 id="p-hand-h" class="panel-title">${t('participant.your_hand')}</h2>
        <div data-part="position"></div>
        <div class="hand-form" data-part="hand-form">
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
        <details class="fold" data-part="agenda-fold"${mem.agendaOpen ? ' open' : ''}>
          <summary><h2 id="p-agenda-h" class="panel-title">${t('agenda.title')}</h2></summary>
          <div data-part="agenda"></div>
        </details>
      </section>`);
    part('agenda-fold').addEventListener('toggle', (e) => { mem.agendaOpen = e.target.open; });
  }

  function myParticipant() {
    const you = model.you;
    if (!you || you.participant === undefined || !model.state) return null;
    return (model.state.participants || []).find((p) => p.id === you.participant) || null;
  }

  function renderJoin() {
    const info = mem.joinInfo;
    const langs = (model.agenda && floorLanguages(model.agenda)) || (info && info.languages) || DEFAULT_LANGS;
    const d = mem.joinDraft || {};
    const uiLang = document.documentElement.lang;
    const chosen = d.language || (langs.includes(uiLang) ? uiLang : langs[0]);
    let meetingLine = '';
    if (info && info.title) {
      const when = info.start ? `${fmtDate(info.start, info.time_zone)} · ${timeRange(info.start, info.end || info.start, info.time_zone)} ${zoneName(info.time_zone, info.start)}` : '';
      meetingLine = html`<div class="join-meeting" data-testid="join-meeting">
        <p class="join-meeting-title" translate="no" dir="auto">${info.title}</p>
        ${when ? html`<p class="join-meeting-when" data-testid="join-meeting-when">${when}</p>` : ''}
      </div>`;
    }
    return html`<section class="panel join-panel" aria-labelledby="join-h">
      <h2 id="join-h" class="panel-title">${observer ? t('join.title_observer') : t('join.title')}</h2>
      ${meetingLine}
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

  /** The speaker's stage for a participant who has the floor. */
  function renderFloor(now) {
    if (!holdsFloor(model)) return '';
    const seg = currentSegment(model);
    const title = seg ? segTitle(model, seg) : { text: '' };
    const top = html`<div class="floor-banner" data-testid="you-have-floor">${t('floor.you_have_it')}</div>
      <h2 class="stage-title small ${lenClass(title.text)}" dir="auto">${textHtml(title)}</h2>`;
    const bottom = html`<button type="button" class="done-button" data-action="done" data-testid="done-button" data-focus="done">${t('speaker.done')}</button>${segmentAsideHtml(model, now)}`;
    return liveStageHtml(model, now, { top, bottom, screen: 'participant-floor', cls: 'embedded has-done' });
  }

  function renderNow(now) {
    const st = model.state;
    if (st.phase !== 'running') {
      return html`<p class="segment-status" data-testid="segment-status">${st.phase === 'ended' ? t('meeting.ended') : t('meeting.not_started')}</p>`;
    }
    const seg = currentSegment(model);
    const sp = st.speech && st.speech.speaker;
    return html`<div class="now-row">
      <div class="now-text">
        <p class="now-title" dir="auto">${seg ? textHtml(segTitle(model, seg), '', 'segment-title') : ''}</p>
        ${sp ? html`<p class="now-speaker" data-testid="current-speaker"><span class="muted">${t('speaker.now')}:</span> <span data-testid="current-speaker-name" translate="no" dir="auto">${sp.name}</span> <span class="badge lang">${langName(sp.language)}</span></p>`
          : html`<p class="now-speaker muted" data-testid="current-speaker">${t('speaker.nobody')}</p>`}
      </div>
      ${holdsFloor(model) ? '' : clockHtml('main', model, now, { size: 'medium' })}
    </div>`;
  }

  function canRaise() {
    const st = model.state;
    return !!st && (!observer || st.observers_may_raise_hand);
  }

  function renderHands() {
    const st = model.state;
    const places = myPlaces(model);
    const ended = st.phase === 'ended';
    return html`<div class="controls hand-buttons">
      ${places.hand !== null
        ? html`<button type="button" class="big" data-action="lower" data-testid="lower-hand" data-focus="hand">${t('participant.lower_hand')}</button>`
        : html`<button type="button" class="primary big" data-action="raise" data-testid="raise-hand" data-focus="hand"${st.queue_open && !ended ? '' : html` aria-disabled="true"`}>${t('participant.raise_hand')}</button>`}
      ${places.point_of_order !== null
        ? html`<button type="button" data-action="lower-poo" data-testid="lower-point-of-order" data-focus="poo">${t('participant.withdraw_point_of_order')}</button>`
        : html`<button type="button" data-action="poo" data-testid="point-of-order" data-focus="poo"${ended ? html` aria-disabled="true"` : ''}>${t('participant.point_of_order')}</button>`}
    </div>
    ${st.queue_open || ended ? '' : html`<p class="note" data-testid="queue-closed-note">${t('participant.queue_closed')}</p>`}`;
  }

  function positionText() {
    const places = myPlaces(model);
    const i = places.point_of_order ?? places.hand;
    if (i === null || i === undefined) return '';
    if (i === 0) return t('participant.next');
    return t('participant.position', { n: i + 1, total: queueLength(model.state) });
  }

  /** Announcements for this participant, once each (remembered across remounts): the
   * place when it changed because of them or reached "next", the floor given and ended,
   * a new message or slow-down while they speak. */
  function announceChanges(pos) {
    const st = model.state;
    const places = myPlaces(model);
    const first = (places.point_of_order ?? places.hand) === 0;
    if (mem.lastPos !== undefined && pos !== mem.lastPos) {
      if (mem.ownAction && Date.now() - mem.ownAction < 8000) {
        ctx.announce(pos || t('participant.no_hand'));
        mem.ownAction = 0;
      } else if (first && !mem.wasFirst) {
        ctx.announce(pos);
      }
    }
    mem.lastPos = pos;
    mem.wasFirst = first;
    const mine = holdsFloor(model);
    const speechKey = mine ? st.speech.started_at : null;
    if (mem.floorKey === undefined) mem.floorKey = speechKey;
    else if (speechKey !== mem.floorKey) {
      if (speechKey !== null) ctx.announce(t('floor.you_have_it'));
      else if (mem.floorKey !== null) ctx.announce(t('floor.ended'));
      mem.floorKey = speechKey;
    }
    const { message, slow } = mine ? speechSignals(st) : { message: null, slow: null };
    const mKey = message ? `${message.n}` : null;
    if (mem.messageKey !== undefined && mKey && mKey !== mem.messageKey) ctx.announce(t('speaker.new_message', { text: message.text }));
    mem.messageKey = mKey;
    const sKey = slow ? `${slow.n}` : null;
    if (mem.slowKey !== undefined && sKey && sKey !== mem.slowKey) ctx.announce(t('speaker.slow_down'));
    mem.slowKey = sKey;
  }

  function update() {
    const joined = model.you && model.you.participant !== undefined;
    const needJoin = !joined && (ctx.status === 'need_join' || (ctx.status === 'denied' && mem.joinError));
    if (needJoin && mem.joinInfo === undefined) loadJoinInfo();
    patch(part('join'), needJoin ? renderJoin() : '');
    if (!joined || !model.state || !model.agenda) {
      part('live').hidden = true;
      return;
    }
    part('live').hidden = false;
    buildLive();
    const now = ctx.now();
    const st = model.state;
    const sel = root.querySelector('[data-testid="hand-language"]');
    const langs = floorLanguages(model.agenda);
    if (sel.options.length !== langs.length) {
      const me = myParticipant();
      const def = mem.handLang || (me && me.language) || storedLanguage(ctx.meeting) || langs[0];
      sel.innerHTML = String(html`${langOptions(langs, def)}`);
    }
    const floorBefore = !!part('floor').firstElementChild;
    patch(part('floor'), renderFloor(now));
    // The floor given: their own stage comes into view at once.
    if (!floorBefore && part('floor').firstElementChild) part('floor').scrollIntoView({ block: 'start' });
    const signals = root.querySelector('[data-part="floor"] [data-part="signals"]');
    if (signals && patch(signals, signalsHtml(model, now))) fitSignals(signals);
    patch(part('now'), renderNow(now));
    // While they speak, their own stage above says it all.
    root.querySelector('.now-panel').hidden = holdsFloor(model);
    const raise = canRaise();
    part('hand-form').hidden = !raise;
    patch(part('hands'), raise ? renderHands() : html`<p class="muted" data-testid="observer-note">${t('participant.observer_no_hands')}</p>`);
    const pos = raise ? positionText() : '';
    patch(part('position'), pos ? html`<p class="position" data-testid="queue-position">${pos}</p>` : raise ? html`<p class="muted" data-testid="queue-position-none">${t('participant.no_hand')}</p>` : '');
    patch(part('queue'), queueHtml(model, now, { you: model.you.participant }));
    patch(part('agenda'), agendaHtml(model));
    announceChanges(pos);
  }

  function loadJoinInfo() {
    mem.joinInfo = null;
    joinInfo(ctx.meeting, conn.linkToken).then((info) => {
      mem.joinInfo = info;
      ctx.refreshTitle();
      update();
    });
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
      const heading = root.querySelector('#p-hand-h');
      if (heading) { heading.tabIndex = -1; heading.focus(); }
    }, (err) => {
      mem.joinError = errorText(err);
      btn.disabled = false;
      update();
    });
  }
  /** Browser validation messages in the interface language. */
  function onInvalid(e) {
    const el = e.target;
    if (!el.matches || !el.matches('[data-form="join"] input')) return;
    if (el.validity.valueMissing) el.setCustomValidity(t(el.name === 'name' ? 'join.need_name' : 'join.need_delegation'));
  }
  function onInput(e) {
    const form = e.target.closest('form[data-form="join"]');
    if (form) {
      if (e.target.setCustomValidity) e.target.setCustomValidity('');
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
    if (!el || el.disabled || el.getAttribute('aria-disabled') === 'true') return;
    // The next change of place is this person's own doing (announced), for a while.
    const act = (cmd) => { mem.ownAction = Date.now(); ctx.send(cmd).then((ok) => { if (!ok) mem.ownAction = 0; }); };
    switch (el.dataset.action) {
      case 'raise': act({ type: 'raise_hand', language: handLanguage(), point_of_order: false }); break;
      case 'poo': act({ type: 'raise_hand', language: handLanguage(), point_of_order: true }); break;
      case 'lower': act({ type: 'lower_hand', point_of_order: false }); break;
      case 'lower-poo': act({ type: 'lower_hand', point_of_order: true }); break;
      case 'done':
        el.setAttribute('aria-disabled', 'true');
        ctx.send({ type: 'done' }).then((ok) => { if (!ok && el.isConnected) el.removeAttribute('aria-disabled'); });
        break;
      default: break;
    }
  }
  root.addEventListener('submit', onSubmit);
  root.addEventListener('invalid', onInvalid, true);
  root.addEventListener('input', onInput);
  root.addEventListener('change', onInput);
  root.addEventListener('click', onClick);
  const stopResize = onResize(root, () => fitSignals(root));
  update();

  return {
    update,
    tick(now) {
      const rises = tick(root, model, now, { offline: ctx.offline });
      if (holdsFloor(model)) for (const r of rises) ctx.announce(riseText(r));
      tickAside(root, model, now);
      const signals = root.querySelector('[data-part="floor"] [data-part="signals"]');
      if (signals && patch(signals, signalsHtml(model, now))) fitSignals(signals);
    },
    destroy() {
      root.removeEventListener('submit', onSubmit);
      root.removeEventListener('invalid', onInvalid, true);
      root.removeEventListener('input', onInput);
      root.removeEventListener('change', onInput);
      root.removeEventListener('click', onClick);
      stopResize();
    },
  };
}
