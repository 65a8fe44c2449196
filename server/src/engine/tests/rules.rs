//! One or more unit tests for every rule of the engine, time stepped by hand.

use super::*;
use crate::engine::schedule;
use podium_protocol::{
    Clock, ClockTarget, Command, Event, HandOutcome, Lang, Phase, SpeakerInfo, SpeechRecord,
};

fn seg(id: &str) -> Command {
    Command::GoToSegment {
        segment: id.to_string(),
    }
}

fn give_hand(hand: Option<u64>) -> Command {
    Command::GiveFloorToHand { hand }
}

const SEGMENT: ClockTarget = ClockTarget::Segment;
const SPEECH: ClockTarget = ClockTarget::Speech;

// ---------------------------------------------------------------------------------------
// Navigation
// ---------------------------------------------------------------------------------------

#[test]
fn the_bundled_agenda_is_the_gfmd_meeting() {
    let a = seed();
    let ids: Vec<_> = a.segments.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "intro",
            "welcome",
            "round-1",
            "round-2",
            "round-3",
            "open-conversation",
            "closing"
        ]
    );
    assert_eq!(a.planned_start_ms(), T0);
    let starts = a.planned_starts_ms();
    assert_eq!(
        starts.iter().map(|t| (t - T0) / M).collect::<Vec<_>>(),
        [0, 5, 10, 30, 50, 70, 115, 120]
    );
    for id in [
        "sophie-van-haasen",
        "antonio-vitorino",
        "cecile-riallant",
        "carola-gunnarsson",
        "alexandra-young",
        "emilia-saiz",
        "salvatore-martello",
        "ahmed-skim",
        "vittoria-zanuso",
        "jeniffer-villarreal-de-hoyos",
        "felipe-munoz",
        "bettina-etter",
        "diego-morejon",
    ] {
        assert!(a.person(id).is_some(), "{id} is in the agenda");
    }
    assert!(!a.meeting.auto_advance);
    assert!(!a.meeting.observers_may_raise_hand);
}

#[test]
fn a_new_meeting_has_not_started() {
    let e = fresh();
    let s = e.state();
    assert_eq!(s.phase, Phase::NotStarted);
    assert_eq!(s.current, None);
    assert_eq!(s.segment_clock, Clock::Ready { remaining: 5 * M });
    assert_eq!(s.segments.len(), 7);
    assert!(s.queue_open);
    assert_eq!(s.next_hand, 1);
    assert_eq!(e.seq(), 0);
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn start_enters_the_first_segment_with_its_clock_running() {
    let mut e = fresh();
    let events = ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    assert_eq!(
        events,
        [
            Event::MeetingStarted { at: T0 },
            Event::SegmentEntered { index: 0, at: T0 }
        ]
    );
    let s = e.state();
    assert_eq!(s.phase, Phase::Running);
    assert_eq!(s.current, Some(INTRO));
    assert_eq!(s.started_at, Some(T0));
    assert_eq!(
        s.segment_clock,
        Clock::Running {
            ends_at: T0 + 5 * M
        }
    );
    assert_eq!(s.segment_entered_at, Some(T0));
    assert_eq!(s.segments[INTRO].started_at, Some(T0));
    assert_eq!(e.seq(), 2);
}

#[test]
fn start_twice_and_start_after_the_end_are_refused() {
    let mut e = started();
    let r = rejected(&mut e, Command::StartMeeting, Actor::Host, T0 + S);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + M);
    let r = rejected(&mut e, Command::StartMeeting, Actor::Host, T0 + 2 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn nothing_runs_before_the_start() {
    let mut e = fresh();
    for c in [
        Command::NextSegment,
        Command::PreviousSegment,
        seg("round-1"),
        Command::EndMeeting,
        Command::StartClock { target: SEGMENT },
        Command::PauseClock { target: SEGMENT },
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 60,
        },
        give("carola-gunnarsson"),
        give_hand(None),
        Command::EndSpeech,
    ] {
        let r = rejected(&mut e, c, Actor::Host, T0 - M);
        assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    }
}

#[test]
fn next_leaves_the_segment_and_enters_the_following_one() {
    let mut e = started();
    let events = ok(&mut e, Command::NextSegment, Actor::Host, T0 + 5 * M);
    assert_eq!(
        events,
        [Event::SegmentEntered {
            index: WELCOME,
            at: T0 + 5 * M
        }]
    );
    let s = e.state();
    assert_eq!(s.current, Some(WELCOME));
    assert_eq!(s.segments[INTRO].ended_at, Some(T0 + 5 * M));
    assert_eq!(s.segments[INTRO].elapsed_ms, 5 * M);
    assert_eq!(s.segments[WELCOME].started_at, Some(T0 + 5 * M));
    assert_eq!(
        s.segment_clock,
        Clock::Running {
            ends_at: T0 + 10 * M
        }
    );
    // Round 1 is 20 minutes.
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 10 * M);
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 30 * M
        }
    );
}

#[test]
fn previous_goes_back_and_is_refused_in_the_first_segment() {
    let mut e = started();
    let r = rejected(&mut e, Command::PreviousSegment, Actor::Host, T0 + M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 5 * M);
    let events = ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 6 * M);
    assert_eq!(
        events,
        [Event::SegmentEntered {
            index: INTRO,
            at: T0 + 6 * M
        }]
    );
    assert_eq!(e.state().current, Some(INTRO));
}

#[test]
fn next_is_refused_in_the_last_segment() {
    let mut e = started();
    ok(&mut e, seg("closing"), Actor::Host, T0 + M);
    assert_eq!(e.state().current, Some(CLOSING));
    let r = rejected(&mut e, Command::NextSegment, Actor::Host, T0 + 2 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    // Going back from the last segment works.
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 3 * M);
    assert_eq!(e.state().current, Some(OPEN));
}

