//! Whether an agenda edit is allowed: history stays as it happened, the result is a valid
//! agenda, and every operation names things that exist.
//!
//! The rules, for an edit while the meeting runs (before the start everything may change;
//! after the end nothing may):
//!
//! - **Fixed in place**: every segment up to the highest one ever entered. Segments are
//!   inserted, removed and moved only after it, so segment indices held in the state
//!   (current segment, speeches, hand history) never change meaning.
//! - **History**: a segment that has been entered and is not current. Nothing in it may
//!   change — neither its fields nor its speakers or moderator.
//! - **The current segment** may be edited; a new duration moves its clock by the
//!   difference (what has elapsed stays elapsed).
//! - Segments never entered may be edited freely (and, after the fixed part, removed and
//!   moved).
//!
//! The operations are tried in order on a copy of the agenda; the result must pass
//! [`Agenda::validate`]. A refusal names the operation (1-based) and what to do.

use super::edit::{apply_to_agenda, first_movable};
use super::Rejection;
use podium_protocol::{Agenda, AgendaOp, Event, MeetingState, Person, Phase, UnixMs};

/// Most operations in one edit (a whole new agenda is a new meeting, not an edit).
pub const MAX_OPS: usize = 64;

/// Why an operation is refused, before the operation's name and number are added.
type Refusal = Rejection;

