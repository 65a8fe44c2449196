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
//! Ids derived from names and titles are made by [`crate::slug`]: never empty.

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
}
