// What the agenda editor draws (pure renderers; host-edit.js runs them): the list of
// segments (history greyed and fixed, the current one and those to come editable, moved
// and removed where the server allows it), a segment's form and its people, the form of
// a new segment, and a person's form. Buttons carry `data-act`; their `data-testid`s
// name the segment and person, so focus survives a redraw.

import { html } from '../dom.js';
import { t } from '../i18n/index.js';
import { segTitle, textHtml, plannedAt, fmtTime, kindLabel, langName, floorLanguages, langOptions, personDetails } from './common.js';
import { editRules, segmentStatus, canEdit, canMove, formatSecs, personKey, boothText, iso } from './edit-model.js';
import { toolIcon } from './tool-icons.js';
import { icon } from './icons.js';

const KINDS = ['intro', 'welcome', 'round', 'open_floor', 'closing', 'break'];

/** "20 min", "4 min 30 s". */
export function durationText(secs) {
  const m = Math.floor(secs / 60);
  const s = secs % 60;
  if (!s) return t('unit.min', { n: m });
  if (!m) return t('unit.s', { n: s });
  return `${t('unit.min', { n: m })} ${t('unit.s', { n: s })}`;
}

function plainTitle(model, seg) {
  return segTitle(model, seg).text;
}


/** The list of segments. `mine` (a moderator's segment indices) limits it. */
export function listHtml(model, { host, mine }) {
  const ag = model.agenda;
  const rules = editRules(model.state);
  const mz = ag.meeting.time_zone;
  const rows = ag.segment.map((seg, i) => {
    if (!host && !mine.includes(i)) return '';
    const status = segmentStatus(rules, i);
    const editable = canEdit(rules, i);
    const movable = host && canMove(rules, i);
    const title = plainTitle(model, seg);
    const people = (seg.speakers || []).length + (seg.reactions || []).length;
    const up = movable && i - 1 >= rules.fixed;
    const down = movable && i + 1 < ag.segment.length;
    return html`<li class="edit-seg ${status}" data-testid="edit-seg" data-segment="${seg.id}">
      <span class="edit-seg-n" aria-hidden="true">${i + 1}</span>
      <span class="edit-seg-main">
        <span class="edit-seg-title">${textHtml(segTitle(model, seg))}</span>
        <span class="edit-seg-meta"><bdi dir="ltr">${fmtTime(plannedAt(model, i), mz)}</bdi> · ${kindLabel(seg.kind)} · ${durationText(seg.duration)}${people ? html` · ${t('edit.people_n', { n: people })}` : ''}
          ${status === 'current' ? html`<span class="badge now">${t('agenda.now')}</span>` : ''}${status === 'history' ? html`<span class="badge" data-testid="edit-history">${t('edit.history')}</span>` : ''}</span>
      </span>
      <span class="edit-seg-actions">
        ${editable ? html`<button type="button" class="small" data-act="open" data-segment="${seg.id}" data-testid="edit-open-${seg.id}" aria-label="${t(host ? 'edit.open_name' : 'edit.open_speakers_name', { n: i + 1, title })}">${toolIcon('edit')}<span>${host ? t('edit.open') : t('edit.speakers_short')}</span></button>` : ''}
        ${movable ? html`
          <button type="button" class="small icon-button" data-act="seg-move" data-to="${i - 1}" data-segment="${seg.id}" data-testid="edit-up-${seg.id}" aria-label="${t('edit.move_up_name', { title })}"${up ? '' : html` aria-disabled="true"`}>${icon('up')}</button>
          <button type="button" class="small icon-button" data-act="seg-move" data-to="${i + 1}" data-segment="${seg.id}" data-testid="edit-down-${seg.id}" aria-label="${t('edit.move_down_name', { title })}"${down ? '' : html` aria-disabled="true"`}>${icon('down')}</button>
          <button type="button" class="small icon-button danger" data-act="seg-remove" data-segment="${seg.id}" data-testid="edit-remove-${seg.id}" aria-label="${t('edit.remove_name', { title })}">${icon('remove')}</button>` : ''}
      </span>
    </li>`;
  });
  return html`<ol class="edit-list" data-testid="edit-list" aria-label="${t('edit.list_label')}">${rows}</ol>`;
}

