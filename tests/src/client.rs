//! A websocket client that speaks Podium's protocol, for black-box tests, the kill -9
//! tests and the load generator. It talks only JSON over a real socket, like any bot.

use crate::clocksync::{Estimator, Sample};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use podium_protocol::{
    ClientMessage, Command, ErrorCode, Identity, Lang, ListName, MeetingState, PageItems,
    ServerMessage, PROTOCOL_VERSION,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The raw websocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for an expected message before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// A connected, authenticated client.
pub struct Client {
    /// The socket.
    pub ws: Ws,
    /// Who the server says we are.
    pub you: Identity,
    /// Participant token from `welcome` (participants and observers).
    pub participant_token: Option<String>,
    /// The latest state seen (from the snapshot or a change).
    pub state: MeetingState,
    /// Sequence number of `state`.
    pub seq: u64,
    /// The agenda from the latest `agenda` message.
    pub agenda: podium_protocol::Agenda,
    /// This participant's latest `place` (seq, ordinary hand, point of order), if any came.
    pub place: Option<(u64, Option<usize>, Option<usize>)>,
    /// Its version.
    pub agenda_version: u64,
    /// Its planned times (segment starts, then the planned end).
    pub planned: Vec<i64>,
    /// How many `agenda` messages this connection received.
    pub agendas_received: usize,
    /// Next request id.
    next_id: u64,
    /// Added to the local clock for clock-sync tests (simulates a skewed machine).
    pub skew_ms: f64,
}

/// Opens a websocket to a server.
pub async fn connect(addr: SocketAddr) -> Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .context("websocket connect")?;
    Ok(ws)
}

/// Sends one JSON value as a text frame.
pub async fn send_json(ws: &mut Ws, v: &impl serde::Serialize) -> Result<()> {
    ws.send(Message::text(serde_json::to_string(v)?)).await?;
    Ok(())
}

/// Receives the next server message (skipping pings), within [`WAIT`].
pub async fn recv(ws: &mut Ws) -> Result<ServerMessage> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .map_err(|_| anyhow!("no message from the server within {WAIT:?}"))?
            .ok_or_else(|| anyhow!("connection closed"))??;
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(&t)?),
            Message::Close(f) => bail!("closed by server: {f:?}"),
            _ => continue,
        }
    }
}

fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

impl Client {
    /// After `hello`/`join`: `welcome`, the `agenda` (unless `held` is its version — then
    /// `held_agenda` is used) and the `snapshot`.
    async fn finish(ws: Ws) -> Result<Client> {
        Client::finish_holding(ws, None).await
    }

    async fn finish_holding(
        mut ws: Ws,
        held: Option<(u64, podium_protocol::Agenda, Vec<i64>)>,
    ) -> Result<Client> {
        let (you, participant_token) = match recv(&mut ws).await? {
            ServerMessage::Welcome {
                you,
                participant_token,
                ..
            } => (you, participant_token),
            ServerMessage::Error { code, message, .. } => bail!("refused: {code:?}: {message}"),
            other => bail!("expected welcome, got {other:?}"),
        };
        let (mut agenda, mut received) = (held, 0);
        loop {
            match recv(&mut ws).await? {
                ServerMessage::Agenda {
                    version,
                    agenda: a,
                    planned,
                } => {
                    agenda = Some((version, *a, planned));
                    received += 1;
                }
                ServerMessage::Snapshot { seq, state, .. } => {
                    let (agenda_version, agenda, planned) =
                        agenda.ok_or_else(|| anyhow!("a snapshot came before any agenda"))?;
                    if agenda_version != state.agenda_version {
                        bail!(
                            "the snapshot shows agenda version {} but the agenda is {agenda_version}",
                            state.agenda_version
                        );
                    }
                    return Ok(Client {
                        ws,
                        you,
                        participant_token,
                        state: *state,
                        seq,
                        agenda,
                        agenda_version,
                        planned,
                        agendas_received: received,
                        place: None,
                        next_id: 1,
                        skew_ms: 0.0,
                    });
                }
                other => bail!("expected agenda or snapshot, got {other:?}"),
            }
        }
    }

