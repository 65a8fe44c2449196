//! Input limits: how big an agenda may be, what an id may hold, and what makes a
//! person's name or delegation acceptable.
//!
//! Agendas are checked by [`Agenda::validate`](crate::Agenda::validate) (this module adds
//! its problems, located like every other): at most [`MAX_SEGMENTS`] segments and
//! [`MAX_PEOPLE_PER_SEGMENT`] speakers per segment, texts within their lengths, durations
//! within [`MAX_DURATION`], ids of `a-z`, `0-9` and `-`. Without them one request could
//! store a megabyte title in every change, or a duration whose milliseconds overflow.
//!
//! Names and delegations typed by people joining ([`person_text`]) are cleaned and
//! checked: bidi embedding, override and isolate controls are removed (a name could
//! otherwise reverse the text around it on every screen), invisible characters too,
//! runs of spaces become one; what is left must hold a visible letter or digit and may not
//! stack more than [`MAX_COMBINING`] combining marks on one letter.
//!
//! Ids derived from names and titles ([`slug`]) transliterate Latin, Greek, Cyrillic and
//! Arabic letters; a text with none of those (a title in Chinese) gets an id made from a
//! hash of the text: never the empty id.

use crate::agenda::{Problem, Step};
use crate::duration::Secs;
use crate::Agenda;

/// Segments in one agenda.
pub const MAX_SEGMENTS: usize = 200;
/// Speakers and reaction speakers in one segment.
pub const MAX_PEOPLE_PER_SEGMENT: usize = 100;
/// Meeting, segment and person ids, characters.
pub const MAX_ID: usize = 64;
/// Titles (meeting, segment) and names, characters.
pub const MAX_TITLE: usize = 200;
/// A meeting's subtitle, a person's title, affiliation or country, characters.
pub const MAX_LINE: usize = 300;
/// A guiding question, characters.
pub const MAX_QUESTION: usize = 2000;
/// The longest duration anywhere in an agenda (segment, speech limit, thresholds).
pub const MAX_DURATION: Secs = Secs(24 * 3600);
/// Combining marks allowed on one base character (Vietnamese needs 2, pointed Hebrew 3–4).
pub const MAX_COMBINING: usize = 4;

/// Bidi embedding, override and isolate controls: removed from names.
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing and join nothing: removed from names. (ZWJ and ZWNJ stay:
/// Persian and Indic names need them.)
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{2061}'..='\u{2064}'
    )
}

/// Combining marks of the blocks that stack (Latin, Greek, Cyrillic diacritics; Hebrew and
/// Arabic points; the extended and supplementary combining blocks).
pub fn combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}' | '\u{05BF}' | '\u{05C1}'..='\u{05C2}' | '\u{05C4}'..='\u{05C5}' | '\u{05C7}'
        | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06DC}' | '\u{06DF}'..='\u{06E4}' | '\u{06E7}'..='\u{06E8}' | '\u{06EA}'..='\u{06ED}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Cleans a name or delegation typed by a person (`what` names it in the error), at most
