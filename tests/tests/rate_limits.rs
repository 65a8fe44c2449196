//! Rate limits over real sockets: every connection of one link shares a budget (ten host
//! tabs cannot send ten times as much); websocket Ping frames and messages sent before
//! `hello` count; a flood of either is closed with 1008; `podium_rate_limited_total`,
//! `podium_abuse_closed_total` and `podium_bad_messages_total` move.

use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClockTarget, Command, ErrorCode, ServerMessage, PROTOCOL_VERSION};
use podium_tests::client::{connect, Client, Ws};
use podium_tests::http;
use podium_tests::server::{metric_value, ChildServer, TestServer};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Reads replies until `n` answers to commands came (acks and errors), within 15 s.
async fn count_answers(ws: &mut Ws, n: usize) -> anyhow::Result<(usize, usize)> {
    let (mut acks, mut limited) = (0, 0);
    while acks + limited < n {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("closed"))??;
        if let Message::Text(t) = msg {
            match serde_json::from_str::<ServerMessage>(&t)? {
                ServerMessage::Ack { .. } => acks += 1,
                ServerMessage::Error {
                    id: Some(_),
                    code: ErrorCode::RateLimited,
                    ..
                } => limited += 1,
                ServerMessage::Error { id: Some(_), .. } => acks += 1,
                _ => {}
            }
        }
    }
    Ok((acks, limited))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_connections_of_one_link_share_one_budget() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let mut host = Client::hello(addr, &m, &host_token).await?;
    host.must(Command::StartMeeting).await?;
    let mut tabs = Vec::new();
    for _ in 0..10 {
        tabs.push(Client::hello(addr, &m, &host_token).await?);
    }
    let t0 = Instant::now();
    // Each tab sends 40 commands at once: its own burst.
    for tab in tabs.iter_mut() {
        let frames: Vec<_> = (0..40u64)
            .map(|id| {
                let cmd = podium_protocol::ClientMessage::Command {
                    id: 100 + id,
                    command: Command::AdjustClock {
                        target: ClockTarget::Segment,
                        seconds: 1,
                    },
                    key: None,
                };
                Ok(Message::text(serde_json::to_string(&cmd).unwrap()))
            })
            .collect();
        tab.ws
            .send_all(&mut futures_util::stream::iter(frames))
            .await?;
    }
    let mut acks = 0;
    let mut limited = 0;
    for tab in tabs.iter_mut() {
        let (a, l) = count_answers(&mut tab.ws, 40).await?;
        acks += a;
        limited += l;
    }
    let secs = t0.elapsed().as_secs_f64();
    // The link's budget: 60 at once, then 30 per second.
    assert!(
        acks as f64 <= 60.0 + 30.0 * secs + 1.0,
        "{acks} commands accepted in {secs:.2} s from one link"
    );
    // At least the burst, less the host's `start_meeting` (refills come on top only if
    // the 400 frames take longer than 1/30 s to handle).
    assert!(acks >= 59, "{acks} acks, {limited} limited");
    assert_eq!(acks + limited, 400);
    assert_eq!(
        server.metric("podium_rate_limited_total"),
        Some(limited as i64)
    );
    // Another link is not affected.
    let mut moderator = Client::hello(addr, &m, &server.token("interpreter", None)).await?;
    moderator.ping().await?;
    server.stop().await
}

/// Sends Ping frames as fast as the socket takes them until the server closes.
async fn ping_flood(ws: Ws) -> anyhow::Result<Option<u16>> {
    let (mut tx, mut rx) = ws.split();
    let sender = async {
        for i in 0..100_000u32 {
            if tx
                .send(Message::Ping(i.to_be_bytes().to_vec().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let reader = async {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.next()).await {
                Ok(Some(Ok(Message::Close(f)))) => return Ok(f.map(|f| u16::from(f.code))),
                Ok(Some(Ok(_))) => continue,
                Ok(None) | Ok(Some(Err(_))) => return Ok(None),
                Err(_) => anyhow::bail!("a ping flood was not closed within 10 s"),
            }
        }
    };
    let (_, closed) = tokio::join!(sender, reader);
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_frames_and_messages_before_hello_count() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());

    // Before hello: wrong tokens get `unauthorized` for the burst, then `rate_limited`.
    let mut ws = connect(addr).await?;
    let bad = format!(
        r#"{{"type":"hello","protocol":{PROTOCOL_VERSION},"meeting":"{m}","token":"0badc0de0badc0de0badc0de0badc0de"}}"#
    );
    for _ in 0..60 {
        ws.send(Message::text(bad.clone())).await?;
    }
    let mut codes = Vec::new();
    while codes.len() < 60 {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            if let ServerMessage::Error { code, .. } = serde_json::from_str(&t)? {
                codes.push(code);
            }
        }
    }
    let limited = codes
        .iter()
        .filter(|c| **c == ErrorCode::RateLimited)
        .count();
    assert!(
        (15..=25).contains(&limited),
        "{limited} of 60 limited: {codes:?}"
    );
    // Commands before hello are bad messages.
    let before = server.metric("podium_bad_messages_total").unwrap_or(0);
    let mut ws = connect(addr).await?;
    ws.send(Message::text(
        r#"{"type":"command","id":1,"command":{"type":"start_meeting"}}"#,
    ))
    .await?;
    ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    for _ in 0..2 {
        loop {
            if let Some(Ok(Message::Text(_))) = ws.next().await {
                break;
            }
        }
    }
    assert_eq!(server.metric("podium_bad_messages_total"), Some(before + 2));

    // A Ping flood before hello, and one after, are closed with 1008.
    let rate_limited = server.metric("podium_rate_limited_total").unwrap_or(0);
    assert_eq!(ping_flood(connect(addr).await?).await?, Some(1008));
    let projector = Client::hello(addr, &m, &server.token("projector", None)).await?;
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    assert_eq!(ping_flood(projector.ws).await?, Some(1008));
    assert!(server.metric("podium_rate_limited_total").unwrap_or(0) >= rate_limited + 1000);
    assert_eq!(server.metric("podium_abuse_closed_total"), Some(2));
    // Nobody else noticed.
    host.must(Command::StartMeeting).await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_closes_four_ping_floods() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ChildServer::start(data.path())?;
    let addr = server.addr;
    let t0 = Instant::now();
    let mut floods = Vec::new();
    for _ in 0..4 {
        let ws = connect(addr).await?;
        floods.push(tokio::spawn(ping_flood(ws)));
    }
    for f in floods {
        assert_eq!(f.await??, Some(1008));
    }
    assert!(t0.elapsed() < Duration::from_secs(10));
    let metrics = http::request(addr, "GET", "/metrics", &[], b"").await?;
    assert_eq!(
        metric_value(&metrics.body, "podium_abuse_closed_total"),
        Some(4)
    );
    assert!(metric_value(&metrics.body, "podium_rate_limited_total") >= Some(4 * 500));
    // The meeting is served.
    let mut host = Client::hello(addr, &server.meeting(), &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.ping().await
}
