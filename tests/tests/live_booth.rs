//! The interpretation desk over real sockets, on the bundled meeting (EN, FR, ES and AR
//! booths; Portuguese relayed through the ES booth): one link per booth; a speech that
//! switches FR → EN → ES, seen at once by every booth; a Portuguese intervention from the
//! floor and the relay instruction each booth gets; booth alerts and their
//! acknowledgement; a handover seen by both consoles of one booth; the report's
//! interpretation section over HTTP.

use podium_protocol::booth::duty;
use podium_protocol::{BoothDuty, BoothSignal, Command, ErrorCode, Lang, MeetingState, Role};
use podium_tests::client::Client;
use podium_tests::http::get;
use podium_tests::server::TestServer;

const BOOTHS: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar];

fn floor_language(s: &MeetingState) -> Option<Lang> {
    s.speech.as_ref().map(|sp| sp.speaker.language)
}

/// What a booth is told to do now, from its own state.
fn instruction(s: &MeetingState, booth: Lang) -> Option<BoothDuty> {
    let floor = floor_language(s)?;
    Some(duty(booth, floor, s.interpretation.relay.as_ref()))
}

/// Waits until every booth sees `language` on the floor.
async fn all_see(booths: &mut [(Lang, Client)], language: Lang) -> anyhow::Result<()> {
    for (_, b) in booths.iter_mut() {
        b.wait_for(|s| floor_language(s) == Some(language)).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speech_switches_language_and_a_portuguese_delegate_brings_the_relay(
) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;

    // One link per booth, named by language.
    let interp: Vec<_> = server
        .links
        .iter()
        .filter(|l| l.role == Role::Interpreter)
        .collect();
    assert_eq!(
        interp.iter().map(|l| l.language).collect::<Vec<_>>(),
        BOOTHS.map(Some)
    );
    let mut booths = Vec::new();
    for lang in BOOTHS {
        let b = Client::hello(addr, &m, &server.token("interpreter", Some(lang.code()))).await?;
        assert_eq!(b.you.role, Role::Interpreter);
        assert_eq!(b.you.person.as_deref(), Some(lang.code()));
        assert_eq!(b.you.name, format!("{} booth", lang.english_name()));
        booths.push((lang, b));
    }
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    let mut emilia =
        Client::hello(addr, &m, &server.token("moderator", Some("emilia-saiz"))).await?;

    // Round 2: Ahmed Skim speaks French.
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "round-2".into(),
    })
    .await?;
    host.must(Command::GiveFloor {
        person: "ahmed-skim".into(),
    })
    .await?;
    all_see(&mut booths, Lang::Fr).await?;
    for (lang, b) in &booths {
        let want = if *lang == Lang::Fr {
            BoothDuty::OwnLanguage
        } else {
            BoothDuty::Direct
        };
        assert_eq!(instruction(&b.state, *lang), Some(want), "{lang} booth");
        assert_eq!(b.state.interpretation.relay, None);
    }

    // FR → EN (the host), → ES (the segment's moderator): every booth sees each at once.
    host.must(Command::SetFloorLanguage { language: Lang::En })
        .await?;
    all_see(&mut booths, Lang::En).await?;
    emilia
        .must(Command::SetFloorLanguage { language: Lang::Es })
        .await?;
    all_see(&mut booths, Lang::Es).await?;
    let es = &booths[2].1.state;
    assert_eq!(instruction(es, Lang::Es), Some(BoothDuty::OwnLanguage));
    // A booth acts for its own language only, over the wire too.
    let (_, fr) = &mut booths[1];
    let r = fr
        .command(Command::SlowDown {
            language: Some(Lang::Ar),
        })
        .await?;
    assert!(matches!(r, Err((ErrorCode::Forbidden, _))), "{r:?}");
    fr.must(Command::SlowDown { language: None }).await?;
    host.wait_for(|s| {
        s.speech
            .as_ref()
            .and_then(|sp| sp.slow_down.as_ref())
            .is_some_and(|d| d.language == Some(Lang::Fr))
    })
    .await?;
    host.must(Command::EndSpeech).await?;
    let ahmed = host.state.history.last().unwrap().clone();
    let langs: Vec<Lang> = ahmed.floor.iter().map(|p| p.language).collect();
    assert_eq!(langs, [Lang::Fr, Lang::En, Lang::Es]);
    let times = podium_protocol::booth::language_times(&ahmed.floor, ahmed.spoken_ms);
    assert_eq!(times.iter().map(|(_, t)| t).sum::<i64>(), ahmed.spoken_ms);

    // The open conversation: a Brazilian delegate asks for the floor in Portuguese.
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    let join = server.token("participant", None);
    let mut ana = Client::join(addr, &m, &join, "Ana Souza", "Brazil", Lang::Pt).await?;
    ana.must(Command::RaiseHand {
        language: None,
        point_of_order: false,
    })
    .await?;
    host.wait_for(|s| s.queue.len() == 1).await?;
    assert_eq!(host.state.queue[0].language, Lang::Pt);
    host.must(Command::GiveFloorToHand { hand: None }).await?;
    all_see(&mut booths, Lang::Pt).await?;
    // The relay in force, and the instruction each booth gets from it.
    for (lang, b) in &booths {
        let relay = b
            .state
            .interpretation
            .relay
            .as_ref()
            .expect("relay in force");
        assert_eq!((relay.floor, relay.pivot), (Lang::Pt, Lang::Es));
        let want = if *lang == Lang::Es {
            BoothDuty::Pivot
        } else {
            BoothDuty::Relay { from: Lang::Es }
        };
        assert_eq!(instruction(&b.state, *lang), Some(want), "{lang} booth");
    }
    // The host sees the pivot too.
    host.wait_for(|s| s.interpretation.relay.is_some()).await?;
    assert_eq!(
        host.state.interpretation.relay.as_ref().unwrap().pivot,
        Lang::Es
    );

    // A booth alerts the chair; the host sees it, the delegates do not; the host
    // acknowledges and the booth sees the acknowledgement.
    let (_, ar) = &mut booths[3];
    ar.must(Command::BoothAlert {
        signal: BoothSignal::NeedRelay,
        text: Some("no Portuguese in our booth: is ES relaying?".into()),
    })
    .await?;
    host.wait_for(|s| !s.interpretation.alerts.is_empty())
        .await?;
    let alert = host.state.interpretation.alerts[0].clone();
    assert_eq!(
        (alert.booth, alert.signal),
        (Lang::Ar, BoothSignal::NeedRelay)
    );
    ana.ping().await?;
    assert!(
        ana.state.interpretation.alerts.is_empty(),
        "alerts are for staff and booths"
    );
    assert!(
        ana.state.interpretation.log.is_empty() && host.state.interpretation.log.is_empty(),
        "the booth log is never sent in a state"
    );
    host.must(Command::AcknowledgeAlert { alert: alert.id })
        .await?;
    let (_, ar) = &mut booths[3];
    ar.wait_for(|s| {
        s.interpretation
            .alerts
            .iter()
            .any(|a| a.id == alert.id && a.acknowledged_at.is_some())
    })
    .await?;

    // Two consoles of the ES booth agree on the handover.
    let mut es2 = Client::hello(addr, &m, &server.token("interpreter", Some("es"))).await?;
    let (_, es) = &mut booths[2];
    let before = es
        .state
        .interpretation
        .booth(Lang::Es)
        .unwrap()
        .turn_started_at;
    es.must(Command::HandedOver).await?;
    let turn = es.state.interpretation.booth(Lang::Es).unwrap().clone();
    assert_eq!(turn.handovers, 1);
    assert!(turn.turn_started_at > before);
    es2.wait_for(|s| s.interpretation.booth(Lang::Es).unwrap().handovers == 1)
        .await?;
    assert_eq!(es2.state.interpretation.booth(Lang::Es), Some(&turn));

    // The report's interpretation section.
    host.must(Command::EndSpeech).await?;
    let r = get(
        addr,
        &format!("/api/meetings/{m}/report.json"),
        Some(&server.token("host", None)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json()?;
    let i = &report["interpretation"];
    assert_eq!(i["switched"].as_array().unwrap().len(), 1);
    assert_eq!(i["switched"][0]["name"], "Ahmed Skim");
    assert!(i["floor_ms"]["pt"].as_i64().unwrap() > 0);
    let kinds: Vec<&str> = i["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["slow_down", "need_relay", "handover"]);
    assert_eq!(i["incidents"][1]["floor"], "pt");
    assert!(i["incidents"][1]["acknowledged_at"].is_object());

    // The same section in the CSV sheet: a row per language stretch of the speech that
    // switched, a row per incident, and the floor time per language.
    let parts = i["switched"][0]["parts"].as_array().unwrap().len();
    assert!(parts >= 3, "FR → EN → ES: {parts} stretches");
    let r = get(
        addr,
        &format!("/api/meetings/{m}/report.csv"),
        Some(&server.token("host", None)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let lines: Vec<&str> = r.body.lines().collect();
    let records = |kind: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{kind},{m},")))
            .count()
    };
    assert_eq!(records("speech_language"), parts, "{}", r.body);
    assert_eq!(records("incident"), 3, "{}", r.body);
    let need_relay = lines
        .iter()
        .find(|l| l.starts_with("incident,") && l.contains(",need_relay,"))
        .expect("the relay request is an incident row");
    assert!(need_relay.contains(",acknowledged"), "{need_relay}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",floor_ms_by_language,") && l.contains(",pt,")),
        "Portuguese floor time in the CSV: {}",
        r.body
    );
    server.stop().await
}
