//! How the chair defends the floor: removing a participant or observer (their hands go,
//! they are barred — the shell revokes their token and closes their sockets once the
//! removal is durable), closing the queue to points of order too, and a per-participant
//! cooldown on raising a hand again after lowering one, so that no participant can make
//! every screen redraw more than a few times per cooldown.
//!
//! The cooldown is decided from `now` and the time the participant last lowered a hand
//! (a fact in the state), so it is deterministic and replays exactly.

use super::{Actor, Rejection};
use podium_protocol::{
    Agenda, Command, Event, HandOutcome, HandRecord, MeetingState, Participant, ParticipantId,
    UnixMs,
};

/// After lowering a hand, a participant may raise one again only this much later, unless
/// the agenda says otherwise (`[meeting] hand_cooldown`). With two hands (ordinary and
/// point of order) a participant can thus make at most four queue changes per cooldown:
/// raise both, lower both.
pub const HAND_COOLDOWN_MS: i64 = 5_000;

/// The cooldown in force for a meeting, ms.
pub fn cooldown_ms(agenda: &Agenda) -> i64 {
    agenda
        .meeting
        .hand_cooldown
        .map(|c| c.ms())
        .unwrap_or(HAND_COOLDOWN_MS)
}

/// A participant by id (ids are given in order from 1, so usually at `id − 1`).
pub fn participant(state: &MeetingState, id: ParticipantId) -> Option<&Participant> {
    let at = usize::try_from(id).ok()?.checked_sub(1)?;
    match state.participants.get(at) {
        Some(p) if p.id == id => Some(p),
        _ => state.participants.iter().find(|p| p.id == id),
    }
}

fn participant_mut(state: &mut MeetingState, id: ParticipantId) -> Option<&mut Participant> {
    let at = usize::try_from(id).ok()?.checked_sub(1)?;
    if state.participants.get(at).is_some_and(|p| p.id == id) {
        return state.participants.get_mut(at);
    }
    state.participants.iter_mut().find(|p| p.id == id)
}

/// A removed participant can do nothing any more (their token is revoked too; this is the
/// engine's own guard, for a command already on its way).
pub fn not_removed(state: &MeetingState, actor: &Actor) -> Result<(), Rejection> {
    if let Actor::Participant(id) | Actor::Observer(id) = actor {
        if participant(state, *id).is_some_and(|p| p.removed) {
            return Err(Rejection::Forbidden(
                "the host removed you from this meeting".into(),
            ));
        }
    }
    Ok(())
}

/// The extra rules for raising a hand: points of order may be closed, and a hand lowered
/// less than the cooldown ago cannot be raised again yet.
pub fn check_raise(
    agenda: &Agenda,
    state: &MeetingState,
    who: &Participant,
    point_of_order: bool,
    now: UnixMs,
) -> Result<(), Rejection> {
    if point_of_order && !state.points_of_order_open {
        return Err(Rejection::QueueClosed(
            "the chair has closed the queue to points of order".into(),
        ));
    }
    if let Some(lowered) = who.lowered_at {
        let wait = lowered + cooldown_ms(agenda) - now;
        if wait > 0 {
            let secs = (wait + 999) / 1000;
            return Err(Rejection::RateLimited(format!(
                "you lowered your hand a moment ago: you can raise it again in {secs} s"
            )));
        }
    }
    Ok(())
}

/// The rules of the chair's defence commands (already authorised).
pub fn decide(
    state: &MeetingState,
    command: &Command,
    now: UnixMs,
) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::RemoveParticipant { participant: id } => {
            let p = participant(state, *id).ok_or_else(|| {
                Rejection::NotFound(format!("participant {id} is not in the register"))
            })?;
            if p.removed {
                return Err(Rejection::InvalidState(format!(
                    "{} has already been removed",
                    p.name
                )));
            }
            let mut out = Vec::new();
            if state
                .speech
                .as_ref()
                .is_some_and(|s| s.speaker.participant == Some(*id))
            {
                out.push(Event::SpeechEnded { at: now });
            }
            out.push(Event::ParticipantRemoved {
                participant: *id,
                at: now,
            });
            Ok(out)
        }
        Command::ClosePointsOfOrder | Command::ReopenPointsOfOrder => {
            let open = matches!(command, Command::ReopenPointsOfOrder);
            if state.points_of_order_open == open {
                return Err(Rejection::InvalidState(format!(
                    "points of order are already {}",
                    if open { "open" } else { "closed" }
                )));
            }
            Ok(vec![Event::PointsOfOrderOpenChanged { open }])
        }
        other => unreachable!("defend::decide called for {other:?}"),
    }
}

/// Applies what an event means for the defence rules; called by the reducer after its
/// own handling of every event.
pub fn apply(state: &mut MeetingState, event: &Event) {
    match event {
        Event::ParticipantRemoved {
            participant: id,
            at,
        } => {
            if let Some(p) = participant_mut(state, *id) {
                p.removed = true;
            }
            let segment = state.current;
            let (gone, kept) = std::mem::take(&mut state.queue)
                .into_iter()
                .partition(|h| h.participant == *id);
            state.queue = kept;
            for hand in gone {
                state.hand_history.push(HandRecord {
                    hand,
                    segment,
                    left_at: *at,
                    outcome: HandOutcome::Removed,
                });
            }
        }
        Event::PointsOfOrderOpenChanged { open } => state.points_of_order_open = *open,
        Event::HandLeft {
            hand,
            outcome: HandOutcome::Lowered,
            at,
        } => {
            // The reducer has just moved the hand to the history.
            let who = state
                .hand_history
                .last()
                .filter(|r| r.hand.id == *hand)
                .map(|r| r.hand.participant);
            if let Some(p) = who.and_then(|id| participant_mut(state, id)) {
                p.lowered_at = Some(*at);
            }
        }
        _ => {}
    }
}
