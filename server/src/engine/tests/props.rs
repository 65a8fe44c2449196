//! Property tests: random sequences of joins, commands from random actors (agenda edits
//! among them) and timeouts, on non-decreasing time, never panic, keep the queue's
//! invariants, keep the clocks consistent, never move or change history, and leave a
//! journal that replays — also through JSON — to the same state and agenda.

use super::gen_edits::edit_command;
use super::invariants::{check_clock_continuity, check_history_kept, check_invariants};
use super::*;
use podium_protocol::{ClockTarget, Command, Event, Lang, MeetingState};
use proptest::prelude::*;
use proptest::sample::select;

/// One input to the engine.
#[derive(Debug, Clone)]
enum Op {
    /// Someone joins (the name and delegation may be invalid).
    Join {
        name: &'static str,
        delegation: &'static str,
        language: Lang,
        observer: bool,
    },
    /// Someone sends a command.
    Apply { actor: Actor, command: Command },
    /// The shell's timer fires.
    Timeout,
}

const NAMES: &[&str] = &[
    "Amina Diallo",
    "Lucas Ferreira",
    "Omar Haddad",
    "Ана Петрова",
];
const BAD_NAMES: &[&str] = &["", "  ", "bell\u{7}"];
const DELEGATIONS: &[&str] = &["Government of Senegal", "City of Montevideo", "MGCY"];
const SEGMENTS: &[&str] = &[
    "intro",
    "welcome",
    "round-1",
    "round-2",
    "round-3",
    "open-conversation",
    "closing",
    "x",
];
const PEOPLE: &[&str] = &[
    "sophie-van-haasen",
    "cecile-riallant",
    "carola-gunnarsson",
    "emilia-saiz",
    "ahmed-skim",
    "vittoria-zanuso",
    "felipe-munoz",
    "diego-morejon",
    "nobody",
];
const MODERATORS: &[&str] = &[
    "cecile-riallant",
    "emilia-saiz",
    "vittoria-zanuso",
    "sophie-van-haasen",
    "nobody",
];

fn lang() -> impl Strategy<Value = Lang> {
    select(Lang::ALL.to_vec())
}

