//! Roles over real sockets: a host, a named speaker and three participants follow the
//! same meeting; a participant cannot drive it; the speaker sees their own speech clock.

use podium_protocol::{Clock, Command, ErrorCode, Lang, Phase, Role};
use podium_tests::client::{public_view, Client};
use podium_tests::server::TestServer;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_speaker_and_participants_share_one_state() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;

    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    assert_eq!(host.you.role, Role::Host);
    let mut speaker = Client::hello(
        addr,
        &m,
        &server.token("speaker", Some("carola-gunnarsson")),
    )
    .await?;
    assert_eq!(speaker.you.role, Role::Speaker);
    assert_eq!(speaker.you.person.as_deref(), Some("carola-gunnarsson"));
    assert_eq!(speaker.you.name, "Carola Gunnarsson");
    let join = server.token("participant", None);
    let mut participants = Vec::new();
    for (name, delegation, lang) in [
        ("Ana Souza", "Brazil", Lang::Es),
        ("Karim Benali", "City of Rabat", Lang::Fr),
        ("Lena Svensson", "Sweden", Lang::En),
    ] {
        let p = Client::join(addr, &m, &join, name, delegation, lang).await?;
        assert_eq!(p.you.role, Role::Participant);
        participants.push(p);
    }

    // The host starts the meeting and goes to round 1.
    host.must(Command::StartMeeting).await?;
    let seq = host
        .must(Command::GoToSegment {
            segment: "round-1".into(),
        })
        .await?;
    let round1 = host
        .agenda
        .segments
        .iter()
        .position(|s| s.id == "round-1")
        .expect("round-1 in the bundled agenda");
    assert_eq!(host.state.phase, Phase::Running);
    assert_eq!(host.state.current, Some(round1));
    assert_eq!(host.seq, seq);

    // Everyone reaches that seq with the same state (the public projection of the host's).
    speaker.wait_seq(seq).await?;
    for p in &mut participants {
        p.wait_seq(seq).await?;
    }
    let expected = public_view(&host.state);
    assert_eq!(host.state.participant_count, Some(3));
    let register = host.register().await?;
    assert_eq!(register.len(), 3, "the host pages in the register");
    assert_eq!(register[2].name, "Lena Svensson");
    assert_eq!(speaker.seq, seq);
    assert_eq!(
        speaker.state, expected,
        "speaker's state differs from the host's"
    );
    for p in &participants {
        assert_eq!(p.seq, seq);
        assert_eq!(
            p.state, expected,
            "participant's state differs from the host's"
        );
        assert!(
            p.state.participants.is_empty() && p.state.participant_count.is_none(),
            "participants must not see the register"
        );
    }
    // Nor may they page it in.
    match participants[0]
        .fetch(podium_protocol::ListName::Participants, 0, None)
        .await?
    {
        Err((ErrorCode::Forbidden, _)) => {}
        other => panic!("a participant's fetch must be forbidden, got {other:?}"),
    }

    // A participant may not move the meeting: `forbidden`, and nothing changes.
    let before = host.state.clone();
    let refused = participants[0].command(Command::NextSegment).await?;
    match refused {
        Err((ErrorCode::Forbidden, _)) => {}
        other => panic!("a participant's NextSegment must be forbidden, got {other:?}"),
    }
    // A speaker may not either.
    match speaker.command(Command::NextSegment).await? {
        Err((ErrorCode::Forbidden, _)) => {}
        other => panic!("a speaker's NextSegment must be forbidden, got {other:?}"),
    }
    // Round trips on every connection: any change published meanwhile would arrive first.
    host.ping().await?;
    speaker.ping().await?;
    for p in &mut participants {
        p.ping().await?;
    }
    assert_eq!(host.seq, seq, "a refused command changed the meeting");
    assert_eq!(host.state, before);
    assert_eq!(speaker.seq, seq);
    assert_eq!(speaker.state, expected);
    for p in &participants {
        assert_eq!((p.seq, &p.state), (seq, &expected));
    }

    // The host gives the floor to Carola Gunnarsson: exactly one event after `seq`, so the
    // refused commands appended nothing to the journal.
    let given_at = now_ms();
    let floor = host
        .must(Command::GiveFloor {
            person: "carola-gunnarsson".into(),
        })
        .await?;
    assert_eq!(floor, seq + 1, "refused commands must not append events");
    speaker.wait_seq(floor).await?;
    let speech = speaker
        .state
        .speech
        .clone()
        .expect("the speaker sees the speech in progress");
    assert_eq!(speech.speaker.person.as_deref(), Some("carola-gunnarsson"));
    assert_eq!(speech.speaker.name, "Carola Gunnarsson");
    assert_eq!(speech.segment, round1);
    assert_eq!(
        speech.limit_ms,
        Some(5 * 60 * 1000),
        "round 1 has a 5 min limit"
    );
    match speech.clock {
        Clock::Running { ends_at } => {
            let expected_end = given_at + 5 * 60 * 1000;
            assert!(
                (ends_at - expected_end).abs() < 2_000,
                "speech clock ends at {ends_at}, expected about {expected_end}"
            );
        }
        other => panic!("the speech clock must run, got {other:?}"),
    }
    for p in &mut participants {
        p.wait_seq(floor).await?;
        assert_eq!(p.state.speech.as_ref(), Some(&speech));
    }
    assert_eq!(host.state.speech.as_ref(), Some(&speech));
    server.stop().await
}
