//! The meeting changes while it runs, black-box over real sockets: mid-meeting the host
//! inserts "any other business", adds a late speaker with her floor language and removes a
//! cancelled one (whose open connection is closed with 4001), then rotates the join link
//! (the old one is refused, the new one works). Every client gets the new agenda and plan
//! just before the one change that shows it, and the report shows the edited meeting and
//! lists the edits.

use futures_util::StreamExt;
use podium_protocol::{
    AgendaOp, ClientMessage, Command, Lang, Person, Role, Secs, Segment, SegmentKind, ServerMessage,
};
use podium_tests::client::{read_until_close, send_json, Client, WAIT};
use podium_tests::http;
use podium_tests::server::TestServer;
use tokio_tungstenite::tungstenite::Message;

/// Reads a client's messages until a change shows agenda `version`; checks that the
/// agenda message (with its plan) came first, and only once.
async fn sees_new_agenda_first(c: &mut Client, version: u64) -> anyhow::Result<()> {
    let mut agendas = 0;
    loop {
        let msg = tokio::time::timeout(WAIT, c.ws.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("closed"))??;
        let Message::Text(t) = msg else { continue };
        match serde_json::from_str::<ServerMessage>(&t)? {
            ServerMessage::Agenda {
                version: v,
                agenda,
                planned,
            } => {
                anyhow::ensure!(v == version, "agenda version {v}, want {version}");
                anyhow::ensure!(planned == agenda.planned_starts_ms(), "plan of the agenda");
                c.agenda = *agenda;
                c.planned = planned;
                c.agenda_version = v;
                agendas += 1;
            }
            ServerMessage::Change { seq, state, .. } => {
                c.seq = seq;
                let v = state.agenda_version;
                c.state = *state;
                if v == version {
                    anyhow::ensure!(agendas == 1, "{agendas} agenda messages before the change");
                    return Ok(());
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_edits_the_running_meeting_and_every_screen_follows() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    let join = server.token("participant", None);
    let mut ana = Client::join(addr, &m, &join, "Ana Souza", "Brazil", Lang::Es).await?;
    let mut projector = Client::hello(addr, &m, &server.token("projector", None)).await?;
    let felipe_token = server.token("speaker", Some("felipe-munoz"));
    let mut felipe = Client::hello(addr, &m, &felipe_token).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "round-1".into(),
    })
    .await?;
    let plan_before = host.planned.clone();

    // One edit, three changes.
    let aob = Segment {
        id: "aob".into(),
        kind: SegmentKind::OpenFloor,
        title: "Any other business".into(),
        title_original: Some("Divers".into()),
        question: None,
        question_original: None,
        duration: Secs(600),
        speech_limit: Some(Secs(120)),
        moderator: None,
        speakers: vec![],
        reactions: vec![],
        warning: Some(Secs(90)),
        danger: None,
    };
    let nadia = Person {
        id: None,
        name: "Nadia Rahman".into(),
        title: Some("Mayor".into()),
        affiliation: Some("Dhaka North City Corporation".into()),
        country: Some("Bangladesh".into()),
        language: Lang::Ar,
        text_url: None,
    };
    host.send_command(Command::EditAgenda {
        ops: vec![
            AgendaOp::InsertSegment {
                at: 6,
                segment: aob,
            },
            AgendaOp::AddSpeaker {
                segment: "round-2".into(),
                speaker: nadia,
                reaction: false,
                at: Some(0),
            },
            AgendaOp::RemoveSpeaker {
                segment: "round-3".into(),
                person: "felipe-munoz".into(),
            },
        ],
    })
    .await?;
    for c in [&mut host, &mut ana, &mut projector] {
        sees_new_agenda_first(c, 1).await?;
        assert_eq!(c.agenda.segments[6].id, "aob");
        assert_eq!(c.agenda.segments.len(), 8);
        assert_eq!(c.planned.len(), 9);
        assert_eq!(
            c.planned[..7],
            plan_before[..7],
            "the plan up to the insert stays"
        );
        assert_eq!(
            c.planned[8],
            plan_before[7] + 600_000,
            "ten minutes later at the end"
        );
        let round_2 = &c.agenda.segments[3];
        assert_eq!(round_2.speakers[0].name, "Nadia Rahman");
        assert_eq!(round_2.speakers[0].language, Lang::Ar);
        assert!(c.agenda.segments[4]
            .speakers
            .iter()
            .all(|p| p.key() != "felipe-munoz"));
        assert_eq!(c.state.current, Some(2), "still round 1");
    }
    // The cancelled speaker's screen is closed: 4001, and his link is dead.
    let end = read_until_close(&mut felipe.ws).await?;
    assert_eq!(end.code, Some(4001), "{end:?}");
    assert!(Client::hello(addr, &m, &felipe_token).await.is_err());

    // Round 2: the late speaker takes the floor in Arabic.
    host.must(Command::NextSegment).await?;
    host.must(Command::GiveFloor {
        person: "nadia-rahman".into(),
    })
    .await?;
    let speech = host.state.speech.clone().expect("Nadia speaks");
    assert_eq!(speech.speaker.language, Lang::Ar);

    // The host rotates the join link: the old one no longer joins, the new one does, and
    // Ana (who joined before) keeps her own link.
    send_json(
        &mut host.ws,
        &ClientMessage::RotateLink {
            id: 77,
            role: Role::Participant,
            person: None,
        },
    )
    .await?;
    let new_join = match host.next_reply().await? {
        ServerMessage::Links { id: 77, links } => {
            links[0].url.split('#').nth(1).unwrap_or("").to_string()
        }
        other => anyhow::bail!("expected the new link, got {other:?}"),
    };
    assert!(Client::join(addr, &m, &join, "Late", "Nowhere", Lang::En)
        .await
        .is_err());
    Client::join(addr, &m, &new_join, "Ben Okafor", "Nigeria", Lang::En).await?;
    let ana_token = ana.participant_token.clone().expect("personal token");
    Client::hello(addr, &m, &ana_token).await?;

    // The report shows the edited meeting and lists the edit.
    let r = http::get(
        addr,
        &format!("/api/meetings/{m}/report.json"),
        Some(&server.token("host", None)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json()?;
    let ids: Vec<&str> = report["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids[6], "aob");
    assert_eq!(ids.len(), 8);
    let edits = report["edits"].as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    let changes: Vec<&str> = edits[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(changes.len(), 3);
    assert!(
        changes[0].starts_with("inserted segment aob"),
        "{changes:?}"
    );
    assert!(changes[1].contains("Nadia Rahman (ar)"), "{changes:?}");
    assert!(changes[2].contains("Felipe Muñoz"), "{changes:?}");
    // The bundled 2021 agenda run today: the plan is rebased to the actual start.
    assert_ne!(report["meeting"]["plan_shift_ms"], 0);
    assert!(
        report["meeting"]["drift_ms"]
            .as_i64()
            .unwrap_or(i64::MAX)
            .abs()
            < 3_600_000
    );

    // The CSV sheet has the edit (its version, its changes) and the plan's shift.
    let r = http::get(
        addr,
        &format!("/api/meetings/{m}/report.csv"),
        Some(&server.token("host", None)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let edit_rows: Vec<&str> = r
        .body
        .lines()
        .filter(|l| l.starts_with(&format!("agenda_edit,{m},")))
        .collect();
    assert_eq!(edit_rows.len(), 1, "{}", r.body);
    let version = edits[0]["version"].as_u64().expect("version");
    assert!(
        edit_rows[0].starts_with(&format!("agenda_edit,{m},{version},")),
        "{}",
        edit_rows[0]
    );
    assert!(
        edit_rows[0].contains("inserted segment aob") && edit_rows[0].contains("Felipe Muñoz"),
        "{}",
        edit_rows[0]
    );
    let shift = report["meeting"]["plan_shift_ms"].as_i64().expect("shift");
    assert!(
        r.body
            .lines()
            .any(|l| l.contains(",plan_shift_ms,") && l.ends_with(&format!(",{shift},,"))),
        "{}",
        r.body
    );
    server.stop().await
}
