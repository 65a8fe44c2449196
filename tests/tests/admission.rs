//! Join admission over real sockets: one address flooding the join link gets its burst
//! and then about one join a second while another address joins at once; a meeting's
//! joins queue briefly and are refused (`rate_limited`) past the wait; a full meeting says
//! `meeting_full`; the refusals are counted in /metrics. The last test does the flood
//! against the real binary with its default limits.

use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClientMessage, ErrorCode, Lang, ServerMessage, PROTOCOL_VERSION};
use podium_server::admission::{AdmissionLimits, Rate};
use podium_server::Limits;
use podium_tests::client::Ws;
use podium_tests::server::{metric_value, ChildServer, TestServer};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// A websocket from a chosen loopback address (Linux routes all of 127/8 to loopback).
async fn ws_from(from: IpAddr, to: SocketAddr) -> anyhow::Result<Ws> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    let tcp = s.connect(to).await?;
    let (ws, _) =
        tokio_tungstenite::client_async(format!("ws://{to}/ws"), MaybeTlsStream::Plain(tcp))
            .await?;
    Ok(ws)
}

/// Sends `join` and waits for `welcome` (`Ok`) or an error (`Err(code, message)`).
async fn join(
    ws: &mut Ws,
    meeting: &str,
    token: &str,
) -> anyhow::Result<Result<(), (ErrorCode, String)>> {
    let msg = ClientMessage::Join {
        protocol: PROTOCOL_VERSION,
        meeting: meeting.into(),
        token: token.into(),
        name: "Bot".into(),
        delegation: "Nowhere".into(),
        language: Lang::En,
        agenda_version: None,
    };
    ws.send(Message::text(serde_json::to_string(&msg)?)).await?;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("closed"))??;
        if let Message::Text(t) = next {
            match serde_json::from_str::<ServerMessage>(&t)? {
                ServerMessage::Welcome { .. } => return Ok(Ok(())),
                ServerMessage::Error { code, message, .. } => return Ok(Err((code, message))),
                _ => continue,
            }
        }
    }
}

/// Joins from `from` as fast as answers come, over `parallel` connections, for `secs`:
/// (joins admitted, refusals seen with their codes).
async fn flood(
    from: IpAddr,
    to: SocketAddr,
    meeting: &str,
    token: &str,
    parallel: usize,
    secs: f64,
) -> anyhow::Result<(usize, Vec<(ErrorCode, String)>)> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let (meeting, token) = (meeting.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0;
            let mut refused = Vec::new();
            let mut ws = ws_from(from, to).await?;
            while Instant::now() < deadline {
                match join(&mut ws, &meeting, &token).await {
                    Ok(Ok(())) => {
                        admitted += 1;
                        let _ = ws.close(None).await;
                        ws = ws_from(from, to).await?;
                    }
                    Ok(Err(e)) => refused.push(e),
                    // Closed for flooding (1008): a flooder comes back.
                    Err(_) => ws = ws_from(from, to).await?,
                }
            }
            anyhow::Ok((admitted, refused))
        }));
    }
    let mut admitted = 0;
    let mut refused = Vec::new();
    for t in tasks {
        let (a, r) = t.await??;
        admitted += a;
        refused.extend(r);
    }
    Ok((admitted, refused))
}

