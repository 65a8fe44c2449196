//! One load-generator worker process: K websocket clients of one cluster node, driven by
//! the coordinator through JSON lines on stdin and answering on stdout.
//!
//! A process may hold at most 20,000 open files here, so 45,000 clients need several
//! workers. Each client is one task that logs the wall-clock arrival time of every state
//! (`change`, found by its prefix; only its `seq` is read) — the coordinator, on the same
//! machine, stamps each update with the wall-clock time it sent it, so latency is the
//! difference. Participants (`--join`) can also raise and lower their hands with keys.

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClientMessage, Lang, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The wall clock, ms.
pub fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// How the worker's clients connect.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// The node.
    pub addr: SocketAddr,
    /// Where clients whose node died reconnect, if anywhere.
    pub fallback: Option<SocketAddr>,
    /// Meeting id.
    pub meeting: String,
    /// A role token (`hello`), or the participant join link's token with `join`.
    pub token: String,
    /// Join as participants instead of `hello`.
    pub join: bool,
    /// Clients.
    pub n: usize,
    /// Handshakes in flight at once.
    pub parallel: usize,
    /// A name for this worker (in participants' names and keys).
    pub tag: String,
}

/// An order from the coordinator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Answer once every connected client has a state of at least this seq.
    Wait(u64),
    /// Forget the arrival logs.
    Reset,
    /// Latencies of the updates `(seq, sent at wall ms)` since the last reset.
    Report(Vec<(u64, f64)>),
    /// Participants raise and lower their hands for this many seconds.
    Toggle(f64),
    /// Stop.
    Quit,
}

/// What a worker says.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Answer {
    /// Clients connected (after setup).
    pub ready: Option<usize>,
    /// Setup time, s.
    pub setup_s: Option<f64>,
    /// `Wait` reached: the seq, and clients that reconnected through the fallback.
    pub reached: Option<u64>,
    /// When the last client reached it (wall ms).
    pub reached_at: Option<f64>,
    /// Latency histogram, 0.1 ms buckets → count.
    pub hist: Option<BTreeMap<u64, u64>>,
    /// Per update: the latest arrival (wall ms − sent), ms.
    pub last_per_update: Option<Vec<f64>>,
    /// Clients that missed an update.
    pub missed: Option<usize>,
    /// Commands acknowledged in `Toggle`, and refused.
    pub acked: Option<u64>,
    /// Commands refused in `Toggle` (not counting rate limits).
    pub refused: Option<u64>,
    /// Clients that reconnected to the fallback after their node died.
    pub reconnected: Option<usize>,
    /// Worker CPU seconds so far.
    pub cpu_s: Option<f64>,
}

struct Client {
    last_seq: AtomicU64,
    log: Mutex<Vec<(u64, f64)>>,
    open: AtomicBool,
    reconnected: AtomicBool,
}

