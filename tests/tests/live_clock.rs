//! Clock sync over a real socket: a client whose clock is off finds the server's clock
//! from ping/pong round trips, to within a few milliseconds on loopback.

use podium_protocol::{ClientMessage, ServerMessage};
use podium_tests::client::{recv, send_json, Client};
use podium_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_5_s_ahead_estimates_its_offset_within_20_ms() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut c = Client::hello(server.addr, &m, &server.token("projector", None)).await?;
    c.skew_ms = 5000.0;
    let offset = c.sync_clock(16).await?;
    assert!(
        (offset - -5000.0).abs() <= 20.0,
        "estimated offset {offset} ms, expected -5000 ± 20"
    );

    // A client 3 s behind, on another connection, finds +3000.
    let mut late = Client::hello(server.addr, &m, &server.token("interpreter", None)).await?;
    late.skew_ms = -3000.0;
    let offset = late.sync_clock(16).await?;
    assert!(
        (offset - 3000.0).abs() <= 20.0,
        "estimated offset {offset} ms, expected +3000 ± 20"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pong_echoes_the_ping_and_carries_server_time() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut c = Client::hello(server.addr, &m, &server.token("projector", None)).await?;
    let client_time = 12_345.678_9;
    send_json(
        &mut c.ws,
        &ClientMessage::Ping {
            id: 42,
            client_time,
        },
    )
    .await?;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    match recv(&mut c.ws).await? {
        ServerMessage::Pong {
            id,
            client_time: echoed,
            server_time,
        } => {
            assert_eq!(id, 42);
            assert_eq!(echoed, client_time, "client_time must be echoed exactly");
            assert!(
                (server_time - before).abs() < 1_000,
                "server_time {server_time} is not the server's clock ({before})"
            );
        }
        other => panic!("expected pong, got {other:?}"),
    }
    server.stop().await
}
