//! The load generator's light client: one task per websocket, which logs when each state
//! (`change` or `snapshot`, found by its `seq`) arrives, forwards acks and errors to the
//! controller, and sends what the controller tells it to.
//!
//! Parsing is kept off the hot path: a state message is recognised by its prefix
//! (`{"type":"change","seq":N` — Podium writes its messages in that order) and only its
//! `seq` is read; the whole JSON is parsed only when a scenario verifies a state.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClientMessage, Lang, ServerMessage};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// A websocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// How long a handshake (connect, hello/join, welcome) may take.
pub const HANDSHAKE: Duration = Duration::from_secs(60);

/// What a client is in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Joined through the participant link: may raise hands.
    Participant,
    /// Joined through the observer link: watches.
    Observer,
    /// The host (Podium) or the relay's control client.
    Host,
}

/// One client's shared record.
pub struct Slot {
    /// What it is.
    pub kind: Kind,
    /// Highest state `seq` received.
    pub last_seq: AtomicU64,
    /// Every state received since the last reset: (seq, when).
    pub log: Mutex<Vec<(u64, Instant)>>,
    /// The latest state message itself, if the run keeps them for verification.
    pub last_text: Mutex<Option<Utf8Bytes>>,
    /// The personal token from `welcome` (to reconnect with `hello`).
    pub token: Mutex<Option<String>>,
    /// The socket is open.
    pub open: AtomicBool,
    /// Bytes of text messages received (all kinds).
    pub bytes: AtomicU64,
    /// State messages received.
    pub states: AtomicU64,
    /// The largest text message received, bytes.
    pub largest: AtomicU64,
    /// Where the controller sends this client's orders.
    pub ctl: Mutex<Option<mpsc::UnboundedSender<Ctl>>>,
}

/// What the controller learns from a client.
#[derive(Debug)]
pub enum Ev {
    /// A command was accepted.
    Ack {
        /// Client index.
        client: usize,
        /// Request id.
        id: u64,
        /// Its seq.
        seq: u64,
        /// When the ack arrived.
        at: Instant,
    },
    /// A command was refused (or another error came).
    Error {
        /// Client index.
        client: usize,
        /// Request id, if any.
        id: Option<u64>,
        /// The server's words.
        message: String,
    },
    /// The connection ended.
    Closed {
        /// Client index.
        client: usize,
    },
}

/// An order to a client task.
#[derive(Debug)]
pub enum Ctl {
    /// Send this text frame.
    Send(String),
    /// Close the socket and end the task.
    Close,
    /// Send these commands in a cycle, one after each ack and at most one per `every`,
    /// until `until`.
    Loop {
        /// Text frames with a `{ID}` placeholder for the request id.
        commands: Vec<String>,
        /// Smallest interval between two sends (the server's rate limit is 20/s).
        every: Duration,
        /// When to stop.
        until: Instant,
    },
}

/// Everything the client tasks share with the controller.
pub struct Shared {
    /// One slot per client.
    pub slots: Vec<Slot>,
    /// Events for the controller.
    pub events: mpsc::UnboundedSender<Ev>,
    /// Text messages received by all clients.
    pub received: AtomicU64,
    /// Keep `last_text` for clients whose index (+ `offset`) is a multiple of this (0: never).
    pub keep_every: usize,
    /// Index in the whole run of this process's client 0 (a worker holds a block).
    pub offset: usize,
    /// Acks counted by looping clients.
    pub loop_acks: AtomicU64,
    /// Errors counted by looping clients.
    pub loop_errors: AtomicU64,
}

impl Shared {
    /// Records for `kinds.len()` clients.
    pub fn new(kinds: &[Kind], keep_every: usize) -> (Arc<Shared>, mpsc::UnboundedReceiver<Ev>) {
        Shared::new_offset(kinds, keep_every, 0)
    }

    /// Records for a block of `kinds.len()` clients whose first is client `offset` of the run.
    pub fn new_offset(
        kinds: &[Kind],
        keep_every: usize,
        offset: usize,
    ) -> (Arc<Shared>, mpsc::UnboundedReceiver<Ev>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let slots = kinds
            .iter()
            .map(|&kind| Slot {
                kind,
                last_seq: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                last_text: Mutex::new(None),
                token: Mutex::new(None),
                open: AtomicBool::new(false),
                bytes: AtomicU64::new(0),
                states: AtomicU64::new(0),
                largest: AtomicU64::new(0),
                ctl: Mutex::new(None),
            })
            .collect();
        (
            Arc::new(Shared {
                slots,
                events: tx,
                received: AtomicU64::new(0),
                keep_every,
                offset,
                loop_acks: AtomicU64::new(0),
                loop_errors: AtomicU64::new(0),
            }),
            rx,
        )
    }

