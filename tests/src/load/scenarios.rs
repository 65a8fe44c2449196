//! The scenarios of a run, each measured over every client in every process:
//! `idle-memory`, `fanout`, `hand-storm`, `reconnect-storm`, `durable-commands`.

use super::client::{self, Auth, Ctl, Ev};
use super::report::{DurableReport, FanoutReport, HandReport, IdleReport, ReconnectReport};
use super::run::{command_text, ms, Run};
use super::stats::{cpu_seconds, rss_kib, summary, tcp_mem_kib};
use super::worker::Order;
use super::{histogram_delta, http_get};
use anyhow::{anyhow, bail, Result};
use futures_util::future::try_join_all;
use futures_util::StreamExt;
use podium_protocol::{ClockTarget, Command};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Run {
    pub async fn idle_memory(&mut self, rss0: u64, tcp0: u64) -> Result<IdleReport> {
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

    pub async fn fanout(&mut self) -> Result<FanoutReport> {
        self.reset_logs().await?;
        let metrics0 = self.scrape_fanout().await;
        let (recv0, me0) = self.totals().await?;
        let cpu0 = cpu_seconds(self.t.pid);
        let watchers = self.watchers();
        let mut lat = Vec::with_capacity(self.cfg.updates * watchers);
        let mut last = Vec::with_capacity(self.cfg.updates);
        for k in 0..self.cfg.updates {
            let base = self.current().await?;
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
            self.wait_everyone(seq).await?;
            let mut worst: f64 = 0.0;
            for a in self.arrivals(base + 1, t0).await? {
                let d = ms(a.ok_or_else(|| anyhow!("an arrival is missing"))?);
                worst = worst.max(d);
                lat.push(d);
            }
            last.push(worst);
        }
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let (recv1, me1) = self.totals().await?;
        let deliveries = (self.cfg.updates * watchers).max(1) as f64;
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
            loadgen_cpu_us_per_msg: (me1 - me0) * 1e6 / (recv1 - recv0).max(1) as f64,
            server_fanout_ms,
        })
    }

    pub async fn hand_storm(&mut self) -> Result<HandReport> {
        let m = self.cfg.hands.min(self.participants);
        self.reset_logs().await?;
        let bytes0 = self.bytes_now();
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
        self.wait_everyone(final_seq).await?;
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let after_first = last_hand.saturating_duration_since(first);
        let mut per: Vec<f64> = Vec::with_capacity(self.watchers());
        for a in self.arrivals(final_seq, first).await? {
            let a = a.ok_or_else(|| anyhow!("a client's final state arrival is missing"))?;
            per.push(ms(a.saturating_sub(after_first)));
        }
        let all_have = per.iter().cloned().fold(0.0, f64::max);
        // Let the host's last messages in, then count what everyone received.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let bytes = self.bytes_since(bytes0);
        // Verify: the kept final states hold exactly the m hands.
        let (verified, final_bytes) = self.verify(final_seq, m).await?;
        Ok(HandReport {
            hands: m,
            watchers: self.watchers(),
            spread_ms: ms(last_hand - first),
            all_have_final_ms: all_have,
            per_client_ms: summary(&mut per),
            final_message_bytes: final_bytes,
            server_cpu_s: cpu,
            verified,
            bytes,
        })
    }

    /// Empties the queue (Podium: `clear_queue`; the relay: a control message saying so).
    pub async fn clear_queue(&mut self) -> Result<()> {
        match self.command(self.host, Command::ClearQueue).await? {
            Ok(seq) => self.wait_everyone(seq).await,
            Err(m) => bail!("clear_queue refused: {m}"),
        }
    }

    pub async fn reconnect_storm(&mut self) -> Result<ReconnectReport> {
        let all = self.all.clone();
        let cur = self.current().await?;
        self.reset_logs().await?;
        let cpu0 = cpu_seconds(self.t.pid);
        let t0 = Instant::now();
        let addr = self.t.addr;
        let sh = self.sh.clone();
        let links = self.t.links.clone();
        let protocol = self.cfg.protocol;
        let local = futures_util::stream::iter(all.iter().copied())
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
                                protocol,
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
            .collect::<Vec<Result<()>>>();
        // Every process's clients drop and come back at once.
        let mut remote = std::mem::take(&mut self.remote);
        let (results, workers) = tokio::join!(
            local,
            try_join_all(remote.iter_mut().map(|w| w.ask(&Order::Reconnect)))
        );
        self.remote = remote;
        let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        if let Some(e) = failed.first() {
            bail!("{} clients failed to come back; first: {e:#}", failed.len());
        }
        workers?;
        self.wait_everyone(cur).await?;
        let cpu = cpu_seconds(self.t.pid) - cpu0;
        let mut per = Vec::with_capacity(self.watchers());
        for a in self.arrivals(cur, t0).await? {
            per.push(ms(a.ok_or_else(|| anyhow!("an arrival is missing"))?));
        }
        // The old tasks' Closed events.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.drain_events();
        Ok(ReconnectReport {
            clients: per.len(),
            all_back_ms: per.iter().cloned().fold(0.0, f64::max),
            per_client_ms: summary(&mut per),
            server_cpu_s: cpu,
        })
    }

    pub async fn durable(&mut self) -> Result<DurableReport> {
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
        let cur = self.current().await?;
        self.wait_everyone(cur).await?;
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
    pub async fn scrape_fanout(&self) -> Option<Vec<(f64, u64)>> {
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
