//! Live agenda edits: what may change and when, what stays history, what the clocks do,
//! who may edit, and that an edit is all or nothing and replays exactly.

use super::*;
use podium_protocol::{
    AgendaOp, Clock, ClockTarget, Person, PersonPatch, Secs, Segment, SegmentKind, SegmentPatch,
};

fn person(name: &str, language: Lang) -> Person {
    Person {
        id: None,
        name: name.into(),
        title: None,
        affiliation: Some("City of Dhaka".into()),
        country: None,
        language,
        text_url: None,
    }
}

fn aob(minutes: i64) -> Segment {
    Segment {
        id: "aob".into(),
        kind: SegmentKind::OpenFloor,
        title: "Any other business".into(),
        title_original: None,
        question: None,
        question_original: None,
        duration: Secs(minutes * 60),
        speech_limit: None,
        moderator: None,
        speakers: Vec::new(),
        reactions: Vec::new(),
        warning: None,
        danger: None,
    }
}

fn edit(ops: Vec<AgendaOp>) -> Command {
    Command::EditAgenda { ops }
}

fn ids(e: &Engine) -> Vec<&str> {
    e.agenda().segments.iter().map(|s| s.id.as_str()).collect()
}

fn duration(id: &str, minutes: i64) -> AgendaOp {
    AgendaOp::UpdateSegment {
        segment: id.into(),
        set: SegmentPatch {
            duration: Some(Secs(minutes * 60)),
            ..Default::default()
        },
    }
}

/// Refused, and the agenda did not change either.
#[track_caller]
fn refused(e: &mut Engine, command: Command, actor: Actor, now: i64) -> Rejection {
    let agenda = e.agenda().clone();
    let r = rejected(e, command, actor, now);
    assert_eq!(e.agenda(), &agenda, "a refused edit changed the agenda");
    r
}

#[test]
fn inserting_after_the_current_segment_keeps_every_index_and_replans() {
    let mut e = at_segment(ROUND_2, T0 + 30 * M);
    ok(&mut e, give("ahmed-skim"), Actor::Host, T0 + 31 * M);
    let planned_before = e.agenda().planned_starts_ms();
    let events = ok(
        &mut e,
        edit(vec![AgendaOp::InsertSegment {
            at: CLOSING,
            segment: aob(10),
        }]),
        Actor::Host,
        T0 + 32 * M,
    );
    assert!(matches!(&events[..], [Event::AgendaEdited { at, .. }] if *at == T0 + 32 * M));
    assert_eq!(
        ids(&e),
        [
            "intro",
            "welcome",
            "round-1",
            "round-2",
            "round-3",
            "open-conversation",
            "aob",
            "closing"
        ]
    );
    let s = e.state();
    assert_eq!(s.agenda_version, 1);
    assert_eq!(s.segments.len(), 8);
    assert_eq!(s.current, Some(ROUND_2));
    assert_eq!(s.speech.as_ref().unwrap().segment, ROUND_2);
    assert!(s.segments[INTRO].started_at.is_some() && s.segments[CLOSING].started_at.is_none());
    // The plan grows by ten minutes from the inserted segment on; what came before stays.
    let planned = e.agenda().planned_starts_ms();
    assert_eq!(planned[..=CLOSING], planned_before[..=CLOSING]);
    assert_eq!(planned[CLOSING + 1], planned_before[CLOSING] + 10 * M);
    assert_eq!(planned[8], planned_before[7] + 10 * M);
    // The new segment can be gone to.
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "aob".into(),
        },
        Actor::Host,
        T0 + 40 * M,
    );
    assert_eq!(e.state().current, Some(CLOSING));
    assert_eq!(
        e.state().segment_clock,
        Clock::Running {
            ends_at: T0 + 50 * M
        }
    );
}

