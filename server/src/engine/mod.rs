//! The meeting engine: the rules of a live meeting as a pure state machine.
//!
//! [`Engine::apply`] takes a command, the actor who sent it and the time, checks it
//! against the rules and the actor's role, and returns the events that record the change
//! (or a typed [`Rejection`], changing nothing). Events are applied by one reducer,
//! [`reduce::apply_event`], which is also what replays the journal after a restart — so a
//! replay rebuilds exactly the state the live engine had.
//!
//! Architecture invariant: nothing here does IO, spawns, or reads a clock. Time comes in
//! as `now` (Unix ms, server clock); deadlines go out through [`Engine::next_deadline`].

pub mod booth;
mod decide;
pub mod defend;
pub mod edit;
mod edit_rules;
mod queue;
pub mod reduce;
mod roles;
pub mod schedule;

pub use roles::Actor;

use podium_protocol::{
    Agenda, Clock, Command, ErrorCode, Event, Lang, MeetingState, ParticipantId, Phase, UnixMs,
};
use std::sync::Arc;

/// Why a command was refused. The message tells a person what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The actor's role may not do this, or not now.
    #[error("{0}")]
    Forbidden(String),
    /// The meeting is not in a state where this makes sense.
    #[error("{0}")]
    InvalidState(String),
    /// The segment, person or hand named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The actor already has such a hand up.
    #[error("{0}")]
    Duplicate(String),
    /// The queue is closed to ordinary hands.
    #[error("{0}")]
    QueueClosed(String),
    /// A value is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The shared join links are closed.
    #[error("{0}")]
    JoinsClosed(String),
    /// Too soon: the message says when to try again.
    #[error("{0}")]
    RateLimited(String),
}

impl Rejection {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Rejection::Forbidden(_) => ErrorCode::Forbidden,
            Rejection::InvalidState(_) => ErrorCode::InvalidState,
            Rejection::NotFound(_) => ErrorCode::NotFound,
            Rejection::Duplicate(_) => ErrorCode::Duplicate,
            Rejection::QueueClosed(_) => ErrorCode::QueueClosed,
            Rejection::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Rejection::JoinsClosed(_) => ErrorCode::JoinsClosed,
            Rejection::RateLimited(_) => ErrorCode::RateLimited,
        }
    }
}

/// One meeting's rules and state.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The plan; shared with the shell, which encodes it once per version. Changed only
    /// by [`reduce::apply_event`] (an `agenda_edited` event), copy-on-write.
    agenda: Arc<Agenda>,
    /// The live state; changed only by [`reduce::apply_event`].
    state: MeetingState,
    /// Number of events applied since the meeting was created: the journal position.
    seq: u64,
    /// How many of the latest hand records the state keeps (`None`: all, as the report's
    /// replay of the whole journal needs). A live meeting lets older ones go, so that its
    /// memory does not grow with every hand; see [`HAND_HISTORY_KEPT`].
    keep_hands: Option<usize>,
}

/// How many of the latest hands that left the queue a live meeting keeps in its state.
/// Older ones are let go in blocks once twice as many have gathered (so the cost is spread
/// over many hands); the journal has them all, and the report replays it.
pub const HAND_HISTORY_KEPT: usize = 256;

impl Engine {
    /// A meeting that has not started yet.
    pub fn new(agenda: Arc<Agenda>) -> Engine {
        let state = initial_state(&agenda);
        Engine {
            agenda,
            state,
            seq: 0,
            keep_hands: Some(HAND_HISTORY_KEPT),
        }
    }

    /// The same engine keeping every hand record it applies from now on (for the report,
    /// built by replaying the whole journal into a new engine).
    pub fn keeping_all_hands(mut self) -> Engine {
        self.keep_hands = None;
        self
    }

    /// A meeting restored from a snapshot taken at `seq` (the agenda as it was then).
    pub fn restore(agenda: Arc<Agenda>, mut state: MeetingState, seq: u64) -> Engine {
        // Snapshots from before the interpretation desk have no booths yet.
        booth::derive(&mut state, &agenda);
        Engine {
            agenda,
            state,
            seq,
            keep_hands: Some(HAND_HISTORY_KEPT),
        }
    }

    /// The agenda.
    pub fn agenda(&self) -> &Arc<Agenda> {
        &self.agenda
    }

    /// The live state, read-only.
    pub fn state(&self) -> &MeetingState {
        &self.state
    }

