//! The controller of a run: its clients (the host, the participants and a first block of
//! observers in this process; further blocks of observers in worker processes, see
//! [`super::worker`]), how it connects them, sends commands, and asks all of them — here
//! and in the workers — whether they hold a state and when it arrived.

use super::client::{self, Auth, Ctl, Ev, Kind, Shared};
use super::report::BytesReport;
use super::stats::self_cpu_seconds;
use super::target::TargetKind;
use super::worker::{ns_of, verify_final, Order, Remote, Reply};
use super::{LoadConfig, TargetInfo};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::try_join_all;
use futures_util::StreamExt;
use podium_protocol::{ClientMessage, Command};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(super) fn command_text(id: u64, command: Command) -> String {
    serde_json::to_string(&ClientMessage::Command {
        id,
        command,
        key: None,
    })
    .expect("serialises")
}

/// The controller's side of a run.
pub(super) struct Run {
    pub cfg: LoadConfig,
    pub t: TargetInfo,
    /// This process's clients: `0..local` watch (participants first), `host` is last.
    pub sh: Arc<Shared>,
    pub ev: mpsc::UnboundedReceiver<Ev>,
    /// Indices of this process's watching clients.
    pub all: Vec<usize>,
    pub host: usize,
    pub participants: usize,
    /// The worker processes and their blocks of observers.
    pub remote: Vec<Remote>,
    pub next_id: u64,
    pub errors: Vec<String>,
    pub last_cmd: Instant,
}

impl Run {
    pub fn podium(&self) -> bool {
        self.t.kind == TargetKind::Podium
    }

    /// Watching clients in every process.
    pub fn watchers(&self) -> usize {
        self.all.len() + self.remote.iter().map(|r| r.n).sum::<usize>()
    }

    pub fn note(&mut self, e: impl std::fmt::Display) {
        if self.errors.len() < 20 {
            self.errors.push(e.to_string());
        }
    }

