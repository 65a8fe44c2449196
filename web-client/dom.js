// Tiny DOM helpers: an escaping `html` template tag, a `patch` that replaces a
// container's content only when it changed (keeping keyboard focus), and slugs.

class Safe {
  constructor(s) { this.s = s; }
  toString() { return this.s; }
}

/** Escapes text for HTML content and attribute values. */
export function esc(v) {
  return String(v)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function piece(v) {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Safe) return v.s;
  if (Array.isArray(v)) return v.map(piece).join('');
  return esc(v);
}

/** Template tag: interpolated values are escaped unless they come from `html` too. */
export function html(strings, ...vals) {
  let out = strings[0];
  for (let i = 0; i < vals.length; i++) out += piece(vals[i]) + strings[i + 1];
  return new Safe(out);
}

/** Marks an already-safe string (e.g. built with html) as safe. */
export function raw(s) { return new Safe(String(s)); }

/** Replaces `el`'s children with `content` when it differs from the last patch. The
 * element that had focus gets it back: the same control (data-testid or id), else the
 * control that replaced it (same `data-focus` key: "Lower my hand" replacing "Raise my
 * hand"), else the view itself — never <body>. */
export function patch(el, content) {
  const s = String(content);
  if (el._podiumLast === s) return false;
  el._podiumLast = s;
  const active = document.activeElement;
  let keys = null;
  if (active && active !== el && el.contains(active)) {
    keys = {
      focus: active.getAttribute('data-focus'),
      testid: active.getAttribute('data-testid'),
      id: active.id || null,
    };
  }
  el.innerHTML = s;
  if (keys) {
    const again = (keys.testid && el.querySelector(`[data-testid="${CSS.escape(keys.testid)}"]`))
      || (keys.id && el.querySelector(`#${CSS.escape(keys.id)}`))
      || (keys.focus && el.querySelector(`[data-focus="${CSS.escape(keys.focus)}"]`));
    if (again && !again.disabled) again.focus();
    else {
      const fallback = el.closest('[tabindex="-1"]') || document.getElementById('view');
      if (fallback) fallback.focus({ preventScroll: true });
    }
  }
  return true;
}

/** Same slug as the server's agenda::slug: "Cécile Riallant" -> "cecile-riallant". */
export function slug(text) {
  const map = {
    à: 'a', á: 'a', â: 'a', ä: 'a', ã: 'a', À: 'a', Á: 'a', Â: 'a', Ä: 'a',
    ç: 'c', Ç: 'c',
    è: 'e', é: 'e', ê: 'e', ë: 'e', É: 'e', È: 'e',
    ì: 'i', í: 'i', î: 'i', ï: 'i', Í: 'i',
    ñ: 'n', Ñ: 'n',
    ò: 'o', ó: 'o', ô: 'o', ö: 'o', õ: 'o', Ó: 'o',
    ù: 'u', ú: 'u', û: 'u', ü: 'u', Ú: 'u',
  };
  let out = '';
  for (const ch of text) {
    const c = map[ch] ?? ch;
    if (/^[A-Za-z0-9]$/.test(c)) out += c.toLowerCase();
    else if (out.length && !out.endsWith('-')) out += '-';
  }
  return out.replace(/-+$/, '');
}

/** A person's id as the server computes it. */
export function personId(p) {
  return p.id || slug(p.name);
}

/** True when a key event comes from a place where the person types. */
export function isTyping(target) {
  if (!target || !target.closest) return false;
  return !!target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}
