//! Cluster failures (issue #12) with three real `podium serve --cluster` processes and a
//! real `redis-server`: the owner killed with SIGKILL during a burst of commands, a stale
//! owner paused with SIGSTOP past its lease and resumed, and Redis itself killed and
//! restarted from its append-only file mid-meeting.
//!
//! Clients behave as the protocol asks: each command carries an idempotency key, and a
//! command answered `unavailable` (or `internal`) is sent again with the same key until
//! it is acknowledged. Then: every acknowledged command is in the state the cluster
//! serves, none is applied twice (the segment clock moved by exactly one second per
//! distinct acknowledged `adjust_clock`, and the journal holds exactly one
//! `clock_adjusted` event per key), and the clients of the surviving nodes kept their
//! sockets throughout. Run `cargo build -p podium-server` first (scripts/test does).

use anyhow::{bail, ensure, Context, Result};
use podium_protocol::{ClockTarget, Command, ErrorCode, Lang, Phase, ServerMessage};
use podium_tests::client::Client;
use podium_tests::cluster::{links, ProcNode, RedisServer, MEETING};
use podium_tests::server::token_of;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LEASE_MS: u64 = 3000;
const OPEN_FLOOR: &str = "open-conversation";

fn adjust() -> Command {
    Command::AdjustClock {
        target: ClockTarget::Segment,
        seconds: 1,
    }
}

/// Three nodes with a stable owner (no rebalancing: the test knows whom it kills), on the
/// bundled meeting without its hand-toggle cooldown (hands go up and down in the burst).
fn three(redis: &RedisServer, tag: &str) -> Result<Vec<ProcNode>> {
    let agenda = std::env::temp_dir().join(format!("podium-{tag}-{}.toml", std::process::id()));
    std::fs::write(
        &agenda,
        podium_tests::server::agenda_without_hand_cooldown(),
    )?;
    let agenda = agenda.to_string_lossy().to_string();
    let mut nodes = Vec::new();
    for i in 0..3 {
        let log = std::env::temp_dir().join(format!("podium-{tag}-n{i}.log"));
        nodes.push(ProcNode::start(
            &redis.url(),
            &format!("{tag}-n{i}"),
            LEASE_MS,
            &["--no-rebalance", "--agenda", &agenda],
            Some(&log),
        )?);
    }
    redis.wait_owner(MEETING, None, Duration::from_secs(15))?;
    Ok(nodes)
}

/// Sends a keyed command until it is acknowledged; returns its seq and how many tries.
async fn until_acked(c: &mut Client, command: Command, key: &str) -> Result<(u64, usize)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tries = 0;
    loop {
        tries += 1;
        match c.command_keyed(command.clone(), key).await? {
            Ok(seq) => return Ok((seq, tries)),
            // Not applied, or not known to be: the key makes sending it again safe.
            Err((ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::RateLimited, _))
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => bail!("{key}: {e:?} after {tries} tries"),
        }
    }
}

/// The number of `clock_adjusted` events in the journal.
fn adjustments_in_journal(redis: &RedisServer) -> Result<usize> {
    Ok(redis
        .journal(MEETING)?
        .iter()
        .filter(|(_, _, e)| e.contains("\"clock_adjusted\""))
        .count())
}

