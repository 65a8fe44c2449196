//! The single-server features that go through a meeting's owner, used from the nodes
//! that do not own it (issue #12 with #10, #11, #14): HTTP commands with an
//! `Idempotency-Key` retried on other nodes, API keys made on one node and revoked on
//! another, link rotation, personal invitations, staff paging and a participant's removal
//! — each revocation closing connections (4001) on every node, and refused by every node
//! from then on; `podium links --rotate` and `podium invite` with `--cluster`. Three nodes
//! in this process, a real `redis-server` of the test's own (and the `podium` binary:
//! `cargo build -p podium-server` first, as scripts/test does).

use anyhow::{ensure, Context, Result};
use podium_protocol::{ClockTarget, Command, ErrorCode, Lang, ListName, PageItems};
use podium_tests::api::{self, create_key};
use podium_tests::client::{read_until_close, Client};
use podium_tests::cluster::{links, InProcNode, RedisServer, MEETING};
use podium_tests::http;
use podium_tests::server::{token_of, ADMIN};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

const LEASE: Duration = Duration::from_millis(1500);

/// Three nodes; returns them with the owner's index first, then the two others.
async fn three(redis: &RedisServer) -> Result<(Vec<InProcNode>, usize, [usize; 2])> {
    let mut nodes = Vec::new();
    for id in ["alpha", "beta", "gamma"] {
        nodes.push(InProcNode::start(&redis.url(), id, LEASE).await?);
    }
    let (owner, _) = redis.wait_owner(MEETING, None, Duration::from_secs(10))?;
    let o = nodes
        .iter()
        .position(|n| n.id == owner)
        .context("the owner is one of the nodes")?;
    let others: Vec<usize> = (0..3).filter(|i| *i != o).collect();
    Ok((nodes, o, [others[0], others[1]]))
}

async fn stop_all(nodes: Vec<InProcNode>) -> Result<()> {
    for n in nodes {
        n.stop().await?;
    }
    Ok(())
}

/// The token of a link URL (after `#`, or `#me=` for a personal link).
fn token_in(url: &str) -> String {
    let t = url.split('#').nth(1).unwrap_or_default();
    t.strip_prefix("me=").unwrap_or(t).to_string()
}

/// The segment clock's remaining time as a fresh host client of `addr` sees it at `seq`.
async fn remaining_at(addr: SocketAddr, host: &str, seq: u64) -> Result<i64> {
    let mut c = Client::hello(addr, MEETING, host).await?;
    c.wait_seq(seq).await?;
    Ok(c.state.segment_clock.remaining(0))
}

