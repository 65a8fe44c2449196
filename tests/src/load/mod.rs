//! The load generator's library: connect N clients to a target through the real protocol,
//! run the named scenarios, and report figures. `src/bin/podium-load.rs` is the command
//! line; `tests/load_small.rs` runs the same code at a small N and checks correctness.
//!
//! One population of clients serves every scenario of a run, in this order:
//! setup (N joins) → `idle-memory` → `fanout` → `hand-storm` → `reconnect-storm` →
//! `durable-commands`. Every wait is bounded by [`LoadConfig::timeout`]. Clients beyond
//! [`LoadConfig::per_process`] are held by worker processes ([`worker`]), so that a run
//! may hold more clients than one process may open files; every figure covers them all.
//!
//! - [`run`] (the module): the controller; [`scenarios`]: what each scenario does;
//!   [`report`]: what it reports; [`client`]: one light websocket client; [`target`]: the
//!   servers measured; [`stats`]: percentiles and `/proc`.

pub mod client;
pub mod report;
mod run;
mod scenarios;
pub mod stats;
pub mod target;
pub mod worker;

use anyhow::{anyhow, bail, Context, Result};
use client::{Ctl, Kind, Shared};
pub use report::*;
use run::{ms, Run};
use serde::Serialize;
use stats::{cpu_seconds, rss_kib, summary, tcp_mem_kib, Summary};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use target::{PodiumLinks, TargetKind};
use tokio::io::AsyncReadExt;

/// A named scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Host changes, latency to every client.
    Fanout,
    /// RSS and socket memory with N idle clients.
    IdleMemory,
    /// M hands within a second while everyone watches.
    HandStorm,
    /// Everyone drops and comes back.
    ReconnectStorm,
    /// Sustained durable commands per second.
    DurableCommands,
}

impl Scenario {
    /// Every scenario, in run order.
    pub const ALL: [Scenario; 5] = [
        Scenario::IdleMemory,
        Scenario::Fanout,
        Scenario::HandStorm,
        Scenario::ReconnectStorm,
        Scenario::DurableCommands,
    ];

    /// Parses a scenario name.
    pub fn parse(s: &str) -> Result<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| anyhow!("unknown scenario {s:?}"))
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Fanout => "fanout",
            Scenario::IdleMemory => "idle-memory",
            Scenario::HandStorm => "hand-storm",
            Scenario::ReconnectStorm => "reconnect-storm",
            Scenario::DurableCommands => "durable-commands",
        }
    }
}

/// How big a run is.
#[derive(Debug, Clone, Serialize)]
pub struct LoadConfig {
    /// Clients (besides the host / control client).
    pub n: usize,
    /// State changes in `fanout`.
    pub updates: usize,
    /// Hands in `hand-storm` (at most the participants).
    pub hands: usize,
    /// Seconds of `durable-commands`.
    pub durable_secs: f64,
    /// Participants that send commands in `durable-commands`.
    pub durable_clients: usize,
    /// Handshakes in flight at once (setup and reconnect storm).
    pub connect_parallel: usize,
    /// Which scenarios to run.
    pub scenarios: Vec<Scenario>,
    /// Keep (and verify) the last state of every this-many-th client; 1 = all.
    pub verify_every: usize,
    /// Bound on every wait.
    pub timeout: Duration,
    /// The protocol version clients speak (1 to measure a server from before version 2).
    pub protocol: u32,
    /// Clients one process holds at most (the host included); the rest go to workers.
    pub per_process: usize,
    /// This executable, to start workers (`None`: every client in this process).
    #[serde(skip)]
    pub exe: Option<PathBuf>,
}

impl LoadConfig {
    /// Defaults for `n` clients.
    pub fn new(n: usize) -> LoadConfig {
        LoadConfig {
            n,
            updates: 50,
            hands: 1000.min(n),
            durable_secs: 5.0,
            durable_clients: 500.min(n),
            connect_parallel: 256,
            scenarios: Scenario::ALL.to_vec(),
            verify_every: if n <= 1000 { 1 } else { 50 },
            timeout: Duration::from_secs(120),
            protocol: podium_protocol::PROTOCOL_VERSION,
            per_process: 10_000,
            exe: None,
        }
    }

    fn participants(&self) -> usize {
        self.hands.max(self.durable_clients).min(self.n)
    }
}

/// Where the clients connect, and what they say.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    /// Podium or the relay.
    pub kind: TargetKind,
    /// Its websocket address.
    pub addr: SocketAddr,
    /// Its process, for CPU and memory (an in-process server: this process).
    pub pid: u32,
    /// Podium's links.
    pub links: Option<PodiumLinks>,
}

/// p50/p99/max (as bucket upper bounds, ms) of the observations between two scrapes of a
/// cumulative histogram.
pub(crate) fn histogram_delta(a: &[(f64, u64)], b: &[(f64, u64)]) -> Summary {
    let delta: Vec<(f64, u64)> = b
        .iter()
        .map(|(le, n)| {
            let before = a
                .iter()
                .find(|(x, _)| x == le)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            (*le, n.saturating_sub(before))
        })
        .collect();
    let total = delta.last().map(|(_, n)| *n).unwrap_or(0);
    let q = |p: f64| {
        let want = ((p * total as f64).ceil() as u64).max(1);
        delta
            .iter()
            .find(|(_, n)| *n >= want)
            .map(|(le, _)| le * 1000.0)
            .unwrap_or(f64::INFINITY)
    };
    let max = delta
        .iter()
        .find(|(_, n)| *n >= total)
        .map(|(le, _)| le * 1000.0)
        .unwrap_or(0.0);
    Summary {
        n: total as usize,
        p50: q(0.5),
        p99: q(0.99),
        max,
    }
}

