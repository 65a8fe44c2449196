//! The hand history a live meeting keeps: only the latest records (so its memory does not
//! grow with every hand), let go the same way live and on replay, while an engine that
//! keeps every hand (the report's) rebuilds the whole history from the same events.

use super::*;
use crate::engine::HAND_HISTORY_KEPT;
use podium_protocol::HandOutcome;

/// A meeting's engine with the events it applied, in order.
struct Recorded {
    e: Engine,
    events: Vec<Event>,
}

impl Recorded {
    fn step(&mut self, command: Command, actor: Actor, now: i64) {
        let events = ok(&mut self.e, command, actor, now);
        self.events.extend(events);
    }
}

/// 300 delegates; 600 hands raised and cleared by one command; then 40 delegates raise
/// and lower a hand 10 times each: 1,000 records in all.
fn long_meeting() -> Recorded {
    let mut r = Recorded {
        e: fresh(),
        events: Vec::new(),
    };
    r.step(Command::StartMeeting, Actor::Host, T0);
    let segment = r.e.agenda().segments[OPEN].id.clone();
    r.step(Command::GoToSegment { segment }, Actor::Host, T0);
    let mut people = Vec::new();
    for i in 0..300 {
        let (id, events) =
            r.e.join(&format!("Delegate {i}"), "City", Lang::Fr, false)
                .expect("join");
        r.events.extend(events);
        people.push(id);
    }
    let mut now = T0 + S;
    for &p in &people {
        for point_of_order in [false, true] {
            now += 10;
            let raise = Command::RaiseHand {
                language: None,
                point_of_order,
            };
            r.step(raise, Actor::Participant(p), now);
        }
    }
    r.step(Command::ClearQueue, Actor::Host, now + S);
    for _ in 0..10 {
        for &p in &people[..40] {
            now += M;
            let raise = Command::RaiseHand {
                language: None,
                point_of_order: false,
            };
            r.step(raise, Actor::Participant(p), now);
            let lower = Command::LowerHand {
                point_of_order: false,
            };
            r.step(lower, Actor::Participant(p), now + S);
        }
    }
    r
}

#[test]
fn a_live_meeting_keeps_only_the_latest_hands_and_counts_them_all() {
    let r = long_meeting();
    let s = r.e.state();
    assert!(
        (HAND_HISTORY_KEPT..=2 * HAND_HISTORY_KEPT).contains(&s.hand_history.len()),
        "{} records held",
        s.hand_history.len()
    );
    assert_eq!(s.hand_history_start + s.hand_history.len(), 1000);
    let last = s.hand_history.last().expect("records");
    assert_eq!(last.outcome, HandOutcome::Lowered);
    assert_eq!(last.hand.name, "Delegate 39");
}

#[test]
fn a_replay_lets_the_same_records_go_and_a_keeping_engine_has_them_all() {
    let r = long_meeting();
    // The journal replayed (as after a restart): the same state, the same records held.
    let mut replayed = fresh();
    replayed.replay(&r.events);
    assert_eq!(replayed.state(), r.e.state());
    assert_eq!(replayed.seq(), r.e.seq());

    // The report's engine keeps every record; the latest are the live ones.
    let mut all = fresh().keeping_all_hands();
    all.replay(&r.events);
    let (full, live) = (&all.state().hand_history, r.e.state());
    assert_eq!(full.len(), 1000);
    assert_eq!(all.state().hand_history_start, 0);
    assert_eq!(&full[live.hand_history_start..], &live.hand_history[..]);
    let cleared = full
        .iter()
        .filter(|h| h.outcome == HandOutcome::Cleared)
        .count();
    assert_eq!(
        cleared, 600,
        "every hand of the cleared queue is in the history"
    );
    assert_eq!(full[0].hand.name, "Delegate 0");
    // Everything else is the same state.
    let mut a = all.state().clone();
    let mut b = live.clone();
    a.hand_history.clear();
    b.hand_history.clear();
    b.hand_history_start = 0;
    assert_eq!(a, b);
}

#[test]
fn a_snapshot_of_a_bounded_history_restores_and_goes_on_alike() {
    let r = long_meeting();
    let json = serde_json::to_string(r.e.state()).expect("encode");
    let state = serde_json::from_str(&json).expect("decode");
    let mut restored = Engine::restore(r.e.agenda().clone(), state, r.e.seq());
    let mut live = r.e.clone();
    let p = live.state().participants[7].id;
    for e in [&mut live, &mut restored] {
        raise(e, p, T0 + 1000 * M);
    }
    assert_eq!(live.state(), restored.state());
}
