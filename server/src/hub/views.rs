//! What each role sees, encoded once per change and shared by every connection.
//!
//! Two projections: *staff* (host and moderators) see the whole state; everyone else sees
//! it without the participant register, the hand history and the host's alerts, and with
//! the queue in full for its first [`PUBLIC_QUEUE_DETAIL`] hands only (the whole order as
//! compact keys): that keeps a change small for thousands of delegates however long the
//! speaking list grows. Each is
//! serialised once per change into shared bytes ([`Utf8Bytes`]), so sending a change to
//! ten thousand connections copies no JSON.

use axum::extract::ws::Utf8Bytes;
use podium_protocol::{
    queue_key, ActiveRelay, Agenda, AgendaEditRecord, BoothAlert, BoothState, BoothText, Clock,
    Event, Hand, HandRecord, InterpreterSignal, MeetingState, Participant, Phase, Role,
    SegmentTimes, Speech, SpeechRecord, PUBLIC_QUEUE_DETAIL,
};
use serde::Serialize;
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

/// The staff projection: the whole state but the booth log.
#[derive(Serialize)]
struct StaffView<'a> {
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
    queue_open: bool,
    points_of_order_open: bool,
    not_yet_spoken_first: bool,
    observers_may_raise_hand: bool,
    join_links_open: bool,
    auto_advance: bool,
    hand_history: &'a [HandRecord],
    participants: &'a [Participant],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    agenda_edits: &'a [AgendaEditRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    no_interpretation: Option<&'a InterpreterSignal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker_done: Option<&'a InterpreterSignal>,
    next_hand: u64,
    interpretation: InterpView<'a>,
}

fn staff_json(s: &MeetingState) -> String {
    serde_json::to_string(&StaffView {
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
        queue_open: s.queue_open,
        points_of_order_open: s.points_of_order_open,
        not_yet_spoken_first: s.not_yet_spoken_first,
        observers_may_raise_hand: s.observers_may_raise_hand,
        join_links_open: s.join_links_open,
        auto_advance: s.auto_advance,
        hand_history: &s.hand_history,
        participants: &s.participants,
        agenda_edits: &s.agenda_edits,
        no_interpretation: s.no_interpretation.as_ref(),
        speaker_done: s.speaker_done.as_ref(),
        next_hand: s.next_hand,
        interpretation: InterpView::of(s, true),
    })
    .expect("state serialises")
}

/// The public projection: the same shape as [`MeetingState`], private parts emptied.
/// Booths get it with their alerts (and the host's `no_interpretation` signal) added.
#[derive(Serialize)]
struct PublicView<'a> {
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
    queue_keys: Vec<u64>,
    queue_open: bool,
    points_of_order_open: bool,
    not_yet_spoken_first: bool,
    observers_may_raise_hand: bool,
    join_links_open: bool,
    auto_advance: bool,
    hand_history: [(); 0],
    participants: &'a [Participant],
    #[serde(skip_serializing_if = "Option::is_none")]
    no_interpretation: Option<&'a InterpreterSignal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker_done: Option<&'a InterpreterSignal>,
    next_hand: u64,
    interpretation: InterpView<'a>,
}

fn public_json(s: &MeetingState, booth: bool) -> String {
    serde_json::to_string(&PublicView {
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
        queue: &s.queue[..s.queue.len().min(PUBLIC_QUEUE_DETAIL)],
        queue_keys: s
            .queue
            .iter()
            .map(|h| queue_key(h.participant, h.point_of_order))
            .collect(),
        queue_open: s.queue_open,
        points_of_order_open: s.points_of_order_open,
        not_yet_spoken_first: s.not_yet_spoken_first,
        observers_may_raise_hand: s.observers_may_raise_hand,
        join_links_open: s.join_links_open,
        auto_advance: s.auto_advance,
        hand_history: [],
        participants: &[],
        no_interpretation: s.no_interpretation.as_ref().filter(|_| booth),
        speaker_done: s.speaker_done.as_ref(),
        next_hand: s.next_hand,
        interpretation: InterpView::of(s, booth),
    })
    .expect("state serialises")
}

