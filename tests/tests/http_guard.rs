//! What every HTTP answer carries and what a websocket upgrade must bring, over real
//! sockets: CSP, X-Frame-Options and Referrer-Policy on every page; `Sec-WebSocket-Key:
//! garbage` gets 400 (RFC 6455); a page of another site cannot open a websocket, the
//! server's own pages and clients without an `Origin` can, and `--allowed-origin` adds
//! one. The real binary warns about a short admin token.

use podium_server::accept::ConnLimits;
use podium_server::Limits;
use podium_tests::http;
use podium_tests::server::{ChildOptions, ChildServer, TestServer};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a websocket upgrade request with `headers`; the status code of the answer.
async fn upgrade(addr: SocketAddr, headers: &[(&str, &str)]) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect(addr).await?;
    let mut head = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await??;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line in {text:?}"))?;
    Ok(status)
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    for path in [
        format!("/m/{m}/host"),
        "/assets/app.js".into(),
        "/assets/style.css".into(),
        "/".into(),
        "/healthz".into(),
        "/api/meetings".into(),
        "/no/such/page".into(),
    ] {
        let r = http::request(server.addr, "GET", &path, &[], b"").await?;
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{path}: CSP {csp:?}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    // The broadcast overlays have the same policy but may be framed by any page (a
    // production tool composes them; they have no controls to press).
    let r = http::request(server.addr, "GET", "/overlays/lower-third", &[], b"").await?;
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("frame-ancestors")
            && !csp.contains("unsafe-inline"),
        "overlay CSP {csp:?}"
    );
    assert_eq!(r.header("x-frame-options"), None);
    // The page has no inline script or style for the policy to block.
    let page = http::request(server.addr, "GET", &format!("/m/{m}/host"), &[], b"").await?;
    assert!(page.status == 200);
    assert!(!page.body.contains("<style"), "inline <style> in the page");
    for tag in page.body.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or_default();
        assert!(
            open.contains("src="),
            "an inline <script> in the page: <script{open}>"
        );
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_need_a_real_key_and_an_allowed_origin() -> anyhow::Result<()> {
    let server = TestServer::start_with(Limits {
        conn: ConnLimits {
            allowed_origins: vec!["https://console.example.org".into()],
            ..ConnLimits::default()
        },
        ..Limits::default()
    })
    .await?;
    let addr = server.addr;
    let own = format!("http://{addr}");
    assert_eq!(upgrade(addr, &[("Sec-WebSocket-Key", KEY)]).await?, 101);
    assert_eq!(
        upgrade(addr, &[("Sec-WebSocket-Key", "garbage")]).await?,
        400
    );
    assert_eq!(
        upgrade(addr, &[("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ")]).await?,
        400
    );
    assert_eq!(upgrade(addr, &[]).await?, 400);
    assert_eq!(
        upgrade(addr, &[("Sec-WebSocket-Key", KEY), ("Origin", &own)]).await?,
        101
    );
    assert_eq!(
        upgrade(
            addr,
            &[
                ("Sec-WebSocket-Key", KEY),
                ("Origin", "https://evil.example")
            ]
        )
        .await?,
        403
    );
    assert_eq!(
        upgrade(addr, &[("Sec-WebSocket-Key", KEY), ("Origin", "null")]).await?,
        403
    );
    assert_eq!(
        upgrade(
            addr,
            &[
                ("Sec-WebSocket-Key", KEY),
                ("Origin", "https://console.example.org")
            ]
        )
        .await?,
        101
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_checks_keys_and_origins_and_warns_about_a_short_admin_token(
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let log = data.path().join("stderr.log");
    let mut server = ChildServer::start_with(
        &data.path().join("data"),
        ChildOptions {
            env: vec![("PODIUM_ADMIN_TOKEN".into(), "a".into())],
            stderr: Some(Stdio::from(std::fs::File::create(&log)?)),
            ..Default::default()
        },
    )?;
    let addr = server.addr;
    assert_eq!(
        upgrade(addr, &[("Sec-WebSocket-Key", "garbage")]).await?,
        400
    );
    assert_eq!(
        upgrade(
            addr,
            &[
                ("Sec-WebSocket-Key", KEY),
                ("Origin", "https://evil.example")
            ]
        )
        .await?,
        403
    );
    assert_eq!(upgrade(addr, &[("Sec-WebSocket-Key", KEY)]).await?, 101);
    let page = http::request(addr, "GET", "/", &[], b"").await?;
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    server.terminate(Duration::from_secs(15))?;
    let stderr = std::fs::read_to_string(&log)?;
    assert!(
        stderr.contains("admin token is only 1 characters long"),
        "{stderr}"
    );
    // A long token gets no warning.
    let quiet = data.path().join("quiet.log");
    let mut server = ChildServer::start_with(
        &data.path().join("data2"),
        ChildOptions {
            stderr: Some(Stdio::from(std::fs::File::create(&quiet)?)),
            ..Default::default()
        },
    )?;
    server.terminate(Duration::from_secs(15))?;
    assert!(!std::fs::read_to_string(&quiet)?.contains("admin token"));
    Ok(())
}