/// Runs `podium ARGS --cluster URL` with the admin token (or `token`); its stdout.
async fn cli(redis: &RedisServer, args: &[&str], token: Option<&str>) -> Result<String> {
    let bin = podium_tests::server::podium_bin()?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .args(["--cluster", &redis.url()])
        .env("PODIUM_ADMIN_TOKEN", token.unwrap_or(ADMIN));
    if token == Some("") {
        cmd.env_remove("PODIUM_ADMIN_TOKEN");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    ensure!(
        out.status.success(),
        "podium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_commands_and_api_keys_work_from_every_node() -> Result<()> {
    let redis = RedisServer::start()?;
    let (nodes, o, [a, b]) = three(&redis).await?;
    let links = links(&redis.url()).await?;
    let host_t = token_of(&links, "host", None);
    let (na, nb, no) = (nodes[a].addr, nodes[b].addr, nodes[o].addr);

    // A key made on a node that does not own the meeting, used on the other one.
    let (key_id, key) = create_key(na, MEETING, &host_t, "host", "Stream Deck").await?;
    api::must(nb, MEETING, &key, &json!({"type":"start_meeting"})).await?;
    let (seq0, _) = api::state(nb, MEETING, &key).await?;
    let before = remaining_at(no, &host_t, seq0).await?;

    // One keyed command sent to each node in turn: applied once, the others replayed.
    let add = json!({"type":"adjust_clock","target":"segment","seconds":60});
    let idem = [("Idempotency-Key", "add-60-a")];
    let mut seqs = Vec::new();
    let mut replayed = 0;
    for addr in [na, nb, no, na] {
        let r = api::command(addr, MEETING, &key, &add, &idem).await?;
        ensure!(r.status == 200, "{} {}", r.status, r.body);
        replayed += usize::from(r.header("idempotent-replayed") == Some("true"));
        seqs.push(r.json()?["seq"].as_u64().context("seq")?);
    }
    ensure!(seqs.iter().all(|s| *s == seqs[0]), "one seq: {seqs:?}");
    ensure!(replayed == 3, "one applied, three answered from its record");
    // Concurrent copies through both non-owners at once: still once.
    let idem_b = [("Idempotency-Key", "add-60-b")];
    let (r1, r2) = tokio::join!(
        api::command(na, MEETING, &key, &add, &idem_b),
        api::command(nb, MEETING, &key, &add, &idem_b)
    );
    let (r1, r2) = (r1?, r2?);
    ensure!(r1.status == 200 && r2.status == 200, "{r1:?} {r2:?}");
    ensure!(r1.json()?["seq"] == r2.json()?["seq"], "{r1:?} {r2:?}");
    let last = r1.json()?["seq"].as_u64().context("seq")?;
    for addr in [na, nb, no] {
        let moved = remaining_at(addr, &host_t, last).await? - before;
        ensure!(
            moved == 120_000,
            "two keys, two minutes: the clock moved {moved} ms on {addr}"
        );
    }
    // The same key for another request is refused on any node.
    let r = api::command(
        nb,
        MEETING,
        &key,
        &json!({"type":"next_segment"}),
        &[("Idempotency-Key", "add-60-a")],
    )
    .await?;
    ensure!(r.status == 422, "{} {}", r.status, r.body);
    // A refusal from the owner reaches the caller with its status.
    let r = api::command(na, MEETING, &key, &json!({"type":"end_speech"}), &[]).await?;
    ensure!(r.status == 409, "{} {}", r.status, r.body);

    // The key's event stream on one node ends when the key is revoked on another; the
    // key is refused by every node at once.
    let mut stream = tokio::net::TcpStream::connect(nb).await?;
    let head = format!(
        "GET /api/meetings/{MEETING}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await?;
    let mut first = vec![0u8; 4096];
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut stream, &mut first),
    )
    .await??;
    ensure!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "the stream opens: {:?}",
        String::from_utf8_lossy(&first[..n])
    );
    let r = http::request(
        na,
        "DELETE",
        &format!("/api/meetings/{MEETING}/keys/{key_id}"),
        &[("Authorization", &format!("Bearer {host_t}"))],
        b"",
    )
    .await?;
    ensure!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    for addr in [na, nb, no] {
        let r = api::command(addr, MEETING, &key, &add, &[]).await?;
        ensure!(
            r.status == 401,
            "a revoked key on {addr}: {} {}",
            r.status,
            r.body
        );
    }
    // The stream on the other node ends (read to EOF).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = vec![0u8; 4096];
        loop {
            match tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    ensure!(
        ended.is_ok(),
        "the revoked key's event stream on another node did not end"
    );
    stop_all(nodes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotations_removals_invitations_and_pages_reach_every_node() -> Result<()> {
    let redis = RedisServer::start()?;
    let (nodes, o, [a, b]) = three(&redis).await?;
    let links = links(&redis.url()).await?;
    let (host_t, join_t, projector_t) = (
        token_of(&links, "host", None),
        token_of(&links, "participant", None),
        token_of(&links, "projector", None),
    );
    let (na, nb, no) = (nodes[a].addr, nodes[b].addr, nodes[o].addr);
    let mut host = Client::hello(na, MEETING, &host_t).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;

    // A rotation asked of one non-owner closes the old link's screens on every node; the
    // old link opens nothing anywhere, the new one opens everywhere.
    let mut screens = Vec::new();
    for addr in [na, nb, no] {
        screens.push(Client::hello(addr, MEETING, &projector_t).await?);
    }
    let r = http::post(
        nb,
        &format!("/api/meetings/{MEETING}/links/rotate"),
        Some(ADMIN),
        "application/json",
        r#"{"role":"projector"}"#,
    )
    .await?;
    ensure!(r.status == 200, "{} {}", r.status, r.body);
    let fresh = token_in(r.json()?["url"].as_str().unwrap_or_default());
    ensure!(!fresh.is_empty() && fresh != projector_t);
    for (i, s) in screens.iter_mut().enumerate() {
        let end = read_until_close(&mut s.ws).await?;
        ensure!(end.code == Some(4001), "screen {i}: {end:?}");
    }
    for addr in [na, nb, no] {
        let old = Client::hello(addr, MEETING, &projector_t).await;
        ensure!(
            old.as_ref()
                .is_err_and(|e| e.to_string().contains("Unauthorized")),
            "the old projector link on {addr}: {:?}",
            old.map(|c| c.you)
        );
        Client::hello(addr, MEETING, &fresh)
            .await
            .with_context(|| format!("the new projector link on {addr}"))?;
    }
    // The links listed by any node show the new one.
    let r = http::get(nb, &format!("/api/meetings/{MEETING}/links"), Some(ADMIN)).await?;
    ensure!(r.status == 200 && r.body.contains(&fresh) && !r.body.contains(&projector_t));

    // The CLI rotates through a node (the cluster's recorded URL): the observer's link.
    let observer_t = token_of(&links, "observer", None);
    let out = cli(&redis, &["links", "--rotate", "observer", "--json"], None).await?;
    let rotated: serde_json::Value = serde_json::from_str(&out)?;
    let observer_new = token_in(rotated["url"].as_str().unwrap_or_default());
    ensure!(
        !observer_new.is_empty() && observer_new != observer_t,
        "{out}"
    );
    let old = Client::join(na, MEETING, &observer_t, "Late", "Press", Lang::En).await;
    ensure!(
        old.as_ref()
            .is_err_and(|e| e.to_string().contains("Unauthorized")),
        "the old observer link: {:?}",
        old.map(|c| c.you)
    );
    Client::join(nb, MEETING, &observer_new, "Early", "Press", Lang::En).await?;
    // And invites: the CSV comes back with working personal links.
    let csv_in = tempfile::NamedTempFile::new()?;
    std::fs::write(
        csv_in.path(),
        "name,delegation,language,role\nKarim Benali,City of Rabat,fr,participant\n",
    )?;
    let path = csv_in.path().to_string_lossy().to_string();
    let out = cli(&redis, &["invite", MEETING, &path], None).await?;
    let karim_t = token_in(
        out.lines()
            .nth(1)
            .and_then(|l| l.split(',').next_back())
            .unwrap_or(""),
    );
    let karim = Client::hello(no, MEETING, &karim_t)
        .await
        .with_context(|| format!("the CLI's invitation: {out}"))?;
    ensure!(karim.you.name == "Karim Benali", "{:?}", karim.you);
    // Without the admin token the CLI says what it needs.
    let err = cli(&redis, &["links", "--rotate", "observer"], Some("")).await;
    ensure!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("PODIUM_ADMIN_TOKEN")),
        "{err:?}"
    );

    // Personal invitations made through a non-owner: the links work on every node.
    let csv = "name,delegation,language,role,email\n\
               Ana Souza,Brazil,es,participant,ana@example.org\n\
               Lena Svensson,Sweden,en,observer,\n";
    let r = http::post(
        nb,
        &format!("/api/meetings/{MEETING}/invitations"),
        Some(ADMIN),
        "text/csv",
        csv,
    )
    .await?;
    ensure!(r.status == 200, "{} {}", r.status, r.body);
    let mut reader = csv::Reader::from_reader(r.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    ensure!(rows.len() == 2, "{}", r.body);
    let ana_t = token_in(&rows[0][6]);
    let mut ana_on = Vec::new();
    for addr in [na, nb, no] {
        let c = Client::hello(addr, MEETING, &ana_t)
            .await
            .with_context(|| format!("an invited delegate's link on {addr}"))?;
        ensure!(c.you.name == "Ana Souza", "{:?}", c.you);
        ana_on.push(c);
    }
    ana_on[1]
        .must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;

    // Someone joins through a non-owner; the host pages the register from another one.
    let mut troll = Client::join(nb, MEETING, &join_t, "Troll", "Nowhere", Lang::En).await?;
    let troll_pid = troll.you.participant.context("a participant id")?;
    let troll_t = troll
        .participant_token
        .clone()
        .context("a personal token")?;
    let mut troll_elsewhere = Client::hello(no, MEETING, &troll_t)
        .await
        .context("a joined participant's token on the owner")?;
    troll
        .must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
    let mut staff = Client::hello(nb, MEETING, &host_t)
        .await
        .context("the host link")?;
    let page = staff.fetch(ListName::Participants, 0, Some(10)).await?;
    match page {
        Ok((PageItems::Participants(items), total)) => {
            let names: Vec<&str> = items.iter().map(|p| p.name.as_str()).collect();
            ensure!(
                total == 5
                    && names
                        == [
                            "Early",
                            "Karim Benali",
                            "Ana Souza",
                            "Lena Svensson",
                            "Troll"
                        ],
                "{names:?} of {total}"
            );
        }
        other => anyhow::bail!("a page of participants, not {other:?}"),
    }
    // Not to a participant, on any node.
    let refused = troll.fetch(ListName::Participants, 0, Some(10)).await?;
    ensure!(
        matches!(refused, Err((ErrorCode::Forbidden, _))),
        "{refused:?}"
    );

    // The host (on a non-owner) removes the troll: their connections on the other nodes
    // close with 4001, their token opens nothing anywhere, their hand is gone.
    host.must(Command::RemoveParticipant {
        participant: troll_pid,
    })
    .await?;
    for (i, ws) in [&mut troll.ws, &mut troll_elsewhere.ws]
        .into_iter()
        .enumerate()
    {
        let end = read_until_close(ws).await?;
        ensure!(end.code == Some(4001), "troll's connection {i}: {end:?}");
    }
    for addr in [na, nb, no] {
        let again = Client::hello(addr, MEETING, &troll_t).await;
        ensure!(again.is_err(), "a removed participant's token on {addr}");
    }
    for (i, c) in ana_on.iter_mut().enumerate() {
        tokio::time::timeout(
            Duration::from_secs(10),
            c.wait_for(|s| s.queue.len() == 1 && s.queue[0].name == "Ana Souza"),
        )
        .await
        .with_context(|| format!("Ana's screen {i} shows the troll's hand gone"))??;
    }
    // Everyone else carries on, from any node.
    ana_on[2]
        .must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
    host.must(Command::AdjustClock {
        target: ClockTarget::Segment,
        seconds: 30,
    })
    .await?;
    stop_all(nodes).await
}