    fn auth(&self, i: usize) -> (String, Auth) {
        let Some(l) = &self.t.links else {
            let path = if i == self.host { "/control" } else { "/" };
            return (path.into(), Auth::None);
        };
        let protocol = self.cfg.protocol;
        let auth = match self.sh.slots[i].kind {
            Kind::Host => Auth::Hello {
                protocol,
                meeting: l.meeting.clone(),
                token: l.host.clone(),
            },
            kind => Auth::Join {
                protocol,
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
    pub async fn connect(&self, idx: &[usize], resume: bool) -> Result<()> {
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
                            protocol: self.cfg.protocol,
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

    /// Sends `order` to every worker at once; their replies in worker order.
    pub async fn ask_all(&mut self, order: Order) -> Result<Vec<Reply>> {
        try_join_all(self.remote.iter_mut().map(|w| w.ask(&order))).await
    }

    /// The highest state seq any watching client has, in any process. The host is left
    /// out: it also sees staff-only changes (joins), which Podium does not send to others.
    pub async fn current(&mut self) -> Result<u64> {
        let local = self
            .all
            .iter()
            .map(|&i| self.sh.slots[i].last_seq.load(Ordering::Acquire))
            .max()
            .unwrap_or(0);
        let mut max = local;
        for r in self.ask_all(Order::Current).await? {
            if let Reply::Seq { seq } = r {
                max = max.max(seq);
            }
        }
        Ok(max)
    }

    /// Waits until every watching client, in every process, holds `seq`.
    pub async fn wait_everyone(&mut self, seq: u64) -> Result<()> {
        let timeout = self.cfg.timeout;
        let order = Order::Wait {
            seq,
            timeout_ms: timeout.as_millis() as u64,
        };
        let all = self.all.clone();
        let sh = self.sh.clone();
        let (local, remote) = tokio::join!(
            sh.wait_all(&all, seq, timeout),
            try_join_all(self.remote.iter_mut().map(|w| w.ask(&order)))
        );
        local?;
        remote?;
        Ok(())
    }

    /// Forgets every client's arrival log.
    pub async fn reset_logs(&mut self) -> Result<()> {
        self.sh.reset_logs();
        self.ask_all(Order::Reset).await?;
        Ok(())
    }

    /// For every watching client in every process: when (after `since`) it first held
    /// `seq` or later, as a duration since `since`.
    pub async fn arrivals(&mut self, seq: u64, since: Instant) -> Result<Vec<Option<Duration>>> {
        let mut out: Vec<Option<Duration>> = self
            .sh
            .arrivals(&self.all, seq, since)
            .into_iter()
            .map(|a| a.map(|a| a.saturating_duration_since(since)))
            .collect();
        let since_ns = ns_of(since);
        for r in self.ask_all(Order::Arrivals { seq, since_ns }).await? {
            let Reply::Arrivals { ns } = r else {
                bail!("a worker answered arrivals with {r:?}");
            };
            out.extend(
                ns.into_iter()
                    .map(|a| a.map(|a| Duration::from_nanos(a.saturating_sub(since_ns)))),
            );
        }
        Ok(out)
    }

    /// Messages received and load-generator CPU seconds, over every process.
    pub async fn totals(&mut self) -> Result<(u64, f64)> {
        let mut received = self.sh.received.load(Ordering::Relaxed);
        let mut cpu = self_cpu_seconds();
        for r in self.ask_all(Order::Stats).await? {
            if let Reply::Stats { received: n, cpu_s } = r {
                received += n;
                cpu += cpu_s;
            }
        }
        Ok((received, cpu))
    }

    /// Checks the kept final states of the hand storm everywhere: (verified, message size).
    pub async fn verify(&mut self, seq: u64, hands: usize) -> Result<(usize, usize)> {
        let podium = self.podium();
        let mut verified = 0;
        let mut bytes = 0;
        for &i in &self.all {
            let text = self.sh.slots[i].last_text.lock().unwrap().clone();
            let Some(text) = text else { continue };
            bytes =
                verify_final(&text, podium, seq, hands).with_context(|| format!("client {i}"))?;
            verified += 1;
        }
        for r in self.ask_all(Order::Verify { seq, hands, podium }).await? {
            if let Reply::Verified {
                verified: v,
                bytes: b,
            } = r
            {
                verified += v;
                if b > 0 {
                    bytes = b;
                }
            }
        }
        Ok((verified, bytes))
    }

    /// Bytes and state messages received so far: (host bytes, host states, host largest,
    /// participant bytes, participant states).
    pub fn bytes_now(&self) -> [u64; 5] {
        let host = &self.sh.slots[self.host];
        let (mut pb, mut ps) = (0, 0);
        for s in &self.sh.slots[..self.participants] {
            pb += s.bytes.load(Ordering::Relaxed);
            ps += s.states.load(Ordering::Relaxed);
        }
        [
            host.bytes.load(Ordering::Relaxed),
            host.states.load(Ordering::Relaxed),
            host.largest.swap(0, Ordering::Relaxed),
            pb,
            ps,
        ]
    }

    /// What was received between two [`Run::bytes_now`] readings.
    pub fn bytes_since(&self, before: [u64; 5]) -> BytesReport {
        let now = self.bytes_now();
        let per = |b: u64, n: u64| if n == 0 { 0.0 } else { b as f64 / n as f64 };
        let (hb, hs) = (now[0] - before[0], now[1] - before[1]);
        let (pb, ps) = (now[3] - before[3], now[4] - before[4]);
        BytesReport {
            host_bytes: hb,
            host_changes: hs,
            host_per_change: per(hb, hs),
            host_largest: now[2],
            participant_bytes: pb,
            participant_changes: ps,
            participant_per_change: per(pb, ps),
        }
    }

    /// The server allows 20 messages/s per connection: the host stays under it.
    pub async fn pace(&self) {
        let since = self.last_cmd.elapsed();
        if since < Duration::from_millis(55) {
            tokio::time::sleep(Duration::from_millis(55) - since).await;
        }
    }

    /// Sends a command from client `i` and waits for its ack: `Ok(seq)` or the refusal.
    pub async fn command(&mut self, i: usize, command: Command) -> Result<Result<u64, String>> {
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

    pub fn drain_events(&mut self) {
        while let Ok(ev) = self.ev.try_recv() {
            if !matches!(ev, Ev::Closed { .. }) {
                self.note(format!("unexpected {ev:?}"));
            }
        }
    }

    /// Connects the host (and starts the meeting), then every client in every process;
    /// returns the seconds it took and what the host received meanwhile (the join flood).
    pub async fn setup(&mut self) -> Result<(f64, BytesReport)> {
        let t0 = Instant::now();
        self.connect(&[self.host], false).await?;
        if self.podium() {
            match self.command(self.host, Command::StartMeeting).await? {
                Ok(_) => {}
                Err(m) if m.contains("already") || m.contains("started") => {}
                Err(m) => bail!("start_meeting refused: {m}"),
            }
        }
        let bytes0 = self.bytes_now();
        let all = self.all.clone();
        // Workers connect their blocks while this process connects its own.
        let mut remote = std::mem::take(&mut self.remote);
        let (local, workers) = tokio::join!(
            self.connect(&all, false),
            try_join_all(remote.iter_mut().map(|w| w.ask(&Order::Connect)))
        );
        self.remote = remote;
        local?;
        workers?;
        let cur = self.current().await?;
        self.wait_everyone(cur).await?;
        // The host has every join once its state counts them all.
        if self.podium() {
            let want = self.watchers() as u64;
            let deadline = Instant::now() + self.cfg.timeout;
            while self.host_participant_count() < Some(want) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let bytes = self.bytes_since(bytes0);
        self.drain_events();
        Ok((t0.elapsed().as_secs_f64(), bytes))
    }

    /// The host's `participant_count` (protocol 1: the register's length), from its last
    /// state message, if it is kept.
    fn host_participant_count(&self) -> Option<u64> {
        let text = self.sh.slots[self.host].last_text.lock().unwrap().clone()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let st = &v["state"];
        st["participant_count"]
            .as_u64()
            .or_else(|| st["participants"].as_array().map(|a| a.len() as u64))
    }
}
