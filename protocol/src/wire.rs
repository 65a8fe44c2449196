//! Messages on the websocket, in both directions, and the typed error codes.
//!
//! Every message is one JSON text frame with a `type` field. A client first sends
//! `hello` (or `join`), gets `welcome` and a `snapshot`, then sends `command`s, each with
//! its own request `id`, and receives `ack` or `error` for each, plus a `change` whenever
//! the meeting changes. See PROTOCOL.md for examples.

use crate::agenda::Agenda;
use crate::booth::BoothSignal;
use crate::event::Event;
use crate::lang::Lang;
use crate::state::{
    ClockTarget, HandId, HandRecord, MeetingState, Participant, ParticipantId, UnixMs,
};
use serde::{Deserialize, Serialize};

/// A role in a meeting. Each has its own capability link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The coordinator: every right.
    Host,
    /// A named segment moderator: host rights during their own segments.
    Moderator,
    /// A named speaker.
    Speaker,
    /// A delegate who joined.
    Participant,
    /// An observer who joined.
    Observer,
    /// An interpreter in a booth.
    Interpreter,
    /// The room's big screen.
    Projector,
}

impl Role {
    /// Every role, in link order.
    pub const ALL: [Role; 7] = [
        Role::Host,
        Role::Moderator,
        Role::Speaker,
        Role::Participant,
        Role::Observer,
        Role::Interpreter,
        Role::Projector,
    ];

    /// The role's name on the wire and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Moderator => "moderator",
            Role::Speaker => "speaker",
            Role::Participant => "participant",
            Role::Observer => "observer",
            Role::Interpreter => "interpreter",
            Role::Projector => "projector",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role sees the moderation data (participant ids, alerts).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Host | Role::Moderator)
    }
}

