//! Websocket connections: the handshake ([`upgrade`]), the frames ([`frame`]), one task per
//! connection for what the client says, and one fan-out per meeting ([`fanout`]) for the
//! changes everyone gets.
//!
//! A connection's task authenticates (`hello`/`join`), writes `welcome` and the snapshot,
//! joins its meeting's fan-out, then waits in a single `select!` over shutdown, its socket's
//! readability, the replies to its commands, and a wake-up from its [`peer::Peer`] (frames
//! waiting for a writable socket, or a verdict: meeting closed, keep-alive timeout). It
//! does not wake for changes: the fan-out writes those to the socket itself, from the
//! meeting's shared frame. An idle connection owns no read or write buffer.
//!
//! A client that falls behind gets the latest state next (the ones in between are
//! skipped, never queued); a frame that waits longer than the send timeout means the
//! client stopped reading, and it is dropped. Nobody else waits for it.

pub mod fanout;
pub mod frame;
pub mod peer;
pub mod ratelimit;
pub mod upgrade;

use crate::clock::now_ms;
use crate::hub::meeting::{Input, MeetingHandle, Reply, ReplyTx};
use crate::hub::views::text_frame;
use crate::hub::{Grant, Hub, Revocation};
use crate::Limits;
use bytes::Bytes;
use fanout::{FanoutHandle, Fanouts};
use frame::{DecodeError, Decoder, Incoming};
use peer::{Peer, Pushed, Sent, Verdict};
use podium_protocol::{
    ClientMessage, ErrorCode, Identity, Role, ServerMessage, MAX_PAGE, PROTOCOL_VERSION,
};
use ratelimit::Bucket;
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Close codes used by the server.
pub mod close {
    /// Normal closure (the answer to a client's close).
    pub const NORMAL: u16 = 1000;
    /// Server shutting down, or the meeting closed.
    pub const GOING_AWAY: u16 = 1001;
    /// A broken websocket frame sequence.
    pub const PROTOCOL: u16 = 1002;
    /// A text message that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
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

/// Bytes read from a socket at a time (on the stack: an idle connection holds none).
const READ_CHUNK: usize = 4096;

/// What every websocket connection shares: the hub, the limits, shutdown, and the fan-out
/// tasks of the live meetings.
pub struct Endpoint {
    /// Where meetings and grants are found.
    pub hub: Arc<Hub>,
    /// Frame size, timeouts, rate, keep-alive.
    pub limits: Arc<Limits>,
    /// Cancelled at shutdown: every connection then sends Close 1001.
    pub shutdown: CancellationToken,
    /// One fan-out task per live meeting.
    fanouts: Fanouts,
    /// Zero of the keep-alive clock ([`Endpoint::now_ms`]).
    epoch: Instant,
}

impl Endpoint {
    /// The endpoint of a server.
    pub fn new(hub: Arc<Hub>, limits: Arc<Limits>, shutdown: CancellationToken) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            hub,
            limits,
            shutdown,
            fanouts: Fanouts::default(),
            epoch: Instant::now(),
        })
    }

    /// Milliseconds since the endpoint started (monotonic): when peers were last heard.
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Serves one upgraded websocket until it closes. `early` holds bytes the client sent
/// right behind its handshake (read by hyper already).
pub async fn serve(ep: Arc<Endpoint>, stream: TcpStream, early: Bytes) {
    let n = CONNECTION_IDS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "conn",
        n,
        meeting = tracing::field::Empty,
        role = tracing::field::Empty
    );
    let peer = Arc::new(Peer::new(stream, ep.now_ms()));
    let mut conn = Connection {
        agenda_held: None,
        bucket: Bucket::new(ep.limits.rate, Instant::now()),
        decoder: Decoder::new(ep.limits.max_message),
        ep,
        peer,
        inbox: VecDeque::new(),
        awaiting: 0,
        replies: None,
    };
    if !early.is_empty() {
        conn.decode(&early);
    }
    conn.run().instrument(span).await
}

