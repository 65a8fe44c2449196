//! Who may send what: for every command, a table of the roles allowed, checked against
//! the engine (a forbidden command is refused with `Forbidden` and changes nothing).

use super::*;
use crate::engine::roles;
use podium_protocol::{ClockTarget, Command, Lang};

/// The actors of the table, in the seed meeting during round 1 (moderated by Cécile
/// Riallant, with Carola Gunnarsson speaking); the interpreter is the FR booth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Host,
    /// Cécile Riallant, whose segment is on.
    OwnModerator,
    /// Emilia Sáiz, who moderates round 2, not the current round.
    OtherModerator,
    Speaker,
    Participant,
    /// An observer, in a meeting where observers may not raise hands.
    Observer,
    /// An observer, after the host allowed observers' hands.
    AllowedObserver,
    Interpreter,
    Projector,
}

const ALL: [Who; 9] = [
    Who::Host,
    Who::OwnModerator,
    Who::OtherModerator,
    Who::Speaker,
    Who::Participant,
    Who::Observer,
    Who::AllowedObserver,
    Who::Interpreter,
    Who::Projector,
];

const HOST: &[Who] = &[Who::Host];
const CHAIR: &[Who] = &[Who::Host, Who::OwnModerator];
const HANDS: &[Who] = &[Who::Participant, Who::AllowedObserver];
const OWN_HAND: &[Who] = &[Who::Participant, Who::Observer, Who::AllowedObserver];
const BOOTH: &[Who] = &[Who::Interpreter];
const SPEAKER: &[Who] = &[Who::Speaker];
const CHAIR_OR_BOOTH: &[Who] = &[Who::Host, Who::OwnModerator, Who::Interpreter];

/// The table: which actors may send each command. Exhaustive, so a new command does not
/// compile until someone decides who may send it.
fn allowed(c: &Command) -> (usize, &'static [Who]) {
    use Command::*;
    match c {
        StartMeeting => (0, HOST),
        EndMeeting => (1, HOST),
        SetObserverHands { .. } => (2, HOST),
        SetAutoAdvance { .. } => (3, HOST),
        NextSegment => (4, CHAIR),
        PreviousSegment => (5, CHAIR),
        GoToSegment { .. } => (6, CHAIR),
        StartClock { .. } => (7, CHAIR),
        PauseClock { .. } => (8, CHAIR),
        ResumeClock { .. } => (9, CHAIR),
        AdjustClock { .. } => (10, CHAIR),
        GiveFloor { .. } => (11, CHAIR),
        GiveFloorToHand { .. } => (12, CHAIR),
        EndSpeech => (13, CHAIR),
        RemoveHand { .. } => (14, CHAIR),
        MoveHand { .. } => (15, CHAIR),
        CloseQueue => (16, CHAIR),
        ReopenQueue => (17, CHAIR),
        ClearQueue => (18, CHAIR),
        SetPriority { .. } => (19, CHAIR),
        MessageSpeaker { .. } => (20, CHAIR),
        RaiseHand { .. } => (21, HANDS),
        LowerHand { .. } => (22, OWN_HAND),
        SlowDown { .. } => (23, BOOTH),
        NoInterpretation { .. } => (24, BOOTH),
        Done => (25, SPEAKER),
        RemoveParticipant { .. } => (26, HOST),
        ClosePointsOfOrder => (27, CHAIR),
        ReopenPointsOfOrder => (28, CHAIR),
        SetFloorLanguage { .. } => (29, CHAIR_OR_BOOTH),
        HandedOver => (30, BOOTH),
        BoothAlert { .. } => (31, BOOTH),
        AcknowledgeAlert { .. } => (32, CHAIR),
        SetBoothText { .. } => (33, CHAIR),
        // Adding a speaker to round 1: the host, or round 1's own moderator.
        EditAgenda { .. } => (34, CHAIR),
        SetJoinLinks { .. } => (35, HOST),
    }
}
const VARIANTS: usize = 36;

