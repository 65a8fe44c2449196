//! Load-generator worker processes: each holds a block of watching clients (observers) for
//! the controller, so that a run can hold more clients than one process may open files
//! (20,000 here), and the controller's figures still cover every client.
//!
//! The controller starts `podium-load worker` children and talks to each over its stdin
//! and stdout, one JSON line per [`Order`] and per [`Reply`]. Times cross the process
//! boundary as CLOCK_MONOTONIC nanoseconds, the clock `Instant` reads on Linux, so the
//! controller's and the workers' arrival times are comparable.

use super::client::{self, Auth, Kind, Shared};
use super::stats::{cpu_seconds, raise_nofile};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// CLOCK_MONOTONIC now, in nanoseconds.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the struct we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// An `Instant` as CLOCK_MONOTONIC nanoseconds.
pub fn ns_of(t: Instant) -> u64 {
    let now = Instant::now();
    let base = mono_ns();
    if t <= now {
        base.saturating_sub((now - t).as_nanos() as u64)
    } else {
        base + (t - now).as_nanos() as u64
    }
}

/// What a worker is for: given on its command line as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The target's websocket address.
    pub addr: SocketAddr,
    /// `/ws` (Podium) or `/` (the relays).
    pub path: String,
    /// Podium: meeting id and the observer join link's token (`None`: the relays).
    pub join: Option<(String, String)>,
    /// Protocol version to speak.
    pub protocol: u32,
    /// Clients this worker holds.
    pub n: usize,
    /// Index of its first client in the run (for names).
    pub first: usize,
    /// Keep the last state of clients whose run index is a multiple of this.
    pub keep_every: usize,
    /// Handshakes in flight at once.
    pub parallel: usize,
}

/// An order from the controller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Order {
    /// Connect (and join) every client.
    Connect,
    /// The highest state seq any client holds.
    Current,
    /// Wait until every client holds `seq`.
    Wait {
        /// Seq.
        seq: u64,
        /// Bound, ms.
        timeout_ms: u64,
    },
    /// Forget the arrival logs.
    Reset,
    /// For each client, when it first held `seq` or later at or after `since_ns`.
    Arrivals {
        /// Seq.
        seq: u64,
        /// CLOCK_MONOTONIC ns.
        since_ns: u64,
    },
    /// Every client closes and comes back with its token.
    Reconnect,
    /// Check the kept final states: `seq`, and `hands` hands (Podium) or the relay's count.
    Verify {
        /// Expected seq (Podium).
        seq: u64,
        /// Expected hands.
        hands: usize,
        /// Podium (else a relay).
        podium: bool,
    },
    /// Messages received so far and this process's CPU seconds.
    Stats,
    /// Close every client and exit.
    Close,
}

/// A worker's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Done.
    Done,
    /// A seq.
    Seq {
        /// It.
        seq: u64,
    },
    /// Arrival times, CLOCK_MONOTONIC ns (`None`: not arrived).
    Arrivals {
        /// One per client.
        ns: Vec<Option<u64>>,
    },
    /// Final states checked.
    Verified {
        /// How many.
        verified: usize,
        /// Size of the last one, bytes.
        bytes: usize,
    },
    /// Counters.
    Stats {
        /// Text messages received.
        received: u64,
        /// CPU seconds of the worker process.
        cpu_s: f64,
    },
    /// The order failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// Checks one kept final state of the hand storm: Podium's `change` at `seq` with the first
/// hands in full and `hands` in all (`queue_len`; protocol 1: `queue_keys`), or the relay's
/// count. Returns the message's size.
pub fn verify_final(text: &str, podium: bool, seq: u64, hands: usize) -> Result<usize> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    let got = if podium {
        if v["type"] != "change" {
            bail!("the last state is not a change");
        }
        if v["seq"].as_u64() != Some(seq) {
            bail!("holds seq {}, not {seq}", v["seq"]);
        }
        let state = &v["state"];
        let detailed = hands.min(podium_protocol::PUBLIC_QUEUE_DETAIL);
        let in_full = state["queue"].as_array().map_or(0, Vec::len);
        if in_full != detailed {
            bail!("has {in_full} hands in full, not {detailed}");
        }
        state["queue_len"]
            .as_u64()
            .map(|n| n as usize)
            .or_else(|| state["queue_keys"].as_array().map(Vec::len))
            .unwrap_or(in_full)
    } else {
        v["hands"].as_u64().unwrap_or(0) as usize
    };
    if got != hands {
        bail!("holds a queue of {got} hands, not {hands}");
    }
    Ok(text.len())
}

/// The worker's side: runs in the `podium-load worker` child.
pub fn worker_main(spec_json: &str) -> Result<()> {
    raise_nofile();
    let spec: Spec = serde_json::from_str(spec_json).context("worker spec")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(spec))
}

struct Worker {
    spec: Spec,
    sh: Arc<Shared>,
    _events: tokio::sync::mpsc::UnboundedReceiver<client::Ev>,
}

async fn serve(spec: Spec) -> Result<()> {
    let kinds = vec![Kind::Observer; spec.n];
    // Keep every keep_every-th client by its index in the whole run.
    let (sh, events) = Shared::new_offset(&kinds, spec.keep_every, spec.first);
    let mut w = Worker {
        spec,
        sh,
        _events: events,
    };
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let order: Order = serde_json::from_str(&line).context("order")?;
        let close = matches!(order, Order::Close);
        let reply = match w.handle(order).await {
            Ok(r) => r,
            Err(e) => Reply::Failed {
                error: format!("{e:#}"),
            },
        };
        let mut text = serde_json::to_string(&reply)?;
        text.push('\n');
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
        if close {
            break;
        }
    }
    Ok(())
}