/** The buttons above the list: any other business, a new segment at the end. */
export function listActionsHtml(model) {
  const rules = editRules(model.state);
  if (rules.ended) return html`<p class="note" data-testid="edit-ended">${t('edit.ended')}</p>`;
  return html`<div class="controls tight edit-actions">
      <button type="button" class="primary" data-act="aob" data-testid="edit-aob">${toolIcon('plus')}<span>${t('edit.aob')}</span></button>
      <button type="button" data-act="new" data-testid="edit-new">${toolIcon('plus')}<span>${t('edit.new_segment')}</span></button>
    </div>
    <p class="note">${t('edit.history_note')}</p>`;
}

function field(id, label, input, hint = '') {
  return html`<div class="field">
    <label for="${id}">${label}</label>
    ${input}
    ${hint ? html`<span class="hint" id="${id}-hint">${hint}</span>` : ''}
    <span class="field-error" id="${id}-error" data-error-for="${id}" hidden></span>
  </div>`;
}
const described = (id, hint) => html` aria-describedby="${hint ? `${id}-hint ` : ''}${id}-error"`;
function textInput(id, name, value, { required = false, maxlength = 200, hint = '', dir = 'auto', type = 'text' } = {}) {
  return html`<input id="${id}" name="${name}" type="${type}" value="${value || ''}" maxlength="${maxlength}" dir="${dir}" autocomplete="off"${required ? html` required aria-required="true"` : ''}${described(id, hint)}>`;
}
function durInput(id, name, secs, hint, fallback = null) {
  const ph = fallback === null || fallback === undefined ? '' : html` placeholder="${formatSecs(fallback)}"`;
  return html`<input id="${id}" name="${name}" type="text" inputmode="text" dir="ltr" value="${secs === undefined || secs === null ? '' : formatSecs(secs)}" maxlength="12" autocomplete="off" class="dur"${ph}${described(id, hint)}>`;
}
function textArea(id, name, value, hint = '') {
  return html`<textarea id="${id}" name="${name}" rows="3" maxlength="2000" dir="auto"${described(id, hint)}>${value || ''}</textarea>`;
}
function kindSelect(id, value) {
  return html`<select id="${id}" name="kind">${KINDS.map((k) => html`<option value="${k}"${k === value ? ' selected' : ''}>${kindLabel(k)}</option>`)}</select>`;
}

/** The back button and heading of a detail page. */
function detailHead(backLabel, title, testid) {
  return html`<button type="button" class="small link-back" data-act="back" data-testid="edit-back">${toolIcon('back', { flip: true })}<span>${backLabel}</span></button>
    <h3 class="edit-heading" tabindex="-1" data-testid="${testid}" dir="auto">${title}</h3>`;
}

/** A segment's own fields (the host's form). */
export function segmentFormHtml(model, seg, status) {
  const dHint = t('edit.duration_hint');
  return html`${detailHead(t('edit.back_list'), t('edit.segment_heading', { title: iso(plainTitle(model, seg)) }), 'edit-heading')}
    ${status === 'current' ? html`<p class="note">${t('edit.current_note')}</p>` : ''}
    <form class="edit-form" data-form="segment" data-segment="${seg.id}" novalidate>
      ${field('sf-title', t('edit.title'), textInput('sf-title', 'title', seg.title, { required: true }))}
      <div class="field-row">
        ${field('sf-duration', t('edit.duration'), durInput('sf-duration', 'duration', seg.duration, dHint), dHint)}
        ${field('sf-speech_limit', t('edit.speech_limit'), durInput('sf-speech_limit', 'speech_limit', seg.speech_limit, t('edit.meeting_default'), model.agenda.meeting.speech_limit), t('edit.meeting_default'))}
      </div>
      <div class="field-row">
        ${field('sf-warning', t('edit.warning'), durInput('sf-warning', 'warning', seg.warning, t('edit.meeting_default'), model.agenda.meeting.warning), t('edit.meeting_default'))}
        ${field('sf-danger', t('edit.danger'), durInput('sf-danger', 'danger', seg.danger, t('edit.meeting_default'), model.agenda.meeting.danger), t('edit.meeting_default'))}
      </div>
      <details class="fold edit-more" data-testid="edit-more">
        <summary>${t('edit.more_fields')}</summary>
        ${field('sf-kind', t('edit.kind'), kindSelect('sf-kind', seg.kind))}
        ${field('sf-question', t('edit.question'), textArea('sf-question', 'question', seg.question))}
        ${field('sf-title_original', t('edit.title_original'), textInput('sf-title_original', 'title_original', seg.title_original))}
        ${field('sf-question_original', t('edit.question_original'), textArea('sf-question_original', 'question_original', seg.question_original))}
      </details>
      <p class="form-error" role="alert" data-testid="edit-error"></p>
      <div class="controls tight"><button type="submit" class="primary" data-testid="edit-save">${t('edit.save_segment')}</button>
        <span class="form-status" role="status" data-testid="edit-status"></span></div>
    </form>
    <div data-edit="people"></div>`;
}

