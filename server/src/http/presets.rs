//! Message presets for the speaker's screen: the short, standard messages a Stream Deck
//! key sends (`GET /api/meetings/{id}/do/message_speaker?preset=wrap_up`), in the
//! languages of Podium's interface. The text goes out in the language asked for, else
//! in the floor language of the person speaking (a French speaker reads French), else
//! in English. Answers no request itself.

use podium_protocol::Lang;

/// Every preset: id, then its text in English, French, Spanish and Arabic.
pub const PRESETS: &[(&str, [&str; 4])] = &[
    (
        "wrap_up",
        [
            "Please wrap up",
            "Veuillez conclure",
            "Por favor, concluya",
            "يُرجى الاختتام",
        ],
    ),
    (
        "one_minute",
        [
            "One minute left",
            "Il reste une minute",
            "Queda un minuto",
            "تبقّت دقيقة واحدة",
        ],
    ),
    (
        "time_up",
        [
            "Your time is up",
            "Votre temps de parole est écoulé",
            "Su tiempo ha terminado",
            "انتهى وقتك",
        ],
    ),
    (
        "microphone",
        [
            "Please speak closer to the microphone",
            "Veuillez vous rapprocher du micro",
            "Por favor, acérquese al micrófono",
            "يُرجى الاقتراب من الميكروفون",
        ],
    ),
    (
        "unmute",
        [
            "Your microphone is muted",
            "Votre micro est coupé",
            "Su micrófono está silenciado",
            "الميكروفون مكتوم",
        ],
    ),
];

/// The languages presets are written in, in column order.
const LANGS: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar];

/// The ids of every preset, for error messages and documentation.
pub fn ids() -> Vec<&'static str> {
    PRESETS.iter().map(|(id, _)| *id).collect()
}

/// The text of preset `id` in the first of `wanted` that presets are written in, else in
/// English; `None` if there is no such preset.
pub fn text(id: &str, wanted: &[Option<Lang>]) -> Option<&'static str> {
    let (_, texts) = PRESETS.iter().find(|(p, _)| *p == id)?;
    let column = wanted
        .iter()
        .flatten()
        .find_map(|l| LANGS.iter().position(|x| x == l))
        .unwrap_or(0);
    Some(texts[column])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_language_wins_then_english() {
        assert_eq!(
            text("wrap_up", &[None, Some(Lang::Fr)]),
            Some("Veuillez conclure")
        );
        assert_eq!(
            text("wrap_up", &[Some(Lang::De), Some(Lang::Ar)]),
            Some("يُرجى الاختتام")
        );
        assert_eq!(text("time_up", &[Some(Lang::Zh)]), Some("Your time is up"));
        assert_eq!(text("nope", &[]), None);
        for (_, texts) in PRESETS {
            assert!(texts
                .iter()
                .all(|t| !t.is_empty() && t.chars().count() <= 200));
        }
    }
}