struct Shared {
    args: WorkerArgs,
    clients: Vec<Client>,
    toggle_until: Mutex<Option<Instant>>,
    /// Wakes idle clients when a toggle starts.
    toggle_start: tokio::sync::Notify,
    acked: AtomicU64,
    refused: AtomicU64,
    connected: AtomicUsize,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn open(addr: SocketAddr) -> Result<Ws> {
    let tcp = TcpStream::connect(addr).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/ws"), tcp, Some(config()))
            .await
            .context("websocket handshake")?;
    Ok(ws)
}

/// `seq` of a `change` or `snapshot` message, read from its head.
fn state_seq(text: &str) -> Option<(bool, u64)> {
    let change = text.starts_with(r#"{"type":"change","seq":"#);
    if !change && !text.starts_with(r#"{"type":"snapshot","seq":"#) {
        return None;
    }
    let rest = &text[text.find(r#""seq":"#)? + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    Some((change, rest[..end].parse().ok()?))
}

/// Connects and authenticates; returns the socket once the snapshot arrived, and the
/// personal token for participants.
async fn handshake(
    sh: &Shared,
    addr: SocketAddr,
    i: usize,
    token: &str,
    join: bool,
) -> Result<(Ws, u64, Option<String>)> {
    let mut ws = open(addr).await?;
    let msg = if join {
        ClientMessage::Join {
            protocol: PROTOCOL_VERSION,
            meeting: sh.args.meeting.clone(),
            token: token.to_string(),
            name: format!("Delegate {}-{i}", sh.args.tag),
            delegation: "Bench".into(),
            language: Lang::En,
            agenda_version: None,
        }
    } else {
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            meeting: sh.args.meeting.clone(),
            token: token.to_string(),
            agenda_version: None,
        }
    };
    ws.send(Message::text(serde_json::to_string(&msg)?)).await?;
    let mut personal = None;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .context("no answer to hello")?
            .context("closed during hello")??;
        let Message::Text(t) = m else { continue };
        if let Some((false, seq)) = state_seq(&t) {
            return Ok((ws, seq, personal));
        }
        if t.contains(r#""type":"error""#) {
            bail!("refused: {t}");
        }
        if t.starts_with(r#"{"type":"welcome""#) {
            let v: serde_json::Value = serde_json::from_str(&t)?;
            personal = v["participant_token"].as_str().map(str::to_string);
        }
    }
}

async fn run_client(sh: Arc<Shared>, i: usize, mut ws: Ws, personal: Option<String>) {
    let me = &sh.clients[i];
    let mut next_id = 1u64;
    let mut waiting: Option<(u64, Instant)> = None;
    let mut raise = true;
    loop {
        // A participant in a toggle sends its next command once the last one is answered.
        let toggling = sh
            .toggle_until
            .lock()
            .unwrap()
            .is_some_and(|t| Instant::now() < t);
        if toggling && waiting.is_none() {
            let cmd = if raise {
                r#"{"type":"raise_hand"}"#
            } else {
                r#"{"type":"lower_hand"}"#
            };
            let text = format!(
                r#"{{"type":"command","id":{next_id},"key":"{}-{i}-{next_id}","command":{cmd}}}"#,
                sh.args.tag
            );
            if ws.send(Message::text(text)).await.is_err() {
                break;
            }
            waiting = Some((next_id, Instant::now()));
            next_id += 1;
        }
        let wait = if toggling {
            Duration::from_millis(50)
        } else {
            Duration::from_secs(3600)
        };
        let m = tokio::select! {
            m = tokio::time::timeout(wait, ws.next()) => m,
            _ = sh.toggle_start.notified() => continue,
        };
        let m = match m {
            Err(_) => continue,
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(m))) => m,
        };
        let Message::Text(t) = m else { continue };
        if let Some((true, seq)) = state_seq(&t) {
            me.log.lock().unwrap().push((seq, wall_ms()));
            me.last_seq.fetch_max(seq, Ordering::Relaxed);
        } else if t.starts_with(r#"{"type":"ack""#) {
            if waiting.is_some() {
                sh.acked.fetch_add(1, Ordering::Relaxed);
                waiting = None;
                raise = !raise;
            }
        } else if t.starts_with(r#"{"type":"error""#) && waiting.is_some() {
            if t.contains("rate_limited") || t.contains("unavailable") {
                // Not applied (or unknown): send it again later with the same key.
                tokio::time::sleep(Duration::from_millis(50)).await;
                next_id -= 1;
            } else {
                sh.refused.fetch_add(1, Ordering::Relaxed);
                raise = !raise;
            }
            waiting = None;
        }
    }
    me.open.store(false, Ordering::Relaxed);
    // The node died: come back through the fallback, as a browser behind a balancer would.
    if let Some(addr) = sh.args.fallback {
        let token = personal.unwrap_or_else(|| sh.args.token.clone());
        for _ in 0..100 {
            if let Ok((ws, seq, _)) = handshake(&sh, addr, i, &token, false).await {
                me.last_seq.fetch_max(seq, Ordering::Relaxed);
                me.open.store(true, Ordering::Relaxed);
                me.reconnected.store(true, Ordering::Relaxed);
                let sh2 = sh.clone();
                Box::pin(run_client(sh2, i, ws, Some(token))).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn say(a: &Answer) {
    println!("{}", serde_json::to_string(a).expect("answer serialises"));
}

/// The worker's main: connect, announce, obey.
pub async fn main(args: WorkerArgs) -> Result<()> {
    let sh = Arc::new(Shared {
        clients: (0..args.n)
            .map(|_| Client {
                last_seq: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                open: AtomicBool::new(false),
                reconnected: AtomicBool::new(false),
            })
            .collect(),
        args,
        toggle_until: Mutex::new(None),
        toggle_start: tokio::sync::Notify::new(),
        acked: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
    });
    let t0 = Instant::now();
    let gate = Arc::new(Semaphore::new(sh.args.parallel));
    let mut tasks = Vec::new();
    for i in 0..sh.args.n {
        let (sh, gate) = (sh.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("gate");
            let (addr, token, join) = (sh.args.addr, sh.args.token.clone(), sh.args.join);
            let mut tries = 0;
            let (ws, seq, personal) = loop {
                match handshake(&sh, addr, i, &token, join).await {
                    Ok(x) => break x,
                    Err(e) if tries < 5 => {
                        tries += 1;
                        eprintln!("worker {}: client {i}: {e:#}; again", sh.args.tag);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("worker {}: client {i} cannot connect: {e:#}", sh.args.tag),
                }
            };
            drop(permit);
            sh.clients[i].last_seq.store(seq, Ordering::Relaxed);
            sh.clients[i].open.store(true, Ordering::Relaxed);
            sh.connected.fetch_add(1, Ordering::Relaxed);
            run_client(sh, i, ws, personal).await;
        }));
    }
    while sh.connected.load(Ordering::Relaxed) < sh.args.n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    say(&Answer {
        ready: Some(sh.args.n),
        setup_s: Some(t0.elapsed().as_secs_f64()),
        ..Answer::default()
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let order: Order =
            serde_json::from_str(&line).with_context(|| format!("order {line:?}"))?;
        match order {
            Order::Quit => break,
            Order::Reset => {
                for c in &sh.clients {
                    c.log.lock().unwrap().clear();
                }
                say(&Answer::default());
            }
            Order::Wait(seq) => {
                let deadline = Instant::now() + Duration::from_secs(300);
                loop {
                    let behind = sh
                        .clients
                        .iter()
                        .filter(|c| c.last_seq.load(Ordering::Relaxed) < seq)
                        .count();
                    if behind == 0 {
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "worker {}: {behind} clients never reached seq {seq}",
                            sh.args.tag
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let reconnected = sh
                    .clients
                    .iter()
                    .filter(|c| c.reconnected.load(Ordering::Relaxed))
                    .count();
                say(&Answer {
                    reached: Some(seq),
                    reached_at: Some(wall_ms()),
                    reconnected: Some(reconnected),
                    ..Answer::default()
                });
            }
            Order::Report(updates) => {
                let mut hist = BTreeMap::new();
                let mut last = vec![0f64; updates.len()];
                let mut missed = 0;
                for c in &sh.clients {
                    let log = c.log.lock().unwrap();
                    for (k, (seq, sent)) in updates.iter().enumerate() {
                        match log.iter().find(|(s, _)| s == seq) {
                            Some((_, at)) => {
                                let d = (at - sent).max(0.0);
                                *hist.entry((d * 10.0) as u64).or_insert(0u64) += 1;
                                last[k] = last[k].max(d);
                            }
                            None => missed += 1,
                        }
                    }
                }
                say(&Answer {
                    hist: Some(hist),
                    last_per_update: Some(last),
                    missed: Some(missed),
                    cpu_s: Some(crate::load::stats::self_cpu_seconds()),
                    ..Answer::default()
                });
            }
            Order::Toggle(secs) => {
                sh.acked.store(0, Ordering::Relaxed);
                sh.refused.store(0, Ordering::Relaxed);
                *sh.toggle_until.lock().unwrap() =
                    Some(Instant::now() + Duration::from_secs_f64(secs));
                sh.toggle_start.notify_waiters();
                tokio::time::sleep(Duration::from_secs_f64(secs) + Duration::from_millis(500))
                    .await;
                say(&Answer {
                    acked: Some(sh.acked.load(Ordering::Relaxed)),
                    refused: Some(sh.refused.load(Ordering::Relaxed)),
                    ..Answer::default()
                });
            }
        }
        tokio::io::stdout().flush().await?;
    }
    Ok(())
}