/// A plain HTTP/1.0 GET on loopback.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await??;
    let text = String::from_utf8_lossy(&out).to_string();
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text))
}

/// Runs the configured scenarios against a Podium server or a relay.
pub async fn run(cfg: &LoadConfig, t: &TargetInfo) -> Result<TargetReport> {
    if t.kind == TargetKind::Floor {
        bail!("use run_floor for the floor");
    }
    let participants = cfg.participants();
    // This process: the participants, observers up to `per_process`, and the host.
    let local = match &cfg.exe {
        Some(_) => cfg.n.min(cfg.per_process.max(participants + 1) - 1),
        None => cfg.n,
    };
    let mut kinds = vec![Kind::Participant; participants];
    kinds.resize(local, Kind::Observer);
    kinds.push(Kind::Host);
    let (sh, ev) = Shared::new(&kinds, cfg.verify_every);
    // Workers: blocks of observers for the rest.
    let mut remote = Vec::new();
    if let Some(exe) = &cfg.exe {
        let mut first = local;
        while first < cfg.n {
            let n = (cfg.n - first).min(cfg.per_process);
            let spec = worker::Spec {
                addr: t.addr,
                path: if t.links.is_some() { "/ws" } else { "/" }.into(),
                join: t
                    .links
                    .as_ref()
                    .map(|l| (l.meeting.clone(), l.observer.clone())),
                protocol: cfg.protocol,
                n,
                first,
                keep_every: cfg.verify_every,
                parallel: cfg.connect_parallel,
            };
            remote.push(worker::Remote::start(exe, &spec)?);
            first += n;
        }
    }
    let mut run = Run {
        cfg: cfg.clone(),
        t: t.clone(),
        sh,
        ev,
        all: (0..local).collect(),
        host: local,
        participants,
        remote,
        next_id: 0,
        errors: Vec::new(),
        last_cmd: Instant::now() - Duration::from_secs(1),
    };
    let rss0 = rss_kib(t.pid);
    let tcp0 = tcp_mem_kib();
    let mut report = TargetReport {
        target: t.kind.name().into(),
        n: cfg.n,
        processes: 1 + run.remote.len(),
        ..Default::default()
    };
    let (recv0, me0) = run.totals().await?;
    let (setup_s, setup_bytes) = run.setup().await.context("setup")?;
    report.setup_s = setup_s;
    report.setup_bytes = run.podium().then_some(setup_bytes);
    let has = |s| cfg.scenarios.contains(&s);
    if has(Scenario::IdleMemory) {
        report.idle_memory = Some(run.idle_memory(rss0, tcp0).await.context("idle-memory")?);
    }
    if has(Scenario::Fanout) {
        report.fanout = Some(run.fanout().await.context("fanout")?);
    }
    if has(Scenario::HandStorm) {
        report.hand_storm = Some(run.hand_storm().await.context("hand-storm")?);
        run.clear_queue().await.context("clear the queue")?;
    }
    if has(Scenario::ReconnectStorm) {
        report.reconnect_storm = Some(run.reconnect_storm().await.context("reconnect-storm")?);
    }
    if has(Scenario::DurableCommands) && run.podium() {
        report.durable_commands = Some(run.durable().await.context("durable-commands")?);
    }
    let (recv1, me1) = run.totals().await?;
    report.messages_received = recv1 - recv0;
    report.loadgen_cpu_us_per_msg = (me1 - me0) * 1e6 / report.messages_received.max(1) as f64;
    // Close everyone (bounded).
    for i in 0..run.sh.slots.len() {
        run.sh.order(i, Ctl::Close);
    }
    let sh = run.sh.clone();
    let closing = run.ask_all(worker::Order::Close);
    let deadline = Instant::now() + Duration::from_secs(10);
    let local_closed = async {
        while sh.slots.iter().any(|s| s.open.load(Ordering::Acquire)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (closed, ()) = tokio::join!(closing, local_closed);
    if let Err(e) = closed {
        run.note(format!("closing the workers: {e:#}"));
    }
    for w in std::mem::take(&mut run.remote) {
        w.wait().await;
    }
    run.drain_events();
    report.errors = run.errors;
    Ok(report)
}

/// The floor: `rounds` rounds of one `frame`-byte write to each of `n` loopback sockets,
/// by the `floor-writer` child `w`; counts the writer's CPU per frame written.
pub async fn run_floor(
    w: &mut target::FloorWriter,
    n: usize,
    rounds: usize,
    frame: usize,
) -> Result<TargetReport> {
    use std::sync::atomic::AtomicU64;
    let addr = w.target.addr;
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let t0 = Instant::now();
    for i in 0..n {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let counts = counts.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(k) = s.read(&mut buf).await {
                if k == 0 {
                    break;
                }
                counts[i].fetch_add(k as u64, Ordering::Release);
            }
        });
    }
    let setup = t0.elapsed().as_secs_f64();
    let pid = w.target.pid;
    let cpu0 = cpu_seconds(pid);
    let mut last = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let t = Instant::now();
        let want = ((r + 1) * frame) as u64;
        tokio::task::block_in_place(|| w.round())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut from = 0;
        loop {
            while from < n && counts[from].load(Ordering::Acquire) >= want {
                from += 1;
            }
            if from == n {
                break;
            }
            if Instant::now() > deadline {
                bail!("floor: readers did not get round {r}");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        last.push(ms(t.elapsed()));
    }
    let cpu = cpu_seconds(pid) - cpu0;
    Ok(TargetReport {
        target: "floor".into(),
        n,
        setup_s: setup,
        floor: Some(FloorReport {
            rounds,
            frame_bytes: frame,
            cpu_us_per_delivery: cpu * 1e6 / (rounds * n).max(1) as f64,
            last_client_ms: summary(&mut last),
        }),
        ..Default::default()
    })
}
