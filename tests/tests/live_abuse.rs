//! Bad and abusive input over real sockets: malformed messages get typed errors and the
//! connection lives on; an oversized frame is closed with 1009; a flood is rate limited,
//! then closed with 1008, while other clients are not slowed down.

use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClockTarget, Command, ErrorCode, ServerMessage};
use podium_tests::client::{read_until_close, Client};
use podium_tests::server::TestServer;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

async fn expect_bad_request(c: &mut Client, raw: &str, id: Option<u64>) -> anyhow::Result<()> {
    c.send_text(raw).await?;
    match c.next_reply().await? {
        ServerMessage::Error {
            id: got,
            code: ErrorCode::BadRequest,
            message,
        } => {
            assert_eq!(got, id, "request id not echoed for {raw:?} ({message})");
            assert!(!message.is_empty());
        }
        other => panic!("{raw:?} must get bad_request, got {other:?}"),
    }
    // Still open and served.
    c.ping().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_bad_request_and_the_connection_stays() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    let cases: &[(&str, Option<u64>)] = &[
        ("this is not json", None),
        (
            r#"{"type":"command","id":1,"command":{"type":"start_meeting"}"#,
            None,
        ),
        ("[1,2,3]", None),
        (r#"{"type":"teleport","id":7}"#, Some(7)),
        (r#"{"type":"command","id":8}"#, Some(8)),
        (r#"{"type":"ping","id":9}"#, Some(9)),
        (
            r#"{"type":"command","id":10,"command":{"type":"fly_to_the_moon"}}"#,
            Some(10),
        ),
        (
            r#"{"type":"command","id":11,"command":{"type":"go_to_segment"}}"#,
            Some(11),
        ),
        (
            r#"{"type":"command","id":12,"command":{"type":"adjust_clock","target":"segment","seconds":"ten"}}"#,
            Some(12),
        ),
        (
            r#"{"type":"command","id":13,"command":{"type":"start_meeting"},"extra":true}"#,
            Some(13),
        ),
        (r#"{"id":14}"#, Some(14)),
    ];
    for (raw, id) in cases {
        expect_bad_request(&mut host, raw, *id).await?;
    }
    // A second hello on an authenticated connection is refused, not fatal.
    let hello = format!(
        r#"{{"type":"hello","protocol":1,"meeting":"{m}","token":"{}"}}"#,
        server.token("host", None)
    );
    expect_bad_request(&mut host, &hello, None).await?;
    // A binary frame too.
    host.ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    match host.next_reply().await? {
        ServerMessage::Error {
            code: ErrorCode::BadRequest,
            ..
        } => {}
        other => panic!("a binary frame must get bad_request, got {other:?}"),
    }
    // Nothing of that changed the meeting, and a good command still works.
    assert_eq!(host.seq, 0);
    host.must(Command::StartMeeting).await?;
    assert!(server.metric("podium_bad_messages_total").unwrap() >= cases.len() as i64);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kib_frame_is_closed_with_1009() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut other = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    let mut c = Client::hello(server.addr, &m, &server.token("projector", None)).await?;
    let big = format!(
        r#"{{"type":"ping","id":1,"client_time":0,"pad":"{}"}}"#,
        "x".repeat(100 * 1024)
    );
    // The send may fail if the server has already closed; the close frame is what counts.
    let _ = c.ws.send(Message::text(big)).await;
    let end = read_until_close(&mut c.ws).await?;
    assert_eq!(end.code, Some(1009), "expected close 1009, got {end:?}");
    // The server is fine, and so are its other clients.
    other.ping().await?;
    other.must(Command::StartMeeting).await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_just_under_the_limit_is_served() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut c = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    // 15 KiB of message text: under the 16 KiB limit, so the connection stays.
    let text = "x".repeat(15 * 1024);
    let raw = format!(
        r#"{{"type":"command","id":5,"command":{{"type":"message_speaker","text":"{text}"}}}}"#
    );
    c.send_text(raw).await?;
    match c.next_reply().await? {
        ServerMessage::Error {
            id: Some(5),
            code: ErrorCode::InvalidArgument | ErrorCode::InvalidState,
            ..
        } => {}
        other => panic!("expected a typed refusal of the long text, got {other:?}"),
    }
    c.ping().await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_limited_then_closed_and_others_are_unaffected() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let host_token = server.token("host", None);
    let mut host = Client::hello(addr, &m, &host_token).await?;
    host.must(Command::StartMeeting).await?;
    let start_seq = host.seq;
    let mut bystander = Client::join(
        addr,
        &m,
        &server.token("participant", None),
        "Ana Souza",
        "Brazil",
        podium_protocol::Lang::Es,
    )
    .await?;
    let join_seq = bystander.seq;
    host.wait_seq(join_seq).await?;

    // The flooder: a second host connection sends 1,000 commands as fast as it can.
    let flooder = Client::hello(addr, &m, &host_token).await?;
    let (mut sink, mut stream) = flooder.ws.split();
    let writer = tokio::spawn(async move {
        for id in 1..=1000u64 {
            let raw = format!(
                r#"{{"type":"command","id":{id},"command":{{"type":"adjust_clock","target":"segment","seconds":1}}}}"#
            );
            if sink.feed(Message::text(raw)).await.is_err() {
                return id - 1;
            }
        }
        let _ = sink.flush().await;
        1000
    });

    // Meanwhile (once the flood shows) the bystander's command is acknowledged promptly.
    bystander.wait_seq(join_seq + 1).await?;
    let t = Instant::now();
    let reply = bystander
        .command(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
    let took = t.elapsed();
    let hand_seq = reply.map_err(|e| anyhow::anyhow!("bystander refused: {e:?}"))?;
    assert!(
        took < Duration::from_secs(2),
        "bystander's ack took {took:?}"
    );
    bystander.wait_seq(hand_seq).await?;

    // The flooder gets: answers to the first ~40, `rate_limited` for the rest, then 1008.
    let mut acks = 0;
    let mut typed = 0;
    let mut limited = 0;
    let mut close = None;
    let mut read_error = None;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .map_err(|_| anyhow::anyhow!("the flooder was never closed"))?;
        match next {
            None => break,
            Some(Err(e)) => {
                read_error = Some(e.to_string());
                break;
            }
            Some(Ok(Message::Close(f))) => {
                close = f.map(|f| u16::from(f.code));
                break;
            }
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t)? {
                ServerMessage::Ack { .. } => acks += 1,
                ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    id,
                    ..
                } => {
                    assert!(id.is_some(), "rate_limited must echo the request id");
                    limited += 1
                }
                ServerMessage::Error { code, .. } => {
                    typed += 1;
                    eprintln!("typed error {code:?}");
                }
                _ => {}
            },
            Some(Ok(_)) => {}
        }
    }
    let sent = writer.await?;
    eprintln!("flood: sent {sent}, acks {acks}, typed {typed}, rate_limited {limited}, close {close:?}, error {read_error:?}");
    assert_eq!(
        close,
        Some(1008),
        "the flood must end with close 1008 (read error: {read_error:?})"
    );
    assert_eq!(
        limited, 500,
        "every over-rate message up to the threshold gets rate_limited"
    );

    // How many were applied: the journal says (each adjust is one event).
    let probe = host
        .must(Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: 1,
        })
        .await?;
    let applied = probe - start_seq - 1 /* join */ - 1 /* hand */ - 1 /* probe */;
    eprintln!("applied {applied}");
    // The burst is 40 messages, the flooder's `hello` included (every message counts).
    assert!(
        (39..=80).contains(&applied),
        "about the burst (40, less the hello) should be processed, got {applied}"
    );
    assert!(acks <= applied as usize, "more acks than applied commands");
    assert!(server.metric("podium_abuse_closed_total").unwrap() >= 1);
    assert!(server.metric("podium_rate_limited_total").unwrap() >= 500);

    // The bystander saw every one of those changes and still works.
    bystander.wait_seq(probe).await?;
    assert_eq!(bystander.state.segment_clock, host.state.segment_clock);
    bystander.ping().await?;
    // The host can reconnect: the close was for that connection only.
    let mut again = Client::hello(addr, &m, &host_token).await?;
    again.ping().await?;
    server.stop().await
}