struct Connection {
    /// Limits, hub, shutdown.
    ep: Arc<Endpoint>,
    /// The socket and its waiting frames, shared with the fan-out.
    peer: Arc<Peer>,
    /// The client's bytes → messages; holds a buffer only mid-frame.
    decoder: Decoder,
    /// Messages decoded and not yet handled (or the reason the stream cannot be read on).
    inbox: VecDeque<Result<Incoming, DecodeError>>,
    /// Token bucket: every message and control frame from the client takes a token.
    bucket: Bucket,
    /// Commands handed to the meeting whose reply has not come back.
    awaiting: usize,
    /// Where replies come back; made with the first command (most connections send none).
    replies: Option<(ReplyTx, mpsc::Receiver<(u64, Reply)>)>,
    /// The agenda version the client says it holds (`hello`/`join`): the agenda is sent
    /// only if the current one differs.
    agenda_held: Option<u64>,
}

/// Why the connection ends.
#[derive(Debug)]
enum End {
    /// Send a close frame with this code and reason, then linger for the client's close.
    Close(u16, &'static str),
    /// The client closed: answer its close frame, then drop.
    Answer,
    /// Just drop the socket (client gone or dead).
    Drop,
    /// Drop the socket: the client stopped reading.
    Slow,
}

impl From<Verdict> for End {
    fn from(v: Verdict) -> End {
        match v {
            Verdict::Close(code, reason) => End::Close(code, reason),
            Verdict::Drop => End::Drop,
            Verdict::Slow => End::Slow,
        }
    }
}

/// A server message, framed.
fn text(msg: &ServerMessage) -> Bytes {
    text_frame(&serde_json::to_string(msg).expect("message serialises"))
}

/// An `error` message (boxed: it travels in `Result`s, and `ServerMessage` is large).
fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Box<ServerMessage> {
    Box::new(ServerMessage::Error {
        id,
        code,
        message: message.into(),
    })
}

/// What woke the connection task.
enum Wake {
    Shutdown,
    Revoked,
    Peer,
    Writable,
    Stalled,
    Broken,
    Readable,
    Reply(Option<(u64, Reply)>),
}

impl Connection {
    fn hub(&self) -> &Hub {
        &self.ep.hub
    }

    /// Writes (or queues) a frame; `Err` if the connection is ending.
    fn send(&mut self, frame: Bytes) -> Result<(), End> {
        let mut sent = Sent::default();
        let pushed = self.peer.push(frame, &mut sent);
        self.hub().metrics.sent_many(sent.frames, sent.bytes);
        match pushed {
            Pushed::Written | Pushed::Queued => Ok(()),
            Pushed::Dropped => Err(self.peer.verdict().map_or(End::Drop, End::from)),
        }
    }

    fn send_msg(&mut self, msg: &ServerMessage) -> Result<(), End> {
        self.send(text(msg))
    }

    /// Decodes bytes from the client into the inbox.
    fn decode(&mut self, bytes: &[u8]) {
        let mut out = Vec::new();
        let result = self.decoder.feed(bytes, &mut out);
        self.inbox.extend(out.into_iter().map(Ok));
        if let Err(e) = result {
            self.inbox.push_back(Err(e));
        }
    }

