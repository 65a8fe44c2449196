//! The report's interpretation section: floor time per language (pauses excluded), the
//! speeches in more than one language with each stretch, every booth incident with its
//! time (slow-downs, alerts including "no interpretation", handovers, floor-language
//! corrections), and per-booth counts. Built from the speeches' floor parts and the booth
//! log, which the live state keeps in full for this purpose.

use super::{SpeechReport, Stamp};
use podium_protocol::booth::{language_times, BoothIncident, FloorPart, IncidentKind};
use podium_protocol::{Agenda, Lang, MeetingState, UnixMs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Time spoken in one language within one speech.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechLanguage {
    /// The floor language.
    pub language: Lang,
    /// Time spoken in it, pauses excluded.
    pub spoken_ms: i64,
}

/// One stretch of a speech in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartReport {
    /// The floor language.
    pub language: Lang,
    /// When the stretch began.
    pub from: Stamp,
    /// Time spoken in the stretch, pauses excluded.
    pub spoken_ms: i64,
}

/// A speech that switched language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchedSpeech {
    /// Its place in `speeches`, 1-based (the CSV's `n`).
    pub n: usize,
    /// Segment id.
    pub segment: String,
    /// Speaker.
    pub name: String,
    /// Each stretch, in order.
    pub parts: Vec<PartReport>,
}

/// One booth incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// `slow_down`, `handover`, `floor_corrected`, or the alert's signal (`no_sound`,
    /// `too_fast`, `repeat_figure`, `no_text`, `need_relay`, `no_interpretation`,
    /// `message`).
    pub kind: String,
    /// The booth.
    pub booth: Lang,
    /// When.
    pub at: Stamp,
    /// The floor language at the time (`null` when nobody had the floor).
    pub floor: Option<Lang>,
    /// The booth's words (alerts), or the language it set (floor corrections).
    pub text: Option<String>,
    /// For alerts: when the chair acknowledged it (`null` if never).
    pub acknowledged_at: Option<Stamp>,
}

/// One booth's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothReport {
    /// The booth.
    pub booth: Lang,
    /// Slow-down requests to the speaker.
    pub slow_downs: u64,
    /// "No interpretation" alerts.
    pub no_interpretation: u64,
    /// Alerts to the chair of any kind (including "no interpretation").
    pub alerts: u64,
    /// Of which acknowledged.
    pub acknowledged: u64,
    /// Handovers.
    pub handovers: u64,
    /// Floor-language corrections.
    pub floor_corrections: u64,
}

impl BoothReport {
    fn new(booth: Lang) -> BoothReport {
        BoothReport {
            booth,
            slow_downs: 0,
            no_interpretation: 0,
            alerts: 0,
            acknowledged: 0,
            handovers: 0,
            floor_corrections: 0,
        }
    }
}

/// The interpretation section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterpretationReport {
    /// Time spoken in each floor language, pauses excluded; every booth language is
    /// listed, spoken or not, and any other language that was spoken.
    pub floor_ms: BTreeMap<Lang, i64>,
    /// Speeches in more than one language.
    pub switched: Vec<SwitchedSpeech>,
    /// One entry per booth, in the agenda's order.
    pub booths: Vec<BoothReport>,
    /// Every booth incident, oldest first.
    pub incidents: Vec<IncidentReport>,
}

/// The parts of a speech, or one part in `language` for records older than floor parts.
fn parts_or(floor: &[FloorPart], language: Lang, started_at: UnixMs) -> Vec<FloorPart> {
    if floor.is_empty() {
        vec![FloorPart {
            language,
            at: started_at,
            from_ms: 0,
        }]
    } else {
        floor.to_vec()
    }
}

/// Every speech's floor parts, in `speeches` order (history, then the one in progress).
pub fn speech_parts(state: &MeetingState) -> Vec<Vec<FloorPart>> {
    let mut out: Vec<Vec<FloorPart>> = state
        .history
        .iter()
        .map(|r| parts_or(&r.floor, r.speaker.language, r.started_at))
        .collect();
    if let Some(s) = &state.speech {
        out.push(parts_or(&s.floor, s.speaker.language, s.started_at));
    }
    out
}

/// Time per language of one speech.
pub fn languages(parts: &[FloorPart], spoken_ms: i64) -> Vec<SpeechLanguage> {
    language_times(parts, spoken_ms)
        .into_iter()
        .map(|(language, spoken_ms)| SpeechLanguage {
            language,
            spoken_ms,
        })
        .collect()
}

fn kind(i: &BoothIncident) -> String {
    match (i.kind, i.signal) {
        (IncidentKind::Alert, Some(s)) => s.as_str().to_string(),
        (k, _) => match serde_json::to_value(k) {
            Ok(serde_json::Value::String(s)) => s,
            _ => String::new(),
        },
    }
}

/// The section, from the speeches already built (with their parts) and the booth log.
pub fn build(
    agenda: &Agenda,
    state: &MeetingState,
    speeches: &[SpeechReport],
    parts: &[Vec<FloorPart>],
    at: impl Fn(UnixMs) -> Stamp,
) -> InterpretationReport {
    let mut floor_ms: BTreeMap<Lang, i64> =
        agenda.meeting.languages.iter().map(|l| (*l, 0)).collect();
    let mut switched = Vec::new();
    for (i, (s, p)) in speeches.iter().zip(parts).enumerate() {
        for l in &s.languages {
            *floor_ms.entry(l.language).or_default() += l.spoken_ms;
        }
        if p.len() > 1 {
            switched.push(SwitchedSpeech {
                n: i + 1,
                segment: s.segment.clone(),
                name: s.name.clone(),
                parts: p
                    .iter()
                    .enumerate()
                    .map(|(j, part)| PartReport {
                        language: part.language,
                        from: at(part.at),
                        spoken_ms: p.get(j + 1).map(|n| n.from_ms).unwrap_or(s.spoken_ms)
                            - part.from_ms,
                    })
                    .collect(),
            });
        }
    }
    let log = &state.interpretation.log;
    let mut booths: Vec<BoothReport> = agenda
        .meeting
        .languages
        .iter()
        .map(|l| BoothReport::new(*l))
        .collect();
    for i in log {
        // A booth the agenda no longer has (languages edited) still gets its line.
        let k = match booths.iter().position(|b| b.booth == i.booth) {
            Some(k) => k,
            None => {
                booths.push(BoothReport::new(i.booth));
                booths.len() - 1
            }
        };
        let b = &mut booths[k];
        match i.kind {
            IncidentKind::SlowDown => b.slow_downs += 1,
            IncidentKind::Handover => b.handovers += 1,
            IncidentKind::FloorCorrected => b.floor_corrections += 1,
            IncidentKind::Alert => {
                b.alerts += 1;
                b.acknowledged += u64::from(i.acknowledged_at.is_some());
                b.no_interpretation +=
                    u64::from(i.signal == Some(podium_protocol::BoothSignal::NoInterpretation));
            }
        }
    }
    let incidents = log
        .iter()
        .map(|i| IncidentReport {
            kind: kind(i),
            booth: i.booth,
            at: at(i.at),
            floor: i.floor,
            text: i.text.clone(),
            acknowledged_at: i.acknowledged_at.map(&at),
        })
        .collect();
    InterpretationReport {
        floor_ms,
        switched,
        booths,
        incidents,
    }
}
