//! The soak's clients: honest ones (a task each, answering the controller's asks) and
//! misbehaving ones (each keeps coming back to misbehave in its own way).

use crate::client::{connect, connect_small_buffer, send_json, Client, Ws};
use anyhow::{anyhow, Context, Result};
use futures_util::{SinkExt, StreamExt};
use podium_protocol::{ClientMessage, Command, Lang, ServerMessage, PROTOCOL_VERSION};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// A small deterministic generator (xorshift): the run needs no crate for dice.
pub(super) struct Dice(pub(super) u64);

impl Dice {
    pub(super) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// What an honest client is asked to do.
pub(super) enum Ask {
    /// Send a command; the answer (ack seq or refusal) and its latency come back.
    Command(Command, oneshot::Sender<Answer>),
    /// Close the socket and resume with the client's token.
    Reconnect(oneshot::Sender<Result<()>>),
}

/// The answer to one command.
pub(super) struct Answer {
    /// `Ok(seq)` for an ack, `Err("code: message")` for an error.
    pub(super) result: Result<u64, String>,
    /// Send → answer.
    pub(super) latency: Duration,
}

/// An honest client's handle, kept by the controller.
pub(super) struct Honest {
    /// Asks go to its task.
    pub(super) tx: mpsc::Sender<Ask>,
    /// Its token (participants' own; the host's link).
    pub(super) token: String,
    /// Participant id (0 for the host).
    pub(super) participant: u64,
    /// Whether a command or reconnect is in flight (one at a time).
    pub(super) busy: Arc<AtomicBool>,
    /// Whether its hand is up, as last acknowledged.
    pub(super) hand_up: Arc<AtomicBool>,
}

/// Counters shared by every task.
#[derive(Default)]
pub(super) struct Shared {
    /// Set before the server is killed at the end: closes are expected from then on.
    pub(super) stopping: AtomicBool,
    /// Honest connections the server closed (it never should).
    pub(super) honest_drops: AtomicU64,
    /// Abusive connections that ended (closed by the server, or refused).
    pub(super) bad_closed: AtomicU64,
    /// Frames the abusive clients sent.
    pub(super) bad_frames: AtomicU64,
    /// The highest `seq` any ack named: the restarted server must have it.
    pub(super) max_acked_seq: AtomicU64,
    /// What went wrong, for the report (the first 20).
    pub(super) problems: Mutex<Vec<String>>,
}

impl Shared {
    pub(super) fn problem(&self, p: impl Into<String>) {
        let mut v = self.problems.lock().unwrap();
        if v.len() < 20 {
            v.push(p.into());
        }
    }
}

/// An honest client's task: reads everything, answers the controller's asks.
pub(super) async fn honest(
    addr: SocketAddr,
    meeting: String,
    token: String,
    mut ws: Ws,
    mut rx: mpsc::Receiver<Ask>,
    shared: Arc<Shared>,
) {
    let mut next_id = 1u64;
    // The command in flight: (id, sent at, reply).
    let mut pending: Option<(u64, Instant, oneshot::Sender<Answer>)> = None;
    loop {
        tokio::select! {
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        if shared.stopping.load(Ordering::Relaxed) {
                            return;
                        }
                        shared.honest_drops.fetch_add(1, Ordering::Relaxed);
                        shared.problem("an honest connection was closed by the server");
                        match Client::hello(addr, &meeting, &token).await {
                            Ok(c) => { ws = c.ws; continue; }
                            Err(e) => { shared.problem(format!("honest resume failed: {e:#}")); return; }
                        }
                    }
                    Some(Ok(_)) => continue,
                };
                // Only replies are decoded.
                if !(text.starts_with(r#"{"type":"ack""#) || text.starts_with(r#"{"type":"error""#)) {
                    continue;
                }
                let (id, result) = match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Ack { id, seq }) => (id, Ok(seq)),
                    Ok(ServerMessage::Error { id: Some(id), code, message }) => {
                        (id, Err(format!("{}: {message}", serde_json::to_string(&code).unwrap_or_default())))
                    }
                    _ => continue,
                };
                if let Some((want, at, reply)) = pending.take() {
                    if want == id {
                        let _ = reply.send(Answer { result, latency: at.elapsed() });
                    } else {
                        pending = Some((want, at, reply));
                    }
                }
            }
            ask = rx.recv() => match ask {
                None => return,
                Some(Ask::Command(command, reply)) => {
                    let id = next_id;
                    next_id += 1;
                    let at = Instant::now();
                    if let Err(e) = send_json(&mut ws, &ClientMessage::Command { id, command, key: None }).await {
                        shared.problem(format!("honest send failed: {e:#}"));
                    }
                    pending = Some((id, at, reply));
                }
                Some(Ask::Reconnect(reply)) => {
                    let _ = ws.close(None).await;
                    match Client::hello(addr, &meeting, &token).await {
                        Ok(c) => { ws = c.ws; let _ = reply.send(Ok(())); }
                        Err(e) => { let _ = reply.send(Err(e)); return; }
                    }
                }
            }
        }
    }
}