/** A moderator's page of one of their segments: its people only. */
export function segmentModHtml(model, seg) {
  return html`${detailHead(t('edit.back_list_mod'), t('edit.segment_heading', { title: iso(plainTitle(model, seg)) }), 'edit-heading')}
    <p class="form-error" role="alert" data-testid="edit-error"></p>
    <div data-edit="people"></div>`;
}

function personRow(model, seg, p, i, n, list, { host }) {
  const id = personKey(p);
  const name = p.name;
  const text = boothText(model, id, p);
  const key = `${seg.id}-${id}`;
  return html`<li class="edit-person" data-testid="edit-person" data-person="${id}">
    <span class="edit-person-main">
      <span class="name" translate="no" dir="auto">${name}</span>
      <span class="details" translate="no" dir="auto">${personDetails(p)}</span>
      <span class="badges"><span class="badge lang">${langName(p.language)}</span>${text ? html`<span class="badge" data-testid="person-has-text">${t('edit.has_text')}</span>` : ''}</span>
    </span>
    <span class="edit-seg-actions">
      ${host ? html`<button type="button" class="small" data-act="person-edit" data-list="${list}" data-person="${id}" data-testid="person-edit-${key}" aria-label="${t('edit.person_edit_name', { name })}">${t('edit.open')}</button>` : ''}
      <button type="button" class="small icon-button" data-act="person-move" data-list="${list}" data-person="${id}" data-to="${i - 1}" data-testid="person-up-${key}" aria-label="${t('edit.person_up_name', { name })}"${i > 0 ? '' : html` aria-disabled="true"`}>${icon('up')}</button>
      <button type="button" class="small icon-button" data-act="person-move" data-list="${list}" data-person="${id}" data-to="${i + 1}" data-testid="person-down-${key}" aria-label="${t('edit.person_down_name', { name })}"${i < n - 1 ? '' : html` aria-disabled="true"`}>${icon('down')}</button>
      ${host ? html`<button type="button" class="small icon-button danger" data-act="person-remove" data-list="${list}" data-person="${id}" data-testid="person-remove-${key}" aria-label="${t('edit.person_remove_name', { name })}">${icon('remove')}</button>` : ''}
    </span>
  </li>`;
}

/** A segment's people: moderator (host), speakers, reaction speakers. */
export function peopleHtml(model, seg, { host }) {
  const lists = ['speakers', 'reactions'].map((list) => {
    const ps = seg[list] || [];
    return html`<section class="edit-people" aria-labelledby="ep-${list}">
      <h4 id="ep-${list}">${t(`edit.${list}`)} <span class="muted">(${ps.length})</span></h4>
      ${ps.length ? html`<ol class="edit-people-list" data-testid="edit-${list}">${ps.map((p, i) => personRow(model, seg, p, i, ps.length, list, { host }))}</ol>` : html`<p class="muted">${t('edit.nobody')}</p>`}
      <button type="button" class="small" data-act="person-add" data-list="${list}" data-testid="person-add-${seg.id}-${list}">${toolIcon('plus')}<span>${t(list === 'speakers' ? 'edit.add_speaker' : 'edit.add_reaction')}</span></button>
    </section>`;
  });
  const m = seg.moderator;
  const mod = host ? html`<section class="edit-people" aria-labelledby="ep-moderator">
      <h4 id="ep-moderator">${t('edit.moderator')}</h4>
      ${m ? html`<p class="edit-mod"><span class="name" translate="no" dir="auto">${m.name}</span> <span class="badge lang">${langName(m.language)}</span></p>
        <div class="controls tight">
          <button type="button" class="small" data-act="moderator-edit" data-testid="moderator-edit-${seg.id}" aria-label="${t('edit.person_edit_name', { name: m.name })}">${t('edit.open')}</button>
          <button type="button" class="small danger" data-act="moderator-remove" data-testid="moderator-remove-${seg.id}" aria-label="${t('edit.moderator_remove_name', { name: m.name })}">${t('edit.remove')}</button>
        </div>`
    : html`<p class="muted">${t('edit.no_moderator')}</p>
        <button type="button" class="small" data-act="moderator-set" data-testid="moderator-set-${seg.id}">${toolIcon('plus')}<span>${t('edit.set_moderator')}</span></button>`}
    </section>` : '';
  return html`${mod}${lists}`;
}

