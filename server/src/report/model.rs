//! The report's rows, as JSON and CSV give them: the meeting, its segments, speeches,
//! hands, edits and statistics, each time a [`Stamp`] (Unix ms and local time). Plain data;
//! `super::Report::build` fills them and `table` lays them out as CSV.

use super::interp;
use crate::hub::HubError;
use chrono::TimeZone;
use podium_protocol::{HandId, HandOutcome, Lang, ParticipantId, Phase, SegmentKind, UnixMs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The meeting could not be loaded.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// A format other than `json` or `csv` was asked for.
    #[error("unknown report format {0:?}: use \"json\" or \"csv\"")]
    Format(String),
    /// The JSON encoder failed.
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The CSV encoder failed.
    #[error("cannot encode the report as CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// A point in time, for programs and for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Unix milliseconds, server clock.
    pub unix_ms: UnixMs,
    /// ISO-8601 in the meeting's time zone, with its offset; milliseconds only if any.
    pub local: String,
}

impl Stamp {
    /// `ms` seen from the zone `tz`.
    pub fn new(ms: UnixMs, tz: chrono_tz::Tz) -> Stamp {
        let local = match tz.timestamp_millis_opt(ms).single() {
            Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
            None => String::new(),
        };
        Stamp { unix_ms: ms, local }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The meeting as a whole.
    pub meeting: MeetingReport,
    /// One entry per agenda segment, in agenda order.
    pub segments: Vec<SegmentReport>,
    /// Every speech, oldest first; the one in progress (if any) last.
    pub speeches: Vec<SpeechReport>,
    /// Speaking totals, also per floor language (what the booths had to cover).
    pub speaking: SpeakingStats,
    /// The speaking queue's figures.
    pub queue: QueueStats,
    /// Every hand ever raised, in the order raised (hand id order).
    pub hands: Vec<HandReport>,
    /// Floor time per language, speeches that switched language, booth incidents.
    pub interpretation: interp::InterpretationReport,
    /// The agenda edits made during the meeting, oldest first (the segments above are
    /// the agenda as edited).
    pub edits: Vec<EditReport>,
}

/// One accepted agenda edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditReport {
    /// When.
    pub at: Stamp,
    /// The agenda version it made.
    pub version: u64,
    /// What changed, one line per operation.
    pub changes: Vec<String>,
}

/// The meeting as a whole: planned versus actual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingReport {
    /// Meeting id.
    pub id: String,
    /// Title.
    pub title: String,
    /// IANA zone in which the agenda is written and the `local` times are given.
    pub time_zone: String,
    /// Before, during or after the meeting, as of `as_of`.
    pub phase: Phase,
    /// The time the report describes (its `now`); reports made during a meeting count
    /// the current segment and speech up to here.
    pub as_of: Stamp,
    /// Planned start of the first segment.
    pub planned_start: Stamp,
    /// Planned end of the last segment.
    pub planned_end: Stamp,
    /// Planned length.
    pub planned_ms: i64,
    /// When the host started it.
    pub actual_start: Option<Stamp>,
    /// When the host ended it.
    pub actual_end: Option<Stamp>,
    /// Actual length, up to `as_of` while it runs.
    pub actual_ms: Option<i64>,
    /// How late (+) or early (−) it ends, or is projected to end, against the plan.
    pub drift_ms: i64,
    /// How far the planned times were moved to the actual start (0 when the meeting
    /// started within six hours of its agenda's start). A meeting run on another day than
    /// its agenda (a rehearsal, the bundled 2021 agenda run today) is measured against
    /// the same plan rebased to its actual start, as the clients show it; every planned
    /// time in this report is rebased.
    pub plan_shift_ms: i64,
}

/// Whether a segment has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    /// Never became current.
    NotStarted,
    /// Current as of the report.
    Current,
    /// Ran and was left.
    Done,
}

/// One segment, planned versus actual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentReport {
    /// Segment id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: SegmentKind,
    /// Whether it has run.
    pub status: SegmentStatus,
    /// Planned start.
    pub planned_start: Stamp,
    /// Planned end.
    pub planned_end: Stamp,
    /// Planned length.
    pub planned_ms: i64,
    /// When it first became current.
    pub actual_start: Option<Stamp>,
    /// When it was last left (`null` while current).
    pub actual_end: Option<Stamp>,
    /// Total time it was current (revisits included), up to `as_of` while current.
    pub actual_ms: i64,
    /// `actual_ms − planned_ms`; `null` if it never ran.
    pub overrun_ms: Option<i64>,
}

