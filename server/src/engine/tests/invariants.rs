//! The invariants the property tests check after every step: the queue's, the clocks'
//! (deadlines; nothing moves them but the events that should), and the agenda's (valid,
//! one times entry per segment, history neither moved nor changed).

use super::*;
use crate::engine::edit::first_movable;
use podium_protocol::{AgendaOp, Clock, ClockTarget, Event, Lang, MeetingState, Phase};
use proptest::prelude::*;
use std::collections::HashSet;

/// The invariants that must hold after every step.
pub fn check_invariants(e: &Engine, now: i64) -> Result<(), TestCaseError> {
    let s = e.state();
    let agenda = e.agenda();
    let n = agenda.segments.len();
    prop_assert!(agenda.validate().is_ok(), "{:?}", agenda.validate());
    prop_assert_eq!(s.segments.len(), n, "one times entry per segment");
    prop_assert!(s.current.is_none_or(|c| c < n));
    prop_assert!(s.speech.as_ref().is_none_or(|sp| sp.segment < n));
    prop_assert!(s.history.iter().all(|r| r.segment < n));
    prop_assert!(s
        .hand_history
        .iter()
        .all(|r| r.segment.is_none_or(|i| i < n)));
    if let Some(c) = s.current {
        prop_assert!(
            s.segments[c].started_at.is_some(),
            "the current segment was entered"
        );
    }
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    for h in &s.queue {
        prop_assert!(
            keys.insert((h.participant, h.point_of_order)),
            "two such hands: {h:?}"
        );
        prop_assert!(ids.insert(h.id), "hand id {} twice in the queue", h.id);
        prop_assert!(h.id < s.next_hand, "hand id {} not below next_hand", h.id);
        prop_assert!(s.participants.iter().any(|p| p.id == h.participant));
    }
    for r in &s.hand_history {
        prop_assert!(
            ids.insert(r.hand.id),
            "hand id {} both queued and gone, or gone twice",
            r.hand.id
        );
        prop_assert!(r.left_at >= r.hand.raised_at);
    }
    prop_assert_eq!(s.phase == Phase::Running, s.current.is_some());
    prop_assert!(
        s.speech.is_none() || s.phase == Phase::Running,
        "a speech outside the meeting"
    );
    for r in &s.history {
        prop_assert!(
            r.spoken_ms >= 0 && r.spoken_ms <= r.ended_at - r.started_at,
            "{r:?}"
        );
        prop_assert_eq!(r.over_limit, r.limit_ms.is_some_and(|l| r.spoken_ms > l));
    }
    for t in &s.segments {
        prop_assert!(t.elapsed_ms >= 0);
    }
    let ids: Vec<_> = s.participants.iter().map(|p| p.id).collect();
    prop_assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "participant ids increase: {ids:?}"
    );
    // The interpretation desk: one booth per meeting language; a bounded alert list; the
    // floor parts of every speech in order, the last one the language spoken now.
    let booths: Vec<Lang> = s.interpretation.booths.iter().map(|b| b.language).collect();
    prop_assert_eq!(booths, vec![Lang::En, Lang::Fr, Lang::Es, Lang::Ar]);
    let alerts = &s.interpretation.alerts;
    prop_assert!(alerts.len() <= podium_protocol::booth::ALERTS_KEPT);
    prop_assert!(alerts.windows(2).all(|w| w[0].id < w[1].id));
    prop_assert!(alerts.iter().all(|a| a.id < s.interpretation.next_alert));
    if let Some(sp) = &s.speech {
        let spoken = sp.granted_ms - sp.clock.remaining(now);
        prop_assert_eq!(
            sp.floor.last().map(|p| p.language),
            Some(sp.speaker.language)
        );
        prop_assert!(sp.floor.windows(2).all(|w| w[0].from_ms <= w[1].from_ms));
        prop_assert!(sp.floor.iter().all(|p| p.from_ms <= spoken.max(0)));
    }
    for r in &s.history {
        prop_assert!(r.floor.windows(2).all(|w| w[0].from_ms <= w[1].from_ms));
        let times = podium_protocol::booth::language_times(&r.floor, r.spoken_ms);
        prop_assert_eq!(times.iter().map(|(_, t)| t).sum::<i64>(), r.spoken_ms);
    }
    // A removed participant has no hand up.
    for h in &s.queue {
        let p = s.participants.iter().find(|p| p.id == h.participant);
        prop_assert!(
            p.is_some_and(|p| !p.removed),
            "a removed participant's hand: {h:?}"
        );
    }
    // Clocks are deadlines: a running clock's remaining time is its deadline minus now, for
    // any now; a paused (or ready) one does not move.
    let mut clocks = vec![s.segment_clock];
    clocks.extend(s.speech.as_ref().map(|sp| sp.clock));
    for c in clocks {
        for t in [now, now + 1, now + 59_999, now + 3_600_000, now - 1_000] {
            match c {
                Clock::Running { ends_at } => prop_assert_eq!(c.remaining(t), ends_at - t),
                Clock::Paused { remaining } | Clock::Ready { remaining } => {
                    prop_assert_eq!(c.remaining(t), remaining)
                }
            }
        }
    }
    Ok(())
}

