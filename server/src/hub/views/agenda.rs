//! The `agenda` message of one agenda version, encoded and framed once, with the agenda
//! it encodes and where its JSON lies in the frame.

use super::frame::frame_header;
use bytes::Bytes;
use podium_protocol::Agenda;
use std::sync::Arc;

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
