//! A client that stops reading must not hold anyone up: 200 followers get every final
//! state while the host makes 500 changes, and the server drops the stalled client and
//! counts it. Assertions are on counters and states, not on wall time.

use futures_util::StreamExt;
use podium_protocol::{ClientMessage, Command, Lang, ServerMessage, PROTOCOL_VERSION};
use podium_server::ws::ratelimit::RateLimit;
use podium_server::Limits;
use podium_tests::client::{connect_small_buffer, public_view, recv, send_json, Client, WAIT};
use podium_tests::server::TestServer;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const FOLLOWERS: usize = 200;
const CHANGES: u64 = 500;
const MARKER: &str = "LAST-MESSAGE-OF-THE-TEST";

/// Reads raw frames (cheaply: no JSON parsing) until the one carrying the final state.
async fn follow(mut c: Client) -> anyhow::Result<(u64, podium_protocol::MeetingState)> {
    loop {
        let frame = tokio::time::timeout(WAIT * 2, c.ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("follower starved"))?
            .ok_or_else(|| anyhow::anyhow!("follower's connection closed"))??;
        match frame {
            Message::Text(t) if t.contains(MARKER) => {
                return match serde_json::from_str::<ServerMessage>(&t)? {
                    ServerMessage::Change { seq, state, .. } => Ok((seq, *state)),
                    other => anyhow::bail!("expected the final change, got {other:?}"),
                };
            }
            Message::Close(f) => anyhow::bail!("follower closed by the server: {f:?}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_dropped_and_nobody_else_waits() -> anyhow::Result<()> {
    let server = TestServer::start_with(Limits {
        send_timeout: Duration::from_secs(2),
        // The host drives 500 changes as fast as they are acknowledged.
        rate: RateLimit {
            burst: 1000.0,
            per_sec: 1000.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let t0 = Instant::now();
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    // Messages go to the person speaking: someone has the floor.
    host.must(Command::GiveFloor {
        person: "sophie-van-haasen".into(),
    })
    .await?;

    // 200 followers join as participants (with long names, so the staff view's register is
    // large) and read in a simple loop until the final state shows.
    let join = server.token("participant", None);
    let mut tasks = Vec::new();
    for i in 0..FOLLOWERS {
        let name = format!("{i:03} {}", "Participant With A Long Name ".repeat(2));
        let delegation = format!("{i:03} {}", "Delegation of a city far away ".repeat(3));
        let c = Client::join(addr, &m, &join, name.trim(), delegation.trim(), Lang::En).await?;
        tasks.push(tokio::spawn(follow(c)));
    }
    eprintln!("{:?}: {FOLLOWERS} followers joined", t0.elapsed());

    // The stalled client is staff. It authenticates, reads its welcome and snapshot, asks
    // for the (large) register 100 times, then never reads again; its receive buffer is
    // small, so the server's send path to it fills with the pages (a loopback socket's send
    // buffer takes about a megabyte), and the changes queue behind them.
    let mut stalled = connect_small_buffer(addr, 4096).await?;
    send_json(
        &mut stalled,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            meeting: m.clone(),
            token: server.token("host", None),
            agenda_version: None,
        },
    )
    .await?;
    assert!(matches!(
        recv(&mut stalled).await?,
        ServerMessage::Welcome { .. }
    ));
    assert!(matches!(
        recv(&mut stalled).await?,
        ServerMessage::Agenda { .. }
    ));
    assert!(matches!(
        recv(&mut stalled).await?,
        ServerMessage::Snapshot { .. }
    ));
    for id in 0..100 {
        let fetch = ClientMessage::Fetch {
            id,
            what: podium_protocol::ListName::Participants,
            from: 0,
            limit: None,
        };
        send_json(&mut stalled, &fetch).await?;
    }

    // 500 state changes, each a ~190-character message for the speaker's screen.
    let mut last_seq = 0;
    for i in 0..CHANGES {
        let head = if i + 1 == CHANGES {
            MARKER.to_string()
        } else {
            format!("{i:04}")
        };
        let text = format!(
            "{head} {}",
            "Please wrap up: the next speaker waits. ".repeat(5)
        )
        .chars()
        .take(190)
        .collect::<String>();
        last_seq = match host.command(Command::MessageSpeaker { text }).await? {
            Ok(seq) => seq,
            Err(e) => anyhow::bail!("message {i} refused: {e:?}"),
        };
    }
    host.wait_seq(last_seq).await?;
    eprintln!("{:?}: {CHANGES} changes made", t0.elapsed());
    let expected = public_view(&host.state);
    assert!(expected
        .speech
        .as_ref()
        .and_then(|s| s.message.as_ref())
        .unwrap()
        .text
        .starts_with(MARKER));

    // Every follower has the final state, at the same seq as the host.
    for t in tasks {
        let (seq, state) = t.await??;
        assert_eq!(seq, last_seq, "a follower ended at another seq");
        assert_eq!(state, expected, "a follower ended with another state");
    }
    eprintln!("{:?}: followers done", t0.elapsed());

    // The stalled client is dropped by the server and counted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.hub.metrics.slow_dropped_total() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was never dropped (send timeout 2 s)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.metric("podium_slow_clients_dropped_total").unwrap() >= 1);
    eprintln!("{:?}: stalled client dropped", t0.elapsed());
    drop(stalled);
    server.stop().await
}
