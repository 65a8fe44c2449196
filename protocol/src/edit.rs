//! Live agenda edits: the operations of an `edit_agenda` command, which the journal
//! records as they were accepted (`agenda_edited`).
//!
//! Segments and people are named by id, never by position, so an operation means the same
//! thing whoever wrote it and whenever it is replayed. Positions appear only as targets
//! (`at`, `to`: 0-based indices in the list after the operation). Which segments may be
//! edited at all (history is fixed) is the engine's rule; see PROTOCOL.md, *Editing the
//! agenda*.

use crate::agenda::{Person, Segment, SegmentKind};
use crate::duration::Secs;
use crate::lang::Lang;
use serde::{Deserialize, Deserializer, Serialize};

/// One change to the agenda. A command carries a list of them, applied in order, all or
/// none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgendaOp {
    /// Inserts a new segment so that it has index `at` (after every segment that has
    /// already run).
    InsertSegment {
        /// Index of the new segment in the edited list.
        at: usize,
        /// The segment, with an id not used by another segment.
        segment: Segment,
    },
    /// Changes fields of a segment that has not run yet, or of the current one.
    UpdateSegment {
        /// Segment id.
        segment: String,
        /// The fields to change; absent fields stay as they are, `null` clears.
        set: SegmentPatch,
    },
    /// Removes a segment that has not run yet.
    RemoveSegment {
        /// Segment id.
        segment: String,
    },
    /// Moves a segment that has not run yet to index `to` (among those not run yet).
    MoveSegment {
        /// Segment id.
        segment: String,
        /// Its index after the move.
        to: usize,
    },
    /// Adds a named speaker (or reaction speaker) to a segment.
    AddSpeaker {
        /// Segment id.
        segment: String,
        /// The person. Without an `id`, the id is the slug of the name, fixed from now on.
        speaker: Person,
        /// Add to the reaction speakers rather than the speakers.
        #[serde(default)]
        reaction: bool,
        /// Place in the list (0 = first); absent: at the end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<usize>,
    },
    /// Changes a named speaker's details in one segment. Their id does not change.
    UpdateSpeaker {
        /// Segment id.
        segment: String,
        /// Person id.
        person: String,
        /// The fields to change.
        set: PersonPatch,
    },
    /// Removes a named speaker (or reaction speaker) from a segment.
    RemoveSpeaker {
        /// Segment id.
        segment: String,
        /// Person id.
        person: String,
    },
    /// Moves a named speaker within their list in a segment (0 = first).
    MoveSpeaker {
        /// Segment id.
        segment: String,
        /// Person id.
        person: String,
        /// New place in the list.
        to: usize,
    },
    /// Sets or removes a segment's moderator.
    SetModerator {
        /// Segment id.
        segment: String,
        /// The moderator, or `null` for none.
        moderator: Option<Person>,
    },
}

impl AgendaOp {
    /// The id of the segment the operation concerns (inserted or edited).
    pub fn segment_id(&self) -> &str {
        match self {
            AgendaOp::InsertSegment { segment, .. } => &segment.id,
            AgendaOp::UpdateSegment { segment, .. }
            | AgendaOp::RemoveSegment { segment }
            | AgendaOp::MoveSegment { segment, .. }
            | AgendaOp::AddSpeaker { segment, .. }
            | AgendaOp::UpdateSpeaker { segment, .. }
            | AgendaOp::RemoveSpeaker { segment, .. }
            | AgendaOp::MoveSpeaker { segment, .. }
            | AgendaOp::SetModerator { segment, .. } => segment,
        }
    }

    /// The operation's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            AgendaOp::InsertSegment { .. } => "insert_segment",
            AgendaOp::UpdateSegment { .. } => "update_segment",
            AgendaOp::RemoveSegment { .. } => "remove_segment",
            AgendaOp::MoveSegment { .. } => "move_segment",
            AgendaOp::AddSpeaker { .. } => "add_speaker",
            AgendaOp::UpdateSpeaker { .. } => "update_speaker",
            AgendaOp::RemoveSpeaker { .. } => "remove_speaker",
            AgendaOp::MoveSpeaker { .. } => "move_speaker",
            AgendaOp::SetModerator { .. } => "set_moderator",
        }
    }
}

/// Fields of a segment to change. `None`: unchanged; for optional fields, `Some(None)`
/// (JSON `null`) clears the value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentPatch {
    /// What kind of segment it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SegmentKind>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Title in the original language.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub title_original: Option<Option<String>>,
    /// Guiding question.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub question: Option<Option<String>>,
    /// Guiding question in the original language.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub question_original: Option<Option<String>>,
    /// Planned length. On the current segment, its clock gains or loses the difference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Secs>,
    /// Per-speech limit (`null`: the meeting's).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub speech_limit: Option<Option<Secs>>,
    /// "Warning" threshold (`null`: the meeting's).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub warning: Option<Option<Secs>>,
    /// "Danger" threshold (`null`: the meeting's).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub danger: Option<Option<Secs>>,
}

/// Fields of a person to change (their id never changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    /// Name as shown on screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Title or function.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub title: Option<Option<String>>,
    /// Organisation or government.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub affiliation: Option<Option<String>>,
    /// Country.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some"
    )]
    pub country: Option<Option<String>>,
    /// Floor language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
}

/// A present field (even `null`) is `Some`; with `#[serde(default)]` an absent one is
/// `None`. That tells "clear it" from "leave it".
fn some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_and_absent_keeps() {
        let p: SegmentPatch =
            serde_json::from_str(r#"{"question":null,"duration":"15m"}"#).unwrap();
        assert_eq!(p.question, Some(None));
        assert_eq!(p.title_original, None);
        assert_eq!(p.duration, Some(Secs(900)));
        let back: SegmentPatch = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn ops_are_tagged_and_strict() {
        let op: AgendaOp = serde_json::from_str(
            r#"{"op":"remove_speaker","segment":"round-2","person":"ahmed-skim"}"#,
        )
        .unwrap();
        assert_eq!(op.segment_id(), "round-2");
        assert_eq!(op.name(), "remove_speaker");
        assert!(serde_json::from_str::<AgendaOp>(
            r#"{"op":"remove_speaker","segment":"x","person":"y","extra":1}"#
        )
        .is_err());
    }
}
