// The overlays' few words in the four interface languages, chosen by `?lang=`; language
// names come from the browser (Intl.DisplayNames), in the chosen language.

const WORDS = {
  en: {
    next: 'Next',
    speaking_in: (l) => `Speaking in ${l}`,
    speech: 'Speaking time',
    segment: 'Segment',
    point_of_order: 'Point of order',
    no_key: 'Add the key to the URL: …#key=pod_…',
    revoked: 'This key was revoked',
  },
  fr: {
    next: 'Prochains',
    speaking_in: (l) => `Intervention en ${l}`,
    speech: 'Temps de parole',
    segment: 'Séquence',
    point_of_order: 'Motion d’ordre',
    no_key: 'Ajoutez la clé à l’adresse : …#key=pod_…',
    revoked: 'Cette clé a été révoquée',
  },
  es: {
    next: 'A continuación',
    speaking_in: (l) => `Interviene en ${l}`,
    speech: 'Tiempo de palabra',
    segment: 'Segmento',
    point_of_order: 'Cuestión de orden',
    no_key: 'Añada la clave a la dirección: …#key=pod_…',
    revoked: 'Esta clave fue revocada',
  },
  ar: {
    next: 'المتحدثون التالون',
    speaking_in: (l) => `لغة المداخلة: ${l}`,
    speech: 'وقت الكلمة',
    segment: 'الجلسة',
    point_of_order: 'نقطة نظام',
    no_key: 'أضف المفتاح إلى العنوان: …#key=pod_…',
    revoked: 'أُلغي هذا المفتاح',
  },
};

/** The page language: `?lang=` if Podium speaks it, else English. */
export function pageLang(wanted) {
  return Object.hasOwn(WORDS, wanted) ? wanted : 'en';
}

/** Sets `lang` and `dir` on the document. */
export function applyLang(lang) {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
}

export function t(lang, key, ...args) {
  const w = WORDS[lang][key];
  return typeof w === 'function' ? w(...args) : w;
}

/** A language's name in `lang` ("français", "الفرنسية"), from its code. */
export function languageName(lang, code) {
  try {
    const name = new Intl.DisplayNames([lang], { type: 'language' }).of(code);
    // French and Spanish write language names in lower case inside a sentence.
    return name || code;
  } catch {
    return code;
  }
}
