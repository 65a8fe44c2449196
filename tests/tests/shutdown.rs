//! Stopping the server (what Ctrl-C does): every websocket gets a Close frame (1001), the
//! server task returns, and everything acknowledged is still there after a restart on the
//! same data directory.

use futures_util::StreamExt;
use podium_protocol::{Command, Lang};
use podium_server::{Config, Limits, Podium};
use podium_tests::client::Client;
use podium_tests::server::{token_of, ADMIN};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

async fn start(dir: &std::path::Path) -> anyhow::Result<(Podium, tokio::net::TcpListener)> {
    let config = Config {
        data_dir: dir.to_path_buf(),
        public_url: None,
        admin_token: ADMIN.into(),
        limits: Arc::new(Limits::default()),
    };
    let podium = Podium::open(config, CancellationToken::new()).await?;
    let agenda = podium_protocol::Agenda::from_toml(podium_server::DEFAULT_AGENDA)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    podium.ensure_meeting(agenda).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok((podium, listener))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_socket_and_loses_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (podium, listener) = start(dir.path()).await?;
    let addr = listener.local_addr()?;
    let links = podium.links(&podium.base_url(addr)).await?;
    let meeting = links[0].meeting.clone();
    let shutdown = podium.shutdown.clone();
    let server = tokio::spawn(podium_server::run(listener, podium));

    let mut host = Client::hello(addr, &meeting, &token_of(&links, "host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let mut p = Client::join(
        addr,
        &meeting,
        &token_of(&links, "participant", None),
        "Lina",
        "Tunis",
        Lang::Ar,
    )
    .await?;
    let acked = p
        .must(Command::RaiseHand {
            language: None,
            point_of_order: true,
        })
        .await?;
    let state_before = p.state.clone();
    let token = p.participant_token.clone().expect("participant token");

    shutdown.cancel();
    for ws in [&mut host.ws, &mut p.ws] {
        let frame = loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await? {
                Some(Ok(Message::Close(f))) => break f,
                Some(Ok(_)) => continue,
                other => panic!("expected a Close frame, got {other:?}"),
            }
        };
        let frame = frame.expect("close frame with a code");
        assert_eq!(u16::from(frame.code), 1001);
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), server).await???;

    // Restart on the same directory: the acknowledged hand is there, and the token resumes.
    let (podium, listener) = start(dir.path()).await?;
    let addr = listener.local_addr()?;
    let shutdown = podium.shutdown.clone();
    let server = tokio::spawn(podium_server::run(listener, podium));
    let p = Client::hello(addr, &meeting, &token).await?;
    assert!(p.seq >= acked);
    assert_eq!(p.state.queue, state_before.queue);
    assert_eq!(p.you.name, "Lina");
    p.close().await;
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), server).await???;
    Ok(())
}
