//! The live state of one meeting, exactly as the engine holds it and as clients receive
//! it (minus what a role may not see); `event.rs` holds the events that change it.
//!
//! Times are Unix milliseconds of the *server's* clock. A running clock is a deadline
//! (`ends_at`), a paused or ready one a `remaining` amount: clients compute the remaining
//! time themselves from their synchronised clock, so the server never ticks.

use crate::booth::{FloorPart, Interpretation};
use crate::lang::Lang;
use serde::{Deserialize, Serialize};

/// Unix time in milliseconds, server clock.
pub type UnixMs = i64;

/// Identifies a participant or observer who joined through a join link.
pub type ParticipantId = u64;

/// Identifies one raised hand (unique for the meeting's life).
pub type HandId = u64;

/// Hands shown in full in the public projection; `queue_len` tells how many there are, and
/// each participant's connection gets its own places in a `place` message.
pub const PUBLIC_QUEUE_DETAIL: usize = 25;

/// Where the meeting is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the host starts the meeting.
    NotStarted,
    /// Between start and end.
    Running,
    /// After the host ended it; only reports remain.
    Ended,
}

/// A countdown clock, held as a deadline when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Clock {
    /// Not started yet; will count down from `remaining`.
    Ready {
        /// Time the clock will count down from.
        remaining: i64,
    },
    /// Counting down; at `ends_at` it reaches zero and goes on into overtime (negative).
    Running {
        /// Server time at which the remaining time is zero.
        ends_at: UnixMs,
    },
    /// Stopped with `remaining` left (negative when paused in overtime).
    Paused {
        /// Time left when it was paused.
        remaining: i64,
    },
}

impl Clock {
    /// Remaining milliseconds at `now`; negative means overtime.
    pub fn remaining(&self, now: UnixMs) -> i64 {
        match *self {
            Clock::Ready { remaining } | Clock::Paused { remaining } => remaining,
            Clock::Running { ends_at } => ends_at - now,
        }
    }

    /// Whether it counts down now.
    pub fn is_running(&self) -> bool {
        matches!(self, Clock::Running { .. })
    }
}

/// Who holds or held the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerInfo {
    /// The agenda person id for named speakers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The participant id for people called from the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<ParticipantId>,
    /// Display name.
    pub name: String,
    /// Delegation or affiliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
    /// The floor language of this speech.
    pub language: Lang,
}

/// The speech in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speech {
    /// Who speaks.
    pub speaker: SpeakerInfo,
    /// Segment index in which the speech is held.
    pub segment: usize,
    /// When the floor was given.
    pub started_at: UnixMs,
    /// The hand the floor was given from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_hand: Option<HandId>,
    /// The speech clock; counts down from the per-speech limit, or, when there is no
    /// limit, from what is left of the segment (so it still shows something).
    pub clock: Clock,
    /// The limit in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_ms: Option<i64>,
    /// Time the clock started from plus every adjustment: `granted − remaining` is the
    /// time actually spoken, pauses excluded, without tracking pauses separately.
    pub granted_ms: i64,
    /// The floor languages of this speech so far, oldest first; the last one is being
    /// spoken now (and is also `speaker.language`). Parts start on the same spoken-time
    /// account as `granted_ms`, so the time per language excludes pauses too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floor: Vec<FloorPart>,
    /// The latest message from the chair to this speaker ("please wrap up"). It belongs
    /// to the speech: the next speaker never sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<SpeakerMessage>,
    /// The latest "please slow down" from a booth to this speaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_down: Option<InterpreterSignal>,
}

/// A finished speech, for the history and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechRecord {
    /// Who spoke.
    pub speaker: SpeakerInfo,
    /// Segment index.
    pub segment: usize,
    /// When the floor was given.
    pub started_at: UnixMs,
    /// When the speech ended.
    pub ended_at: UnixMs,
    /// Time actually spoken, pauses excluded.
    pub spoken_ms: i64,
    /// The limit in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_ms: Option<i64>,
    /// Whether the speaker went past the limit.
    pub over_limit: bool,
    /// The floor languages of the speech, oldest first (`from_ms` into `spoken_ms`).
    /// Empty in records made before floor languages were tracked: then the whole speech
    /// was in `speaker.language`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floor: Vec<FloorPart>,
}

/// A raised hand in the speaking queue. Order and `raised_at` come from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hand {
    /// Unique id of this hand.
    pub id: HandId,
    /// Who raised it.
    pub participant: ParticipantId,
    /// Their display name.
    pub name: String,
    /// Their delegation.
    pub delegation: String,
    /// The language they will speak in.
    pub language: Lang,
    /// A point of order goes ahead of ordinary hands.
    pub point_of_order: bool,
    /// Server time when it was raised.
    pub raised_at: UnixMs,
}

/// How a hand left the queue, for the queue history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOutcome {
    /// Given the floor.
    Called,
    /// Lowered by its owner.
    Lowered,
    /// Removed by the host or moderator.
    Removed,
    /// Cleared with the whole queue.
    Cleared,
}

/// One hand that has left the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandRecord {
    /// The hand as it was.
    pub hand: Hand,
    /// Segment current when it left the queue (the report derives the one it was raised in
    /// from `raised_at`).
    pub segment: Option<usize>,
    /// When it left the queue.
    pub left_at: UnixMs,
    /// Why it left.
    pub outcome: HandOutcome,
}

