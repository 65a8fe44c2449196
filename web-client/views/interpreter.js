// The interpretation booth's view, phone first. The booth is the link's: its language
// comes from `welcome.you.person`, never from a menu. In reach without scrolling: who
// speaks and in which language, what this booth does now (interpret directly, be the
// pivot, or take relay from another booth), the speech clock and "Slow down". Then the
// booth's own handover turn (a separate small timer that never covers the speech clock),
// the speaker's text or slides, messages to the chair with their acknowledgement, a
// floor-language correction, and who comes next in which language.

import { html, patch, personId } from '../dom.js';
import { t } from '../i18n/index.js';
import {
  clockHtml, tick, currentSegment, segTitle, textHtml, langName, langOptions, findPerson,
  personDetails, fmtTime, floorLanguages, queueHtml,
} from './common.js';
import { formatClock } from '../clock.js';
import { icon } from './icons.js';

/** The agenda's `[interpretation]` defaults (seconds), as the server has them. */
const DEFAULT_TURN_S = 30 * 60;
const DEFAULT_CUE_S = 2 * 60;
/** Canned booth → chair signals, in the order the buttons show them. */
const SIGNALS = ['no_sound', 'too_fast', 'repeat_figure', 'no_text', 'need_relay'];
/** Longest free text the server takes. */
const MAX_TEXT = 200;

/** Upper-case booth code, as booths name each other ("the ES booth"). */
function code(lang) {
  return String(lang || '').toUpperCase();
}

/** What booth `b` does while `floor` is spoken (PROTOCOL.md, *Interpretation desk*). */
export function duty(b, floor, relay) {
  if (relay && relay.floor === floor && relay.pivot === b) return { duty: 'pivot' };
  if (relay && relay.floor === floor && (relay.takers || []).includes(b)) return { duty: 'relay', from: relay.pivot };
  if (b === floor) return { duty: 'own_language' };
  return { duty: 'direct' };
}

/** The text or slides URL the booths see for an agenda person. */
function textUrl(model, personKey) {
  const st = model.state;
  const set = st && st.interpretation && (st.interpretation.texts || []).find((x) => x.person === personKey);
  if (set) return set.url || null;
  const p = findPerson(model.agenda, personKey);
  return (p && p.text_url) || null;
}