impl Worker {
    fn auth(&self, i: usize, resume: bool) -> Result<Auth> {
        let Some((meeting, token)) = &self.spec.join else {
            return Ok(Auth::None);
        };
        if resume {
            let token = self.sh.slots[i]
                .token
                .lock()
                .unwrap()
                .clone()
                .ok_or_else(|| anyhow!("client {i} has no token"))?;
            return Ok(Auth::Hello {
                protocol: self.spec.protocol,
                meeting: meeting.clone(),
                token,
            });
        }
        let k = self.spec.first + i;
        Ok(Auth::Join {
            protocol: self.spec.protocol,
            meeting: meeting.clone(),
            token: token.clone(),
            name: format!("Load client {k}"),
            delegation: format!("Delegation {}", k % 193),
        })
    }

    async fn connect_all(&self, resume: bool) -> Result<()> {
        let addr = self.spec.addr;
        let path = self.spec.path.clone();
        let results: Vec<Result<()>> = futures_util::stream::iter(0..self.spec.n)
            .map(|i| {
                let auth = self.auth(i, resume);
                let sh = self.sh.clone();
                let path = path.clone();
                async move {
                    if resume {
                        sh.order(i, client::Ctl::Close);
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while sh.slots[i].open.load(Ordering::Acquire) {
                            if Instant::now() > deadline {
                                bail!("client {i} did not close");
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        sh.slots[i].last_seq.store(0, Ordering::Release);
                    }
                    let (ws, token) = client::handshake(addr, &path, &auth?).await?;
                    if let Some(t) = token {
                        *sh.slots[i].token.lock().unwrap() = Some(t);
                    }
                    client::spawn(ws, i, sh);
                    Ok(())
                }
            })
            .buffer_unordered(self.spec.parallel.max(1))
            .collect()
            .await;
        let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        if let Some(e) = failed.first() {
            bail!("{} of {} failed; first: {e:#}", failed.len(), self.spec.n);
        }
        Ok(())
    }

    async fn handle(&mut self, order: Order) -> Result<Reply> {
        let all: Vec<usize> = (0..self.spec.n).collect();
        Ok(match order {
            Order::Connect => {
                self.connect_all(false).await?;
                Reply::Done
            }
            Order::Reconnect => {
                self.connect_all(true).await?;
                Reply::Done
            }
            Order::Current => Reply::Seq {
                seq: self
                    .sh
                    .slots
                    .iter()
                    .map(|s| s.last_seq.load(Ordering::Acquire))
                    .max()
                    .unwrap_or(0),
            },
            Order::Wait { seq, timeout_ms } => {
                self.sh
                    .wait_all(&all, seq, Duration::from_millis(timeout_ms))
                    .await?;
                Reply::Done
            }
            Order::Reset => {
                self.sh.reset_logs();
                Reply::Done
            }
            Order::Arrivals { seq, since_ns } => {
                let now_i = Instant::now();
                let now_ns = mono_ns();
                let since = now_i - Duration::from_nanos(now_ns.saturating_sub(since_ns));
                let ns = self
                    .sh
                    .arrivals(&all, seq, since)
                    .into_iter()
                    .map(|a| a.map(|a| now_ns - (now_i - a).as_nanos() as u64))
                    .collect();
                Reply::Arrivals { ns }
            }
            Order::Verify { seq, hands, podium } => {
                let mut verified = 0;
                let mut bytes = 0;
                for (i, s) in self.sh.slots.iter().enumerate() {
                    let text = s.last_text.lock().unwrap().clone();
                    let Some(text) = text else { continue };
                    bytes = verify_final(&text, podium, seq, hands)
                        .with_context(|| format!("client {}", self.spec.first + i))?;
                    verified += 1;
                }
                Reply::Verified { verified, bytes }
            }
            Order::Stats => Reply::Stats {
                received: self.sh.received.load(Ordering::Relaxed),
                cpu_s: cpu_seconds(std::process::id()),
            },
            Order::Close => {
                for i in 0..self.spec.n {
                    self.sh.order(i, client::Ctl::Close);
                }
                let deadline = Instant::now() + Duration::from_secs(10);
                while self.sh.slots.iter().any(|s| s.open.load(Ordering::Acquire))
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Reply::Done
            }
        })
    }
}

/// The controller's handle on one worker child.
pub struct Remote {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// Clients it holds.
    pub n: usize,
}

impl Remote {
    /// Starts `exe worker --spec JSON`.
    pub fn start(exe: &std::path::Path, spec: &Spec) -> Result<Remote> {
        let mut child = tokio::process::Command::new(exe)
            .arg("worker")
            .arg("--spec")
            .arg(serde_json::to_string(spec)?)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("start a podium-load worker")?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        Ok(Remote {
            child,
            stdin,
            stdout,
            n: spec.n,
        })
    }

    /// Sends an order and waits for its reply; a `Failed` reply is an error.
    pub async fn ask(&mut self, order: &Order) -> Result<Reply> {
        let mut line = serde_json::to_string(order)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        let answer = self
            .stdout
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("a worker exited"))?;
        match serde_json::from_str::<Reply>(&answer)? {
            Reply::Failed { error } => bail!("worker: {error}"),
            r => Ok(r),
        }
    }

    /// Waits for the child to exit (after `Close`).
    pub async fn wait(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
