//! The one place where meeting state changes: applying an accepted event.
//!
//! Architecture invariant: `apply_event` is deterministic and total — it never fails, it
//! reads no clock (every time it needs is in the event), and the live engine uses exactly
//! this function, so replaying a journal rebuilds the live state bit for bit.

use super::{booth, defend, edit, queue};
use podium_protocol::{
    Agenda, AgendaEditRecord, Clock, ClockTarget, Event, HandOutcome, HandRecord,
    InterpreterSignal, MeetingState, Phase, SpeakerMessage, Speech, SpeechRecord, UnixMs,
};
use std::sync::Arc;

fn next_n<T>(last: &Option<T>, n: impl Fn(&T) -> u64) -> u64 {
    last.as_ref().map(n).unwrap_or(0) + 1
}

fn finish_speech(state: &mut MeetingState, at: UnixMs) {
    if let Some(s) = state.speech.take() {
        let spoken_ms = (s.granted_ms - s.clock.remaining(at)).max(0);
        state.history.push(SpeechRecord {
            over_limit: s.limit_ms.is_some_and(|l| spoken_ms > l),
            speaker: s.speaker,
            segment: s.segment,
            started_at: s.started_at,
            ended_at: at,
            spoken_ms,
            limit_ms: s.limit_ms,
            floor: s.floor,
        });
    }
}

fn leave_segment(state: &mut MeetingState, at: UnixMs) {
    if let (Some(c), Some(entered)) = (state.current, state.segment_entered_at) {
        let remaining = state.segment_clock.remaining(at);
        let t = &mut state.segments[c];
        t.ended_at = Some(at);
        t.elapsed_ms += at - entered;
        t.left_remaining = Some(remaining);
    }
    state.segment_entered_at = None;
}

fn clock_mut(state: &mut MeetingState, target: ClockTarget) -> Option<&mut Clock> {
    match target {
        ClockTarget::Segment => Some(&mut state.segment_clock),
        ClockTarget::Speech => state.speech.as_mut().map(|s| &mut s.clock),
    }
}

/// Applies one accepted event to the state — and, for an agenda edit, to the agenda
/// (copied on write: published agendas that share it are left as they were).
pub fn apply_event(state: &mut MeetingState, agenda: &mut Arc<Agenda>, event: &Event) {
    apply_core(state, agenda, event);
    defend::apply(state, event);
    booth::apply(state, event);
    booth::derive(state, agenda);
}

