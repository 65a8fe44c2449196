//! The chair's defence of the floor: removing a participant, closing the queue to points
//! of order, and the cooldown after lowering a hand — with a property test that no
//! participant can make more than four queue changes within one cooldown.

use super::*;
use crate::engine::defend::HAND_COOLDOWN_MS;
use podium_protocol::{HandOutcome, Phase};
use proptest::prelude::*;

fn raise_cmd(point_of_order: bool) -> Command {
    Command::RaiseHand {
        language: None,
        point_of_order,
    }
}

fn lower_cmd(point_of_order: bool) -> Command {
    Command::LowerHand { point_of_order }
}

#[test]
fn the_host_removes_a_participant_whose_hands_go_and_who_can_do_nothing_more() {
    let mut e = at_segment(OPEN, T0);
    let amina = join(&mut e, "Amina Diallo", "Government of Senegal", Lang::Fr);
    let troll = join(&mut e, "Troll", "Nowhere", Lang::En);
    raise(&mut e, amina, T0 + S);
    raise(&mut e, troll, T0 + 2 * S);
    raise_with(&mut e, troll, None, true, T0 + 3 * S);
    assert_eq!(queue_of(&e), [troll, amina, troll]);

    let events = ok(
        &mut e,
        Command::RemoveParticipant { participant: troll },
        Actor::Host,
        T0 + M,
    );
    assert_eq!(
        events,
        [Event::ParticipantRemoved {
            participant: troll,
            at: T0 + M
        }]
    );
    assert_eq!(queue_of(&e), [amina]);
    let gone: Vec<_> = e
        .state()
        .hand_history
        .iter()
        .map(|r| (r.hand.participant, r.outcome))
        .collect();
    assert_eq!(
        gone,
        [(troll, HandOutcome::Removed), (troll, HandOutcome::Removed)]
    );
    // Still in the register, marked.
    let p = e
        .state()
        .participants
        .iter()
        .find(|p| p.id == troll)
        .unwrap();
    assert!(p.removed);
    // Nothing more from them, whatever it is.
    for c in [raise_cmd(false), raise_cmd(true), lower_cmd(false)] {
        let r = rejected(&mut e, c, Actor::Participant(troll), T0 + 2 * M);
        assert!(
            matches!(r, Rejection::Forbidden(ref m) if m.contains("removed")),
            "{r:?}"
        );
    }
    let r = rejected(
        &mut e,
        Command::RemoveParticipant { participant: troll },
        Actor::Host,
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::RemoveParticipant { participant: 99 },
        Actor::Host,
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // Only the host: not even the segment's moderator.
    let r = rejected(
        &mut e,
        Command::RemoveParticipant { participant: amina },
        moderator("sophie-van-haasen"),
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
}

#[test]
fn removing_the_participant_who_has_the_floor_ends_their_speech() {
    let mut e = at_segment(OPEN, T0);
    let troll = join(&mut e, "Troll", "Nowhere", Lang::En);
    raise(&mut e, troll, T0 + S);
    ok(
        &mut e,
        Command::GiveFloorToHand { hand: None },
        Actor::Host,
        T0 + M,
    );
    let events = ok(
        &mut e,
        Command::RemoveParticipant { participant: troll },
        Actor::Host,
        T0 + 2 * M,
    );
    assert_eq!(
        events,
        [
            Event::SpeechEnded { at: T0 + 2 * M },
            Event::ParticipantRemoved {
                participant: troll,
                at: T0 + 2 * M
            }
        ]
    );
    assert!(e.state().speech.is_none());
    assert_eq!(e.state().history.last().unwrap().spoken_ms, M);
    // Removal works before the meeting and after its end too (a link may leak anytime).
    let mut f = fresh();
    let p = join(&mut f, "Early", "X", Lang::En);
    ok(
        &mut f,
        Command::RemoveParticipant { participant: p },
        Actor::Host,
        T0,
    );
    assert_eq!(f.state().phase, Phase::NotStarted);
}

#[test]
fn the_chair_closes_the_queue_to_points_of_order_too() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "Amina Diallo", "Government of Senegal", Lang::Fr);
    ok(
        &mut e,
        Command::ClosePointsOfOrder,
        moderator("sophie-van-haasen"),
        T0,
    );
    assert!(!e.state().points_of_order_open);
    let r = rejected(&mut e, raise_cmd(true), Actor::Participant(p), T0 + S);
    assert!(
        matches!(r, Rejection::QueueClosed(ref m) if m.contains("points of order")),
        "{r:?}"
    );
    // Ordinary hands are the other switch.
    raise(&mut e, p, T0 + S);
    ok(&mut e, Command::CloseQueue, Actor::Host, T0 + 2 * S);
    let r = rejected(&mut e, Command::ClosePointsOfOrder, Actor::Host, T0 + 2 * S);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(
        &mut e,
        Command::ReopenPointsOfOrder,
        Actor::Host,
        T0 + 3 * S,
    );
    raise_with(&mut e, p, None, true, T0 + 4 * S);
    let r = rejected(
        &mut e,
        Command::ReopenPointsOfOrder,
        Actor::Host,
        T0 + 5 * S,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn a_lowered_hand_can_be_raised_again_only_after_the_cooldown() {
    let mut e = at_segment(OPEN, T0);
    let p = join(&mut e, "Amina Diallo", "Government of Senegal", Lang::Fr);
    raise(&mut e, p, T0);
    ok(&mut e, lower_cmd(false), Actor::Participant(p), T0 + S);
    for (t, secs) in [
        (T0 + S, "5 s"),
        (T0 + 2 * S + 1, "4 s"),
        (T0 + S + HAND_COOLDOWN_MS - 1, "1 s"),
    ] {
        for poo in [false, true] {
            let r = rejected(&mut e, raise_cmd(poo), Actor::Participant(p), t);
            assert_eq!(r.code(), podium_protocol::ErrorCode::RateLimited);
            assert!(r.to_string().contains(secs), "{r} should say {secs}");
        }
    }
    raise(&mut e, p, T0 + S + HAND_COOLDOWN_MS);
    // A hand the chair removes or calls starts no cooldown: it was not the participant's
    // doing. (Someone who never lowered a hand, raising again at once.)
    let q = join(&mut e, "Omar Haddad", "Government of Jordan", Lang::Ar);
    let h = raise(&mut e, q, T0 + 20 * S);
    ok(
        &mut e,
        Command::RemoveHand { hand: h },
        Actor::Host,
        T0 + 20 * S,
    );
    let h = raise(&mut e, q, T0 + 20 * S);
    ok(
        &mut e,
        Command::GiveFloorToHand { hand: Some(h) },
        Actor::Host,
        T0 + 20 * S,
    );
    raise(&mut e, q, T0 + 20 * S);
    ok(&mut e, Command::ClearQueue, Actor::Host, T0 + 20 * S);
    raise(&mut e, q, T0 + 20 * S);
}

/// One participant's hand traffic.
#[derive(Debug, Clone)]
enum Toggle {
    Raise(bool),
    Lower(bool),
}

fn toggles() -> impl Strategy<Value = Vec<(i64, u64, Toggle)>> {
    proptest::collection::vec(
        (
            0i64..1_500,
            1u64..4,
            prop_oneof![
                any::<bool>().prop_map(Toggle::Raise),
                any::<bool>().prop_map(Toggle::Lower)
            ],
        ),
        1..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// However fast three participants toggle their two hands, an accepted raise comes at
    /// least a cooldown after the same participant's last accepted lowering, and no one
    /// gets more than four queue changes accepted in any window of one cooldown.
    #[test]
    fn no_participant_gets_more_than_four_changes_per_cooldown(ops in toggles()) {
        let mut e = at_segment(OPEN, T0);
        for name in ["A", "B", "C"] {
            join(&mut e, name, "D", Lang::En);
        }
        let mut now = T0;
        let mut accepted: Vec<(u64, i64, bool)> = Vec::new(); // (who, when, is_raise)
        for (dt, who, op) in ops {
            now += dt;
            let (command, is_raise) = match op {
                Toggle::Raise(poo) => (raise_cmd(poo), true),
                Toggle::Lower(poo) => (lower_cmd(poo), false),
            };
            if e.apply(&command, &Actor::Participant(who), now).is_ok() {
                accepted.push((who, now, is_raise));
            }
        }
        for who in 1..4u64 {
            let mine: Vec<(i64, bool)> = accepted
                .iter()
                .filter(|(w, _, _)| *w == who)
                .map(|(_, t, r)| (*t, *r))
                .collect();
            let mut last_lower: Option<i64> = None;
            for &(t, is_raise) in &mine {
                if is_raise {
                    if let Some(l) = last_lower {
                        prop_assert!(t - l >= HAND_COOLDOWN_MS, "raised {} ms after lowering", t - l);
                    }
                } else {
                    last_lower = Some(t);
                }
            }
            for &(start, _) in &mine {
                let in_window = mine
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < start + HAND_COOLDOWN_MS)
                    .count();
                prop_assert!(in_window <= 4, "{in_window} changes within one cooldown");
            }
        }
    }
}

#[test]
fn the_agenda_sets_the_cooldown_or_turns_it_off() {
    let with = |cooldown: &str| {
        let toml = TWO_MODERATORS_TOML.replace(
            "auto_advance = true",
            &format!("auto_advance = true\nhand_cooldown = \"{cooldown}\""),
        );
        Agenda::from_toml(&toml)
    };
    for (cooldown, wait) in [("0s", 0), ("2s", 2 * S)] {
        let mut e = Engine::new(std::sync::Arc::new(with(cooldown).expect("valid")));
        ok(&mut e, Command::StartMeeting, Actor::Host, T0);
        let p = join(&mut e, "Amina Diallo", "Senegal", Lang::Fr);
        raise(&mut e, p, T0);
        ok(&mut e, lower_cmd(false), Actor::Participant(p), T0);
        if wait > 0 {
            let r = rejected(
                &mut e,
                raise_cmd(false),
                Actor::Participant(p),
                T0 + wait - 1,
            );
            assert_eq!(r.code(), podium_protocol::ErrorCode::RateLimited);
        }
        raise(&mut e, p, T0 + wait);
    }
    let errs = with("20m").unwrap_err().0;
    assert_eq!(errs[0].path, "meeting.hand_cooldown");
    assert!(errs[0].line.is_some());
}
