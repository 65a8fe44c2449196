//! One websocket connection: authenticate, send the snapshot, then one `select!` loop
//! over shutdown, the client's messages, the meeting's published state and replies.
//!
//! A connection reads the meeting's state through a `watch`: if it falls behind it simply
//! gets the latest state next (the ones in between are skipped, never queued), so a slow
//! client costs no memory. A send that does not complete within the send timeout means
//! the client stopped reading: the connection is dropped, and nobody else waits for it.

pub mod ratelimit;

use crate::clock::now_ms;
use crate::hub::meeting::{Input, ReplyTx};
use crate::hub::{Grant, Hub};
use crate::Limits;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use podium_protocol::{ClientMessage, ErrorCode, Identity, Role, ServerMessage, PROTOCOL_VERSION};
use ratelimit::Bucket;
use serde::Deserialize;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Close codes used by the server.
pub mod close {
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Sustained abuse (rate), or a hello that never came.
    pub const POLICY: u16 = 1008;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// 4001: the link was revoked (rotated, or its person removed) — do not reconnect.
    /// 4002: the meeting was archived — do not reconnect. Defined with the grants' revocation.
    pub use crate::hub::close::{ARCHIVED, REVOKED};
}

static CONNECTION_IDS: AtomicU64 = AtomicU64::new(1);

/// How long a closing connection waits for the client's Close frame at most.
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves one upgraded websocket until it closes.
pub async fn serve(
    socket: WebSocket,
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
) {
    let n = CONNECTION_IDS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "conn",
        n,
        meeting = tracing::field::Empty,
        role = tracing::field::Empty
    );
    Connection {
        socket,
        hub,
        limits,
        shutdown,
        awaiting: 0,
        agenda_held: None,
    }
    .run()
    .instrument(span)
    .await
}

struct Connection {
    /// The client's socket; this task alone reads and writes it.
    socket: WebSocket,
    /// Where meetings and grants are found.
    hub: Arc<Hub>,
    /// Frame size, timeouts, rate: shared by every connection.
    limits: Arc<Limits>,
    /// Cancelled at shutdown: the loop then sends Close 1001.
    shutdown: CancellationToken,
    /// Commands handed to the meeting whose reply has not come back. The reply queue is
    /// polled only while this is non-zero: most connections never send a command, and a
    /// fan-out then wakes them for nothing else.
    awaiting: usize,
    /// The agenda version the client holds: from its `hello`/`join`, then the last
    /// `agenda` message sent. The agenda is sent only when this differs.
    agenda_held: Option<u64>,
}

/// Why the loop ended.
enum End {
    /// Send a close frame with this code and reason.
    Close(u16, &'static str),
    /// Just drop the socket (client gone or not reading).
    Drop,
}

fn text(msg: &ServerMessage) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).expect("message serialises"),
    ))
}

/// An `error` message (boxed: it travels in `Result`s, and `ServerMessage` is large).
fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Box<ServerMessage> {
    Box::new(ServerMessage::Error {
        id,
        code,
        message: message.into(),
    })
}

