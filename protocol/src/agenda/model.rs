//! The agenda's types: a meeting ([`MeetingInfo`]) and its segments in running order,
//! the people named in them, and what can be read off them directly (ids, people, floor
//! languages). Serde's attributes here are the agenda's written form, TOML or JSON.

use crate::booth::InterpretationPlan;
use crate::duration::Secs;
use crate::lang::Lang;
use serde::{Deserialize, Serialize};

/// A whole meeting plan: the meeting itself and its segments in running order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agenda {
    /// Title, zone, start and the meeting-wide settings.
    pub meeting: MeetingInfo,
    /// The segments in running order. Called `segment` so that TOML reads `[[segment]]`.
    #[serde(rename = "segment", default)]
    pub segments: Vec<Segment>,
    /// The interpretation desk's plan: handover turns and relay rules (`[interpretation]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpretation: Option<InterpretationPlan>,
}

/// What is true of the whole meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingInfo {
    /// A short stable id (letters, digits, '-'), used in URLs. Derived from the title if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The meeting's title as shown on every screen.
    pub title: String,
    /// A second line, e.g. the organiser and the kind of meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// IANA time zone in which the agenda's times are written (e.g. "Europe/Paris").
    pub time_zone: String,
    /// Planned start, local to `time_zone`, as "YYYY-MM-DDTHH:MM".
    pub start: String,
    /// The languages interpreted in the meeting, one booth each; every floor language must
    /// be one of them or be covered by a relay rule of `[interpretation]`.
    pub languages: Vec<Lang>,
    /// The language the agenda's `*_original` texts are in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_language: Option<Lang>,
    /// Default per-speech limit where a segment sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_limit: Option<Secs>,
    /// Whether observers may raise a hand (the host can change it live).
    #[serde(default)]
    pub observers_may_raise_hand: bool,
    /// Whether the next segment starts by itself when a segment's time is up.
    #[serde(default)]
    pub auto_advance: bool,
    /// After lowering a hand, how long a participant waits before raising one again
    /// (default 5 s; "0s" turns it off): one person cannot make every screen redraw
    /// several times a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_cooldown: Option<Secs>,
    /// The coordinator who hosts the meeting (has every right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Person>,
    /// Remaining time at which a clock turns "warning" (amber, "wrap up"): the stage
    /// timers' first cue. Segments may override it. Default one minute.
    #[serde(default = "default_warning")]
    pub warning: Secs,
    /// Remaining time at which a clock turns "danger" (red). Default zero: red at the end.
    #[serde(default)]
    pub danger: Secs,
    /// Whether screens flash gently when a clock crosses a threshold and at overtime.
    #[serde(default = "yes")]
    pub flash: bool,
    /// Whether the shared join links admit people (the host can switch it live). A closed
    /// meeting sets it to `false` and admits only delegates invited with personal links.
    #[serde(default = "yes")]
    pub join_links: bool,
}

fn default_warning() -> Secs {
    Secs(60)
}

fn yes() -> bool {
    true
}

/// What a segment is for; it decides which screens and controls make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Opening words and session mechanics.
    Intro,
    /// Welcome words from a dignitary.
    Welcome,
    /// A moderated round with named speakers and a guiding question.
    Round,
    /// Open conversation: the speaking queue is the main instrument.
    OpenFloor,
    /// Closing remarks.
    Closing,
    /// A pause.
    Break,
}

impl SegmentKind {
    /// Every kind, for hints.
    pub const NAMES: &'static str = "intro, welcome, round, open_floor, closing, break";
}

/// One timed part of the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Unique within the agenda; used to jump to it and in reports.
    pub id: String,
    /// What kind of segment it is.
    pub kind: SegmentKind,
    /// Title in the meeting's working language (English in the seed).
    pub title: String,
    /// The title in the agenda's original language, if translated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_original: Option<String>,
    /// The guiding question put to the speakers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The guiding question in the original language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_original: Option<String>,
    /// Planned length.
    pub duration: Secs,
    /// Per-speech limit in this segment; falls back to the meeting's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_limit: Option<Secs>,
    /// The person who moderates this segment (gets moderator rights during it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderator: Option<Person>,
    /// Named speakers, in planned order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<Person>,
    /// Named reaction speakers, heard after the speakers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Person>,
    /// This segment's "warning" threshold, overriding the meeting's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Secs>,
    /// This segment's "danger" threshold, overriding the meeting's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danger: Option<Secs>,
}

/// A named person of the agenda: a host, moderator, speaker or reaction speaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Stable id (derived from the name if absent); the same person in two segments
    /// shares it, which is how one moderator link covers all their segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name as it should appear on screens.
    pub name: String,
    /// Title or function, e.g. "Mayor of Sala".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Organisation or government.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
    /// Country, where it helps the audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The language they will speak in (the floor language), for the booths.
    pub language: Lang,
    /// An https link to their text or slides, shown in every booth view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_url: Option<String>,
}

impl Person {
    /// The person's id: the explicit one or a slug of the name (never empty).
    pub fn key(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| crate::slug::id_for(&self.name, "person"))
    }
}

/// Lower-case ASCII slug: "Cécile Riallant" → "cecile-riallant" (see
/// [`crate::slug::slug`]: Greek, Cyrillic and Arabic are transliterated too).
pub fn slug(text: &str) -> String {
    crate::slug::slug(text)
}

impl Agenda {
    /// The languages that may be spoken on the floor: the booths' (`meeting.languages`)
    /// and those a relay rule covers, booths first.
    pub fn floor_languages(&self) -> Vec<Lang> {
        let mut out = self.meeting.languages.clone();
        for r in self.interpretation.iter().flat_map(|p| &p.relay) {
            if !out.contains(&r.floor) {
                out.push(r.floor);
            }
        }
        out
    }

    /// The meeting's id: the explicit one or a slug of the title (never empty: see
    /// [`crate::slug::id_for`]).
    pub fn meeting_id(&self) -> String {
        self.meeting
            .id
            .clone()
            .unwrap_or_else(|| crate::slug::id_for(&self.meeting.title, "meeting"))
    }

    /// A person named anywhere in the agenda, by id.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people().find(|p| p.key() == id)
    }

    /// Every person named in the agenda, host first, in document order (may repeat).
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.meeting
            .host
            .iter()
            .chain(self.segments.iter().flat_map(|s| {
                s.moderator
                    .iter()
                    .chain(s.speakers.iter())
                    .chain(s.reactions.iter())
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_strip_accents_and_punctuation() {
        assert_eq!(slug("Cécile Riallant"), "cecile-riallant");
        assert_eq!(
            slug("Jeniffer Villarreal de Hoyos"),
            "jeniffer-villarreal-de-hoyos"
        );
        assert_eq!(slug("  Felipe Muñoz (IDB) "), "felipe-munoz-idb");
        assert_eq!(slug("António Vitorino"), "antonio-vitorino");
    }
}