/// Remaining time of the segment clock and the speech clock at `now`.
fn remaining(s: &MeetingState, now: i64) -> (i64, Option<i64>) {
    (
        s.segment_clock.remaining(now),
        s.speech.as_ref().map(|sp| sp.clock.remaining(now)),
    )
}

/// Pausing, resuming or adjusting a clock changes its remaining time by exactly the
/// adjustment at that instant, and nothing else moves it — except a segment change, a
/// new or ended speech, the start or the end, and a new duration for the current segment
/// (by exactly the difference).
pub fn check_clock_continuity(
    (agenda, before): (&podium_protocol::Agenda, &MeetingState),
    after: &MeetingState,
    events: &[Event],
    now: i64,
) -> Result<(), TestCaseError> {
    let (seg0, sp0) = remaining(before, now);
    let (seg1, sp1) = remaining(after, now);
    let mut seg_delta = 0;
    let mut sp_delta = 0;
    let mut seg_reset = false;
    let mut sp_reset = false;
    for e in events {
        match e {
            Event::MeetingStarted { .. }
            | Event::SegmentEntered { .. }
            | Event::MeetingEnded { .. } => {
                seg_reset = true;
                sp_reset = true;
            }
            Event::FloorGiven { .. } | Event::SpeechEnded { .. } => sp_reset = true,
            Event::ClockAdjusted {
                target: ClockTarget::Segment,
                delta_ms,
            } => seg_delta += delta_ms,
            Event::ClockAdjusted {
                target: ClockTarget::Speech,
                delta_ms,
            } => sp_delta += delta_ms,
            Event::AgendaEdited { .. } if before.phase == Phase::NotStarted => seg_reset = true,
            Event::AgendaEdited { ops, .. } => {
                let Some(c) = before.current else { continue };
                let id = &agenda.segments[c].id;
                let mut planned = agenda.segments[c].duration.ms();
                for op in ops {
                    if let AgendaOp::UpdateSegment { segment, set } = op {
                        if segment == id {
                            if let Some(d) = set.duration {
                                seg_delta += d.ms() - planned;
                                planned = d.ms();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !seg_reset {
        prop_assert_eq!(seg1, seg0 + seg_delta, "segment clock jumped: {:?}", events);
    }
    if !sp_reset {
        prop_assert_eq!(
            sp1,
            sp0.map(|r| r + sp_delta),
            "speech clock jumped: {:?}",
            events
        );
    }
    Ok(())
}

/// An accepted step never moves a segment up to the last one entered, never changes one
/// that has run and is not current, and bumps the agenda version exactly when it edits.
pub fn check_history_kept(
    (agenda, before): (&podium_protocol::Agenda, &MeetingState),
    after: &Engine,
    events: &[Event],
) -> Result<(), TestCaseError> {
    let edits = events
        .iter()
        .filter(|e| matches!(e, Event::AgendaEdited { .. }))
        .count() as u64;
    prop_assert_eq!(after.state().agenda_version, before.agenda_version + edits);
    if edits == 0 {
        prop_assert_eq!(
            after.agenda().as_ref(),
            agenda,
            "the agenda changed without an edit"
        );
        return Ok(());
    }
    let fixed = first_movable(before);
    for i in 0..fixed {
        prop_assert_eq!(
            &after.agenda().segments[i].id,
            &agenda.segments[i].id,
            "moved"
        );
        prop_assert_eq!(
            after.state().segments[i],
            before.segments[i],
            "times changed"
        );
        let history = before.segments[i].started_at.is_some() && before.current != Some(i);
        if history {
            prop_assert_eq!(
                &after.agenda().segments[i],
                &agenda.segments[i],
                "history edited"
            );
        }
    }
    Ok(())
}