fn apply_core(state: &mut MeetingState, agenda: &mut Arc<Agenda>, event: &Event) {
    match event {
        Event::MeetingStarted { at } => {
            state.phase = Phase::Running;
            state.started_at = Some(*at);
        }
        Event::SegmentEntered { index, at } => {
            finish_speech(state, *at);
            leave_segment(state, *at);
            let planned = agenda
                .segments
                .get(*index)
                .map(|s| s.duration.ms())
                .unwrap_or(0);
            let t = &mut state.segments[*index];
            t.started_at.get_or_insert(*at);
            t.ended_at = None;
            // A revisited segment continues where its clock was left (never below zero:
            // it does not re-enter in overtime); a first visit starts from its plan.
            let remaining = t.left_remaining.unwrap_or(planned - t.elapsed_ms).max(0);
            state.current = Some(*index);
            state.segment_entered_at = Some(*at);
            state.segment_clock = Clock::Running {
                ends_at: at + remaining,
            };
        }
        Event::MeetingEnded { at } => {
            finish_speech(state, *at);
            leave_segment(state, *at);
            state.phase = Phase::Ended;
            state.ended_at = Some(*at);
            state.current = None;
            state.segment_clock = Clock::Paused { remaining: 0 };
        }
        Event::ClockStarted { target, at } => {
            if let Some(c) = clock_mut(state, *target) {
                *c = Clock::Running {
                    ends_at: at + c.remaining(*at),
                };
            }
        }
        Event::ClockPaused { target, at } => {
            if let Some(c) = clock_mut(state, *target) {
                *c = Clock::Paused {
                    remaining: c.remaining(*at),
                };
            }
        }
        Event::ClockAdjusted { target, delta_ms } => {
            if *target == ClockTarget::Speech {
                if let Some(s) = state.speech.as_mut() {
                    s.granted_ms += delta_ms;
                }
            }
            if let Some(c) = clock_mut(state, *target) {
                edit::shift(c, *delta_ms);
            }
        }
        Event::FloorGiven {
            speaker,
            from_hand,
            limit_ms,
            at,
        } => {
            finish_speech(state, *at);
            if let Some(id) = from_hand {
                if let Some(i) = state.queue.iter().position(|h| h.id == *id) {
                    let hand = state.queue.remove(i);
                    state.hand_history.push(HandRecord {
                        hand,
                        segment: state.current,
                        left_at: *at,
                        outcome: HandOutcome::Called,
                    });
                }
            }
            let granted = limit_ms.unwrap_or_else(|| state.segment_clock.remaining(*at).max(0));
            state.speech = Some(Speech {
                speaker: speaker.clone(),
                segment: state.current.unwrap_or(0),
                started_at: *at,
                from_hand: *from_hand,
                clock: Clock::Running {
                    ends_at: at + granted,
                },
                limit_ms: *limit_ms,
                granted_ms: granted,
                floor: Vec::new(),
                message: None,
                slow_down: None,
            });
        }
        Event::SpeechEnded { at } => finish_speech(state, *at),
        Event::ParticipantJoined { participant } => state.participants.push(participant.clone()),
        Event::HandRaised { hand } => {
            let at = queue::insert_at(state, hand);
            state.queue.insert(at, hand.clone());
            state.next_hand = state.next_hand.max(hand.id + 1);
        }
        Event::HandLeft { hand, outcome, at } => {
            if let Some(i) = state.queue.iter().position(|h| h.id == *hand) {
                let hand = state.queue.remove(i);
                state.hand_history.push(HandRecord {
                    hand,
                    segment: state.current,
                    left_at: *at,
                    outcome: *outcome,
                });
            }
        }
        Event::HandMoved { hand, to } => {
            if let Some(i) = state.queue.iter().position(|h| h.id == *hand) {
                let h = state.queue.remove(i);
                let to = (*to).min(state.queue.len());
                state.queue.insert(to, h);
            }
        }
        Event::QueueOpenChanged { open } => state.queue_open = *open,
        Event::QueueCleared { at } => {
            let segment = state.current;
            for hand in state.queue.drain(..) {
                state.hand_history.push(HandRecord {
                    hand,
                    segment,
                    left_at: *at,
                    outcome: HandOutcome::Cleared,
                });
            }
        }
        Event::PriorityChanged {
            not_yet_spoken_first,
        } => {
            state.not_yet_spoken_first = *not_yet_spoken_first;
            if *not_yet_spoken_first {
                queue::apply_priority(state);
            }
        }
        Event::ObserverHandsChanged { allowed } => state.observers_may_raise_hand = *allowed,
        Event::AutoAdvanceChanged { on } => state.auto_advance = *on,
        Event::JoinLinksChanged { open } => state.join_links_open = *open,
        // Signals belong to the speech in progress, and end with it.
        Event::SpeakerMessageSent { text, at } => {
            if let Some(s) = state.speech.as_mut() {
                let n = next_n(&s.message, |m| m.n);
                s.message = Some(SpeakerMessage {
                    n,
                    text: text.clone(),
                    at: *at,
                });
            }
        }
        Event::SlowDownRequested { language, at } => {
            if let Some(s) = state.speech.as_mut() {
                let n = next_n(&s.slow_down, |m| m.n);
                s.slow_down = Some(InterpreterSignal {
                    n,
                    language: *language,
                    at: *at,
                });
            }
        }
        Event::NoInterpretationReported { language, at } => {
            let n = next_n(&state.no_interpretation, |m| m.n);
            state.no_interpretation = Some(InterpreterSignal {
                n,
                language: *language,
                at: *at,
            });
        }
        Event::SpeakerDone { at } => {
            let n = next_n(&state.speaker_done, |m| m.n);
            state.speaker_done = Some(InterpreterSignal {
                n,
                language: None,
                at: *at,
            });
        }
        // The interpretation desk's and the chair's defence events: see `booth`, `defend`.
        Event::ParticipantRemoved { .. }
        | Event::PointsOfOrderOpenChanged { .. }
        | Event::FloorLanguageSet { .. }
        | Event::BoothHandedOver { .. }
        | Event::BoothAlerted { .. }
        | Event::BoothAlertAcknowledged { .. }
        | Event::BoothTextSet { .. } => {}
        Event::AgendaEdited { ops, at } => {
            let agenda = Arc::make_mut(agenda);
            let mut changes = Vec::with_capacity(ops.len());
            for op in ops {
                changes.push(edit::describe(agenda, op));
                edit::apply(agenda, state, op);
            }
            state.agenda_version += 1;
            state.agenda_edits.push(AgendaEditRecord {
                at: *at,
                version: state.agenda_version,
                changes,
            });
        }
    }
}
