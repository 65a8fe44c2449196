//! The agenda model: a meeting and its ordered, timed segments, as people write it (TOML)
//! and as the HTTP API takes it (JSON), with validation that names where each problem is.
//!
//! Parsing is two steps: serde turns text into [`Agenda`] (type errors come back with the
//! parser's own location), then [`Agenda::validate`] checks the rules a type cannot say
//! (unique ids, positive durations, known time zone…) and reports each problem with a
//! path such as `segment[3].duration`. For TOML the path is resolved to a line and column.

use crate::booth::InterpretationPlan;
use crate::duration::Secs;
use crate::lang::Lang;
use chrono::{NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

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

/// One problem found in an agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaError {
    /// Where in the document, e.g. `segment[3].duration` (empty for the whole file).
    pub path: String,
    /// 1-based line in the source text, where it could be found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column in the source text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for AgendaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Every problem found in an agenda, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the agenda: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct AgendaErrors(pub Vec<AgendaError>);

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(&'static str),
    Index(usize),
}

fn path_text(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

pub(crate) struct Problem {
    pub(crate) path: Vec<Step>,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl Agenda {
    /// Parses and validates a TOML agenda; errors carry line and column.
    pub fn from_toml(text: &str) -> Result<Agenda, AgendaErrors> {
        let doc = match toml_edit::ImDocument::parse(text.to_string()) {
            Ok(d) => d,
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
                return Err(AgendaErrors(vec![AgendaError {
                    path: table_at(text, line.unwrap_or(usize::MAX)),
                    line,
                    column,
                    message: format!("not valid TOML: {}", first_line(e.message())),
                    hint: Some("check quotes, brackets and `key = value` pairs near here".into()),
                }]));
            }
        };
        let agenda: Agenda =
            match serde_path_to_error::deserialize(toml::de::Deserializer::new(text)) {
                Ok(a) => a,
                Err(e) => {
                    let path = located_path(e.path());
                    let e = e.into_inner();
                    let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
                    let msg = first_line(e.message()).to_string();
                    let hint = Some(type_hint(&msg).unwrap_or_else(default_hint));
                    return Err(AgendaErrors(vec![AgendaError {
                        path,
                        line,
                        column,
                        message: msg,
                        hint,
                    }]));
                }
            };
        match agenda.problems() {
            problems if problems.is_empty() => Ok(agenda),
            problems => Err(AgendaErrors(
                problems
                    .into_iter()
                    .map(|p| {
                        let (line, column) =
                            locate(&doc, &p.path).map(|at| line_col(text, at)).unzip();
                        AgendaError {
                            path: path_text(&p.path),
                            line,
                            column,
                            message: p.message,
                            hint: p.hint,
                        }
                    })
                    .collect(),
            )),
        }
    }

    /// Parses and validates a JSON agenda (the HTTP API's form); errors carry paths.
    pub fn from_json(text: &str) -> Result<Agenda, AgendaErrors> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let agenda: Agenda = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = located_path(e.path());
            let e = e.into_inner();
            let msg = e.to_string();
            AgendaErrors(vec![AgendaError {
                path,
                line: Some(e.line()),
                column: Some(e.column()),
                hint: Some(type_hint(&msg).unwrap_or_else(|| {
                    if e.is_syntax() || e.is_eof() {
                        "check the JSON near here: quotes, commas and brackets".into()
                    } else {
                        default_hint()
                    }
                })),
                message: msg,
            }])
        })?;
        agenda.validate()?;
        Ok(agenda)
    }

    /// Checks the rules that the types cannot express.
    pub fn validate(&self) -> Result<(), AgendaErrors> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(AgendaErrors(
            problems
                .into_iter()
                .map(|p| AgendaError {
                    path: path_text(&p.path),
                    line: None,
                    column: None,
                    message: p.message,
                    hint: p.hint,
                })
                .collect(),
        ))
    }

    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |path: Vec<Step>, message: String, hint: Option<&str>| {
            out.push(Problem {
                path,
                message,
                hint: hint.map(str::to_string),
            })
        };
        let m = &self.meeting;
        let mp = |k: &'static str| vec![Step::Key("meeting"), Step::Key(k)];
        if m.title.trim().is_empty() {
            push(
                mp("title"),
                "the meeting has no title".into(),
                Some("title = \"…\""),
            );
        }
        if let Some(id) = &m.id {
            if !valid_id(id) {
                push(
                    mp("id"),
                    format!("meeting id {id:?} may hold only a-z, 0-9 and '-'"),
                    Some("e.g. id = \"mayors-2021-01\""),
                );
            }
        }
        let tz = m.time_zone.parse::<chrono_tz::Tz>();
        if tz.is_err() {
            push(
                mp("time_zone"),
                format!("unknown time zone {:?}", m.time_zone),
                Some("use an IANA name such as \"Europe/Paris\" or \"America/New_York\""),
            );
        }
        if NaiveDateTime::parse_from_str(&m.start, "%Y-%m-%dT%H:%M").is_err() {
            push(
                mp("start"),
                format!("start {:?} is not a local date and time", m.start),
                Some("write it as \"2021-01-22T16:00\", in the meeting's time zone"),
            );
        }
        if m.languages.is_empty() {
            push(
                mp("languages"),
                "the meeting lists no language".into(),
                Some("languages = [\"en\", \"fr\"]"),
            );
        }
        if let Some(l) = m.speech_limit {
            if l.0 <= 0 {
                push(
                    mp("speech_limit"),
                    "speech limit must be more than zero".into(),
                    None,
                );
            }
        }
        if let Some(c) = m.hand_cooldown {
            if !(0..=600).contains(&c.0) {
                push(
                    mp("hand_cooldown"),
                    format!("a hand cooldown of {c} is not possible: 0s to 10m"),
                    Some("hand_cooldown = \"5s\" (\"0s\" turns it off)"),
                );
            }
        }
        let floor = self.floor_languages();
        if m.warning.0 < 0 || m.danger.0 < 0 {
            push(
                mp(if m.warning.0 < 0 { "warning" } else { "danger" }),
                "a wrap-up threshold cannot be negative".into(),
                Some("warning = \"1m\" and danger = \"0s\" are the usual cues"),
            );
        } else if m.danger > m.warning {
            push(
                mp("danger"),
                format!(
                    "danger ({}) comes before warning ({}): the red cue must not come first",
                    m.danger, m.warning
                ),
                Some("make danger less than or equal to warning, e.g. warning = \"2m\", danger = \"30s\""),
            );
        }
        let check_person = |out: &mut Vec<Problem>, path: Vec<Step>, p: &Person| {
            if p.name.trim().is_empty() {
                let mut at = path.clone();
                at.push(Step::Key("name"));
                out.push(Problem {
                    path: at,
                    message: "a person without a name".into(),
                    hint: Some("name = \"…\" as it should show on screens".into()),
                });
            }
            if let Some(url) = &p.text_url {
                if let Err(problem) = crate::booth::check_url(url) {
                    let mut at = path.clone();
                    at.push(Step::Key("text_url"));
                    out.push(Problem {
                        path: at,
                        message: problem,
                        hint: Some("text_url = \"https://…\"".into()),
                    });
                }
            }
            if !m.languages.is_empty() && !floor.contains(&p.language) {
                let mut at = path.clone();
                at.push(Step::Key("language"));
                out.push(Problem {
                    path: at,
                    message: format!(
                        "{} speaks {} ({}), which is not one of the meeting's languages ({})",
                        if p.name.is_empty() {
                            "this person"
                        } else {
                            &p.name
                        },
                        p.language.english_name(),
                        p.language,
                        floor
                            .iter()
                            .map(|l| l.code())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    hint: Some(
                        "add it to meeting.languages, or a relay rule for it in [interpretation], or correct the code"
                            .into(),
                    ),
                });
            }
        };
        if let Some(h) = &m.host {
            check_person(&mut out, mp("host"), h);
        }
        if self.segments.is_empty() {
            out.push(Problem {
                path: vec![],
                message: "the agenda has no segment".into(),
                hint: Some("add [[segment]] tables, one per part of the meeting".into()),
            });
        }
        let mut seen = HashSet::new();
        for (i, s) in self.segments.iter().enumerate() {
            let sp = |k: &'static str| vec![Step::Key("segment"), Step::Index(i), Step::Key(k)];
            if s.id.trim().is_empty() || !valid_id(&s.id) {
                out.push(Problem {
                    path: sp("id"),
                    message: format!("segment id {:?} must be non-empty a-z, 0-9 and '-'", s.id),
                    hint: Some("e.g. id = \"round-1\"".into()),
                });
            } else if !seen.insert(s.id.as_str()) {
                out.push(Problem {
                    path: sp("id"),
                    message: format!("segment id {:?} is used twice", s.id),
                    hint: Some("every segment needs its own id".into()),
                });
            }
            if s.title.trim().is_empty() {
                out.push(Problem {
                    path: sp("title"),
                    message: "segment has no title".into(),
                    hint: Some("title = \"…\"".into()),
                });
            }
            if s.duration.0 <= 0 {
                out.push(Problem {
                    path: sp("duration"),
                    message: format!("duration must be more than zero, not {}", s.duration),
                    hint: Some("write a duration such as \"20m\" or \"90s\"".into()),
                });
            }
            if let Some(l) = s.speech_limit {
                if l.0 <= 0 {
                    out.push(Problem {
                        path: sp("speech_limit"),
                        message: "speech limit must be more than zero".into(),
                        hint: Some("e.g. speech_limit = \"3m\"".into()),
                    });
                }
            }
            let (warning, danger) = (s.warning.unwrap_or(m.warning), s.danger.unwrap_or(m.danger));
            if s.warning.is_some_and(|w| w.0 < 0) || s.danger.is_some_and(|d| d.0 < 0) {
                out.push(Problem {
                    path: sp(if s.warning.is_some_and(|w| w.0 < 0) {
                        "warning"
                    } else {
                        "danger"
                    }),
                    message: "a wrap-up threshold cannot be negative".into(),
                    hint: Some("e.g. warning = \"2m\"".into()),
                });
            } else if (s.warning.is_some() || s.danger.is_some()) && danger > warning {
                out.push(Problem {
                    path: sp(if s.danger.is_some() {
                        "danger"
                    } else {
                        "warning"
                    }),
                    message: format!(
                        "in this segment danger ({danger}) comes before warning ({warning})"
                    ),
                    hint: Some("make danger less than or equal to warning".into()),
                });
            }
            if let Some(p) = &s.moderator {
                check_person(&mut out, sp("moderator"), p);
            }
            for (key, list) in [("speakers", &s.speakers), ("reactions", &s.reactions)] {
                for (j, p) in list.iter().enumerate() {
                    let path = vec![
                        Step::Key("segment"),
                        Step::Index(i),
                        Step::Key(key),
                        Step::Index(j),
                    ];
                    check_person(&mut out, path, p);
                }
            }
        }
        out.extend(crate::booth::plan_problems(self));
        out.extend(crate::limits::agenda_problems(self));
        out
    }

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

    /// The meeting's time zone (UTC if the agenda was not validated).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.meeting.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Planned start as Unix milliseconds (0 if the agenda was not validated).
    pub fn planned_start_ms(&self) -> i64 {
        let Ok(naive) = NaiveDateTime::parse_from_str(&self.meeting.start, "%Y-%m-%dT%H:%M") else {
            return 0;
        };
        self.tz()
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }

    /// Planned start of each segment, Unix ms, in order, plus the planned end at the end.
    pub fn planned_starts_ms(&self) -> Vec<i64> {
        let mut at = self.planned_start_ms();
        let mut out = Vec::with_capacity(self.segments.len() + 1);
        for s in &self.segments {
            out.push(at);
            at += s.duration.ms();
        }
        out.push(at);
        out
    }

    /// The speech limit in force in segment `i`, in ms.
    pub fn speech_limit_ms(&self, i: usize) -> Option<i64> {
        self.segments
            .get(i)
            .and_then(|s| s.speech_limit)
            .or(self.meeting.speech_limit)
            .map(Secs::ms)
    }

    /// The wrap-up thresholds of segment `i` in ms: (warning, danger), the segment's own
    /// or the meeting's.
    pub fn thresholds_ms(&self, i: usize) -> (i64, i64) {
        let s = self.segments.get(i);
        (
            s.and_then(|s| s.warning)
                .unwrap_or(self.meeting.warning)
                .ms(),
            s.and_then(|s| s.danger).unwrap_or(self.meeting.danger).ms(),
        )
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

    /// A one-screen summary: the segments with planned times in the meeting's zone.
    pub fn summary(&self) -> String {
        let tz = self.tz();
        let starts = self.planned_starts_ms();
        let fmt_t = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                .unwrap_or_default()
        };
        let zone = chrono::DateTime::from_timestamp_millis(starts[0])
            .map(|t| t.with_timezone(&tz).format("%Z").to_string())
            .unwrap_or_default();
        let mut out = String::new();
        out.push_str(&format!("{}\n", self.meeting.title));
        if let Some(s) = &self.meeting.subtitle {
            out.push_str(&format!("{s}\n"));
        }
        out.push_str(&format!(
            "{} {} ({}), languages: {}\n\n",
            self.meeting.start.replace('T', " "),
            zone,
            self.meeting.time_zone,
            self.meeting
                .languages
                .iter()
                .map(|l| l.code())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (i, s) in self.segments.iter().enumerate() {
            let who = s
                .moderator
                .iter()
                .chain(s.speakers.iter())
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut title = s.title.clone();
            if title.chars().count() > 48 {
                title = title.chars().take(47).collect::<String>() + "…";
            }
            out.push_str(&format!(
                "{:>2}. {}–{} {:>6}  {:<10} {:<48} {}\n",
                i + 1,
                fmt_t(starts[i]),
                fmt_t(starts[i + 1]),
                s.duration.to_string(),
                format!("{:?}", s.kind).to_lowercase(),
                title,
                who
            ));
        }
        let total = Secs((starts[self.segments.len()] - starts[0]) / 1000);
        out.push_str(&format!(
            "\n{} segments, {}–{} {}, total {}\n",
            self.segments.len(),
            fmt_t(starts[0]),
            fmt_t(starts[self.segments.len()]),
            zone,
            total
        ));
        out
    }
}

/// A serde path in the agenda's own form (`segment[3].duration`), `""` for the top.
fn located_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." {
        String::new()
    } else {
        p
    }
}

