//! The interpretation desk's rules: the live floor language and its time per language,
//! the relay plan, handovers, booth alerts and their acknowledgement, texts for the
//! booths, and that a booth acts for its own language only.

use super::*;
use podium_protocol::booth::{duty, IncidentKind, ALERTS_KEPT};
use podium_protocol::{ActiveRelay, BoothDuty, BoothSignal, ClockTarget, Phase};

fn give(person: &str) -> Command {
    Command::GiveFloor {
        person: person.into(),
    }
}

fn floor(language: Lang) -> Command {
    Command::SetFloorLanguage { language }
}

fn booth(l: Lang) -> Actor {
    Actor::Interpreter(l)
}

fn alert(signal: BoothSignal, text: Option<&str>) -> Command {
    Command::BoothAlert {
        signal,
        text: text.map(str::to_string),
    }
}

/// Round 2 (moderated by Emilia Sáiz), Ahmed Skim (French) on the floor since `T0`.
fn ahmed_speaking() -> Engine {
    let mut e = at_segment(ROUND_2, T0);
    ok(&mut e, give("ahmed-skim"), Actor::Host, T0);
    e
}

#[test]
fn the_chair_and_the_booths_set_the_floor_language_and_every_view_shows_it() {
    let mut e = ahmed_speaking();
    let sp = e.state().speech.as_ref().unwrap();
    assert_eq!(sp.speaker.language, Lang::Fr);
    assert_eq!(sp.floor.len(), 1);

    let events = ok(&mut e, floor(Lang::En), Actor::Host, T0 + M);
    assert_eq!(
        events,
        [Event::FloorLanguageSet {
            language: Lang::En,
            booth: None,
            at: T0 + M
        }]
    );
    assert_eq!(
        e.state().speech.as_ref().unwrap().speaker.language,
        Lang::En
    );
    ok(
        &mut e,
        floor(Lang::Es),
        moderator("emilia-saiz"),
        T0 + 2 * M,
    );
    // A booth corrects it: recorded with the booth, and in the booth log.
    let events = ok(&mut e, floor(Lang::Fr), booth(Lang::Ar), T0 + 3 * M);
    assert_eq!(
        events,
        [Event::FloorLanguageSet {
            language: Lang::Fr,
            booth: Some(Lang::Ar),
            at: T0 + 3 * M
        }]
    );
    let log = &e.state().interpretation.log;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].kind, log[0].booth, log[0].text.as_deref()),
        (IncidentKind::FloorCorrected, Lang::Ar, Some("fr"))
    );
    let langs: Vec<Lang> = e
        .state()
        .speech
        .as_ref()
        .unwrap()
        .floor
        .iter()
        .map(|p| p.language)
        .collect();
    assert_eq!(langs, [Lang::Fr, Lang::En, Lang::Es, Lang::Fr]);
}

#[test]
fn setting_the_floor_language_needs_a_speech_a_floor_language_and_a_change() {
    let mut e = at_segment(ROUND_2, T0);
    let r = rejected(&mut e, floor(Lang::En), Actor::Host, T0);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(&mut e, give("ahmed-skim"), Actor::Host, T0);
    let r = rejected(&mut e, floor(Lang::Fr), Actor::Host, T0 + S);
    assert!(
        matches!(r, Rejection::InvalidState(ref m) if m.contains("already")),
        "{r:?}"
    );
    // German has no booth and no relay rule in the seed meeting.
    let r = rejected(&mut e, floor(Lang::De), booth(Lang::En), T0 + S);
    assert!(
        matches!(r, Rejection::InvalidArgument(ref m) if m.contains("pt")),
        "{r:?}"
    );
    // Portuguese has a relay rule: it is a floor language.
    ok(&mut e, floor(Lang::Pt), Actor::Host, T0 + S);
    // Other roles may not; another segment's moderator may not.
    for who in [
        moderator("cecile-riallant"),
        speaker("ahmed-skim"),
        Actor::Projector,
    ] {
        let r = rejected(&mut e, floor(Lang::En), who, T0 + 2 * S);
        assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    }
}