#[test]
fn jump_goes_to_a_segment_by_id() {
    let mut e = started();
    let events = ok(&mut e, seg("round-3"), Actor::Host, T0 + M);
    assert_eq!(
        events,
        [Event::SegmentEntered {
            index: ROUND_3,
            at: T0 + M
        }]
    );
    assert_eq!(e.state().current, Some(ROUND_3));
    assert_eq!(e.state().segments[INTRO].elapsed_ms, M);
    // Skipped segments never ran.
    assert_eq!(e.state().segments[WELCOME].started_at, None);
    let r = rejected(&mut e, seg("round-9"), Actor::Host, T0 + 2 * M);
    assert!(
        matches!(r, Rejection::NotFound(ref m) if m.contains("round-1")),
        "{r:?}"
    );
    let r = rejected(&mut e, seg("round-3"), Actor::Host, T0 + 2 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn end_meeting_closes_everything() {
    let mut e = started();
    ok(&mut e, give("sophie-van-haasen"), Actor::Host, T0 + 10 * S);
    let events = ok(&mut e, Command::EndMeeting, Actor::Host, T0 + 3 * M);
    assert_eq!(
        events,
        [
            Event::SpeechEnded { at: T0 + 3 * M },
            Event::MeetingEnded { at: T0 + 3 * M }
        ]
    );
    let s = e.state();
    assert_eq!(s.phase, Phase::Ended);
    assert_eq!(s.current, None);
    assert_eq!(s.ended_at, Some(T0 + 3 * M));
    assert_eq!(s.speech, None);
    assert_eq!(s.history.len(), 1);
    assert_eq!(s.history[0].ended_at, T0 + 3 * M);
    assert_eq!(s.segments[INTRO].ended_at, Some(T0 + 3 * M));
    assert_eq!(s.segments[INTRO].elapsed_ms, 3 * M);
    assert_eq!(s.segment_clock, Clock::Paused { remaining: 0 });
    assert_eq!(e.next_deadline(), None);
    // Nothing runs after the end.
    for c in [
        Command::NextSegment,
        Command::EndMeeting,
        give("sophie-van-haasen"),
        Command::StartClock { target: SEGMENT },
    ] {
        let r = rejected(&mut e, c, Actor::Host, T0 + 4 * M);
        assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    }
    assert!(matches!(
        e.join("Late", "Nowhere", Lang::En, false),
        Err(Rejection::InvalidState(_))
    ));
}

#[test]
fn a_revisited_segment_continues_from_what_is_left_of_its_plan() {
    let mut e = at_segment(ROUND_1, T0);
    // 8 minutes of round 1's 20, then on to round 2 and back.
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 8 * M);
    assert_eq!(e.state().segments[ROUND_1].elapsed_ms, 8 * M);
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 10 * M);
    let s = e.state();
    assert_eq!(s.current, Some(ROUND_1));
    assert_eq!(
        s.segment_clock,
        Clock::Running {
            ends_at: T0 + 10 * M + 12 * M
        }
    );
    assert_eq!(
        s.segments[ROUND_1].started_at,
        Some(T0),
        "first start is kept"
    );
    assert_eq!(s.segments[ROUND_1].ended_at, None, "it is current again");
    assert_eq!(s.segments[ROUND_2].elapsed_ms, 2 * M);
    // Another 5 minutes: 13 of 20 spent in all.
    ok(&mut e, seg("round-2"), Actor::Host, T0 + 15 * M);
    assert_eq!(e.state().segments[ROUND_1].elapsed_ms, 13 * M);
    assert_eq!(e.state().segments[ROUND_1].ended_at, Some(T0 + 15 * M));
    // Round 2 continues with its 18 minutes left.
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 33 * M
        }
    );
}

#[test]
fn a_revisited_segment_keeps_its_clock_as_it_was_left() {
    // Round 1: 8 minutes in, the chair cuts 2 minutes and pauses, then goes on and back.
    let mut e = at_segment(ROUND_1, T0);
    ok(
        &mut e,
        Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: -120,
        },
        Actor::Host,
        T0 + 8 * M,
    );
    ok(
        &mut e,
        Command::PauseClock {
            target: ClockTarget::Segment,
        },
        Actor::Host,
        T0 + 8 * M,
    );
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 9 * M);
    assert_eq!(e.state().segments[ROUND_1].left_remaining, Some(10 * M));
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 10 * M);
    // 20 − 8 − 2 = 10 minutes: the cut is not restored, the minute paused not lost.
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 20 * M
        }
    );
}

#[test]
fn a_revisited_segment_that_ran_over_has_nothing_left() {
    let mut e = started();
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 7 * M);
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 8 * M);
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 8 * M
        }
    );
    assert_eq!(e.state().segment_clock.remaining(T0 + 9 * M), -M);
}

// ---------------------------------------------------------------------------------------
// Segment clock
// ---------------------------------------------------------------------------------------

#[test]
fn the_segment_clock_is_a_deadline_not_a_tick() {
    let mut e = started();
    let before = e.state().clone();
    // Time passes: nothing changes in the state; the remaining time is computed.
    assert_eq!(e.state().segment_clock.remaining(T0), 5 * M);
    assert_eq!(
        e.state().segment_clock.remaining(T0 + 90 * S),
        3 * M + 30 * S
    );
    assert_eq!(e.state().segment_clock.remaining(T0 + 5 * M), 0);
    // Overtime is negative remaining.
    assert_eq!(
        e.state().segment_clock.remaining(T0 + 6 * M + 15 * S),
        -(M + 15 * S)
    );
    // With auto-advance off, there is no deadline to wake for, and timeouts do nothing.
    assert_eq!(e.next_deadline(), None);
    assert!(e.handle_timeout(T0 + 60 * M).is_empty());
    assert_eq!(e.state(), &before);
    assert_eq!(e.seq(), 2);
}

#[test]
fn pause_keeps_remaining_and_resume_sets_a_new_deadline() {
    let mut e = started();
    let events = ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::ClockPaused {
            target: SEGMENT,
            at: T0 + M
        }]
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: 4 * M });
    // A paused clock keeps its remaining time however long it stays paused.
    for t in [T0 + M, T0 + 5 * M, T0 + 50 * M] {
        assert_eq!(e.state().segment_clock.remaining(t), 4 * M);
    }
    let r = rejected(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let events = ok(
        &mut e,
        Command::ResumeClock { target: SEGMENT },
        Actor::Host,
        T0 + 10 * M,
    );
    assert_eq!(
        events,
        [Event::ClockStarted {
            target: SEGMENT,
            at: T0 + 10 * M
        }]
    );
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 14 * M
        }
    );
    let r = rejected(
        &mut e,
        Command::ResumeClock { target: SEGMENT },
        Actor::Host,
        T0 + 11 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::StartClock { target: SEGMENT },
        Actor::Host,
        T0 + 11 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    // Start is the same as resume on a paused clock.
    ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 12 * M,
    );
    ok(
        &mut e,
        Command::StartClock { target: SEGMENT },
        Actor::Host,
        T0 + 13 * M,
    );
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 15 * M
        }
    );
}

#[test]
fn pause_in_overtime_keeps_the_negative_remaining() {
    let mut e = started();
    ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 6 * M,
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: -M });
    ok(
        &mut e,
        Command::ResumeClock { target: SEGMENT },
        Actor::Host,
        T0 + 8 * M,
    );
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 7 * M
        }
    );
    assert_eq!(e.state().segment_clock.remaining(T0 + 8 * M), -M);
}

#[test]
fn adjust_adds_and_removes_time_running_or_paused() {
    let mut e = started();
    let events = ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 90,
        },
        Actor::Host,
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::ClockAdjusted {
            target: SEGMENT,
            delta_ms: 90 * S
        }]
    );
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 6 * M + 30 * S
        }
    );
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: -120,
        },
        Actor::Host,
        T0 + M,
    );
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 4 * M + 30 * S
        }
    );
    ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 2 * M,
    );
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 30,
        },
        Actor::Host,
        T0 + 3 * M,
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: 3 * M });
    // Removing more than is left runs into overtime.
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: -240,
        },
        Actor::Host,
        T0 + 3 * M,
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: -M });
    // The bounds: at most an hour either way, never zero.
    for seconds in [0, 3601, -3601, i64::MAX, i64::MIN] {
        let r = rejected(
            &mut e,
            Command::AdjustClock {
                target: SEGMENT,
                seconds,
            },
            Actor::Host,
            T0 + 4 * M,
        );
        assert!(
            matches!(r, Rejection::InvalidArgument(_)),
            "{seconds}: {r:?}"
        );
    }
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 3600,
        },
        Actor::Host,
        T0 + 4 * M,
    );
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: -3600,
        },
        Actor::Host,
        T0 + 4 * M,
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: -M });
}

