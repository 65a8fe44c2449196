//! Credentials never reach a log line: with every target traced at TRACE level (hyper,
//! axum and Podium), a server is driven through the meeting API with keys in headers and
//! in URLs (`?key=`, as hardware controllers send them), keys are created and revoked,
//! link tokens are used; then no key, link token or admin token appears in the log.
//! (The websocket library's own TRACE frame dumps are left out: the server's logger caps
//! that library, since a frame dump shows a `hello` token.)
//! Whatever logs requests later (an access log, a trace layer) must keep `?key=` out:
//! this test then fails. (Alone in its test binary: it installs the process-wide
//! subscriber.)

use podium_tests::api::{self, create_key};
use podium_tests::client::Client;
use podium_tests::http::request;
use podium_tests::server::{TestServer, ADMIN};
use podium_tests::sse::Sse;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_tokens_never_reach_the_log() -> anyhow::Result<()> {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        // Everything at TRACE but the websocket library's frame dumps (which would show a
        // `hello` token: the server's own logger caps that library, see logging).
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,tungstenite=debug,tokio_tungstenite=debug",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let projector = server.token("projector", None);
    let (id, key) = create_key(addr, &m, &host_token, "host", "Stream Deck").await?;
    let (_, obs) = create_key(addr, &m, ADMIN, "observer", "Overlay").await?;

    // Keys in URLs, the way a Stream Deck or an overlay sends them.
    for action in ["next_segment", "adjust_clock&seconds=30", "nope"] {
        let (name, args) = action.split_once('&').unwrap_or((action, ""));
        api::get_path(addr, &m, &format!("do/{name}?key={key}&{args}")).await?;
    }
    api::get_path(addr, &m, &format!("state?key={obs}")).await?;
    api::get_path(addr, &m, &format!("agenda?key={obs}")).await?;
    let mut stream = Sse::open(addr, &format!("/api/meetings/{m}/events?key={obs}"), &[]).await?;
    stream.next_event().await?;
    // Keys and link tokens in headers; a wrong key; an idempotent retry.
    api::command(
        addr,
        &m,
        &key,
        &json!({"type":"start_meeting"}),
        &[("Idempotency-Key", "k1")],
    )
    .await?;
    api::command(
        addr,
        &m,
        &key,
        &json!({"type":"start_meeting"}),
        &[("Idempotency-Key", "k1")],
    )
    .await?;
    api::command(addr, &m, &projector, &json!({"type":"next_segment"}), &[]).await?;
    api::command(
        addr,
        &m,
        "pod_ffffffffffffffffffffffffffffffff",
        &json!({}),
        &[],
    )
    .await?;
    let mut host = Client::hello(addr, &m, &host_token).await?;
    host.must(podium_protocol::Command::NextSegment).await?;
    // Revoke (ends the open stream), then use the revoked key.
    request(
        addr,
        "DELETE",
        &format!("/api/meetings/{m}/keys/{id}"),
        &[("Authorization", &format!("Bearer {host_token}"))],
        b"",
    )
    .await?;
    api::get_path(addr, &m, &format!("do/next_segment?key={key}")).await?;
    request(
        addr,
        "DELETE",
        &format!("/api/meetings/{m}/keys/{id}"),
        &[("Authorization", &format!("Bearer {obs}"))],
        b"",
    )
    .await?;
    drop(stream);
    server.stop().await?;

    let text = String::from_utf8(log.0.lock().unwrap().clone())?;
    assert!(
        text.lines().count() > 20,
        "the subscriber captured too little to mean anything:\n{text}"
    );
    assert!(text.contains("API key created"), "{text}");
    for (what, secret) in [
        ("a host key", key.as_str()),
        ("an observer key", obs.as_str()),
        ("the host token", host_token.as_str()),
        ("the projector token", projector.as_str()),
        ("the admin token", ADMIN),
    ] {
        let hex = secret.trim_start_matches("pod_");
        assert!(
            !text.contains(hex),
            "{what} is in the log:\n{}",
            text.lines()
                .filter(|l| l.contains(hex))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}
