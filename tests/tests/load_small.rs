//! Every scenario of `podium-load` at a small N against an in-process server: checks that
//! every client got every final state (the library fails otherwise), not timings.

use podium_tests::load::target::TargetKind;
use podium_tests::load::{self, LoadConfig, TargetInfo};
use podium_tests::server::TestServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_at_small_n() -> anyhow::Result<()> {
    // The durable-commands scenario toggles hands every 55 ms: the cooldown is off.
    let server = TestServer::start_with_agenda(
        podium_server::Limits::default(),
        &podium_tests::server::agenda_without_hand_cooldown(),
    )
    .await?;
    let info = TargetInfo {
        kind: TargetKind::Podium,
        addr: server.addr,
        pid: std::process::id(),
        links: Some(load::target::PodiumLinks {
            meeting: server.meeting().to_string(),
            host: server.token("host", None),
            participant: server.token("participant", None),
            observer: server.token("observer", None),
        }),
    };
    let mut cfg = LoadConfig::new(200);
    cfg.updates = 10;
    cfg.hands = 50;
    cfg.durable_clients = 40;
    cfg.durable_secs = 1.5;
    cfg.verify_every = 1;
    cfg.timeout = Duration::from_secs(20);
    let r = load::run(&cfg, &info).await?;
    let f = r.fanout.as_ref().expect("fanout ran");
    assert_eq!(f.latency_ms.n, 200 * 10, "every client got every update");
    assert!(f.message_bytes > 0);
    let h = r.hand_storm.as_ref().expect("hand storm ran");
    assert_eq!(
        (h.hands, h.verified),
        (50, 200),
        "every client holds the final queue"
    );
    let rc = r.reconnect_storm.as_ref().expect("reconnect storm ran");
    assert_eq!(
        rc.per_client_ms.n, 200,
        "every client came back with the state"
    );
    let d = r.durable_commands.as_ref().expect("durable commands ran");
    assert!(d.accepted > 0 && d.refused == 0, "{d:?}");
    assert!(r.idle_memory.is_some());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    server.stop().await
}