/// Checks an edit and returns its event.
pub fn decide_edit(
    agenda: &Agenda,
    state: &MeetingState,
    ops: &[AgendaOp],
    now: UnixMs,
) -> Result<Vec<Event>, Rejection> {
    if state.phase == Phase::Ended {
        return Err(Rejection::InvalidState(
            "the meeting has ended: its agenda is history".into(),
        ));
    }
    if ops.is_empty() {
        return Err(Rejection::InvalidArgument(
            "the edit has no operations".into(),
        ));
    }
    if ops.len() > MAX_OPS {
        return Err(Rejection::InvalidArgument(format!(
            "an edit holds at most {MAX_OPS} operations, not {}: send it in parts",
            ops.len()
        )));
    }
    let fixed = first_movable(state);
    let mut draft = agenda.clone();
    for (k, op) in ops.iter().enumerate() {
        check(&draft, state, fixed, op).map_err(|r| name(r, k, op))?;
        apply_to_agenda(&mut draft, op);
    }
    if let Err(errors) = draft.validate() {
        let first = &errors.0[0];
        return Err(Rejection::InvalidArgument(format!(
            "the edited agenda would not be valid: {first}{}",
            if errors.0.len() > 1 {
                format!(" (and {} more)", errors.0.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    Ok(vec![Event::AgendaEdited {
        ops: ops.to_vec(),
        at: now,
    }])
}

/// Prefixes a refusal with the operation it concerns.
fn name(r: Rejection, k: usize, op: &AgendaOp) -> Rejection {
    let prefix = format!("operation {} ({}): ", k + 1, op.name());
    match r {
        Rejection::Forbidden(m) => Rejection::Forbidden(prefix + &m),
        Rejection::InvalidState(m) => Rejection::InvalidState(prefix + &m),
        Rejection::NotFound(m) => Rejection::NotFound(prefix + &m),
        Rejection::Duplicate(m) => Rejection::Duplicate(prefix + &m),
        Rejection::QueueClosed(m) => Rejection::QueueClosed(prefix + &m),
        Rejection::InvalidArgument(m) => Rejection::InvalidArgument(prefix + &m),
        Rejection::JoinsClosed(m) => Rejection::JoinsClosed(prefix + &m),
        Rejection::RateLimited(m) => Rejection::RateLimited(prefix + &m),
    }
}

/// The index of a segment of the draft, or `not_found`.
fn segment(draft: &Agenda, id: &str) -> Result<usize, Refusal> {
    draft
        .segments
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| {
            Rejection::NotFound(format!(
                "no segment has the id {id:?}; ids are: {}",
                draft
                    .segments
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Refuses changes to a segment that has run and is not current.
fn not_history(draft: &Agenda, state: &MeetingState, i: usize) -> Result<(), Refusal> {
    // Indices below the fixed limit are the same in the draft and in the state.
    let entered = state
        .segments
        .get(i)
        .is_some_and(|t| t.started_at.is_some());
    if entered && state.current != Some(i) {
        return Err(Rejection::InvalidState(format!(
            "{:?} has already run: its record is history and cannot change",
            draft.segments[i].id
        )));
    }
    Ok(())
}

/// Refuses a place among the fixed segments.
fn movable(fixed: usize, i: usize, what: &str, id: &str) -> Result<(), Refusal> {
    if i < fixed {
        return Err(Rejection::InvalidState(format!(
            "{id:?} {what}: segments up to the last one that has been on stay where they are"
        )));
    }
    Ok(())
}

/// Refuses a person whose id is already another person's (same id, another name).
fn same_id_same_person(draft: &Agenda, p: &Person) -> Result<(), Refusal> {
    let key = p.key();
    if key.is_empty() {
        return Err(Rejection::InvalidArgument(
            "the person has no name letters to make an id from: give an id".into(),
        ));
    }
    match draft.person(&key) {
        Some(other) if other.name != p.name => Err(Rejection::InvalidArgument(format!(
            "the id {key:?} is already {}'s: give {} another id",
            other.name, p.name
        ))),
        _ => Ok(()),
    }
}

fn check(draft: &Agenda, state: &MeetingState, fixed: usize, op: &AgendaOp) -> Result<(), Refusal> {
    let n = draft.segments.len();
    match op {
        AgendaOp::InsertSegment { at, segment: s } => {
            if *at > n {
                return Err(Rejection::InvalidArgument(format!(
                    "place {at} is past the end (there are {n} segments; {n} appends)"
                )));
            }
            if *at < fixed {
                return Err(Rejection::InvalidState(format!(
                    "a segment can be inserted only after the last one that has been on: \
                     at {fixed} or later"
                )));
            }
            if draft.segments.iter().any(|x| x.id == s.id) {
                return Err(Rejection::Duplicate(format!(
                    "a segment with the id {:?} exists already: choose another id",
                    s.id
                )));
            }
            for p in s.moderator.iter().chain(&s.speakers).chain(&s.reactions) {
                same_id_same_person(draft, p)?;
            }
            Ok(())
        }
        AgendaOp::RemoveSegment { segment: id } => {
            let i = segment(draft, id)?;
            movable(fixed, i, "cannot be removed", id)
        }
        AgendaOp::MoveSegment { segment: id, to } => {
            let i = segment(draft, id)?;
            movable(fixed, i, "cannot be moved", id)?;
            if *to >= n {
                return Err(Rejection::InvalidArgument(format!(
                    "place {to} is past the end (there are {n} segments; 0 is first)"
                )));
            }
            if *to < fixed {
                return Err(Rejection::InvalidState(format!(
                    "segments can move only after the last one that has been on: to {fixed} \
                     or later"
                )));
            }
            if *to == i {
                return Err(Rejection::InvalidArgument(format!(
                    "{id:?} is already there"
                )));
            }
            Ok(())
        }
        AgendaOp::UpdateSegment { segment: id, set } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            if *set == Default::default() {
                return Err(Rejection::InvalidArgument(
                    "nothing to change: `set` is empty".into(),
                ));
            }
            Ok(())
        }
        AgendaOp::AddSpeaker {
            segment: id,
            speaker,
            at,
            reaction,
        } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            let s = &draft.segments[i];
            let key = speaker.key();
            if s.speakers
                .iter()
                .chain(&s.reactions)
                .any(|p| p.key() == key)
            {
                return Err(Rejection::Duplicate(format!(
                    "{} is already a speaker of {id:?}",
                    speaker.name
                )));
            }
            let len = if *reaction {
                s.reactions.len()
            } else {
                s.speakers.len()
            };
            if at.is_some_and(|at| at > len) {
                return Err(Rejection::InvalidArgument(format!(
                    "place {} is past the end of the list ({len} names; {len} appends)",
                    at.unwrap_or_default()
                )));
            }
            same_id_same_person(draft, speaker)
        }
        AgendaOp::UpdateSpeaker {
            segment: id,
            person,
            set,
        } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            speaker_place(draft, i, person)?;
            if *set == Default::default() {
                return Err(Rejection::InvalidArgument(
                    "nothing to change: `set` is empty".into(),
                ));
            }
            Ok(())
        }
        AgendaOp::RemoveSpeaker {
            segment: id,
            person,
        } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            speaker_place(draft, i, person).map(|_| ())
        }
        AgendaOp::MoveSpeaker {
            segment: id,
            person,
            to,
        } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            let (j, len) = speaker_place(draft, i, person)?;
            if *to >= len {
                return Err(Rejection::InvalidArgument(format!(
                    "place {to} is past the end of the list ({len} names; 0 is first)"
                )));
            }
            if *to == j {
                return Err(Rejection::InvalidArgument(format!(
                    "{person:?} is already there"
                )));
            }
            Ok(())
        }
        AgendaOp::SetModerator {
            segment: id,
            moderator,
        } => {
            let i = segment(draft, id)?;
            not_history(draft, state, i)?;
            match moderator {
                Some(p) => same_id_same_person(draft, p),
                None if draft.segments[i].moderator.is_none() => Err(Rejection::InvalidArgument(
                    format!("{id:?} has no moderator to remove"),
                )),
                None => Ok(()),
            }
        }
    }
}

/// A named speaker's place in their list in segment `i`, and the list's length.
fn speaker_place(draft: &Agenda, i: usize, person: &str) -> Result<(usize, usize), Refusal> {
    let s = &draft.segments[i];
    for list in [&s.speakers, &s.reactions] {
        if let Some(j) = list.iter().position(|p| p.key() == person) {
            return Ok((j, list.len()));
        }
    }
    Err(Rejection::NotFound(format!(
        "{person:?} is not a speaker of {:?}; its speakers are: {}",
        s.id,
        s.speakers
            .iter()
            .chain(&s.reactions)
            .map(|p| p.key())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