/// Something a client asks the meeting to do. Each is checked against the sender's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Start the meeting in its first segment. Host.
    StartMeeting,
    /// Go to the next segment. Host, or the current segment's moderator.
    NextSegment,
    /// Go back to the previous segment. Host, or the current segment's moderator.
    PreviousSegment,
    /// Jump to a segment by id. Host, or the moderator of both segments.
    GoToSegment {
        /// The segment id.
        segment: String,
    },
    /// End the meeting. Host.
    EndMeeting,
    /// Start a ready clock. Host or moderator in their segment.
    StartClock {
        /// Which clock.
        target: ClockTarget,
    },
    /// Pause a running clock. Host or moderator in their segment.
    PauseClock {
        /// Which clock.
        target: ClockTarget,
    },
    /// Resume a paused clock. Host or moderator in their segment.
    ResumeClock {
        /// Which clock.
        target: ClockTarget,
    },
    /// Add (positive) or remove (negative) time, in seconds. Host or moderator.
    AdjustClock {
        /// Which clock.
        target: ClockTarget,
        /// Seconds to add; negative removes. At most one hour either way.
        seconds: i64,
    },
    /// Give the floor to a named speaker of the agenda. Host or moderator.
    GiveFloor {
        /// The speaker's person id.
        person: String,
    },
    /// Give the floor to a hand in the queue (`hand` absent: the first hand). Host or moderator.
    GiveFloorToHand {
        /// The hand, or the first in the queue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hand: Option<HandId>,
    },
    /// End the speech in progress. Host or moderator.
    EndSpeech,
    /// Raise a hand. Participant, or observer where allowed.
    RaiseHand {
        /// The language they will speak in (default: the one given at join).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Lang>,
        /// A point of order goes ahead of ordinary hands.
        #[serde(default)]
        point_of_order: bool,
    },
    /// Lower one's own hand (`point_of_order` selects which of one's two hands).
    LowerHand {
        /// Lower the point of order rather than the ordinary hand.
        #[serde(default)]
        point_of_order: bool,
    },
    /// Remove someone's hand. Host or moderator.
    RemoveHand {
        /// Which hand.
        hand: HandId,
    },
    /// Move a hand to a new place (0 = first). Host or moderator.
    MoveHand {
        /// Which hand.
        hand: HandId,
        /// New index in the queue.
        to: usize,
    },
    /// Close the queue to new ordinary hands. Host or moderator.
    CloseQueue,
    /// Reopen the queue. Host or moderator.
    ReopenQueue,
    /// Take every hand down. Host or moderator.
    ClearQueue,
    /// Switch "not yet spoken first". Host or moderator.
    SetPriority {
        /// On or off.
        not_yet_spoken_first: bool,
    },
    /// Allow or forbid observers' hands. Host.
    SetObserverHands {
        /// Allowed or not.
        allowed: bool,
    },
    /// Open or close the shared join links (invited delegates always get in). Host.
    SetJoinLinks {
        /// Open or closed.
        open: bool,
    },
    /// Switch auto-advance. Host.
    SetAutoAdvance {
        /// On or off.
        on: bool,
    },
    /// Show a short message on the speaker's screen. Host or moderator.
    MessageSpeaker {
        /// At most 200 characters.
        text: String,
    },
    /// Ask the speaker to slow down. Interpreter.
    SlowDown {
        /// The booth's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Lang>,
    },
    /// Tell the host that interpretation is not coming through. Interpreter.
    NoInterpretation {
        /// The booth's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Lang>,
    },
    /// Signal "done" (ends one's own speech). Whoever has the floor.
    Done,
    /// Edit the agenda: the operations are applied in order, all or none. Host; a
    /// segment's moderator may add and move speakers of their own segments.
    EditAgenda {
        /// The operations.
        ops: Vec<crate::edit::AgendaOp>,
    },
    /// Remove a participant or observer: hands gone, token revoked, sockets closed. Host.
    RemoveParticipant {
        /// The participant id.
        participant: ParticipantId,
    },
    /// Close the queue to points of order too. Host or moderator.
    ClosePointsOfOrder,
    /// Reopen the queue to points of order. Host or moderator.
    ReopenPointsOfOrder,
    /// Set the language spoken on the floor now, during a speech. Host, moderator, or a
    /// booth (as a correction).
    SetFloorLanguage {
        /// One of the meeting's floor languages.
        language: Lang,
    },
    /// The booth's pair handed over: restart the booth's turn timer. Interpreter.
    HandedOver,
    /// Alert the chair. Interpreter (for its own booth).
    BoothAlert {
        /// A canned signal, or `message` for free text.
        signal: BoothSignal,
        /// The booth's words (at most 200 characters; required with `message`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Acknowledge a booth's alert. Host or moderator.
    AcknowledgeAlert {
        /// The alert id.
        alert: u64,
    },
    /// Set (or withdraw, with `url` null) a named speaker's text or slides for the
    /// booths. Host or moderator.
    SetBoothText {
        /// The agenda person id.
        person: String,
        /// An https URL, or `null` to withdraw.
        #[serde(default)]
        url: Option<String>,
    },
}

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Authenticate with a role token or a participant's own token.
    Hello {
        /// The client's protocol version; must equal the server's major version.
        protocol: u32,
        /// The meeting id from the URL.
        meeting: String,
        /// The token from the link's fragment, or the participant token from `welcome`.
        token: String,
        /// The version of the agenda the client already holds (from an earlier
        /// connection); if it is current, the server does not send the agenda again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agenda_version: Option<u64>,
    },
    /// Join as a participant or observer with the join link's token.
    Join {
        /// Protocol version.
        protocol: u32,
        /// The meeting id.
        meeting: String,
        /// The join link's token.
        token: String,
        /// Display name.
        name: String,
        /// Delegation (government, city, organisation).
        delegation: String,
        /// Preferred floor language.
        language: Lang,
        /// The version of the agenda the client already holds, as in `hello`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agenda_version: Option<u64>,
    },
    /// A command, with a request id the server echoes in its `ack` or `error`.
    Command {
        /// Chosen by the client; unique per connection is enough.
        id: u64,
        /// What to do.
        command: Command,
        /// Optional idempotency key (1–255 visible ASCII characters), chosen by the client
        /// and unique per command of this sender: a command sent again with the same key
        /// within 24 hours is acknowledged again with its first `seq`, not applied twice. Use it
        /// to retry after an `unavailable` error or a lost connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// The meeting's role links (host only): answered with `links`.
    Links {
        /// Request id, echoed.
        id: u64,
    },
    /// Replace a role link with a new one (host only): the old one stops working and its
    /// connections close with 4001. Answered with `links` holding the new link.
    RotateLink {
        /// Request id, echoed.
        id: u64,
        /// The link's role.
        role: Role,
        /// The person, for moderator and speaker links.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<String>,
    },
    /// Clock-sync probe.
    Ping {
        /// Echoed back.
        id: u64,
        /// The client's clock when sent, ms (may be fractional).
        client_time: f64,
    },
    /// Staff only: a page of a list that changes do not carry (the participant register,
    /// the hand history). Answered with `page` (or `error` with this id).
    Fetch {
        /// Echoed in the `page`.
        id: u64,
        /// Which list.
        what: ListName,
        /// Index of the first item wanted (0-based).
        #[serde(default)]
        from: usize,
        /// Items wanted at most (default and maximum [`MAX_PAGE`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
}

/// The largest page a `fetch` returns.
pub const MAX_PAGE: usize = 1000;

/// A list that staff page with `fetch` instead of receiving it in every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListName {
    /// `state.participants`: everyone who joined, by id order.
    Participants,
    /// `state.hand_history`: hands that left the queue, oldest first (a live meeting
    /// holds the latest 256–512; the report has them all).
    HandHistory,
}

/// The items of a `page`: participants or hand records, by the page's `what`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PageItems {
    /// For `what: participants`.
    Participants(Vec<Participant>),
    /// For `what: hand_history`.
    HandHistory(Vec<HandRecord>),
}