/// One sample of every command, each one that the allowed actors can actually carry out
/// in the table's state (or at least not be refused as `Forbidden`).
fn samples() -> Vec<Command> {
    use Command::*;
    vec![
        StartMeeting,
        EndMeeting,
        SetObserverHands { allowed: true },
        SetAutoAdvance { on: true },
        NextSegment,
        PreviousSegment,
        // Round 1 → round 1 is refused as InvalidState; "welcome" is not Cécile's (below).
        GoToSegment {
            segment: "round-1".into(),
        },
        StartClock {
            target: ClockTarget::Segment,
        },
        PauseClock {
            target: ClockTarget::Segment,
        },
        ResumeClock {
            target: ClockTarget::Speech,
        },
        AdjustClock {
            target: ClockTarget::Segment,
            seconds: 60,
        },
        GiveFloor {
            person: "alexandra-young".into(),
        },
        GiveFloorToHand { hand: None },
        EndSpeech,
        RemoveHand { hand: 1 },
        MoveHand { hand: 2, to: 0 },
        CloseQueue,
        ReopenQueue,
        ClearQueue,
        SetPriority {
            not_yet_spoken_first: true,
        },
        MessageSpeaker {
            text: "please wrap up".into(),
        },
        RaiseHand {
            language: Some(Lang::Ar),
            point_of_order: true,
        },
        LowerHand {
            point_of_order: false,
        },
        SlowDown {
            language: Some(Lang::Fr),
        },
        NoInterpretation { language: None },
        Done,
        SetJoinLinks { open: false },
        EditAgenda {
            ops: vec![podium_protocol::AgendaOp::AddSpeaker {
                segment: "round-1".into(),
                speaker: podium_protocol::Person {
                    id: None,
                    name: "Nadia Rahman".into(),
                    title: None,
                    affiliation: Some("City of Dhaka".into()),
                    country: None,
                    language: Lang::En,
                    text_url: None,
                },
                reaction: false,
                at: None,
            }],
        },
        RemoveParticipant { participant: 3 },
        ClosePointsOfOrder,
        ReopenPointsOfOrder,
        SetFloorLanguage { language: Lang::Fr },
        HandedOver,
        BoothAlert {
            signal: podium_protocol::BoothSignal::NoSound,
            text: None,
        },
        AcknowledgeAlert { alert: 1 },
        SetBoothText {
            person: "carola-gunnarsson".into(),
            url: Some("https://example.org/carola.pdf".into()),
        },
    ]
}

/// The table's state: round 1 on, Carola speaking, participant 1 and observer 2 with an
/// ordinary hand each, participant 3 with one too, and alert 1 from the AR booth.
fn table_engine(observers_allowed: bool) -> Engine {
    let mut e = at_segment(ROUND_1, T0);
    let p = join(&mut e, "Amina Diallo", "Government of Senegal", Lang::Fr);
    let o = join_observer(&mut e, "Youth observer", "MGCY");
    let q = join(&mut e, "Omar Haddad", "Government of Jordan", Lang::Ar);
    assert_eq!((p, o, q), (1, 2, 3));
    ok(
        &mut e,
        Command::SetObserverHands { allowed: true },
        Actor::Host,
        T0,
    );
    raise(&mut e, p, T0 + S);
    ok(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Observer(o),
        T0 + 2 * S,
    );
    raise(&mut e, q, T0 + 3 * S);
    if !observers_allowed {
        ok(
            &mut e,
            Command::SetObserverHands { allowed: false },
            Actor::Host,
            T0 + 4 * S,
        );
    }
    ok(
        &mut e,
        Command::GiveFloor {
            person: "carola-gunnarsson".into(),
        },
        moderator("cecile-riallant"),
        T0 + M,
    );
    // Alert 1, from the AR booth, for the chair to acknowledge.
    ok(
        &mut e,
        Command::BoothAlert {
            signal: podium_protocol::BoothSignal::TooFast,
            text: None,
        },
        Actor::Interpreter(Lang::Ar),
        T0 + M,
    );
    e
}

fn actor(who: Who) -> Actor {
    match who {
        Who::Host => Actor::Host,
        Who::OwnModerator => moderator("cecile-riallant"),
        Who::OtherModerator => moderator("emilia-saiz"),
        Who::Speaker => speaker("carola-gunnarsson"),
        Who::Participant => Actor::Participant(1),
        Who::Observer | Who::AllowedObserver => Actor::Observer(2),
        Who::Interpreter => Actor::Interpreter(Lang::Fr),
        Who::Projector => Actor::Projector,
    }
}

