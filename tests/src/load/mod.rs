//! The load generator's library: connect N clients to a target through the real protocol,
//! run the named scenarios, and report figures. `src/bin/podium-load.rs` is the command
//! line; `tests/load_small.rs` runs the same code at a small N and checks correctness.
//!
//! One population of clients serves every scenario of a run, in this order:
//! setup (N joins) → `idle-memory` → `fanout` → `hand-storm` → `reconnect-storm` →
//! `durable-commands`. Every wait is bounded by [`LoadConfig::timeout`].

pub mod client;
pub mod stats;
pub mod target;

use anyhow::{anyhow, bail, Context, Result};
use client::{Auth, Ctl, Ev, Kind, Shared};
use futures_util::StreamExt;
use podium_protocol::{ClientMessage, ClockTarget, Command, ServerMessage};
use serde::Serialize;
use stats::{cpu_seconds, rss_kib, self_cpu_seconds, summary, tcp_mem_kib, Summary};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use target::{PodiumLinks, TargetKind};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

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

/// `fanout` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FanoutReport {
    /// Updates sent.
    pub updates: usize,
    /// Size of one update's message as received, bytes.
    pub message_bytes: usize,
    /// Host send → receipt, over every (update, client), ms.
    pub latency_ms: Summary,
    /// Host send → the last client has it, over updates, ms.
    pub last_client_ms: Summary,
    /// Server CPU seconds over the scenario.
    pub server_cpu_s: f64,
    /// Server CPU per delivered update (one message to one client), µs.
    pub server_cpu_us_per_delivery: f64,
    /// Load generator CPU per received message, µs.
    pub loadgen_cpu_us_per_msg: f64,
    /// Server-side: state published → last socket written, from `/metrics` (Podium), ms.
    pub server_fanout_ms: Option<Summary>,
}

/// `idle-memory` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleReport {
    /// Server RSS before any client, KiB.
    pub rss_0_kib: u64,
    /// With N idle clients, KiB.
    pub rss_n_kib: u64,
    /// (rss_n − rss_0) / N, bytes.
    pub rss_per_conn_bytes: f64,
    /// Kernel TCP memory before, KiB (both ends of every loopback socket count).
    pub tcp_mem_0_kib: u64,
    /// With N idle clients, KiB.
    pub tcp_mem_n_kib: u64,
    /// Kernel TCP memory per connection (both ends), bytes.
    pub tcp_mem_per_conn_bytes: f64,
    /// Load generator RSS with N clients, KiB.
    pub loadgen_rss_kib: u64,
}

/// `hand-storm` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HandReport {
    /// Hands raised.
    pub hands: usize,
    /// Clients watching.
    pub watchers: usize,
    /// First hand sent → last hand sent, ms.
    pub spread_ms: f64,
    /// Last hand sent → every client holds the final queue, ms.
    pub all_have_final_ms: f64,
    /// Per client: last hand sent → it holds the final queue, ms.
    pub per_client_ms: Summary,
    /// Size of the final state message, bytes.
    pub final_message_bytes: usize,
    /// Server CPU seconds from the first hand until every client had the final queue.
    pub server_cpu_s: f64,
    /// Clients whose final state was parsed and checked.
    pub verified: usize,
}

/// `reconnect-storm` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconnectReport {
    /// Clients that dropped and came back.
    pub clients: usize,
    /// Drop order → every client back with the current state, ms.
    pub all_back_ms: f64,
    /// Per client: drop order → its state arrived, ms.
    pub per_client_ms: Summary,
    /// Server CPU seconds over the storm.
    pub server_cpu_s: f64,
}

/// `durable-commands` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DurableReport {
    /// Participants sending.
    pub clients: usize,
    /// Seconds.
    pub secs: f64,
    /// Accepted (durable, acknowledged) commands.
    pub accepted: u64,
    /// Refused ones.
    pub refused: u64,
    /// Accepted per second.
    pub per_sec: f64,
    /// Server CPU seconds.
    pub server_cpu_s: f64,
    /// The journal's policy.
    pub fsync_policy: String,
}