/// `max` characters: bidi controls and invisible characters removed, spaces collapsed.
/// `Err` says what is wrong in words for that person.
pub fn person_text(text: &str, what: &str, max: usize) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    for c in text.chars() {
        if bidi_control(c) || invisible(c) {
            continue;
        }
        if c.is_control() {
            return Err(format!("the {what} has control characters"));
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            run = 0;
            continue;
        }
        if combining(c) {
            run += 1;
            if run > MAX_COMBINING {
                return Err(format!(
                    "the {what} stacks more than {MAX_COMBINING} accents on one letter"
                ));
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    let out = out.trim_end().to_string();
    if out.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if !out.chars().any(|c| c.is_alphanumeric() && !combining(c)) {
        return Err(format!(
            "the {what} must contain at least one letter or digit"
        ));
    }
    if out.chars().count() > max {
        return Err(format!(
            "the {what} is longer than {max} characters: shorten it"
        ));
    }
    Ok(out)
}

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

/// Whether an id holds only `a-z`, `0-9` and `-`, 1 to [`MAX_ID`] characters.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The problems of an agenda against the limits, located.
pub(crate) fn agenda_problems(a: &Agenda) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |path: Vec<Step>, message: String, hint: &str| {
        out.push(Problem {
            path,
            message,
            hint: Some(hint.to_string()),
        })
    };
    let long = |t: &str, max: usize| t.chars().count() > max;
    let text =
        |push: &mut dyn FnMut(Vec<Step>, String, &str), path: Vec<Step>, t: &str, max: usize| {
            if long(t, max) {
                push(
                    path,
                    format!(
                        "{} characters is too long: at most {max}",
                        t.chars().count()
                    ),
                    "shorten it; details belong in the meeting's documents, not on every screen",
                );
            } else if t.chars().any(|c| c.is_control() && c != '\n') || t.chars().any(bidi_control)
            {
                push(
                    path,
                    "this text has control characters (bidi overrides included)".into(),
                    "write it without them; screens set the text direction themselves",
                );
            }
        };
    let duration = |push: &mut dyn FnMut(Vec<Step>, String, &str), path: Vec<Step>, d: Secs| {
        if d.0.abs() > MAX_DURATION.0 {
            push(
                path,
                format!("{d} is longer than the {MAX_DURATION} an agenda allows"),
                "a segment or a speech lasts at most a day; split longer events into meetings",
            );
        }
    };
    let m = &a.meeting;
    let mp = |k: &'static str| vec![Step::Key("meeting"), Step::Key(k)];
    text(&mut push, mp("title"), &m.title, MAX_TITLE);
    if let Some(s) = &m.subtitle {
        text(&mut push, mp("subtitle"), s, MAX_LINE);
    }
    if let Some(id) = &m.id {
        if id.len() > MAX_ID {
            push(
                mp("id"),
                format!("meeting id has {} characters: at most {MAX_ID}", id.len()),
                "e.g. id = \"mayors-2021-01\"",
            );
        }
    }
    if let Some(l) = m.speech_limit {
        duration(&mut push, mp("speech_limit"), l);
    }
    duration(&mut push, mp("warning"), m.warning);
    duration(&mut push, mp("danger"), m.danger);
    let person = |push: &mut dyn FnMut(Vec<Step>, String, &str),
                  at: Vec<Step>,
                  p: &crate::Person| {
        let key = |k: &'static str| {
            let mut v = at.clone();
            v.push(Step::Key(k));
            v
        };
        if let Some(id) = &p.id {
            if !valid_id(id) {
                push(
                    key("id"),
                    format!("person id {id:?} may hold only a-z, 0-9 and '-' (at most {MAX_ID})"),
                    "e.g. id = \"cecile-riallant\", or leave it out to derive it from the name",
                );
            }
        }
        let bad_text =
            long(&p.name, MAX_TITLE) || p.name.chars().any(|c| c.is_control() || bidi_control(c));
        if bad_text {
            text(push, key("name"), &p.name, MAX_TITLE);
        } else if !p.name.trim().is_empty() {
            if let Err(e) = person_text(&p.name, "name", MAX_TITLE) {
                push(
                    key("name"),
                    e,
                    "write the name as it should show on screens",
                );
            }
        }
        for (k, v) in [
            ("title", &p.title),
            ("affiliation", &p.affiliation),
            ("country", &p.country),
        ] {
            if let Some(v) = v {
                text(push, key(k), v, MAX_LINE);
            }
        }
    };
    if let Some(h) = &m.host {
        person(&mut push, mp("host"), h);
    }
    if a.segments.len() > MAX_SEGMENTS {
        push(
            vec![Step::Key("segment")],
            format!(
                "{} segments: an agenda has at most {MAX_SEGMENTS}",
                a.segments.len()
            ),
            "split it into several meetings",
        );
    }
    for (i, s) in a.segments.iter().enumerate().take(MAX_SEGMENTS) {
        let sp = |k: &'static str| vec![Step::Key("segment"), Step::Index(i), Step::Key(k)];
        if s.id.len() > MAX_ID {
            push(
                sp("id"),
                format!("segment id has {} characters: at most {MAX_ID}", s.id.len()),
                "e.g. id = \"round-1\"",
            );
        }
        text(&mut push, sp("title"), &s.title, MAX_TITLE);
        for (k, v) in [
            ("title_original", &s.title_original),
            ("question", &s.question),
            ("question_original", &s.question_original),
        ] {
            if let Some(v) = v {
                let max = if k == "title_original" {
                    MAX_TITLE
                } else {
                    MAX_QUESTION
                };
                text(&mut push, sp(k), v, max);
            }
        }
        duration(&mut push, sp("duration"), s.duration);
        for (k, d) in [
            ("speech_limit", s.speech_limit),
            ("warning", s.warning),
            ("danger", s.danger),
        ] {
            if let Some(d) = d {
                duration(&mut push, sp(k), d);
            }
        }
        if let Some(p) = &s.moderator {
            person(&mut push, sp("moderator"), p);
        }
        let people = s.speakers.len() + s.reactions.len();
        if people > MAX_PEOPLE_PER_SEGMENT {
            push(
                sp("speakers"),
                format!(
                    "{people} speakers and reaction speakers: a segment has at most {MAX_PEOPLE_PER_SEGMENT}"
                ),
                "the open floor's queue is for everyone else",
            );
        }
        for (key, list) in [("speakers", &s.speakers), ("reactions", &s.reactions)] {
            for (j, p) in list.iter().enumerate().take(MAX_PEOPLE_PER_SEGMENT) {
                let at = vec![
                    Step::Key("segment"),
                    Step::Index(i),
                    Step::Key(key),
                    Step::Index(j),
                ];
                person(&mut push, at, p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_bidi_controls_and_invisibles_and_need_a_letter() {
        assert_eq!(
            person_text("  Ana \u{202E}Souza\u{202C}  ", "name", 80),
            Ok("Ana Souza".into())
        );
        assert_eq!(
            person_text("Ana\u{200B}\u{FEFF} \t Souza", "name", 80),
            Err("the name has control characters".into())
        );
        assert_eq!(
            person_text("Ana\u{200B}\u{FEFF}   Souza", "name", 80),
            Ok("Ana Souza".into())
        );
        for empty in ["\u{200B}\u{200B}", "   ", "\u{2066}\u{2069}", "\u{3000}"] {
            assert_eq!(
                person_text(empty, "name", 80),
                Err("the name is empty".into()),
                "{empty:?}"
            );
        }
        for no_letter in ["...", "— —", "\u{0301}\u{0301}", "🙂"] {
            assert!(
                person_text(no_letter, "name", 80)
                    .unwrap_err()
                    .contains("letter or digit"),
                "{no_letter:?}"
            );
        }
        let zalgo = format!("Z{}", "\u{0301}".repeat(80));
        assert!(person_text(&zalgo, "name", 200)
            .unwrap_err()
            .contains("accents"));
        // Real names pass: Vietnamese (decomposed), Arabic with ZWNJ-free vowels, Persian
        // with ZWNJ, Chinese.
        for ok in [
            "Nguye\u{0302}\u{0303}n",
            "أَحْمَد سكيم",
            "می\u{200C}خواهم",
            "王伟",
        ] {
            assert_eq!(person_text(ok, "name", 80).as_deref(), Ok(ok), "{ok:?}");
        }
        assert!(person_text(&"a".repeat(81), "name", 80).is_err());
    }

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