#[test]
fn every_command_is_allowed_exactly_to_the_roles_of_the_table() {
    let samples = samples();
    let mut covered = [false; VARIANTS];
    for c in &samples {
        covered[allowed(c).0] = true;
    }
    assert!(covered.iter().all(|c| *c), "a sample for every command");
    let now = T0 + 2 * M;
    let mut checked = 0;
    for c in &samples {
        let (_, table) = allowed(c);
        for who in ALL {
            let mut e = table_engine(who == Who::AllowedObserver);
            let a = actor(who);
            let before = e.state().clone();
            let seq = e.seq();
            let result = e.apply(c, &a, now);
            let forbidden = matches!(result, Err(Rejection::Forbidden(_)));
            assert_eq!(
                forbidden,
                !table.contains(&who),
                "{c:?} from {who:?} ({a:?}): {result:?}"
            );
            match &result {
                Err(r) => {
                    assert_eq!(e.state(), &before, "{c:?} from {who:?} refused but changed");
                    assert_eq!(e.seq(), seq);
                    if forbidden {
                        assert_eq!(r.code(), podium_protocol::ErrorCode::Forbidden);
                    }
                }
                Ok(events) => assert_eq!(e.seq(), seq + events.len() as u64),
            }
            // `authorize` agrees wherever it is the one refusing.
            let auth = roles::authorize(e.agenda(), &before, c, &a);
            if auth.is_err() {
                assert!(forbidden);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, VARIANTS * ALL.len());
}

#[test]
fn actor_roles_name_the_wire_roles() {
    use podium_protocol::Role;
    let pairs = [
        (Actor::Host, Role::Host),
        (moderator("x"), Role::Moderator),
        (speaker("x"), Role::Speaker),
        (Actor::Participant(1), Role::Participant),
        (Actor::Observer(1), Role::Observer),
        (Actor::Interpreter(Lang::Ar), Role::Interpreter),
        (Actor::Projector, Role::Projector),
    ];
    for (a, r) in pairs {
        assert_eq!(a.role(), r);
    }
}

#[test]
fn the_allowed_commands_succeed_in_the_table_state() {
    // The samples are meaningful: each allowed actor's command is accepted, except the
    // few that the state refuses for a reason other than the role.
    let now = T0 + 2 * M;
    for c in samples() {
        let (_, table) = allowed(&c);
        for &who in table {
            let mut e = table_engine(who == Who::AllowedObserver);
            let r = e.apply(&c, &actor(who), now);
            let state_refusal = matches!(
                (&c, who),
                (Command::StartMeeting, _)
                    | (Command::GoToSegment { .. }, _)
                    | (Command::StartClock { .. }, _)
                    | (Command::ResumeClock { .. }, _)
                    | (Command::ReopenQueue, _)
                    | (Command::ReopenPointsOfOrder, _)
            );
            if state_refusal {
                assert!(
                    matches!(r, Err(Rejection::InvalidState(_))),
                    "{c:?} {who:?}: {r:?}"
                );
            } else {
                assert!(r.is_ok(), "{c:?} from {who:?}: {r:?}");
            }
        }
    }
}

#[test]
fn a_participant_cannot_act_as_the_chair() {
    let mut e = table_engine(false);
    for c in [
        Command::NextSegment,
        Command::StartMeeting,
        Command::EndMeeting,
        Command::GiveFloorToHand { hand: None },
        Command::RemoveHand { hand: 3 },
        Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: 600,
        },
    ] {
        let r = rejected(&mut e, c, Actor::Participant(1), T0 + 2 * M);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
    assert_eq!(e.state().current, Some(ROUND_1));
}

#[test]
fn moderators_chair_only_during_their_own_segments() {
    let mut e = started();
    let cecile = moderator("cecile-riallant");
    // In the intro, Cécile is not in charge.
    let r = rejected(&mut e, Command::NextSegment, cecile.clone(), T0 + M);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "round-1".into(),
        },
        Actor::Host,
        T0 + 10 * M,
    );
    // In round 1 she is: floor, clocks, queue, messages, and moving on.
    ok(
        &mut e,
        Command::GiveFloor {
            person: "carola-gunnarsson".into(),
        },
        cecile.clone(),
        T0 + 11 * M,
    );
    ok(
        &mut e,
        Command::PauseClock {
            target: ClockTarget::Speech,
        },
        cecile.clone(),
        T0 + 12 * M,
    );
    ok(
        &mut e,
        Command::ResumeClock {
            target: ClockTarget::Speech,
        },
        cecile.clone(),
        T0 + 12 * M,
    );
    ok(
        &mut e,
        Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: -60,
        },
        cecile.clone(),
        T0 + 13 * M,
    );
    ok(
        &mut e,
        Command::MessageSpeaker {
            text: "one minute".into(),
        },
        cecile.clone(),
        T0 + 14 * M,
    );
    ok(&mut e, Command::CloseQueue, cecile.clone(), T0 + 14 * M);
    // Host-only things stay the host's.
    for c in [
        Command::EndMeeting,
        Command::SetAutoAdvance { on: true },
        Command::SetObserverHands { allowed: true },
    ] {
        let r = rejected(&mut e, c, cecile.clone(), T0 + 15 * M);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
    // She may jump only to her own segments: she has no other, so every jump is refused.
    for target in [
        "intro",
        "welcome",
        "round-2",
        "open-conversation",
        "closing",
    ] {
        let r = rejected(
            &mut e,
            Command::GoToSegment {
                segment: target.into(),
            },
            cecile.clone(),
            T0 + 15 * M,
        );
        assert!(
            matches!(r, Rejection::Forbidden(ref m) if m.contains(target)),
            "{r:?}"
        );
    }
    // A jump to a segment that does not exist is a NotFound, not a Forbidden.
    let r = rejected(
        &mut e,
        Command::GoToSegment {
            segment: "nope".into(),
        },
        cecile.clone(),
        T0 + 15 * M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // Another moderator can do nothing in round 1.
    let emilia = moderator("emilia-saiz");
    for c in [
        Command::NextSegment,
        Command::EndSpeech,
        Command::ReopenQueue,
    ] {
        let r = rejected(&mut e, c, emilia.clone(), T0 + 16 * M);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
    // She hands over to round 2 with "next"; then she is out of charge, Emilia in.
    ok(&mut e, Command::NextSegment, cecile.clone(), T0 + 30 * M);
    let r = rejected(
        &mut e,
        Command::PreviousSegment,
        cecile.clone(),
        T0 + 31 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    ok(
        &mut e,
        Command::GiveFloor {
            person: "ahmed-skim".into(),
        },
        emilia,
        T0 + 31 * M,
    );
    // A moderator id that is nobody in the agenda never chairs.
    let r = rejected(
        &mut e,
        Command::EndSpeech,
        moderator("mallory"),
        T0 + 32 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    // The closing has no moderator: only the host runs it.
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "closing".into(),
        },
        Actor::Host,
        T0 + 33 * M,
    );
    let r = rejected(
        &mut e,
        Command::EndSpeech,
        moderator("sophie-van-haasen"),
        T0 + 34 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
}

#[test]
fn a_moderator_jumps_only_between_their_own_segments() {
    let mut e = Engine::new(two_moderators());
    let ana = moderator("ana-moder");
    let ben = moderator("ben-other");
    let t0 = e.agenda().planned_start_ms();
    ok(&mut e, Command::StartMeeting, Actor::Host, t0);
    let r = rejected(
        &mut e,
        Command::GoToSegment {
            segment: "b".into(),
        },
        ana.clone(),
        t0 + M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    let events = ok(
        &mut e,
        Command::GoToSegment {
            segment: "c".into(),
        },
        ana.clone(),
        t0 + M,
    );
    assert_eq!(
        events,
        [podium_protocol::Event::SegmentEntered {
            index: 2,
            at: t0 + M
        }]
    );
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "a".into(),
        },
        ana.clone(),
        t0 + 2 * M,
    );
    // Ben cannot jump into b from Ana's segment, nor do anything there.
    let r = rejected(
        &mut e,
        Command::GoToSegment {
            segment: "b".into(),
        },
        ben.clone(),
        t0 + 3 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    // Ana may move on to Ben's segment with "next" (handing over), but not jump back.
    ok(&mut e, Command::NextSegment, ana.clone(), t0 + 4 * M);
    let r = rejected(
        &mut e,
        Command::GoToSegment {
            segment: "a".into(),
        },
        ana.clone(),
        t0 + 5 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    // Ben, in charge of b only, cannot jump anywhere else.
    for target in ["a", "c"] {
        let r = rejected(
            &mut e,
            Command::GoToSegment {
                segment: target.into(),
            },
            ben.clone(),
            t0 + 5 * M,
        );
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
    ok(&mut e, Command::NextSegment, ben, t0 + 6 * M);
    assert_eq!(e.state().current, Some(2));
}

#[test]
fn without_a_speech_limit_a_speech_gets_the_segment_time_left() {
    let mut e = Engine::new(two_moderators());
    let t0 = e.agenda().planned_start_ms();
    ok(&mut e, Command::StartMeeting, Actor::Host, t0);
    assert_eq!(e.agenda().speech_limit_ms(0), None);
    ok(
        &mut e,
        Command::GiveFloor {
            person: "sam-speaker".into(),
        },
        moderator("ana-moder"),
        t0 + 4 * M,
    );
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(sp.limit_ms, None);
    assert_eq!(sp.granted_ms, 6 * M);
    assert_eq!(sp.speaker.language, Lang::Fr);
    // The segment is in auto-advance: its deadline ends the speech.
    assert_eq!(e.next_deadline(), Some(t0 + 10 * M));
    e.handle_timeout(t0 + 10 * M);
    let rec = &e.state().history[0];
    assert_eq!(
        (rec.spoken_ms, rec.limit_ms, rec.over_limit),
        (6 * M, None, false)
    );
    // In overtime there is no time left to give: the speech clock starts at zero.
    ok(
        &mut e,
        Command::GoToSegment {
            segment: "a".into(),
        },
        Actor::Host,
        t0 + 11 * M,
    );
    ok(
        &mut e,
        Command::SetAutoAdvance { on: false },
        Actor::Host,
        t0 + 11 * M,
    );
    ok(
        &mut e,
        Command::GiveFloor {
            person: "sam-speaker".into(),
        },
        Actor::Host,
        t0 + 12 * M,
    );
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(sp.granted_ms, 0);
    ok(&mut e, Command::EndSpeech, Actor::Host, t0 + 13 * M);
    assert_eq!(e.state().history[1].spoken_ms, M);
}