#[test]
fn drift_and_overrun_follow_the_segment_clock() {
    let a = seed();
    let mut e = fresh();
    // Before the start: lateness of the start, never negative.
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 - M), 0);
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 2 * M), 2 * M);
    ok(&mut e, Command::StartMeeting, Actor::Host, T0 + 2 * M);
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 2 * M), 2 * M);
    assert_eq!(
        schedule::overrun_ms(&a, e.state(), INTRO, T0 + 2 * M),
        Some(-5 * M)
    );
    assert_eq!(
        schedule::overrun_ms(&a, e.state(), WELCOME, T0 + 2 * M),
        None
    );
    // Adding a minute adds a minute of drift.
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 60,
        },
        Actor::Host,
        T0 + 3 * M,
    );
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 3 * M), 3 * M);
    // In overtime, drift grows with the clock.
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 10 * M), 5 * M);
    assert_eq!(
        schedule::overrun_ms(&a, e.state(), INTRO, T0 + 10 * M),
        Some(3 * M)
    );
    // A paused clock makes the meeting later by every minute it stays paused.
    ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 4 * M,
    );
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 4 * M), 3 * M);
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 6 * M), 5 * M);
    ok(&mut e, Command::NextSegment, Actor::Host, T0 + 6 * M);
    // 4 minutes of the intro's 5 were spent: it finished a minute early.
    assert_eq!(
        schedule::overrun_ms(&a, e.state(), INTRO, T0 + 9 * M),
        Some(-M)
    );
    assert_eq!(schedule::drift_ms(&a, e.state(), T0 + 6 * M), M);
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + 7 * M);
    assert_eq!(
        schedule::drift_ms(&a, e.state(), T0 + 99 * M),
        7 * M - 120 * M
    );
    assert_eq!(
        schedule::overrun_ms(&a, e.state(), WELCOME, T0 + 99 * M),
        Some(-4 * M)
    );
}

// ---------------------------------------------------------------------------------------
// Speech clock
// ---------------------------------------------------------------------------------------

#[test]
fn give_floor_to_a_named_speaker_uses_the_per_speech_limit() {
    // Intro: the meeting's default limit (4 min).
    let mut e = started();
    let events = ok(&mut e, give("sophie-van-haasen"), Actor::Host, T0 + 10 * S);
    let expected_speaker = SpeakerInfo {
        person: Some("sophie-van-haasen".into()),
        participant: None,
        name: "Sophie van Haasen".into(),
        delegation: Some("GFMD Mayors Mechanism".into()),
        language: Lang::En,
    };
    assert_eq!(
        events,
        [Event::FloorGiven {
            speaker: expected_speaker.clone(),
            from_hand: None,
            limit_ms: Some(4 * M),
            at: T0 + 10 * S,
        }]
    );
    let sp = e.state().speech.as_ref().expect("a speech");
    assert_eq!(sp.speaker, expected_speaker);
    assert_eq!(sp.segment, INTRO);
    assert_eq!(sp.started_at, T0 + 10 * S);
    assert_eq!(sp.limit_ms, Some(4 * M));
    assert_eq!(sp.granted_ms, 4 * M);
    assert_eq!(
        sp.clock,
        Clock::Running {
            ends_at: T0 + 10 * S + 4 * M
        }
    );
    // Round 1: the segment's own limit (5 min).
    let mut e = at_segment(ROUND_1, T0);
    ok(&mut e, give("carola-gunnarsson"), Actor::Host, T0 + M);
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(sp.limit_ms, Some(5 * M));
    assert_eq!(
        sp.clock,
        Clock::Running {
            ends_at: T0 + 6 * M
        }
    );
    assert_eq!(sp.speaker.language, Lang::En);
    // Open conversation: 3 min; a Spanish-speaking reaction speaker.
    let mut e = at_segment(OPEN, T0);
    ok(&mut e, give("diego-morejon"), Actor::Host, T0 + M);
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(sp.limit_ms, Some(3 * M));
    assert_eq!(sp.speaker.language, Lang::Es);
    assert_eq!(sp.speaker.name, "Diego Morejon");
    // Someone who is not in the agenda.
    let r = rejected(&mut e, give("jane-doe"), Actor::Host, T0 + 2 * M);
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
}

#[test]
fn end_speech_records_spoken_time_without_pauses() {
    let mut e = at_segment(ROUND_1, T0);
    ok(&mut e, give("carola-gunnarsson"), Actor::Host, T0 + M);
    ok(
        &mut e,
        Command::PauseClock { target: SPEECH },
        Actor::Host,
        T0 + 2 * M,
    );
    assert_eq!(
        e.state().speech.as_ref().unwrap().clock,
        Clock::Paused { remaining: 4 * M }
    );
    let r = rejected(
        &mut e,
        Command::PauseClock { target: SPEECH },
        Actor::Host,
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(
        &mut e,
        Command::ResumeClock { target: SPEECH },
        Actor::Host,
        T0 + 2 * M + 45 * S,
    );
    // The segment clock was not touched by the speech clock.
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 20 * M
        }
    );
    let events = ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 5 * M);
    assert_eq!(events, [Event::SpeechEnded { at: T0 + 5 * M }]);
    assert_eq!(e.state().speech, None);
    let rec = &e.state().history[0];
    assert_eq!(rec.speaker.person.as_deref(), Some("carola-gunnarsson"));
    assert_eq!(rec.segment, ROUND_1);
    assert_eq!(rec.started_at, T0 + M);
    assert_eq!(rec.ended_at, T0 + 5 * M);
    assert_eq!(rec.spoken_ms, 4 * M - 45 * S);
    assert_eq!(rec.limit_ms, Some(5 * M));
    assert!(!rec.over_limit);
    let r = rejected(&mut e, Command::EndSpeech, Actor::Host, T0 + 6 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn over_limit_is_strictly_past_the_limit() {
    let mut e = at_segment(ROUND_1, T0);
    ok(&mut e, give("carola-gunnarsson"), Actor::Host, T0);
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 5 * M);
    ok(&mut e, give("alexandra-young"), Actor::Host, T0 + 5 * M);
    // In overtime the speech clock counts on, negative.
    assert_eq!(
        e.state()
            .speech
            .as_ref()
            .unwrap()
            .clock
            .remaining(T0 + 10 * M + S),
        -S
    );
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 10 * M + S);
    let h = &e.state().history;
    assert_eq!((h[0].spoken_ms, h[0].over_limit), (5 * M, false));
    assert_eq!((h[1].spoken_ms, h[1].over_limit), (5 * M + S, true));
}