impl Connection {
    async fn send(&mut self, msg: Message) -> Result<(), End> {
        let len = match &msg {
            Message::Text(t) => t.len(),
            _ => 0,
        };
        let limit = self.limits.send_timeout;
        let sent = {
            let mut send = std::pin::pin!(self.socket.send(msg));
            // Most sends complete at once (the socket buffer has room): only those that
            // do not arm a timer, so the common path costs no timer registration.
            match std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await {
                Poll::Ready(r) => Ok(r),
                Poll::Pending => tokio::time::timeout(limit, send).await,
            }
        };
        match sent {
            Ok(Ok(())) => {
                self.hub.metrics.sent(len);
                Ok(())
            }
            Ok(Err(_)) => Err(End::Drop),
            Err(_) => {
                self.hub.metrics.slow_dropped();
                tracing::info!("client stopped reading: dropped");
                Err(End::Drop)
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let sent = tokio::time::timeout(
            self.limits.send_timeout,
            self.socket.send(Message::Close(Some(frame))),
        )
        .await;
        if matches!(sent, Ok(Ok(()))) {
            self.linger().await;
        }
    }

    /// The closing handshake: after our Close frame, read and discard what the client
    /// still sends until its Close (or a short deadline). Dropping a socket with unread
    /// data makes the kernel send a reset, and a reset can destroy our Close frame (and the
    /// replies before it) in the client's receive buffer before the client reads them.
    async fn linger(&mut self) {
        let deadline = tokio::time::Instant::now() + CLOSE_LINGER.min(self.limits.send_timeout);
        loop {
            let msg = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => return,
                m = self.socket.recv() => m,
            };
            match msg {
                Some(Ok(Message::Close(_))) | None => return,
                Some(Ok(_)) => continue,
                // The stream cannot be read past this error (an oversized frame): give the
                // client until the deadline to read our Close before the socket goes.
                Some(Err(_)) => {
                    tokio::select! {
                        _ = self.shutdown.cancelled() => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                    return;
                }
            }
        }
    }

    async fn run(mut self) {
        let end = match self.authenticate().await {
            Ok((grant, identity, token)) => {
                let role = grant.role;
                tracing::Span::current().record("meeting", grant.meeting.as_str());
                tracing::Span::current().record("role", role.as_str());
                self.hub.metrics.connected(role);
                let end = self.session(grant, identity, token).await;
                self.hub.metrics.disconnected(role);
                end
            }
            Err(end) => end,
        };
        if let End::Close(code, reason) = end {
            self.close(code, reason).await;
        }
    }

    /// Waits for `hello` or `join` and answers `welcome`.
    async fn authenticate(&mut self) -> Result<(Grant, Identity, Option<String>), End> {
        let deadline = tokio::time::Instant::now() + self.limits.hello_timeout;
        // Messages before `hello` count too (see `ratelimit`).
        let mut bucket = Bucket::new(self.limits.rate, Instant::now());
        loop {
            let msg = tokio::select! {
                _ = self.shutdown.cancelled() => return Err(End::Close(close::GOING_AWAY, "server shutting down")),
                _ = tokio::time::sleep_until(deadline) => return Err(End::Close(close::POLICY, "no hello")),
                m = self.socket.recv() => m,
            };
            if let Some(Ok(m)) = &msg {
                if !self.admit_frame(&mut bucket, m).await? {
                    continue;
                }
            }
            let raw = match msg {
                None => return Err(End::Drop),
                Some(Err(e)) => return Err(self.read_error(e)),
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(_))) => return Err(End::Drop),
                Some(Ok(Message::Binary(_))) => {
                    self.hub.metrics.bad_message();
                    self.send(text(&error(
                        None,
                        ErrorCode::BadRequest,
                        "binary frames are not part of the protocol: send JSON text",
                    )))
                    .await?;
                    continue;
                }
                Some(Ok(_)) => continue,
            };
            let parsed = match parse(&raw) {
                Ok(m) => m,
                Err(e) => {
                    self.hub.metrics.bad_message();
                    self.send(text(&e)).await?;
                    continue;
                }
            };
            if let ClientMessage::Hello { agenda_version, .. }
            | ClientMessage::Join { agenda_version, .. } = &parsed
            {
                self.agenda_held = *agenda_version;
            }
            match welcome(&self.hub, parsed).await {
                Ok(ok) => return Ok(ok),
                Err(e) => self.send(text(&e)).await?,
            }
        }
    }
}

