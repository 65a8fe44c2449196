// The next speakers: the named speakers of the segment who have not spoken yet, then the
// hands in the queue (points of order first, as the server orders them), each with their
// delegation and floor language. Slides out and in when the list changes.
//
//   /overlays/next?lang=es&count=3&position=bottom|top#key=pod_…

import { Feed } from './feed.js';
import { languageName, t } from './i18n.js';
import { noticeFor, setup, swapper } from './common.js';

const opt = setup({ count: '3', position: 'bottom' });
document.documentElement.dataset.position = opt.position;
const count = Math.max(1, Math.min(5, Number(opt.count) || 3));
const box = document.querySelector('.next');
const list = document.querySelector('[data-testid="next-list"]');
document.querySelector('[data-testid="next-title"]').textContent = t(opt.lang, 'next');
const swap = swapper(box);
let shown;

function key(p) {
  return p.id || p.name;
}

/** Who comes next: named speakers not yet heard in this segment, then the queue. */
function upcoming(agenda, state) {
  const out = [];
  if (!agenda || !state || state.phase !== 'running' || typeof state.current !== 'number') return out;
  const seg = agenda.segment[state.current];
  const heard = new Set(
    (state.history || []).filter((h) => h.segment === state.current).map((h) => h.speaker.name)
  );
  const now = state.speech ? state.speech.speaker.name : null;
  for (const p of [...(seg.speakers || []), ...(seg.reactions || [])]) {
    if (!heard.has(p.name) && p.name !== now && !out.some((o) => o.name === p.name)) {
      out.push({ name: p.name, delegation: p.affiliation || '', language: p.language, poo: false, id: key(p) });
    }
  }
  for (const h of state.queue || []) {
    out.push({ name: h.name, delegation: h.delegation, language: h.language, poo: h.point_of_order, id: `hand${h.id}` });
  }
  return out.slice(0, count);
}

function render(feed) {
  document.querySelector('[data-testid="notice"]').textContent = noticeFor(opt.lang, feed.status);
  const items = upcoming(feed.agenda, feed.state);
  const k = JSON.stringify(items);
  if (k === shown) return;
  shown = k;
  swap(() => {
    list.replaceChildren(
      ...items.map((it) => {
        const li = document.createElement('li');
        li.dataset.testid = 'next-item';
        // Each line takes its direction from its text, its alignment from the page.
        const who = document.createElement('div');
        who.className = 'who line';
        who.dir = 'auto';
        who.textContent = it.name;
        const from = document.createElement('div');
        from.className = 'from';
        const d = document.createElement('span');
        d.className = 'delegation line';
        d.dir = 'auto';
        d.textContent = it.delegation;
        const lang = document.createElement('span');
        lang.className = 'chip language';
        lang.textContent = languageName(opt.lang, it.language);
        from.append(d, lang);
        if (it.poo) {
          const poo = document.createElement('span');
          poo.className = 'chip poo';
          poo.textContent = t(opt.lang, 'point_of_order');
          from.append(poo);
        }
        li.append(who, from);
        return li;
      })
    );
  }, items.length > 0);
}

new Feed(render).start();