    /// Connects with a role token (or a participant's own token).
    pub async fn hello(addr: SocketAddr, meeting: &str, token: &str) -> Result<Client> {
        let mut ws = connect(addr).await?;
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            meeting: meeting.into(),
            token: token.into(),
            agenda_version: None,
        };
        send_json(&mut ws, &hello).await?;
        Client::finish(ws).await
    }

    /// Connects with a token, saying it holds `agenda` at `version` already (as a client
    /// reconnecting does): the server sends the agenda only if it changed.
    pub async fn hello_holding(
        addr: SocketAddr,
        meeting: &str,
        token: &str,
        held: (u64, podium_protocol::Agenda, Vec<i64>),
    ) -> Result<Client> {
        let mut ws = connect(addr).await?;
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            meeting: meeting.into(),
            token: token.into(),
            agenda_version: Some(held.0),
        };
        send_json(&mut ws, &hello).await?;
        Client::finish_holding(ws, Some(held)).await
    }

    /// Joins through a join link.
    pub async fn join(
        addr: SocketAddr,
        meeting: &str,
        token: &str,
        name: &str,
        delegation: &str,
        language: Lang,
    ) -> Result<Client> {
        let mut ws = connect(addr).await?;
        let join = ClientMessage::Join {
            protocol: PROTOCOL_VERSION,
            meeting: meeting.into(),
            token: token.into(),
            name: name.into(),
            delegation: delegation.into(),
            language,
            agenda_version: None,
        };
        send_json(&mut ws, &join).await?;
        Client::finish(ws).await
    }

    /// Takes in a message that is not the one awaited: state changes update `state`.
    fn absorb(&mut self, msg: &ServerMessage) {
        match msg {
            ServerMessage::Change { seq, state, .. } if *seq > self.seq => {
                self.seq = *seq;
                self.state = (**state).clone();
            }
            ServerMessage::Place {
                seq,
                hand,
                point_of_order,
            } if self.place.is_none_or(|p| p.0 <= *seq) => {
                self.place = Some((*seq, *hand, *point_of_order));
            }
            ServerMessage::Agenda {
                version,
                agenda,
                planned,
            } => {
                self.agenda_version = *version;
                self.agenda = (**agenda).clone();
                self.planned = planned.clone();
                self.agendas_received += 1;
            }
            _ => {}
        }
    }

    /// One page of a staff list: (items, total).
    pub async fn fetch(
        &mut self,
        what: ListName,
        from: usize,
        limit: Option<usize>,
    ) -> Result<Result<(PageItems, usize), (ErrorCode, String)>> {
        Ok(self
            .fetch_from(what, from, limit)
            .await?
            .map(|(items, _, total)| (items, total)))
    }

    /// A page of a staff list with where it starts: (items, from, total). A hand history
    /// page starts at the oldest record the server still holds live when asked for older.
    pub async fn fetch_from(
        &mut self,
        what: ListName,
        from: usize,
        limit: Option<usize>,
    ) -> Result<Result<(PageItems, usize, usize), (ErrorCode, String)>> {
        let id = 3_000_000 + self.next_id;
        self.next_id += 1;
        let msg = ClientMessage::Fetch {
            id,
            what,
            from,
            limit,
        };
        send_json(&mut self.ws, &msg).await?;
        match self.next_reply().await? {
            ServerMessage::Page {
                id: got,
                items,
                from,
                total,
                ..
            } if got == id => Ok(Ok((items, from, total))),
            ServerMessage::Error {
                id: Some(got),
                code,
                message,
            } if got == id => Ok(Err((code, message))),
            other => bail!("expected page {id}, got {other:?}"),
        }
    }

    /// The whole participant register, paged in with `fetch` (staff only).
    pub async fn register(&mut self) -> Result<Vec<podium_protocol::Participant>> {
        let mut all = Vec::new();
        loop {
            match self.fetch(ListName::Participants, all.len(), None).await? {
                Ok((PageItems::Participants(page), total)) => {
                    all.extend(page);
                    if all.len() >= total {
                        return Ok(all);
                    }
                }
                Ok((PageItems::HandHistory(h), total)) if h.is_empty() && all.len() >= total => {
                    return Ok(all)
                }
                Ok(other) => bail!("unexpected page {other:?}"),
                Err(e) => bail!("fetch refused: {e:?}"),
            }
        }
    }

    /// The whole state as the engine holds it: the staff state with the register and the
    /// hand history paged in (staff only).
    pub async fn whole_state(&mut self) -> Result<MeetingState> {
        let participants = self.register().await?;
        let (start, hand_history) = self.hand_history_held().await?;
        let mut s = self.state.clone();
        if s.participant_count != Some(participants.len())
            || s.hand_history_len != Some(start + hand_history.len())
        {
            bail!("the lists changed while they were paged in");
        }
        s.participants = participants;
        s.hand_history = hand_history;
        s.hand_history_start = start;
        s.participant_count = None;
        s.hand_history_len = None;
        Ok(s)
    }

    /// The hand history the server holds live (the latest records of a long meeting),
    /// paged in with `fetch` (staff only): the index of the first record, and the records.
    pub async fn hand_history_held(&mut self) -> Result<(usize, Vec<podium_protocol::HandRecord>)> {
        let (mut start, mut all) = (0, Vec::new());
        loop {
            match self
                .fetch_from(ListName::HandHistory, start + all.len(), None)
                .await?
            {
                Ok((PageItems::HandHistory(page), from, total)) => {
                    if from != start + all.len() {
                        // Older records are no longer held: start again from the oldest.
                        (start, all) = (from, Vec::new());
                    }
                    all.extend(page);
                    if start + all.len() >= total {
                        return Ok((start, all));
                    }
                }
                // An empty page decodes as either kind.
                Ok((PageItems::Participants(p), from, total)) if p.is_empty() && from >= total => {
                    return Ok((start, all))
                }
                Ok(other) => bail!("unexpected page {other:?}"),
                Err(e) => bail!("fetch refused: {e:?}"),
            }
        }
    }

    /// Sends a command without waiting; returns its request id.
    pub async fn send_command(&mut self, command: Command) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        send_json(
            &mut self.ws,
            &ClientMessage::Command {
                id,
                command,
                key: None,
            },
        )
        .await?;
        Ok(id)
    }

    /// Sends a command with an idempotency key without waiting; returns its request id.
    pub async fn send_keyed(&mut self, command: Command, key: &str) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = ClientMessage::Command {
            id,
            command,
            key: Some(key.to_string()),
        };
        send_json(&mut self.ws, &msg).await?;
        Ok(id)
    }

    /// Sends a keyed command and waits for its answer.
    pub async fn command_keyed(
        &mut self,
        command: Command,
        key: &str,
    ) -> Result<Result<u64, (ErrorCode, String)>> {
        let id = self.send_keyed(command, key).await?;
        self.wait_reply(id).await
    }

    /// Sends a command and waits for its answer: `Ok(seq)` or `Err((code, message))`.
    pub async fn command(&mut self, command: Command) -> Result<Result<u64, (ErrorCode, String)>> {
        let id = self.send_command(command).await?;
        self.wait_reply(id).await
    }

    /// Waits for the answer to request `id`, absorbing changes meanwhile.
    pub async fn wait_reply(&mut self, id: u64) -> Result<Result<u64, (ErrorCode, String)>> {
        loop {
            let msg = recv(&mut self.ws).await?;
            match msg {
                ServerMessage::Ack { id: got, seq } if got == id => return Ok(Ok(seq)),
                ServerMessage::Error {
                    id: Some(got),
                    code,
                    message,
                } if got == id => return Ok(Err((code, message))),
                other => self.absorb(&other),
            }
        }
    }

    /// Sends a command that must succeed, and waits until its change has arrived.
    pub async fn must(&mut self, command: Command) -> Result<u64> {
        let what = format!("{command:?}");
        match self.command(command).await? {
            Ok(seq) => {
                self.wait_seq(seq).await?;
                Ok(seq)
            }
            Err((code, message)) => bail!("{what} refused: {code:?}: {message}"),
        }
    }

    /// Waits until the state has reached `seq`.
    pub async fn wait_seq(&mut self, seq: u64) -> Result<()> {
        while self.seq < seq {
            let msg = recv(&mut self.ws).await?;
            self.absorb(&msg);
        }
        Ok(())
    }

    /// Waits until `pred(state)` holds.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&MeetingState) -> bool) -> Result<()> {
        while !pred(&self.state) {
            let msg = recv(&mut self.ws).await?;
            self.absorb(&msg);
        }
        Ok(())
    }

    /// Waits until the latest `place` (seq, hand, point of order) satisfies `pred`.
    pub async fn wait_place(
        &mut self,
        mut pred: impl FnMut((u64, Option<usize>, Option<usize>)) -> bool,
    ) -> Result<()> {
        while !self.place.is_some_and(&mut pred) {
            let msg = recv(&mut self.ws).await?;
            self.absorb(&msg);
        }
        Ok(())
    }

    /// The local clock of this client (with its skew), ms.
    pub fn local_ms(&self) -> f64 {
        wall_ms() + self.skew_ms
    }

    /// Runs `n` ping/pong exchanges and returns the estimated offset (server − local).
    pub async fn sync_clock(&mut self, n: usize) -> Result<f64> {
        let mut est = Estimator::default();
        for i in 0..n {
            let t0 = self.local_ms();
            let id = 1_000_000 + i as u64;
            send_json(
                &mut self.ws,
                &ClientMessage::Ping {
                    id,
                    client_time: t0,
                },
            )
            .await?;
            loop {
                let msg = recv(&mut self.ws).await?;
                match msg {
                    ServerMessage::Pong {
                        id: got,
                        client_time,
                        server_time,
                    } if got == id => {
                        est.add(Sample {
                            t0: client_time,
                            server: server_time as f64,
                            t1: self.local_ms(),
                        });
                        break;
                    }
                    other => self.absorb(&other),
                }
            }
        }
        est.offset().ok_or_else(|| anyhow!("no clock sample"))
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Opens a websocket over a socket whose kernel receive buffer is `recv_buffer` bytes
/// (set before connecting, so the advertised window stays small): a client that then stops
/// reading fills the server's send path quickly, like a stalled phone would.
pub async fn connect_small_buffer(addr: SocketAddr, recv_buffer: u32) -> Result<Ws> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(recv_buffer)?;
    let stream = socket.connect(addr).await.context("tcp connect")?;
    let (ws, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(stream))
            .await
            .context("websocket handshake")?;
    Ok(ws)
}

