//! The events that change a meeting's state: the journal. Each is a fact the engine has
//! accepted; replaying them in order from the initial state rebuilds the state exactly.

use crate::booth::BoothSignal;
use crate::edit::AgendaOp;
use crate::lang::Lang;
use crate::state::*;
use serde::{Deserialize, Serialize};

/// A fact the engine has accepted. Events are the journal: replaying them in order from
/// the initial state rebuilds the state exactly, so each carries every value it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The meeting began, in its first segment.
    MeetingStarted {
        /// Server time.
        at: UnixMs,
    },
    /// A segment became current (the previous one, if any, ended); its clock runs.
    SegmentEntered {
        /// Agenda index.
        index: usize,
        /// Server time.
        at: UnixMs,
    },
    /// The meeting ended.
    MeetingEnded {
        /// Server time.
        at: UnixMs,
    },
    /// A clock began or resumed counting down.
    ClockStarted {
        /// Which clock.
        target: ClockTarget,
        /// Server time.
        at: UnixMs,
    },
    /// A clock was paused.
    ClockPaused {
        /// Which clock.
        target: ClockTarget,
        /// Server time.
        at: UnixMs,
    },
    /// Time was added (positive) or removed (negative).
    ClockAdjusted {
        /// Which clock.
        target: ClockTarget,
        /// Milliseconds added.
        delta_ms: i64,
    },
    /// Someone was given the floor (any speech in progress ended first).
    FloorGiven {
        /// Who.
        speaker: SpeakerInfo,
        /// The hand it was given from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_hand: Option<HandId>,
        /// The per-speech limit in force.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_ms: Option<i64>,
        /// Server time.
        at: UnixMs,
    },
    /// The speech in progress ended.
    SpeechEnded {
        /// Server time.
        at: UnixMs,
    },
    /// A participant joined.
    ParticipantJoined {
        /// The new participant.
        participant: Participant,
    },
    /// A hand went up; its place is computed from the queue rules on apply.
    HandRaised {
        /// The hand.
        hand: Hand,
    },
    /// A hand left the queue without being called.
    HandLeft {
        /// Which hand.
        hand: HandId,
        /// Lowered or removed.
        outcome: HandOutcome,
        /// Server time.
        at: UnixMs,
    },
    /// The host moved a hand to a new place (0 = first).
    HandMoved {
        /// Which hand.
        hand: HandId,
        /// New index in the queue.
        to: usize,
    },
    /// The queue was closed to or reopened for ordinary hands.
    QueueOpenChanged {
        /// Open now?
        open: bool,
    },
    /// Every hand was taken down.
    QueueCleared {
        /// Server time.
        at: UnixMs,
    },
    /// The "not yet spoken first" priority was switched.
    PriorityChanged {
        /// On now?
        not_yet_spoken_first: bool,
    },
    /// Observers' hands were allowed or forbidden.
    ObserverHandsChanged {
        /// Allowed now?
        allowed: bool,
    },
    /// The shared join links were opened or closed.
    JoinLinksChanged {
        /// Open now?
        open: bool,
    },
    /// Auto-advance was switched.
    AutoAdvanceChanged {
        /// On now?
        on: bool,
    },
    /// A message for the screen of the person speaking (attached to the speech).
    SpeakerMessageSent {
        /// The text.
        text: String,
        /// Server time.
        at: UnixMs,
    },
    /// An interpreter asked the person speaking to slow down (attached to the speech).
    SlowDownRequested {
        /// The booth's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Lang>,
        /// Server time.
        at: UnixMs,
    },
    /// An interpreter told the host that interpretation is not coming through.
    NoInterpretationReported {
        /// The booth's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Lang>,
        /// Server time.
        at: UnixMs,
    },
    /// A speaker signalled that they are done.
    SpeakerDone {
        /// Server time.
        at: UnixMs,
    },
    /// The host removed a participant or observer: their hands leave the queue
    /// (`removed`), their token is revoked, they stay in the register marked removed.
    ParticipantRemoved {
        /// Who.
        participant: ParticipantId,
        /// Server time.
        at: UnixMs,
    },
    /// Points of order were closed or reopened.
    PointsOfOrderOpenChanged {
        /// Open now?
        open: bool,
    },
    /// The language spoken on the floor changed during the speech.
    FloorLanguageSet {
        /// The language spoken from now on.
        language: Lang,
        /// The booth that set it (a correction), or `null` when the chair did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        booth: Option<Lang>,
        /// Server time.
        at: UnixMs,
    },
    /// A booth's pair handed over: its turn starts again.
    BoothHandedOver {
        /// The booth.
        booth: Lang,
        /// Server time.
        at: UnixMs,
    },
    /// A booth alerted the chair; the alert gets the next alert id.
    BoothAlerted {
        /// The booth.
        booth: Lang,
        /// What it says.
        signal: BoothSignal,
        /// The booth's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Server time.
        at: UnixMs,
    },
    /// The host or a moderator acknowledged a booth's alert.
    BoothAlertAcknowledged {
        /// The alert id.
        alert: u64,
        /// Server time.
        at: UnixMs,
    },
    /// The chair set (or withdrew, `url` null) a speaker's text or slides for the booths.
    BoothTextSet {
        /// The agenda person id.
        person: String,
        /// The https URL, or `null`.
        #[serde(default)]
        url: Option<String>,
        /// Server time.
        at: UnixMs,
    },
    /// The agenda was edited: the operations, in order, as accepted (all of them applied).
    AgendaEdited {
        /// What changed.
        ops: Vec<AgendaOp>,
        /// Server time.
        at: UnixMs,
    },
}
