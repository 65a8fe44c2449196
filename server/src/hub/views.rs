//! What each role sees, encoded and framed once per change and shared by every connection.
//!
//! Two projections. *Staff* (host and moderators) see the whole state except the two lists
//! that grow with the meeting — the participant register and the hand history — which they
//! page with `fetch` (their lengths ride in the state). Everyone else sees the state
//! without those lists and the host's alerts, with the queue in full for its first
//! [`PUBLIC_QUEUE_DETAIL`](podium_protocol::PUBLIC_QUEUE_DETAIL) hands and its length;
//! each participant's own places come in a per-connection `place` message, looked up in
//! [`Places`]. So a join or a hand costs every receiver bytes for the change, not for
//! the meeting.
//!
//! Each projection is serialised once per change and framed once: a server-to-client
//! websocket frame is unmasked, so header + payload are the same bytes for every receiver
//! ([`Projection::frame`]), and the fan-out writes those bytes to each socket as they are.
//!
//! The per-role views of the state are in `state`, the events each role is shown in
//! `events`, a framed `change` in `projection` (frames themselves in `frame`), the
//! `agenda` message in `agenda` and fan-out timing in `fanout`; this file puts a
//! published state together.

mod agenda;
mod events;
mod fanout;
mod frame;
mod projection;
mod state;
#[cfg(test)]
mod tests;

pub use super::places::{place_frame, Place, Places};
pub use agenda::AgendaFrame;
use bytes::Bytes;
pub use events::MAX_EVENTS;
use events::{events_json, Audience};
pub use fanout::Fanout;
pub use frame::{frame_header, text_frame};
use podium_protocol::{Event, MeetingState, Role};
use projection::project;
pub use projection::Projection;
use state::{public_json, staff_json};
use std::sync::Arc;

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
