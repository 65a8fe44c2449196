//! The cluster (issue #12) over real sockets, with a real `redis-server` of the test's own
//! and three nodes in this process: one queue on every node, commands from any node,
//! idempotency keys, meetings created anywhere, graceful hand-over, and the journal's
//! fencing. Kill -9, SIGSTOP and Redis restarts need real processes: see
//! `cluster_failover.rs`.

use anyhow::{bail, ensure, Context, Result};
use podium_protocol::{ClockTarget, Command, ErrorCode, Lang, Role};
use podium_server::cluster::journal::{Durability, RedisStore};
use podium_server::store::{Batch, Store, StoreError};
use podium_tests::client::{read_until_close, Client};
use podium_tests::cluster::{links, InProcNode, RedisServer, MEETING};
use podium_tests::server::{token_of, ADMIN};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_millis(1500);
const OPEN_FLOOR: &str = "open-conversation";

fn raise(language: Lang) -> Command {
    Command::RaiseHand {
        language: Some(language),
        point_of_order: false,
    }
}

async fn three(redis: &RedisServer) -> Result<Vec<InProcNode>> {
    let mut nodes = Vec::new();
    for id in ["alpha", "beta", "gamma"] {
        nodes.push(InProcNode::start(&redis.url(), id, LEASE).await?);
    }
    // Someone holds the meeting before the test starts.
    redis.wait_owner(MEETING, None, Duration::from_secs(10))?;
    Ok(nodes)
}

async fn stop_all(nodes: Vec<InProcNode>) -> Result<()> {
    for n in nodes {
        n.stop().await?;
    }
    Ok(())
}

