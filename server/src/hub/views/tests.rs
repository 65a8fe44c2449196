//! Tests of the projections: the views keep every field of the state, each role sees
//! what it should, frames carry their length, and unchanged projections are shared.

use super::events::{events_json, Audience};
use super::state::{public_json, staff_json};
use super::{place_frame, text_frame, AgendaFrame, Places, Published, MAX_EVENTS};
use podium_protocol::{
    Agenda, Event, Hand, HandOutcome, HandRecord, InterpreterSignal, Lang, MeetingState,
    Participant, PUBLIC_QUEUE_DETAIL,
};
use std::sync::Arc;

fn a_hand(id: u64, participant: u64, point_of_order: bool) -> Hand {
    Hand {
        id,
        participant,
        name: format!("P{participant}"),
        delegation: "D".into(),
        language: Lang::Fr,
        point_of_order,
        raised_at: 0,
    }
}

fn hand(id: u64) -> Event {
    Event::HandRaised {
        hand: a_hand(id, id, false),
    }
}

fn json(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

/// A state with something in every field, so that no field is skipped.
fn full_state() -> MeetingState {
    let agenda = Agenda::from_toml(crate::DEFAULT_AGENDA).unwrap();
    let mut s = crate::engine::Engine::new(Arc::new(agenda)).state().clone();
    s.current = Some(0);
    s.segment_entered_at = Some(1);
    s.started_at = Some(1);
    s.ended_at = Some(2);
    s.queue = (1..=40).map(|i| a_hand(i, i, i % 3 == 0)).collect();
    s.participants = (1..=40)
        .map(|id| Participant {
            id,
            name: format!("Secret {id}"),
            delegation: "X".into(),
            language: Lang::Ar,
            observer: false,
            invited: false,
            removed: false,
            lowered_at: None,
        })
        .collect();
    s.agenda_edits = vec![podium_protocol::AgendaEditRecord {
        at: 6,
        version: 1,
        changes: vec!["inserted segment aob at place 7".into()],
    }];
    s.hand_history = vec![HandRecord {
        hand: a_hand(99, 1, false),
        segment: Some(0),
        left_at: 5,
        outcome: HandOutcome::Lowered,
    }];
    let signal = Some(InterpreterSignal {
        n: 1,
        language: Some(Lang::Ar),
        at: 4,
    });
    s.no_interpretation = signal.clone();
    s.speaker_done = signal;
    s
}

fn keys(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn the_views_keep_every_field_of_the_state() {
    // When MeetingState gains a field, the views must gain it too (or leave it out on
    // purpose here): this compares their keys with the state's.
    let s = full_state();
    let whole = keys(&serde_json::to_string(&s).unwrap());
    let mut staff = keys(&staff_json(&s));
    staff.retain(|k| k != "participant_count" && k != "hand_history_len");
    assert_eq!(staff, whole, "the staff view lacks a field of MeetingState");
    let mut public = keys(&public_json(&s, false));
    public.retain(|k| k != "queue_len");
    let mut expected = whole.clone();
    expected.retain(|k| k != "no_interpretation" && k != "agenda_edits");
    assert_eq!(
        public, expected,
        "the public view lacks a field of MeetingState"
    );
}

#[test]
fn staff_get_lengths_not_lists_and_the_public_the_head_of_the_queue() {
    let s = full_state();
    let staff: MeetingState = serde_json::from_str(&staff_json(&s)).unwrap();
    assert!(staff.participants.is_empty() && staff.hand_history.is_empty());
    assert_eq!(staff.participant_count, Some(40));
    assert_eq!(staff.hand_history_len, Some(1));
    assert_eq!(staff.queue, s.queue, "staff see every hand");
    let public_text = public_json(&s, false);
    assert!(!public_text.contains("Secret"));
    let public: MeetingState = serde_json::from_str(&public_text).unwrap();
    assert_eq!(public.queue, s.queue[..PUBLIC_QUEUE_DETAIL]);
    assert_eq!(public.queue_len, Some(40));
    assert_eq!(public.no_interpretation, None);
    assert_eq!(public.participant_count, None);
}

#[test]
fn places_are_found_for_both_hands() {
    let queue = vec![
        a_hand(1, 7, true),
        a_hand(2, 3, false),
        a_hand(3, 7, false),
        a_hand(4, 9, false),
    ];
    let p = Places::of(&queue);
    assert_eq!(p.of_participant(7), (Some(2), Some(0)));
    assert_eq!(p.of_participant(3), (Some(1), None));
    assert_eq!(p.of_participant(9), (Some(3), None));
    assert_eq!(p.of_participant(8), (None, None));
    let frame = place_frame(12, p.of_participant(7));
    let msg: podium_protocol::ServerMessage = serde_json::from_slice(&frame[2..]).unwrap();
    assert_eq!(
        msg,
        podium_protocol::ServerMessage::Place {
            seq: 12,
            hand: Some(2),
            point_of_order: Some(0)
        }
    );
}

#[test]
fn frames_carry_their_length_in_the_header() {
    for len in [0, 125, 126, 65535, 65536] {
        let payload = "x".repeat(len);
        let f = text_frame(&payload);
        let header = f.len() - len;
        assert_eq!(f[0], 0x81);
        match len {
            0..=125 => assert_eq!((header, f[1] as usize), (2, len)),
            126..=65535 => {
                assert_eq!((header, f[1]), (4, 126));
                assert_eq!(u16::from_be_bytes([f[2], f[3]]) as usize, len);
            }
            _ => {
                assert_eq!((header, f[1]), (10, 127));
                assert_eq!(
                    u64::from_be_bytes(f[2..10].try_into().unwrap()) as usize,
                    len
                );
            }
        }
    }
}

#[test]
fn a_projection_frames_the_change_once() {
    let s = full_state();
    let agenda = Arc::new(Agenda::from_toml(crate::DEFAULT_AGENDA).unwrap());
    let p = Published::encode(
        None,
        Arc::new(AgendaFrame::new(0, agenda)),
        7,
        100,
        (&[], &[]),
        &s,
    );
    let change: podium_protocol::ServerMessage = serde_json::from_str(p.public.change()).unwrap();
    assert!(matches!(
        change,
        podium_protocol::ServerMessage::Change { seq: 7, .. }
    ));
    assert_eq!(p.public.state(), public_json(&s, false));
    let again = Published::encode(Some(&p), p.agenda.clone(), 8, 200, (&[], &[]), &s);
    assert!(Arc::ptr_eq(&p.public, &again.public), "unchanged: shared");
    assert!(Arc::ptr_eq(&p.places, &again.places));
}

#[test]
fn public_changes_carry_no_joins_and_no_host_alerts() {
    let events = vec![
        Event::ParticipantJoined {
            participant: Participant {
                id: 9,
                name: "Secret Name".into(),
                delegation: "Somewhere".into(),
                language: Lang::Ar,
                observer: false,
                invited: false,
                removed: false,
                lowered_at: None,
            },
        },
        hand(1),
        Event::NoInterpretationReported {
            language: Some(Lang::Ar),
            at: 5,
        },
    ];
    let encoded = json(&events);
    let public = events_json(&events, &encoded, Audience::Public);
    assert_eq!(public, encoded[1]);
    assert!(!public.contains("Secret Name"));
    assert_eq!(
        events_json(&events, &encoded, Audience::Staff),
        encoded.join(",")
    );
    assert_eq!(
        events_json(&events, &encoded, Audience::Booth),
        encoded[1..].join(",")
    );
}

#[test]
fn a_change_lists_only_the_latest_events() {
    let events: Vec<Event> = (1..=40).map(hand).collect();
    let encoded = json(&events);
    let listed = events_json(&events, &encoded, Audience::Public);
    assert_eq!(listed, encoded[40 - MAX_EVENTS..].join(","));
}