    /// Forgets every client's log.
    pub fn reset_logs(&self) {
        for s in &self.slots {
            s.log.lock().unwrap().clear();
        }
    }

    /// Sends an order to client `i`; false if it is gone.
    pub fn order(&self, i: usize, ctl: Ctl) -> bool {
        self.slots[i]
            .ctl
            .lock()
            .unwrap()
            .as_ref()
            .map(|tx| tx.send(ctl).is_ok())
            .unwrap_or(false)
    }

    /// Clients of these indices whose `last_seq` is below `seq`.
    pub fn behind(&self, idx: &[usize], seq: u64) -> usize {
        idx.iter()
            .filter(|&&i| self.slots[i].last_seq.load(Ordering::Acquire) < seq)
            .count()
    }

    /// Waits (polling every millisecond) until every client in `idx` has a state with
    /// `seq` or later; fails after `timeout` saying how many are missing.
    pub async fn wait_all(&self, idx: &[usize], seq: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut from = 0;
        loop {
            while from < idx.len() && self.slots[idx[from]].last_seq.load(Ordering::Acquire) >= seq
            {
                from += 1;
            }
            if from == idx.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let missing = self.behind(&idx[from..], seq);
                bail!(
                    "{missing} of {} clients did not get seq {seq} within {timeout:?}",
                    idx.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// For each client in `idx`: when it first received a state with `seq` or later at or
    /// after `since`.
    pub fn arrivals(&self, idx: &[usize], seq: u64, since: Instant) -> Vec<Option<Instant>> {
        idx.iter()
            .map(|&i| {
                self.slots[i]
                    .log
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(s, at)| *s >= seq && *at >= since)
                    .map(|(_, at)| *at)
            })
            .collect()
    }
}

/// The `seq` of a state message, read from its prefix; `None` for other messages.
pub fn state_seq(t: &str) -> Option<u64> {
    let rest = t
        .strip_prefix(r#"{"type":"change","seq":"#)
        .or_else(|| t.strip_prefix(r#"{"type":"snapshot","seq":"#))?;
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// Opens a websocket to `ws://addr{path}`.
pub async fn open(addr: SocketAddr, path: &str) -> Result<Ws> {
    let tcp = TcpStream::connect(addr).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}{path}"),
        tcp,
        Some(config()),
    )
    .await
    .context("websocket handshake")?;
    Ok(ws)
}

/// How a client authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Podium `hello` with a token.
    Hello {
        /// Protocol version to speak.
        protocol: u32,
        /// Meeting id.
        meeting: String,
        /// Token.
        token: String,
    },
    /// Podium `join` through a join link.
    Join {
        /// Protocol version to speak.
        protocol: u32,
        /// Meeting id.
        meeting: String,
        /// The join link's token.
        token: String,
        /// Display name.
        name: String,
        /// Delegation.
        delegation: String,
    },
    /// The relay: nothing to say.
    None,
}

/// Connects, authenticates, and returns the socket after `welcome` (Podium) with the
/// personal token it carried.
pub async fn handshake(addr: SocketAddr, path: &str, auth: &Auth) -> Result<(Ws, Option<String>)> {
    tokio::time::timeout(HANDSHAKE, async {
        let mut ws = open(addr, path).await?;
        let msg = match auth {
            Auth::None => return Ok((ws, None)),
            Auth::Hello {
                protocol,
                meeting,
                token,
            } => ClientMessage::Hello {
                protocol: *protocol,
                meeting: meeting.clone(),
                token: token.clone(),
                agenda_version: None,
            },
            Auth::Join {
                protocol,
                meeting,
                token,
                name,
                delegation,
            } => ClientMessage::Join {
                protocol: *protocol,
                meeting: meeting.clone(),
                token: token.clone(),
                name: name.clone(),
                delegation: delegation.clone(),
                language: Lang::En,
                agenda_version: None,
            },
        };
        ws.send(Message::text(serde_json::to_string(&msg)?)).await?;
        loop {
            match ws
                .next()
                .await
                .ok_or_else(|| anyhow!("closed before welcome"))??
            {
                Message::Text(t) => match serde_json::from_str::<ServerMessage>(&t)? {
                    ServerMessage::Welcome {
                        participant_token, ..
                    } => return Ok((ws, participant_token)),
                    ServerMessage::Error { code, message, .. } => {
                        bail!("refused: {code:?}: {message}")
                    }
                    other => bail!("expected welcome, got {other:?}"),
                },
                Message::Close(f) => bail!("closed before welcome: {f:?}"),
                _ => continue,
            }
        }
    })
    .await
    .map_err(|_| anyhow!("handshake took over {HANDSHAKE:?}"))?
}

/// Starts the task of client `i` on an authenticated socket.
pub fn spawn(ws: Ws, i: usize, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    *shared.slots[i].ctl.lock().unwrap() = Some(tx);
    shared.slots[i].open.store(true, Ordering::Release);
    tokio::spawn(async move {
        let _ = run(ws, i, &shared, rx).await;
        shared.slots[i].open.store(false, Ordering::Release);
        let _ = shared.events.send(Ev::Closed { client: i });
    })
}

struct Looping {
    commands: Vec<String>,
    every: Duration,
    until: Instant,
    next: usize,
    id: u64,
    waiting: bool,
    last_sent: Instant,
}

async fn run(
    mut ws: Ws,
    i: usize,
    sh: &Shared,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
) -> Result<()> {
    let slot = &sh.slots[i];
    let keep = slot.kind == Kind::Host || (i + sh.offset).checked_rem(sh.keep_every) == Some(0);
    let mut looping: Option<Looping> = None;
    loop {
        // A looping client sends its next command once its last one is answered.
        let due = looping
            .as_ref()
            .and_then(|l| (!l.waiting && Instant::now() < l.until).then(|| l.last_sent + l.every));
        tokio::select! {
            msg = ws.next() => {
                let t = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                };
                sh.received.fetch_add(1, Ordering::Relaxed);
                slot.bytes.fetch_add(t.len() as u64, Ordering::Relaxed);
                slot.largest.fetch_max(t.len() as u64, Ordering::Relaxed);
                if let Some(seq) = state_seq(&t) {
                    slot.states.fetch_add(1, Ordering::Relaxed);
                    let now = Instant::now();
                    slot.log.lock().unwrap().push((seq, now));
                    if keep {
                        *slot.last_text.lock().unwrap() = Some(t);
                    }
                    slot.last_seq.fetch_max(seq, Ordering::AcqRel);
                    continue;
                }
                let at = Instant::now();
                let Ok(msg) = serde_json::from_str::<ServerMessage>(&t) else {
                    continue;
                };
                match msg {
                    ServerMessage::Ack { id, seq } => {
                        if let Some(l) = looping.as_mut().filter(|l| l.waiting && id == l.id) {
                            l.waiting = false;
                            sh.loop_acks.fetch_add(1, Ordering::Relaxed);
                        } else {
                            let _ = sh.events.send(Ev::Ack { client: i, id, seq, at });
                        }
                    }
                    ServerMessage::Error { id, message, .. } => {
                        if let Some(l) = looping.as_mut().filter(|l| l.waiting && id == Some(l.id)) {
                            l.waiting = false;
                            sh.loop_errors.fetch_add(1, Ordering::Relaxed);
                        } else {
                            let _ = sh.events.send(Ev::Error { client: i, id, message });
                        }
                    }
                    _ => {}
                }
            }
            c = ctl.recv() => match c {
                Some(Ctl::Send(s)) => ws.send(Message::text(s)).await?,
                Some(Ctl::Loop { commands, every, until }) => {
                    looping = Some(Looping {
                        commands,
                        every,
                        until,
                        next: 0,
                        id: 1 << 40,
                        waiting: false,
                        last_sent: Instant::now() - every,
                    });
                }
                Some(Ctl::Close) | None => {
                    let _ = ws.close(None).await;
                    // Read until the server's close (bounded), so both ends are clean.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    return Ok(());
                }
            },
            _ = async { tokio::time::sleep_until(due.unwrap().into()).await }, if due.is_some() => {
                let l = looping.as_mut().expect("due implies looping");
                l.id += 1;
                let text = l.commands[l.next % l.commands.len()].replace("{ID}", &l.id.to_string());
                l.next += 1;
                l.waiting = true;
                l.last_sent = Instant::now();
                ws.send(Message::text(text)).await?;
            }
        }
    }
}