/// Waits until `pred` holds for the client's state, or fails naming `what`.
async fn until(
    c: &mut Client,
    what: &str,
    pred: impl FnMut(&podium_protocol::MeetingState) -> bool,
) -> Result<()> {
    tokio::time::timeout(Duration::from_secs(15), c.wait_for(pred))
        .await
        .with_context(|| format!("timed out waiting for {what}"))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn participants_on_three_nodes_see_one_queue() -> Result<()> {
    let redis = RedisServer::start()?;
    let nodes = three(&redis).await?;
    let links = links(&redis.url()).await?;
    let (host_t, join_t) = (
        token_of(&links, "host", None),
        token_of(&links, "participant", None),
    );
    let mut host = Client::hello(nodes[0].addr, MEETING, &host_t).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: OPEN_FLOOR.into(),
    })
    .await?;
    let langs = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar];
    let mut people = Vec::new();
    for i in 0..9 {
        let node = &nodes[i % 3];
        let c = Client::join(
            node.addr,
            MEETING,
            &join_t,
            &format!("Delegate {i}"),
            &format!("Delegation {i}"),
            langs[i % 4],
        )
        .await?;
        people.push(c);
    }
    // Hands go up one after another, each from its own node.
    for (i, c) in people.iter_mut().enumerate() {
        let r = c.command(raise(langs[i % 4])).await?;
        ensure!(r.is_ok(), "delegate {i} could not raise a hand: {r:?}");
    }
    // Nine hands: the public view shows them all in full (it details the first 25).
    let keys: Vec<u64> = people.iter().map(|c| c.you.participant.unwrap()).collect();
    let hands = |s: &podium_protocol::MeetingState| -> Vec<u64> {
        s.queue.iter().map(|h| h.participant).collect()
    };
    for (i, c) in people.iter_mut().enumerate() {
        until(c, &format!("delegate {i}'s queue"), |s| {
            hands(s) == keys && s.queue_len == Some(9)
        })
        .await?;
        let names: Vec<&str> = c.state.queue.iter().map(|h| h.name.as_str()).collect();
        let want: Vec<String> = (0..9).map(|i| format!("Delegate {i}")).collect();
        ensure!(
            names == want,
            "delegate {i} on node {} shows {names:?}",
            i % 3
        );
    }
    until(&mut host, "the host's queue", |s| s.queue.len() == 9).await?;
    // A hand lowered on the third node leaves every screen.
    let gone = keys[5];
    people[5]
        .must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
    for (i, c) in people.iter_mut().enumerate() {
        until(c, &format!("delegate {i} sees the lowered hand"), |s| {
            let k = hands(s);
            k.len() == 8 && !k.contains(&gone) && s.queue_len == Some(8)
        })
        .await?;
    }
    // The floor, given on the first node, shows on all three.
    host.must(Command::GiveFloorToHand { hand: None }).await?;
    for (i, c) in people.iter_mut().enumerate() {
        until(c, &format!("delegate {i} sees the speaker"), |s| {
            s.speech
                .as_ref()
                .is_some_and(|sp| sp.speaker.name == "Delegate 0")
        })
        .await?;
    }
    stop_all(nodes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_sent_again_with_its_key_is_applied_once() -> Result<()> {
    let redis = RedisServer::start()?;
    let nodes = three(&redis).await?;
    let links = links(&redis.url()).await?;
    let host_t = token_of(&links, "host", None);
    let (owner, _) = redis.owner(MEETING)?.context("an owner")?;
    let mut last = 0;
    for node in &nodes {
        let mut host = Client::hello(node.addr, MEETING, &host_t).await?;
        host.wait_seq(last).await?;
        if host.state.phase == podium_protocol::Phase::NotStarted {
            host.must(Command::StartMeeting).await?;
        }
        let before = host.state.segment_clock.remaining(0);
        let adjust = Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: 10,
        };
        let key = format!("adjust-via-{}", node.id);
        let first = host.command_keyed(adjust.clone(), &key).await?;
        let again = host.command_keyed(adjust.clone(), &key).await?;
        let (Ok(a), Ok(b)) = (&first, &again) else {
            bail!("node {} (owner {owner}): {first:?} then {again:?}", node.id);
        };
        ensure!(
            a == b,
            "the repeat was acknowledged at {b}, the first at {a}"
        );
        // A fresh key is a new command.
        let third = host.command_keyed(adjust, &format!("{key}-2")).await?;
        ensure!(matches!(third, Ok(s) if s > *a), "a new key: {third:?}");
        last = third.unwrap();
        host.wait_seq(last).await?;
        let after = host.state.segment_clock.remaining(0);
        ensure!(
            after - before == 20_000,
            "node {}: two distinct adjustments of 10 s moved the clock by {} ms",
            node.id,
            after - before
        );
    }
    // Keys are per sender: a participant's key does not collide with the host's.
    let mut p = Client::join(
        nodes[1].addr,
        MEETING,
        &token_of(&links, "participant", None),
        "Ana",
        "Brazil",
        Lang::Es,
    )
    .await?;
    let mut host = Client::hello(nodes[2].addr, MEETING, &host_t).await?;
    host.must(Command::GoToSegment {
        segment: OPEN_FLOOR.into(),
    })
    .await?;
    let r1 = p.command_keyed(raise(Lang::Es), "adjust-via-alpha").await?;
    ensure!(r1.is_ok(), "{r1:?}");
    let r2 = p.command_keyed(raise(Lang::Es), "adjust-via-alpha").await?;
    ensure!(r2 == r1, "repeat of the raise: {r2:?} (first {r1:?})");
    let r3 = p.command(raise(Lang::Es)).await?;
    ensure!(
        matches!(r3, Err((ErrorCode::Duplicate, _))),
        "without a key, a second raise is a duplicate: {r3:?}"
    );
    stop_all(nodes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_meeting_created_on_one_node_is_served_by_every_node() -> Result<()> {
    let redis = RedisServer::start()?;
    let nodes = three(&redis).await?;
    let agenda = r#"[meeting]
id = "cluster-board"
title = "Board meeting"
time_zone = "Europe/Paris"
start = "2030-03-04T10:00"
languages = ["en", "fr"]

[[segment]]
id = "floor"
kind = "open_floor"
title = "Open floor"
duration = "20m"
"#;
    let r = podium_tests::http::post(
        nodes[1].addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        agenda,
    )
    .await?;
    ensure!(r.status == 201, "create: {} {}", r.status, r.body);
    let body = r.json()?;
    let host_url = body["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["role"] == "host"))
        .and_then(|l| l["url"].as_str())
        .context("a host link")?
        .to_string();
    let token = host_url.split('#').nth(1).context("token")?;
    for node in &nodes {
        let mut host = Client::hello(node.addr, "cluster-board", token).await?;
        ensure!(host.you.role == Role::Host);
        if host.state.phase == podium_protocol::Phase::NotStarted {
            host.must(Command::StartMeeting).await?;
        }
    }
    // Every node lists it.
    for node in &nodes {
        let list = podium_tests::http::get(node.addr, "/api/meetings", Some(ADMIN)).await?;
        ensure!(
            list.body.contains("cluster-board"),
            "{}: {}",
            node.id,
            list.body
        );
    }
    // Archived through the third node: no node serves it any more.
    let r = podium_tests::http::post(
        nodes[2].addr,
        "/api/meetings/cluster-board/archive",
        Some(ADMIN),
        "application/json",
        "",
    )
    .await?;
    ensure!(r.status == 200, "archive: {} {}", r.status, r.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    for node in &nodes {
        loop {
            let refused = Client::hello(node.addr, "cluster-board", token)
                .await
                .is_err();
            if refused {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "{} still serves the archived meeting",
                node.id
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop_all(nodes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopping_owner_hands_over_and_nothing_is_lost() -> Result<()> {
    let redis = RedisServer::start()?;
    let mut nodes = three(&redis).await?;
    let links = links(&redis.url()).await?;
    let host_t = token_of(&links, "host", None);
    let (owner, epoch) = redis.owner(MEETING)?.context("an owner")?;
    let at = nodes
        .iter()
        .position(|n| n.id == owner)
        .context("owner is a node")?;
    let leaving = nodes.remove(at);
    let mut on_owner = Client::hello(leaving.addr, MEETING, &host_t).await?;
    let mut hosts = Vec::new();
    for n in &nodes {
        hosts.push(Client::hello(n.addr, MEETING, &host_t).await?);
    }
    hosts[0].must(Command::StartMeeting).await?;
    let mut acked = 0;
    for _ in 0..5 {
        let r = hosts[1]
            .command(Command::AdjustClock {
                target: ClockTarget::Segment,
                seconds: 1,
            })
            .await?;
        ensure!(r.is_ok(), "{r:?}");
        acked += 1;
    }
    let s1 = hosts[1].seq;
    hosts[0].wait_seq(s1).await?;
    let before = hosts[0].state.clone();
    let stop = tokio::spawn(leaving.stop());
    // The leaving node's clients are told to go (1001) and reconnect elsewhere.
    let closed = read_until_close(&mut on_owner.ws).await?;
    ensure!(closed.code == Some(1001), "close code {:?}", closed.code);
    let (new_owner, new_epoch) = redis.wait_owner(MEETING, Some(&owner), Duration::from_secs(5))?;
    ensure!(new_epoch > epoch, "epoch {new_epoch} after {epoch}");
    stop.await??;
    // Clients of the other nodes kept their sockets; the new owner carries on.
    let t = Instant::now();
    for h in hosts.iter_mut() {
        let r = h
            .command(Command::AdjustClock {
                target: ClockTarget::Segment,
                seconds: 1,
            })
            .await?;
        ensure!(r.is_ok(), "after the hand-over to {new_owner}: {r:?}");
        acked += 1;
    }
    println!(
        "hand-over: {owner} -> {new_owner}, next command served in {:?}",
        t.elapsed()
    );
    let mut fresh = Client::hello(nodes[0].addr, MEETING, &host_t).await?;
    fresh.wait_seq(hosts[1].seq.max(hosts[0].seq)).await?;
    let moved = fresh.state.segment_clock.remaining(0) - before.segment_clock.remaining(0);
    ensure!(
        moved == 2_000,
        "the clock moved {moved} ms for 2 commands after the hand-over"
    );
    ensure!(acked == 7);
    stop_all(nodes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_refuses_a_stale_epoch_and_a_gap() -> Result<()> {
    let redis = RedisServer::start()?;
    let node = InProcNode::start(&redis.url(), "solo", LEASE).await?;
    let (owner, epoch) = redis.wait_owner(MEETING, None, Duration::from_secs(10))?;
    ensure!(owner == "solo");
    let head_seq = || -> Result<u64> {
        let s: Option<u64> = redis::cmd("HGET")
            .arg(format!("podium:m:{MEETING}:head"))
            .arg("seq")
            .query(&mut redis.conn()?)?;
        Ok(s.unwrap_or(0))
    };
    let client = redis::Client::open(redis.url())?;
    let durability = Durability {
        wait_replicas: 0,
        wait_timeout: Duration::from_secs(1),
    };
    let batch = |epoch: u64, first_seq: u64| Batch {
        meeting: MEETING.into(),
        first_seq,
        events: vec![r#"{"type":"auto_advance_changed","on":true}"#.into()],
        epoch,
        ..Batch::default()
    };
    // Another process claiming to be the owner at an older epoch: refused.
    let mut stale = RedisStore::new(client.clone(), "solo", durability);
    let seq = head_seq()?;
    let r = stale.commit_each(&[batch(epoch - 1, seq + 1)]);
    ensure!(
        matches!(r[0], Err(StoreError::Fenced(_))),
        "older epoch: {:?}",
        r[0]
    );
    // Right epoch, but not the lease holder's name: refused.
    let mut other = RedisStore::new(client.clone(), "intruder", durability);
    let r = other.commit_each(&[batch(epoch, seq + 1)]);
    ensure!(
        matches!(r[0], Err(StoreError::Fenced(_))),
        "another node: {:?}",
        r[0]
    );
    // The owner's epoch, but a gap after the journal's end: refused.
    let mut gap = RedisStore::new(client, "solo", durability);
    let r = gap.commit_each(&[batch(epoch, seq + 2)]);
    ensure!(
        matches!(r[0], Err(StoreError::Fenced(_))),
        "a gap: {:?}",
        r[0]
    );
    ensure!(head_seq()? == seq, "nothing was written");
    ensure!(redis.journal(MEETING)?.len() as u64 == seq);
    node.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn meetings_move_to_nodes_that_join() -> Result<()> {
    let redis = RedisServer::start()?;
    let lease = Duration::from_millis(1000);
    let first = InProcNode::start(&redis.url(), "first", lease).await?;
    // Six more meetings, all run by the only node.
    let mut ids = vec![MEETING.to_string()];
    for i in 0..6 {
        let agenda = format!(
            "[meeting]\nid = \"m{i}\"\ntitle = \"Meeting {i}\"\ntime_zone = \"UTC\"\nstart = \"2030-01-01T10:00\"\nlanguages = [\"en\"]\n\n[[segment]]\nid = \"floor\"\nkind = \"open_floor\"\ntitle = \"Floor\"\nduration = \"20m\"\n"
        );
        let r = podium_tests::http::post(
            first.addr,
            "/api/meetings",
            Some(ADMIN),
            "application/toml",
            &agenda,
        )
        .await?;
        ensure!(r.status == 201, "create m{i}: {}", r.body);
        ids.push(format!("m{i}"));
    }
    for id in &ids {
        redis.wait_owner(id, None, Duration::from_secs(10))?;
    }
    let host_t = token_of(&links(&redis.url()).await?, "host", None);
    let mut watcher = Client::hello(first.addr, MEETING, &host_t).await?;
    let second = InProcNode::start(&redis.url(), "second", lease).await?;
    let third = InProcNode::start(&redis.url(), "third", lease).await?;
    let live = vec![
        "first".to_string(),
        "second".to_string(),
        "third".to_string(),
    ];
    // Within a few lease TTLs every meeting is run by the node that should run it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut misplaced = Vec::new();
        for id in &ids {
            let want = podium_server::cluster::lease::preferred(id, &live)
                .unwrap()
                .clone();
            let got = redis.owner(id)?.map(|o| o.0);
            if got.as_deref() != Some(want.as_str()) {
                misplaced.push(format!("{id}: {got:?}, should be {want}"));
            }
        }
        if misplaced.is_empty() {
            break;
        }
        ensure!(Instant::now() < deadline, "not rebalanced: {misplaced:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let owners: std::collections::HashSet<String> = ids
        .iter()
        .filter_map(|id| redis.owner(id).ok().flatten())
        .map(|o| o.0)
        .collect();
    ensure!(
        owners.len() > 1,
        "seven meetings all stayed on one node: {owners:?}"
    );
    // A client of the first node kept its socket and still drives its meeting.
    if watcher.state.phase == podium_protocol::Phase::NotStarted {
        watcher.must(Command::StartMeeting).await?;
    }
    watcher.ping().await?;
    stop_all(vec![first, second, third]).await
}