#[test]
fn segments_up_to_the_last_one_entered_stay_in_place() {
    // Round 3 was on, then the host went back to round 2: everything up to round 3 is
    // fixed (round 3's times refer to index 4), but round 3, not current, is history.
    let mut e = at_segment(ROUND_3, T0);
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "round-2".into(),
        },
        Actor::Host,
        T0 + M,
    );
    for (op, what) in [
        (
            AgendaOp::InsertSegment {
                at: ROUND_3,
                segment: aob(5),
            },
            "insert before the fixed end",
        ),
        (
            AgendaOp::RemoveSegment {
                segment: "welcome".into(),
            },
            "remove a skipped segment below the fixed end",
        ),
        (
            AgendaOp::MoveSegment {
                segment: "closing".into(),
                to: ROUND_3,
            },
            "move into the fixed part",
        ),
        (duration("round-3", 25), "change a segment that has run"),
        (
            AgendaOp::RemoveSpeaker {
                segment: "intro".into(),
                person: "sophie-van-haasen".into(),
            },
            "change the speakers of a segment that has run",
        ),
    ] {
        let r = refused(&mut e, edit(vec![op]), Actor::Host, T0 + 2 * M);
        assert!(matches!(r, Rejection::InvalidState(_)), "{what}: {r:?}");
    }
    // Allowed: the current segment, a skipped one (fields and speakers), anything after
    // the fixed end.
    ok(
        &mut e,
        edit(vec![
            duration("round-2", 25),
            duration("welcome", 3),
            AgendaOp::RemoveSpeaker {
                segment: "round-1".into(),
                person: "carola-gunnarsson".into(),
            },
            AgendaOp::InsertSegment {
                at: ROUND_3 + 1,
                segment: aob(5),
            },
            AgendaOp::MoveSegment {
                segment: "aob".into(),
                to: CLOSING + 1,
            },
        ]),
        Actor::Host,
        T0 + 2 * M,
    );
    assert_eq!(
        ids(&e),
        [
            "intro",
            "welcome",
            "round-1",
            "round-2",
            "round-3",
            "open-conversation",
            "closing",
            "aob"
        ]
    );
}

#[test]
fn a_new_duration_moves_the_current_clock_by_the_difference() {
    // Round 1 (20 min) has run 5 min; the clock is paused with 15 min left.
    let mut e = at_segment(ROUND_1, T0);
    let pause = Command::PauseClock {
        target: ClockTarget::Segment,
    };
    ok(&mut e, pause, Actor::Host, T0 + 5 * M);
    ok(
        &mut e,
        edit(vec![duration("round-1", 15)]),
        Actor::Host,
        T0 + 6 * M,
    );
    assert_eq!(e.state().segment_clock, Clock::Paused { remaining: 10 * M });
    // Running: the deadline moves; cut below what has elapsed, it runs into overtime.
    let resume = Command::ResumeClock {
        target: ClockTarget::Segment,
    };
    ok(&mut e, resume, Actor::Host, T0 + 6 * M);
    ok(
        &mut e,
        edit(vec![duration("round-1", 4)]),
        Actor::Host,
        T0 + 7 * M,
    );
    assert_eq!(e.state().segment_clock.remaining(T0 + 7 * M), -2 * M);
    assert_eq!(e.agenda().segments[ROUND_1].duration, Secs(240));
    // Before the start, the ready clock shows the first segment's new plan.
    let mut f = fresh();
    ok(
        &mut f,
        edit(vec![AgendaOp::InsertSegment {
            at: 0,
            segment: aob(7),
        }]),
        Actor::Host,
        T0 - M,
    );
    assert_eq!(f.state().segment_clock, Clock::Ready { remaining: 7 * M });
    ok(&mut f, Command::StartMeeting, Actor::Host, T0);
    assert_eq!(f.agenda().segments[f.state().current.unwrap()].id, "aob");
}