/// What came from the server before it closed (see [`read_until_close`]).
#[derive(Debug, Default)]
pub struct UntilClose {
    /// Every message received, in order.
    pub messages: Vec<ServerMessage>,
    /// The close frame's code, if a close frame came (`None` if the socket just ended).
    pub code: Option<u16>,
    /// The read error that ended the stream, if any (e.g. a reset).
    pub error: Option<String>,
}

/// Reads every message until the server closes the connection (within [`WAIT`]).
pub async fn read_until_close(ws: &mut Ws) -> Result<UntilClose> {
    let mut out = UntilClose::default();
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .map_err(|_| anyhow!("the server did not close within {WAIT:?}; got {out:?}"))?;
        match next {
            None => return Ok(out),
            Some(Err(e)) => {
                out.error = Some(e.to_string());
                return Ok(out);
            }
            Some(Ok(Message::Text(t))) => out.messages.push(serde_json::from_str(&t)?),
            Some(Ok(Message::Close(f))) => {
                out.code = f.map(|f| u16::from(f.code));
                return Ok(out);
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// The state as staff see it, from the whole state: the register and the hand history
/// left out, their lengths given.
pub fn staff_view(whole: &MeetingState) -> MeetingState {
    let mut s = whole.clone();
    s.participant_count = Some(s.participants.len());
    s.hand_history_len = Some(s.hand_history.len());
    s.participants.clear();
    s.hand_history.clear();
    s
}

/// The state as a non-staff role (but a booth) sees it, from the host's (staff) state:
/// without the lengths of the register and the hand history, the agenda edit log and the
/// alerts to the chair (booth alerts included), the queue detailed for its first hands
/// only, with its length.
pub fn public_view(state: &MeetingState) -> MeetingState {
    let mut s = state.clone();
    s.participants.clear();
    s.hand_history.clear();
    s.participant_count = None;
    s.hand_history_len = None;
    s.agenda_edits.clear();
    s.no_interpretation = None;
    s.interpretation.alerts.clear();
    s.queue_len = Some(s.queue.len());
    s.queue.truncate(podium_protocol::PUBLIC_QUEUE_DETAIL);
    s
}

impl Client {
    /// Sends a raw text frame (anything, valid or not).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.ws.send(Message::text(text.into())).await?;
        Ok(())
    }

    /// Receives the next message that is not a `change` (changes update `state`).
    pub async fn next_reply(&mut self) -> Result<ServerMessage> {
        loop {
            let msg = recv(&mut self.ws).await?;
            match msg {
                ServerMessage::Change { .. } | ServerMessage::Place { .. } => self.absorb(&msg),
                other => return Ok(other),
            }
        }
    }

    /// One ping/pong round trip: proves the connection is open and served.
    pub async fn ping(&mut self) -> Result<()> {
        let id = 2_000_000 + self.next_id;
        self.next_id += 1;
        let client_time = self.local_ms();
        send_json(&mut self.ws, &ClientMessage::Ping { id, client_time }).await?;
        loop {
            match self.next_reply().await? {
                ServerMessage::Pong { id: got, .. } if got == id => return Ok(()),
                ServerMessage::Pong { .. } => continue,
                other => bail!("expected pong {id}, got {other:?}"),
            }
        }
    }
}