/// One speech.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechReport {
    /// Id of the segment in which it was held.
    pub segment: String,
    /// Display name.
    pub name: String,
    /// Agenda person id, for named speakers.
    pub person: Option<String>,
    /// Participant id, for people called from the queue.
    pub participant: Option<ParticipantId>,
    /// Delegation or affiliation.
    pub delegation: Option<String>,
    /// The floor language the speech began in (the one announced).
    pub language: Lang,
    /// Time spoken per floor language, in order of first use (one entry unless the
    /// speaker switched language).
    pub languages: Vec<interp::SpeechLanguage>,
    /// When the floor was given.
    pub started_at: Stamp,
    /// When the speech ended (`null` while it goes on).
    pub ended_at: Option<Stamp>,
    /// Time actually spoken, pauses excluded (up to `as_of` while it goes on).
    pub spoken_ms: i64,
    /// The per-speech limit in force.
    pub limit_ms: Option<i64>,
    /// Whether the speaker went past the limit.
    pub over_limit: bool,
}

/// Speeches and spoken time in one floor language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LanguageTime {
    /// Number of speeches that began in it.
    pub speeches: u64,
    /// Time spoken in it (across switches).
    pub spoken_ms: i64,
}

/// Speaking totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakingStats {
    /// Number of speeches.
    pub speeches: u64,
    /// Time spoken in all.
    pub spoken_ms: i64,
    /// Speeches past their limit.
    pub over_limit: u64,
    /// Per floor language; every meeting language is listed, spoken or not.
    pub by_language: BTreeMap<Lang, LanguageTime>,
}

/// What became of a hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandStatus {
    /// Given the floor.
    Called,
    /// Lowered by its owner.
    Lowered,
    /// Removed by the host or a moderator.
    Removed,
    /// Cleared with the whole queue.
    Cleared,
    /// Still in the queue.
    Waiting,
}

impl From<HandOutcome> for HandStatus {
    fn from(o: HandOutcome) -> Self {
        match o {
            HandOutcome::Called => HandStatus::Called,
            HandOutcome::Lowered => HandStatus::Lowered,
            HandOutcome::Removed => HandStatus::Removed,
            HandOutcome::Cleared => HandStatus::Cleared,
        }
    }
}

/// One raised hand, from raising to leaving the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandReport {
    /// Hand id (ids are given in the order hands are raised).
    pub id: HandId,
    /// Who raised it.
    pub participant: ParticipantId,
    /// Their display name.
    pub name: String,
    /// Their delegation.
    pub delegation: String,
    /// The language they asked to speak in.
    pub language: Lang,
    /// A point of order.
    pub point_of_order: bool,
    /// Id of the segment in which it was raised; for a hand raised before the start, the
    /// one in which it left the queue (`null` if it is still waiting).
    pub segment: Option<String>,
    /// When it was raised (server time).
    pub raised_at: Stamp,
    /// When it left the queue (`null` while waiting).
    pub left_at: Option<Stamp>,
    /// What became of it.
    pub outcome: HandStatus,
    /// `left_at − raised_at`; while waiting, up to `as_of` (or the meeting's end).
    pub wait_ms: i64,
}

/// The speaking queue's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Hands raised in all (points of order included).
    pub hands_raised: u64,
    /// Of which points of order.
    pub points_of_order: u64,
    /// Hands per floor language asked for; every meeting language is listed.
    pub by_language: BTreeMap<Lang, u64>,
    /// Hands given the floor.
    pub called: u64,
    /// Hands lowered by their owners.
    pub lowered: u64,
    /// Hands removed by the chair.
    pub removed: u64,
    /// Hands cleared with the queue.
    pub cleared: u64,
    /// Hands still up.
    pub waiting: u64,
    /// Hands that did not get the floor (`hands_raised − called`).
    pub never_called: u64,
    /// Median wait of called hands, raised to called (mean of the middle two, rounded
    /// down, for an even count); `null` if none was called.
    pub median_wait_ms: Option<i64>,
    /// Longest wait of a called hand.
    pub max_wait_ms: Option<i64>,
}