/// Checks a `hello` or `join` and finds who the client is.
async fn welcome(
    hub: &Hub,
    msg: ClientMessage,
) -> Result<(Grant, Identity, Option<String>), Box<ServerMessage>> {
    let unauthorized = || {
        error(
            None,
            ErrorCode::Unauthorized,
            "this link is not valid for this meeting: ask the host for a new link",
        )
    };
    let check = |protocol: u32, meeting: &str, token: &str| -> Result<Grant, Box<ServerMessage>> {
        if protocol != PROTOCOL_VERSION {
            return Err(error(
                    None,
                    ErrorCode::UnsupportedVersion,
                    format!("this server speaks protocol {PROTOCOL_VERSION}, not {protocol}: reload the page"),
                ));
        }
        let grant = hub.grant(token).ok_or_else(unauthorized)?;
        if grant.meeting != meeting {
            return Err(unauthorized());
        }
        if hub.meeting(meeting).is_none() {
            return Err(error(
                None,
                ErrorCode::Archived,
                "this meeting is archived or closed: reports only",
            ));
        }
        Ok(grant)
    };
    match msg {
        ClientMessage::Hello {
            protocol,
            meeting,
            token,
            ..
        } => {
            let grant = check(protocol, &meeting, &token)?;
            if grant.actor().is_none() && grant.role == Role::Interpreter {
                return Err(error(
                    None,
                    ErrorCode::Unauthorized,
                    "this interpreter link names no booth: ask the host for your booth's own link",
                ));
            }
            if grant.actor().is_none() {
                return Err(error(
                    None,
                    ErrorCode::BadRequest,
                    "this is a join link: send `join` with your name, delegation and language",
                ));
            }
            let identity = identity(hub, &grant).await;
            Ok((grant, identity, None))
        }
        ClientMessage::Join {
            protocol,
            meeting,
            token,
            name,
            delegation,
            language,
            ..
        } => {
            let link = check(protocol, &meeting, &token)?;
            if link.participant.is_some()
                || !matches!(link.role, Role::Participant | Role::Observer)
            {
                return Err(error(
                    None,
                    ErrorCode::BadRequest,
                    "only a join link can join: use `hello` with this token",
                ));
            }
            let admitted = match hub.meeting(&meeting) {
                Some(h) => {
                    hub.admission
                        .admit_join(&meeting, &h, crate::admission::peer())
                        .await
                }
                None => {
                    return Err(error(
                        None,
                        ErrorCode::NoSuchMeeting,
                        "the meeting has closed",
                    ))
                }
            };
            let ticket = admitted.map_err(|why| error(None, why.code(), why.message()))?;
            let (reply, rx) = tokio::sync::oneshot::channel();
            let input = Input::Join {
                role: link.role,
                name,
                delegation,
                language,
                reply,
            };
            if !hub.send(&meeting, input).await {
                return Err(error(
                    None,
                    ErrorCode::NoSuchMeeting,
                    "the meeting has closed",
                ));
            }
            match rx.await {
                Ok(Ok((grant, token))) => {
                    ticket.joined();
                    let identity = identity(hub, &grant).await;
                    Ok((grant, identity, Some(token)))
                }
                Ok(Err((code, message))) => Err(error(None, code, message)),
                Err(_) => Err(error(
                    None,
                    ErrorCode::Internal,
                    "the meeting stopped; try again",
                )),
            }
        }
        _ => {
            hub.metrics.bad_message();
            Err(error(
                None,
                ErrorCode::Unauthorized,
                "send `hello` (or `join`) first",
            ))
        }
    }
}

/// The `you` of a `welcome`: role, person or participant id, and display name.
async fn identity(hub: &Hub, grant: &Grant) -> Identity {
    let mut name = grant.role.as_str().to_string();
    if let Some(crate::engine::Actor::Interpreter(lang)) = grant.actor() {
        name = format!("{} booth", lang.english_name());
    }
    if let Some(h) = hub.meeting(&grant.meeting) {
        let agenda = h.agenda();
        if let Some(found) = grant.person.as_deref().and_then(|p| agenda.person(p)) {
            name = found.name.clone();
        }
        if let Some(pid) = grant.participant {
            if let Some(p) = h.participant(pid).await {
                name = p.name;
            }
        }
    }
    Identity {
        role: grant.role,
        person: grant.person.clone(),
        participant: grant.participant,
        name,
    }
}