    /// Reads what the socket has (once); `Err` at end of stream or on a socket error.
    fn read(&mut self) -> Result<(), End> {
        let mut buf = [0u8; READ_CHUNK];
        match self.peer.stream.try_read(&mut buf) {
            Ok(0) => Err(End::Drop),
            Ok(n) => {
                self.peer.heard_at(self.ep.now_ms());
                self.decode(&buf[..n]);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(_) => Err(End::Drop),
        }
    }

    /// Writes what waits for the socket.
    fn flush(&mut self) -> Result<(), End> {
        let mut sent = Sent::default();
        let r = self.peer.flush(&mut sent);
        self.hub().metrics.sent_many(sent.frames, sent.bytes);
        r.map(|_| ()).map_err(|_| End::Drop)
    }

    /// Waits for the next thing to do. `deadline` bounds the wait (hello); `revocation` is
    /// the grant's, once authenticated.
    async fn wait(
        &mut self,
        deadline: Option<tokio::time::Instant>,
        revocation: Option<&Revocation>,
    ) -> Option<Wake> {
        let waiting = self.peer.waiting_since();
        let stalled_at =
            waiting.map(|t| tokio::time::Instant::from(t) + self.ep.limits.send_timeout);
        let until = match (stalled_at, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let replies = self
            .replies
            .as_mut()
            .filter(|_| self.awaiting > 0)
            .map(|r| &mut r.1);
        let peer = &self.peer;
        tokio::select! {
            biased;
            _ = self.ep.shutdown.cancelled() => Some(Wake::Shutdown),
            _ = async { revocation.expect("enabled only with a grant").cancelled().await }, if revocation.is_some() => Some(Wake::Revoked),
            _ = peer.wake.notified() => Some(Wake::Peer),
            r = peer.stream.writable(), if waiting.is_some() => Some(if r.is_ok() { Wake::Writable } else { Wake::Broken }),
            reply = async { replies.expect("enabled only with replies").recv().await }, if replies.is_some() => Some(Wake::Reply(reply)),
            r = peer.stream.readable() => Some(if r.is_ok() { Wake::Readable } else { Wake::Broken }),
            _ = async { tokio::time::sleep_until(until.expect("enabled only with a deadline")).await }, if until.is_some() => {
                if stalled_at.is_some_and(|s| tokio::time::Instant::now() >= s) {
                    Some(Wake::Stalled)
                } else {
                    None
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
                self.hub().metrics.connected(role);
                let end = self.session(grant, identity, token).await;
                self.hub().metrics.disconnected(role);
                end
            }
            Err(end) => end,
        };
        match end {
            End::Close(code, reason) => self.close(code, reason).await,
            End::Answer => {
                self.peer.closing();
                let _ = self.send(frame::close(close::NORMAL, ""));
                self.finish(tokio::time::Instant::now() + CLOSE_LINGER)
                    .await;
            }
            End::Drop => {}
            End::Slow => {
                self.hub().metrics.slow_dropped();
                tracing::info!("client stopped reading: dropped");
            }
        }
    }

    /// Sends a close frame, waits (briefly) until it is written, then lingers.
    async fn close(&mut self, code: u16, reason: &'static str) {
        self.peer.closing();
        if self.send(frame::close(code, reason)).is_err() {
            return;
        }
        let written_by = tokio::time::Instant::now() + self.ep.limits.send_timeout;
        if !self.finish(written_by).await {
            return;
        }
        self.linger().await;
    }

    /// Writes what waits until `deadline`; `true` if all was written.
    async fn finish(&mut self, deadline: tokio::time::Instant) -> bool {
        while self.peer.pending() {
            let r = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return false,
                r = self.peer.stream.writable() => r,
            };
            if r.is_err() || self.flush().is_err() {
                return false;
            }
        }
        true
    }

    /// The closing handshake: after our Close frame, read and discard what the client
    /// still sends until its Close (or a short deadline). Dropping a socket with unread
    /// data makes the kernel send a reset, and a reset can destroy our Close frame (and the
    /// replies before it) in the client's receive buffer before the client reads them.
    async fn linger(&mut self) {
        let deadline = tokio::time::Instant::now() + CLOSE_LINGER.min(self.ep.limits.send_timeout);
        let mut readable = true;
        loop {
            while let Some(m) = self.inbox.pop_front() {
                match m {
                    Ok(Incoming::Close(_)) => return,
                    Ok(_) => {}
                    // The stream cannot be read past this error (an oversized frame): give
                    // the client until the deadline to read our Close.
                    Err(_) => readable = false,
                }
            }
            let r = tokio::select! {
                _ = self.ep.shutdown.cancelled(), if !self.ep.shutdown.is_cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => return,
                r = self.peer.stream.readable() => r,
            };
            if r.is_err() {
                return;
            }
            if readable {
                if self.read().is_err() {
                    return;
                }
            } else {
                // Discard without decoding.
                let mut buf = [0u8; READ_CHUNK];
                match self.peer.stream.try_read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    }

    /// Takes a token for one message or control frame from the client; `Err` closes.
    fn take_token(&mut self) -> Result<bool, End> {
        match self.bucket.take(Instant::now()) {
            ratelimit::Verdict::Allow => Ok(true),
            ratelimit::Verdict::Limit => {
                self.hub().metrics.rate_limited();
                Ok(false)
            }
            ratelimit::Verdict::Close => {
                self.hub().metrics.abuse_closed();
                tracing::warn!("closing: sustained flood");
                Err(End::Close(close::POLICY, "too many messages"))
            }
        }
    }

    /// Handles what the client sent that is not a text message: pings, pongs, binary,
    /// close, and frames that cannot be read. `Ok(Some(text))` for a text message.
    fn incoming(&mut self, m: Result<Incoming, DecodeError>) -> Result<Option<String>, End> {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                self.hub().metrics.bad_message();
                tracing::info!(error = %e, "unreadable frame: closing");
                return Err(match e {
                    DecodeError::TooBig => {
                        End::Close(close::TOO_BIG, "message too big: 16 KiB at most")
                    }
                    DecodeError::Protocol(_) => {
                        End::Close(close::PROTOCOL, "websocket protocol error")
                    }
                    DecodeError::NotUtf8 => End::Close(close::INVALID_DATA, "text must be UTF-8"),
                });
            }
        };
        if let Incoming::Close(_) = m {
            return Err(End::Answer);
        }
        // Every frame from the client counts against its rate, pings and pongs included.
        let allowed = self.take_token()?;
        match m {
            Incoming::Text(t) => {
                if allowed {
                    return Ok(Some(t));
                }
                let id = request_id(&t);
                self.send_msg(&error(
                    id,
                    ErrorCode::RateLimited,
                    "too many messages: slow down",
                ))?;
            }
            Incoming::Ping(payload) => {
                if allowed {
                    self.send(frame::pong(&payload))?;
                }
            }
            Incoming::Pong => {}
            Incoming::Binary => {
                self.hub().metrics.bad_message();
                if allowed {
                    self.send_msg(&error(
                        None,
                        ErrorCode::BadRequest,
                        "binary frames are not part of the protocol: send JSON text",
                    ))?;
                }
            }
            Incoming::Close(_) => unreachable!("handled above"),
        }
        Ok(None)
    }

    /// Waits for `hello` or `join` and answers `welcome`.
    async fn authenticate(&mut self) -> Result<(Grant, Identity, Option<String>), End> {
        let deadline = tokio::time::Instant::now() + self.ep.limits.hello_timeout;
        loop {
            while let Some(m) = self.inbox.pop_front() {
                let Some(raw) = self.incoming(m)? else {
                    continue;
                };
                let parsed = match parse(&raw) {
                    Ok(m) => m,
                    Err(e) => {
                        self.hub().metrics.bad_message();
                        self.send_msg(&e)?;
                        continue;
                    }
                };
                if let ClientMessage::Hello { agenda_version, .. }
                | ClientMessage::Join { agenda_version, .. } = &parsed
                {
                    self.agenda_held = *agenda_version;
                }
                match welcome(self.hub(), parsed).await {
                    Ok(ok) => return Ok(ok),
                    Err(e) => self.send_msg(&e)?,
                }
            }
            match self.wait(Some(deadline), None).await {
                Some(Wake::Shutdown) => {
                    return Err(End::Close(close::GOING_AWAY, "server shutting down"))
                }
                Some(Wake::Revoked) => {}
                Some(Wake::Peer) => {
                    if let Some(v) = self.peer.verdict() {
                        return Err(v.into());
                    }
                }
                Some(Wake::Writable) => self.flush()?,
                Some(Wake::Stalled) => return Err(self.stalled()),
                Some(Wake::Broken) => return Err(End::Drop),
                Some(Wake::Readable) => self.read()?,
                Some(Wake::Reply(_)) => {}
                None => return Err(End::Close(close::POLICY, "no hello")),
            }
        }
    }

    /// The client stopped reading.
    fn stalled(&self) -> End {
        End::Slow
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
        _ => Err(error(
            None,
            ErrorCode::Unauthorized,
            "send `hello` (or `join`) first",
        )),
    }
}

/// The `you` of a `welcome`: role, person or participant id, and display name.
async fn identity(hub: &Hub, grant: &Grant) -> Identity {
    let mut name = grant.role.as_str().to_string();
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

/// An authenticated connection's own state, beside [`Connection`].
struct Session {
    /// What the token grants.
    grant: Grant,
    /// The engine actor commands are sent as.
    actor: crate::engine::Actor,
    /// The meeting.
    meeting: MeetingHandle,
    /// The meeting's published state (never awaited here: read when a reply comes, to
    /// write the state before the ack).
    views: watch::Receiver<Arc<crate::hub::views::Published>>,
    /// The meeting's fan-out, which this connection has joined.
    fanout: FanoutHandle,
}

impl Connection {
    /// The authenticated part: welcome, snapshot, join the fan-out, then the loop.
    async fn session(&mut self, grant: Grant, you: Identity, token: Option<String>) -> End {
        let Some(meeting) = self.hub().meeting(&grant.meeting) else {
            return End::Close(close::GOING_AWAY, "meeting closed");
        };
        let actor = grant.actor().expect("authenticated grants have an actor");
        let role = grant.role;
        self.peer.authenticated(role, grant.participant);
        // Subscribe before the snapshot, so no change can fall between them.
        let views = meeting.subscribe();
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            meeting: grant.meeting.clone(),
            you,
            participant_token: token,
            server_time: now_ms(),
        };
        if let Err(e) = self.send_msg(&welcome) {
            return e;
        }
        let published = views.borrow().clone();
        let seen = published.for_role(role).seq;
        let agenda = &published.agenda;
        if self.agenda_held != Some(agenda.version) {
            if let Err(e) = self.send(agenda.frame.clone()) {
                return e;
            }
        }
        if let Err(e) = self.send(published.snapshot(role, now_ms())) {
            return e;
        }
        let place = grant
            .participant
            .map(|pid| published.places.of_participant(pid))
            .unwrap_or_default();
        if grant.participant.is_some() {
            let frame = crate::hub::views::place_frame(published.seq, place);
            if let Err(e) = self.send(frame) {
                return e;
            }
        }
        self.peer
            .start_at(published.seq, seen, place, published.agenda.version);
        drop(published);
        let fanout = self.ep.fanouts.join(
            &self.ep.clone(),
            &grant.meeting,
            &meeting,
            self.peer.clone(),
        );
        let mut s = Session {
            grant,
            actor,
            meeting,
            views,
            fanout,
        };
        let end = self.serve(&mut s).await;
        s.fanout.leave(self.peer.clone());
        end
    }

    async fn serve(&mut self, s: &mut Session) -> End {
        loop {
            while let Some(m) = self.inbox.pop_front() {
                let step = match self.incoming(m) {
                    Ok(Some(raw)) => self.handle(&raw, s).await,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = step {
                    return e;
                }
            }
            let revocation = s.grant.revocation.clone();
            let step = match self.wait(None, Some(&revocation)).await {
                Some(Wake::Shutdown) => {
                    return End::Close(close::GOING_AWAY, "server shutting down")
                }
                Some(Wake::Revoked) => {
                    let (code, reason) = revocation.close_frame();
                    return End::Close(code, reason);
                }
                Some(Wake::Peer) => match self.peer.verdict() {
                    // The meeting stopped because it was archived (its grants were revoked
                    // first): say so, rather than "meeting closed".
                    Some(_) if revocation.is_revoked() => {
                        let (code, reason) = revocation.close_frame();
                        return End::Close(code, reason);
                    }
                    Some(v) => return v.into(),
                    None => Ok(()),
                },
                Some(Wake::Writable) => self.flush(),
                Some(Wake::Stalled) | None => return self.stalled(),
                Some(Wake::Broken) => return End::Drop,
                Some(Wake::Readable) => self.read(),
                Some(Wake::Reply(None)) => Ok(()),
                Some(Wake::Reply(Some((id, reply)))) => self.reply(s, id, reply),
            };
            if let Err(e) = step {
                return e;
            }
        }
    }

    /// Answers a command: the state that shows it first (if this role can see it), then
    /// the ack — or the error.
    fn reply(&mut self, s: &mut Session, id: u64, reply: Reply) -> Result<(), End> {
        self.awaiting -= 1;
        let msg = match reply {
            Ok(seq) => {
                let latest = s.views.borrow().clone();
                let mut sent = Sent::default();
                let (pushed, seen) = self.peer.offer(&latest, &mut sent);
                self.hub().metrics.sent_many(sent.frames, sent.bytes);
                if pushed == Pushed::Dropped {
                    return Err(self.peer.verdict().map_or(End::Drop, End::from));
                }
                // A change this role cannot see was not sent to it: the state it has (at
                // an earlier seq) already shows all it may see.
                ServerMessage::Ack {
                    id,
                    seq: seq.min(seen),
                }
            }
            Err((code, message)) => *error(Some(id), code, message),
        };
        self.send_msg(&msg)
    }

    async fn handle(&mut self, raw: &str, s: &mut Session) -> Result<(), End> {
        let msg = match parse(raw) {
            Ok(m) => m,
            Err(e) => {
                self.hub().metrics.bad_message();
                return self.send_msg(&e);
            }
        };
        match msg {
            ClientMessage::Ping { id, client_time } => {
                let pong = ServerMessage::Pong {
                    id,
                    client_time,
                    server_time: now_ms(),
                };
                self.send_msg(&pong)
            }
            ClientMessage::Command { id, command } => {
                let reply = match &self.replies {
                    Some((tx, _)) => tx.clone(),
                    None => {
                        let (tx, rx) = mpsc::channel(self.ep.limits.reply_queue);
                        self.replies = Some((tx.clone(), rx));
                        tx
                    }
                };
                let input = Input::Command {
                    actor: s.actor.clone(),
                    command,
                    id,
                    reply,
                };
                if s.meeting.send(input).await {
                    self.awaiting += 1;
                    Ok(())
                } else {
                    self.send_msg(&error(
                        Some(id),
                        ErrorCode::NoSuchMeeting,
                        "the meeting has closed",
                    ))
                }
            }
            ClientMessage::Fetch {
                id,
                what,
                from,
                limit,
            } => {
                if !s.grant.role.is_staff() {
                    return self.send_msg(&error(
                        Some(id),
                        ErrorCode::Forbidden,
                        "only the host and moderators may fetch the register and the hand history",
                    ));
                }
                let limit = limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
                let msg = match s.meeting.fetch(what, from, limit).await {
                    Some((items, total)) => ServerMessage::Page {
                        id,
                        what,
                        from,
                        items,
                        total,
                    },
                    None => *error(Some(id), ErrorCode::NoSuchMeeting, "the meeting has closed"),
                };
                self.send_msg(&msg)
            }
            ClientMessage::Hello { .. } | ClientMessage::Join { .. } => self.send_msg(&error(
                None,
                ErrorCode::BadRequest,
                "already authenticated on this connection",
            )),
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
        error(
            id,
            ErrorCode::BadRequest,
            format!("{e}; see PROTOCOL.md for the message shapes"),
        )
    })
}
