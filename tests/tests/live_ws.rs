//! The websocket transport over real sockets, below the protocol: the opening handshake
//! (bad keys refused, bytes sent right behind the handshake read), fragmented messages,
//! the closing handshake, keep-alive pings (a dead peer is dropped, a live one stays), and
//! Ping frames counted against the rate limit.

use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClientMessage, Command, ServerMessage, PROTOCOL_VERSION};
use podium_server::Limits;
use podium_tests::client::{connect, read_until_close, recv, send_json, Client};
use podium_tests::server::TestServer;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// A masked client frame, as a browser sends it.
fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn upgrade_request(addr: std::net::SocketAddr, key: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
}

/// Reads from a raw socket until `needle` shows (or the socket ends), within 10 s.
async fn read_until(s: &mut TcpStream, needle: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !got.windows(needle.len()).any(|w| w == needle) {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        anyhow::Ok(())
    })
    .await??;
    Ok(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_is_checked_and_early_bytes_are_read() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();

    // A key that is not 16 bytes of base64: 400, no upgrade.
    let mut s = TcpStream::connect(server.addr).await?;
    s.write_all(upgrade_request(server.addr, "garbage").as_bytes())
        .await?;
    let answer = read_until(&mut s, b"\r\n\r\n").await?;
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // The upgrade request and a `hello` in one write: the hello is read (hyper had it).
    let hello = serde_json::to_string(&ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        meeting: m.clone(),
        token: server.token("host", None),
        agenda_version: None,
    })?;
    let mut s = TcpStream::connect(server.addr).await?;
    let mut bytes = upgrade_request(server.addr, "dGhlIHNhbXBsZSBub25jZQ==").into_bytes();
    bytes.extend(client_frame(0x1, true, hello.as_bytes()));
    s.write_all(&bytes).await?;
    let got = read_until(&mut s, b"\"type\":\"snapshot\"").await?;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(
        text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "RFC 6455's accept key"
    );
    assert!(text.contains("\"type\":\"welcome\""), "{text}");

    // The same hello in three fragments, with a ping between them.
    let h = hello.as_bytes();
    let mut s = TcpStream::connect(server.addr).await?;
    let mut bytes = upgrade_request(server.addr, "AAAAAAAAAAAAAAAAAAAAAA==").into_bytes();
    bytes.extend(client_frame(0x1, false, &h[..10]));
    bytes.extend(client_frame(0x9, true, b"hi"));
    bytes.extend(client_frame(0x0, false, &h[10..20]));
    bytes.extend(client_frame(0x0, true, &h[20..]));
    s.write_all(&bytes).await?;
    let got = read_until(&mut s, b"\"type\":\"snapshot\"").await?;
    // The pong (0x8A, length 2, "hi") comes before the welcome.
    let pong = got.windows(4).position(|w| w == [0x8A, 2, b'h', b'i']);
    let welcome = got.windows(9).position(|w| w == b"\"welcome\"");
    assert!(
        pong.is_some() && pong < welcome,
        "{}",
        String::from_utf8_lossy(&got)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_with_their_codes_and_a_client_close_is_answered() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let token = server.token("projector", None);

    // Not UTF-8: 1007. An unmasked frame: 1002.
    for (frame, code) in [
        (client_frame(0x1, true, &[0xff, 0xfe, 0xfd]), 1007u16),
        (vec![0x81, 0x02, b'h', b'i'], 1002),
    ] {
        let mut s = TcpStream::connect(server.addr).await?;
        let mut bytes = upgrade_request(server.addr, "dGhlIHNhbXBsZSBub25jZQ==").into_bytes();
        bytes.extend(frame);
        s.write_all(&bytes).await?;
        let got = read_until(&mut s, &code.to_be_bytes()).await?;
        let close = got
            .windows(4)
            .position(|w| w[0] == 0x88 && w[2..] == code.to_be_bytes());
        assert!(close.is_some(), "expected close {code}: {:?}", got);
    }

    // The client closes: the server answers with a close frame of its own.
    let mut c = Client::hello(server.addr, &m, &token).await?;
    c.ws.close(None).await?;
    let end = read_until_close(&mut c.ws).await;
    assert!(end.is_ok(), "{end:?}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_peer_is_dropped_and_a_live_one_stays() -> anyhow::Result<()> {
    let server = TestServer::start_with(Limits {
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await?;
    let m = server.meeting().to_string();
    let token = server.token("host", None);
    let mut live = Client::hello(server.addr, &m, &token).await?;
    // The dead peer: authenticated, then it never reads, so it never answers a ping.
    let dead = Client::hello(server.addr, &m, &token).await?;

    // The live one reads (and so answers pings) for 1.5 s and sees Ping frames come.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(100), live.ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(other) => panic!("the live client lost its connection: {other:?}"),
        }
    }
    assert!(pings >= 3, "only {pings} keep-alive pings in 1.5 s");
    assert!(
        server.metric("podium_keepalive_dropped_total").unwrap() >= 1,
        "the silent peer was not dropped"
    );
    // The live one is still served; the dead one's socket was closed by the server.
    live.must(Command::StartMeeting).await?;
    let mut dead = dead;
    let end = read_until_close(&mut dead.ws).await?;
    assert!(
        end.code.is_none(),
        "a dead peer is dropped without a close frame"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_frames_count_against_the_rate_limit() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut c = Client::hello(server.addr, &m, &server.token("projector", None)).await?;
    let mut bystander = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    // 1,000 Ping frames as fast as they go: the burst is answered, then the flood closes.
    for i in 0..1000u32 {
        if c.ws
            .feed(Message::Ping(i.to_be_bytes().to_vec().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = c.ws.flush().await;
    let mut pongs = 0;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), c.ws.next()).await? {
            Some(Ok(Message::Pong(_))) => pongs += 1,
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("expected a close, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1008));
    assert!(
        (30..=80).contains(&pongs),
        "about the burst (40) is answered, got {pongs}"
    );
    assert!(server.metric("podium_rate_limited_total").unwrap() >= 500);
    bystander.must(Command::StartMeeting).await?;
    // And a fresh connection is fine.
    let mut ws = connect(server.addr).await?;
    send_json(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            meeting: m,
            token: server.token("projector", None),
            agenda_version: None,
        },
    )
    .await?;
    assert!(matches!(
        recv(&mut ws).await?,
        ServerMessage::Welcome { .. }
    ));
    server.stop().await
}