fn target() -> impl Strategy<Value = ClockTarget> {
    prop_oneof![Just(ClockTarget::Segment), Just(ClockTarget::Speech)]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("please wrap up".to_string()),
        1 => Just(String::new()),
        1 => Just(" \t ".to_string()),
        1 => Just("two\nlines".to_string()),
        1 => Just("é".repeat(200)),
        1 => Just("x".repeat(201)),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    use Command::*;
    let hand = || 0u64..12;
    proptest::strategy::Union::new_weighted(vec![
        (2, Just(StartMeeting).boxed()),
        (3, Just(NextSegment).boxed()),
        (2, Just(PreviousSegment).boxed()),
        (
            2,
            select(SEGMENTS)
                .prop_map(|s| GoToSegment {
                    segment: s.to_string(),
                })
                .boxed(),
        ),
        (1, Just(EndMeeting).boxed()),
        (2, target().prop_map(|target| StartClock { target }).boxed()),
        (2, target().prop_map(|target| PauseClock { target }).boxed()),
        (
            2,
            target().prop_map(|target| ResumeClock { target }).boxed(),
        ),
        (
            2,
            (
                target(),
                prop_oneof![
                    -3700i64..=3700,
                    select(vec![0i64, 3601, -3601, 60, i64::MIN, i64::MAX])
                ],
            )
                .prop_map(|(target, seconds)| AdjustClock { target, seconds })
                .boxed(),
        ),
        (
            3,
            select(PEOPLE)
                .prop_map(|p| GiveFloor {
                    person: p.to_string(),
                })
                .boxed(),
        ),
        (
            4,
            proptest::option::of(hand())
                .prop_map(|hand| GiveFloorToHand { hand })
                .boxed(),
        ),
        (2, Just(EndSpeech).boxed()),
        (
            10,
            (
                proptest::option::weighted(0.3, lang()),
                proptest::bool::weighted(0.3),
            )
                .prop_map(|(language, point_of_order)| RaiseHand {
                    language,
                    point_of_order,
                })
                .boxed(),
        ),
        (
            3,
            any::<bool>()
                .prop_map(|point_of_order| LowerHand { point_of_order })
                .boxed(),
        ),
        (2, hand().prop_map(|hand| RemoveHand { hand }).boxed()),
        (
            3,
            (hand(), 0usize..10)
                .prop_map(|(hand, to)| MoveHand { hand, to })
                .boxed(),
        ),
        (1, Just(CloseQueue).boxed()),
        (1, Just(ReopenQueue).boxed()),
        (1, Just(ClearQueue).boxed()),
        (
            2,
            any::<bool>()
                .prop_map(|not_yet_spoken_first| SetPriority {
                    not_yet_spoken_first,
                })
                .boxed(),
        ),
        (
            1,
            any::<bool>()
                .prop_map(|allowed| SetObserverHands { allowed })
                .boxed(),
        ),
        (
            1,
            any::<bool>().prop_map(|on| SetAutoAdvance { on }).boxed(),
        ),
        (1, text().prop_map(|text| MessageSpeaker { text }).boxed()),
        (
            1,
            proptest::option::of(lang())
                .prop_map(|language| SlowDown { language })
                .boxed(),
        ),
        (
            1,
            proptest::option::of(lang())
                .prop_map(|language| NoInterpretation { language })
                .boxed(),
        ),
        (1, Just(Done).boxed()),
        (6, edit_command().boxed()),
        (
            1,
            (1u64..9)
                .prop_map(|participant| RemoveParticipant { participant })
                .boxed(),
        ),
        (1, Just(ClosePointsOfOrder).boxed()),
        (1, Just(ReopenPointsOfOrder).boxed()),
        (
            3,
            lang()
                .prop_map(|language| SetFloorLanguage { language })
                .boxed(),
        ),
        (1, Just(HandedOver).boxed()),
        (
            2,
            (
                select(podium_protocol::BoothSignal::ALL.to_vec()),
                proptest::option::of(text()),
            )
                .prop_map(|(signal, text)| BoothAlert { signal, text })
                .boxed(),
        ),
        (
            1,
            (0u64..25)
                .prop_map(|alert| AcknowledgeAlert { alert })
                .boxed(),
        ),
        (
            1,
            (
                select(PEOPLE),
                proptest::option::of(select(vec![
                    "https://example.org/t.pdf",
                    "http://example.org/t.pdf",
                    "https://",
                ])),
            )
                .prop_map(|(p, url)| SetBoothText {
                    person: p.to_string(),
                    url: url.map(str::to_string),
                })
                .boxed(),
        ),
    ])
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        8 => Just(Actor::Host),
        3 => select(MODERATORS).prop_map(|m| Actor::Moderator(m.to_string())),
        1 => select(PEOPLE).prop_map(|p| Actor::Speaker(p.to_string())),
        6 => (1u64..9).prop_map(Actor::Participant),
        2 => (1u64..9).prop_map(Actor::Observer),
        2 => lang().prop_map(Actor::Interpreter),
        1 => Just(Actor::Projector),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            prop_oneof![6 => select(NAMES), 1 => select(BAD_NAMES)],
            prop_oneof![6 => select(DELEGATIONS), 1 => Just("")],
            lang(),
            proptest::bool::weighted(0.25),
        )
            .prop_map(|(name, delegation, language, observer)| Op::Join {
                name,
                delegation,
                language,
                observer
            }),
        10 => (actor(), command()).prop_map(|(actor, command)| Op::Apply { actor, command }),
        5 => (1u64..7, proptest::option::weighted(0.2, lang()), proptest::bool::weighted(0.25))
            .prop_map(|(who, language, point_of_order)| Op::Apply {
                actor: Actor::Participant(who),
                command: Command::RaiseHand { language, point_of_order },
            }),
        4 => proptest::option::of(0u64..12).prop_map(|hand| Op::Apply {
            actor: Actor::Host,
            command: Command::GiveFloorToHand { hand },
        }),
        3 => edit_command().prop_map(|command| Op::Apply { actor: Actor::Host, command }),
        1 => Just(Op::Timeout),
    ]
}

