// Small inline SVG icons. Drawn, not taken from a font: a glyph such as "⏷" is an
// empty box where the system fonts lack it (Debian's do). Each icon is decorative
// (aria-hidden); the button or text beside it carries the words.

import { raw } from '../dom.js';

const PATHS = {
  // Two chevrons pointing down: "slow down".
  slow: '<path d="M5 6l7 6 7-6M5 12l7 6 7-6"/>',
  up: '<path d="M12 19V5M6 11l6-6 6 6"/>',
  down: '<path d="M12 5v14M6 13l6 6 6-6"/>',
  remove: '<path d="M6 6l12 12M18 6L6 18"/>',
  expand: '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>',
  shrink: '<path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>',
  alert: '<path d="M12 3L2 20h20L12 3z"/><path d="M12 10v4M12 17v.5"/>',
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0014 0M12 18v3"/>',
  offline: '<path d="M3 3l18 18M8.5 16.5a5 5 0 017 0M5 13a10 10 0 0114 0M12 20h.01"/>',
  chevron: '<path d="M6 9l6 6 6-6"/>',
  // A flag: a point of order.
  flag: '<path d="M5 21V4M5 4h11l-2 4 2 4H5"/>',
};

/** An icon as safe HTML. */
export function icon(name, cls = '') {
  return raw(`<svg class="icon${cls ? ` ${cls}` : ''}" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round">${PATHS[name] || ''}</svg>`);
}