/// One projection of one state: the `change` message that carries it. Shared (`Arc`)
/// between consecutive published states when the projection did not change, so that a
/// change only some roles can see costs the others nothing.
pub struct Projection {
    /// Journal position of the last state whose change this projection shows.
    pub seq: u64,
    /// The whole `change` message, shared by every connection of this projection.
    pub change: Utf8Bytes,
    /// Where the state JSON starts inside `change` (it runs to the closing brace).
    state_at: usize,
}

impl Projection {
    /// The state JSON alone (for snapshots and the store's snapshots).
    pub fn state(&self) -> &str {
        &self.change.as_str()[self.state_at..self.change.len() - 1]
    }
}

/// A published state, both projections. Connections hold it through a `watch`.
pub struct Published {
    /// Journal position of this state.
    pub seq: u64,
    /// For host and moderators. Its `state()` is also the store's snapshot text.
    pub staff: Arc<Projection>,
    /// For everyone else but the booths.
    pub public: Arc<Projection>,
    /// For the interpretation booths: public, plus the booth alerts and their answers.
    pub booth: Arc<Projection>,
    /// The `agenda` message of the agenda this state goes with (shared until an edit).
    pub agenda: Arc<AgendaFrame>,
    /// When it was encoded and when connections wrote it, for the fan-out histograms.
    pub fanout: Fanout,
}

/// Fan-out timing of one published state. Each connection that writes the state marks
/// it ([`Fanout::written`]); when the state is superseded and dropped (the watch holds
/// it, and a connection holds it while writing it), the times go to the
/// `podium_fanout_*` histograms of `/metrics`.
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

    /// A connection has written this state to its socket.
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

/// The `agenda` message of one agenda version, encoded once and shared by every
/// connection and every published state until the next edit. A connection sends it after
/// `welcome` (unless the client holds that version) and before the first change that shows
/// a newer `agenda_version`.
pub struct AgendaFrame {
    /// The `state.agenda_version` it goes with.
    pub version: u64,
    /// The agenda itself (the engine's, shared: an edit copies it on write), for names in
    /// `welcome` and links.
    pub agenda: Arc<Agenda>,
    /// The whole `{"type":"agenda",...}` message.
    pub message: Utf8Bytes,
    /// Where the agenda JSON lies inside `message`.
    json_at: std::ops::Range<usize>,
}

impl AgendaFrame {
    /// Encodes an agenda version with its planned times.
    pub fn new(version: u64, agenda: Arc<Agenda>) -> AgendaFrame {
        let head = format!(r#"{{"type":"agenda","version":{version},"agenda":"#);
        let json = serde_json::to_string(&*agenda).expect("agenda serialises");
        let range = head.len()..head.len() + json.len();
        let planned = serde_json::to_string(&agenda.planned_starts_ms()).expect("numbers");
        AgendaFrame {
            version,
            agenda,
            message: Utf8Bytes::from(format!(r#"{head}{json},"planned":{planned}}}"#)),
            json_at: range,
        }
    }

    /// The agenda JSON alone (the store's snapshots keep it beside the state).
    pub fn agenda_json(&self) -> &str {
        &self.message.as_str()[self.json_at.clone()]
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
    let state_at = head.len();
    let mut msg = head;
    msg.push_str(&state);
    msg.push('}');
    Arc::new(Projection {
        seq,
        change: Utf8Bytes::from(msg),
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

    /// A `snapshot` message for a role, sent once when a connection starts (after the
    /// `agenda` message of [`Published::agenda`]).
    pub fn snapshot(&self, role: Role, now: i64) -> Utf8Bytes {
        Utf8Bytes::from(format!(
            r#"{{"type":"snapshot","seq":{},"server_time":{now},"state":{}}}"#,
            self.for_role(role).seq,
            self.for_role(role).state()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podium_protocol::Lang;

    fn hand(id: u64) -> Event {
        Event::HandRaised {
            hand: Hand {
                id,
                participant: id,
                name: format!("P{id}"),
                delegation: "D".into(),
                language: Lang::Fr,
                point_of_order: false,
                raised_at: 0,
            },
        }
    }

    fn json(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect()
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
