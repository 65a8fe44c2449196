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

use crate::lang::Lang;
use crate::state::UnixMs;
use serde::{Deserialize, Serialize};

mod plan;
pub(crate) use plan::plan_problems;
pub use plan::{InterpretationPlan, RelayRule, DEFAULT_CUE, DEFAULT_TURN};

/// Alerts kept in the live state (the newest); every alert stays in the booth log.
pub const ALERTS_KEPT: usize = 20;
/// Longest free text a booth may send to the chair.
pub const MAX_ALERT_TEXT: usize = 200;
/// Longest text or slides URL.
pub const MAX_URL: usize = 500;
/// Most text overrides the chair may set in one meeting (a bound on state size).
pub const MAX_TEXTS: usize = 500;
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
