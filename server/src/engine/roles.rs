//! Who may do what: every command has an explicit set of roles allowed, checked before
//! any rule. Segment moderators hold host rights only during the segments they moderate.

use super::{booth, defend, Rejection};
use podium_protocol::{Agenda, AgendaOp, Command, Lang, MeetingState, ParticipantId, Role};

/// The sender of a command, as the shell authenticated it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The coordinator.
    Host,
    /// A named segment moderator (agenda person id).
    Moderator(String),
    /// A named speaker (agenda person id).
    Speaker(String),
    /// A participant who joined.
    Participant(ParticipantId),
    /// An observer who joined.
    Observer(ParticipantId),
    /// An interpreter, in the booth of this language (from the booth's link).
    Interpreter(Lang),
    /// The room screen.
    Projector,
}

impl Actor {
    /// The actor's role.
    pub fn role(&self) -> Role {
        match self {
            Actor::Host => Role::Host,
            Actor::Moderator(_) => Role::Moderator,
            Actor::Speaker(_) => Role::Speaker,
            Actor::Participant(_) => Role::Participant,
            Actor::Observer(_) => Role::Observer,
            Actor::Interpreter(_) => Role::Interpreter,
            Actor::Projector => Role::Projector,
        }
    }
}

/// Which group of roles a command belongs to.
enum Allowed {
    /// The host alone.
    HostOnly,
    /// The host, or the moderator of the current segment.
    Chair,
    /// Participants, and observers where the meeting allows it.
    Hands,
    /// Participants and observers (lowering one's own hand).
    OwnHand,
    /// Interpreters.
    Booth,
    /// Whoever has the floor: a named speaker, or a participant or observer called from
    /// the queue (the rules check that it is them).
    Floor,
    /// Agenda edits: the host; a moderator only to add and move speakers of the segments
    /// they moderate.
    Edit,
    /// The host, the current moderator, or a booth (a correction).
    ChairOrBooth,
}

fn allowed(command: &Command) -> Allowed {
    use Command::*;
    match command {
        StartMeeting
        | EndMeeting
        | SetObserverHands { .. }
        | SetAutoAdvance { .. }
        | SetJoinLinks { .. } => Allowed::HostOnly,
        NextSegment
        | PreviousSegment
        | GoToSegment { .. }
        | StartClock { .. }
        | PauseClock { .. }
        | ResumeClock { .. }
        | AdjustClock { .. }
        | GiveFloor { .. }
        | GiveFloorToHand { .. }
        | EndSpeech
        | RemoveHand { .. }
        | MoveHand { .. }
        | CloseQueue
        | ReopenQueue
        | ClearQueue
        | SetPriority { .. }
        | MessageSpeaker { .. }
        | ClosePointsOfOrder
        | ReopenPointsOfOrder
        | AcknowledgeAlert { .. }
        | SetBoothText { .. } => Allowed::Chair,
        RemoveParticipant { .. } => Allowed::HostOnly,
        SetFloorLanguage { .. } => Allowed::ChairOrBooth,
        HandedOver | BoothAlert { .. } => Allowed::Booth,
        RaiseHand { .. } => Allowed::Hands,
        LowerHand { .. } => Allowed::OwnHand,
        SlowDown { .. } | NoInterpretation { .. } => Allowed::Booth,
        Done => Allowed::Floor,
        EditAgenda { .. } => Allowed::Edit,
    }
}

fn moderates(agenda: &Agenda, segment: Option<usize>, person: &str) -> bool {
    segment
        .and_then(|i| agenda.segments.get(i))
        .and_then(|s| s.moderator.as_ref())
        .is_some_and(|m| m.key() == person)
}

/// Checks that `actor` may send `command` now.
pub fn authorize(
    agenda: &Agenda,
    state: &MeetingState,
    command: &Command,
    actor: &Actor,
) -> Result<(), Rejection> {
    let role = actor.role().as_str();
    let deny = |what: &str| Err(Rejection::Forbidden(format!("a {role} cannot {what}")));
    defend::not_removed(state, actor)?;
    match (allowed(command), actor) {
        (Allowed::ChairOrBooth, Actor::Interpreter(_)) => Ok(()),
        (_, Actor::Host) if !matches!(allowed(command), Allowed::Booth | Allowed::Floor) => Ok(()),
        (Allowed::Chair | Allowed::ChairOrBooth, Actor::Moderator(p)) => {
            if !moderates(agenda, state.current, p) {
                return Err(Rejection::Forbidden(
                    "you moderate other segments: you can run the clocks, the floor and the \
                     queue only while one of your segments is on"
                        .into(),
                ));
            }
            if let Command::GoToSegment { segment } = command {
                let target = agenda.segments.iter().position(|s| &s.id == segment);
                if target.is_some() && !moderates(agenda, target, p) {
                    return Err(Rejection::Forbidden(format!(
                        "you can jump only between your own segments; ask the host to go to \
                         {segment:?}"
                    )));
                }
            }
            Ok(())
        }
        (Allowed::Hands, Actor::Participant(_)) => Ok(()),
        (Allowed::Hands, Actor::Observer(_)) => {
            if state.observers_may_raise_hand {
                Ok(())
            } else {
                Err(Rejection::Forbidden(
                    "observers may not raise a hand in this meeting unless the host allows it"
                        .into(),
                ))
            }
        }
        (Allowed::OwnHand, Actor::Participant(_) | Actor::Observer(_)) => Ok(()),
        (Allowed::Booth, Actor::Interpreter(l)) => booth::own_booth(command, *l),
        (Allowed::Floor, Actor::Speaker(_) | Actor::Participant(_) | Actor::Observer(_)) => Ok(()),
        (Allowed::Edit, Actor::Moderator(p)) => {
            let Command::EditAgenda { ops } = command else {
                return Ok(());
            };
            for op in ops {
                let own = agenda
                    .segments
                    .iter()
                    .position(|s| s.id == op.segment_id())
                    .is_some_and(|i| moderates(agenda, Some(i), p));
                let allowed = matches!(
                    op,
                    AgendaOp::AddSpeaker { .. } | AgendaOp::MoveSpeaker { .. }
                );
                if !allowed || !own {
                    return Err(Rejection::Forbidden(format!(
                        "a moderator may only add and reorder the speakers of their own \
                         segments; ask the host to {} in {:?}",
                        op.name().replace('_', " "),
                        op.segment_id()
                    )));
                }
            }
            Ok(())
        }
        (Allowed::HostOnly, _) => deny("do this: only the host can"),
        (Allowed::Chair, _) => {
            deny("run the meeting: only the host or the segment's moderator can")
        }
        (Allowed::ChairOrBooth, _) => deny("set the floor language: the chair or a booth can"),
        (Allowed::Hands | Allowed::OwnHand, _) => {
            deny("raise or lower a hand: join as a participant to ask for the floor")
        }
        (Allowed::Booth, _) => deny("send interpreter signals"),
        (Allowed::Floor, _) => deny("signal done: only the person speaking can"),
        (Allowed::Edit, _) => deny("edit the agenda: only the host can"),
    }
}
