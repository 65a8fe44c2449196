//! The interpretation desk: what the booths need beyond the floor itself — the agenda's
//! interpretation plan (handover turns, relay rules), the live floor language of a speech
//! and its time per language, each booth's handover turn, booth ↔ chair alerts, and the
//! speakers' texts sent to the booths.
//!
//! A meeting has one booth per language in `meeting.languages`; each booth interprets
//! *into* its language. A floor language without a booth (a delegate speaking
//! Portuguese) is covered by a relay rule: one booth (the *pivot*) interprets from it and
//! the other booths take relay from the pivot. These types are shared by the agenda, the
//! live state and the engine; the rules that change them live in the server's engine.

use crate::duration::Secs;
use crate::lang::Lang;
use crate::state::UnixMs;
use serde::{Deserialize, Serialize};

/// Alerts kept in the live state (the newest); every alert stays in the booth log.
pub const ALERTS_KEPT: usize = 20;
/// Longest free text a booth may send to the chair.
pub const MAX_ALERT_TEXT: usize = 200;
/// Longest text or slides URL.
pub const MAX_URL: usize = 500;
/// Most text overrides the chair may set in one meeting (a bound on state size).
pub const MAX_TEXTS: usize = 500;
/// Default length of a booth's turn before the pair hands over.
pub const DEFAULT_TURN: Secs = Secs(30 * 60);
/// Default warning before the turn ends.
pub const DEFAULT_CUE: Secs = Secs(2 * 60);

fn default_turn() -> Secs {
    DEFAULT_TURN
}

fn default_cue() -> Secs {
    DEFAULT_CUE
}

/// The agenda's `[interpretation]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpretationPlan {
    /// How long one interpreter of a booth's pair works before handing over.
    #[serde(default = "default_turn")]
    pub turn: Secs,
    /// How long before the end of a turn the booth view shows a gentle cue.
    #[serde(default = "default_cue")]
    pub cue: Secs,
    /// Which booth covers which floor language, and who takes relay from it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay: Vec<RelayRule>,
}

impl Default for InterpretationPlan {
    fn default() -> Self {
        InterpretationPlan {
            turn: DEFAULT_TURN,
            cue: DEFAULT_CUE,
            relay: Vec::new(),
        }
    }
}

/// One relay rule: while `floor` is spoken, the `pivot` booth interprets from it and the
/// `takers` take relay from the pivot booth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayRule {
    /// The floor language (often one with no booth, such as Portuguese).
    pub floor: Lang,
    /// The booth that interprets directly from it.
    pub pivot: Lang,
    /// The booths that take relay from the pivot; absent: every other booth (except the
    /// floor language's own booth, which has nothing to interpret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub takers: Vec<Lang>,
}

impl RelayRule {
    /// The booths that take relay, in `booths` order when not listed explicitly.
    pub fn takers(&self, booths: &[Lang]) -> Vec<Lang> {
        if self.takers.is_empty() {
            booths
                .iter()
                .copied()
                .filter(|b| *b != self.pivot && *b != self.floor)
                .collect()
        } else {
            self.takers.clone()
        }
    }
}

/// What one booth does while a floor language is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "duty", rename_all = "snake_case")]
pub enum BoothDuty {
    /// Interpret directly from the floor.
    Direct,
    /// Interpret directly; the other booths take relay from this one.
    Pivot,
    /// Take relay from another booth.
    Relay {
        /// The pivot booth's language.
        from: Lang,
    },
    /// The floor speaks this booth's own language: nothing to interpret.
    OwnLanguage,
}

/// The relay in force while a floor language with a relay rule is spoken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRelay {
    /// The floor language.
    pub floor: Lang,
    /// The pivot booth.
    pub pivot: Lang,
    /// The booths taking relay from the pivot.
    pub takers: Vec<Lang>,
}

/// The duty of `booth` while `floor` is spoken, given the relay in force (if any).
pub fn duty(booth: Lang, floor: Lang, relay: Option<&ActiveRelay>) -> BoothDuty {
    match relay {
        Some(r) if r.floor == floor && r.pivot == booth => BoothDuty::Pivot,
        Some(r) if r.floor == floor && r.takers.contains(&booth) => {
            BoothDuty::Relay { from: r.pivot }
        }
        _ if booth == floor => BoothDuty::OwnLanguage,
        _ => BoothDuty::Direct,
    }
}

/// One stretch of a speech in one floor language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorPart {
    /// The language spoken.
    pub language: Lang,
    /// Server time when it began.
    pub at: UnixMs,
    /// Time spoken in the speech before it began (pauses excluded, the same account as
    /// `granted_ms − remaining`), so the parts add up to the speech's spoken time.
    pub from_ms: i64,
}

