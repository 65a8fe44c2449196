//! Podium's wire contract: the agenda model, the live meeting state, the events that
//! change it, and the websocket messages. No IO, no async, no clock reads.
//!
//! # Layout
//!
//! - [`agenda`]: meetings and segments as people write them (TOML) or post them (JSON),
//!   with validation that names where each problem is.
//! - [`state`]: the live state of a meeting; [`event`]: the [`Event`]s that change it —
//!   the same events are the server's durable journal.
//! - [`edit`]: the operations of a live agenda edit.
//! - [`wire`]: client → server and server → client messages, roles and error codes.
//! - [`booth`]: the interpretation desk — relay plan, floor-language parts, booth turns,
//!   booth ↔ chair alerts and texts for the booths.
//! - [`lang`], [`duration`]: language codes and human-written durations.
//! - [`limits`]: input limits (agenda sizes, ids, names people type); [`slug`]: ids
//!   from names and titles.

pub mod agenda;
pub mod booth;
pub mod duration;
pub mod edit;
pub mod event;
pub mod lang;
pub mod limits;
pub mod slug;
pub mod state;
pub mod wire;

pub use agenda::{Agenda, AgendaError, AgendaErrors, MeetingInfo, Person, Segment, SegmentKind};
pub use booth::{
    ActiveRelay, BoothAlert, BoothDuty, BoothSignal, BoothState, BoothText, FloorPart,
    Interpretation, InterpretationPlan, RelayRule,
};
pub use duration::Secs;
pub use edit::{AgendaOp, PersonPatch, SegmentPatch};
pub use event::Event;
pub use lang::Lang;
pub use state::*;
pub use wire::*;

/// The protocol version. A client sends it in `hello`; a different version is refused.
pub const PROTOCOL_VERSION: u32 = 2;
