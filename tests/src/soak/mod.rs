//! The soak: a long meeting under honest load and abuse at once, against the real binary.
//!
//! One host and N−1 participants (most join at the start, the rest during the run) raise
//! and lower hands; the host adjusts the clock; honest participants reconnect at a fixed
//! rate (closing their socket and resuming with their own token); and a set of
//! misbehaving clients keeps coming back: Ping-frame floods, garbage text, join floods from
//! one address, oversized frames, wrong-token hellos, and readers that never read. The
//! server's RSS is sampled throughout.
//!
//! At the end the server is killed with SIGKILL and restarted on the same data directory,
//! and the run checks that nothing acknowledged was lost: the restarted meeting's `seq` is
//! at least every `seq` an ack named; every participant whose join was acknowledged can
//! resume with their token; and the queue holds exactly the hands whose last acknowledged
//! command raised them.
//!
//! Honest clients parse only the replies they wait for (a change is counted, not decoded),
//! so that the load generator stays light on a shared machine.

mod clients;
mod process;

use crate::client::Client;
use anyhow::{anyhow, Result};
use clients::{honest, issue, join_many, misbehave, Ask, Dice, Honest, Shared, Tally, BAD_KINDS};
use futures_util::StreamExt;
use podium_protocol::{ClockTarget, Command};
use process::{cpu_seconds, links, load1, percentile, rss_kib, start, token};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The `podium` binary.
    pub bin: PathBuf,
    /// How long the abuse and the honest traffic run.
    pub duration: Duration,
    /// RSS is compared with its value at the end of the warm-up.
    pub warmup: Duration,
    /// Honest clients, the host included.
    pub clients: usize,
    /// Of those, how many join during the run rather than at the start.
    pub late_joins: usize,
    /// Misbehaving clients.
    pub bad: usize,
    /// Frames per second each misbehaving client sends (at most).
    pub bad_rate: f64,
    /// Honest reconnects per minute.
    pub reconnects_per_min: f64,
    /// Honest hand commands per second (raise or lower).
    pub hands_per_sec: f64,
    /// How often the server's RSS and the load average are sampled.
    pub sample_every: Duration,
}

/// A sample of the server's memory and the machine's load.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the run started.
    pub t_s: f64,
    /// The server's resident set, KiB.
    pub rss_kib: u64,
    /// What the server's heap holds (`podium_heap_in_use_bytes`), KiB, or -1 where the
    /// server cannot tell: growth here is data kept, growth of RSS alone is the allocator.
    pub heap_kib: i64,
    /// 1-minute load average of the machine.
    pub load1: f64,
    /// Open TCP connections the server reports.
    pub tcp_connections: i64,
}

/// What a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakReport {
    /// Seconds of traffic.
    pub seconds: f64,
    /// Honest clients (host included).
    pub clients: usize,
    /// Misbehaving clients.
    pub bad_clients: usize,
    /// Honest commands acknowledged.
    pub acked: u64,
    /// Honest commands refused by the rules (e.g. a hand already up): not lost, answered.
    pub refused: u64,
    /// Honest commands refused `rate_limited` (must be 0: honest clients stay under it).
    pub honest_rate_limited: u64,
    /// Ack latency of honest commands, ms: p50, p99, max.
    pub ack_p50_ms: f64,
    /// 99th percentile.
    pub ack_p99_ms: f64,
    /// Worst.
    pub ack_max_ms: f64,
    /// Joins acknowledged (start and late).
    pub joins: u64,
    /// Honest reconnects done.
    pub reconnects: u64,
    /// Honest connections the server closed on its own (must be 0).
    pub honest_drops: u64,
    /// Connections of misbehaving clients that the server closed or refused.
    pub bad_closed: u64,
    /// Frames the misbehaving clients sent.
    pub bad_frames: u64,
    /// Server RSS at the end of the warm-up, KiB.
    pub rss_warm_kib: u64,
    /// Highest RSS after the warm-up, KiB.
    pub rss_max_after_warmup_kib: u64,
    /// Server RSS at the end, KiB.
    pub rss_end_kib: u64,
    /// (max after warm-up − at warm-up) / at warm-up, %.
    pub rss_growth_pct: f64,
    /// The server's heap in use at the end of the warm-up and at the last sample, KiB
    /// (-1: not reported).
    pub heap_warm_kib: i64,
    /// At the last sample.
    pub heap_end_kib: i64,
    /// Highest `seq` an ack named.
    pub max_acked_seq: u64,
    /// The restarted meeting's `seq`.
    pub recovered_seq: u64,
    /// Participants registered at the end (honest and abusive joins).
    pub participants_end: usize,
    /// Entries of the hand history at the end (it grows with every hand).
    pub hand_history_end: usize,
    /// The host's view of the state at the end, encoded, bytes (what a staff change
    /// carries while the register and the hand history ride in every change).
    pub staff_state_bytes_end: usize,
    /// Acknowledged changes missing after the kill -9 restart (must be 0).
    pub lost: u64,
    /// Server CPU seconds used.
    pub server_cpu_s: f64,
    /// The samples.
    pub samples: Vec<Sample>,
    /// Problems seen (first 20).
    pub problems: Vec<String>,
}