/// Time spoken per language, from a speech's parts and its total spoken time; in order of
/// first use, each language once.
pub fn language_times(parts: &[FloorPart], spoken_ms: i64) -> Vec<(Lang, i64)> {
    let mut out: Vec<(Lang, i64)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let end = parts.get(i + 1).map(|n| n.from_ms).unwrap_or(spoken_ms);
        let ms = (end - p.from_ms).max(0);
        match out.iter_mut().find(|(l, _)| *l == p.language) {
            Some((_, t)) => *t += ms,
            None => out.push((p.language, ms)),
        }
    }
    out
}

/// One booth's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothState {
    /// The language the booth interprets into.
    pub language: Lang,
    /// When the current interpreter's turn began (`null` before the meeting starts and
    /// after it ends). Turn length and cue are in the agenda's `[interpretation]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_started_at: Option<UnixMs>,
    /// Handovers so far.
    pub handovers: u64,
}

/// What a booth tells the chair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoothSignal {
    /// The booth hears no floor sound.
    NoSound,
    /// The speaker is too fast to interpret.
    TooFast,
    /// Please have the speaker repeat the figure.
    RepeatFigure,
    /// The booth has not received the speaker's text.
    NoText,
    /// The booth needs a relay (nobody in it understands the floor language).
    NeedRelay,
    /// Interpretation is not coming through (the `no_interpretation` command).
    NoInterpretation,
    /// Free text only.
    Message,
}

impl BoothSignal {
    /// Every signal, in wire order.
    pub const ALL: [BoothSignal; 7] = [
        BoothSignal::NoSound,
        BoothSignal::TooFast,
        BoothSignal::RepeatFigure,
        BoothSignal::NoText,
        BoothSignal::NeedRelay,
        BoothSignal::NoInterpretation,
        BoothSignal::Message,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoothSignal::NoSound => "no_sound",
            BoothSignal::TooFast => "too_fast",
            BoothSignal::RepeatFigure => "repeat_figure",
            BoothSignal::NoText => "no_text",
            BoothSignal::NeedRelay => "need_relay",
            BoothSignal::NoInterpretation => "no_interpretation",
            BoothSignal::Message => "message",
        }
    }
}

/// A booth's alert to the chair, as kept in the live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothAlert {
    /// Unique for the meeting's life, in order.
    pub id: u64,
    /// The booth that sent it.
    pub booth: Lang,
    /// What it says.
    pub signal: BoothSignal,
    /// The booth's own words, if any (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When it was sent.
    pub at: UnixMs,
    /// When the host or moderator acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<UnixMs>,
}

/// A speaker's text or slides for the booths, set by the chair (overrides the agenda).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothText {
    /// The agenda person id of the speaker.
    pub person: String,
    /// The https URL; `null` withdraws the agenda's one.
    pub url: Option<String>,
    /// When it was set.
    pub at: UnixMs,
}

/// What the booth log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A booth asked the speaker to slow down.
    SlowDown,
    /// A booth alert (its signal says which).
    Alert,
    /// A booth's pair handed over.
    Handover,
    /// A booth corrected the floor language.
    FloorCorrected,
}

/// One entry of the booth log: everything the booths did, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothIncident {
    /// What happened.
    pub kind: IncidentKind,
    /// Which booth.
    pub booth: Lang,
    /// When.
    pub at: UnixMs,
    /// For alerts: the signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<BoothSignal>,
    /// For alerts: the alert id; for a floor correction: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<u64>,
    /// For alerts: the booth's words; for a floor correction: the language set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// For alerts: when the chair acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<UnixMs>,
    /// The floor language at the time, if someone had the floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Lang>,
}

/// The interpretation desk's live state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Interpretation {
    /// One booth per meeting language, in the agenda's order.
    #[serde(default)]
    pub booths: Vec<BoothState>,
    /// The relay in force now (the floor language has a relay rule); the host's console
    /// shows the pivot from it, each booth its instruction ([`duty`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<ActiveRelay>,
    /// The newest [`ALERTS_KEPT`] alerts, oldest first (staff and booths only).
    #[serde(default)]
    pub alerts: Vec<BoothAlert>,
    /// Next alert id.
    #[serde(default)]
    pub next_alert: u64,
    /// Texts and slides set by the chair, by person id.
    #[serde(default)]
    pub texts: Vec<BoothText>,
    /// Everything the booths did, oldest first. Kept for the report and the snapshots;
    /// never sent in a state (it grows with the meeting): clients get entries as events.
    #[serde(default)]
    pub log: Vec<BoothIncident>,
}

