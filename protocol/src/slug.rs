//! Ids from names and titles: lower-case ASCII slugs that transliterate Latin, Greek,
//! Cyrillic and Arabic letters; a text with none of those (a title in Chinese) gets an id
//! made from a hash of the text, so an id is never empty.

use crate::limits::{combining, MAX_ID};

/// The Latin letters for a letter of Latin-1, Latin Extended-A, Greek, Cyrillic or Arabic.
fn transliterate(c: char) -> Option<&'static str> {
    let t = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        // Greek.
        'α' | 'ά' => "a",
        'β' => "v",
        'γ' => "g",
        'δ' => "d",
        'ε' | 'έ' => "e",
        'ζ' => "z",
        'η' | 'ή' => "i",
        'θ' => "th",
        'ι' | 'ί' | 'ϊ' | 'ΐ' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "m",
        'ν' => "n",
        'ξ' => "x",
        'ο' | 'ό' => "o",
        'π' => "p",
        'ρ' => "r",
        'σ' | 'ς' => "s",
        'τ' => "t",
        'υ' | 'ύ' | 'ϋ' | 'ΰ' => "y",
        'φ' => "f",
        'χ' => "ch",
        'ψ' => "ps",
        'ω' | 'ώ' => "o",
        // Cyrillic (Russian, Ukrainian, Serbian, Bulgarian).
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'ґ' => "g",
        'д' => "d",
        'ђ' => "dj",
        'е' | 'ё' | 'є' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ї' | 'й' => "i",
        'ј' => "j",
        'к' => "k",
        'л' => "l",
        'љ' => "lj",
        'м' => "m",
        'н' => "n",
        'њ' => "nj",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'ћ' => "c",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'џ' => "dz",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        // Arabic.
        'ا' | 'أ' | 'إ' | 'آ' | 'ى' => "a",
        'ب' => "b",
        'ت' | 'ة' => "t",
        'ث' => "th",
        'ج' => "j",
        'ح' => "h",
        'خ' => "kh",
        'د' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' => "z",
        'س' => "s",
        'ش' => "sh",
        'ص' => "s",
        'ض' => "d",
        'ط' => "t",
        'ظ' => "z",
        'ع' | 'ء' | 'ؤ' | 'ئ' => "",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' => "k",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'ه' => "h",
        'و' => "w",
        'ي' => "y",
        _ => return None,
    };
    Some(t)
}

/// Lower-case ASCII slug: "Cécile Riallant" → "cecile-riallant", "Москва" → "moskva",
/// "الرباط" → "alrbat". Empty when the text has no letter it can spell in ASCII.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let piece = if c.is_ascii_alphanumeric() {
            Some(c.to_string())
        } else {
            transliterate(c).map(str::to_string)
        };
        match piece {
            Some(p) if p.is_empty() => {}
            Some(p) => {
                if gap && !out.is_empty() {
                    out.push('-');
                }
                gap = false;
                out.push_str(&p);
            }
            // Combining marks belong to the letter before them.
            None if combining(c) => {}
            None => gap = true,
        }
        if out.len() >= MAX_ID {
            break;
        }
    }
    out.truncate(MAX_ID);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// An id for a text: its slug, or `prefix-` and 8 hex digits of a hash of the text when
/// nothing in it can be spelled in ASCII (deterministic: the same title, the same id).
pub fn id_for(text: &str, prefix: &str) -> String {
    let s = slug(text);
    if !s.is_empty() {
        return s;
    }
    // FNV-1a, 32 bits: stable across builds and platforms.
    let mut h: u32 = 0x811c_9dc5;
    for b in text.trim().as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{prefix}-{h:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::valid_id;

    #[test]
    fn slugs_transliterate_and_ids_are_never_empty() {
        assert_eq!(slug("Cécile Riallant"), "cecile-riallant");
        assert_eq!(slug("Москва 2021"), "moskva-2021");
        assert_eq!(slug("Αθήνα"), "athina");
        assert_eq!(slug("الرباط"), "alrbat");
        assert_eq!(slug("  Felipe Muñoz (IDB) "), "felipe-munoz-idb");
        assert_eq!(slug("移民会议"), "");
        let id = id_for("移民会议", "m");
        assert!(
            id.starts_with("m-") && id.len() == 10 && valid_id(&id),
            "{id}"
        );
        assert_eq!(id, id_for("移民会议", "m"));
        assert_ne!(id, id_for("移民会议二", "m"));
        assert!(slug(&"x".repeat(500)).len() <= MAX_ID);
    }
}