#[test]
fn speech_clock_adjust_changes_the_time_left_not_the_time_spoken() {
    let mut e = at_segment(ROUND_1, T0);
    ok(&mut e, give("alexandra-young"), Actor::Host, T0);
    ok(
        &mut e,
        Command::AdjustClock {
            target: SPEECH,
            seconds: 60,
        },
        Actor::Host,
        T0 + M,
    );
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(
        sp.clock,
        Clock::Running {
            ends_at: T0 + 6 * M
        }
    );
    assert_eq!(sp.granted_ms, 6 * M);
    ok(
        &mut e,
        Command::AdjustClock {
            target: SPEECH,
            seconds: -30,
        },
        Actor::Host,
        T0 + 2 * M,
    );
    assert_eq!(
        e.state().speech.as_ref().unwrap().clock,
        Clock::Running {
            ends_at: T0 + 5 * M + 30 * S
        }
    );
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 3 * M);
    assert_eq!(e.state().history[0].spoken_ms, 3 * M);
}

#[test]
fn speech_clock_commands_need_a_speech() {
    let mut e = started();
    for c in [
        Command::PauseClock { target: SPEECH },
        Command::ResumeClock { target: SPEECH },
        Command::StartClock { target: SPEECH },
        Command::AdjustClock {
            target: SPEECH,
            seconds: 30,
        },
    ] {
        let r = rejected(&mut e, c, Actor::Host, T0 + M);
        assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    }
}

#[test]
fn giving_the_floor_while_someone_speaks_ends_the_previous_speech() {
    let mut e = at_segment(ROUND_2, T0);
    ok(&mut e, give("salvatore-martello"), Actor::Host, T0);
    let events = ok(&mut e, give("ahmed-skim"), Actor::Host, T0 + 6 * M);
    assert!(matches!(
        events.as_slice(),
        [Event::SpeechEnded { at }, Event::FloorGiven { at: at2, .. }] if *at == T0 + 6 * M && *at2 == T0 + 6 * M
    ));
    let s = e.state();
    assert_eq!(s.history.len(), 1);
    assert_eq!(
        s.history[0].speaker.person.as_deref(),
        Some("salvatore-martello")
    );
    assert_eq!(s.history[0].spoken_ms, 6 * M);
    assert!(s.history[0].over_limit);
    let sp = s.speech.as_ref().unwrap();
    assert_eq!(sp.speaker.person.as_deref(), Some("ahmed-skim"));
    assert_eq!(sp.speaker.language, Lang::Fr);
    // Leaving the segment ends the speech too.
    let events = ok(&mut e, Command::NextSegment, Actor::Host, T0 + 8 * M);
    assert_eq!(
        events,
        [
            Event::SpeechEnded { at: T0 + 8 * M },
            Event::SegmentEntered {
                index: ROUND_3,
                at: T0 + 8 * M
            }
        ]
    );
    assert_eq!(e.state().speech, None);
    assert_eq!(e.state().history[1].spoken_ms, 2 * M);
    assert_eq!(e.state().history[1].segment, ROUND_2);
}

#[test]
fn give_floor_to_a_hand_calls_it_from_the_queue() {
    let mut e = at_segment(OPEN, T0);
    let amina = join(&mut e, "Amina Diallo", "Government of Senegal", Lang::Fr);
    let omar = join(&mut e, "Omar Haddad", "Government of Jordan", Lang::Ar);
    let h1 = raise(&mut e, amina, T0 + M);
    let h2 = raise_with(&mut e, omar, Some(Lang::En), false, T0 + 2 * M);
    let events = ok(&mut e, give_hand(Some(h2)), Actor::Host, T0 + 5 * M);
    assert_eq!(
        events,
        [Event::FloorGiven {
            speaker: SpeakerInfo {
                person: None,
                participant: Some(omar),
                name: "Omar Haddad".into(),
                delegation: Some("Government of Jordan".into()),
                language: Lang::En,
            },
            from_hand: Some(h2),
            limit_ms: Some(3 * M),
            at: T0 + 5 * M,
        }]
    );
    let s = e.state();
    assert_eq!(queue_of(&e), [amina]);
    assert_eq!(s.hand_history.len(), 1);
    let rec = &s.hand_history[0];
    assert_eq!(rec.hand.id, h2);
    assert_eq!(rec.outcome, HandOutcome::Called);
    assert_eq!(rec.left_at, T0 + 5 * M);
    assert_eq!(rec.left_at - rec.hand.raised_at, 3 * M);
    assert_eq!(rec.segment, Some(OPEN));
    assert_eq!(s.speech.as_ref().unwrap().from_hand, Some(h2));
    // No id: the first in the queue; it ends Omar's speech.
    let events = ok(&mut e, give_hand(None), Actor::Host, T0 + 7 * M);
    assert!(matches!(events[0], Event::SpeechEnded { .. }));
    assert!(matches!(events[1], Event::FloorGiven { from_hand: Some(h), .. } if h == h1));
    assert!(e.state().queue.is_empty());
    assert_eq!(e.state().history[0].speaker.participant, Some(omar));
    assert_eq!(e.state().history[0].speaker.language, Lang::En);
    let r = rejected(&mut e, give_hand(None), Actor::Host, T0 + 8 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let r = rejected(&mut e, give_hand(Some(h1)), Actor::Host, T0 + 8 * M);
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
}

// ---------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------

#[test]
fn raise_hand_records_the_floor_language_and_server_time() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "Claire Dubois", "City of Montreal", Lang::Fr);
    assert_eq!(p, 1);
    let h = raise(&mut e, p, T0 + 17 * S);
    let hand = &e.state().queue[0];
    assert_eq!(hand.id, h);
    assert_eq!(h, 1);
    assert_eq!(hand.participant, p);
    assert_eq!(hand.name, "Claire Dubois");
    assert_eq!(hand.delegation, "City of Montreal");
    assert_eq!(hand.language, Lang::Fr, "the join language by default");
    assert!(!hand.point_of_order);
    assert_eq!(hand.raised_at, T0 + 17 * S);
    assert_eq!(e.state().next_hand, 2);
    // An explicit floor language wins.
    ok(
        &mut e,
        Command::LowerHand {
            point_of_order: false,
        },
        Actor::Participant(p),
        T0 + M,
    );
    let h = raise_with(&mut e, p, Some(Lang::Es), false, T0 + 2 * M);
    assert_eq!(h, 2, "hand ids are never reused");
    assert_eq!(e.state().queue[0].language, Lang::Es);
}

#[test]
fn a_language_outside_the_meeting_is_refused() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "Hans Weber", "City of Zurich", Lang::De);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(p),
        T0 + M,
    );
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("German")),
        "{r:?}"
    );
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: Some(Lang::Zh),
            point_of_order: true,
        },
        Actor::Participant(p),
        T0 + M,
    );
    assert!(matches!(r, Rejection::InvalidArgument(_)), "{r:?}");
    // In one of the meeting's languages it goes up.
    raise_with(&mut e, p, Some(Lang::En), false, T0 + M);
}

#[test]
fn points_of_order_go_first_in_their_own_order() {
    let mut e = at_segment(OPEN, T0);
    let p: Vec<_> = (0..5)
        .map(|i| join(&mut e, &format!("P{i}"), "D", Lang::En))
        .collect();
    raise(&mut e, p[0], T0 + S);
    raise(&mut e, p[1], T0 + 2 * S);
    raise_with(&mut e, p[2], None, true, T0 + 3 * S);
    raise(&mut e, p[3], T0 + 4 * S);
    raise_with(&mut e, p[4], None, true, T0 + 5 * S);
    raise_with(&mut e, p[0], None, true, T0 + 6 * S);
    assert_eq!(queue_of(&e), [p[2], p[4], p[0], p[0], p[1], p[3]]);
    let poo: Vec<bool> = e.state().queue.iter().map(|h| h.point_of_order).collect();
    assert_eq!(poo, [true, true, true, false, false, false]);
}

