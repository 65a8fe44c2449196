// What every overlay page does: read its options, set language and accent, show a notice
// when it cannot run (no key, key revoked), and swap content with an out/in animation.

import { options } from './feed.js';
import { applyLang, pageLang, t } from './i18n.js';

/** Options with defaults, `lang` resolved and applied, `accent=RRGGBB` applied. */
export function setup(defaults) {
  const opt = options({ lang: 'en', accent: '', ...defaults });
  opt.lang = pageLang(opt.lang);
  applyLang(opt.lang);
  if (/^[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(opt.accent)) {
    document.documentElement.style.setProperty('--accent', `#${opt.accent}`);
  }
  return opt;
}

/** The notice for a feed that cannot run, or '' when it runs. */
export function noticeFor(lang, status) {
  if (status === 'no-key') return t(lang, 'no_key');
  if (status === 'revoked' || status === 'unauthorized') return t(lang, 'revoked');
  return '';
}

/** How long an element takes to leave (the CSS transition). */
export const OUT_MS = 420;

/**
 * Swaps what `el` shows: `fill()` runs while it is out of sight, then it comes back in
 * (or stays out when `show` is false). Swaps that arrive during one are queued: only the
 * last one is shown.
 */
export function swapper(el) {
  let pending = null;
  let busy = false;
  async function run() {
    busy = true;
    while (pending) {
      const { fill, show } = pending;
      pending = null;
      if (el.dataset.state === 'in') {
        el.dataset.state = 'out';
        await new Promise((r) => setTimeout(r, OUT_MS));
      }
      fill();
      if (show) {
        // Let the out-state be painted before going in, so the entrance animates.
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        el.dataset.state = 'in';
      }
    }
    busy = false;
  }
  return (fill, show) => {
    pending = { fill, show };
    if (!busy) run();
  };
}