/// The segment clock's deadline as a fresh client of `node` sees it at `seq` or later.
async fn ends_at(node: &ProcNode, host: &str, seq: u64) -> Result<i64> {
    let mut c = Client::hello(node.addr, MEETING, host).await?;
    c.wait_seq(seq).await?;
    Ok(c.state.segment_clock.remaining(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn owner_killed_during_a_burst_loses_nothing_acknowledged() -> Result<()> {
    let redis = RedisServer::start()?;
    let mut nodes = three(&redis, "kill")?;
    let links = links(&redis.url()).await?;
    let (host_t, join_t) = (
        token_of(&links, "host", None),
        token_of(&links, "participant", None),
    );
    let (owner, epoch) = redis.owner(MEETING)?.context("an owner")?;
    let o = nodes.iter().position(|n| n.id == owner).context("owner")?;
    let survivors: Vec<usize> = (0..3).filter(|i| *i != o).collect();
    let (s1, s2) = (survivors[0], survivors[1]);

    let mut host = Client::hello(nodes[s1].addr, MEETING, &host_t).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: OPEN_FLOOR.into(),
    })
    .await?;
    let start_ends = host.state.segment_clock.remaining(0);
    // Participants on every node, hands up.
    let mut people = Vec::new();
    for i in 0..6 {
        let node = &nodes[[o, s1, s2][i % 3]];
        let mut c =
            Client::join(node.addr, MEETING, &join_t, &format!("P{i}"), "D", Lang::Fr).await?;
        until_acked(
            &mut c,
            Command::RaiseHand {
                language: None,
                point_of_order: false,
            },
            &format!("up-{i}"),
        )
        .await?;
        people.push((i % 3, c));
    }

    // The burst: the host adjusts the clock as fast as answers come; a participant on the
    // other survivor lowers and raises its hand; the owner dies in the middle.
    let killed_at = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let first_ack_after_kill = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let burst = {
        let (killed_at, first, done) = (
            killed_at.clone(),
            first_ack_after_kill.clone(),
            done.clone(),
        );
        tokio::spawn(async move {
            let mut keys = 0usize;
            let mut retried = 0usize;
            let mut last_seq = 0;
            while keys < 60 {
                let sent = t0.elapsed().as_millis() as u64;
                let (seq, tries) = until_acked(&mut host, adjust(), &format!("adj-{keys}")).await?;
                let k = killed_at.load(Ordering::Relaxed);
                let now = t0.elapsed().as_millis() as u64;
                // Only a command sent after the kill shows the new owner serving (an ack
                // that was on its way when the owner died says nothing about it).
                if k > 0 && sent > k && first.load(Ordering::Relaxed) == 0 {
                    first.store(now - k, Ordering::Relaxed);
                }
                retried += tries - 1;
                last_seq = last_seq.max(seq);
                keys += 1;
            }
            done.store(true, Ordering::Relaxed);
            anyhow::Ok((host, keys, retried, last_seq))
        })
    };
    let toggler = {
        let (_, mut p) = people.remove(people.iter().position(|(n, _)| *n == 2).unwrap());
        let done = done.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let cmd = if n % 2 == 0 {
                    Command::LowerHand {
                        point_of_order: false,
                    }
                } else {
                    Command::RaiseHand {
                        language: None,
                        point_of_order: false,
                    }
                };
                until_acked(&mut p, cmd, &format!("toggle-{n}")).await?;
                n += 1;
            }
            anyhow::Ok((p, n))
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    killed_at.store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
    let kill_instant = Instant::now();
    nodes[o].kill9()?;
    let (new_owner, new_epoch) =
        redis.wait_owner(MEETING, Some(&owner), Duration::from_secs(10))?;
    let lease_taken = kill_instant.elapsed();
    let (host, keys, retried, last_seq) = burst.await??;
    let (p, toggles) = toggler.await??;
    let serving = Duration::from_millis(first_ack_after_kill.load(Ordering::Relaxed));
    println!(
        "kill -9 of {owner} (epoch {epoch}): {new_owner} took the lease {lease_taken:?} later (epoch {new_epoch}); \
         first command acknowledged {serving:?} after the kill; {keys} adjustments acknowledged, {retried} retries, {toggles} hand toggles"
    );
    ensure!(new_epoch > epoch);
    ensure!(
        serving < Duration::from_secs(5),
        "the new owner served only after {serving:?}"
    );

    // Clients of the dead node come back through a survivor, with their own tokens.
    for (n, c) in people.iter_mut() {
        if *n == 0 {
            let token = c.participant_token.clone().context("token")?;
            let mut again = Client::hello(nodes[s1].addr, MEETING, &token).await?;
            // Its own place in the queue comes right after the snapshot.
            tokio::time::timeout(Duration::from_secs(5), again.wait_place(|_| true))
                .await
                .context("no place message after the snapshot")??;
            ensure!(
                again.place.is_some_and(|(_, hand, _)| hand.is_some()),
                "a hand raised through the dead node survived: {:?}",
                again.place
            );
        }
    }
    // Every acknowledged adjustment is in the state, none twice — on both survivors.
    for i in [s1, s2] {
        let got = ends_at(&nodes[i], &host_t, last_seq).await? - start_ends;
        ensure!(
            got == keys as i64 * 1000,
            "node {}: the clock moved {got} ms for {keys} acknowledged adjustments",
            nodes[i].id
        );
    }
    ensure!(
        adjustments_in_journal(&redis)? == keys,
        "one journal event per key"
    );
    // The survivors' clients kept their sockets: they still answer.
    let (mut host, mut p) = (host, p);
    host.ping().await?;
    p.ping().await?;
    // The CLI reads the cluster too.
    let bin = podium_tests::server::podium_bin()?;
    let out = std::process::Command::new(&bin)
        .args(["links", "--json", "--cluster", &redis.url()])
        .output()?;
    ensure!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&host_t));
    let out = std::process::Command::new(&bin)
        .args(["report", "--cluster", &redis.url(), MEETING])
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(report["meeting"]["phase"] == "running", "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_owner_cannot_write_a_single_event() -> Result<()> {
    let redis = RedisServer::start()?;
    let nodes = three(&redis, "stop")?;
    let links = links(&redis.url()).await?;
    let host_t = token_of(&links, "host", None);
    let (owner, epoch) = redis.owner(MEETING)?.context("an owner")?;
    let o = nodes.iter().position(|n| n.id == owner).context("owner")?;
    let s = (0..3).find(|i| *i != o).unwrap();
    let mut on_owner = Client::hello(nodes[o].addr, MEETING, &host_t).await?;
    let mut on_other = Client::hello(nodes[s].addr, MEETING, &host_t).await?;
    on_owner.must(Command::StartMeeting).await?;
    let start_ends = on_owner.state.segment_clock.remaining(0);
    until_acked(&mut on_owner, adjust(), "before-0").await?;

    nodes[o].signal(libc::SIGSTOP)?;
    let (new_owner, new_epoch) =
        redis.wait_owner(MEETING, Some(&owner), Duration::from_secs(10))?;
    let head: u64 = redis::cmd("HGET")
        .arg(format!("podium:m:{MEETING}:head"))
        .arg("seq")
        .query(&mut redis.conn()?)?;
    // While it sleeps: commands queue on its sockets, and the new owner takes others.
    let mut pending = Vec::new();
    for i in 0..5 {
        pending.push((
            on_owner.send_keyed(adjust(), &format!("stale-{i}")).await?,
            i,
        ));
    }
    for i in 0..3 {
        until_acked(&mut on_other, adjust(), &format!("new-{i}")).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    nodes[o].signal(libc::SIGCONT)?;
    // Every command sent to the stale owner is answered; retried with its key if need be.
    let mut answers = std::collections::HashMap::new();
    while answers.len() < pending.len() {
        match on_owner.next_reply().await? {
            ServerMessage::Ack { id, .. } => {
                answers.insert(id, None);
            }
            ServerMessage::Error {
                id: Some(id), code, ..
            } => {
                answers.insert(id, Some(code));
            }
            other => bail!("unexpected {other:?}"),
        }
    }
    for (id, i) in pending {
        match answers[&id] {
            None => {}
            Some(ErrorCode::Unavailable | ErrorCode::Internal) => {
                until_acked(&mut on_owner, adjust(), &format!("stale-{i}")).await?;
            }
            Some(code) => bail!("stale-{i}: {code:?}"),
        }
    }
    let journal = redis.journal(MEETING)?;
    let by_stale: Vec<_> = journal
        .iter()
        .filter(|(seq, ep, _)| *seq > head && *ep != new_epoch)
        .collect();
    ensure!(
        by_stale.is_empty(),
        "events after the takeover at seq {head} written by another epoch than {new_epoch}: {by_stale:?}"
    );
    let fenced = nodes[o]
        .metric("podium_cluster_fenced_writes_total")
        .await?;
    println!(
        "SIGSTOP of {owner} (epoch {epoch}); {new_owner} took over at seq {head} (epoch {new_epoch}); \
         after SIGCONT the stale owner's refused appends: {fenced:?}; journal after the takeover: {} events, all epoch {new_epoch}",
        journal.iter().filter(|(s, _, _)| *s > head).count()
    );
    let total = 1 + 5 + 3;
    ensure!(adjustments_in_journal(&redis)? == total);
    let last = journal.last().map(|e| e.0).unwrap_or(0);
    let got = ends_at(&nodes[s], &host_t, last).await? - start_ends;
    ensure!(
        got == total as i64 * 1000,
        "the clock moved {got} ms for {total} adjustments"
    );
    // The resumed node serves as a non-owner; its client kept its socket.
    on_owner.ping().await?;
    ensure!(on_owner.state.phase == Phase::Running);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restarted_mid_meeting_loses_nothing_acknowledged() -> Result<()> {
    let mut redis = RedisServer::start()?;
    let nodes = three(&redis, "aof")?;
    let links = links(&redis.url()).await?;
    let host_t = token_of(&links, "host", None);
    let mut host = Client::hello(nodes[1].addr, MEETING, &host_t).await?;
    host.must(Command::StartMeeting).await?;
    let start_ends = host.state.segment_clock.remaining(0);
    let mut acked = 0;
    let mut last = 0;
    for i in 0..10 {
        last = until_acked(&mut host, adjust(), &format!("a-{i}")).await?.0;
        acked += 1;
    }
    // Redis dies (SIGKILL) and comes back from its AOF; the burst goes on meanwhile.
    let burst = tokio::spawn(async move {
        let (mut acked, mut last, mut retried) = (0, 0, 0);
        let mut slowest = Duration::ZERO;
        for i in 10..60 {
            let t = Instant::now();
            let (seq, tries) = until_acked(&mut host, adjust(), &format!("a-{i}")).await?;
            slowest = slowest.max(t.elapsed());
            last = seq;
            retried += tries - 1;
            acked += 1;
            // Spread over more than a second, so the outage falls inside the burst.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        anyhow::Ok((host, acked, last, retried, slowest))
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t = Instant::now();
    let redis = tokio::task::spawn_blocking(move || {
        redis.kill9_and_restart(Duration::from_millis(500))?;
        anyhow::Ok(redis)
    })
    .await??;
    let (mut host, more, l, retried, slowest) = burst.await??;
    acked += more;
    last = last.max(l);
    println!(
        "Redis killed and restarted; the burst finished {:?} after the kill; {retried} commands \
         sent again; the slowest command took {slowest:?}",
        t.elapsed()
    );
    // A command either failed during the outage and was sent again, or waited it out.
    ensure!(
        retried > 0 || slowest >= Duration::from_millis(400),
        "no command met the outage: the test did not test it"
    );
    ensure!(
        adjustments_in_journal(&redis)? == acked,
        "one journal event per acknowledged key"
    );
    for n in &nodes {
        let got = ends_at(n, &host_t, last).await? - start_ends;
        ensure!(
            got == acked as i64 * 1000,
            "node {}: clock moved {got} ms for {acked}",
            n.id
        );
    }
    host.ping().await?;
    Ok(())
}