#[test]
fn time_per_language_excludes_pauses_and_adds_up_to_the_speech() {
    let mut e = ahmed_speaking();
    ok(&mut e, floor(Lang::En), Actor::Host, T0 + M);
    ok(
        &mut e,
        Command::PauseClock {
            target: ClockTarget::Speech,
        },
        Actor::Host,
        T0 + 90 * S,
    );
    ok(
        &mut e,
        Command::ResumeClock {
            target: ClockTarget::Speech,
        },
        Actor::Host,
        T0 + 150 * S,
    );
    // Time added to the clock is not time spoken.
    ok(
        &mut e,
        Command::AdjustClock {
            target: ClockTarget::Speech,
            seconds: 120,
        },
        Actor::Host,
        T0 + 160 * S,
    );
    ok(&mut e, floor(Lang::Es), booth(Lang::Es), T0 + 180 * S);
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 240 * S);
    let r = e.state().history.last().unwrap();
    assert_eq!(r.spoken_ms, 180 * S, "4 minutes on the floor, 1 paused");
    let times = podium_protocol::booth::language_times(&r.floor, r.spoken_ms);
    assert_eq!(
        times,
        [(Lang::Fr, 60 * S), (Lang::En, 60 * S), (Lang::Es, 60 * S)]
    );
    assert_eq!(
        r.speaker.language,
        Lang::Es,
        "the record ends in the last language"
    );
    assert_eq!(
        r.floor[0].language,
        Lang::Fr,
        "and starts in the announced one"
    );
}

#[test]
fn a_portuguese_speaker_brings_the_relay_plan_into_force() {
    let mut e = at_segment(OPEN, T0);
    let ana = join(&mut e, "Ana Souza", "Brazil", Lang::Pt);
    // Portuguese is covered by the relay plan: a hand may ask for it.
    raise(&mut e, ana, T0 + S);
    assert_eq!(e.state().queue[0].language, Lang::Pt);
    assert_eq!(e.state().interpretation.relay, None);
    ok(
        &mut e,
        Command::GiveFloorToHand { hand: None },
        Actor::Host,
        T0 + M,
    );
    let relay = e
        .state()
        .interpretation
        .relay
        .clone()
        .expect("relay in force");
    assert_eq!(
        relay,
        ActiveRelay {
            floor: Lang::Pt,
            pivot: Lang::Es,
            takers: vec![Lang::Fr, Lang::En, Lang::Ar],
        }
    );
    assert_eq!(duty(Lang::Es, Lang::Pt, Some(&relay)), BoothDuty::Pivot);
    for b in [Lang::Fr, Lang::En, Lang::Ar] {
        assert_eq!(
            duty(b, Lang::Pt, Some(&relay)),
            BoothDuty::Relay { from: Lang::Es }
        );
    }
    // She switches to Spanish: no relay any more; the ES booth hears its own language.
    ok(&mut e, floor(Lang::Es), booth(Lang::Es), T0 + 2 * M);
    assert_eq!(e.state().interpretation.relay, None);
    assert_eq!(duty(Lang::Es, Lang::Es, None), BoothDuty::OwnLanguage);
    ok(&mut e, floor(Lang::Pt), Actor::Host, T0 + 3 * M);
    assert!(e.state().interpretation.relay.is_some());
    ok(&mut e, Command::EndSpeech, Actor::Host, T0 + 4 * M);
    assert_eq!(
        e.state().interpretation.relay,
        None,
        "nobody speaks: no relay"
    );
}

#[test]
fn without_a_relay_rule_a_language_without_a_booth_cannot_be_asked_for() {
    let mut e = Engine::new(two_moderators());
    ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    let p = join(&mut e, "Ana Souza", "Brazil", Lang::Pt);
    let r = rejected(
        &mut e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(p),
        T0 + S,
    );
    assert!(matches!(r, Rejection::InvalidArgument(_)), "{r:?}");
}

