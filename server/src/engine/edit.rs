//! Live agenda edits: applying the operations of an accepted `agenda_edited` event to the
//! agenda and to the state that is indexed by segment.
//!
//! Architecture invariant: segment indices that the state refers to never move. Every
//! index up to the highest segment ever entered (`state.segments[i].started_at` set) is
//! fixed in place: inserts, removals and moves happen only after it, so `current`,
//! `speech.segment`, the speech history and the hand history keep pointing at the same
//! segments. The rules that decide whether an edit is allowed are in [`super::edit_rules`];
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

/// Applies one accepted operation to the agenda and to the state indexed by segment.
/// Unknown ids or out-of-range places (impossible for an accepted edit) leave things as
/// they are: the reducer never fails.
pub fn apply(agenda: &mut Agenda, state: &mut MeetingState, op: &AgendaOp) {
    // The state first: it needs the indices as they are before the operation.
    let find = |id: &str| agenda.segments.iter().position(|s| s.id == id);
    let n = state.segments.len();
    match op {
        AgendaOp::InsertSegment { at, .. } => {
            state.segments.insert((*at).min(n), Default::default());
        }
        AgendaOp::RemoveSegment { segment } => {
            if let Some(i) = find(segment).filter(|&i| i < n) {
                state.segments.remove(i);
            }
        }
        AgendaOp::MoveSegment { segment, to } => {
            if let Some(i) = find(segment).filter(|&i| i < n) {
                let t = state.segments.remove(i);
                state.segments.insert((*to).min(n - 1), t);
            }
        }
        AgendaOp::UpdateSegment { segment, set } => {
            // The current segment's clock gains or loses the change of plan: what has
            // elapsed stays elapsed.
            if let (Some(i), Some(d)) = (find(segment), set.duration) {
                if state.current == Some(i) {
                    shift(
                        &mut state.segment_clock,
                        d.ms() - agenda.segments[i].duration.ms(),
                    );
                }
            }
        }
        _ => {}
    }
    apply_to_agenda(agenda, op);
    // Before the start, the clock shows the first segment's plan.
    if state.phase == Phase::NotStarted {
        state.segment_clock = Clock::Ready {
            remaining: agenda.segments.first().map_or(0, |s| s.duration.ms()),
        };
    }
}

/// The agenda part of [`apply`] (also what the rules try an edit on).
pub fn apply_to_agenda(agenda: &mut Agenda, op: &AgendaOp) {
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
        }
        AgendaOp::RemoveSegment { segment } => {
            if let Some(i) = find(agenda, segment) {
                agenda.segments.remove(i);
            }
        }
        AgendaOp::MoveSegment { segment, to } => {
            if let Some(i) = find(agenda, segment) {
                let s = agenda.segments.remove(i);
                let to = (*to).min(agenda.segments.len());
                agenda.segments.insert(to, s);
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
                s.duration = d;
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

/// One line for the record about an operation, before it is applied to `agenda`.
pub fn describe(agenda: &Agenda, op: &AgendaOp) -> String {
    let name_of = |segment: &str, person: &str| {
        agenda
            .segments
            .iter()
            .find(|s| s.id == segment)
            .and_then(|s| {
                s.speakers
                    .iter()
                    .chain(&s.reactions)
                    .find(|p| p.key() == person)
            })
            .map_or_else(|| person.to_string(), |p| p.name.clone())
    };
    match op {
        AgendaOp::InsertSegment { at, segment } => format!(
            "inserted segment {} \"{}\" ({}) at place {}",
            segment.id,
            segment.title,
            segment.duration,
            at + 1
        ),
        AgendaOp::UpdateSegment { segment, set } => {
            let mut fields = Vec::new();
            if let Some(d) = set.duration {
                fields.push(format!("duration {d}"));
            }
            for (name, changed) in [
                ("kind", set.kind.is_some()),
                ("title", set.title.is_some()),
                ("original title", set.title_original.is_some()),
                ("question", set.question.is_some()),
                ("original question", set.question_original.is_some()),
                ("speech limit", set.speech_limit.is_some()),
                ("warning", set.warning.is_some()),
                ("danger", set.danger.is_some()),
            ] {
                if changed {
                    fields.push(name.to_string());
                }
            }
            format!("changed segment {segment}: {}", fields.join(", "))
        }
        AgendaOp::RemoveSegment { segment } => format!("removed segment {segment}"),
        AgendaOp::MoveSegment { segment, to } => {
            format!("moved segment {segment} to place {}", to + 1)
        }
        AgendaOp::AddSpeaker {
            segment,
            speaker,
            reaction,
            ..
        } => format!(
            "added {} ({}){} to {segment}",
            speaker.name,
            speaker.language,
            if *reaction {
                " as a reaction speaker"
            } else {
                ""
            }
        ),
        AgendaOp::UpdateSpeaker {
            segment, person, ..
        } => format!("changed {} in {segment}", name_of(segment, person)),
        AgendaOp::RemoveSpeaker { segment, person } => {
            format!("removed {} from {segment}", name_of(segment, person))
        }
        AgendaOp::MoveSpeaker {
            segment,
            person,
            to,
        } => format!(
            "moved {} to place {} in {segment}",
            name_of(segment, person),
            to + 1
        ),
        AgendaOp::SetModerator { segment, moderator } => match moderator {
            Some(p) => format!("{} moderates {segment}", p.name),
            None => format!("{segment} has no moderator any more"),
        },
    }
}
