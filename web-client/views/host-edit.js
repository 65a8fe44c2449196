// The live agenda editor (the host's; a moderator's for the speakers of their own
// segments): a list of segments, then one page per segment, new segment or person.
// Every change is one `edit_agenda` command (PROTOCOL.md *Editing the agenda*), all or
// none; what the server refuses is shown in the form, in the interface's words with
// the server's reason beside them. The list is redrawn with each state (focus kept by
// data-testid); a form is drawn once, so a change by someone else never wipes what
// the host is typing. After an edit, focus goes where the next step is: the moved
// button, the segment after a removed one, the new segment's Edit button.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { segmentsModeratedBy, segTitle } from './common.js';
import {
  editRules, segmentStatus, canEdit, insertAfterCurrent, segmentChanges, newSegment, newPerson, personChanges,
  personKey, boothText, isHttpsUrl, iso,
} from './edit-model.js';
import {
  listHtml, listActionsHtml, segmentFormHtml, segmentModHtml, peopleHtml, newSegmentHtml, personFormHtml,
} from './host-edit-views.js';

const FIELDS = {
  segment: ['kind', 'title', 'title_original', 'question', 'question_original', 'duration', 'speech_limit', 'warning', 'danger'],
  new: ['kind', 'title', 'duration', 'speech_limit', 'question', 'at'],
  person: ['name', 'title', 'affiliation', 'country', 'language', 'text_url'],
};