#[test]
fn one_ordinary_hand_and_one_point_of_order_per_participant() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "Lucas Ferreira", "City of Montevideo", Lang::Es);
    raise(&mut e, p, T0 + S);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: Some(Lang::En),
            point_of_order: false,
        },
        Actor::Participant(p),
        T0 + 2 * S,
    );
    assert!(matches!(r, Rejection::Duplicate(_)), "{r:?}");
    raise_with(&mut e, p, None, true, T0 + 3 * S);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: true,
        },
        Actor::Participant(p),
        T0 + 4 * S,
    );
    assert!(matches!(r, Rejection::Duplicate(_)), "{r:?}");
    assert_eq!(e.state().queue.len(), 2);
    assert_eq!(r.code(), podium_protocol::ErrorCode::Duplicate);
}

#[test]
fn a_closed_queue_refuses_ordinary_hands_but_not_points_of_order() {
    let mut e = at_segment(OPEN, T0);
    let a = join(&mut e, "A", "DA", Lang::En);
    let b = join(&mut e, "B", "DB", Lang::Ar);
    raise(&mut e, a, T0 + S);
    let events = ok(&mut e, Command::CloseQueue, Actor::Host, T0 + 2 * S);
    assert_eq!(events, [Event::QueueOpenChanged { open: false }]);
    assert!(!e.state().queue_open);
    assert_eq!(queue_of(&e), [a], "closing keeps the hands that are up");
    let r = rejected(&mut e, Command::CloseQueue, Actor::Host, T0 + 3 * S);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(b),
        T0 + 4 * S,
    );
    assert!(matches!(r, Rejection::QueueClosed(_)), "{r:?}");
    raise_with(&mut e, b, None, true, T0 + 5 * S);
    assert_eq!(queue_of(&e), [b, a]);
    ok(&mut e, Command::ReopenQueue, Actor::Host, T0 + 6 * S);
    assert!(e.state().queue_open);
    let r = rejected(&mut e, Command::ReopenQueue, Actor::Host, T0 + 7 * S);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    raise(&mut e, b, T0 + 8 * S);
    assert_eq!(queue_of(&e), [b, a, b]);
}

#[test]
fn a_participant_lowers_their_own_hand() {
    let mut e = at_segment(OPEN, T0);
    let a = join(&mut e, "A", "DA", Lang::En);
    let b = join(&mut e, "B", "DB", Lang::En);
    let ha = raise(&mut e, a, T0 + S);
    let hp = raise_with(&mut e, a, None, true, T0 + 2 * S);
    let hb = raise(&mut e, b, T0 + 3 * S);
    let events = ok(
        &mut e,
        Command::LowerHand {
            point_of_order: false,
        },
        Actor::Participant(a),
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::HandLeft {
            hand: ha,
            outcome: HandOutcome::Lowered,
            at: T0 + M
        }]
    );
    let ids: Vec<_> = e.state().queue.iter().map(|h| h.id).collect();
    assert_eq!(ids, [hp, hb], "only the ordinary hand went down");
    let rec = &e.state().hand_history[0];
    assert_eq!(
        (rec.hand.id, rec.outcome, rec.left_at),
        (ha, HandOutcome::Lowered, T0 + M)
    );
    let r = rejected(
        &mut e,
        Command::LowerHand {
            point_of_order: false,
        },
        Actor::Participant(a),
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    ok(
        &mut e,
        Command::LowerHand {
            point_of_order: true,
        },
        Actor::Participant(a),
        T0 + 2 * M,
    );
    assert_eq!(queue_of(&e), [b]);
}

