//! The agenda model: a meeting and its ordered, timed segments, as people write it (TOML)
//! and as the HTTP API takes it (JSON), with validation that names where each problem is.
//!
//! Parsing is two steps: serde turns text into [`Agenda`] (type errors come back with the
//! parser's own location), then [`Agenda::validate`] checks the rules a type cannot say
//! (unique ids, positive durations, known time zone…) and reports each problem with a
//! path such as `segment[3].duration`. For TOML the path is resolved to a line and column.
//!
//! The types are in `model`, the checks in `rules`, reading TOML and JSON in `parse`,
//! the problems in `errors`, and the planned times in `times`.

mod errors;
mod model;
mod parse;
mod rules;
mod times;

pub use errors::{AgendaError, AgendaErrors};
pub(crate) use errors::{Problem, Step};
pub use model::{slug, Agenda, MeetingInfo, Person, Segment, SegmentKind};
pub use parse::line_col;