/// `floor` figures: a plain loop writing one frame to every socket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FloorReport {
    /// Rounds.
    pub rounds: usize,
    /// Frame size.
    pub frame_bytes: usize,
    /// Writer CPU per frame written, µs.
    pub cpu_us_per_delivery: f64,
    /// Round start → the last reader has it, ms.
    pub last_client_ms: Summary,
}

/// Everything one target produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetReport {
    /// `podium`, `ws-relay` or `floor`.
    pub target: String,
    /// Clients.
    pub n: usize,
    /// Seconds to connect (and join) all clients.
    pub setup_s: f64,
    /// `idle-memory`.
    pub idle_memory: Option<IdleReport>,
    /// `fanout`.
    pub fanout: Option<FanoutReport>,
    /// `hand-storm`.
    pub hand_storm: Option<HandReport>,
    /// `reconnect-storm`.
    pub reconnect_storm: Option<ReconnectReport>,
    /// `durable-commands`.
    pub durable_commands: Option<DurableReport>,
    /// `floor`.
    pub floor: Option<FloorReport>,
    /// Load generator CPU per received message over the whole run, µs.
    pub loadgen_cpu_us_per_msg: f64,
    /// Messages received by the load generator.
    pub messages_received: u64,
    /// Unexpected errors (first 20).
    pub errors: Vec<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn command_text(id: u64, command: Command) -> String {
    serde_json::to_string(&ClientMessage::Command { id, command }).expect("serialises")
}

/// The controller's side of a run.
struct Run {
    cfg: LoadConfig,
    t: TargetInfo,
    sh: Arc<Shared>,
    ev: mpsc::UnboundedReceiver<Ev>,
    /// Indices of the N watching clients (0..n); the host is `n`.
    all: Vec<usize>,
    host: usize,
    participants: usize,
    next_id: u64,
    errors: Vec<String>,
    last_cmd: Instant,
}

impl Run {
    fn podium(&self) -> bool {
        self.t.kind == TargetKind::Podium
    }

    fn note(&mut self, e: impl std::fmt::Display) {
        if self.errors.len() < 20 {
            self.errors.push(e.to_string());
        }
    }

    fn auth(&self, i: usize) -> (String, Auth) {
        let Some(l) = &self.t.links else {
            let path = if i == self.host { "/control" } else { "/" };
            return (path.into(), Auth::None);
        };
        let auth = match self.sh.slots[i].kind {
            Kind::Host => Auth::Hello {
                meeting: l.meeting.clone(),
                token: l.host.clone(),
            },
            kind => Auth::Join {
                meeting: l.meeting.clone(),
                token: if kind == Kind::Participant {
                    l.participant.clone()
                } else {
                    l.observer.clone()
                },
                name: format!("Load client {i}"),
                delegation: format!("Delegation {}", i % 193),
            },
        };
        ("/ws".into(), auth)
    }

    /// Connects clients `idx` (joining, or resuming with their tokens), `parallel` at once.
    async fn connect(&self, idx: &[usize], resume: bool) -> Result<()> {
        let addr = self.t.addr;
        let results: Vec<Result<()>> = futures_util::stream::iter(idx.iter().copied())
            .map(|i| {
                let (path, mut auth) = self.auth(i);
                if resume {
                    if let (Some(l), Some(token)) = (
                        &self.t.links,
                        self.sh.slots[i].token.lock().unwrap().clone(),
                    ) {
                        auth = Auth::Hello {
                            meeting: l.meeting.clone(),
                            token,
                        };
                    }
                }
                let sh = self.sh.clone();
                async move {
                    let (ws, token) = client::handshake(addr, &path, &auth)
                        .await
                        .with_context(|| format!("client {i}"))?;
                    if let Some(t) = token {
                        *sh.slots[i].token.lock().unwrap() = Some(t);
                    }
                    client::spawn(ws, i, sh);
                    Ok(())
                }
            })
            .buffer_unordered(self.cfg.connect_parallel.max(1))
            .collect()
            .await;
        let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        if let Some(e) = failed.first() {
            bail!(
                "{} of {} connections failed; first: {e:#}",
                failed.len(),
                idx.len()
            );
        }
        Ok(())
    }

