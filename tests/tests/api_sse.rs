//! The event stream over real sockets: its shape; resuming with `Last-Event-ID`
//! without gaps (as PROTOCOL.md defines them: the seqs a client sees only grow, a
//! reconnecting client gets the current state at once if it missed anything, and its
//! last event is always the latest state); a slow reader skips to the latest state; a
//! stalled one is dropped; streams end at shutdown.

use podium_protocol::{Command, Lang, MeetingState};
use podium_server::ws::ratelimit::RateLimit;
use podium_server::Limits;
use podium_tests::api::{self, create_key, must};
use podium_tests::client::Client;
use podium_tests::server::TestServer;
use podium_tests::sse::{Item, Sse};
use serde_json::{json, Value};
use std::time::Duration;

fn events_path(m: &str, key: &str) -> String {
    format!("/api/meetings/{m}/events?key={key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_with_last_event_id_without_gaps() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Dashboard").await?;
    let mut host = Client::hello(addr, &m, &host_token).await?;
    // Every seq this client observes, across its connections.
    let mut observed: Vec<u64> = Vec::new();

    // First connection: retry, agenda, snapshot, then one change per change.
    let mut s = Sse::open(addr, &events_path(&m, &key), &[]).await?;
    assert_eq!(s.status, 200);
    assert!(s
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(s.next_item().await?, Some(Item::Retry(2000)));
    let (event, id, agenda) = s.next_event().await?;
    assert_eq!((event.as_str(), id), ("agenda", None));
    assert_eq!(agenda["version"], 0);
    let (event, id, snap) = s.next_event().await?;
    assert_eq!(event, "snapshot");
    assert_eq!(id, snap["seq"].as_u64());
    observed.push(id.unwrap());
    for cmd in [
        Command::StartMeeting,
        Command::NextSegment,
        Command::CloseQueue,
    ] {
        let seq = host.must(cmd).await?;
        let (event, id, change) = s.next_event().await?;
        assert_eq!((event.as_str(), id), ("change", Some(seq)));
        assert_eq!(change["type"], "change");
        observed.push(seq);
    }
    let last_seen = *observed.last().unwrap();
    drop(s);

    // Away: three changes happen. Back with Last-Event-ID: the current state comes at
    // once (no waiting for a next change), as a snapshot.
    for cmd in [
        Command::ReopenQueue,
        Command::NextSegment,
        Command::SetPriority {
            not_yet_spoken_first: true,
        },
    ] {
        host.must(cmd).await?;
    }
    let mut s = Sse::open(
        addr,
        &events_path(&m, &key),
        &[("Last-Event-ID", &last_seen.to_string())],
    )
    .await?;
    let (event, id, snap) = s.next_event().await?;
    // (The agenda comes again first: the client did not say which version it holds.)
    assert_eq!(event, "agenda");
    let _ = (id, snap);
    let (event, id, snap) = s.next_event().await?;
    assert_eq!((event.as_str(), id), ("snapshot", Some(host.seq)));
    let state: MeetingState = serde_json::from_value(snap["state"].clone())?;
    assert_eq!(state, host.state, "the current state, complete");
    observed.push(id.unwrap());
    let seq = host.must(Command::NextSegment).await?;
    let (event, id, _) = s.next_event().await?;
    assert_eq!((event.as_str(), id), ("change", Some(seq)));
    observed.push(seq);
    drop(s);

    // Back with the current seq (and the agenda version it holds): nothing missed, so no
    // snapshot and no agenda, just a note; the next change follows.
    let mut s = Sse::open(
        addr,
        &format!("{}&agenda_version=0", events_path(&m, &key)),
        &[("Last-Event-ID", &seq.to_string())],
    )
    .await?;
    assert_eq!(s.next_item().await?, Some(Item::Retry(2000)));
    assert_eq!(
        s.next_item().await?,
        Some(Item::Comment("up to date".into()))
    );
    let seq = host.must(Command::PreviousSegment).await?;
    let (event, id, change) = s.next_event().await?;
    assert_eq!((event.as_str(), id), ("change", Some(seq)));
    let state: MeetingState = serde_json::from_value(change["state"].clone())?;
    host.wait_seq(seq).await?;
    assert_eq!(state, host.state);
    observed.push(seq);

    // No gaps as defined: strictly increasing, and the last one is the latest state.
    assert!(observed.windows(2).all(|w| w[0] < w[1]), "{observed:?}");
    assert_eq!(
        *observed.last().unwrap(),
        api::state(addr, &m, &key).await?.0
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_streams_its_own_projection_and_agenda_edits_come_first() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, host_key) = create_key(addr, &m, &host_token, "host", "Deck").await?;
    let (_, obs_key) = create_key(addr, &m, &host_token, "observer", "Overlay").await?;
    let mut public = Sse::open(addr, &events_path(&m, &obs_key), &[]).await?;
    let mut staff = Sse::open(addr, &events_path(&m, &host_key), &[]).await?;
    for s in [&mut public, &mut staff] {
        assert_eq!(s.next_event().await?.0, "agenda");
        assert_eq!(s.next_event().await?.0, "snapshot");
    }
    // A participant joins: a change only staff can see.
    let ana = Client::join(
        addr,
        &m,
        &server.token("participant", None),
        "Ana Souza",
        "Brazil",
        Lang::Es,
    )
    .await?;
    let (event, _, change) = staff.next_event().await?;
    assert_eq!(event, "change");
    // Changes carry no register (it is paged with `fetch`): its length, and the join.
    assert_eq!(change["state"]["participant_count"], 1);
    let joined = &change["events"][0];
    assert_eq!(joined["type"], "participant_joined");
    assert_eq!(joined["participant"]["name"], "Ana Souza");
    must(addr, &m, &host_key, &json!({"type":"start_meeting"})).await?;
    // The public stream skipped the join (it could not see it) and shows no register.
    let (event, seq, change) = public.next_event().await?;
    assert_eq!(event, "change");
    assert_eq!(change["state"]["participants"], json!([]));
    assert_eq!(change["state"]["phase"], "running");
    assert_eq!(staff.next_event().await?.1, seq);
    ana.close().await;
    // The observer key's stream is the public projection, the host key's the staff one.
    let (_, public_state) = api::state(addr, &m, &obs_key).await?;
    assert_eq!(public_state, change["state"]);
    let _: Value = public_state;
    server.stop().await
}

/// A server whose meeting has `n` hands up, each with a long name and delegation, so that
/// every change carries a large queue.
async fn crowded(limits: Limits, n: usize) -> anyhow::Result<(TestServer, Client, Vec<Client>)> {
    let server = TestServer::start_with(limits).await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    host.must(Command::GiveFloor {
        person: "sophie-van-haasen".into(),
    })
    .await?;
    let join = server.token("participant", None);
    let mut people = Vec::new();
    for i in 0..n {
        let name = format!("{i:03} {}", "Participant With A Long Name ".repeat(2));
        let delegation = format!("{i:03} {}", "Delegation of a city far away ".repeat(3));
        let mut c = Client::join(addr, &m, &join, name.trim(), delegation.trim(), Lang::En).await?;
        c.must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
        people.push(c);
    }
    Ok((server, host, people))
}

fn fast_host() -> RateLimit {
    RateLimit {
        burst: 1000.0,
        per_sec: 1000.0,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_skips_to_the_latest_state() -> anyhow::Result<()> {
    const CHANGES: usize = 200;
    let (server, mut host, _people) = crowded(
        Limits {
            rate: fast_host(),
            ..Default::default()
        },
        60,
    )
    .await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let (_, key) = create_key(addr, &m, &server.token("host", None), "host", "Slow PC").await?;
    // A small receive buffer, and no reading while the host makes its changes.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stream = socket.connect(addr).await?;
    let mut s = Sse::open_on(stream, addr, &events_path(&m, &key), &[]).await?;
    let mut last = 0;
    for i in 0..CHANGES {
        last = match host
            .command(Command::MessageSpeaker {
                text: format!("{i:04} please wrap up"),
            })
            .await?
        {
            Ok(seq) => seq,
            Err(e) => anyhow::bail!("{e:?}"),
        };
    }
    // Now read everything: far fewer changes than were made, in order, ending at the last.
    let mut seqs = Vec::new();
    loop {
        let (event, id, data) = s.next_event().await?;
        if event == "change" || event == "snapshot" {
            seqs.push(id.unwrap());
            if id == Some(last) {
                assert!(data["state"]["speech"]["message"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{:04}", CHANGES - 1)));
                break;
            }
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // A queue per client would deliver all of them; the latest-state design skips.
    assert!(
        seqs.len() < CHANGES,
        "a slow reader should skip states, got {} of {CHANGES}",
        seqs.len()
    );
    eprintln!("the slow reader got {} states of {CHANGES}", seqs.len());
    assert_eq!(
        server.hub.metrics.slow_dropped_total(),
        0,
        "not dropped: it read in time"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_dropped_and_streams_end_at_shutdown() -> anyhow::Result<()> {
    let (server, mut host, _people) = crowded(
        Limits {
            rate: fast_host(),
            send_timeout: Duration::from_secs(2),
            ..Default::default()
        },
        60,
    )
    .await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Stalled PC").await?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stalled = socket.connect(addr).await?;
    let mut stalled = Sse::open_on(stalled, addr, &events_path(&m, &key), &[]).await?;
    let (_, key2) = create_key(addr, &m, &host_token, "observer", "Healthy PC").await?;
    let mut healthy = Sse::open(addr, &events_path(&m, &key2), &[]).await?;
    let mut n = 0u32;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while server.hub.metrics.slow_dropped_total() < 1 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the stalled event stream was never dropped"
        );
        n += 1;
        host.command(Command::MessageSpeaker {
            text: format!("{n} please wrap up"),
        })
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if n.is_multiple_of(50) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // The healthy stream kept up and still follows.
    let seq = host.must(Command::CloseQueue).await?;
    loop {
        let (event, id, _) = healthy.next_event().await?;
        if event == "change" && id == Some(seq) {
            break;
        }
    }
    // The stalled client's socket does not stay open: once its writes have been stuck
    // for twice the send timeout, the server closes it. Reading now drains what was in
    // flight, then finds the end (or a reset), never a connection still waiting.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let t = tokio::time::Instant::now();
    assert!(
        stalled.closed_within(Duration::from_secs(10)).await,
        "the stalled connection is still open"
    );
    eprintln!("stalled socket drained and closed in {:?}", t.elapsed());
    // Shutdown ends the healthy stream (and the server stops: the stream did not hold it).
    let stopping = tokio::spawn(async move { server.stop().await });
    loop {
        match healthy.next_item().await? {
            None => break,
            Some(_) => continue,
        }
    }
    tokio::time::timeout(Duration::from_secs(30), stopping).await???;
    Ok(())
}