impl PageItems {
    /// How many items.
    pub fn len(&self) -> usize {
        match self {
            PageItems::Participants(v) => v.len(),
            PageItems::HandHistory(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Who the connection is, told in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The role.
    pub role: Role,
    /// The agenda person id for moderators and speakers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The participant id for participants and observers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<ParticipantId>,
    /// Display name.
    pub name: String,
}

/// One role link, as the host's console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// The role it grants.
    pub role: Role,
    /// The agenda person id, for moderator and speaker links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The person's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The link, relative to the server's origin: `/m/<meeting>/<role>#<token>`.
    pub url: String,
}

/// A typed error code. The `message` beside it says, for a person, what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known message shape.
    BadRequest,
    /// A field has a value the command does not accept.
    InvalidArgument,
    /// The protocol version is not supported.
    UnsupportedVersion,
    /// The token is unknown for this meeting, or no hello was sent.
    Unauthorized,
    /// The sender's role may not do this (now).
    Forbidden,
    /// The meeting is not in a state where this makes sense.
    InvalidState,
    /// The named segment, speaker or hand does not exist.
    NotFound,
    /// The sender already has such a hand up.
    Duplicate,
    /// The queue is closed to ordinary hands.
    QueueClosed,
    /// Too many messages: slow down (joins: too many from one network, or to one
    /// meeting, just now; the message says when to try again).
    RateLimited,
    /// The meeting has all the registrations it takes: nobody else can join by the
    /// shared link.
    MeetingFull,
    /// The meeting does not exist.
    NoSuchMeeting,
    /// The meeting is archived: read-only.
    Archived,
    /// The shared join links are closed: only invited delegates get in.
    JoinsClosed,
    /// The server failed; the command was not applied.
    Internal,
    /// The meeting is moving to another server (cluster failover or hand-over), or its
    /// store could not be reached: the command may or may not have been applied. Send it
    /// again with the same `key` (or check the state).
    Unavailable,
}

/// The state a client sees: the meeting's state, projected for its role.
pub type StateView = MeetingState;

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Authentication succeeded.
    Welcome {
        /// The server's protocol version.
        protocol: u32,
        /// The meeting id.
        meeting: String,
        /// Who you are.
        you: Identity,
        /// For participants and observers: present this token in `hello` to resume.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant_token: Option<String>,
        /// The server's clock now, ms.
        server_time: UnixMs,
    },
    /// The agenda and its plan: sent after `welcome` (unless the client holds this
    /// version already) and again before the first `change` whose state shows a newer
    /// `agenda_version`.
    Agenda {
        /// The agenda's version (`state.agenda_version`).
        version: u64,
        /// The agenda.
        agenda: Box<Agenda>,
        /// The planned start of each segment and the planned end, Unix ms.
        planned: Vec<UnixMs>,
    },
    /// The whole live state: sent once after `welcome` (and the `agenda`).
    Snapshot {
        /// Sequence number of the last event in this state.
        seq: u64,
        /// The server's clock when encoded.
        server_time: UnixMs,
        /// The live state.
        state: Box<StateView>,
    },
    /// The meeting changed. A slow client may skip changes: `state` is always complete.
    Change {
        /// Sequence number of the last event in this state.
        seq: u64,
        /// The server's clock when encoded.
        server_time: UnixMs,
        /// The events of the command that caused this change (informative).
        events: Vec<Event>,
        /// The live state.
        state: Box<StateView>,
    },
    /// The command with this id was accepted and is durable.
    Ack {
        /// The request id.
        id: u64,
        /// The sequence number of its last event (the `change` with this seq shows it).
        seq: u64,
    },
    /// Something was refused; nothing changed.
    Error {
        /// The request id, when the error answers a command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// Machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation and what to do.
        message: String,
    },
    /// A participant's or observer's own places in the whole queue (0-based), sent to that
    /// connection alone after the snapshot and after each change that moved them.
    Place {
        /// The state this place belongs to (the `change` or `snapshot` with this seq).
        seq: u64,
        /// Place of one's ordinary hand, if it is up.
        hand: Option<usize>,
        /// Place of one's point of order, if it is up.
        point_of_order: Option<usize>,
    },
    /// The answer to a `fetch`.
    Page {
        /// The fetch's id.
        id: u64,
        /// Which list.
        what: ListName,
        /// Index of the first item: the one asked for, or for the hand history the
        /// oldest record still held live when an older one was asked for.
        from: usize,
        /// The items from `from` on (at most the fetch's limit).
        items: PageItems,
        /// The list's whole length now.
        total: usize,
    },
    /// The answer to `links` or `rotate_link`.
    Links {
        /// The request id.
        id: u64,
        /// The links (after `rotate_link`: the new one).
        links: Vec<LinkInfo>,
    },
    /// Clock-sync answer.
    Pong {
        /// The ping's id.
        id: u64,
        /// The client's time from the ping, echoed.
        client_time: f64,
        /// The server's clock when it answered, ms.
        server_time: UnixMs,
    },
}
