//! Every scenario of `podium-load` at a small N against an in-process server, with the
//! clients spread over this process and a worker process as in a big run: checks that every
//! client got every final state (the library fails otherwise), not timings.

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
    // 200 clients, at most 120 per process: 119 here with the host, 81 in a worker.
    cfg.per_process = 120;
    cfg.exe = Some(env!("CARGO_BIN_EXE_podium-load").into());
    let r = load::run(&cfg, &info).await?;
    assert_eq!(r.processes, 2);
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
    // The host got every join, in changes that do not carry the register.
    let joins = r.setup_bytes.as_ref().expect("setup bytes");
    assert!(
        joins.host_changes > 0 && joins.host_per_change > 0.0,
        "{joins:?}"
    );
    assert!(h.bytes.participant_changes > 0, "{:?}", h.bytes);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    server.stop().await
}
