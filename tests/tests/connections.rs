//! Connection hygiene over real sockets: silent connections, half-sent requests and idle
//! keep-alives are closed; a half-sent body gets 408; the connection cap keeps a reserve
//! in which `/healthz` and the admin API still answer; one address cannot take more than
//! its share; an authenticated websocket is not touched by any of it.

use podium_server::accept::ConnLimits;
use podium_server::Limits;
use podium_tests::client::{connect, Client};
use podium_tests::server::{TestServer, ADMIN};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Reads until the server closes; returns what came and how long it took.
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> anyhow::Result<(String, Duration)> {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(limit, s.read(&mut buf))
            .await
            .map_err(|_| anyhow::anyhow!("still open after {limit:?}; got {got:?}"))?;
        match n {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok((String::from_utf8_lossy(&got).into_owned(), t0.elapsed()))
}

/// A TCP connection from `from` (any 127/8 address: Linux routes them all to loopback).
async fn tcp_from(from: IpAddr, to: SocketAddr) -> anyhow::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    Ok(s.connect(to).await?)
}

/// One HTTP request on a new connection; the whole answer (the server closes).
async fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    Ok(read_to_close(&mut s, Duration::from_secs(10)).await?.0)
}

fn limits(conn: ConnLimits) -> Limits {
    Limits {
        conn,
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_half_sent_and_idle_connections_are_closed() -> anyhow::Result<()> {
    let server = TestServer::start_with(limits(ConnLimits {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..ConnLimits::default()
    }))
    .await?;
    let addr = server.addr;
    let m = server.meeting().to_string();
    // An authenticated websocket is not an HTTP exchange any more: it stays.
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;

    let mut silent = TcpStream::connect(addr).await?;
    let mut half_head = TcpStream::connect(addr).await?;
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let mut keep_alive = TcpStream::connect(addr).await?;
    keep_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut first = [0u8; 512];
    let n = keep_alive.read(&mut first).await?;
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let mut half_body = TcpStream::connect(addr).await?;
    half_body
        .write_all(
            format!(
                "POST /api/meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Length: 1000\r\n\r\n[meeting]\n"
            )
            .as_bytes(),
        )
        .await?;

    let limit = Duration::from_secs(8);
    let (silent, half_head, keep_alive, half_body) = tokio::join!(
        read_to_close(&mut silent, limit),
        read_to_close(&mut half_head, limit),
        read_to_close(&mut keep_alive, limit),
        read_to_close(&mut half_body, limit),
    );
    for (what, r) in [
        ("a silent connection", &silent),
        ("a half-sent request head", &half_head),
        ("an idle keep-alive", &keep_alive),
    ] {
        let (got, after) = r.as_ref().map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        assert!(
            after >= &Duration::from_millis(800),
            "{what} closed too early ({after:?}): the timeout, not something else, must close it"
        );
        assert!(!got.contains("200 OK"), "{what}: {got}");
    }
    let (got, after) = half_body?;
    assert!(got.starts_with("HTTP/1.1 408"), "half-sent body: {got:?}");
    assert!(after >= Duration::from_millis(1500), "408 after {after:?}");

    host.ping().await?;
    host.must(podium_protocol::Command::StartMeeting).await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_health_and_admin_still_answer_and_nothing_else_gets_in() -> anyhow::Result<()> {
    let server = TestServer::start_with(limits(ConnLimits {
        max_connections: Some(12),
        reserve: 3,
        header_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..ConnLimits::default()
    }))
    .await?;
    let addr = server.addr;
    let m = server.meeting().to_string();
    let mut clients = Vec::new();
    for _ in 0..12 {
        clients.push(Client::hello(addr, &m, &server.token("projector", None)).await?);
    }
    assert_eq!(server.metric("podium_tcp_connections"), Some(12));

    // Past the cap: operations are answered (and the connection closed after one answer).
    let health = get(addr, "/healthz", None).await?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.to_ascii_lowercase().contains("connection: close"));
    let listed = get(addr, "/api/meetings", Some(ADMIN)).await?;
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    assert!(listed.contains(&m));
    // A websocket is not an operation.
    let refused = connect(addr).await;
    let Err(err) = refused else {
        panic!("a websocket past the cap must be refused");
    };
    assert!(format!("{err:#}").contains("503"), "{err:#}");

    // Silent connections in the reserve give way to a health check: the oldest is closed.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(addr).await?);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = get(addr, "/healthz", None).await?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let (_, after) = read_to_close(&mut silent[0], Duration::from_secs(1)).await?;
    assert!(after < Duration::from_secs(1));
    drop(silent);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Three requests in progress (bodies that never finish) fill the reserve: nothing can
    // be evicted, and the next connection is turned away.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(
            format!(
                "POST /api/meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Length: 1000\r\n\r\n[meeting]\n"
            )
            .as_bytes(),
        )
        .await?;
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let turned_away = get(addr, "/healthz", None).await?;
    assert!(
        turned_away.is_empty() || turned_away.starts_with("HTTP/1.1 503"),
        "{turned_away}"
    );
    assert!(server.metric("podium_connections_refused_total{reason=\"full\"}") >= Some(1));
    // Those requests time out (408), and the reserve is there again.
    for mut r in slow {
        let (got, _) = read_to_close(&mut r, Duration::from_secs(8)).await?;
        assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    }
    let health = get(addr, "/healthz", None).await?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // The websockets held were never disturbed; when one leaves, a new one gets in.
    for c in clients.iter_mut() {
        c.ping().await?;
    }
    clients.pop().unwrap().close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = Client::hello(addr, &m, &server.token("projector", None)).await?;
    again.ping().await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() -> anyhow::Result<()> {
    let server = TestServer::start_with(limits(ConnLimits {
        per_address: 5,
        unlimited: vec![],
        header_timeout: Duration::from_secs(5),
        ..ConnLimits::default()
    }))
    .await?;
    let addr = server.addr;
    let greedy: IpAddr = "127.0.0.2".parse()?;
    let other: IpAddr = "127.0.0.3".parse()?;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(tcp_from(greedy, addr).await?);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The sixth from the same address is refused at once, before it sends anything.
    let mut sixth = tcp_from(greedy, addr).await?;
    let (got, after) = read_to_close(&mut sixth, Duration::from_secs(3)).await?;
    assert!(got.starts_with("HTTP/1.1 503") || got.is_empty(), "{got}");
    assert!(after < Duration::from_secs(2));
    assert!(server.metric("podium_connections_refused_total{reason=\"address\"}") >= Some(1));
    // Another address is served.
    let mut s = tcp_from(other, addr).await?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let (got, _) = read_to_close(&mut s, Duration::from_secs(5)).await?;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    // When one of the five closes, the address may connect again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut s = tcp_from(greedy, addr).await?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let (got, _) = read_to_close(&mut s, Duration::from_secs(5)).await?;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    server.stop().await
}