fn default_hint() -> String {
    "compare with agendas/gfmd-mayors-2021-01-22.toml, a complete example".into()
}

/// The table a TOML line belongs to (`meeting`, `segment[2]`), for syntax errors that
/// stop the parser before any path exists.
fn table_at(text: &str, line: usize) -> String {
    let mut path = String::new();
    let mut arrays: std::collections::HashMap<String, usize> = Default::default();
    for l in text.lines().take(line) {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let i = arrays.entry(name.trim().to_string()).or_insert(0);
            path = format!("{}[{i}]", name.trim());
            *i += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            path = name.trim().to_string();
        }
    }
    path
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn type_hint(msg: &str) -> Option<String> {
    if msg.contains("SegmentKind") || msg.contains("intro`, `welcome`") {
        Some(format!("kind is one of {}", SegmentKind::NAMES))
    } else if msg.contains("variant") && (msg.contains("`ar`") || msg.contains("`en`")) {
        Some("language codes: ar, de, en, es, fr, it, pt, ru, sv, zh".into())
    } else if msg.contains("missing field") {
        Some("add the field named above".into())
    } else if msg.contains("unknown field") {
        Some("check the spelling against agendas/gfmd-mayors-2021-01-22.toml".into())
    } else {
        None
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Finds the byte offset of the item at `path`, or of its closest ancestor that exists.
fn locate(doc: &toml_edit::ImDocument<String>, path: &[Step]) -> Option<usize> {
    use toml_edit::{Item, Value};
    let mut best: Option<usize> = None;
    let mut item: Option<&Item> = None;
    let mut table: Option<&dyn toml_edit::TableLike> = Some(doc.as_table());
    let mut value: Option<&Value> = None;
    for step in path {
        match step {
            Step::Key(k) => {
                if let Some(t) = table {
                    if let Some((key, it)) = t.get_key_value(k) {
                        best = key.span().map(|s| s.start).or(best);
                        item = Some(it);
                        value = it.as_value();
                        table = it.as_table_like();
                        continue;
                    }
                }
                return best;
            }
            Step::Index(i) => {
                if let Some(Item::ArrayOfTables(a)) = item {
                    if let Some(t) = a.get(*i) {
                        best = t.span().map(|s| s.start).or(best);
                        table = Some(t);
                        item = None;
                        value = None;
                        continue;
                    }
                }
                if let Some(Value::Array(a)) = value {
                    if let Some(v) = a.get(*i) {
                        best = v.span().map(|s| s.start).or(best);
                        table = v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike);
                        value = Some(v);
                        item = None;
                        continue;
                    }
                }
                return best;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../agendas/gfmd-mayors-2021-01-22.toml");

    #[test]
    fn seed_agenda_parses_with_its_people_and_questions() {
        let a = Agenda::from_toml(SEED).expect("seed agenda is valid");
        assert_eq!(a.meeting_id(), "gfmd-mayors-2021-01-22");
        assert_eq!(a.segments.len(), 7);
        assert_eq!(a.planned_start_ms(), 1_611_327_600_000);
        let starts = a.planned_starts_ms();
        assert_eq!(starts[7] - starts[0], 2 * 3600 * 1000);
        let rounds: Vec<_> = a
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Round)
            .collect();
        assert_eq!(rounds.len(), 3);
        assert!(rounds
            .iter()
            .all(|r| r.question.is_some() && r.question_original.is_some()));
        assert_eq!(
            a.person("cecile-riallant").map(|p| p.name.as_str()),
            Some("Cécile Riallant")
        );
        assert_eq!(a.person("emilia-saiz").map(|p| p.language), Some(Lang::Es));
        assert_eq!(a.speech_limit_ms(0), Some(240_000));
        assert_eq!(a.speech_limit_ms(2), Some(300_000));
    }

    #[test]
    fn json_round_trip_and_json_errors_carry_paths() {
        let a = Agenda::from_toml(SEED).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(Agenda::from_json(&json).unwrap(), a);
        let mut bad = a.clone();
        bad.segments[3].duration = Secs(0);
        bad.segments[4].id = "round-1".into();
        let errs = Agenda::from_json(&serde_json::to_string(&bad).unwrap())
            .unwrap_err()
            .0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["segment[3].duration", "segment[4].id"]);
        assert!(errs.iter().all(|e| e.line.is_none() && e.hint.is_some()));
        let syntax = Agenda::from_json("{\"meeting\": ").unwrap_err().0;
        assert_eq!(syntax.len(), 1);
        assert_eq!(syntax[0].line, Some(1));
    }

    #[test]
    fn toml_syntax_errors_are_located() {
        let errs = Agenda::from_toml("[meeting]\ntitle = \"x\nstart = 1\n")
            .unwrap_err()
            .0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(2));
        assert!(errs[0].message.starts_with("not valid TOML"));
    }

    #[test]
    fn syntax_and_type_errors_carry_a_path_and_a_hint() {
        // A value of the wrong type in the second segment.
        let bad = SEED.replacen("duration = \"5m\"", "duration = true", 2);
        let bad = bad.replacen("duration = true", "duration = \"5m\"", 1);
        let e = &Agenda::from_toml(&bad).unwrap_err().0[0];
        assert_eq!(e.path, "segment[1].duration", "{e}");
        assert!(e.hint.is_some() && e.line.is_some(), "{e}");
        // A TOML syntax error inside the third segment.
        let broken = SEED.replacen("id = \"round-1\"", "id = \"round-1", 1);
        let e = &Agenda::from_toml(&broken).unwrap_err().0[0];
        assert_eq!(e.path, "segment[2]", "{e}");
        assert!(e.hint.is_some());
        // JSON: an unknown kind, and a syntax error.
        let a = Agenda::from_toml(SEED).unwrap();
        let mut v = serde_json::to_value(&a).unwrap();
        v["segment"][4]["kind"] = "roundtable".into();
        let e = &Agenda::from_json(&v.to_string()).unwrap_err().0[0];
        assert_eq!(e.path, "segment[4].kind", "{e}");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("open_floor")),
            "{e}"
        );
        let e = &Agenda::from_json("{\"meeting\": {\"title\": ")
            .unwrap_err()
            .0[0];
        assert!(e.hint.is_some(), "{e}");
    }

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