/// Time step before an op: often none, often seconds, sometimes up to ten minutes.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![2 => Just(0i64), 3 => 1i64..=30_000, 2 => 0i64..=600_000]
}

fn script() -> impl Strategy<Value = (bool, Vec<(i64, Op)>)> {
    (
        proptest::bool::weighted(0.8),
        proptest::collection::vec((step(), op()), 0..60),
    )
}

/// Plays a script; returns the engine and every event it emitted, in order.
fn play(
    start: bool,
    ops: &[(i64, Op)],
    mut engine: Engine,
    mut now: i64,
    journal: &mut Vec<Event>,
) -> Result<(Engine, i64), TestCaseError> {
    if start {
        let events = engine
            .apply(&Command::StartMeeting, &Actor::Host, now)
            .unwrap();
        journal.extend(events);
    }
    for (dt, op) in ops {
        now += dt;
        let before = engine.state().clone();
        let agenda_before = engine.agenda().clone();
        let seq = engine.seq();
        let result = match op {
            Op::Join {
                name,
                delegation,
                language,
                observer,
            } => engine
                .join(name, delegation, *language, *observer)
                .map(|(id, events)| {
                    assert_eq!(engine.state().participants.last().map(|p| p.id), Some(id));
                    events
                }),
            Op::Apply { actor, command } => engine.apply(command, actor, now),
            Op::Timeout => {
                let deadline = engine.next_deadline();
                let events = engine.handle_timeout(now);
                prop_assert_eq!(
                    events.is_empty(),
                    deadline.is_none_or(|d| d > now),
                    "a timeout fires exactly when its deadline has passed"
                );
                Ok(events)
            }
        };
        match result {
            Ok(events) => {
                prop_assert_eq!(engine.seq(), seq + events.len() as u64);
                check_clock_continuity((&agenda_before, &before), engine.state(), &events, now)?;
                check_history_kept((&agenda_before, &before), &engine, &events)?;
                journal.extend(events);
            }
            Err(r) => {
                prop_assert_eq!(
                    engine.state(),
                    &before,
                    "{:?} refused ({:?}) but changed",
                    op,
                    r
                );
                prop_assert_eq!(engine.agenda(), &agenda_before, "refused but edited");
                prop_assert_eq!(engine.seq(), seq);
            }
        }
        check_invariants(&engine, now)?;
    }
    Ok((engine, now))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random sessions never panic, keep the invariants, and replay exactly from their
    /// journal — directly and after a trip through JSON.
    #[test]
    fn random_sessions_keep_invariants_and_replay_exactly((start, ops) in script()) {
        let mut journal = Vec::new();
        let (engine, _) = play(start, &ops, fresh(), T0 - 60_000, &mut journal)?;
        prop_assert_eq!(engine.seq(), journal.len() as u64);

        let edits = journal.iter().filter(|e| matches!(e, Event::AgendaEdited { .. })).count();
        prop_assert_eq!(engine.state().agenda_version, edits as u64);
        let mut replayed = fresh();
        replayed.replay(&journal);
        prop_assert_eq!(replayed.state(), engine.state());
        prop_assert_eq!(replayed.agenda(), engine.agenda());
        prop_assert_eq!(replayed.seq(), engine.seq());

        let lines: Vec<String> =
            journal.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let decoded: Vec<Event> =
            lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(&decoded, &journal);
        let mut from_json = fresh();
        from_json.replay(&decoded);
        prop_assert_eq!(from_json.state(), engine.state());
        prop_assert_eq!(from_json.agenda(), engine.agenda());
        prop_assert_eq!(from_json.seq(), engine.seq());
    }

    /// A snapshot (state as JSON plus seq) restored mid-session continues exactly like the
    /// engine that never stopped.
    #[test]
    fn a_restored_snapshot_continues_identically(
        (start, ops) in script(),
        split in 0usize..60,
    ) {
        let split = split.min(ops.len());
        let mut journal = Vec::new();
        let (first, now) = play(start, &ops[..split], fresh(), T0 - 60_000, &mut journal)?;
        let json = serde_json::to_string(first.state()).unwrap();
        let state: MeetingState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&state, first.state());
        // The stored snapshot keeps the agenda beside the state.
        let agenda_json = serde_json::to_string(first.agenda().as_ref()).unwrap();
        let agenda: podium_protocol::Agenda = serde_json::from_str(&agenda_json).unwrap();
        prop_assert_eq!(&agenda, first.agenda().as_ref());
        let restored = Engine::restore(std::sync::Arc::new(agenda), state, first.seq());
        let mut j1 = Vec::new();
        let mut j2 = Vec::new();
        let (a, _) = play(false, &ops[split..], first, now, &mut j1)?;
        let (b, _) = play(false, &ops[split..], restored, now, &mut j2)?;
        prop_assert_eq!(j1, j2);
        prop_assert_eq!(a.state(), b.state());
        prop_assert_eq!(a.agenda(), b.agenda());
        prop_assert_eq!(a.seq(), b.seq());
    }
}