impl Interpretation {
    /// The state of a booth.
    pub fn booth(&self, language: Lang) -> Option<&BoothState> {
        self.booths.iter().find(|b| b.language == language)
    }

    /// The URL the booths should see for an agenda person: the chair's override, else
    /// the agenda's (`agenda_url`).
    pub fn text_for<'a>(&'a self, person: &str, agenda_url: Option<&'a str>) -> Option<&'a str> {
        match self.texts.iter().find(|t| t.person == person) {
            Some(t) => t.url.as_deref(),
            None => agenda_url,
        }
    }
}

/// Checks a text or slides URL: `https://`, a host, no spaces or control characters, at
/// most [`MAX_URL`] characters. Returns what is wrong, for a person.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        format!("{url:?} is not an https:// address: only https links are shown to the booths")
    })?;
    if url.chars().count() > MAX_URL {
        return Err(format!("the address is longer than {MAX_URL} characters"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_name = host.rsplit('@').next().unwrap_or_default();
    if host_name.is_empty() || host.contains('@') {
        return Err(format!(
            "{url:?} has no host name (or carries a user name): write https://host/path"
        ));
    }
    if let Some(c) = url
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '`'))
    {
        return Err(format!(
            "the address contains {c:?}: encode it or remove it"
        ));
    }
    Ok(())
}

/// Longest handover turn the agenda may set.
const MAX_TURN: Secs = Secs(4 * 3600);

