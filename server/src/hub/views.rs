//! What each role sees, encoded and framed once per change and shared by every connection.
//!
//! Two projections. *Staff* (host and moderators) see the whole state except the two lists
//! that grow with the meeting — the participant register and the hand history — which they
//! page with `fetch` (their lengths ride in the state). Everyone else sees the state
//! without those lists and the host's alerts, with the queue in full for its first
//! [`PUBLIC_QUEUE_DETAIL`] hands and its length; each participant's own places come in a
//! per-connection `place` message, looked up in [`Places`]. So a join or a hand costs
//! every receiver bytes for the change, not for the meeting.
//!
//! Each projection is serialised once per change and framed once: a server-to-client
//! websocket frame is unmasked, so header + payload are the same bytes for every receiver
//! ([`Projection::frame`]), and the fan-out writes those bytes to each socket as they are.

use bytes::Bytes;
use podium_protocol::{
    ActiveRelay, Agenda, AgendaEditRecord, BoothAlert, BoothState, BoothText, Clock, Event, Hand,
    InterpreterSignal, MeetingState, Phase, Role, SegmentTimes, Speech, SpeechRecord,
    PUBLIC_QUEUE_DETAIL,
};
use serde::Serialize;

pub use super::places::{place_frame, Place, Places};
use std::sync::Arc;

/// The interpretation desk as a projection shows it: never the booth log (it grows with
/// the meeting; the report has it), and the alerts only for staff and booths.
#[derive(Serialize)]
struct InterpView<'a> {
    booths: &'a [BoothState],
    #[serde(skip_serializing_if = "Option::is_none")]
    relay: Option<&'a ActiveRelay>,
    alerts: &'a [BoothAlert],
    next_alert: u64,
    texts: &'a [BoothText],
    log: [(); 0],
}

impl<'a> InterpView<'a> {
    fn of(s: &'a MeetingState, alerts: bool) -> InterpView<'a> {
        let i = &s.interpretation;
        InterpView {
            booths: &i.booths,
            relay: i.relay.as_ref(),
            alerts: if alerts { &i.alerts } else { &[] },
            next_alert: i.next_alert,
            texts: &i.texts,
            log: [],
        }
    }
}

/// The projections' shape: [`MeetingState`] field for field, the per-role parts filled
/// in by [`staff_json`] and [`public_json`]. (A unit test checks that it still has every
/// field the state has.)
#[derive(Serialize)]
struct View<'a> {
    phase: Phase,
    agenda_version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<usize>,
    segment_clock: &'a Clock,
    #[serde(skip_serializing_if = "Option::is_none")]
    segment_entered_at: Option<i64>,
    segments: &'a [SegmentTimes],
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speech: Option<&'a Speech>,
    history: &'a [SpeechRecord],
    queue: &'a [Hand],
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_len: Option<usize>,
    queue_open: bool,
    points_of_order_open: bool,
    not_yet_spoken_first: bool,
    observers_may_raise_hand: bool,
    join_links_open: bool,
    auto_advance: bool,
    hand_history: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    hand_history_len: Option<usize>,
    participants: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_count: Option<usize>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    agenda_edits: &'a [AgendaEditRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    no_interpretation: Option<&'a InterpreterSignal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker_done: Option<&'a InterpreterSignal>,
    next_hand: u64,
    interpretation: InterpView<'a>,
}

fn view(s: &MeetingState) -> View<'_> {
    View {
        phase: s.phase,
        agenda_version: s.agenda_version,
        current: s.current,
        segment_clock: &s.segment_clock,
        segment_entered_at: s.segment_entered_at,
        segments: &s.segments,
        started_at: s.started_at,
        ended_at: s.ended_at,
        speech: s.speech.as_ref(),
        history: &s.history,
        queue: &s.queue,
        queue_len: None,
        queue_open: s.queue_open,
        points_of_order_open: s.points_of_order_open,
        not_yet_spoken_first: s.not_yet_spoken_first,
        observers_may_raise_hand: s.observers_may_raise_hand,
        join_links_open: s.join_links_open,
        auto_advance: s.auto_advance,
        hand_history: [],
        hand_history_len: None,
        participants: [],
        participant_count: None,
        agenda_edits: &s.agenda_edits,
        no_interpretation: s.no_interpretation.as_ref(),
        speaker_done: s.speaker_done.as_ref(),
        next_hand: s.next_hand,
        interpretation: InterpView::of(s, true),
    }
}

