//! Tests of the engine's rules, on hand-stepped time: `now` is a plain Unix-ms number.
//!
//! - `rules`: one or more unit tests for every rule (navigation, clocks, speeches, queue,
//!   messages, auto-advance, rejections).
//! - `roles_table`: for every command, which roles may send it.
//! - `edits`: live agenda edits (what may change, history, clocks, links, replay).
//! - `invitations`: closed join links, invited delegates.
//! - `props`: property tests over random command sequences from random actors, agenda
//!   edits among them (`gen_edits` makes the random edits, `invariants` checks them).
//! - `seed_meeting`: the bundled GFMD meeting played through on simulated time.
//! - `booth`: the interpretation desk (floor language, relay, handovers, alerts, texts).
//! - `defend`: removing a participant, points of order closed, the hand cooldown.
//! - `hand_history`: the live meeting keeps only the latest hands; the report's engine all.

mod booth;
mod defend;
mod edits;
mod gen_edits;
mod hand_history;
mod invariants;
mod invitations;
mod props;
mod roles_table;
mod rules;
mod seed_meeting;

use super::{Actor, Engine, Rejection};
use podium_protocol::{Agenda, Command, Event, Lang, ParticipantId};
use std::sync::{Arc, OnceLock};

/// The bundled agenda, as shipped.
pub const SEED_TOML: &str = include_str!("../../../../agendas/gfmd-mayors-2021-01-22.toml");

/// 2021-01-22 16:00 Europe/Paris (CET, UTC+1), the seed meeting's planned start.
pub const T0: i64 = 1_611_327_600_000;
/// One second, in ms.
pub const S: i64 = 1_000;
/// One minute, in ms.
pub const M: i64 = 60_000;

/// Segment indices of the seed agenda.
pub const INTRO: usize = 0;
pub const WELCOME: usize = 1;
pub const ROUND_1: usize = 2;
pub const ROUND_2: usize = 3;
pub const ROUND_3: usize = 4;
pub const OPEN: usize = 5;
pub const CLOSING: usize = 6;

/// The seed agenda, parsed and validated (once: parsing TOML is slow in debug builds).
pub fn seed() -> Arc<Agenda> {
    static SEED: OnceLock<Arc<Agenda>> = OnceLock::new();
    SEED.get_or_init(|| {
        Arc::new(Agenda::from_toml(SEED_TOML).expect("the bundled agenda is valid"))
    })
    .clone()
}

/// A fresh engine on the seed agenda.
pub fn fresh() -> Engine {
    Engine::new(seed())
}

/// The seed meeting, started by the host at exactly `T0`.
pub fn started() -> Engine {
    let mut e = fresh();
    ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    e
}

/// The seed meeting, started at `T0` and moved to segment `index` at `now`.
pub fn at_segment(index: usize, now: i64) -> Engine {
    let mut e = started();
    if index != 0 {
        let segment = e.agenda().segments[index].id.clone();
        ok(&mut e, Command::GoToSegment { segment }, Actor::Host, now);
    }
    e
}

/// Applies a command that must be accepted; checks that `seq` grew by the events' count.
#[track_caller]
pub fn ok(e: &mut Engine, command: Command, actor: Actor, now: i64) -> Vec<Event> {
    let before = e.seq();
    match e.apply(&command, &actor, now) {
        Ok(events) => {
            assert_eq!(e.seq(), before + events.len() as u64, "seq counts events");
            assert!(
                !events.is_empty(),
                "an accepted command records at least one event"
            );
            events
        }
        Err(r) => panic!("{command:?} from {actor:?} at {now} was rejected: {r:?}"),
    }
}

/// Applies a command that must be refused; checks that nothing changed.
#[track_caller]
pub fn rejected(e: &mut Engine, command: Command, actor: Actor, now: i64) -> Rejection {
    let state = e.state().clone();
    let seq = e.seq();
    match e.apply(&command, &actor, now) {
        Ok(events) => panic!("{command:?} from {actor:?} was accepted: {events:?}"),
        Err(r) => {
            assert_eq!(
                e.state(),
                &state,
                "a rejected {command:?} changed the state"
            );
            assert_eq!(e.seq(), seq, "a rejected {command:?} changed seq");
            assert!(!r.to_string().is_empty(), "a rejection explains itself");
            r
        }
    }
}

/// A participant (not an observer) joins; returns their id.
#[track_caller]
pub fn join(e: &mut Engine, name: &str, delegation: &str, language: Lang) -> ParticipantId {
    e.join(name, delegation, language, false).expect("join").0
}

/// An observer joins; returns their id.
#[track_caller]
pub fn join_observer(e: &mut Engine, name: &str, delegation: &str) -> ParticipantId {
    e.join(name, delegation, Lang::En, true).expect("join").0
}

/// A participant raises an ordinary hand in their join language; returns the hand id.
#[track_caller]
pub fn raise(e: &mut Engine, who: ParticipantId, now: i64) -> u64 {
    raise_with(e, who, None, false, now)
}

/// A participant raises a hand; returns the hand id.
#[track_caller]
pub fn raise_with(
    e: &mut Engine,
    who: ParticipantId,
    language: Option<Lang>,
    point_of_order: bool,
    now: i64,
) -> u64 {
    let events = ok(
        e,
        Command::RaiseHand {
            language,
            point_of_order,
        },
        Actor::Participant(who),
        now,
    );
    match events.as_slice() {
        [Event::HandRaised { hand }] => hand.id,
        other => panic!("unexpected events {other:?}"),
    }
}

/// The queue as participant ids, in calling order.
pub fn queue_of(e: &Engine) -> Vec<ParticipantId> {
    e.state().queue.iter().map(|h| h.participant).collect()
}

/// Give the floor to a named speaker.
pub fn give(person: &str) -> Command {
    Command::GiveFloor {
        person: person.to_string(),
    }
}

/// A moderator actor by person id.
pub fn moderator(id: &str) -> Actor {
    Actor::Moderator(id.to_string())
}

/// A speaker actor by person id.
pub fn speaker(id: &str) -> Actor {
    Actor::Speaker(id.to_string())
}

/// A small agenda in which one moderator ("ana-moder") has two segments, "a" and "c",
/// around another moderator's "b"; no speech limit anywhere; auto-advance on.
pub const TWO_MODERATORS_TOML: &str = r#"
[meeting]
title = "Two moderators"
time_zone = "UTC"
start = "2021-01-22T15:00"
languages = ["en", "fr"]
auto_advance = true

[[segment]]
id = "a"
kind = "round"
title = "A"
duration = "10m"
moderator = { name = "Ana Moder", language = "en" }
speakers = [{ name = "Sam Speaker", language = "fr" }]

[[segment]]
id = "b"
kind = "round"
title = "B"
duration = "10m"
moderator = { name = "Ben Other", language = "en" }

[[segment]]
id = "c"
kind = "open_floor"
title = "C"
duration = "10m"
moderator = { name = "Ana Moder", language = "en" }
"#;

/// [`TWO_MODERATORS_TOML`], parsed.
pub fn two_moderators() -> Arc<Agenda> {
    Arc::new(Agenda::from_toml(TWO_MODERATORS_TOML).expect("valid test agenda"))
}