/// A participant or observer known to the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Assigned by the server at join.
    pub id: ParticipantId,
    /// Display name.
    pub name: String,
    /// Delegation (government, city, organisation).
    pub delegation: String,
    /// Preferred floor language.
    pub language: Lang,
    /// Observers may raise a hand only where the meeting allows it.
    pub observer: bool,
    /// Removed by the host: their token is revoked and they cannot act again. They stay
    /// in the register (marked) so the record of who was barred survives.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// When they last lowered a hand of their own: raising again waits for a cooldown,
    /// so that no one can make every screen redraw several times a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowered_at: Option<UnixMs>,
    /// Pre-registered by the secretariat with a personal link (name and delegation fixed),
    /// rather than joined through a join link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invited: bool,
}

/// One accepted agenda edit, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaEditRecord {
    /// When it was accepted.
    pub at: UnixMs,
    /// The agenda version it made.
    pub version: u64,
    /// What changed, one line per operation ("inserted segment aob at place 7").
    pub changes: Vec<String>,
}

/// Actual times of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SegmentTimes {
    /// When it first became current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<UnixMs>,
    /// When it was last left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<UnixMs>,
    /// Total time it was current (it may be revisited).
    #[serde(default)]
    pub elapsed_ms: i64,
    /// What its clock showed when it was last left: a revisited segment continues from
    /// there (time added or removed before leaving stays added or removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_remaining: Option<i64>,
}

/// A short text on the speaker's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerMessage {
    /// Counts the messages of this speech (1 = first), so a screen can tell a new one
    /// from one it has shown.
    pub n: u64,
    /// The text, at most 200 characters.
    pub text: String,
    /// When it was sent.
    pub at: UnixMs,
}

/// A signal from an interpreter (to the speaker or to the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterpreterSignal {
    /// Counts the signals of this kind (per speech for `slow_down`, per meeting for the
    /// host's alerts), so a screen can tell a new one from one it has shown.
    pub n: u64,
    /// The booth's language, if the interpreter said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
    /// When it was sent.
    pub at: UnixMs,
}

/// The whole live state of a meeting. The engine owns it; clients get projections of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingState {
    /// Before, during or after the meeting.
    pub phase: Phase,
    /// The agenda's version: 0 as created, +1 per accepted edit. Clients compare it with
    /// the version of the last `agenda` message they received.
    #[serde(default)]
    pub agenda_version: u64,
    /// Index of the current segment while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<usize>,
    /// The current segment's clock.
    pub segment_clock: Clock,
    /// When the current segment's clock last started running (to add up elapsed time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_entered_at: Option<UnixMs>,
    /// Actual times, one entry per agenda segment.
    pub segments: Vec<SegmentTimes>,
    /// When the host started the meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<UnixMs>,
    /// When the host ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<UnixMs>,
    /// The speech in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech: Option<Speech>,
    /// Finished speeches, oldest first.
    pub history: Vec<SpeechRecord>,
    /// The speaking queue in calling order.
    pub queue: Vec<Hand>,
    /// Only in the public projection (absent in the engine and the staff view, where
    /// `queue` is complete): the whole queue's length, while `queue` holds only the first
    /// [`PUBLIC_QUEUE_DETAIL`] hands in full. A delegate needs the next speakers and their
    /// own place (sent to their connection alone, as `place`), not a thousand hands on
    /// every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_len: Option<usize>,
    /// Whether ordinary hands may be raised.
    pub queue_open: bool,
    /// Whether points of order may be raised (a second switch: the chair can close the
    /// queue to points of order too).
    #[serde(default = "yes")]
    pub points_of_order_open: bool,
    /// Whether those who have not spoken yet go ahead of those who have.
    pub not_yet_spoken_first: bool,
    /// Whether observers may raise a hand.
    pub observers_may_raise_hand: bool,
    /// Whether the shared join links admit people (invited delegates always get in).
    #[serde(default = "open")]
    pub join_links_open: bool,
    /// Whether the next segment starts by itself when time is up.
    pub auto_advance: bool,
    /// The latest hands that have left the queue, oldest first. A live meeting keeps only
    /// the latest few hundred in memory (`hand_history_start` says how many older ones it
    /// let go), so that a long meeting's memory does not grow with every hand; the journal
    /// keeps them all and the report replays it. Empty in every projection sent to
    /// clients: staff page it with `fetch` (`hand_history_len` says how long the whole
    /// history is), so a hand costs the host bytes for the hand, not for the meeting.
    pub hand_history: Vec<HandRecord>,
    /// Index in the whole history of `hand_history[0]`: the number of older records let go.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hand_history_start: usize,
    /// Only in the staff projection: the length of the whole hand history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_history_len: Option<usize>,
    /// Everyone who joined through a join link, by id order. Empty in every projection
    /// sent to clients: staff page it with `fetch` (`participant_count` says how long it is).
    pub participants: Vec<Participant>,
    /// Only in the staff projection: the length of `participants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_count: Option<usize>,
    /// The agenda edits so far, oldest first, as one line per operation (staff only; the
    /// report lists them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda_edits: Vec<AgendaEditRecord>,
    /// The last "no interpretation" alert, for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_interpretation: Option<InterpreterSignal>,
    /// The last "done" signal from a speaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_done: Option<InterpreterSignal>,
    /// Next hand id to assign.
    pub next_hand: HandId,
    /// The interpretation desk: booths' turns, relay in force, alerts, texts, booth log.
    #[serde(default)]
    pub interpretation: Interpretation,
}

fn yes() -> bool {
    true
}

fn open() -> bool {
    true
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Which clock a clock command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockTarget {
    /// The segment clock.
    Segment,
    /// The current speech's clock.
    Speech,
}
