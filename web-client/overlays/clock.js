// The clock alone: the speech's time left (or the segment's when nobody speaks, or as
// chosen), coloured by the agenda's wrap-up times, counting up in overtime. Fades out and
// in when the floor changes.
//
//   /overlays/clock?lang=ar&clock=auto|speech|segment&corner=top-end|top-start|bottom-end|bottom-start&label=1#key=pod_…

import { Feed, clockText, everyFrame, level, remaining } from './feed.js';
import { t } from './i18n.js';
import { noticeFor, setup, swapper } from './common.js';

const opt = setup({ clock: 'auto', corner: 'top-end', label: '1' });
document.documentElement.dataset.corner = opt.corner;
const box = document.querySelector('.clock');
const label = document.querySelector('[data-testid="clock-label"]');
const time = document.querySelector('[data-testid="clock-time"]');
const swap = swapper(box);
let feed;
let shown;
let which = null;

/** Which clock to show now, and the identity of what it belongs to. */
function pick(state) {
  if (!state || state.phase !== 'running') return null;
  const speech = state.speech;
  if (opt.clock !== 'segment' && speech) {
    return { kind: 'speech', clock: speech.clock, key: `speech|${speech.started_at}` };
  }
  if (opt.clock === 'speech') return null;
  return { kind: 'segment', clock: state.segment_clock, key: `segment|${state.current}` };
}

function render(f) {
  feed = f;
  document.querySelector('[data-testid="notice"]').textContent = noticeFor(opt.lang, f.status);
  const next = pick(f.state);
  const key = next ? next.key : null;
  if (key === shown) {
    which = next;
    return;
  }
  shown = key;
  swap(() => {
    which = next;
    if (next) {
      label.textContent = t(opt.lang, next.kind === 'speech' ? 'speech' : 'segment');
      label.hidden = opt.label === '0';
      tick();
    }
  }, !!next);
}

function tick() {
  if (!feed || !which) return;
  const ms = remaining(which.clock, feed.now());
  const text = clockText(ms);
  if (time.textContent !== text) time.textContent = text;
  const lvl = level(feed.agenda, feed.state.current, ms);
  if (box.dataset.level !== lvl) box.dataset.level = lvl;
}

everyFrame(tick);
new Feed(render).start();