    /// Events applied so far.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Checks `command` from `actor` at `now`; on success applies and returns its events.
    pub fn apply(
        &mut self,
        command: &Command,
        actor: &Actor,
        now: UnixMs,
    ) -> Result<Vec<Event>, Rejection> {
        roles::authorize(&self.agenda, &self.state, command, actor)?;
        let events = decide::decide(&self.agenda, &self.state, command, actor, now)?;
        self.replay(&events);
        Ok(events)
    }

    /// A participant (or observer) joins; returns their new id and the event.
    pub fn join(
        &mut self,
        name: &str,
        delegation: &str,
        language: Lang,
        observer: bool,
    ) -> Result<(ParticipantId, Vec<Event>), Rejection> {
        if !self.state.join_links_open {
            return Err(Rejection::JoinsClosed(
                "this meeting admits only invited delegates: use the personal link you were sent"
                    .into(),
            ));
        }
        self.register(name, delegation, language, observer, false)
    }

    /// The secretariat registers a delegate (personal link; name and delegation fixed by
    /// it), whether or not the join links are open; returns their id and the event.
    pub fn invite(
        &mut self,
        name: &str,
        delegation: &str,
        language: Lang,
        observer: bool,
    ) -> Result<(ParticipantId, Vec<Event>), Rejection> {
        self.register(name, delegation, language, observer, true)
    }

    /// Registers a participant (through a join link, or `invited` by the secretariat);
    /// returns their id and the event.
    fn register(
        &mut self,
        name: &str,
        delegation: &str,
        language: Lang,
        observer: bool,
        invited: bool,
    ) -> Result<(ParticipantId, Vec<Event>), Rejection> {
        let events = decide::join(&self.state, name, delegation, language, observer, invited)?;
        self.replay(&events);
        let id = self
            .state
            .participants
            .last()
            .map(|p| p.id)
            .unwrap_or_default();
        Ok((id, events))
    }

    /// Applies already-accepted events (the journal) in order.
    pub fn replay(&mut self, events: &[Event]) {
        for e in events {
            reduce::apply_event(&mut self.state, &mut self.agenda, e);
            self.seq += 1;
            if let Some(keep) = self.keep_hands {
                let h = &mut self.state.hand_history;
                if h.len() > 2 * keep {
                    let gone = h.len() - keep;
                    h.drain(..gone);
                    self.state.hand_history_start += gone;
                }
            }
        }
    }

    /// When the shell should call [`Engine::handle_timeout`] next, if ever.
    pub fn next_deadline(&self) -> Option<UnixMs> {
        if !self.state.auto_advance || self.state.phase != Phase::Running {
            return None;
        }
        let current = self.state.current?;
        if current + 1 >= self.agenda.segments.len() {
            return None;
        }
        match self.state.segment_clock {
            // A segment entered with no time left (revisited after it was used up) does
            // not advance by itself: the host went back to it on purpose.
            Clock::Running { ends_at } if Some(ends_at) > self.state.segment_entered_at => {
                Some(ends_at)
            }
            _ => None,
        }
    }

    /// Time has reached `now`: fire whatever deadline has passed (auto-advance).
    pub fn handle_timeout(&mut self, now: UnixMs) -> Vec<Event> {
        match self.next_deadline() {
            Some(deadline) if deadline <= now => {
                let events = decide::advance(&self.state, now);
                self.replay(&events);
                events
            }
            _ => Vec::new(),
        }
    }
}

/// The state of a meeting before anything happened.
pub fn initial_state(agenda: &Agenda) -> MeetingState {
    let mut state = MeetingState {
        phase: Phase::NotStarted,
        agenda_version: 0,
        current: None,
        segment_clock: Clock::Ready {
            remaining: agenda
                .segments
                .first()
                .map(|s| s.duration.ms())
                .unwrap_or(0),
        },
        segment_entered_at: None,
        segments: vec![Default::default(); agenda.segments.len()],
        started_at: None,
        ended_at: None,
        speech: None,
        history: Vec::new(),
        queue: Vec::new(),
        queue_len: None,
        queue_open: true,
        not_yet_spoken_first: false,
        observers_may_raise_hand: agenda.meeting.observers_may_raise_hand,
        join_links_open: agenda.meeting.join_links,
        auto_advance: agenda.meeting.auto_advance,
        hand_history: Vec::new(),
        hand_history_start: 0,
        hand_history_len: None,
        participants: Vec::new(),
        participant_count: None,
        agenda_edits: Vec::new(),
        no_interpretation: None,
        speaker_done: None,
        next_hand: 1,
        points_of_order_open: true,
        interpretation: Default::default(),
    };
    booth::derive(&mut state, agenda);
    state
}

#[cfg(test)]
mod tests;