#[test]
fn the_chair_removes_moves_and_clears_hands() {
    let mut e = at_segment(OPEN, T0);
    let p: Vec<_> = (0..4)
        .map(|i| join(&mut e, &format!("P{i}"), "D", Lang::En))
        .collect();
    let h: Vec<_> = p
        .iter()
        .enumerate()
        .map(|(i, &who)| raise(&mut e, who, T0 + i as i64 * S))
        .collect();
    let sophie = moderator("sophie-van-haasen");
    // Remove.
    let events = ok(
        &mut e,
        Command::RemoveHand { hand: h[1] },
        sophie.clone(),
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::HandLeft {
            hand: h[1],
            outcome: HandOutcome::Removed,
            at: T0 + M
        }]
    );
    assert_eq!(queue_of(&e), [p[0], p[2], p[3]]);
    let r = rejected(
        &mut e,
        Command::RemoveHand { hand: h[1] },
        sophie.clone(),
        T0 + M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // Move.
    let events = ok(
        &mut e,
        Command::MoveHand { hand: h[3], to: 0 },
        sophie.clone(),
        T0 + M,
    );
    assert_eq!(events, [Event::HandMoved { hand: h[3], to: 0 }]);
    assert_eq!(queue_of(&e), [p[3], p[0], p[2]]);
    ok(
        &mut e,
        Command::MoveHand { hand: h[3], to: 2 },
        Actor::Host,
        T0 + M,
    );
    assert_eq!(queue_of(&e), [p[0], p[2], p[3]]);
    let r = rejected(
        &mut e,
        Command::MoveHand { hand: h[3], to: 3 },
        Actor::Host,
        T0 + M,
    );
    assert!(matches!(r, Rejection::InvalidArgument(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::MoveHand { hand: h[3], to: 2 },
        Actor::Host,
        T0 + M,
    );
    assert!(matches!(r, Rejection::InvalidArgument(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::MoveHand { hand: 99, to: 0 },
        Actor::Host,
        T0 + M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // Clear.
    let events = ok(&mut e, Command::ClearQueue, sophie.clone(), T0 + 2 * M);
    assert_eq!(events, [Event::QueueCleared { at: T0 + 2 * M }]);
    assert!(e.state().queue.is_empty());
    let outcomes: Vec<_> = e
        .state()
        .hand_history
        .iter()
        .map(|r| (r.hand.participant, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (p[1], HandOutcome::Removed),
            (p[0], HandOutcome::Cleared),
            (p[2], HandOutcome::Cleared),
            (p[3], HandOutcome::Cleared),
        ]
    );
    let r = rejected(&mut e, Command::ClearQueue, sophie, T0 + 3 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    // A cleared participant may raise again, with a fresh id.
    let again = raise(&mut e, p[0], T0 + 4 * M);
    assert_eq!(again, 5);
}

/// Participants 0..n; those in `spoken` have had the floor from the queue.
fn with_speakers(n: usize, spoken: &[usize]) -> (Engine, Vec<ParticipantId>) {
    let mut e = at_segment(OPEN, T0);
    let p: Vec<_> = (0..n)
        .map(|i| join(&mut e, &format!("P{i}"), "D", Lang::En))
        .collect();
    let mut t = T0;
    for &i in spoken {
        raise(&mut e, p[i], t);
        ok(&mut e, give_hand(None), Actor::Host, t + S);
        ok(&mut e, Command::EndSpeech, Actor::Host, t + M);
        t += M;
    }
    (e, p)
}

#[test]
fn not_yet_spoken_first_at_insertion() {
    let (mut e, p) = with_speakers(5, &[0, 1]);
    let t = T0 + 10 * M;
    ok(
        &mut e,
        Command::SetPriority {
            not_yet_spoken_first: true,
        },
        Actor::Host,
        t,
    );
    assert!(e.state().not_yet_spoken_first);
    raise(&mut e, p[0], t + S); // has spoken
    raise(&mut e, p[2], t + 2 * S); // has not: ahead of p0
    assert_eq!(queue_of(&e), [p[2], p[0]]);
    raise(&mut e, p[1], t + 3 * S); // has spoken: at the end
    raise(&mut e, p[3], t + 4 * S); // has not: after p2, ahead of p0
    assert_eq!(queue_of(&e), [p[2], p[3], p[0], p[1]]);
    raise_with(&mut e, p[1], None, true, t + 5 * S); // point of order: still first
    raise(&mut e, p[4], t + 6 * S);
    assert_eq!(queue_of(&e), [p[1], p[2], p[3], p[4], p[0], p[1]]);
    // Whoever speaks now counts as having spoken.
    ok(&mut e, give_hand(None), Actor::Host, t + 7 * S); // p1's point of order
    ok(&mut e, give_hand(None), Actor::Host, t + 8 * S); // p2 has the floor
    raise(&mut e, p[2], t + 9 * S);
    assert_eq!(queue_of(&e), [p[3], p[4], p[0], p[1], p[2]]);
}

#[test]
fn without_the_priority_hands_are_first_come_first_served() {
    let (mut e, p) = with_speakers(3, &[0]);
    let t = T0 + 10 * M;
    raise(&mut e, p[0], t + S);
    raise(&mut e, p[1], t + 2 * S);
    raise(&mut e, p[2], t + 3 * S);
    assert_eq!(queue_of(&e), [p[0], p[1], p[2]]);
}

#[test]
fn not_yet_spoken_first_reorders_when_switched_on() {
    let (mut e, p) = with_speakers(5, &[0, 2]);
    let t = T0 + 10 * M;
    raise_with(&mut e, p[4], None, true, t);
    raise(&mut e, p[0], t + S); // spoken
    raise(&mut e, p[1], t + 2 * S);
    raise(&mut e, p[2], t + 3 * S); // spoken
    raise(&mut e, p[3], t + 4 * S);
    assert_eq!(queue_of(&e), [p[4], p[0], p[1], p[2], p[3]]);
    let events = ok(
        &mut e,
        Command::SetPriority {
            not_yet_spoken_first: true,
        },
        Actor::Host,
        t + M,
    );
    assert_eq!(
        events,
        [Event::PriorityChanged {
            not_yet_spoken_first: true
        }]
    );
    // Stable: the point of order stays first, then those who have not spoken, in order.
    assert_eq!(queue_of(&e), [p[4], p[1], p[3], p[0], p[2]]);
    // Switching it off leaves the order as it is.
    ok(
        &mut e,
        Command::SetPriority {
            not_yet_spoken_first: false,
        },
        Actor::Host,
        t + 2 * M,
    );
    assert_eq!(queue_of(&e), [p[4], p[1], p[3], p[0], p[2]]);
    assert!(!e.state().not_yet_spoken_first);
}

#[test]
fn observers_raise_hands_only_when_the_host_allows_it() {
    let mut e = at_segment(OPEN, T0);
    let o = join_observer(&mut e, "Youth observer", "MGCY");
    assert!(e.state().participants[0].observer);
    let raise_cmd = Command::RaiseHand {
        language: None,
        point_of_order: false,
    };
    let r = rejected(&mut e, raise_cmd.clone(), Actor::Observer(o), T0 + S);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: true,
        },
        Actor::Observer(o),
        T0 + S,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    // A moderator cannot allow it; the host can.
    let r = rejected(
        &mut e,
        Command::SetObserverHands { allowed: true },
        moderator("sophie-van-haasen"),
        T0 + S,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let events = ok(
        &mut e,
        Command::SetObserverHands { allowed: true },
        Actor::Host,
        T0 + 2 * S,
    );
    assert_eq!(events, [Event::ObserverHandsChanged { allowed: true }]);
    ok(&mut e, raise_cmd.clone(), Actor::Observer(o), T0 + 3 * S);
    assert_eq!(queue_of(&e), [o]);
    ok(
        &mut e,
        Command::LowerHand {
            point_of_order: false,
        },
        Actor::Observer(o),
        T0 + 4 * S,
    );
    ok(
        &mut e,
        Command::SetObserverHands { allowed: false },
        Actor::Host,
        T0 + 5 * S,
    );
    let r = rejected(&mut e, raise_cmd, Actor::Observer(o), T0 + 6 * S);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
}

#[test]
fn an_unknown_participant_cannot_raise_a_hand() {
    let mut e = at_segment(OPEN, T0);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(42),
        T0,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
}

#[test]
fn join_checks_name_and_delegation_and_numbers_participants() {
    let mut e = fresh();
    let (id, events) = e
        .join("  Amina Diallo ", "Government of Senegal", Lang::Fr, false)
        .unwrap();
    assert_eq!(id, 1);
    assert!(matches!(
        events.as_slice(),
        [Event::ParticipantJoined { participant }] if participant.name == "Amina Diallo"
    ));
    assert_eq!(e.seq(), 1);
    let (id, _) = e
        .join("Amina Diallo", "Government of Senegal", Lang::Fr, false)
        .unwrap();
    assert_eq!(id, 2, "two people may share a name; they get different ids");
    let state = e.state().clone();
    for (name, delegation) in [
        ("", "X"),
        ("   ", "X"),
        ("X", ""),
        ("a\u{7}b", "X"),
        (&"n".repeat(81) as &str, "X"),
        ("X", &"d".repeat(121) as &str),
    ] {
        let r = e.join(name, delegation, Lang::En, false).unwrap_err();
        assert!(
            matches!(r, Rejection::InvalidArgument(_)),
            "{name:?}/{delegation:?}: {r:?}"
        );
    }
    assert_eq!(e.state(), &state);
    assert_eq!(e.seq(), 2);
    e.join(&"n".repeat(80), &"é".repeat(120), Lang::Ar, true)
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Messages and signals
// ---------------------------------------------------------------------------------------

#[test]
fn message_to_the_speaker_is_trimmed_counted_and_limited() {
    let mut e = at_segment(ROUND_1, T0);
    let cecile = moderator("cecile-riallant");
    // Nobody on the floor: there is nobody to send it to.
    let r = rejected(
        &mut e,
        Command::MessageSpeaker {
            text: "please wrap up".into(),
        },
        cecile.clone(),
        T0,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(&mut e, give("carola-gunnarsson"), cecile.clone(), T0);
    let events = ok(
        &mut e,
        Command::MessageSpeaker {
            text: "  please wrap up  ".into(),
        },
        cecile.clone(),
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::SpeakerMessageSent {
            text: "please wrap up".into(),
            at: T0 + M
        }]
    );
    let m = e.state().speech.as_ref().unwrap().message.as_ref().unwrap();
    assert_eq!((m.n, m.text.as_str(), m.at), (1, "please wrap up", T0 + M));
    ok(
        &mut e,
        Command::MessageSpeaker {
            text: "é".repeat(200),
        },
        cecile.clone(),
        T0 + 2 * M,
    );
    assert_eq!(
        e.state()
            .speech
            .as_ref()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .n,
        2
    );
    for text in ["", "   ", "line\nbreak", "tab\there"] {
        let r = rejected(
            &mut e,
            Command::MessageSpeaker { text: text.into() },
            cecile.clone(),
            T0,
        );
        assert!(
            matches!(r, Rejection::InvalidArgument(_)),
            "{text:?}: {r:?}"
        );
    }
    let r = rejected(
        &mut e,
        Command::MessageSpeaker {
            text: "é".repeat(201),
        },
        cecile,
        T0,
    );
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("200")),
        "{r:?}"
    );
}

#[test]
fn interpreters_signal_slow_down_and_no_interpretation() {
    let mut e = at_segment(ROUND_2, T0);
    ok(&mut e, give("ahmed-skim"), Actor::Host, T0);
    let events = ok(
        &mut e,
        Command::SlowDown {
            language: Some(Lang::Ar),
        },
        Actor::Interpreter(Lang::Ar),
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::SlowDownRequested {
            language: Some(Lang::Ar),
            at: T0 + M
        }]
    );
    // Without a language, the booth's own from its link.
    ok(
        &mut e,
        Command::SlowDown { language: None },
        Actor::Interpreter(Lang::En),
        T0 + 2 * M,
    );
    let s = e
        .state()
        .speech
        .as_ref()
        .unwrap()
        .slow_down
        .as_ref()
        .unwrap();
    assert_eq!((s.n, s.language, s.at), (2, Some(Lang::En), T0 + 2 * M));
    ok(
        &mut e,
        Command::NoInterpretation {
            language: Some(Lang::Es),
        },
        Actor::Interpreter(Lang::Es),
        T0 + 3 * M,
    );
    let s = e.state().no_interpretation.as_ref().unwrap();
    assert_eq!((s.n, s.language, s.at), (1, Some(Lang::Es), T0 + 3 * M));
    assert_eq!(
        e.state()
            .speech
            .as_ref()
            .unwrap()
            .slow_down
            .as_ref()
            .unwrap()
            .n,
        2,
        "separate counters"
    );
    // Signals belong to the speech: they vanish when it ends, and the next speaker
    // starts with none.
    ok(&mut e, give("salvatore-martello"), Actor::Host, T0 + 4 * M);
    let speech = e.state().speech.as_ref().unwrap();
    assert_eq!((&speech.message, &speech.slow_down), (&None, &None));
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 5 * M);
    let r = rejected(
        &mut e,
        Command::SlowDown { language: None },
        Actor::Interpreter(Lang::Ar),
        T0 + 5 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn a_speaker_signals_done_and_ends_only_their_own_speech() {
    let mut e = at_segment(ROUND_1, T0);
    let carola = speaker("carola-gunnarsson");
    let alexandra = speaker("alexandra-young");
    // Nobody speaks.
    let r = rejected(&mut e, Command::Done, carola.clone(), T0);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(
        &mut e,
        give("carola-gunnarsson"),
        moderator("cecile-riallant"),
        T0,
    );
    // Someone else cannot end Carola's speech.
    let r = rejected(&mut e, Command::Done, alexandra.clone(), T0 + M);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let events = ok(&mut e, Command::Done, carola.clone(), T0 + 4 * M);
    assert_eq!(
        events,
        [
            Event::SpeakerDone { at: T0 + 4 * M },
            Event::SpeechEnded { at: T0 + 4 * M }
        ]
    );
    assert_eq!(e.state().speech, None);
    assert_eq!(e.state().speaker_done.as_ref().unwrap().n, 1);
    assert_eq!(e.state().history[0].spoken_ms, 4 * M);
    // A participant given the floor from the queue may say done; nobody else may.
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "A", "D", Lang::En);
    let q = join(&mut e, "B", "D", Lang::En);
    raise(&mut e, p, T0);
    ok(&mut e, give_hand(None), Actor::Host, T0 + S);
    let r = rejected(&mut e, Command::Done, speaker("bettina-etter"), T0 + M);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let r = rejected(&mut e, Command::Done, Actor::Participant(q), T0 + M);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let events = ok(&mut e, Command::Done, Actor::Participant(p), T0 + M);
    assert_eq!(
        events,
        [
            Event::SpeakerDone { at: T0 + M },
            Event::SpeechEnded { at: T0 + M }
        ]
    );
    assert_eq!(e.state().history[0].speaker.participant, Some(p));
}

// ---------------------------------------------------------------------------------------
// Auto-advance
// ---------------------------------------------------------------------------------------

#[test]
fn auto_advance_fires_at_the_deadline_and_not_before() {
    let mut e = started();
    assert_eq!(e.next_deadline(), None, "off in the seed agenda");
    let events = ok(
        &mut e,
        Command::SetAutoAdvance { on: true },
        Actor::Host,
        T0,
    );
    assert_eq!(events, [Event::AutoAdvanceChanged { on: true }]);
    assert_eq!(e.next_deadline(), Some(T0 + 5 * M));
    ok(&mut e, give("sophie-van-haasen"), Actor::Host, T0 + M);
    let seq = e.seq();
    assert!(e.handle_timeout(T0 + 5 * M - 1).is_empty());
    assert_eq!(e.seq(), seq);
    let events = e.handle_timeout(T0 + 5 * M);
    assert_eq!(
        events,
        [
            Event::SpeechEnded { at: T0 + 5 * M },
            Event::SegmentEntered {
                index: WELCOME,
                at: T0 + 5 * M
            }
        ]
    );
    assert_eq!(e.seq(), seq + 2);
    assert_eq!(e.state().current, Some(WELCOME));
    assert_eq!(e.state().history[0].spoken_ms, 4 * M);
    assert_eq!(e.next_deadline(), Some(T0 + 10 * M));
    // The deadline moves with the clock.
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 120,
        },
        Actor::Host,
        T0 + 6 * M,
    );
    assert_eq!(e.next_deadline(), Some(T0 + 12 * M));
    ok(
        &mut e,
        Command::PauseClock { target: SEGMENT },
        Actor::Host,
        T0 + 7 * M,
    );
    assert_eq!(e.next_deadline(), None, "a paused clock has no deadline");
    assert!(e.handle_timeout(T0 + 60 * M).is_empty());
    ok(
        &mut e,
        Command::ResumeClock { target: SEGMENT },
        Actor::Host,
        T0 + 8 * M,
    );
    assert_eq!(e.next_deadline(), Some(T0 + 13 * M));
    // Fired late (the shell was busy): the next segment starts when it fired.
    let events = e.handle_timeout(T0 + 13 * M + 250);
    assert_eq!(
        events,
        [Event::SegmentEntered {
            index: ROUND_1,
            at: T0 + 13 * M + 250
        }]
    );
    // Only one segment per timeout; the next deadline is the new segment's end.
    assert_eq!(e.next_deadline(), Some(T0 + 33 * M + 250));
    ok(
        &mut e,
        Command::SetAutoAdvance { on: false },
        Actor::Host,
        T0 + 14 * M,
    );
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn auto_advance_stops_at_the_last_segment_and_at_the_end() {
    let mut e = started();
    ok(
        &mut e,
        Command::SetAutoAdvance { on: true },
        Actor::Host,
        T0,
    );
    ok(&mut e, seg("closing"), Actor::Host, T0 + M);
    assert_eq!(e.next_deadline(), None, "the last segment does not advance");
    assert!(e.handle_timeout(T0 + 60 * M).is_empty());
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 2 * M);
    assert_eq!(e.next_deadline(), Some(T0 + 47 * M));
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + 3 * M);
    assert_eq!(e.next_deadline(), None);
    assert!(e.handle_timeout(T0 + 60 * M).is_empty());
    // Before the start, nothing fires either.
    let mut e = fresh();
    ok(
        &mut e,
        Command::SetAutoAdvance { on: true },
        Actor::Host,
        T0 - M,
    );
    assert_eq!(e.next_deadline(), None);
    assert!(e.handle_timeout(T0 + 60 * M).is_empty());
}

#[test]
fn auto_advance_walks_through_the_whole_agenda() {
    let mut e = fresh();
    ok(
        &mut e,
        Command::SetAutoAdvance { on: true },
        Actor::Host,
        T0 - M,
    );
    ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    let planned = e.agenda().planned_starts_ms();
    let mut entered = vec![T0];
    while let Some(deadline) = e.next_deadline() {
        let events = e.handle_timeout(deadline);
        assert_eq!(events.len(), 1);
        entered.push(deadline);
    }
    assert_eq!(entered, planned[..7]);
    assert_eq!(e.state().current, Some(CLOSING));
    let a = e.agenda().clone();
    assert_eq!(schedule::drift_ms(&a, e.state(), planned[6]), 0);
}

// ---------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------

/// Whether a rejection is the expected one.
type IsExpected = fn(&Rejection) -> bool;

#[test]
fn rejected_commands_change_nothing() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "A", "D", Lang::En);
    raise(&mut e, p, T0 + S);
    ok(&mut e, give("bettina-etter"), Actor::Host, T0 + 2 * S);
    let t = T0 + M;
    // Every kind of rejection, each checked by `rejected` to leave state and seq alone.
    let cases: Vec<(Command, Actor, IsExpected)> = vec![
        (Command::NextSegment, Actor::Participant(p), |r| {
            matches!(r, Rejection::Forbidden(_))
        }),
        (Command::EndMeeting, moderator("sophie-van-haasen"), |r| {
            matches!(r, Rejection::Forbidden(_))
        }),
        (Command::StartMeeting, Actor::Host, |r| {
            matches!(r, Rejection::InvalidState(_))
        }),
        (seg("nope"), Actor::Host, |r| {
            matches!(r, Rejection::NotFound(_))
        }),
        (
            Command::RaiseHand {
                language: None,
                point_of_order: false,
            },
            Actor::Participant(p),
            |r| matches!(r, Rejection::Duplicate(_)),
        ),
        (
            Command::AdjustClock {
                target: SPEECH,
                seconds: 0,
            },
            Actor::Host,
            |r| matches!(r, Rejection::InvalidArgument(_)),
        ),
        (
            Command::SlowDown { language: None },
            Actor::Projector,
            |r| matches!(r, Rejection::Forbidden(_)),
        ),
        (Command::Done, Actor::Host, |r| {
            matches!(r, Rejection::Forbidden(_))
        }),
        (
            Command::RaiseHand {
                language: None,
                point_of_order: false,
            },
            Actor::Host,
            |r| matches!(r, Rejection::Forbidden(_)),
        ),
        (
            Command::LowerHand {
                point_of_order: false,
            },
            Actor::Host,
            |r| matches!(r, Rejection::Forbidden(_)),
        ),
    ];
    for (c, a, expected) in cases {
        let r = rejected(&mut e, c.clone(), a.clone(), t);
        assert!(expected(&r), "{c:?} from {a:?}: {r:?}");
    }
    ok(&mut e, Command::CloseQueue, Actor::Host, t);
    let q = join(&mut e, "B", "D", Lang::En);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(q),
        t,
    );
    assert!(matches!(r, Rejection::QueueClosed(_)), "{r:?}");
    assert_eq!(r.code(), podium_protocol::ErrorCode::QueueClosed);
}