/// The staff projection: everything but the register, the hand history and the booth
/// log; the lengths of the first two instead.
fn staff_json(s: &MeetingState) -> String {
    serde_json::to_string(&View {
        hand_history_len: Some(s.hand_history.len()),
        participant_count: Some(s.participants.len()),
        ..view(s)
    })
    .expect("state serialises")
}

/// The public projection: no register, no hand history, no agenda edit log, no alerts to
/// the chair; the head of the queue and its length. Booths get it with their alerts (and
/// the host's `no_interpretation` signal) added.
fn public_json(s: &MeetingState, booth: bool) -> String {
    serde_json::to_string(&View {
        queue: &s.queue[..s.queue.len().min(PUBLIC_QUEUE_DETAIL)],
        queue_len: Some(s.queue.len()),
        agenda_edits: &[],
        no_interpretation: s.no_interpretation.as_ref().filter(|_| booth),
        interpretation: InterpView::of(s, booth),
        ..view(s)
    })
    .expect("state serialises")
}

/// A complete, unmasked, final text frame holding `payload`: the bytes a server sends.
pub fn text_frame(payload: &str) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 10);
    frame_header(0x1, payload.len(), &mut out);
    out.extend_from_slice(payload.as_bytes());
    Bytes::from(out)
}

/// Writes the header of a final, unmasked frame with this opcode and payload length
/// (RFC 6455 §5.2: 7-bit, 16-bit or 64-bit length).
pub fn frame_header(opcode: u8, len: usize, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if len <= u16::MAX as usize {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// One projection of one state: the `change` message that carries it, framed. Shared
/// (`Arc`) between consecutive published states when the projection did not change, so
/// that a change only some roles can see costs the others nothing.
pub struct Projection {
    /// Journal position of the last state whose change this projection shows.
    pub seq: u64,
    /// The whole `change` message as one websocket frame (header + JSON), the same bytes
    /// for every connection of this projection.
    pub frame: Bytes,
    /// Where the JSON starts in `frame` (after the frame header).
    json_at: usize,
    /// Where the state JSON starts in `frame` (it runs to the closing brace).
    state_at: usize,
}

impl Projection {
    /// The state JSON alone (for snapshots).
    pub fn state(&self) -> &str {
        std::str::from_utf8(&self.frame[self.state_at..self.frame.len() - 1])
            .expect("the frame holds the JSON we wrote")
    }

    /// The `change` message's JSON as shared bytes (the frame without its header), for
    /// other transports (the event stream).
    pub fn change_bytes(&self) -> Bytes {
        self.frame.slice(self.json_at..)
    }

    /// The `change` message's JSON (without the frame header).
    pub fn change(&self) -> &str {
        std::str::from_utf8(&self.frame[self.json_at..]).expect("the frame holds the JSON we wrote")
    }

    /// Where the JSON and the state start in `frame` (for carrying a projection to
    /// another node of a cluster).
    pub fn offsets(&self) -> (usize, usize) {
        (self.json_at, self.state_at)
    }

    /// A projection received from another node (cluster fan-out): the frame as its owner
    /// built it, and where its JSON and state start. `None` unless the offsets fall inside
    /// the frame in order, the JSON is UTF-8 and ends the object the state is in.
    pub fn from_frame(
        seq: u64,
        frame: Bytes,
        json_at: usize,
        state_at: usize,
    ) -> Option<Projection> {
        let ok = json_at <= state_at
            && state_at < frame.len()
            && frame.last() == Some(&b'}')
            && std::str::from_utf8(&frame[json_at..])
                .is_ok_and(|j| j.is_char_boundary(state_at - json_at));
        ok.then_some(Projection {
            seq,
            frame,
            json_at,
            state_at,
        })
    }
}

/// A published state, both projections. The meeting publishes it on a `watch`; the
/// fan-out writes it to every connection.
pub struct Published {
    /// Journal position of this state.
    pub seq: u64,
    /// For host and moderators.
    pub staff: Arc<Projection>,
    /// For everyone else but the booths.
    pub public: Arc<Projection>,
    /// For the interpretation booths: public, plus the booth alerts and their answers.
    pub booth: Arc<Projection>,
    /// Every participant's places in the queue (for their `place` messages).
    pub places: Arc<Places>,
    /// The `agenda` message of the agenda this state goes with (shared until an edit).
    pub agenda: Arc<AgendaFrame>,
    /// When it was encoded and when connections wrote it, for the fan-out histograms.
    pub fanout: Fanout,
}

/// Fan-out timing of one published state. The fan-out marks it when it writes the first
/// and the last socket ([`Fanout::written`]); when the state is superseded and dropped,
/// the times go to the `podium_fanout_*` histograms of `/metrics`.
pub struct Fanout {
    encoded: std::time::Instant,
    /// Nanoseconds after `encoded`; `u64::MAX` / 0 until a connection writes.
    first: std::sync::atomic::AtomicU64,
    last: std::sync::atomic::AtomicU64,
}

impl Fanout {
    fn new() -> Fanout {
        Fanout {
            encoded: std::time::Instant::now(),
            first: std::sync::atomic::AtomicU64::new(u64::MAX),
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The state has been written to a socket now.
    pub fn written(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let t = self.encoded.elapsed().as_nanos() as u64;
        self.first.fetch_min(t, Relaxed);
        self.last.fetch_max(t, Relaxed);
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let (first, last) = (self.first.load(Relaxed), self.last.load(Relaxed));
        if first != u64::MAX {
            crate::metrics::FANOUT.observe(std::time::Duration::from_nanos(last));
            crate::metrics::FANOUT_SPREAD.observe(std::time::Duration::from_nanos(last - first));
        }
    }
}

/// The `agenda` message of one agenda version, encoded and framed once and shared by
/// every connection and every published state until the next edit. A connection sends it
/// after `welcome` (unless the client holds that version) and before the first change that
/// shows a newer `agenda_version`.
pub struct AgendaFrame {
    /// The `state.agenda_version` it goes with.
    pub version: u64,
    /// The agenda itself (the engine's, shared: an edit copies it on write), for names in
    /// `welcome` and links.
    pub agenda: Arc<Agenda>,
    /// The whole `{"type":"agenda",...}` message as one websocket frame.
    pub frame: Bytes,
    /// Where the agenda JSON lies inside `frame`.
    json_at: std::ops::Range<usize>,
    /// Where the message starts inside `frame` (after the frame header).
    message_at: usize,
}

impl AgendaFrame {
    /// Encodes an agenda version with its planned times.
    pub fn new(version: u64, agenda: Arc<Agenda>) -> AgendaFrame {
        let head = format!(r#"{{"type":"agenda","version":{version},"agenda":"#);
        let json = serde_json::to_string(&*agenda).expect("agenda serialises");
        let planned = serde_json::to_string(&agenda.planned_starts_ms()).expect("numbers");
        let message = format!(r#"{head}{json},"planned":{planned}}}"#);
        let mut frame = Vec::with_capacity(message.len() + 10);
        frame_header(0x1, message.len(), &mut frame);
        let message_at = frame.len();
        let at = message_at + head.len();
        frame.extend_from_slice(message.as_bytes());
        AgendaFrame {
            version,
            agenda,
            frame: Bytes::from(frame),
            json_at: at..at + json.len(),
            message_at,
        }
    }

    /// The whole `agenda` message as shared bytes (without the frame header).
    pub fn message(&self) -> Bytes {
        self.frame.slice(self.message_at..)
    }

    /// The agenda JSON alone (the store's snapshots keep it beside the state).
    pub fn agenda_json(&self) -> &str {
        std::str::from_utf8(&self.frame[self.json_at.clone()]).expect("the frame holds JSON")
    }
}

/// Events a `change` lists at most: they are informative (the state is complete), and a
/// turn of hundreds of joins or hands must not make every message hundreds of KB.
pub const MAX_EVENTS: usize = 16;

/// Who a projection is for, as far as events go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Staff,
    Booth,
    Public,
}

/// Whether `audience` may see event `e`: joins and removals (the participant register)
/// are staff-only; booths' alerts to the chair are for staff and booths.
fn visible(e: &Event, audience: Audience) -> bool {
    match e {
        Event::ParticipantJoined { .. } | Event::ParticipantRemoved { .. } => {
            audience == Audience::Staff
        }
        Event::NoInterpretationReported { .. }
        | Event::BoothAlerted { .. }
        | Event::BoothAlertAcknowledged { .. } => audience != Audience::Public,
        _ => true,
    }
}

/// The comma-joined JSON of the last [`MAX_EVENTS`] events an audience may see.
fn events_json(events: &[Event], encoded: &[String], audience: Audience) -> String {
    let visible = events
        .iter()
        .zip(encoded)
        .filter(|(e, _)| visible(e, audience));
    let mut last: Vec<&str> = visible
        .rev()
        .take(MAX_EVENTS)
        .map(|(_, j)| j.as_str())
        .collect();
    last.reverse();
    last.join(",")
}

/// The projection of `state` (JSON) at `seq`: the previous one if its state is the same.
fn project(
    prev: Option<&Arc<Projection>>,
    seq: u64,
    now: i64,
    events_json: &str,
    state: String,
) -> Arc<Projection> {
    if let Some(p) = prev.filter(|p| p.state() == state) {
        return p.clone();
    }
    let head = format!(
        r#"{{"type":"change","seq":{seq},"server_time":{now},"events":[{events_json}],"state":"#
    );
    let len = head.len() + state.len() + 1;
    let mut frame = Vec::with_capacity(len + 10);
    frame_header(0x1, len, &mut frame);
    let json_at = frame.len();
    frame.extend_from_slice(head.as_bytes());
    let state_at = frame.len();
    frame.extend_from_slice(state.as_bytes());
    frame.push(b'}');
    Arc::new(Projection {
        seq,
        frame: Bytes::from(frame),
        json_at,
        state_at,
    })
}

impl Published {
    /// Encodes a state for every role. `events` are the events that led here, with
    /// their JSON (`encoded`, index for index). A projection whose state is unchanged since
    /// `prev` is shared, not re-sent: connections of that role see no change.
    pub fn encode(
        prev: Option<&Published>,
        agenda: Arc<AgendaFrame>,
        seq: u64,
        now: i64,
        (events, encoded): (&[Event], &[String]),
        state: &MeetingState,
    ) -> Published {
        let staff_events = events_json(events, encoded, Audience::Staff);
        let public_events = events_json(events, encoded, Audience::Public);
        let booth_events = events_json(events, encoded, Audience::Booth);
        let places = Places::of(&state.queue);
        let places = match prev {
            Some(p) if *p.places == places => p.places.clone(),
            _ => Arc::new(places),
        };
        Published {
            seq,
            staff: project(
                prev.map(|p| &p.staff),
                seq,
                now,
                &staff_events,
                staff_json(state),
            ),
            public: project(
                prev.map(|p| &p.public),
                seq,
                now,
                &public_events,
                public_json(state, false),
            ),
            booth: project(
                prev.map(|p| &p.booth),
                seq,
                now,
                &booth_events,
                public_json(state, true),
            ),
            places,
            agenda,
            fanout: Fanout::new(),
        }
    }

    /// A published state put together from what another node of a cluster encoded
    /// (cluster fan-out); fan-out timing starts now.
    pub fn assemble(
        seq: u64,
        (staff, public, booth): (Arc<Projection>, Arc<Projection>, Arc<Projection>),
        places: Arc<Places>,
        agenda: Arc<AgendaFrame>,
    ) -> Published {
        Published {
            seq,
            staff,
            public,
            booth,
            places,
            agenda,
            fanout: Fanout::new(),
        }
    }

    /// The projection for a role.
    pub fn for_role(&self, role: Role) -> &Projection {
        if role.is_staff() {
            &self.staff
        } else if role == Role::Interpreter {
            &self.booth
        } else {
            &self.public
        }
    }

    /// A `snapshot` message for a role, framed; sent once when a connection starts (after
    /// the `agenda` message of [`Published::agenda`]).
    pub fn snapshot(&self, role: Role, now: i64) -> Bytes {
        text_frame(&format!(
            r#"{{"type":"snapshot","seq":{},"server_time":{now},"state":{}}}"#,
            self.for_role(role).seq,
            self.for_role(role).state()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podium_protocol::{HandOutcome, HandRecord, Lang, Participant};

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
        let change: podium_protocol::ServerMessage =
            serde_json::from_str(p.public.change()).unwrap();
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
}
