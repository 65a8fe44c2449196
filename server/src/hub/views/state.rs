//! The state as each role sees it: one serialisable view of [`MeetingState`], borrowed
//! field for field, with the per-role parts filled in — staff get the lengths of the
//! register and the hand history instead of the lists; everyone else the head of the
//! queue, no register, no edit log, and alerts only in the booths.

use podium_protocol::{
    ActiveRelay, AgendaEditRecord, BoothAlert, BoothState, BoothText, Clock, Hand,
    InterpreterSignal, MeetingState, Phase, SegmentTimes, Speech, SpeechRecord,
    PUBLIC_QUEUE_DETAIL,
};
use serde::Serialize;

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
    /// The desk of `s`, with its alerts if `alerts`.
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

/// The whole state as a view, before the per-role parts.
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
pub(super) fn staff_json(s: &MeetingState) -> String {
    serde_json::to_string(&View {
        hand_history_len: Some(s.hand_history_start + s.hand_history.len()),
        participant_count: Some(s.participants.len()),
        ..view(s)
    })
    .expect("state serialises")
}

/// The public projection: no register, no hand history, no agenda edit log, no alerts to
/// the chair; the head of the queue and its length. Booths get it with their alerts (and
/// the host's `no_interpretation` signal) added.
pub(super) fn public_json(s: &MeetingState, booth: bool) -> String {
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