impl SoakReport {
    /// Whether the run met the targets: nothing lost, no honest client dropped or limited,
    /// RSS growth within 10 % after warm-up, honest ack p99 under 100 ms.
    pub fn verdicts(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("zero acknowledged changes lost", self.lost == 0),
            ("no honest client dropped", self.honest_drops == 0),
            (
                "no honest command rate limited",
                self.honest_rate_limited == 0,
            ),
            (
                "RSS growth after warm-up ≤ 10 %",
                self.rss_growth_pct <= 10.0,
            ),
            ("honest ack p99 < 100 ms", self.ack_p99_ms < 100.0),
        ]
    }
}

/// Runs the soak.
pub async fn run(cfg: SoakConfig) -> Result<SoakReport> {
    let data_root = tempfile::tempdir()?;
    let data = data_root.path().join("data");
    let log = data_root.path().join("podium.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = start(&cfg.bin, &data, port, &log)?;
    let addr = server.addr;
    let pid = server.child.id();
    let links = links(&cfg.bin, &data)?;
    let meeting = links[0]["meeting"].as_str().unwrap_or_default().to_string();
    let host_token = token(&links, "host")?;
    let join_link = token(&links, "participant")?;
    let shared = Arc::new(Shared::default());
    let tally = Arc::new(Mutex::new(Tally::default()));

    // The host opens the floor.
    let mut host = Client::hello(addr, &meeting, &host_token).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    let (host_tx, host_rx) = mpsc::channel(4);
    tokio::spawn(honest(
        addr,
        meeting.clone(),
        host_token.clone(),
        host.ws,
        host_rx,
        shared.clone(),
    ));
    let host = Honest {
        tx: host_tx,
        token: host_token.clone(),
        participant: 0,
        busy: Arc::new(AtomicBool::new(false)),
        hand_up: Arc::new(AtomicBool::new(false)),
    };

    let participants_total = cfg.clients.saturating_sub(1);
    let late = cfg.late_joins.min(participants_total);
    let mut people = join_many(
        addr,
        &meeting,
        &join_link,
        0,
        participants_total - late,
        &shared,
    )
    .await?;
    let mut joins = people.len() as u64;

    let stop = Arc::new(AtomicBool::new(false));
    let mut bad_tasks = Vec::new();
    for i in 0..cfg.bad {
        bad_tasks.push(tokio::spawn(misbehave(
            BAD_KINDS[i % BAD_KINDS.len()],
            addr,
            meeting.clone(),
            join_link.clone(),
            cfg.bad_rate,
            stop.clone(),
            shared.clone(),
        )));
    }

    let t0 = Instant::now();
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut samples = Vec::new();
    let mut next_sample = t0;
    let mut next_adjust = t0;
    let (mut hand_credit, mut reconnect_credit) = (0.0f64, 0.0f64);
    let mut reconnects = 0u64;
    let reconnect_results: Arc<Mutex<Vec<Result<()>>>> = Arc::default();
    let tick = Duration::from_millis(100);
    let join_window = cfg.duration.mul_f64(2.0 / 3.0);
    let mut ticker = tokio::time::interval(tick);
    while t0.elapsed() < cfg.duration {
        ticker.tick().await;
        let now = Instant::now();
        if now >= next_sample {
            next_sample += cfg.sample_every;
            let metrics = crate::http::request(addr, "GET", "/metrics", &[], b"")
                .await
                .map(|r| r.body)
                .unwrap_or_default();
            samples.push(Sample {
                t_s: t0.elapsed().as_secs_f64(),
                rss_kib: rss_kib(pid),
                heap_kib: crate::server::metric_value(&metrics, "podium_heap_in_use_bytes")
                    .map_or(-1, |b| b / 1024),
                load1: load1(),
                tcp_connections: crate::server::metric_value(&metrics, "podium_tcp_connections")
                    .unwrap_or(-1),
            });
        }
        // Late joins, spread over the first two thirds.
        let due = (late as f64 * (t0.elapsed().as_secs_f64() / join_window.as_secs_f64()))
            .min(late as f64) as usize;
        let joined_late = people.len() - (participants_total - late);
        if due > joined_late {
            let more = join_many(
                addr,
                &meeting,
                &join_link,
                people.len(),
                due - joined_late,
                &shared,
            )
            .await?;
            joins += more.len() as u64;
            people.extend(more);
        }
        // Hands.
        hand_credit += cfg.hands_per_sec * tick.as_secs_f64();
        while hand_credit >= 1.0 && !people.is_empty() {
            hand_credit -= 1.0;
            let p = &people[dice.below(people.len())];
            if p.busy.load(Ordering::Relaxed) {
                continue;
            }
            let up = p.hand_up.load(Ordering::Relaxed);
            let command = if up {
                Command::LowerHand {
                    point_of_order: false,
                }
            } else {
                Command::RaiseHand {
                    language: None,
                    point_of_order: false,
                }
            };
            let flag = p.hand_up.clone();
            issue(p, command, tally.clone(), shared.clone(), move || {
                flag.store(!up, Ordering::Relaxed)
            });
        }
        // The host adjusts the clock every 5 s.
        if now >= next_adjust && !host.busy.load(Ordering::Relaxed) {
            next_adjust += Duration::from_secs(5);
            issue(
                &host,
                Command::AdjustClock {
                    target: ClockTarget::Segment,
                    seconds: 1,
                },
                tally.clone(),
                shared.clone(),
                || {},
            );
        }
        // Reconnects.
        reconnect_credit += cfg.reconnects_per_min / 60.0 * tick.as_secs_f64();
        while reconnect_credit >= 1.0 && !people.is_empty() {
            reconnect_credit -= 1.0;
            let p = &people[dice.below(people.len())];
            if p.busy.swap(true, Ordering::Relaxed) {
                continue;
            }
            reconnects += 1;
            let (reply, answer) = oneshot::channel();
            let (tx, busy, results) = (p.tx.clone(), p.busy.clone(), reconnect_results.clone());
            tokio::spawn(async move {
                if tx.send(Ask::Reconnect(reply)).await.is_ok() {
                    let r = answer
                        .await
                        .unwrap_or_else(|_| Err(anyhow!("client task ended")));
                    results.lock().unwrap().push(r);
                }
                busy.store(false, Ordering::Relaxed);
            });
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in bad_tasks {
        t.abort();
    }
    // Let commands in flight finish.
    let settle = Instant::now() + Duration::from_secs(35);
    while people
        .iter()
        .chain([&host])
        .any(|p| p.busy.load(Ordering::Relaxed))
        && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_end = rss_kib(pid);
    let server_cpu_s = cpu_seconds(pid);
    for r in reconnect_results.lock().unwrap().iter() {
        if let Err(e) = r {
            shared.problem(format!("a reconnect failed: {e:#}"));
        }
    }

    // Kill -9 and restart on the same data; check what was acknowledged.
    shared.stopping.store(true, Ordering::Relaxed);
    drop(server);
    let server = start(&cfg.bin, &data, port, &log)?;
    let mut lost = 0u64;
    let host_again = Client::hello(server.addr, &meeting, &host_token).await?;
    let recovered_seq = host_again.seq;
    // Staff views carry the lengths of the register and the hand history, not the lists.
    let participants_end = host_again.state.participant_count.unwrap_or(0);
    let hand_history_end = host_again.state.hand_history_len.unwrap_or(0);
    let staff_state_bytes_end = serde_json::to_string(&host_again.state)
        .map(|s| s.len())
        .unwrap_or(0);
    let max_acked_seq = shared.max_acked_seq.load(Ordering::Relaxed);
    if recovered_seq < max_acked_seq {
        lost += max_acked_seq - recovered_seq;
        shared.problem(format!(
            "restarted at seq {recovered_seq}, acks named up to {max_acked_seq}"
        ));
    }
    let queue: BTreeSet<u64> = host_again
        .state
        .queue
        .iter()
        .filter(|h| !h.point_of_order)
        .map(|h| h.participant)
        .collect();
    for p in &people {
        let up = p.hand_up.load(Ordering::Relaxed);
        if up != queue.contains(&p.participant) {
            lost += 1;
            shared.problem(format!(
                "participant {}: last acknowledged hand {}, restarted queue says {}",
                p.participant,
                if up { "up" } else { "down" },
                if up { "down" } else { "up" }
            ));
        }
    }
    let resumed: Vec<Result<()>> =
        futures_util::stream::iter(people.iter().map(|p| p.token.clone()))
            .map(|t| {
                let meeting = meeting.clone();
                let addr = server.addr;
                async move { Client::hello(addr, &meeting, &t).await.map(drop) }
            })
            .buffer_unordered(32)
            .collect()
            .await;
    for r in resumed {
        if let Err(e) = r {
            lost += 1;
            shared.problem(format!("an acknowledged join cannot resume: {e:#}"));
        }
    }
    drop(server);

    let warm = samples
        .iter()
        .find(|s| s.t_s >= cfg.warmup.as_secs_f64())
        .map(|s| s.rss_kib)
        .unwrap_or(0);
    let max_after = samples
        .iter()
        .filter(|s| s.t_s >= cfg.warmup.as_secs_f64())
        .map(|s| s.rss_kib)
        .max()
        .unwrap_or(0);
    let heap_warm = samples
        .iter()
        .find(|s| s.t_s >= cfg.warmup.as_secs_f64())
        .map_or(-1, |s| s.heap_kib);
    let heap_end = samples.last().map_or(-1, |s| s.heap_kib);
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let mut lat = tally.latencies_ms;
    lat.sort_by(f64::total_cmp);
    let problems = shared.problems.lock().unwrap().clone();
    Ok(SoakReport {
        seconds,
        clients: cfg.clients,
        bad_clients: cfg.bad,
        acked: tally.acked,
        refused: tally.refused,
        honest_rate_limited: tally.rate_limited,
        ack_p50_ms: percentile(&lat, 0.5),
        ack_p99_ms: percentile(&lat, 0.99),
        ack_max_ms: lat.last().copied().unwrap_or(0.0),
        joins,
        reconnects,
        honest_drops: shared.honest_drops.load(Ordering::Relaxed),
        bad_closed: shared.bad_closed.load(Ordering::Relaxed),
        bad_frames: shared.bad_frames.load(Ordering::Relaxed),
        rss_warm_kib: warm,
        rss_max_after_warmup_kib: max_after,
        rss_end_kib: rss_end,
        rss_growth_pct: if warm > 0 {
            (max_after as f64 - warm as f64) / warm as f64 * 100.0
        } else {
            0.0
        },
        heap_warm_kib: heap_warm,
        heap_end_kib: heap_end,
        max_acked_seq,
        recovered_seq,
        participants_end,
        hand_history_end,
        staff_state_bytes_end,
        lost,
        server_cpu_s,
        samples,
        problems,
    })
}
