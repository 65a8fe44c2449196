//! Turning an authorised command into events: every rule about *whether* a change is
//! possible lives here. Nothing here mutates state; [`super::reduce`] does that.

use super::queue;
use super::{booth, defend, Actor, Rejection};
use podium_protocol::{
    Agenda, Clock, ClockTarget, Command, Event, Hand, Lang, MeetingState, Participant,
    ParticipantId, Phase, SpeakerInfo, UnixMs,
};

/// Largest single time adjustment, either way.
const MAX_ADJUST_SECS: i64 = 3600;
/// Longest message to the speaker's screen.
const MAX_MESSAGE_CHARS: usize = 200;
/// Longest display name.
const MAX_NAME_CHARS: usize = 80;
/// Longest delegation.
const MAX_DELEGATION_CHARS: usize = 120;
/// Most participants one meeting accepts (a bound on memory, far above any plenary).
const MAX_PARTICIPANTS: usize = 100_000;

fn running(state: &MeetingState) -> Result<usize, Rejection> {
    match state.phase {
        Phase::NotStarted => Err(Rejection::InvalidState(
            "the meeting has not started yet: the host starts it first".into(),
        )),
        Phase::Ended => Err(Rejection::InvalidState("the meeting has ended".into())),
        Phase::Running => Ok(state.current.unwrap_or(0)),
    }
}

fn end_speech(state: &MeetingState, now: UnixMs, out: &mut Vec<Event>) {
    if state.speech.is_some() {
        out.push(Event::SpeechEnded { at: now });
    }
}

fn enter(state: &MeetingState, index: usize, now: UnixMs) -> Vec<Event> {
    let mut out = Vec::new();
    end_speech(state, now, &mut out);
    out.push(Event::SegmentEntered { index, at: now });
    out
}

/// Auto-advance to the next segment (the deadline has passed).
pub fn advance(state: &MeetingState, now: UnixMs) -> Vec<Event> {
    match state.current {
        Some(i) => enter(state, i + 1, now),
        None => Vec::new(),
    }
}

fn clock(state: &MeetingState, target: ClockTarget) -> Result<&Clock, Rejection> {
    match target {
        ClockTarget::Segment => Ok(&state.segment_clock),
        ClockTarget::Speech => state.speech.as_ref().map(|s| &s.clock).ok_or_else(|| {
            Rejection::InvalidState("nobody has the floor: there is no speech clock".into())
        }),
    }
}

/// The speech in progress, or why signals to the speaker make no sense now.
fn floor(state: &MeetingState) -> Result<&podium_protocol::Speech, Rejection> {
    state.speech.as_ref().ok_or_else(|| {
        Rejection::InvalidState("nobody has the floor: there is no speaker to signal".into())
    })
}

fn clean_text(text: &str, what: &str, max: usize) -> Result<String, Rejection> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Rejection::InvalidArgument(format!("the {what} is empty")));
    }
    if t.chars().count() > max {
        return Err(Rejection::InvalidArgument(format!(
            "the {what} is longer than {max} characters: shorten it"
        )));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(Rejection::InvalidArgument(format!(
            "the {what} has control characters"
        )));
    }
    Ok(t.to_string())
}

/// A participant or observer joins.
pub fn join(
    state: &MeetingState,
    name: &str,
    delegation: &str,
    language: Lang,
    observer: bool,
    invited: bool,
) -> Result<Vec<Event>, Rejection> {
    if state.phase == Phase::Ended {
        return Err(Rejection::InvalidState("the meeting has ended".into()));
    }
    if state.participants.len() >= MAX_PARTICIPANTS {
        return Err(Rejection::InvalidState("the meeting is full".into()));
    }
    // Names people type: bidi controls and invisibles removed, a visible letter needed.
    let person = |t: &str, what: &str, max: usize| {
        podium_protocol::limits::person_text(t, what, max).map_err(Rejection::InvalidArgument)
    };
    let name = person(name, "display name", MAX_NAME_CHARS)?;
    let delegation = person(delegation, "delegation", MAX_DELEGATION_CHARS)?;
    let id = state.participants.last().map(|p| p.id + 1).unwrap_or(1);
    Ok(vec![Event::ParticipantJoined {
        participant: Participant {
            id,
            name,
            delegation,
            language,
            observer,
            invited,
            removed: false,
            lowered_at: None,
        },
    }])
}

fn participant(state: &MeetingState, id: ParticipantId) -> Result<&Participant, Rejection> {
    state
        .participants
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Rejection::NotFound(format!("participant {id} is unknown")))
}

