// Interface languages: the message catalogues and `t(key, vars)`.
//
// The language is the person's choice (a selector on every view), remembered in
// localStorage under "podium:lang", defaulting to the browser's language. Arabic is
// written right to left: choosing it sets <html dir="rtl" lang="ar">.

import en from './en.js';
import fr from './fr.js';
import es from './es.js';
import ar from './ar.js';

export const CATALOGUES = { en, fr, es, ar };
export const UI_LANGS = ['en', 'fr', 'es', 'ar'];
const RTL = new Set(['ar']);
const STORAGE_KEY = 'podium:lang';

let current = pickInitial();
const listeners = new Set();

function pickInitial() {
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch { /* ignore */ }
  if (stored && CATALOGUES[stored]) return stored;
  const prefs = (typeof navigator !== 'undefined' && (navigator.languages || [navigator.language])) || [];
  for (const p of prefs) {
    const base = String(p || '').toLowerCase().split('-')[0];
    if (CATALOGUES[base]) return base;
  }
  return 'en';
}

/** The interface language now. */
export function getLang() { return current; }

/** Whether a language is written right to left. */
export function isRtl(lang = current) { return RTL.has(lang); }

/** Changes the interface language, remembers it and tells the listeners. */
export function setLang(lang) {
  if (!CATALOGUES[lang] || lang === current) return;
  current = lang;
  try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* ignore */ }
  applyToDocument();
  for (const fn of listeners) fn(lang);
}

/** Sets <html lang> and <html dir>. */
export function applyToDocument() {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = current;
  document.documentElement.dir = isRtl() ? 'rtl' : 'ltr';
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The message `key` in the current language, `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let s = CATALOGUES[current][key];
  if (s === undefined) s = en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

/** A BCP 47 locale for Intl formatting in the current language. */
export function locale() {
  return current;
}