#[test]
fn a_booth_cannot_act_for_another_language() {
    let mut e = ahmed_speaking();
    for c in [
        Command::SlowDown {
            language: Some(Lang::Fr),
        },
        Command::NoInterpretation {
            language: Some(Lang::Ar),
        },
    ] {
        let r = rejected(&mut e, c, booth(Lang::Es), T0 + S);
        assert!(
            matches!(r, Rejection::Forbidden(ref m) if m.contains("ES booth")),
            "{r:?}"
        );
    }
    // Its own language, or none: the booth's language from the link.
    let events = ok(
        &mut e,
        Command::SlowDown { language: None },
        booth(Lang::Es),
        T0 + S,
    );
    assert_eq!(
        events,
        [Event::SlowDownRequested {
            language: Some(Lang::Es),
            at: T0 + S
        }]
    );
    // Handover and alerts carry the booth of the link: nothing to forge.
    let events = ok(&mut e, Command::HandedOver, booth(Lang::Ar), T0 + 2 * S);
    assert_eq!(
        events,
        [Event::BoothHandedOver {
            booth: Lang::Ar,
            at: T0 + 2 * S
        }]
    );
    let events = ok(
        &mut e,
        alert(BoothSignal::NoSound, None),
        booth(Lang::Fr),
        T0 + 3 * S,
    );
    assert!(matches!(
        events[0],
        Event::BoothAlerted {
            booth: Lang::Fr,
            ..
        }
    ));
    let log = &e.state().interpretation.log;
    let booths: Vec<(IncidentKind, Lang)> = log.iter().map(|i| (i.kind, i.booth)).collect();
    assert_eq!(
        booths,
        [
            (IncidentKind::SlowDown, Lang::Es),
            (IncidentKind::Handover, Lang::Ar),
            (IncidentKind::Alert, Lang::Fr)
        ]
    );
    assert!(
        log.iter().all(|i| i.floor == Some(Lang::Fr)),
        "floor at the time"
    );
}