export function create(el, env) {
  const { model, host, ctx } = env;
  const mem = env.memory.edit || (env.memory.edit = { view: { kind: 'list' } });
  el.tabIndex = -1;
  let busy = false;

  const mine = () => (host ? [] : segmentsModeratedBy(model.agenda, (model.you || {}).person));
  const segById = (id) => model.agenda.segment.find((s) => s.id === id) || null;
  const indexOf = (id) => model.agenda.segment.findIndex((s) => s.id === id);
  const q = (sel) => el.querySelector(sel);
  const byTestid = (id) => el.querySelector(`[data-testid="${CSS.escape(id)}"]`);
  const focus = (node) => { if (node) node.focus(); };

  function mayEdit(id) {
    const i = indexOf(id);
    if (i < 0 || !canEdit(editRules(model.state), i)) return false;
    return host || mine().includes(i);
  }

  /** Draws the page of the current view (forms once), then its live parts. */
  function render() {
    const v = mem.view;
    if (v.kind !== 'list' && v.seg !== undefined && !mayEdit(v.seg)) mem.view = { kind: 'list' };
    if (mem.view.kind === 'segment' && !mayEdit(mem.view.id)) mem.view = { kind: 'list' };
    const view = mem.view;
    if (view.kind === 'list') {
      el.innerHTML = String(html`<div data-edit="actions"></div><div data-edit="list"></div>`);
    } else if (view.kind === 'segment') {
      const seg = segById(view.id);
      el.innerHTML = String(host ? segmentFormHtml(model, seg, segmentStatus(editRules(model.state), indexOf(view.id))) : segmentModHtml(model, seg));
    } else if (view.kind === 'new') {
      el.innerHTML = String(newSegmentHtml(model, view));
    } else {
      const seg = segById(view.seg);
      const person = view.list === 'moderator' ? (view.person ? seg.moderator : null)
        : (view.person ? (seg[view.list] || []).find((p) => personKey(p) === view.person) : null);
      el.innerHTML = String(personFormHtml(model, seg, { list: view.list, person, host }));
    }
    update();
  }

  function update() {
    if (!model.agenda || !model.state || el.hidden) return;
    const v = mem.view;
    if (v.kind === 'list') {
      const actions = q('[data-edit="actions"]');
      const list = q('[data-edit="list"]');
      if (!list) { render(); return; }
      patch(actions, host ? listActionsHtml(model) : '');
      patch(list, listHtml(model, { host, mine: mine() }));
      return;
    }
    const segId = v.kind === 'segment' ? v.id : v.seg;
    if (segId !== undefined && !mayEdit(segId)) {
      // Removed by someone else, or it has become history: back to the list.
      mem.view = { kind: 'list' };
      render();
      focus(el);
      ctx.announce(t('edit.gone'));
      return;
    }
    const people = q('[data-edit="people"]');
    if (people && v.kind === 'segment') patch(people, peopleHtml(model, segById(v.id), { host }));
  }

  function go(view, target) {
    mem.view = view;
    render();
    const node = typeof target === 'string' ? byTestid(target) : target;
    focus(node || q('.edit-heading') || el);
  }

  function values(form, kind) {
    const out = {};
    for (const name of FIELDS[kind]) {
      const input = form.elements.namedItem(name);
      if (input) out[name] = input.value;
    }
    return out;
  }

  function showErrors(form, errors) {
    for (const node of form.querySelectorAll('[data-error-for]')) {
      const id = node.dataset.errorFor;
      const name = id.split('-').slice(1).join('-');
      const input = form.querySelector(`#${CSS.escape(id)}`);
      const key = errors[name];
      node.hidden = !key;
      node.textContent = key ? t(key) : '';
      if (input) {
        if (key) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    }
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
    return !first;
  }

  function formError(text) {
    const box = q('[data-testid="edit-error"]');
    if (box) box.textContent = text;
  }
  function refused(res) {
    const local = t(`error.${res.code}`);
    return res.message && res.message !== local ? `${local} (${res.message})` : local;
  }

  /** Sends one edit; shows a refusal in the form (or as a notice on the list). */
  async function edit(ops) {
    if (busy) return false;
    busy = true;
    formError('');
    const res = await env.run({ type: 'edit_agenda', ops });
    busy = false;
    if (!res.ok) {
      if (q('[data-testid="edit-error"]')) formError(refused(res));
      else ctx.notify(refused(res), 'error');
      return false;
    }
    return true;
  }

  const acts = {
    open: (b) => go({ kind: 'segment', id: b.dataset.segment }),
    back: () => {
      const v = mem.view;
      if (v.kind === 'segment') go({ kind: 'list' }, `edit-open-${v.id}`);
      else if (v.kind === 'new') go({ kind: 'list' }, v.aob ? 'edit-aob' : 'edit-new');
      else if (v.kind === 'person') go({ kind: 'segment', id: v.seg }, personTestid(v));
      else go({ kind: 'list' });
    },
    aob: () => {
      const rules = editRules(model.state);
      go({ kind: 'new', aob: true, at: insertAfterCurrent(rules, model.agenda.segment.length) }, null);
      const title = q('#nf-title');
      if (title) { title.focus(); title.select(); }
    },
    new: () => {
      go({ kind: 'new', aob: false, at: model.agenda.segment.length }, null);
      focus(q('#nf-title'));
    },
    'seg-move': async (b) => {
      await edit([{ op: 'move_segment', segment: b.dataset.segment, to: Number(b.dataset.to) }]);
    },
    'seg-remove': async (b) => {
      const id = b.dataset.segment;
      const seg = segById(id);
      if (!seg || !confirm(t('edit.confirm_remove_segment', { title: iso(segTitle(model, seg).text) }))) return;
      const i = indexOf(id);
      if (await edit([{ op: 'remove_segment', segment: id }])) {
        ctx.announce(t('edit.removed_segment', { title: iso(segTitle(model, seg).text) }));
        const next = model.agenda.segment[i] || model.agenda.segment[i - 1];
        focus((next && byTestid(`edit-open-${next.id}`)) || byTestid('edit-aob') || el);
      }
    },
    'person-add': (b) => {
      go({ kind: 'person', seg: mem.view.id, list: b.dataset.list, person: null });
      focus(q('#pf-name'));
    },
    'person-edit': (b) => {
      go({ kind: 'person', seg: mem.view.id, list: b.dataset.list, person: b.dataset.person });
      focus(q('#pf-name'));
    },
    'moderator-set': () => {
      go({ kind: 'person', seg: mem.view.id, list: 'moderator', person: null });
      focus(q('#pf-name'));
    },
    'moderator-edit': () => {
      const seg = segById(mem.view.id);
      go({ kind: 'person', seg: mem.view.id, list: 'moderator', person: personKey(seg.moderator) });
      focus(q('#pf-name'));
    },
    'moderator-remove': async () => {
      const seg = segById(mem.view.id);
      if (!seg.moderator || !confirm(t('edit.confirm_remove_moderator', { name: iso(seg.moderator.name) }))) return;
      if (await edit([{ op: 'set_moderator', segment: seg.id, moderator: null }])) {
        focus(byTestid(`moderator-set-${seg.id}`));
      }
    },
    'person-move': async (b) => {
      await edit([{ op: 'move_speaker', segment: mem.view.id, person: b.dataset.person, to: Number(b.dataset.to) }]);
    },
    'person-remove': async (b) => {
      const seg = segById(mem.view.id);
      const list = seg[b.dataset.list] || [];
      const i = list.findIndex((p) => personKey(p) === b.dataset.person);
      if (i < 0 || !confirm(t('edit.confirm_remove_person', { name: iso(list[i].name) }))) return;
      const name = list[i].name;
      if (await edit([{ op: 'remove_speaker', segment: seg.id, person: b.dataset.person }])) {
        ctx.announce(t('edit.removed_person', { name: iso(name) }));
        const now = segById(seg.id)[b.dataset.list] || [];
        const next = now[i] || now[i - 1];
        focus((next && byTestid(`person-edit-${seg.id}-${personKey(next)}`)) || byTestid(`person-add-${seg.id}-${b.dataset.list}`));
      }
    },
  };

  function personTestid(v) {
    if (v.list === 'moderator') return segById(v.seg) && segById(v.seg).moderator ? `moderator-edit-${v.seg}` : `moderator-set-${v.seg}`;
    if (v.person && host) return `person-edit-${v.seg}-${v.person}`;
    return `person-add-${v.seg}-${v.list}`;
  }

  async function submitSegment(form) {
    const seg = segById(form.dataset.segment);
    const { set, errors } = segmentChanges(seg, values(form, 'segment'));
    if (!showErrors(form, errors)) return;
    const status = q('[data-testid="edit-status"]');
    if (!Object.keys(set).length) { status.textContent = t('edit.nothing_changed'); return; }
    status.textContent = '';
    if (await edit([{ op: 'update_segment', segment: seg.id, set }])) {
      status.textContent = t('edit.saved');
    }
  }

  async function submitNew(form) {
    const vals = values(form, 'new');
    const { segment, errors } = newSegment(vals, model.agenda);
    if (!showErrors(form, errors)) return;
    if (await edit([{ op: 'insert_segment', at: Number(vals.at), segment }])) {
      ctx.announce(t('edit.inserted', { title: iso(segment.title) }));
      go({ kind: 'list' }, `edit-open-${segment.id}`);
    }
  }

  async function submitPerson(form) {
    const v = mem.view;
    const seg = segById(v.seg);
    const vals = values(form, 'person');
    if (v.list === 'moderator') {
      delete vals.text_url;
      const { person, errors } = newPerson(vals);
      if (!showErrors(form, errors)) return;
      if (v.person) person.id = v.person;
      if (await edit([{ op: 'set_moderator', segment: seg.id, moderator: person }])) {
        ctx.announce(t('edit.saved'));
        go({ kind: 'segment', id: seg.id }, `moderator-edit-${seg.id}`);
      }
      return;
    }
    if (!v.person) {
      const { person, errors } = newPerson(vals);
      if (!showErrors(form, errors)) return;
      const op = { op: 'add_speaker', segment: seg.id, speaker: person };
      if (v.list === 'reactions') op.reaction = true;
      if (await edit([op])) {
        ctx.announce(t('edit.added_person', { name: iso(person.name) }));
        const list = segById(seg.id)[v.list] || [];
        const added = [...list].reverse().find((p) => p.name === person.name);
        const id = added ? personKey(added) : '';
        go({ kind: 'segment', id: seg.id }, host ? `person-edit-${seg.id}-${id}` : `person-up-${seg.id}-${id}`);
      }
      return;
    }
    const p = (seg[v.list] || []).find((x) => personKey(x) === v.person);
    const { set, errors } = personChanges(p, vals);
    const url = (vals.text_url || '').trim();
    if (url && !isHttpsUrl(url)) errors.text_url = 'edit.err_url';
    if (!showErrors(form, errors)) return;
    const urlChanged = vals.text_url !== undefined && url !== boothText(model, v.person, p);
    if (!Object.keys(set).length && !urlChanged) { formError(t('edit.nothing_changed')); return; }
    if (Object.keys(set).length && !(await edit([{ op: 'update_speaker', segment: seg.id, person: v.person, set }]))) return;
    if (urlChanged) {
      const res = await env.run({ type: 'set_booth_text', person: v.person, url: url || null });
      if (!res.ok) { formError(refused(res)); return; }
    }
    ctx.announce(t('edit.saved'));
    go({ kind: 'segment', id: seg.id }, `person-edit-${seg.id}-${v.person}`);
  }

  function onClick(e) {
    const b = e.target.closest('[data-act]');
    if (!b || !el.contains(b) || b.getAttribute('aria-disabled') === 'true') return;
    const fn = acts[b.dataset.act];
    if (fn) fn(b);
  }
  function onSubmit(e) {
    const form = e.target.closest('form[data-form]');
    if (!form) return;
    e.preventDefault();
    if (form.dataset.form === 'segment') submitSegment(form);
    else if (form.dataset.form === 'new') submitNew(form);
    else if (form.dataset.form === 'person') submitPerson(form);
  }
  el.addEventListener('click', onClick);
  el.addEventListener('submit', onSubmit);
  let drawn = false;

  return {
    show() {
      if (!drawn) { drawn = true; render(); } else update();
    },
    update,
    destroy() {
      el.removeEventListener('click', onClick);
      el.removeEventListener('submit', onSubmit);
    },
  };
}