/// Queue traffic only: hands up and down, called and removed, the queue closed and
/// reopened; no manual moves and no priority.
fn queue_op() -> impl Strategy<Value = Op> {
    let host = |command: Command| Op::Apply {
        actor: Actor::Host,
        command,
    };
    prop_oneof![
        2 => (select(NAMES), lang()).prop_map(|(name, language)| Op::Join {
            name,
            delegation: "D",
            language,
            observer: false,
        }),
        8 => (1u64..7, proptest::option::weighted(0.2, lang()), proptest::bool::weighted(0.3))
            .prop_map(|(who, language, point_of_order)| Op::Apply {
                actor: Actor::Participant(who),
                command: Command::RaiseHand { language, point_of_order },
            }),
        2 => (1u64..7, any::<bool>()).prop_map(|(who, point_of_order)| Op::Apply {
            actor: Actor::Participant(who),
            command: Command::LowerHand { point_of_order },
        }),
        3 => proptest::option::of(1u64..20)
            .prop_map(move |hand| host(Command::GiveFloorToHand { hand })),
        1 => (1u64..20).prop_map(move |hand| host(Command::RemoveHand { hand })),
        1 => Just(host(Command::EndSpeech)),
        1 => Just(host(Command::CloseQueue)),
        1 => Just(host(Command::ReopenQueue)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Without manual moves or the priority, the queue is always the points of order in
    /// the order they were raised, then the ordinary hands in the order they were raised.
    #[test]
    fn points_of_order_first_then_first_come_first_served(
        ops in proptest::collection::vec((step(), queue_op()), 0..60),
    ) {
        let mut journal = Vec::new();
        let mut e = at_segment(OPEN, T0);
        let mut now = T0;
        for (dt, op) in ops {
            let (next, t) = play(false, &[(dt, op)], e, now, &mut journal)?;
            e = next;
            now = t;
            let q = &e.state().queue;
            let poo = q.iter().take_while(|h| h.point_of_order).count();
            prop_assert!(q[poo..].iter().all(|h| !h.point_of_order), "{q:?}");
            for part in [&q[..poo], &q[poo..]] {
                prop_assert!(
                    part.windows(2).all(|w| (w[0].raised_at, w[0].id) < (w[1].raised_at, w[1].id)),
                    "not in raising order: {q:?}"
                );
            }
        }
    }
}

/// The random sessions really edit: over a fixed set of scripts, every kind of operation
/// is accepted some of the time (a generator whose edits were all refused would make the
/// properties above vacuous).
#[test]
fn random_sessions_accept_every_kind_of_edit() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let mut accepted = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..300 {
        let (start, ops) = script().new_tree(&mut runner).unwrap().current();
        let mut journal = Vec::new();
        play(start, &ops, fresh(), T0 - 60_000, &mut journal).unwrap();
        for e in &journal {
            if let Event::AgendaEdited { ops, .. } = e {
                for op in ops {
                    *accepted.entry(op.name()).or_default() += 1;
                }
            }
        }
    }
    for kind in [
        "insert_segment",
        "update_segment",
        "remove_segment",
        "move_segment",
        "add_speaker",
        "update_speaker",
        "remove_speaker",
        "move_speaker",
        "set_moderator",
    ] {
        assert!(
            accepted.get(kind).copied().unwrap_or(0) >= 5,
            "{kind} rarely accepted: {accepted:?}"
        );
    }
}