    /// The highest state seq any watching client has. The host is left out: it also
    /// sees staff-only changes (joins), which Podium does not send to participants.
    fn current(&self) -> u64 {
        self.sh
            .slots
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.host)
            .map(|(_, s)| s.last_seq.load(Ordering::Acquire))
            .max()
            .unwrap_or(0)
    }

    /// The server allows 20 messages/s per connection: the host stays under it.
    async fn pace(&self) {
        let since = self.last_cmd.elapsed();
        if since < Duration::from_millis(55) {
            tokio::time::sleep(Duration::from_millis(55) - since).await;
        }
    }

    /// Sends a command from client `i` and waits for its ack: `Ok(seq)` or the refusal.
    async fn command(&mut self, i: usize, command: Command) -> Result<Result<u64, String>> {
        if i == self.host {
            self.pace().await;
        }
        self.last_cmd = Instant::now();
        self.next_id += 1;
        let id = self.next_id;
        if !self.sh.order(i, Ctl::Send(command_text(id, command))) {
            bail!("client {i} is gone");
        }
        self.await_reply(i, id).await
    }

    async fn await_reply(&mut self, i: usize, id: u64) -> Result<Result<u64, String>> {
        let deadline = tokio::time::Instant::now() + self.cfg.timeout;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.ev.recv())
                .await
                .map_err(|_| anyhow!("no answer to request {id} of client {i}"))?
                .ok_or_else(|| anyhow!("event channel closed"))?;
            match ev {
                Ev::Ack {
                    client,
                    id: got,
                    seq,
                    ..
                } if client == i && got == id => return Ok(Ok(seq)),
                Ev::Error {
                    client,
                    id: Some(got),
                    message,
                } if client == i && got == id => return Ok(Err(message)),
                Ev::Closed { client } if client == i => bail!("client {i} closed"),
                other => self.note(format!("unexpected {other:?}")),
            }
        }
    }

    fn drain_events(&mut self) {
        while let Ok(ev) = self.ev.try_recv() {
            if !matches!(ev, Ev::Closed { .. }) {
                self.note(format!("unexpected {ev:?}"));
            }
        }
    }

    async fn setup(&mut self) -> Result<f64> {
        let t0 = Instant::now();
        self.connect(&[self.host], false).await?;
        if self.podium() {
            match self.command(self.host, Command::StartMeeting).await? {
                Ok(_) => {}
                Err(m) if m.contains("already") || m.contains("started") => {}
                Err(m) => bail!("start_meeting refused: {m}"),
            }
        }
        let all = self.all.clone();
        self.connect(&all, false).await?;
        let cur = self.current();
        self.sh.wait_all(&all, cur, self.cfg.timeout).await?;
        self.drain_events();
        Ok(t0.elapsed().as_secs_f64())
    }

    async fn idle_memory(&mut self, rss0: u64, tcp0: u64) -> Result<IdleReport> {
        // Let the setup's allocations and socket buffers settle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let n = self.cfg.n.max(1) as f64;
        let rss_n = rss_kib(self.t.pid);
        let tcp_n = tcp_mem_kib();
        Ok(IdleReport {
            rss_0_kib: rss0,
            rss_n_kib: rss_n,
            rss_per_conn_bytes: (rss_n as f64 - rss0 as f64) * 1024.0 / n,
            tcp_mem_0_kib: tcp0,
            tcp_mem_n_kib: tcp_n,
            tcp_mem_per_conn_bytes: (tcp_n as f64 - tcp0 as f64) * 1024.0 / n,
            loadgen_rss_kib: rss_kib(std::process::id()),
        })
    }

    async fn fanout(&mut self) -> Result<FanoutReport> {
        let all = self.all.clone();
        self.sh.reset_logs();
        let metrics0 = self.scrape_fanout().await;
        let cpu0 = cpu_seconds(self.t.pid);
        let me0 = self_cpu_seconds();
        let recv0 = self.sh.received.load(Ordering::Relaxed);
        let mut lat = Vec::with_capacity(self.cfg.updates * all.len());
        let mut last = Vec::with_capacity(self.cfg.updates);
        for k in 0..self.cfg.updates {
            let base = self.current();
            let seconds = if k % 2 == 0 { 30 } else { -30 };
            self.pace().await;
            let t0 = Instant::now();
            let seq = match self
                .command(
                    self.host,
                    Command::AdjustClock {
                        target: ClockTarget::Segment,
                        seconds,
                    },
                )
                .await?
            {
                Ok(seq) => seq,
                Err(m) => bail!("adjust_clock refused: {m}"),
            };
            self.sh.wait_all(&all, seq, self.cfg.timeout).await?;
            let got = self.sh.arrivals(&all, base + 1, t0);
            let mut worst: f64 = 0.0;
            for a in got {
                let d = ms(a.ok_or_else(|| anyhow!("an arrival is missing"))? - t0);
                worst = worst.max(d);
                lat.push(d);
            }
            last.push(worst);
        }
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let me = self_cpu_seconds() - me0;
        let recv = self.sh.received.load(Ordering::Relaxed) - recv0;
        let deliveries = (self.cfg.updates * all.len()).max(1) as f64;
        let message_bytes = self.sh.slots[0]
            .last_text
            .lock()
            .unwrap()
            .as_ref()
            .map(|t| t.len())
            .unwrap_or(0);
        let server_fanout_ms = match (metrics0, self.scrape_fanout().await) {
            (Some(a), Some(b)) => Some(histogram_delta(&a, &b)),
            _ => None,
        };
        Ok(FanoutReport {
            updates: self.cfg.updates,
            message_bytes,
            latency_ms: summary(&mut lat),
            last_client_ms: summary(&mut last),
            server_cpu_s: cpu,
            server_cpu_us_per_delivery: cpu * 1e6 / deliveries,
            loadgen_cpu_us_per_msg: me * 1e6 / recv.max(1) as f64,
            server_fanout_ms,
        })
    }

    async fn hand_storm(&mut self) -> Result<HandReport> {
        let all = self.all.clone();
        let m = self.cfg.hands.min(self.participants);
        self.sh.reset_logs();
        let cpu0 = cpu_seconds(self.t.pid);
        let first = Instant::now() + Duration::from_millis(50);
        let step = Duration::from_secs(1) / m.max(1) as u32;
        let base_id = self.next_id + 1;
        self.next_id += m as u64 + 1;
        // Raise the hands on schedule, in a task of its own.
        let sh = self.sh.clone();
        let sched = tokio::spawn(async move {
            let mut last = first;
            for i in 0..m {
                tokio::time::sleep_until((first + step * i as u32).into()).await;
                let cmd = Command::RaiseHand {
                    language: None,
                    point_of_order: false,
                };
                sh.order(i, Ctl::Send(command_text(base_id + i as u64, cmd)));
                last = Instant::now();
            }
            last
        });
        let mut final_seq = 0;
        let mut answered = 0;
        let deadline = tokio::time::Instant::now() + self.cfg.timeout;
        while answered < m {
            let ev = tokio::time::timeout_at(deadline, self.ev.recv())
                .await
                .map_err(|_| anyhow!("only {answered} of {m} hands were answered"))?
                .ok_or_else(|| anyhow!("event channel closed"))?;
            match ev {
                Ev::Ack { seq, .. } => {
                    answered += 1;
                    final_seq = final_seq.max(seq);
                }
                Ev::Error { message, .. } => {
                    answered += 1;
                    self.note(format!("hand refused: {message}"));
                }
                Ev::Closed { client } => bail!("client {client} closed during the hand storm"),
            }
        }
        let last_hand = sched.await?;
        self.sh.wait_all(&all, final_seq, self.cfg.timeout).await?;
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let got = self.sh.arrivals(&all, final_seq, first);
        let mut per: Vec<f64> = got
            .iter()
            .map(|a| {
                a.map(|a| ms(a.saturating_duration_since(last_hand)))
                    .unwrap_or(f64::NAN)
            })
            .collect();
        if per.iter().any(|x| x.is_nan()) {
            bail!("a client's final state arrival is missing");
        }
        let all_have = per.iter().cloned().fold(0.0, f64::max);
        // Verify: the kept final states hold exactly the m hands.
        let mut verified = 0;
        let mut final_bytes = 0;
        for &i in &all {
            let text = self.sh.slots[i].last_text.lock().unwrap().clone();
            let Some(text) = text else { continue };
            final_bytes = text.len();
            let hands = if self.podium() {
                match serde_json::from_str::<ServerMessage>(&text)? {
                    ServerMessage::Change { seq, state, .. } => {
                        if seq != final_seq {
                            bail!("client {i} holds seq {seq}, not {final_seq}");
                        }
                        // Participants get the first hands in full and the queue's
                        // length (see PUBLIC_QUEUE_DETAIL).
                        let detailed = m.min(podium_protocol::PUBLIC_QUEUE_DETAIL);
                        if state.queue.len() != detailed {
                            bail!(
                                "client {i} has {} hands in full, not {detailed}",
                                state.queue.len()
                            );
                        }
                        state.queue_len.unwrap_or(state.queue.len())
                    }
                    _ => bail!("client {i}'s last state is not a change"),
                }
            } else {
                let v: serde_json::Value = serde_json::from_str(&text)?;
                v["hands"].as_u64().unwrap_or(0) as usize
            };
            if hands != m {
                bail!("client {i} holds a queue of {hands} hands, not {m}");
            }
            verified += 1;
        }
        Ok(HandReport {
            hands: m,
            watchers: all.len(),
            spread_ms: ms(last_hand - first),
            all_have_final_ms: all_have,
            per_client_ms: summary(&mut per),
            final_message_bytes: final_bytes,
            server_cpu_s: cpu,
            verified,
        })
    }

    /// Empties the queue (Podium: `clear_queue`; the relay: a control message saying so).
    async fn clear_queue(&mut self) -> Result<()> {
        let all = self.all.clone();
        match self.command(self.host, Command::ClearQueue).await? {
            Ok(seq) => self.sh.wait_all(&all, seq, self.cfg.timeout).await,
            Err(m) => bail!("clear_queue refused: {m}"),
        }
    }

    async fn reconnect_storm(&mut self) -> Result<ReconnectReport> {
        let all = self.all.clone();
        let cur = self.current();
        self.sh.reset_logs();
        let cpu0 = cpu_seconds(self.t.pid);
        let t0 = Instant::now();
        let addr = self.t.addr;
        let sh = self.sh.clone();
        let links = self.t.links.clone();
        let results: Vec<Result<()>> = futures_util::stream::iter(all.iter().copied())
            .map(|i| {
                let sh = sh.clone();
                let links = links.clone();
                async move {
                    sh.order(i, Ctl::Close);
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while sh.slots[i].open.load(Ordering::Acquire) {
                        if Instant::now() > deadline {
                            bail!("client {i} did not close");
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    sh.slots[i].last_seq.store(0, Ordering::Release);
                    let (path, auth) = match &links {
                        Some(l) => (
                            "/ws",
                            Auth::Hello {
                                meeting: l.meeting.clone(),
                                token: sh.slots[i]
                                    .token
                                    .lock()
                                    .unwrap()
                                    .clone()
                                    .ok_or_else(|| anyhow!("client {i} has no token"))?,
                            },
                        ),
                        None => ("/", Auth::None),
                    };
                    let (ws, _) = client::handshake(addr, path, &auth).await?;
                    client::spawn(ws, i, sh);
                    Ok(())
                }
            })
            .buffer_unordered(self.cfg.connect_parallel.max(1))
            .collect()
            .await;
        let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        if let Some(e) = failed.first() {
            bail!("{} clients failed to come back; first: {e:#}", failed.len());
        }
        self.sh.wait_all(&all, cur, self.cfg.timeout).await?;
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let mut per = Vec::with_capacity(all.len());
        for a in self.sh.arrivals(&all, cur, t0) {
            per.push(ms(a.ok_or_else(|| anyhow!("an arrival is missing"))? - t0));
        }
        // The old tasks' Closed events.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.drain_events();
        Ok(ReconnectReport {
            clients: all.len(),
            all_back_ms: per.iter().cloned().fold(0.0, f64::max),
            per_client_ms: summary(&mut per),
            server_cpu_s: cpu,
        })
    }

    async fn durable(&mut self) -> Result<DurableReport> {
        let c = self.cfg.durable_clients.min(self.participants);
        let secs = self.cfg.durable_secs;
        let raise = command_text(
            0,
            Command::RaiseHand {
                language: None,
                point_of_order: false,
            },
        )
        .replace(r#""id":0"#, r#""id":{ID}"#);
        let lower = command_text(
            0,
            Command::LowerHand {
                point_of_order: false,
            },
        )
        .replace(r#""id":0"#, r#""id":{ID}"#);
        let acks0 = self.sh.loop_acks.load(Ordering::Relaxed);
        let errs0 = self.sh.loop_errors.load(Ordering::Relaxed);
        let cpu0 = cpu_seconds(self.t.pid);
        let t0 = Instant::now();
        let until = t0 + Duration::from_secs_f64(secs);
        for i in 0..c {
            self.sh.order(
                i,
                Ctl::Loop {
                    commands: vec![raise.clone(), lower.clone()],
                    every: Duration::from_millis(55),
                    until,
                },
            );
        }
        tokio::time::sleep_until(until.into()).await;
        let accepted = self.sh.loop_acks.load(Ordering::Relaxed) - acks0;
        let refused = self.sh.loop_errors.load(Ordering::Relaxed) - errs0;
        let elapsed = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        // Let the last answers arrive and every client converge on the final state.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = self.all.clone();
        let cur = self.current();
        self.sh.wait_all(&all, cur, self.cfg.timeout).await?;
        if refused > 0 {
            self.note(format!("{refused} durable commands were refused"));
        }
        Ok(DurableReport {
            clients: c,
            secs: elapsed,
            accepted,
            refused,
            per_sec: accepted as f64 / elapsed,
            server_cpu_s: cpu,
            fsync_policy: "SQLite WAL, synchronous=FULL: one fsync per group commit".into(),
        })
    }

    /// The server's fan-out histogram (`podium_fanout_seconds`), if it has one.
    async fn scrape_fanout(&self) -> Option<Vec<(f64, u64)>> {
        if !self.podium() {
            return None;
        }
        let text = http_get(self.t.addr, "/metrics").await.ok()?;
        let buckets: Vec<(f64, u64)> = text
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("podium_fanout_seconds_bucket{le=\"")?;
                let (le, count) = rest.split_once("\"} ")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, count.trim().parse().ok()?))
            })
            .collect();
        (!buckets.is_empty()).then_some(buckets)
    }
}