/// The rules of every command. The actor has been authorised for the command already.
pub fn decide(
    agenda: &Agenda,
    state: &MeetingState,
    command: &Command,
    actor: &Actor,
    now: UnixMs,
) -> Result<Vec<Event>, Rejection> {
    use Command::*;
    let n = agenda.segments.len();
    let one = |e: Event| Ok(vec![e]);
    match command {
        StartMeeting => match state.phase {
            Phase::NotStarted => Ok(vec![
                Event::MeetingStarted { at: now },
                Event::SegmentEntered { index: 0, at: now },
            ]),
            Phase::Running => Err(Rejection::InvalidState(
                "the meeting is already running".into(),
            )),
            Phase::Ended => Err(Rejection::InvalidState("the meeting has ended".into())),
        },
        NextSegment => {
            let i = running(state)?;
            if i + 1 >= n {
                return Err(Rejection::InvalidState(
                    "this is the last segment: end the meeting instead".into(),
                ));
            }
            Ok(enter(state, i + 1, now))
        }
        PreviousSegment => {
            let i = running(state)?;
            if i == 0 {
                return Err(Rejection::InvalidState("this is the first segment".into()));
            }
            Ok(enter(state, i - 1, now))
        }
        GoToSegment { segment } => {
            let i = running(state)?;
            let Some(target) = agenda.segments.iter().position(|s| &s.id == segment) else {
                return Err(Rejection::NotFound(format!(
                    "no segment has the id {segment:?}; ids are: {}",
                    agenda
                        .segments
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if target == i {
                return Err(Rejection::InvalidState(format!(
                    "{segment:?} is already on"
                )));
            }
            Ok(enter(state, target, now))
        }
        EndMeeting => {
            running(state)?;
            let mut out = Vec::new();
            end_speech(state, now, &mut out);
            out.push(Event::MeetingEnded { at: now });
            Ok(out)
        }
        StartClock { target } | ResumeClock { target } => {
            running(state)?;
            if clock(state, *target)?.is_running() {
                return Err(Rejection::InvalidState(
                    "that clock is already running".into(),
                ));
            }
            one(Event::ClockStarted {
                target: *target,
                at: now,
            })
        }
        PauseClock { target } => {
            running(state)?;
            if !clock(state, *target)?.is_running() {
                return Err(Rejection::InvalidState("that clock is not running".into()));
            }
            one(Event::ClockPaused {
                target: *target,
                at: now,
            })
        }
        AdjustClock { target, seconds } => {
            running(state)?;
            clock(state, *target)?;
            if *seconds == 0 || !(-MAX_ADJUST_SECS..=MAX_ADJUST_SECS).contains(seconds) {
                return Err(Rejection::InvalidArgument(format!(
                    "add or remove between 1 and {MAX_ADJUST_SECS} seconds, not {seconds}"
                )));
            }
            one(Event::ClockAdjusted {
                target: *target,
                delta_ms: seconds * 1000,
            })
        }
        GiveFloor { person } => {
            let i = running(state)?;
            let p = agenda.person(person).ok_or_else(|| {
                Rejection::NotFound(format!("no speaker in the agenda has the id {person:?}"))
            })?;
            let speaker = SpeakerInfo {
                person: Some(p.key()),
                participant: None,
                name: p.name.clone(),
                delegation: p.affiliation.clone(),
                language: p.language,
            };
            let mut out = Vec::new();
            end_speech(state, now, &mut out);
            out.push(Event::FloorGiven {
                speaker,
                from_hand: None,
                limit_ms: agenda.speech_limit_ms(i),
                at: now,
            });
            Ok(out)
        }
        GiveFloorToHand { hand } => {
            let i = running(state)?;
            let h: &Hand = match hand {
                Some(id) => state.queue.iter().find(|h| h.id == *id).ok_or_else(|| {
                    Rejection::NotFound(format!("hand {id} is not in the queue (any more)"))
                })?,
                None => state
                    .queue
                    .first()
                    .ok_or_else(|| Rejection::InvalidState("the queue is empty".into()))?,
            };
            let speaker = SpeakerInfo {
                person: None,
                participant: Some(h.participant),
                name: h.name.clone(),
                delegation: Some(h.delegation.clone()),
                language: h.language,
            };
            let mut out = Vec::new();
            end_speech(state, now, &mut out);
            out.push(Event::FloorGiven {
                speaker,
                from_hand: Some(h.id),
                limit_ms: agenda.speech_limit_ms(i),
                at: now,
            });
            Ok(out)
        }
        EndSpeech => {
            running(state)?;
            if state.speech.is_none() {
                return Err(Rejection::InvalidState("nobody has the floor".into()));
            }
            one(Event::SpeechEnded { at: now })
        }
        RaiseHand {
            language,
            point_of_order,
        } => {
            if state.phase == Phase::Ended {
                return Err(Rejection::InvalidState("the meeting has ended".into()));
            }
            let (Actor::Participant(id) | Actor::Observer(id)) = actor else {
                return Err(Rejection::Forbidden("only participants raise hands".into()));
            };
            let p = participant(state, *id)?;
            if state
                .queue
                .iter()
                .any(|h| h.participant == *id && h.point_of_order == *point_of_order)
            {
                return Err(Rejection::Duplicate(if *point_of_order {
                    "you already have a point of order in the queue".into()
                } else {
                    "your hand is already up".into()
                }));
            }
            defend::check_raise(agenda, state, p, *point_of_order, now)?;
            if !point_of_order && !state.queue_open {
                return Err(Rejection::QueueClosed(
                    "the speaking list is closed; a point of order is still possible".into(),
                ));
            }
            let language = language.unwrap_or(p.language);
            let floor = agenda.floor_languages();
            if !floor.contains(&language) {
                return Err(Rejection::InvalidArgument(format!(
                    "{} is not interpreted in this meeting; choose one of {}",
                    language.english_name(),
                    floor
                        .iter()
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            one(Event::HandRaised {
                hand: Hand {
                    id: state.next_hand,
                    participant: *id,
                    name: p.name.clone(),
                    delegation: p.delegation.clone(),
                    language,
                    point_of_order: *point_of_order,
                    raised_at: now,
                },
            })
        }
        LowerHand { point_of_order } => {
            let (Actor::Participant(id) | Actor::Observer(id)) = actor else {
                return Err(Rejection::Forbidden(
                    "only participants lower their hands".into(),
                ));
            };
            let h = state
                .queue
                .iter()
                .find(|h| h.participant == *id && h.point_of_order == *point_of_order)
                .ok_or_else(|| Rejection::NotFound("you have no such hand up".into()))?;
            one(Event::HandLeft {
                hand: h.id,
                outcome: podium_protocol::HandOutcome::Lowered,
                at: now,
            })
        }
        RemoveHand { hand } => {
            queue::find(state, *hand)?;
            one(Event::HandLeft {
                hand: *hand,
                outcome: podium_protocol::HandOutcome::Removed,
                at: now,
            })
        }
        MoveHand { hand, to } => {
            let from = queue::find(state, *hand)?;
            if *to >= state.queue.len() {
                return Err(Rejection::InvalidArgument(format!(
                    "place {to} is past the end of the queue (it has {} hands; 0 is first)",
                    state.queue.len()
                )));
            }
            if from == *to {
                return Err(Rejection::InvalidArgument(
                    "the hand is already there".into(),
                ));
            }
            one(Event::HandMoved {
                hand: *hand,
                to: *to,
            })
        }
        CloseQueue | ReopenQueue => {
            let open = matches!(command, ReopenQueue);
            if state.queue_open == open {
                return Err(Rejection::InvalidState(format!(
                    "the queue is already {}",
                    if open { "open" } else { "closed" }
                )));
            }
            one(Event::QueueOpenChanged { open })
        }
        ClearQueue => {
            if state.queue.is_empty() {
                return Err(Rejection::InvalidState("the queue is already empty".into()));
            }
            one(Event::QueueCleared { at: now })
        }
        SetPriority {
            not_yet_spoken_first,
        } => one(Event::PriorityChanged {
            not_yet_spoken_first: *not_yet_spoken_first,
        }),
        SetObserverHands { allowed } => one(Event::ObserverHandsChanged { allowed: *allowed }),
        SetAutoAdvance { on } => one(Event::AutoAdvanceChanged { on: *on }),
        SetJoinLinks { open } => one(Event::JoinLinksChanged { open: *open }),
        MessageSpeaker { text } => {
            let text = clean_text(text, "message", MAX_MESSAGE_CHARS)?;
            floor(state)?;
            one(Event::SpeakerMessageSent { text, at: now })
        }
        // The booth's language comes from its link (a different one was refused).
        SlowDown { language } => {
            floor(state)?;
            one(Event::SlowDownRequested {
                language: booth::booth_of(actor).or(*language),
                at: now,
            })
        }
        NoInterpretation { language } => one(Event::NoInterpretationReported {
            language: booth::booth_of(actor).or(*language),
            at: now,
        }),
        EditAgenda { ops } => super::edit_rules::decide_edit(agenda, state, ops, now),
        RemoveParticipant { .. } | ClosePointsOfOrder | ReopenPointsOfOrder => {
            defend::decide(state, command, now)
        }
        SetFloorLanguage { .. }
        | HandedOver
        | BoothAlert { .. }
        | AcknowledgeAlert { .. }
        | SetBoothText { .. } => booth::decide(agenda, state, command, actor, now),
        Done => {
            let speaker = &floor(state)?.speaker;
            let holds = match actor {
                Actor::Speaker(person) => speaker.person.as_deref() == Some(person.as_str()),
                Actor::Participant(id) | Actor::Observer(id) => speaker.participant == Some(*id),
                _ => false,
            };
            if !holds {
                return Err(Rejection::Forbidden(
                    "you do not have the floor: only the person speaking can say done".into(),
                ));
            }
            Ok(vec![
                Event::SpeakerDone { at: now },
                Event::SpeechEnded { at: now },
            ])
        }
    }
}