function textLink(url, testid) {
  if (!url || !/^https:\/\//.test(url)) return '';
  return html`<a class="booth-text-link" href="${url}" target="_blank" rel="noopener noreferrer" data-testid="${testid}">${t('booth.open_text')}</a>`;
}

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;

  root.innerHTML = String(html`
    <div class="booth-view">
      <div class="booth-col booth-col-main">
      <section class="panel booth-now" aria-labelledby="b-now-h">
        <h2 id="b-now-h" class="visually-hidden">${t('interp.now')}</h2>
        <div data-part="booth"></div>
        <div data-part="floor"></div>
        <div data-part="duty"></div>
        <div class="booth-clock-row">
          <div data-part="clock" class="booth-clock"></div>
          <div class="booth-main-actions">
            <button type="button" class="primary big booth-slow" data-action="slow" data-testid="slow-down-button">${icon('slow')}<span>${t('interp.slow_down')}</span></button>
            <button type="button" class="danger booth-noint" data-action="noint" data-testid="no-interpretation-button">${t('interp.no_interpretation')}</button>
          </div>
        </div>
        <div data-part="segment" class="booth-segment"></div>
      </section>
      <section class="panel booth-correct" aria-labelledby="b-fix-h">
        <h2 id="b-fix-h" class="panel-title">${t('booth.correct_title')}</h2>
        <form class="hand-form" data-form="floor">
          <label for="booth-floor-lang">${t('booth.correct_label')}</label>
          <select id="booth-floor-lang" data-testid="floor-correct-select"></select>
          <button type="submit" data-testid="floor-correct-button">${t('booth.correct_send')}</button>
        </form>
      </section>
      <section class="panel booth-next" aria-labelledby="b-next-h">
        <h2 id="b-next-h" class="panel-title">${t('interp.next')}</h2>
        <div data-part="next"></div>
      </section>
      </div>
      <div class="booth-col booth-col-side">
      <section class="panel booth-turn-panel" aria-labelledby="b-turn-h">
        <h2 id="b-turn-h" class="panel-title">${t('booth.turn_title')}</h2>
        <div class="booth-turn-row">
          <div data-part="turn" class="booth-turn" data-testid="turn-timer" role="timer" aria-live="off"></div>
          <button type="button" class="booth-handed" data-action="handed" data-testid="handed-over-button">${t('booth.handed_over')}</button>
        </div>
      </section>
      <section class="panel booth-texts" aria-labelledby="b-text-h" data-part="texts-panel">
        <h2 id="b-text-h" class="panel-title">${t('booth.texts_title')}</h2>
        <div data-part="texts"></div>
      </section>
      <section class="panel booth-chair" aria-labelledby="b-chair-h">
        <h2 id="b-chair-h" class="panel-title">${t('booth.chair_title')}</h2>
        <div class="booth-signals" role="group" aria-labelledby="b-chair-h">
          ${SIGNALS.map((s) => html`<button type="button" class="small" data-action="signal" data-signal="${s}" data-testid="booth-signal-${s}">${t(`booth.signal_${s}`)}</button>`)}
        </div>
        <form class="booth-message" data-form="message" data-testid="booth-message-form">
          <label for="booth-message-text">${t('booth.message_label')}</label>
          <div class="row">
            <input id="booth-message-text" name="text" maxlength="${MAX_TEXT}" autocomplete="off" data-testid="booth-message-input" placeholder="${t('booth.message_placeholder')}">
            <button type="submit" data-testid="booth-message-send">${t('booth.message_send')}</button>
          </div>
        </form>
        <div data-part="alerts"></div>
      </section>
      </div>
    </div>`);
  const part = (n) => root.querySelector(`[data-part="${n}"]`);

  /** This booth's language, from the link. */
  function myBooth() {
    const you = model.you;
    return you && you.role === 'interpreter' && you.person ? you.person : null;
  }

  function plan() {
    const p = (model.agenda && model.agenda.interpretation) || {};
    return { turn: (p.turn ?? DEFAULT_TURN_S) * 1000, cue: (p.cue ?? DEFAULT_CUE_S) * 1000 };
  }

  function renderBooth() {
    const b = myBooth();
    if (!b) return html`<p class="error" data-testid="booth-name">${t('booth.no_booth')}</p>`;
    return html`<p class="booth-name" data-testid="booth-name"><span class="badge booth-badge">${code(b)}</span> ${t('booth.you_are', { lang: langName(b) })}</p>`;
  }

  function renderFloor() {
    const st = model.state;
    const sp = st.speech && st.speech.speaker;
    if (!sp) {
      const msg = st.phase === 'running' ? t('speaker.nobody') : (st.phase === 'ended' ? t('meeting.ended') : t('meeting.not_started'));
      return html`<p class="booth-floor none" data-testid="current-speaker"><span class="muted">${msg}</span></p>`;
    }
    const person = sp.person && model.agenda ? findPerson(model.agenda, sp.person) : null;
    const details = person ? personDetails(person) : sp.delegation || '';
    return html`<div class="booth-floor" data-testid="current-speaker">
      <p class="booth-speaker"><span class="booth-speaker-name" data-testid="current-speaker-name" translate="no" dir="auto">${sp.name}</span>${details ? html` <span class="booth-speaker-details"><bdi translate="no">${details}</bdi></span>` : ''}</p>
      <p class="booth-floor-lang" data-testid="current-speaker-language" data-lang="${sp.language}">${t('booth.floor_now', { lang: langName(sp.language) })}</p>
    </div>`;
  }

  function renderDuty() {
    const st = model.state;
    const b = myBooth();
    const sp = st.speech && st.speech.speaker;
    if (!b || !sp) return '';
    const relay = st.interpretation && st.interpretation.relay;
    const d = duty(b, sp.language, relay);
    let text;
    if (d.duty === 'relay') text = t('booth.duty_relay', { booth: code(d.from) });
    else if (d.duty === 'pivot') {
      const takers = (relay.takers || []).map(code).join(', ');
      text = t('booth.duty_pivot', { lang: langName(sp.language), booths: takers });
    } else if (d.duty === 'own_language') text = t('booth.duty_own', { lang: langName(sp.language) });
    else text = t('booth.duty_direct', { lang: langName(sp.language) });
    return html`<p class="booth-duty duty-${d.duty}" data-testid="relay-instruction" data-duty="${d.duty}"${d.from ? html` data-from="${d.from}"` : ''} role="status">${text}</p>`;
  }

  function renderTexts() {
    const st = model.state;
    const seg = currentSegment(model);
    const rows = [];
    const sp = st.speech && st.speech.speaker;
    if (sp && sp.person) {
      const url = textUrl(model, sp.person);
      rows.push(html`<li><span class="booth-text-who" translate="no" dir="auto">${sp.name}</span> ${url ? textLink(url, 'booth-text-current') : html`<span class="muted">${t('booth.no_text')}</span>`}</li>`);
    }
    for (const p of seg ? [...(seg.speakers || []), ...(seg.reactions || [])] : []) {
      const key = personId(p);
      if (sp && sp.person === key) continue;
      const url = textUrl(model, key);
      if (url) rows.push(html`<li><span class="booth-text-who" translate="no" dir="auto">${p.name}</span> ${textLink(url, `booth-text-${key}`)}</li>`);
    }
    if (!rows.length) return html`<p class="muted" data-testid="booth-texts-none">${t('booth.texts_none')}</p>`;
    return html`<ul class="booth-text-list" data-testid="booth-texts">${rows}</ul>`;
  }

  function renderAlerts() {
    const b = myBooth();
    const st = model.state;
    const mz = model.agenda.meeting.time_zone;
    const mine = ((st.interpretation && st.interpretation.alerts) || []).filter((a) => a.booth === b).slice(-5).reverse();
    if (!mine.length) return '';
    return html`<ul class="booth-alerts" data-testid="booth-alerts">${mine.map((a) => {
      const what = a.signal === 'message' ? '' : t(`booth.signal_${a.signal}`);
      return html`<li class="booth-alert${a.acknowledged_at ? ' acked' : ''}" data-testid="booth-alert" data-alert="${a.id}" data-acknowledged="${a.acknowledged_at ? 'true' : 'false'}">
        <span class="booth-alert-what">${what}${what && a.text ? ' — ' : ''}${a.text ? html`<span dir="auto">${a.text}</span>` : ''}</span>
        <span class="booth-alert-state">${a.acknowledged_at
          ? t('booth.acknowledged', { time: fmtTime(a.acknowledged_at, mz) })
          : t('booth.waiting_ack', { time: fmtTime(a.at, mz) })}</span>
      </li>`;
    })}</ul>`;
  }

  function renderNext(now) {
    const st = model.state;
    const seg = currentSegment(model);
    const heard = new Set((st.history || []).filter((r) => r.segment === st.current && r.speaker.person).map((r) => r.speaker.person));
    const speaking = st.speech && st.speech.speaker.person;
    const named = seg && st.phase === 'running'
      ? [...(seg.speakers || []), ...(seg.reactions || [])].filter((p) => !heard.has(personId(p)) && personId(p) !== speaking)
      : [];
    const namedList = named.length
      ? html`<ol class="named-next" data-testid="named-next">${named.map((p) => html`<li><span class="name" translate="no" dir="auto">${p.name}</span> <span class="badge lang" data-lang="${p.language}">${langName(p.language)}</span></li>`)}</ol>`
      : '';
    // The hands ahead, with the language each will speak in (the shared queue list).
    return html`${namedList}<h3 class="sub-title">${t('queue.title')}</h3>${queueHtml(model, now, {})}`;
  }

  /** The booth's own turn: what is left of it, a gentle cue near the end. */
  function turnView(now) {
    const st = model.state;
    const b = myBooth();
    const booth = b && st.interpretation && (st.interpretation.booths || []).find((x) => x.language === b);
    if (!booth || !booth.turn_started_at) return { text: '–:––', note: t('booth.turn_idle'), level: 'idle' };
    const { turn, cue } = plan();
    const left = booth.turn_started_at + turn - now;
    if (left < 0) return { text: formatClock(left), note: t('booth.turn_over'), level: 'over' };
    if (left <= cue) return { text: formatClock(left), note: t('booth.turn_cue'), level: 'cue' };
    return { text: formatClock(left), note: t('booth.turn_left'), level: 'ok' };
  }

  function drawTurn(now) {
    const el = part('turn');
    const v = turnView(now);
    const s = `${v.level}|${v.text}|${v.note}`;
    if (el._last === s) return;
    const was = el._level;
    el._last = s;
    el._level = v.level;
    el.dataset.level = v.level;
    el.innerHTML = String(html`<span class="booth-turn-digits" dir="ltr" translate="no" data-testid="turn-timer-text">${v.text}</span> <span class="booth-turn-note" data-testid="turn-timer-note">${v.note}</span>`);
    if (was === 'ok' && v.level === 'cue') ctx.announce(t('booth.turn_cue_announce'));
  }

  function update() {
    if (!model.state || !model.agenda) return;
    const now = ctx.now ? ctx.now() : conn.serverNow();
    const st = model.state;
    patch(part('booth'), renderBooth());
    patch(part('floor'), renderFloor());
    patch(part('duty'), renderDuty());
    patch(part('clock'), st.phase === 'running' ? clockHtml('main', model, now, { size: 'medium' }) : '');
    const seg = currentSegment(model);
    patch(part('segment'), seg && st.phase === 'running' ? html`<p class="booth-segment-title" dir="auto">${textHtml(segTitle(model, seg), '', 'segment-title')}</p>` : '');
    patch(part('texts'), renderTexts());
    patch(part('alerts'), renderAlerts());
    patch(part('next'), renderNext(now));
    const sel = root.querySelector('[data-testid="floor-correct-select"]');
    const langs = floorLanguages(model.agenda);
    const current = st.speech ? st.speech.speaker.language : '';
    const key = `${langs.join(',')}|${current}|${document.documentElement.lang}`;
    if (sel._key !== key) {
      sel._key = key;
      sel.innerHTML = String(html`${langOptions(langs, current)}`);
    }
    const speaking = !!st.speech;
    const running = st.phase === 'running';
    for (const [id, on] of [
      ['slow-down-button', speaking && !ctx.offline],
      ['floor-correct-button', speaking && !ctx.offline],
      ['floor-correct-select', speaking],
      ['handed-over-button', running && !ctx.offline],
    ]) {
      const el = root.querySelector(`[data-testid="${id}"]`);
      if (el && el.disabled === on) el.disabled = !on;
    }
    drawTurn(now);
  }

  async function send(cmd, done) {
    const ok = await ctx.send(cmd);
    if (ok && done) {
      ctx.notify(done);
      ctx.announce(done);
    }
    return ok;
  }

  function onClick(e) {
    const el = e.target.closest('button[data-action]');
    if (!el || el.disabled) return;
    const a = el.dataset.action;
    if (a === 'slow') send({ type: 'slow_down' }, t('interp.sent_slow_down'));
    else if (a === 'noint') send({ type: 'no_interpretation' }, t('interp.sent_no_interpretation'));
    else if (a === 'handed') send({ type: 'handed_over' }, t('booth.handed_over_done'));
    else if (a === 'signal') send({ type: 'booth_alert', signal: el.dataset.signal }, t('booth.alert_sent'));
  }

  async function onSubmit(e) {
    const form = e.target.closest('form[data-form]');
    if (!form) return;
    e.preventDefault();
    if (form.dataset.form === 'message') {
      const input = form.querySelector('input[name="text"]');
      const text = input.value.trim();
      if (!text) {
        input.focus();
        return;
      }
      if (await send({ type: 'booth_alert', signal: 'message', text }, t('booth.alert_sent'))) input.value = '';
    } else if (form.dataset.form === 'floor') {
      const language = form.querySelector('select').value;
      if (model.state.speech && model.state.speech.speaker.language === language) return;
      send({ type: 'set_floor_language', language }, t('booth.corrected', { lang: langName(language) }));
    }
  }

  root.addEventListener('click', onClick);
  root.addEventListener('submit', onSubmit);
  update();

  return {
    update,
    tick(now) {
      tick(root, model, now, { offline: ctx.offline });
      drawTurn(now);
    },
    destroy() {
      root.removeEventListener('click', onClick);
      root.removeEventListener('submit', onSubmit);
    },
  };
}