#[test]
fn rejection_codes_map_one_to_one() {
    use podium_protocol::ErrorCode;
    let pairs = [
        (Rejection::Forbidden("x".into()), ErrorCode::Forbidden),
        (Rejection::InvalidState("x".into()), ErrorCode::InvalidState),
        (Rejection::NotFound("x".into()), ErrorCode::NotFound),
        (Rejection::Duplicate("x".into()), ErrorCode::Duplicate),
        (Rejection::QueueClosed("x".into()), ErrorCode::QueueClosed),
        (
            Rejection::InvalidArgument("x".into()),
            ErrorCode::InvalidArgument,
        ),
    ];
    for (r, code) in pairs {
        assert_eq!(r.code(), code);
        assert_eq!(r.to_string(), "x");
    }
}

#[test]
fn restore_continues_from_a_snapshot() {
    let mut e = at_segment(ROUND_1, T0);
    ok(&mut e, give("carola-gunnarsson"), Actor::Host, T0 + M);
    let mut r = Engine::restore(e.agenda().clone(), e.state().clone(), e.seq());
    assert_eq!(r.state(), e.state());
    assert_eq!(r.seq(), e.seq());
    let a = ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 3 * M);
    let b = ok(&mut r, Command::EndSpeech, Actor::Host, T0 + 3 * M);
    assert_eq!(a, b);
    assert_eq!(r.state(), e.state());
    let _: &SpeechRecord = &r.state().history[0];
}

#[test]
fn auto_advance_does_not_leave_a_used_up_segment_the_host_went_back_to() {
    let mut e = started();
    ok(
        &mut e,
        Command::SetAutoAdvance { on: true },
        Actor::Host,
        T0,
    );
    // The intro runs its whole 5 minutes and auto-advance enters the welcome.
    assert_eq!(e.handle_timeout(T0 + 5 * M).len(), 1);
    assert_eq!(e.state().current, Some(WELCOME));
    // The host goes back to the intro on purpose: it has no time left, and stays.
    ok(&mut e, Command::PreviousSegment, Actor::Host, T0 + 6 * M);
    assert_eq!(e.state().current, Some(0));
    assert_eq!(e.next_deadline(), None);
    assert!(e.handle_timeout(T0 + 7 * M).is_empty());
    // Given more time (it is 1 min into overtime, so 2 min leave 1), it advances again
    // when that runs out.
    ok(
        &mut e,
        Command::AdjustClock {
            target: SEGMENT,
            seconds: 120,
        },
        Actor::Host,
        T0 + 7 * M,
    );
    assert_eq!(e.next_deadline(), Some(T0 + 8 * M));
}