/// The kinds of misbehaviour, by client index modulo 6.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bad {
    PingFlood,
    Garbage,
    JoinFlood,
    SlowReader,
    Oversized,
    WrongToken,
}

pub(super) const BAD_KINDS: [Bad; 6] = [
    Bad::PingFlood,
    Bad::Garbage,
    Bad::JoinFlood,
    Bad::SlowReader,
    Bad::Oversized,
    Bad::WrongToken,
];

/// A websocket from 127.0.0.2 (so per-address join limits apply to it).
async fn ws_from_other_address(addr: SocketAddr) -> Result<Ws> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(IpAddr::from([127, 0, 0, 2]), 0))?;
    let tcp = s.connect(addr).await?;
    let (ws, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/ws"),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await?;
    Ok(ws)
}

/// One misbehaving client: misbehaves until told to stop, coming back whenever closed.
#[allow(clippy::too_many_arguments)]
pub(super) async fn misbehave(
    kind: Bad,
    addr: SocketAddr,
    meeting: String,
    join_link: String,
    rate: f64,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    let gap = Duration::from_secs_f64(1.0 / rate.max(1.0));
    while !stop.load(Ordering::Relaxed) {
        let ws = match kind {
            Bad::JoinFlood => ws_from_other_address(addr).await,
            Bad::SlowReader => connect_small_buffer(addr, 4096).await,
            _ => connect(addr).await,
        };
        let Ok(mut ws) = ws else {
            shared.bad_closed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        if let Bad::SlowReader = kind {
            // Joins, then never reads again: the server drops it when its sends block.
            let join = ClientMessage::Join {
                protocol: PROTOCOL_VERSION,
                meeting: meeting.clone(),
                token: join_link.clone(),
                name: "Never Reads".into(),
                delegation: "Nowhere".into(),
                language: Lang::En,
                agenda_version: None,
            };
            let _ = send_json(&mut ws, &join).await;
            let mut probe = tokio::time::interval(Duration::from_secs(1));
            loop {
                probe.tick().await;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                // A write fails once the server has dropped us.
                if ws.send(Message::Ping(vec![1].into())).await.is_err() {
                    break;
                }
                shared.bad_frames.fetch_add(1, Ordering::Relaxed);
            }
            shared.bad_closed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (mut tx, mut rx) = ws.split();
        // Drain what the server says (errors, closes) so that it is not a slow reader.
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        });
        let mut n = 0u64;
        let mut tick = tokio::time::interval(gap);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if stop.load(Ordering::Relaxed) || reader.is_finished() {
                break;
            }
            n += 1;
            let frame = match kind {
                Bad::PingFlood => Message::Ping(n.to_be_bytes().to_vec().into()),
                Bad::Garbage => Message::text(format!("not json {n} {{[")),
                Bad::JoinFlood => Message::text(
                    serde_json::to_string(&ClientMessage::Join {
                        protocol: PROTOCOL_VERSION,
                        meeting: meeting.clone(),
                        token: join_link.clone(),
                        name: format!("Bot {n}"),
                        delegation: "Botland".into(),
                        language: Lang::En,
                        agenda_version: None,
                    })
                    .unwrap_or_default(),
                ),
                Bad::Oversized => Message::text("x".repeat(100 * 1024)),
                Bad::WrongToken => Message::text(format!(
                    r#"{{"type":"hello","protocol":{PROTOCOL_VERSION},"meeting":"{meeting}","token":"0badc0de0badc0de0badc0de0badc0de"}}"#
                )),
                Bad::SlowReader => unreachable!(),
            };
            if tx.send(frame).await.is_err() {
                break;
            }
            shared.bad_frames.fetch_add(1, Ordering::Relaxed);
        }
        reader.abort();
        shared.bad_closed.fetch_add(1, Ordering::Relaxed);
        // Come back soon, as abuse does.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Joins `n` participants, 32 at a time; their handles.
pub(super) async fn join_many(
    addr: SocketAddr,
    meeting: &str,
    link: &str,
    first: usize,
    n: usize,
    shared: &Arc<Shared>,
) -> Result<Vec<Honest>> {
    let results: Vec<Result<Honest>> = futures_util::stream::iter(first..first + n)
        .map(|i| {
            let (meeting, link, shared) = (meeting.to_string(), link.to_string(), shared.clone());
            async move {
                let c = Client::join(
                    addr,
                    &meeting,
                    &link,
                    &format!("Delegate {i}"),
                    &format!("Delegation {}", i % 193),
                    [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i % 4],
                )
                .await
                .with_context(|| format!("join {i}"))?;
                let token = c
                    .participant_token
                    .clone()
                    .ok_or_else(|| anyhow!("no participant token"))?;
                let participant = c.you.participant.unwrap_or_default();
                let (tx, rx) = mpsc::channel(4);
                tokio::spawn(honest(addr, meeting, token.clone(), c.ws, rx, shared));
                Ok(Honest {
                    tx,
                    token,
                    participant,
                    busy: Arc::new(AtomicBool::new(false)),
                    hand_up: Arc::new(AtomicBool::new(false)),
                })
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Latencies and outcomes of honest commands.
#[derive(Default)]
pub(super) struct Tally {
    /// Send → answer of every honest command, ms.
    pub(super) latencies_ms: Vec<f64>,
    /// Commands acknowledged.
    pub(super) acked: u64,
    /// Commands refused by the rules (answered, not lost).
    pub(super) refused: u64,
    /// Commands refused `rate_limited` (an honest client must never see it).
    pub(super) rate_limited: u64,
}

/// Sends `command` through `h` and records its answer; on ack runs `on_ack`.
pub(super) fn issue(
    h: &Honest,
    command: Command,
    tally: Arc<Mutex<Tally>>,
    shared: Arc<Shared>,
    on_ack: impl FnOnce() + Send + 'static,
) {
    let (reply, answer) = oneshot::channel();
    let busy = h.busy.clone();
    busy.store(true, Ordering::Relaxed);
    let tx = h.tx.clone();
    tokio::spawn(async move {
        if tx.send(Ask::Command(command, reply)).await.is_err() {
            busy.store(false, Ordering::Relaxed);
            return;
        }
        match tokio::time::timeout(Duration::from_secs(30), answer).await {
            Ok(Ok(a)) => {
                let mut t = tally.lock().unwrap();
                t.latencies_ms.push(a.latency.as_secs_f64() * 1000.0);
                match a.result {
                    Ok(seq) => {
                        t.acked += 1;
                        shared.max_acked_seq.fetch_max(seq, Ordering::Relaxed);
                        drop(t);
                        on_ack();
                    }
                    // The message-rate limit, not a rule such as the hand cooldown (which
                    // also answers `rate_limited`, with its own message).
                    Err(e) if e.contains("too many messages") => t.rate_limited += 1,
                    Err(_) => t.refused += 1,
                }
            }
            _ => shared.problem("an honest command got no answer within 30 s"),
        }
        busy.store(false, Ordering::Relaxed);
    });
}