fn limits(admission: AdmissionLimits) -> Limits {
    let mut l = Limits {
        admission,
        ..Limits::default()
    };
    l.conn.unlimited = vec![];
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_flooding_joins_is_held_to_its_rate_and_others_get_in() -> anyhow::Result<()> {
    let server = TestServer::start_with(limits(AdmissionLimits {
        per_address: Rate {
            burst: 5.0,
            per_sec: 2.0,
        },
        ..AdmissionLimits::default()
    }))
    .await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let link = server.token("participant", None);
    let t0 = Instant::now();
    let (admitted, refused) = flood("127.0.0.2".parse()?, addr, &m, &link, 4, 3.0).await?;
    let secs = t0.elapsed().as_secs_f64();
    assert!(
        admitted as f64 <= 5.0 + 2.0 * secs + 1.0,
        "{admitted} joins admitted in {secs:.1} s"
    );
    assert!(admitted >= 5, "the burst gets in ({admitted})");
    assert!(
        refused.len() > 20,
        "the flood was refused: {}",
        refused.len()
    );
    // Joins refused by admission say when to retry; the rest were over the message rate.
    let joins_refused = refused
        .iter()
        .filter(|(_, m)| m.contains("try again in"))
        .count();
    assert!(joins_refused > 0);
    for (code, message) in &refused {
        assert_eq!(*code, ErrorCode::RateLimited, "{message}");
    }
    // Another address joins at once, and the flooding one can join again later.
    let mut other = ws_from("127.0.0.3".parse()?, addr).await?;
    assert_eq!(join(&mut other, &m, &link).await?, Ok(()));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut later = ws_from("127.0.0.2".parse()?, addr).await?;
    assert_eq!(join(&mut later, &m, &link).await?, Ok(()));
    assert_eq!(
        server.metric("podium_joins_refused_total{reason=\"address_rate\"}"),
        Some(joins_refused as i64)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_queues_joins_briefly_then_refuses_and_has_a_cap() -> anyhow::Result<()> {
    let server = TestServer::start_with(limits(AdmissionLimits {
        per_meeting: Rate {
            burst: 3.0,
            per_sec: 2.0,
        },
        max_wait: Duration::from_secs(1),
        max_participants: 6,
        ..AdmissionLimits::default()
    }))
    .await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let link = server.token("participant", None);
    // Ten people from ten addresses at once: three at once, two more within a second
    // (queued), the other five are told to retry.
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (m, link) = (m.clone(), link.clone());
        tasks.push(tokio::spawn(async move {
            let mut ws = ws_from(format!("127.0.1.{}", i + 1).parse()?, addr).await?;
            let r = join(&mut ws, &m, &link).await?;
            anyhow::Ok((r, t0.elapsed(), ws))
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    let admitted: Vec<Duration> = results
        .iter()
        .filter(|(r, _, _)| r.is_ok())
        .map(|(_, t, _)| *t)
        .collect();
    assert_eq!(
        admitted.len(),
        5,
        "{:?}",
        results.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    assert!(
        admitted
            .iter()
            .filter(|t| **t >= Duration::from_millis(400))
            .count()
            >= 2
    );
    for (r, _, _) in &results {
        if let Err((code, message)) = r {
            assert_eq!(*code, ErrorCode::RateLimited, "{message}");
        }
    }
    // Later, one more fits (6), and then the meeting is full.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut sixth = ws_from("127.0.1.20".parse()?, addr).await?;
    assert_eq!(join(&mut sixth, &m, &link).await?, Ok(()));
    let mut seventh = ws_from("127.0.1.21".parse()?, addr).await?;
    let refused = join(&mut seventh, &m, &link).await?;
    assert!(
        matches!(&refused, Err((ErrorCode::MeetingFull, msg)) if msg.contains("full")),
        "{refused:?}"
    );
    assert_eq!(
        server.metric("podium_joins_refused_total{reason=\"meeting_full\"}"),
        Some(1)
    );
    assert_eq!(
        server.metric("podium_joins_refused_total{reason=\"meeting_rate\"}"),
        Some(5)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_holds_a_join_flood_from_one_address() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ChildServer::start(data.path())?;
    let (addr, m) = (server.addr, server.meeting());
    let link = server.token("participant", None);
    let t0 = Instant::now();
    let (admitted, refused) = flood("127.0.0.2".parse()?, addr, &m, &link, 8, 4.0).await?;
    let secs = t0.elapsed().as_secs_f64();
    // Defaults: a burst of 50, then one a second.
    assert!(
        admitted as f64 <= 50.0 + secs + 1.0,
        "{admitted} joins in {secs:.1} s"
    );
    let joins_refused = refused
        .iter()
        .filter(|(_, m)| m.contains("try again in"))
        .count();
    assert!(joins_refused > 0);
    let mut honest = ws_from("127.0.0.3".parse()?, addr).await?;
    assert_eq!(join(&mut honest, &m, &link).await?, Ok(()));
    let metrics = podium_tests::http::request(addr, "GET", "/metrics", &[], b"").await?;
    assert_eq!(
        metric_value(
            &metrics.body,
            "podium_joins_refused_total{reason=\"address_rate\"}"
        ),
        Some(joins_refused as i64)
    );
    Ok(())
}