#[test]
fn speakers_are_added_updated_moved_and_removed_with_stable_ids() {
    let mut e = at_segment(ROUND_2, T0);
    ok(
        &mut e,
        edit(vec![
            AgendaOp::AddSpeaker {
                segment: "round-2".into(),
                speaker: person("Nadia Rahman", Lang::Ar),
                reaction: false,
                at: Some(0),
            },
            AgendaOp::MoveSpeaker {
                segment: "round-2".into(),
                person: "nadia-rahman".into(),
                to: 2,
            },
            AgendaOp::UpdateSpeaker {
                segment: "round-2".into(),
                person: "nadia-rahman".into(),
                set: PersonPatch {
                    name: Some("Nadia Rahman-Khan".into()),
                    language: Some(Lang::Fr),
                    ..Default::default()
                },
            },
            AgendaOp::RemoveSpeaker {
                segment: "round-2".into(),
                person: "salvatore-martello".into(),
            },
        ]),
        Actor::Host,
        T0 + M,
    );
    let round = &e.agenda().segments[ROUND_2];
    let names: Vec<_> = round.speakers.iter().map(|p| p.key()).collect();
    assert_eq!(names, ["ahmed-skim", "nadia-rahman"]);
    let nadia = &round.speakers[1];
    assert_eq!(
        (nadia.id.as_deref(), nadia.name.as_str(), nadia.language),
        (Some("nadia-rahman"), "Nadia Rahman-Khan", Lang::Fr),
        "renamed, the id stays"
    );
    // The late speaker takes the floor in her floor language.
    let events = ok(&mut e, give("nadia-rahman"), Actor::Host, T0 + 2 * M);
    assert!(matches!(&events[..], [Event::FloorGiven { speaker, .. }]
        if speaker.language == Lang::Fr && speaker.name == "Nadia Rahman-Khan"));
    // The same person twice in a segment, or another person under an id in use: refused.
    let r = refused(
        &mut e,
        edit(vec![AgendaOp::AddSpeaker {
            segment: "round-2".into(),
            speaker: person("Ahmed Skim", Lang::Ar),
            reaction: true,
            at: None,
        }]),
        Actor::Host,
        T0 + 3 * M,
    );
    assert!(matches!(r, Rejection::Duplicate(_)), "{r:?}");
    let mut impostor = person("Someone Else", Lang::En);
    impostor.id = Some("ahmed-skim".into());
    let r = refused(
        &mut e,
        edit(vec![AgendaOp::AddSpeaker {
            segment: "round-3".into(),
            speaker: impostor,
            reaction: false,
            at: None,
        }]),
        Actor::Host,
        T0 + 3 * M,
    );
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("another id")),
        "{r:?}"
    );
}

