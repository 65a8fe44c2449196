//! Websocket connections: the handshake ([`upgrade`]), the frames ([`frame`]), one task per
//! connection for what the client says ([`hello`], [`session`]), and one fan-out per meeting
//! ([`fanout`]) for the changes everyone gets.
//!
//! A connection's task authenticates (`hello`/`join`), writes `welcome`, the agenda and the
//! snapshot, joins its meeting's fan-out, then waits in a single `select!` over its grant's
//! revocation, its socket's readiness, the replies to its commands, and a wake-up from its
//! [`peer::Peer`] (frames waiting for a writable socket, or a verdict: meeting closed,
//! server shutting down, keep-alive timeout). It does not wake for changes: the fan-out
//! writes those to the socket itself, from the meeting's shared frame.
//!
//! An idle connection owns no read or write buffer, and its task is the size of that
//! waiting loop: what is cold and large (authentication, handling a message, closing) is
//! boxed while it runs. A client that falls behind gets the latest state next (the ones in
//! between are skipped, never queued); a frame that waits longer than the send timeout
//! means the client stopped reading, and it is dropped. Nobody else waits for it.

pub mod fanout;
pub mod frame;
mod hello;
pub mod peer;
pub mod ratelimit;
mod session;
pub mod upgrade;

use crate::hub::meeting::{Reply, ReplyTx};
use crate::hub::views::text_frame;
use crate::hub::{Hub, Revocation};
use crate::Limits;
use bytes::Bytes;
use fanout::Fanouts;
use frame::{DecodeError, Decoder, Incoming};
use hello::request_id;
use peer::{Peer, Pushed, Sent, Verdict};
use podium_protocol::{ErrorCode, ServerMessage};
use ratelimit::Bucket;
use session::Session;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
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
    /// Cancelled at shutdown: every connection then gets Close 1001 (from its meeting's
    /// fan-out once authenticated, from its own task before).
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

/// Serves one upgraded websocket until it closes. `permit` is its place under the
/// connection caps (held as long as the socket); `early` holds bytes the client sent right
/// behind its handshake (read by hyper already).
pub async fn serve(
    ep: Arc<Endpoint>,
    stream: TcpStream,
    permit: Option<crate::accept::Permit>,
    early: Bytes,
) {
    let n = CONNECTION_IDS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "conn",
        n,
        meeting = tracing::field::Empty,
        role = tracing::field::Empty
    );
    let mut conn = Connection {
        agenda_held: None,
        bucket: Bucket::new(ep.limits.rate, Instant::now()),
        decoder: Decoder::new(ep.limits.max_message),
        peer: Arc::new(Peer::new(stream, permit, ep.now_ms())),
        ep,
        inbox: VecDeque::new(),
        awaiting: 0,
        replies: None,
        session: None,
    };
    if !early.is_empty() {
        conn.decode(&early);
    }
    // Not kept: it may be a view into hyper's whole read buffer.
    drop(early);
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
    /// Where replies come back: made when a command is sent and dropped once every
    /// command in flight is answered (most connections send nothing most of the time).
    replies: Option<(ReplyTx, mpsc::Receiver<(u64, Reply)>)>,
    /// The agenda version the client says it holds (`hello`/`join`): the agenda is sent
    /// only if the current one differs.
    agenda_held: Option<u64>,
    /// Who the client is and its meeting, once authenticated.
    session: Option<Session>,
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
    /// The server is shutting down (before authentication; after, the fan-out says so).
    Shutdown,
    /// The grant was revoked.
    Revoked,
    /// The peer was woken: frames wait, or a verdict was given.
    Peer,
    /// The socket can take what waits.
    Writable,
    /// What waits has waited longer than the send timeout.
    Stalled,
    /// The socket is broken.
    Broken,
    /// The socket has bytes.
    Readable,
    /// A command's reply (`None`: every sender is gone).
    Reply(Option<(u64, Reply)>),
    /// The deadline passed.
    Deadline,
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

    /// Sends the Close frame: the last frame this connection writes.
    fn send_close(&mut self, frame: Bytes) -> Result<(), End> {
        let mut sent = Sent::default();
        let pushed = self.peer.push_close(frame, &mut sent);
        self.hub().metrics.sent_many(sent.frames, sent.bytes);
        match pushed {
            Pushed::Written | Pushed::Queued => Ok(()),
            Pushed::Dropped => Err(End::Drop),
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

    /// Waits for the next thing to do. Before authentication (`deadline`: the hello's) it
    /// also watches shutdown; after, the grant's revocation (the fan-out tells of shutdown).
    /// Readiness and replies are polled in place and the stall timer is boxed, so that the
    /// wait of an idle connection holds little more than its two wake-up registrations.
    async fn wait(&mut self, deadline: Option<tokio::time::Instant>) -> Wake {
        let waiting = self.peer.waiting_since();
        let stalled_at =
            waiting.map(|t| tokio::time::Instant::from(t) + self.ep.limits.send_timeout);
        let until = match (stalled_at, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut timer: Option<Pin<Box<tokio::time::Sleep>>> =
            until.map(|u| Box::pin(tokio::time::sleep_until(u)));
        let replies = self
            .replies
            .as_mut()
            .filter(|_| self.awaiting > 0)
            .map(|r| &mut r.1);
        let revocation: Option<&Revocation> = self.session.as_ref().map(|s| &s.grant.revocation);
        let shutdown = (revocation.is_none()).then_some(&self.ep.shutdown);
        let peer = &self.peer;
        let mut replies = replies;
        tokio::select! {
            biased;
            _ = async { shutdown.expect("before authentication").cancelled().await }, if shutdown.is_some() => Wake::Shutdown,
            _ = async { revocation.expect("after authentication").cancelled().await }, if revocation.is_some() => Wake::Revoked,
            _ = peer.wake.notified() => Wake::Peer,
            r = poll_fn(|cx| peer.stream.poll_write_ready(cx)), if waiting.is_some() => {
                if r.is_ok() { Wake::Writable } else { Wake::Broken }
            }
            reply = poll_fn(|cx| replies.as_mut().expect("with replies").poll_recv(cx)), if replies.is_some() => Wake::Reply(reply),
            r = poll_fn(|cx| peer.stream.poll_read_ready(cx)) => {
                if r.is_ok() { Wake::Readable } else { Wake::Broken }
            }
            _ = async { timer.as_mut().expect("with a deadline").await }, if timer.is_some() => {
                if stalled_at.is_some_and(|s| tokio::time::Instant::now() >= s) {
                    Wake::Stalled
                } else {
                    Wake::Deadline
                }
            }
        }
    }

    async fn run(&mut self) {
        // Cold, large futures are boxed (allocated while they run), so that the task of an
        // idle connection is the size of its waiting loop alone.
        let end = match Box::pin(self.open()).await {
            Ok(()) => self.serve().await,
            Err(end) => end,
        };
        if let Some(s) = self.session.take() {
            s.fanout.leave(self.peer.clone());
            self.hub().metrics.disconnected(s.grant.role);
        }
        match end {
            End::Close(code, reason) => Box::pin(self.close(code, reason)).await,
            End::Answer => {
                let _ = self.send_close(frame::close(close::NORMAL, ""));
                Box::pin(self.finish(tokio::time::Instant::now() + CLOSE_LINGER)).await;
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
        if self.send_close(frame::close(code, reason)).is_err() {
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
        // Every frame from the client counts against its rate, pings and pongs included
        // (see `ratelimit`).
        let allowed = self.admit_frame(&m)?;
        match m {
            Incoming::Text(t) => {
                if allowed {
                    return Ok(Some(t));
                }
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
}