impl Connection {
    /// The authenticated part: snapshot, then the loop.
    async fn session(&mut self, grant: Grant, you: Identity, token: Option<String>) -> End {
        let Some(meeting) = self.hub.meeting(&grant.meeting) else {
            return End::Close(close::GOING_AWAY, "meeting closed");
        };
        let actor = grant.actor().expect("authenticated grants have an actor");
        let role = grant.role;
        // Subscribe before the snapshot, so no change can fall between them.
        let mut views = meeting.subscribe();
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            meeting: grant.meeting.clone(),
            you,
            participant_token: token,
            server_time: now_ms(),
        };
        if let Err(e) = self.send(text(&welcome)).await {
            return e;
        }
        let (agenda, snapshot, mut seen) = {
            let p = views.borrow_and_update();
            (
                p.agenda.clone(),
                p.snapshot(role, now_ms()),
                p.for_role(role).seq,
            )
        };
        if let Err(e) = self.send_agenda(&agenda).await {
            return e;
        }
        if let Err(e) = self.send(Message::Text(snapshot)).await {
            return e;
        }
        let (reply_tx, mut replies): (ReplyTx, _) = mpsc::channel(self.limits.reply_queue);
        let mut bucket = Bucket::new(self.limits.rate, Instant::now());
        bucket.share(
            self.hub
                .link_buckets
                .bucket(&grant, self.limits.rate, Instant::now()),
        );
        // Registered once: a `cancelled()` made anew every turn would lock the token's
        // waiter list twice per message, on a lock every connection shares.
        let shutdown = self.shutdown.clone();
        let mut cancelled = std::pin::pin!(shutdown.cancelled());
        // The grant's revocation (link rotated, person removed, meeting archived), also
        // registered once.
        let revocation = grant.revocation.clone();
        let mut revoked = std::pin::pin!(revocation.cancelled());
        loop {
            // Biased, state first: a fan-out wakes every connection, and each then polls
            // just the branch that woke it (a random start would poll two on average).
            let step = tokio::select! {
                biased;
                changed = views.changed() => {
                    if changed.is_err() {
                        if grant.revocation.is_revoked() {
                            let (code, reason) = grant.revocation.close_frame();
                            return End::Close(code, reason);
                        }
                        return End::Close(close::GOING_AWAY, "meeting closed");
                    }
                    self.push_change(&mut views, role, &mut seen).await
                }
                Some((id, reply)) = replies.recv(), if self.awaiting > 0 => {
                    self.awaiting -= 1;
                    // Show the change before acknowledging the command that made it.
                    if views.has_changed().unwrap_or(false) {
                        if let Err(e) = self.push_change(&mut views, role, &mut seen).await {
                            return e;
                        }
                    }
                    let msg = match reply {
                        // A change this role cannot see was not sent to it: the state
                        // it has (at an earlier seq) already shows all it may see.
                        Ok(seq) => ServerMessage::Ack { id, seq: seq.min(seen) },
                        Err((code, message)) => *error(Some(id), code, message),
                    };
                    self.send(text(&msg)).await
                }
                msg = self.socket.recv() => match msg {
                    None | Some(Ok(Message::Close(_))) => return End::Drop,
                    Some(Err(e)) => return self.read_error(e),
                    // Every frame counts against the limits (Pings too).
                    Some(Ok(m)) => match self.admit_frame(&mut bucket, &m).await {
                        Err(end) => return end,
                        Ok(false) => Ok(()),
                        Ok(true) => match m {
                            Message::Text(raw) => self.handle(&raw, &grant, &actor, &reply_tx).await,
                            Message::Binary(_) => {
                                self.hub.metrics.bad_message();
                                self.send(text(&error(None, ErrorCode::BadRequest, "binary frames are not part of the protocol: send JSON text"))).await
                            }
                            _ => Ok(()),
                        },
                    },
                },
                _ = &mut cancelled => return End::Close(close::GOING_AWAY, "server shutting down"),
                _ = &mut revoked => {
                    let (code, reason) = revocation.close_frame();
                    return End::Close(code, reason);
                }
            };
            if let Err(e) = step {
                return e;
            }
        }
    }

    async fn push_change(
        &mut self,
        views: &mut tokio::sync::watch::Receiver<Arc<crate::hub::views::Published>>,
        role: Role,
        seen: &mut u64,
    ) -> Result<(), End> {
        // Hold the state while writing it, so its fan-out time counts this socket.
        let published = views.borrow_and_update().clone();
        let projection = published.for_role(role);
        let seq = projection.seq;
        if seq <= *seen {
            return Ok(());
        }
        *seen = seq;
        // A change that shows a new agenda version comes after that agenda.
        self.send_agenda(&published.agenda).await?;
        let bytes = projection.change.clone();
        self.send(Message::Text(bytes)).await?;
        published.fanout.written();
        Ok(())
    }

    /// Sends the `agenda` message unless the client holds that version already.
    async fn send_agenda(&mut self, frame: &crate::hub::views::AgendaFrame) -> Result<(), End> {
        if self.agenda_held == Some(frame.version) {
            return Ok(());
        }
        self.send(Message::Text(frame.message.clone())).await?;
        self.agenda_held = Some(frame.version);
        Ok(())
    }

    async fn handle(
        &mut self,
        raw: &str,
        grant: &Grant,
        actor: &crate::engine::Actor,
        reply: &ReplyTx,
    ) -> Result<(), End> {
        let msg = match parse(raw) {
            Ok(m) => m,
            Err(e) => {
                self.hub.metrics.bad_message();
                return self.send(text(&e)).await;
            }
        };
        match msg {
            ClientMessage::Ping { id, client_time } => {
                let pong = ServerMessage::Pong {
                    id,
                    client_time,
                    server_time: now_ms(),
                };
                self.send(text(&pong)).await
            }
            ClientMessage::Command { id, command } => {
                let input = Input::Command {
                    actor: actor.clone(),
                    command,
                    id,
                    reply: reply.clone(),
                };
                if self.hub.send(&grant.meeting, input).await {
                    self.awaiting += 1;
                    Ok(())
                } else {
                    self.send(text(&error(
                        Some(id),
                        ErrorCode::NoSuchMeeting,
                        "the meeting has closed",
                    )))
                    .await
                }
            }
            // The host's link management (list, rotate): answered by the hub.
            ClientMessage::Links { id } => {
                let reply = crate::hub::links::request(&self.hub, grant, id, None).await;
                self.send(text(&reply)).await
            }
            ClientMessage::RotateLink { id, role, person } => {
                let rotate = Some((role, person));
                let reply = crate::hub::links::request(&self.hub, grant, id, rotate).await;
                self.send(text(&reply)).await
            }
            ClientMessage::Hello { .. } | ClientMessage::Join { .. } => {
                self.send(text(&error(
                    None,
                    ErrorCode::BadRequest,
                    "already authenticated on this connection",
                )))
                .await
            }
        }
    }

    fn read_error(&self, e: axum::Error) -> End {
        // axum wraps tungstenite's error; a message or frame over the limit is `Capacity`.
        let too_big = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<tungstenite::Error>())
            .is_some_and(|t| matches!(t, tungstenite::Error::Capacity(_)));
        if too_big {
            self.hub.metrics.bad_message();
            tracing::info!("frame over the size limit: closing");
            End::Close(close::TOO_BIG, "message too big: 16 KiB at most")
        } else {
            End::Drop
        }
    }
}

/// The request id of a raw command, when it has one.
fn request_id(raw: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: Option<u64>,
    }
    serde_json::from_str::<Id>(raw).ok().and_then(|i| i.id)
}

/// Parses a client message, or says exactly what is wrong with it.
fn parse(raw: &str) -> Result<ClientMessage, Box<ServerMessage>> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
        error(
            None,
            ErrorCode::BadRequest,
            format!("not valid JSON ({e}): send one JSON object per message"),
        )
    })?;
    let id = value.get("id").and_then(|v| v.as_u64());
    ClientMessage::deserialize(&value).map_err(|e| {
        // A well-formed message with a language code Podium does not know is a bad value,
        // not a bad shape (PROTOCOL.md, error codes).
        let text = e.to_string();
        let code = if text.contains("unknown variant") && text.contains("`ar`, `de`") {
            ErrorCode::InvalidArgument
        } else {
            ErrorCode::BadRequest
        };
        error(
            id,
            code,
            format!("{text}; see PROTOCOL.md for the message shapes"),
        )
    })
}
