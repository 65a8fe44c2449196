// The lower third: who speaks now — name, title and delegation, the floor language (in
// the page's language) and the segment (in the agenda's original language when the page
// is in it). Slides out and in when the floor changes.
//
//   /overlays/lower-third?lang=fr&align=start|center|end&segment=1&accent=0b57d0#key=pod_…

import { Feed, person } from './feed.js';
import { languageName, t } from './i18n.js';
import { noticeFor, setup, swapper } from './common.js';

const opt = setup({ align: 'start', segment: '1' });
document.documentElement.dataset.align = opt.align;
const box = document.querySelector('.lower-third');
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const swap = swapper(box);
let shown;

/** Sets a line's text, hiding the line when empty. Each line takes its direction from
 *  its text (a Latin name keeps its punctuation and its ellipsis at its end) and its
 *  alignment from the page (right in Arabic): see overlay.css, `.line`. */
function text(id, value) {
  const line = $(id);
  line.textContent = value;
  line.hidden = !value;
}

function segmentTitle(agenda, state) {
  const seg = agenda && typeof state.current === 'number' ? agenda.segment[state.current] : null;
  if (!seg) return '';
  const original = agenda.meeting.original_language === opt.lang && seg.title_original;
  return original || seg.title;
}

function render(feed) {
  $('notice').textContent = noticeFor(opt.lang, feed.status);
  const state = feed.state;
  const speech = state && state.speech;
  const key = speech ? `${speech.started_at}|${speech.speaker.name}` : null;
  if (key === shown) return;
  shown = key;
  swap(() => {
    if (!speech) return;
    const sp = speech.speaker;
    const p = person(feed.agenda, sp);
    // The title on its own line; then where they come from, country first, so a long
    // affiliation never pushes the country out of sight.
    const title = p && p.title ? p.title : '';
    const org = [p && p.country, (p && p.affiliation) || sp.delegation].filter(Boolean).join(' · ');
    text('name', sp.name);
    text('title', title);
    text('org', org);
    $('language').textContent = t(opt.lang, 'speaking_in', languageName(opt.lang, sp.language));
    text('segment', opt.segment === '0' ? '' : segmentTitle(feed.agenda, state));
    box.dataset.speaker = sp.name;
  }, !!speech);
}

new Feed(render).start();
