//! Which events a `change` message lists for whom: joins and removals for staff only,
//! the booths' alerts for staff and booths, and at most the last [`MAX_EVENTS`].

use podium_protocol::Event;

/// Events a `change` lists at most: they are informative (the state is complete), and a
/// turn of hundreds of joins or hands must not make every message hundreds of KB.
pub const MAX_EVENTS: usize = 16;

/// Who a projection is for, as far as events go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// Host and moderators.
    Staff,
    /// The interpretation booths.
    Booth,
    /// Everyone else.
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
pub(super) fn events_json(events: &[Event], encoded: &[String], audience: Audience) -> String {
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
