//! The chair defends the floor, over real sockets: a removed participant's connections
//! close with 4001 and their token opens nothing any more (also after a restart); a storm
//! of 50 bots toggling points of order is held to what the hand cooldown allows.

use podium_protocol::{Command, ErrorCode, HandOutcome, Lang};
use podium_server::Limits;
use podium_tests::client::{read_until_close, Client};
use podium_tests::server::TestServer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn raise(point_of_order: bool) -> Command {
    Command::RaiseHand {
        language: None,
        point_of_order,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_is_disconnected_and_cannot_come_back() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let join = server.token("participant", None);
    let mut troll = Client::join(addr, &m, &join, "Troll", "Nowhere", Lang::En).await?;
    let token = troll.participant_token.clone().expect("a personal token");
    let pid = troll.you.participant.expect("a participant id");
    troll.must(raise(false)).await?;
    troll.must(raise(true)).await?;
    // A second tab of the same person.
    let mut tab = Client::hello(addr, &m, &token).await?;
    let mut delegate = Client::join(addr, &m, &join, "Amina Diallo", "Senegal", Lang::Fr).await?;

    host.must(Command::RemoveParticipant { participant: pid })
        .await?;
    // Both of their connections close with 4001 ("do not reconnect").
    for ws in [&mut troll.ws, &mut tab.ws] {
        let end = read_until_close(ws).await?;
        assert_eq!(end.code, Some(4001), "{end:?}");
    }
    // Their hands are gone, as removed; they stay in the register, marked.
    assert!(host.state.queue.is_empty());
    let whole = host.whole_state().await?;
    let outcomes: Vec<HandOutcome> = whole.hand_history.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [HandOutcome::Removed, HandOutcome::Removed]);
    assert!(whole.participants.iter().any(|p| p.id == pid && p.removed));
    // Their token opens nothing now.
    let again = Client::hello(addr, &m, &token).await;
    let err = again
        .err()
        .expect("the removed participant's token is refused");
    assert!(format!("{err:#}").contains("Unauthorized"), "{err:#}");
    // Everyone else carries on.
    delegate.must(raise(false)).await?;
    let r = host
        .command(Command::RemoveParticipant { participant: pid })
        .await?;
    assert!(matches!(r, Err((ErrorCode::InvalidState, _))), "{r:?}");

    // After a restart the token is still refused (the removal is in the journal).
    let data = server.data.path().to_path_buf();
    let hub = server.hub.clone();
    server.shutdown.cancel();
    server.task.await??;
    hub.tracker.close();
    hub.tracker.wait().await;
    drop(hub);
    let config = podium_server::Config {
        data_dir: data,
        public_url: None,
        admin_token: podium_tests::server::ADMIN.into(),
        limits: Arc::new(Limits::default()),
    };
    let podium =
        podium_server::Podium::open(config, tokio_util::sync::CancellationToken::new()).await?;
    assert!(
        podium.hub.grant(&token).is_none(),
        "a removed participant's token must stay revoked after a restart"
    );
    let other = delegate.participant_token.clone().unwrap();
    assert!(
        podium.hub.grant(&other).is_some(),
        "other tokens still open the meeting"
    );
    drop(server.data);
    Ok(())
}

/// 50 bots, each toggling a point of order as fast as its answers come back, with the
/// queue closed to ordinary hands (the storm of issue #11).
const BOTS: usize = 50;
const ATTEMPTS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toggle_storm_is_held_to_the_cooldown() -> anyhow::Result<()> {
    // The per-connection rate limit is raised out of the way: what holds the storm here
    // must be the engine's per-participant cooldown.
    let server = TestServer::start_with(Limits {
        rate: podium_server::ws::ratelimit::RateLimit {
            burst: 10_000.0,
            per_sec: 10_000.0,
            ..Limits::default().rate
        },
        ..Limits::default()
    })
    .await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::CloseQueue).await?;
    let join = server.token("participant", None);
    let mut bots = Vec::new();
    for i in 0..BOTS {
        bots.push(Client::join(addr, &m, &join, &format!("Bot {i}"), "Botland", Lang::En).await?);
    }
    let accepted = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut bot in bots {
        let (accepted, limited) = (accepted.clone(), limited.clone());
        tasks.push(tokio::spawn(async move {
            let mut up = false;
            let mut mine = 0u64;
            for _ in 0..ATTEMPTS {
                let command = if up {
                    Command::LowerHand {
                        point_of_order: true,
                    }
                } else {
                    raise(true)
                };
                match bot.command(command).await? {
                    Ok(_) => {
                        up = !up;
                        mine += 1;
                    }
                    Err((ErrorCode::RateLimited, message)) => {
                        assert!(message.contains("again in"), "{message}");
                        limited.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => anyhow::bail!("unexpected refusal {other:?}"),
                }
            }
            accepted.fetch_add(mine, Ordering::Relaxed);
            anyhow::Ok(mine)
        }));
    }
    let mut per_bot = Vec::new();
    for t in tasks {
        per_bot.push(t.await??);
    }
    let elapsed = started.elapsed().as_millis() as u64;
    let accepted = accepted.load(Ordering::Relaxed);
    let limited = limited.load(Ordering::Relaxed);
    // One point of order per bot: within any cooldown window a bot gets at most one raise
    // and one lower through. The storm lasted `elapsed`, i.e. at most this many windows.
    let cooldown = podium_server::engine::defend::HAND_COOLDOWN_MS as u64;
    let windows = elapsed / cooldown + 1;
    eprintln!(
        "{BOTS} bots × {ATTEMPTS} toggles in {elapsed} ms: {accepted} accepted, {limited} held by the cooldown"
    );
    for n in &per_bot {
        assert!(*n >= 2, "every bot got its first raise and lower through");
        assert!(
            *n <= 2 * windows,
            "a bot got {n} changes through in {windows} windows"
        );
    }
    assert_eq!(accepted + limited, (BOTS * ATTEMPTS) as u64);
    assert!(accepted <= 2 * windows * BOTS as u64);
    // What reached everyone is a small fraction of what was tried.
    assert!(limited > accepted, "{accepted} accepted vs {limited} held");
    server.stop().await
}