/// p50/p99/max (as bucket upper bounds, ms) of the observations between two scrapes of a
/// cumulative histogram.
fn histogram_delta(a: &[(f64, u64)], b: &[(f64, u64)]) -> Summary {
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

/// Runs the configured scenarios against a Podium server or the relay.
pub async fn run(cfg: &LoadConfig, t: &TargetInfo) -> Result<TargetReport> {
    if t.kind == TargetKind::Floor {
        bail!("use run_floor for the floor");
    }
    let participants = if t.kind == TargetKind::Podium {
        cfg.participants()
    } else {
        cfg.participants().min(cfg.n)
    };
    let mut kinds = vec![Kind::Participant; participants];
    kinds.resize(cfg.n, Kind::Observer);
    kinds.push(Kind::Host);
    let (sh, ev) = Shared::new(&kinds, cfg.verify_every);
    let mut run = Run {
        cfg: cfg.clone(),
        t: t.clone(),
        sh,
        ev,
        all: (0..cfg.n).collect(),
        host: cfg.n,
        participants,
        next_id: 0,
        errors: Vec::new(),
        last_cmd: Instant::now() - Duration::from_secs(1),
    };
    let me0 = self_cpu_seconds();
    let recv0 = run.sh.received.load(Ordering::Relaxed);
    let rss0 = rss_kib(t.pid);
    let tcp0 = tcp_mem_kib();
    let mut report = TargetReport {
        target: t.kind.name().into(),
        n: cfg.n,
        ..Default::default()
    };
    report.setup_s = run.setup().await.context("setup")?;
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
    report.messages_received = run.sh.received.load(Ordering::Relaxed) - recv0;
    report.loadgen_cpu_us_per_msg =
        (self_cpu_seconds() - me0) * 1e6 / report.messages_received.max(1) as f64;
    // Close everyone (bounded).
    for i in 0..run.sh.slots.len() {
        run.sh.order(i, Ctl::Close);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while run.sh.slots.iter().any(|s| s.open.load(Ordering::Acquire)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
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
