//! The interpretation desk's rules: the live floor language of a speech, booth handovers,
//! booth ↔ chair alerts, texts for the booths, and what a booth may do for its own
//! language only. Decisions (`decide`) and their effect on the state (`apply`) live side
//! by side here; `derive` keeps the booth list and the relay in force in step with the
//! agenda and the floor after every event.

use super::{Actor, Rejection};
use podium_protocol::booth::{
    check_url, ActiveRelay, BoothAlert, BoothIncident, BoothSignal, BoothState, FloorPart,
    IncidentKind, ALERTS_KEPT, MAX_ALERT_TEXT, MAX_TEXTS,
};
use podium_protocol::{
    Agenda, BoothText, Command, Event, InterpreterSignal, Lang, MeetingState, Phase, UnixMs,
};

/// The booth language of an interpreter actor.
pub fn booth_of(actor: &Actor) -> Option<Lang> {
    match actor {
        Actor::Interpreter(l) => Some(*l),
        _ => None,
    }
}

/// A booth acts for its own language only: a `language` in a booth command must be the
/// booth's (it may be left out; the link says which booth it is).
pub fn own_booth(command: &Command, booth: Lang) -> Result<(), Rejection> {
    if let Command::SlowDown { language: Some(l) }
    | Command::NoInterpretation { language: Some(l) } = command
    {
        if *l != booth {
            return Err(Rejection::Forbidden(format!(
                "this is the {} booth's link: it cannot signal for the {} booth",
                booth.code().to_uppercase(),
                l.code().to_uppercase()
            )));
        }
    }
    Ok(())
}

fn not_ended(state: &MeetingState) -> Result<(), Rejection> {
    if state.phase == Phase::Ended {
        return Err(Rejection::InvalidState("the meeting has ended".into()));
    }
    Ok(())
}

fn clean(text: &str) -> Result<String, Rejection> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Rejection::InvalidArgument(
            "the message is empty: write a few words, or leave `text` out".into(),
        ));
    }
    if t.chars().count() > MAX_ALERT_TEXT {
        return Err(Rejection::InvalidArgument(format!(
            "the message is longer than {MAX_ALERT_TEXT} characters: shorten it"
        )));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(Rejection::InvalidArgument(
            "the message has control characters".into(),
        ));
    }
    Ok(t.to_string())
}