#[test]
fn an_edit_is_all_or_nothing_and_the_result_must_be_a_valid_agenda() {
    let mut e = at_segment(ROUND_1, T0);
    // The first operation is fine, the second names nothing: nothing changes.
    let r = refused(
        &mut e,
        edit(vec![
            duration("round-2", 10),
            AgendaOp::RemoveSegment {
                segment: "nowhere".into(),
            },
        ]),
        Actor::Host,
        T0,
    );
    assert!(
        matches!(r, Rejection::NotFound(ref m) if m.starts_with("operation 2 (remove_segment)")),
        "{r:?}"
    );
    // A language the meeting does not interpret, a zero duration: invalid, with the path.
    let r = refused(
        &mut e,
        edit(vec![AgendaOp::AddSpeaker {
            segment: "round-2".into(),
            speaker: person("Hans Meier", Lang::De),
            reaction: false,
            at: None,
        }]),
        Actor::Host,
        T0,
    );
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("segment[3].speakers[2].language")),
        "{r:?}"
    );
    let r = refused(&mut e, edit(vec![duration("round-3", 0)]), Actor::Host, T0);
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("segment[4].duration")),
        "{r:?}"
    );
    // Danger after warning in one segment.
    let r = refused(
        &mut e,
        edit(vec![AgendaOp::UpdateSegment {
            segment: "round-3".into(),
            set: SegmentPatch {
                danger: Some(Some(Secs(120))),
                ..Default::default()
            },
        }]),
        Actor::Host,
        T0,
    );
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("danger")),
        "{r:?}"
    );
    // No operations, or an insert with an id in use.
    let r = refused(&mut e, edit(vec![]), Actor::Host, T0);
    assert!(matches!(r, Rejection::InvalidArgument(_)), "{r:?}");
    let mut twin = aob(5);
    twin.id = "closing".into();
    let r = refused(
        &mut e,
        edit(vec![AgendaOp::InsertSegment {
            at: 5,
            segment: twin,
        }]),
        Actor::Host,
        T0,
    );
    assert!(matches!(r, Rejection::Duplicate(_)), "{r:?}");
    // After the end, nothing.
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + M);
    let r = refused(
        &mut e,
        edit(vec![duration("closing", 10)]),
        Actor::Host,
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn moderators_add_and_reorder_speakers_of_their_own_segments_only() {
    let mut e = at_segment(ROUND_1, T0);
    let emilia = moderator("emilia-saiz");
    let add = |segment: &str| AgendaOp::AddSpeaker {
        segment: segment.into(),
        speaker: person("Nadia Rahman", Lang::En),
        reaction: false,
        at: None,
    };
    // Emilia moderates round 2, not on yet: she may add to it, and reorder it.
    ok(&mut e, edit(vec![add("round-2")]), emilia.clone(), T0);
    ok(
        &mut e,
        edit(vec![AgendaOp::MoveSpeaker {
            segment: "round-2".into(),
            person: "nadia-rahman".into(),
            to: 0,
        }]),
        emilia.clone(),
        T0 + S,
    );
    // Not to round 1, and she may not remove, update or restructure.
    for op in [
        add("round-1"),
        AgendaOp::RemoveSpeaker {
            segment: "round-2".into(),
            person: "ahmed-skim".into(),
        },
        duration("round-2", 30),
        AgendaOp::RemoveSegment {
            segment: "round-2".into(),
        },
    ] {
        let r = refused(&mut e, edit(vec![op]), emilia.clone(), T0 + 2 * S);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
    for who in [
        speaker("carola-gunnarsson"),
        Actor::Participant(1),
        Actor::Interpreter(Lang::En),
        Actor::Projector,
    ] {
        let r = refused(&mut e, edit(vec![add("round-3")]), who, T0 + 3 * S);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
}

#[test]
fn edits_replay_exactly_from_the_journal_and_from_json() {
    let mut e = fresh();
    let mut journal = Vec::new();
    let mut step = |e: &mut Engine, c: Command, t: i64| journal.extend(ok(e, c, Actor::Host, t));
    step(
        &mut e,
        edit(vec![AgendaOp::InsertSegment {
            at: 2,
            segment: aob(5),
        }]),
        T0 - M,
    );
    step(&mut e, Command::StartMeeting, T0);
    step(&mut e, edit(vec![duration("intro", 8)]), T0 + M);
    step(&mut e, Command::NextSegment, T0 + 8 * M);
    step(
        &mut e,
        edit(vec![
            AgendaOp::RemoveSegment {
                segment: "round-3".into(),
            },
            AgendaOp::SetModerator {
                segment: "aob".into(),
                moderator: Some(person("Nadia Rahman", Lang::Ar)),
            },
        ]),
        T0 + 9 * M,
    );
    step(&mut e, Command::NextSegment, T0 + 10 * M);
    assert_eq!(e.agenda().segments[e.state().current.unwrap()].id, "aob");
    assert_eq!(e.state().agenda_version, 3);
    // Nadia moderates the current segment now: she has the chair's rights.
    ok(
        &mut e,
        Command::CloseQueue,
        moderator("nadia-rahman"),
        T0 + 11 * M,
    );

    let lines: Vec<String> = journal
        .iter()
        .map(|x| serde_json::to_string(x).unwrap())
        .collect();
    let decoded: Vec<Event> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut replayed = fresh();
    replayed.replay(&decoded);
    assert_eq!(replayed.agenda(), e.agenda());
    assert_eq!(replayed.state().agenda_version, 3);
    assert_eq!(replayed.state().segments, e.state().segments);
    // The seed agenda itself is untouched (copy on write).
    assert_eq!(seed().segments.len(), 7);
}