/** The form of a new segment (any other business, or a segment anywhere after the
 * fixed part). */
export function newSegmentHtml(model, { at, aob }) {
  const ag = model.agenda;
  const rules = editRules(model.state);
  const places = [];
  for (let k = rules.fixed; k <= ag.segment.length; k++) {
    const label = k === 0 ? t('edit.at_start') : t('edit.after', { n: k, title: iso(plainTitle(model, ag.segment[k - 1])) });
    places.push(html`<option value="${k}"${k === at ? ' selected' : ''} dir="auto">${label}</option>`);
  }
  const dHint = t('edit.duration_hint');
  return html`${detailHead(t('edit.back_list'), aob ? t('edit.aob') : t('edit.new_segment'), 'edit-heading')}
    <form class="edit-form" data-form="new" novalidate>
      ${field('nf-title', t('edit.title'), textInput('nf-title', 'title', aob ? t('edit.aob_title') : '', { required: true }))}
      ${field('nf-kind', t('edit.kind'), kindSelect('nf-kind', aob ? 'open_floor' : 'round'))}
      <div class="field-row">
        ${field('nf-duration', t('edit.duration'), durInput('nf-duration', 'duration', aob ? 600 : 900, dHint), dHint)}
        ${field('nf-speech_limit', t('edit.speech_limit'), durInput('nf-speech_limit', 'speech_limit', null, t('edit.meeting_default'), model.agenda.meeting.speech_limit), t('edit.meeting_default'))}
      </div>
      ${field('nf-question', t('edit.question'), textArea('nf-question', 'question', ''))}
      ${field('nf-at', t('edit.place'), html`<select id="nf-at" name="at">${places}</select>`)}
      <p class="form-error" role="alert" data-testid="edit-error"></p>
      <div class="controls tight"><button type="submit" class="primary" data-testid="edit-insert">${t('edit.insert')}</button></div>
    </form>`;
}

/** A person's form: add or edit a speaker or reaction speaker, set or edit a
 * moderator. The text for the booths is the host's (set_booth_text) for people already
 * in the agenda, part of the person when adding. */
export function personFormHtml(model, seg, { list, person, host }) {
  const ag = model.agenda;
  const p = person || { name: '', language: ag.meeting.languages[0] };
  const adding = !person;
  const heading = list === 'moderator'
    ? (adding ? t('edit.set_moderator') : t('edit.edit_person', { name: iso(p.name) }))
    : (adding ? t(list === 'speakers' ? 'edit.add_speaker' : 'edit.add_reaction') : t('edit.edit_person', { name: iso(p.name) }));
  const url = adding ? '' : boothText(model, personKey(p), p);
  const withUrl = list !== 'moderator' && (adding || host);
  return html`${detailHead(t('edit.back_segment', { title: iso(plainTitle(model, seg)) }), heading, 'edit-heading')}
    <form class="edit-form" data-form="person" novalidate>
      ${field('pf-name', t('edit.name'), textInput('pf-name', 'name', p.name, { required: true }))}
      ${field('pf-title', t('edit.person_title'), textInput('pf-title', 'title', p.title, { maxlength: 300 }))}
      ${field('pf-affiliation', t('edit.affiliation'), textInput('pf-affiliation', 'affiliation', p.affiliation, { maxlength: 300 }))}
      ${field('pf-country', t('edit.country'), textInput('pf-country', 'country', p.country, { maxlength: 300 }))}
      ${field('pf-language', t('edit.language'), html`<select id="pf-language" name="language">${langOptions(floorLanguages(ag), p.language)}</select>`)}
      ${withUrl ? field('pf-text_url', t('edit.text_url'), textInput('pf-text_url', 'text_url', url, { maxlength: 500, dir: 'ltr', type: 'url', hint: t('edit.text_url_hint') }), t('edit.text_url_hint')) : ''}
      <p class="form-error" role="alert" data-testid="edit-error"></p>
      <div class="controls tight"><button type="submit" class="primary" data-testid="person-save">${adding ? t('edit.add') : t('edit.save_person')}</button></div>
    </form>`;
}