#[test]
fn each_booth_has_its_own_turn_restarted_by_a_handover() {
    let mut e = fresh();
    let langs: Vec<Lang> = e
        .state()
        .interpretation
        .booths
        .iter()
        .map(|b| b.language)
        .collect();
    assert_eq!(langs, [Lang::En, Lang::Fr, Lang::Es, Lang::Ar]);
    assert!(e
        .state()
        .interpretation
        .booths
        .iter()
        .all(|b| b.turn_started_at.is_none()));
    let r = rejected(&mut e, Command::HandedOver, booth(Lang::Es), T0);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    assert!(e
        .state()
        .interpretation
        .booths
        .iter()
        .all(|b| b.turn_started_at == Some(T0)));
    ok(&mut e, Command::HandedOver, booth(Lang::Es), T0 + 30 * M);
    let b = e.state().interpretation.booth(Lang::Es).unwrap();
    assert_eq!((b.turn_started_at, b.handovers), (Some(T0 + 30 * M), 1));
    let fr = e.state().interpretation.booth(Lang::Fr).unwrap();
    assert_eq!(
        (fr.turn_started_at, fr.handovers),
        (Some(T0), 0),
        "others untouched"
    );
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + 40 * M);
    assert!(e
        .state()
        .interpretation
        .booths
        .iter()
        .all(|b| b.turn_started_at.is_none()));
    assert_eq!(e.state().phase, Phase::Ended);
    let r = rejected(&mut e, Command::HandedOver, booth(Lang::Es), T0 + 41 * M);
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn booth_alerts_reach_the_chair_who_acknowledges_them() {
    let mut e = ahmed_speaking();
    let events = ok(
        &mut e,
        alert(
            BoothSignal::RepeatFigure,
            Some("  the 2019 figure, please "),
        ),
        booth(Lang::Ar),
        T0 + S,
    );
    assert_eq!(
        events,
        [Event::BoothAlerted {
            booth: Lang::Ar,
            signal: BoothSignal::RepeatFigure,
            text: Some("the 2019 figure, please".into()),
            at: T0 + S
        }]
    );
    let a = &e.state().interpretation.alerts[0];
    assert_eq!((a.id, a.booth, a.acknowledged_at), (1, Lang::Ar, None));
    // The moderator of the segment acknowledges; the booth sees it in the state.
    ok(
        &mut e,
        Command::AcknowledgeAlert { alert: 1 },
        moderator("emilia-saiz"),
        T0 + 2 * S,
    );
    assert_eq!(
        e.state().interpretation.alerts[0].acknowledged_at,
        Some(T0 + 2 * S)
    );
    assert_eq!(
        e.state().interpretation.log[0].acknowledged_at,
        Some(T0 + 2 * S)
    );
    let r = rejected(
        &mut e,
        Command::AcknowledgeAlert { alert: 1 },
        Actor::Host,
        T0 + 3 * S,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    let r = rejected(
        &mut e,
        Command::AcknowledgeAlert { alert: 9 },
        Actor::Host,
        T0 + 3 * S,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // A booth cannot acknowledge, not even its own alert.
    let r = rejected(
        &mut e,
        Command::AcknowledgeAlert { alert: 1 },
        booth(Lang::Ar),
        T0 + 3 * S,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
}

#[test]
fn alert_texts_are_checked() {
    let mut e = ahmed_speaking();
    for (c, what) in [
        (alert(BoothSignal::Message, None), "needs a `text`"),
        (alert(BoothSignal::Message, Some("   ")), "empty"),
        (alert(BoothSignal::NoText, Some(&"x".repeat(201))), "200"),
        (alert(BoothSignal::NoSound, Some("bell\u{7}")), "control"),
    ] {
        let r = rejected(&mut e, c, booth(Lang::En), T0 + S);
        assert!(
            matches!(r, Rejection::InvalidArgument(ref m) if m.contains(what)),
            "{r:?}"
        );
    }
    ok(
        &mut e,
        alert(BoothSignal::Message, Some(&"é".repeat(200))),
        booth(Lang::En),
        T0 + S,
    );
    ok(&mut e, Command::EndMeeting, Actor::Host, T0 + M);
    let r = rejected(
        &mut e,
        alert(BoothSignal::NoSound, None),
        booth(Lang::En),
        T0 + 2 * M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
}

#[test]
fn the_state_keeps_the_newest_alerts_and_the_log_keeps_them_all() {
    let mut e = ahmed_speaking();
    let n = ALERTS_KEPT as u64 + 5;
    for i in 0..n {
        let b = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i as usize % 4];
        ok(
            &mut e,
            alert(BoothSignal::TooFast, None),
            booth(b),
            T0 + i as i64 * S,
        );
    }
    let alerts = &e.state().interpretation.alerts;
    assert_eq!(alerts.len(), ALERTS_KEPT);
    assert_eq!(alerts[0].id, 6);
    assert_eq!(alerts.last().unwrap().id, n);
    assert_eq!(e.state().interpretation.log.len() as u64, n);
    // An alert no longer in the state cannot be acknowledged (the message says why).
    let r = rejected(
        &mut e,
        Command::AcknowledgeAlert { alert: 2 },
        Actor::Host,
        T0 + M,
    );
    assert!(
        matches!(r, Rejection::NotFound(ref m) if m.contains("latest")),
        "{r:?}"
    );
}

#[test]
fn no_interpretation_is_an_alert_too() {
    let mut e = ahmed_speaking();
    ok(
        &mut e,
        Command::NoInterpretation { language: None },
        booth(Lang::Es),
        T0 + S,
    );
    let s = e.state().no_interpretation.as_ref().unwrap();
    assert_eq!((s.n, s.language), (1, Some(Lang::Es)));
    let a = &e.state().interpretation.alerts[0];
    assert_eq!(
        (a.signal, a.booth),
        (BoothSignal::NoInterpretation, Lang::Es)
    );
    // The same through booth_alert, with words: the host's signal counts it once.
    ok(
        &mut e,
        alert(BoothSignal::NoInterpretation, Some("channel 3 silent")),
        booth(Lang::Ar),
        T0 + 2 * S,
    );
    let s = e.state().no_interpretation.as_ref().unwrap();
    assert_eq!((s.n, s.language), (2, Some(Lang::Ar)));
    assert_eq!(e.state().interpretation.alerts.len(), 2);
    ok(
        &mut e,
        Command::AcknowledgeAlert { alert: 1 },
        Actor::Host,
        T0 + 3 * S,
    );
}

/// A small agenda whose speaker has a text in the agenda.
fn texts_agenda() -> std::sync::Arc<Agenda> {
    let toml = TWO_MODERATORS_TOML.replace(
        r#"speakers = [{ name = "Sam Speaker", language = "fr" }]"#,
        r#"speakers = [{ name = "Sam Speaker", language = "fr", text_url = "https://example.org/sam.pdf" }]"#,
    );
    std::sync::Arc::new(Agenda::from_toml(&toml).expect("valid"))
}

#[test]
fn the_chair_sets_and_withdraws_texts_for_the_booths() {
    let mut e = Engine::new(texts_agenda());
    let agenda_url = Some("https://example.org/sam.pdf");
    assert_eq!(
        e.state().interpretation.text_for("sam-speaker", agenda_url),
        agenda_url
    );
    // Before the meeting (so the booths can prepare).
    let set = |url: Option<&str>| Command::SetBoothText {
        person: "sam-speaker".into(),
        url: url.map(str::to_string),
    };
    ok(
        &mut e,
        set(Some("https://example.org/sam-v2.pdf")),
        Actor::Host,
        T0 - M,
    );
    assert_eq!(
        e.state().interpretation.text_for("sam-speaker", agenda_url),
        Some("https://example.org/sam-v2.pdf")
    );
    let r = rejected(
        &mut e,
        set(Some("https://example.org/sam-v2.pdf")),
        Actor::Host,
        T0 - M,
    );
    assert!(matches!(r, Rejection::InvalidState(_)), "{r:?}");
    for bad in [
        "http://example.org/sam.pdf",
        "javascript:alert(1)",
        "https://",
    ] {
        let r = rejected(&mut e, set(Some(bad)), Actor::Host, T0 - M);
        assert!(matches!(r, Rejection::InvalidArgument(_)), "{bad}: {r:?}");
    }
    let r = rejected(
        &mut e,
        Command::SetBoothText {
            person: "nobody".into(),
            url: None,
        },
        Actor::Host,
        T0 - M,
    );
    assert!(matches!(r, Rejection::NotFound(_)), "{r:?}");
    // Withdrawn: the agenda's text is withdrawn too.
    ok(&mut e, set(None), Actor::Host, T0 - M);
    assert_eq!(
        e.state().interpretation.text_for("sam-speaker", agenda_url),
        None
    );
    assert_eq!(e.state().interpretation.texts.len(), 1);
    // During the meeting the segment's moderator may too; a booth may not.
    ok(&mut e, Command::StartMeeting, Actor::Host, T0);
    ok(&mut e, set(agenda_url), moderator("ana-moder"), T0 + M);
    let r = rejected(&mut e, set(None), booth(Lang::En), T0 + M);
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
}

#[test]
fn an_agenda_with_a_bad_text_url_is_refused_with_its_place() {
    let toml = TWO_MODERATORS_TOML.replace(
        r#"speakers = [{ name = "Sam Speaker", language = "fr" }]"#,
        r#"speakers = [{ name = "Sam Speaker", language = "fr", text_url = "http://example.org/sam.pdf" }]"#,
    );
    let errs = Agenda::from_toml(&toml).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].path, "segment[0].speakers[0].text_url");
    assert!(errs[0].line.is_some());
    assert!(errs[0].message.contains("https"));
}