/// The rules of the interpretation desk's commands (already authorised for the actor).
pub fn decide(
    agenda: &Agenda,
    state: &MeetingState,
    command: &Command,
    actor: &Actor,
    now: UnixMs,
) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::SetFloorLanguage { language } => {
            if state.phase != Phase::Running {
                return Err(Rejection::InvalidState(
                    "the meeting is not running: nobody has the floor".into(),
                ));
            }
            let Some(speech) = &state.speech else {
                return Err(Rejection::InvalidState(
                    "nobody has the floor: the floor language is set during a speech".into(),
                ));
            };
            let floor = agenda.floor_languages();
            if !floor.contains(language) {
                return Err(Rejection::InvalidArgument(format!(
                    "{} is neither a booth language nor covered by a relay rule; the floor \
                     languages are {}",
                    language.english_name(),
                    floor
                        .iter()
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if speech.speaker.language == *language {
                return Err(Rejection::InvalidState(format!(
                    "the floor is already in {}",
                    language.english_name()
                )));
            }
            Ok(vec![Event::FloorLanguageSet {
                language: *language,
                booth: booth_of(actor),
                at: now,
            }])
        }
        Command::HandedOver => {
            let booth = booth_of(actor)
                .ok_or_else(|| Rejection::Forbidden("only a booth hands over".into()))?;
            if state.phase != Phase::Running {
                return Err(Rejection::InvalidState(
                    "turns run while the meeting runs: nothing to hand over now".into(),
                ));
            }
            Ok(vec![Event::BoothHandedOver { booth, at: now }])
        }
        Command::BoothAlert { signal, text } => {
            let booth = booth_of(actor)
                .ok_or_else(|| Rejection::Forbidden("only a booth sends booth alerts".into()))?;
            not_ended(state)?;
            let text = text.as_deref().map(clean).transpose()?;
            if *signal == BoothSignal::Message && text.is_none() {
                return Err(Rejection::InvalidArgument(
                    "a `message` alert needs a `text`".into(),
                ));
            }
            Ok(vec![Event::BoothAlerted {
                booth,
                signal: *signal,
                text,
                at: now,
            }])
        }
        Command::AcknowledgeAlert { alert } => {
            let found = state
                .interpretation
                .alerts
                .iter()
                .find(|a| a.id == *alert)
                .ok_or_else(|| {
                    Rejection::NotFound(format!(
                        "alert {alert} is not among the latest {ALERTS_KEPT} booth alerts"
                    ))
                })?;
            if found.acknowledged_at.is_some() {
                return Err(Rejection::InvalidState(format!(
                    "alert {alert} is already acknowledged"
                )));
            }
            Ok(vec![Event::BoothAlertAcknowledged {
                alert: *alert,
                at: now,
            }])
        }
        Command::SetBoothText { person, url } => {
            not_ended(state)?;
            let p = agenda.person(person).ok_or_else(|| {
                Rejection::NotFound(format!("no speaker in the agenda has the id {person:?}"))
            })?;
            if let Some(u) = url {
                check_url(u).map_err(Rejection::InvalidArgument)?;
            }
            let texts = &state.interpretation.texts;
            if state.interpretation.text_for(person, p.text_url.as_deref()) == url.as_deref() {
                return Err(Rejection::InvalidState(
                    "the booths already have exactly this".into(),
                ));
            }
            if texts.len() >= MAX_TEXTS && !texts.iter().any(|t| &t.person == person) {
                return Err(Rejection::InvalidState(format!(
                    "{MAX_TEXTS} speakers have texts set already"
                )));
            }
            Ok(vec![Event::BoothTextSet {
                person: person.clone(),
                url: url.clone(),
                at: now,
            }])
        }
        other => unreachable!("booth::decide called for {other:?}"),
    }
}

/// The language on the floor now, if someone has it.
fn floor_now(state: &MeetingState) -> Option<Lang> {
    state.speech.as_ref().map(|s| s.speaker.language)
}

fn log(state: &mut MeetingState, mut entry: BoothIncident) {
    entry.floor = floor_now(state);
    state.interpretation.log.push(entry);
}

fn incident(kind: IncidentKind, booth: Lang, at: UnixMs) -> BoothIncident {
    BoothIncident {
        kind,
        booth,
        at,
        signal: None,
        alert: None,
        text: None,
        acknowledged_at: None,
        floor: None,
    }
}

/// Records a booth alert: in the live list (the newest [`ALERTS_KEPT`]) and in the log.
fn alert(
    state: &mut MeetingState,
    booth: Lang,
    signal: BoothSignal,
    text: Option<&String>,
    at: UnixMs,
) {
    let interp = &mut state.interpretation;
    let id = interp.next_alert.max(1);
    interp.next_alert = id + 1;
    interp.alerts.push(BoothAlert {
        id,
        booth,
        signal,
        text: text.cloned(),
        at,
        acknowledged_at: None,
    });
    let over = interp.alerts.len().saturating_sub(ALERTS_KEPT);
    interp.alerts.drain(..over);
    let mut entry = incident(IncidentKind::Alert, booth, at);
    entry.signal = Some(signal);
    entry.alert = Some(id);
    entry.text = text.cloned();
    log(state, entry);
}

/// Applies what an event means for the interpretation desk. Called by the reducer after
/// its own handling of every event (so a new speech already exists here, and a finished
/// one is already in the history).
pub fn apply(state: &mut MeetingState, event: &Event) {
    match event {
        Event::FloorGiven { speaker, at, .. } => {
            if let Some(speech) = state.speech.as_mut() {
                speech.floor = vec![FloorPart {
                    language: speaker.language,
                    at: *at,
                    from_ms: 0,
                }];
            }
        }
        Event::SlowDownRequested {
            language: Some(booth),
            at,
        } => log(state, incident(IncidentKind::SlowDown, *booth, *at)),
        // A report from a booth link becomes an alert the chair can acknowledge; the
        // reducer has raised the `no_interpretation` signal already. (Reports without a
        // booth come from journals older than booth links: signal only.)
        Event::NoInterpretationReported {
            language: Some(booth),
            at,
        } => alert(state, *booth, BoothSignal::NoInterpretation, None, *at),
        Event::FloorLanguageSet {
            language,
            booth,
            at,
        } => {
            if let Some(speech) = state.speech.as_mut() {
                let spoken = (speech.granted_ms - speech.clock.remaining(*at)).max(0);
                if speech.floor.is_empty() {
                    speech.floor.push(FloorPart {
                        language: speech.speaker.language,
                        at: speech.started_at,
                        from_ms: 0,
                    });
                }
                speech.floor.push(FloorPart {
                    language: *language,
                    at: *at,
                    from_ms: spoken,
                });
                speech.speaker.language = *language;
            }
            if let Some(b) = booth {
                let mut entry = incident(IncidentKind::FloorCorrected, *b, *at);
                entry.text = Some(language.code().to_string());
                log(state, entry);
            }
        }
        Event::BoothHandedOver { booth, at } => {
            if let Some(b) = state
                .interpretation
                .booths
                .iter_mut()
                .find(|b| b.language == *booth)
            {
                b.turn_started_at = Some(*at);
                b.handovers += 1;
            }
            log(state, incident(IncidentKind::Handover, *booth, *at));
        }
        Event::BoothAlerted {
            booth,
            signal,
            text,
            at,
        } => {
            alert(state, *booth, *signal, text.as_ref(), *at);
            if *signal == BoothSignal::NoInterpretation {
                let n = state.no_interpretation.as_ref().map(|s| s.n).unwrap_or(0) + 1;
                state.no_interpretation = Some(InterpreterSignal {
                    n,
                    language: Some(*booth),
                    at: *at,
                });
            }
        }
        Event::BoothAlertAcknowledged { alert, at } => {
            let interp = &mut state.interpretation;
            if let Some(a) = interp.alerts.iter_mut().find(|a| a.id == *alert) {
                a.acknowledged_at = Some(*at);
            }
            if let Some(e) = interp
                .log
                .iter_mut()
                .rev()
                .find(|e| e.alert == Some(*alert))
            {
                e.acknowledged_at = Some(*at);
            }
        }
        Event::BoothTextSet { person, url, at } => {
            let texts = &mut state.interpretation.texts;
            let text = BoothText {
                person: person.clone(),
                url: url.clone(),
                at: *at,
            };
            match texts.iter_mut().find(|t| &t.person == person) {
                Some(t) => *t = text,
                None => texts.push(text),
            }
        }
        Event::MeetingStarted { at } => {
            for b in &mut state.interpretation.booths {
                b.turn_started_at = Some(*at);
            }
        }
        Event::MeetingEnded { .. } => {
            for b in &mut state.interpretation.booths {
                b.turn_started_at = None;
            }
        }
        _ => {}
    }
}

/// Brings what follows from the agenda and the floor up to date: one booth per meeting
/// language (in agenda order, keeping each booth's turn), and the relay in force for
/// the language on the floor. Cheap when nothing changed; called after every event.
pub fn derive(state: &mut MeetingState, agenda: &Agenda) {
    let langs = &agenda.meeting.languages;
    let interp = &mut state.interpretation;
    if !interp
        .booths
        .iter()
        .map(|b| b.language)
        .eq(langs.iter().copied())
    {
        let turn = (state.phase == Phase::Running)
            .then_some(state.started_at)
            .flatten();
        let mut old = std::mem::take(&mut interp.booths);
        interp.booths = langs
            .iter()
            .map(|l| match old.iter().position(|b| b.language == *l) {
                Some(i) => old.swap_remove(i),
                None => BoothState {
                    language: *l,
                    turn_started_at: turn,
                    handovers: 0,
                },
            })
            .collect();
    }
    let relay = state.speech.as_ref().and_then(|s| {
        let floor = s.speaker.language;
        let rule = agenda
            .interpretation
            .as_ref()?
            .relay
            .iter()
            .find(|r| r.floor == floor)?;
        Some(ActiveRelay {
            floor,
            pivot: rule.pivot,
            takers: rule.takers(langs),
        })
    });
    if interp.relay != relay {
        interp.relay = relay;
    }
}