/// The `[interpretation]` table's problems, located (called from agenda validation).
pub(crate) fn plan_problems(agenda: &crate::Agenda) -> Vec<crate::agenda::Problem> {
    use crate::agenda::{Problem, Step};
    let Some(plan) = &agenda.interpretation else {
        return Vec::new();
    };
    let booths = &agenda.meeting.languages;
    let codes = |ls: &[Lang]| ls.iter().map(|l| l.code()).collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    let at = |k: &'static str| vec![Step::Key("interpretation"), Step::Key(k)];
    if plan.turn.0 <= 0 || plan.turn > MAX_TURN {
        out.push(Problem {
            path: at("turn"),
            message: format!("a handover turn of {} is not possible", plan.turn),
            hint: Some("booths usually hand over every 20 to 30 minutes: turn = \"30m\"".into()),
        });
    }
    if plan.cue.0 < 0 || (plan.turn.0 > 0 && plan.cue >= plan.turn) {
        out.push(Problem {
            path: at("cue"),
            message: format!(
                "the handover cue ({}) must be shorter than the turn ({})",
                plan.cue, plan.turn
            ),
            hint: Some("cue = \"2m\"".into()),
        });
    }
    for (i, rule) in plan.relay.iter().enumerate() {
        let rp = |k: &'static str| {
            vec![
                Step::Key("interpretation"),
                Step::Key("relay"),
                Step::Index(i),
                Step::Key(k),
            ]
        };
        if plan.relay[..i].iter().any(|r| r.floor == rule.floor) {
            out.push(Problem {
                path: rp("floor"),
                message: format!(
                    "{} has two relay rules: one booth is pivot for a floor language",
                    rule.floor.english_name()
                ),
                hint: Some("keep one [[interpretation.relay]] per floor language".into()),
            });
        }
        if !booths.contains(&rule.pivot) {
            out.push(Problem {
                path: rp("pivot"),
                message: format!(
                    "the pivot {} ({}) has no booth: the booths are {}",
                    rule.pivot.english_name(),
                    rule.pivot,
                    codes(booths)
                ),
                hint: Some("the pivot is one of meeting.languages".into()),
            });
        }
        for (j, t) in rule.takers.iter().enumerate() {
            let tp = vec![
                Step::Key("interpretation"),
                Step::Key("relay"),
                Step::Index(i),
                Step::Key("takers"),
                Step::Index(j),
            ];
            let problem = if !booths.contains(t) {
                Some(format!(
                    "{} ({t}) has no booth: the booths are {}",
                    t.english_name(),
                    codes(booths)
                ))
            } else if *t == rule.pivot {
                Some(format!(
                    "the {t} booth is the pivot: it cannot take relay from itself"
                ))
            } else if *t == rule.floor {
                Some(format!(
                    "the {t} booth has nothing to interpret while {} is spoken",
                    t.english_name()
                ))
            } else if rule.takers[..j].contains(t) {
                Some(format!("the {t} booth is listed twice"))
            } else {
                None
            };
            if let Some(message) = problem {
                out.push(Problem {
                    path: tp,
                    message,
                    hint: Some("takers lists the other booths that relay from the pivot".into()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_with_a_host() {
        assert!(check_url("https://example.org/speech.pdf").is_ok());
        assert!(check_url("https://docs.example.org:8443/a?b=c#d").is_ok());
        for bad in [
            "http://example.org/x",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://user@example.org/",
            "https://example.org/a b",
            "https://example.org/<script>",
            "ftp://example.org",
        ] {
            assert!(check_url(bad).is_err(), "{bad} accepted");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long).is_err());
    }

    const BASE: &str = r#"
[meeting]
title = "Relay"
time_zone = "UTC"
start = "2021-01-22T15:00"
languages = ["en", "fr", "es", "ar"]

[[segment]]
id = "a"
kind = "open_floor"
title = "A"
duration = "10m"
speakers = [{ name = "Ana Souza", language = "pt" }]
"#;

    #[test]
    fn a_relay_plan_makes_its_floor_language_speakable() {
        let toml = format!(
            "{BASE}\n[interpretation]\n[[interpretation.relay]]\nfloor = \"pt\"\npivot = \"es\"\n"
        );
        let a = crate::Agenda::from_toml(&toml).expect("valid");
        let plan = a.interpretation.as_ref().unwrap();
        assert_eq!((plan.turn, plan.cue), (DEFAULT_TURN, DEFAULT_CUE));
        assert_eq!(
            a.floor_languages(),
            [Lang::En, Lang::Fr, Lang::Es, Lang::Ar, Lang::Pt]
        );
        // Without the rule, the Portuguese speaker is a located error.
        let errs = crate::Agenda::from_toml(BASE).unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "segment[0].speakers[0].language");
        assert!(errs[0].hint.as_deref().unwrap().contains("relay"));
    }

    #[test]
    fn a_bad_relay_plan_is_refused_with_every_problem_located() {
        let toml = format!(
            r#"{BASE}
[interpretation]
turn = "5h"
cue = "6h"

[[interpretation.relay]]
floor = "pt"
pivot = "de"
takers = ["fr", "fr", "zh"]

[[interpretation.relay]]
floor = "pt"
pivot = "es"
takers = ["es", "ar"]

[[interpretation.relay]]
floor = "ar"
pivot = "en"
takers = ["ar"]
"#
        );
        let errs = crate::Agenda::from_toml(&toml).unwrap_err().0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "interpretation.turn",
                "interpretation.cue",
                "interpretation.relay[0].pivot",
                "interpretation.relay[0].takers[1]",
                "interpretation.relay[0].takers[2]",
                "interpretation.relay[1].floor",
                "interpretation.relay[1].takers[0]",
                "interpretation.relay[2].takers[0]",
            ],
            "{errs:#?}"
        );
        assert!(errs.iter().all(|e| e.line.is_some() && e.hint.is_some()));
        let line_of = |needle: &str| toml.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert_eq!(errs[2].line, Some(line_of(r#"pivot = "de""#)));
        assert!(errs[2].message.contains("no booth"));
    }

    #[test]
    fn duties_follow_the_relay() {
        use Lang::*;
        let relay = ActiveRelay {
            floor: Pt,
            pivot: Es,
            takers: vec![Fr, En, Ar],
        };
        assert_eq!(duty(Es, Pt, Some(&relay)), BoothDuty::Pivot);
        assert_eq!(duty(Fr, Pt, Some(&relay)), BoothDuty::Relay { from: Es });
        assert_eq!(duty(Ar, Pt, Some(&relay)), BoothDuty::Relay { from: Es });
        assert_eq!(duty(Fr, Fr, None), BoothDuty::OwnLanguage);
        assert_eq!(duty(En, Fr, None), BoothDuty::Direct);
        // A relay for another floor language does not apply.
        assert_eq!(duty(Fr, En, Some(&relay)), BoothDuty::Direct);
    }

    #[test]
    fn default_takers_are_the_other_booths() {
        use Lang::*;
        let rule = RelayRule {
            floor: Ar,
            pivot: En,
            takers: vec![],
        };
        assert_eq!(rule.takers(&[En, Fr, Es, Ar]), vec![Fr, Es]);
    }

    #[test]
    fn language_times_add_up_to_the_speech() {
        use Lang::*;
        let parts = [
            FloorPart {
                language: Fr,
                at: 0,
                from_ms: 0,
            },
            FloorPart {
                language: En,
                at: 10,
                from_ms: 10_000,
            },
            FloorPart {
                language: Fr,
                at: 20,
                from_ms: 25_000,
            },
        ];
        let t = language_times(&parts, 40_000);
        assert_eq!(t, vec![(Fr, 25_000), (En, 15_000)]);
        assert_eq!(t.iter().map(|(_, ms)| ms).sum::<i64>(), 40_000);
    }
}
