//! One projection of one published state: its `change` message (head, events, state)
//! framed once, and what can be read back from that frame — the state JSON, the message
//! without its header — or checked when another node of a cluster sends it.

use super::frame::frame_header;
use bytes::Bytes;
use std::sync::Arc;

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

/// The projection of `state` (JSON) at `seq`: the previous one if its state is the same.
pub(super) fn project(
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
