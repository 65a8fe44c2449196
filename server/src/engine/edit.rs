//! Live agenda edits: applying the operations of an accepted `agenda_edited` event to the
//! agenda and to the state that is indexed by segment.
//!
//! Architecture invariant: segment indices that the state refers to never move. Every
//! index up to the highest segment ever entered (`state.segments[i].started_at` set) is
//! fixed in place: inserts, removals and moves happen only after it, so `current`,
//! `speech.segment`, the speech history and the hand history keep pointing at the same
//! segments. The rules that decide whether an edit is allowed are in `decide`;
//! this module only applies edits already accepted, and is total (it never fails).

use podium_protocol::{Agenda, AgendaOp, Clock, MeetingState, Person, Phase};

/// The highest segment index ever entered, if any: everything up to it is fixed in place.
pub fn last_entered(state: &MeetingState) -> Option<usize> {
    state.segments.iter().rposition(|t| t.started_at.is_some())
}

/// The first index at which segments may be inserted, removed or moved.
pub fn first_movable(state: &MeetingState) -> usize {
    last_entered(state).map_or(0, |i| i + 1)
}

/// Gives a person an explicit id (their current key), so that a later change of name
/// does not change the id their link and the state refer to.
fn fix_id(p: &mut Person) {
    if p.id.is_none() {
        p.id = Some(p.key());
    }
}

/// Applies one accepted operation. Unknown ids or out-of-range places (impossible for an
/// accepted edit) leave things as they are: the reducer never fails.
pub fn apply(agenda: &mut Agenda, state: &mut MeetingState, op: &AgendaOp) {
    let find = |agenda: &Agenda, id: &str| agenda.segments.iter().position(|s| s.id == id);
    match op {
        AgendaOp::InsertSegment { at, segment } => {
            let at = (*at).min(agenda.segments.len());
            let mut segment = segment.clone();
            for p in segment
                .moderator
                .iter_mut()
                .chain(segment.speakers.iter_mut())
                .chain(segment.reactions.iter_mut())
            {
                fix_id(p);
            }
            agenda.segments.insert(at, segment);
            state
                .segments
                .insert(at.min(state.segments.len()), Default::default());
        }
        AgendaOp::RemoveSegment { segment } => {
            if let Some(i) = find(agenda, segment) {
                agenda.segments.remove(i);
                if i < state.segments.len() {
                    state.segments.remove(i);
                }
            }
        }
        AgendaOp::MoveSegment { segment, to } => {
            if let Some(i) = find(agenda, segment) {
                let s = agenda.segments.remove(i);
                let to = (*to).min(agenda.segments.len());
                agenda.segments.insert(to, s);
                if i < state.segments.len() {
                    let t = state.segments.remove(i);
                    state.segments.insert(to.min(state.segments.len()), t);
                }
            }
        }
        AgendaOp::UpdateSegment { segment, set } => {
            let Some(i) = find(agenda, segment) else {
                return;
            };
            let s = &mut agenda.segments[i];
            if let Some(kind) = set.kind {
                s.kind = kind;
            }
            if let Some(title) = &set.title {
                s.title = title.clone();
            }
            if let Some(v) = &set.title_original {
                s.title_original = v.clone();
            }
            if let Some(v) = &set.question {
                s.question = v.clone();
            }
            if let Some(v) = &set.question_original {
                s.question_original = v.clone();
            }
            if let Some(v) = set.speech_limit {
                s.speech_limit = v;
            }
            if let Some(v) = set.warning {
                s.warning = v;
            }
            if let Some(v) = set.danger {
                s.danger = v;
            }
            if let Some(d) = set.duration {
                let delta = d.ms() - s.duration.ms();
                s.duration = d;
                // The current segment's clock gains or loses the difference: what has
                // elapsed stays elapsed.
                if state.current == Some(i) && delta != 0 {
                    shift(&mut state.segment_clock, delta);
                }
            }
        }
        AgendaOp::AddSpeaker {
            segment,
            speaker,
            reaction,
            at,
        } => {
            let Some(i) = find(agenda, segment) else {
                return;
            };
            let s = &mut agenda.segments[i];
            let list = if *reaction {
                &mut s.reactions
            } else {
                &mut s.speakers
            };
            let mut p = speaker.clone();
            fix_id(&mut p);
            let at = at.unwrap_or(list.len()).min(list.len());
            list.insert(at, p);
        }
        AgendaOp::UpdateSpeaker {
            segment,
            person,
            set,
        } => {
            let Some(i) = find(agenda, segment) else {
                return;
            };
            let s = &mut agenda.segments[i];
            let Some(p) = s
                .speakers
                .iter_mut()
                .chain(s.reactions.iter_mut())
                .find(|p| p.key() == *person)
            else {
                return;
            };
            fix_id(p);
            if let Some(name) = &set.name {
                p.name = name.clone();
            }
            if let Some(v) = &set.title {
                p.title = v.clone();
            }
            if let Some(v) = &set.affiliation {
                p.affiliation = v.clone();
            }
            if let Some(v) = &set.country {
                p.country = v.clone();
            }
            if let Some(l) = set.language {
                p.language = l;
            }
        }
        AgendaOp::RemoveSpeaker { segment, person } => {
            if let Some(i) = find(agenda, segment) {
                let s = &mut agenda.segments[i];
                s.speakers.retain(|p| p.key() != *person);
                s.reactions.retain(|p| p.key() != *person);
            }
        }
        AgendaOp::MoveSpeaker {
            segment,
            person,
            to,
        } => {
            if let Some(i) = find(agenda, segment) {
                let s = &mut agenda.segments[i];
                for list in [&mut s.speakers, &mut s.reactions] {
                    if let Some(j) = list.iter().position(|p| p.key() == *person) {
                        let p = list.remove(j);
                        let to = (*to).min(list.len());
                        list.insert(to, p);
                        break;
                    }
                }
            }
        }
        AgendaOp::SetModerator { segment, moderator } => {
            if let Some(i) = find(agenda, segment) {
                let mut m = moderator.clone();
                if let Some(p) = m.as_mut() {
                    fix_id(p);
                }
                agenda.segments[i].moderator = m;
            }
        }
    }
    // Before the start, the clock shows the first segment's plan.
    if state.phase == Phase::NotStarted {
        state.segment_clock = Clock::Ready {
            remaining: agenda.segments.first().map_or(0, |s| s.duration.ms()),
        };
    }
}

/// Adds `delta_ms` to a clock's remaining time, whatever its state.
pub fn shift(clock: &mut Clock, delta_ms: i64) {
    *clock = match *clock {
        Clock::Running { ends_at } => Clock::Running {
            ends_at: ends_at + delta_ms,
        },
        Clock::Paused { remaining } => Clock::Paused {
            remaining: remaining + delta_ms,
        },
        Clock::Ready { remaining } => Clock::Ready {
            remaining: remaining + delta_ms,
        },
    };
}
