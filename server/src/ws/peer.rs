//! One connection's socket and what waits to be written to it, shared by the connection's
//! own task (welcome, snapshot, replies, close) and its meeting's fan-out (changes, places,
//! keep-alive pings).
//!
//! Every write goes through [`Peer::push`]: with nothing waiting, the frame is written at
//! once with a non-blocking `try_write` — the fast path, which touches no task and
//! allocates nothing. What the socket does not take waits in the peer's queue, and the
//! connection task is woken to write it when the socket is writable again (the slow path).
//! The queue holds at most one unwritten state (a newer state replaces it: latest wins,
//! as with `watch`), one unwritten `place`, and a bounded number of other frames, so a
//! slow client costs bounded memory; if the frame at its head makes no progress within the
//! send timeout, the connection task drops the client.

use crate::hub::views::{place_frame, Place, Published};
use bytes::Bytes;
use podium_protocol::{ParticipantId, Role};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Frames other than states and places that may wait for one connection (replies to its
/// commands, pongs, pings). More means the client stopped reading: it is dropped.
pub const MAX_WAITING: usize = 512;

/// What a peer's fan-out slot is while it is not in one.
pub const NO_SLOT: usize = usize::MAX;

/// What kind of frame waits: states, places and agendas are replaced by newer ones while
/// unwritten (latest wins); an agenda goes before an unwritten state (a change comes after
/// the agenda it shows); anything else is written in order and never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    State,
    Place,
    Agenda,
    Other,
}

/// Why a connection must end, decided outside its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send a close frame with this code and reason.
    Close(u16, &'static str),
    /// Drop the socket without a word (dead peer, broken socket).
    Drop,
    /// Drop the socket: the client stopped reading (counted as a slow client).
    Slow,
}

/// The write side of a connection, behind the peer's lock.
#[derive(Default)]
struct Outbox {
    /// Which projection the connection gets (`None` until it is authenticated).
    role: Option<Role>,
    /// The participant whose places it gets (participants and observers).
    participant: Option<ParticipantId>,
    /// `Published::seq` of the newest published state offered to this connection: an
    /// older one (the fan-out may lag the connection's own catch-up) is ignored.
    published: u64,
    /// Seq of the newest state queued or written (the projection's seq).
    seen: u64,
    /// The newest place queued or written.
    place: Place,
    /// The agenda version the client holds (or will, once what waits is written).
    agenda: Option<u64>,
    /// Frames not yet (fully) written, oldest first. Empty, and unallocated, while the
    /// socket keeps up.
    queue: VecDeque<(Kind, Bytes)>,
    /// Bytes of `queue[0]` already written.
    written: usize,
    /// When `queue[0]` became the head: it must be written within the send timeout.
    head_since: Option<Instant>,
    /// Set when the connection must end (by the fan-out, or after a failed write).
    verdict: Option<Verdict>,
    /// The Close frame is queued or written: nothing may follow it on the wire (a
    /// browser that gets a frame after a Close takes the connection for failed, 1006,
    /// and reconnects instead of obeying 4001), so later pushes and offers are dropped.
    closed: bool,
}

/// Frames and bytes written, summed by the writer and added to the metrics in one go.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sent {
    /// Frames.
    pub frames: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Sent {
    fn add(&mut self, len: usize) {
        self.frames += 1;
        self.bytes += len as u64;
    }
}

/// One connection as the fan-out sees it.
pub struct Peer {
    /// The socket. The connection task alone reads it; writers hold the outbox lock.
    pub stream: TcpStream,
    /// Frames waiting and the write state.
    out: Mutex<Outbox>,
    /// Wakes the connection task: frames wait for the socket, or a verdict was given.
    pub wake: Notify,
    /// When the client last sent anything (ms on the endpoint's clock), for keep-alive.
    pub heard: AtomicU64,
    /// Index in the fan-out's table ([`NO_SLOT`] until it joins), so leaving is O(1).
    pub slot: AtomicUsize,
    /// The connection's place under the accept loop's caps: freed with the socket.
    _permit: Option<crate::accept::Permit>,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Written whole, now.
    Written,
    /// Waits in the queue: the connection task must be woken (if it is not the caller).
    Queued,
    /// Not written: the connection is ending.
    Dropped,
}

impl Peer {
    /// A peer for a socket; who it is comes with [`Peer::authenticated`].
    pub fn new(stream: TcpStream, permit: Option<crate::accept::Permit>, now_ms: u64) -> Peer {
        Peer {
            _permit: permit,
            stream,
            out: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            heard: AtomicU64::new(now_ms),
            slot: AtomicUsize::new(NO_SLOT),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Outbox> {
        // A panic while holding the lock leaves a consistent outbox (every update is a
        // single assignment or push), so a poisoned lock is still usable.
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues or writes one frame that is not a state.
    pub fn push(&self, frame: Bytes, sent: &mut Sent) -> Pushed {
        let mut out = self.lock();
        self.push_locked(&mut out, Kind::Other, &frame, sent)
    }

    /// Writes `bytes` at once if nothing waits and the socket takes them; queues the rest.
    /// The bytes are cloned (a reference count) only when they must wait.
    fn push_locked(&self, out: &mut Outbox, kind: Kind, bytes: &Bytes, sent: &mut Sent) -> Pushed {
        if out.verdict.is_some() || out.closed {
            return Pushed::Dropped;
        }
        if out.queue.is_empty() {
            let mut at = 0;
            while at < bytes.len() {
                match self.stream.try_write(&bytes[at..]) {
                    Ok(n) => at += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        out.verdict = Some(Verdict::Drop);
                        return Pushed::Dropped;
                    }
                }
            }
            if at == bytes.len() {
                sent.add(bytes.len());
                return Pushed::Written;
            }
            out.written = at;
            out.head_since = Some(Instant::now());
            out.queue.push_back((kind, bytes.clone()));
            return Pushed::Queued;
        }
        // Latest wins: a newer state, place or agenda takes the place of an unwritten one.
        let first_unwritten = usize::from(out.written > 0);
        if kind != Kind::Other {
            if let Some(i) = (first_unwritten..out.queue.len()).find(|&i| out.queue[i].0 == kind) {
                out.queue[i].1 = bytes.clone();
                return Pushed::Queued;
            }
            if kind == Kind::Agenda {
                let state =
                    (first_unwritten..out.queue.len()).find(|&i| out.queue[i].0 == Kind::State);
                if let Some(i) = state {
                    out.queue.insert(i, (kind, bytes.clone()));
                    return Pushed::Queued;
                }
            }
        } else if out.queue.len() >= MAX_WAITING {
            out.verdict = Some(Verdict::Slow);
            return Pushed::Dropped;
        }
        out.queue.push_back((kind, bytes.clone()));
        Pushed::Queued
    }

    /// Offers a published state: queues or writes its change for this role if it is newer
    /// than what the connection has, and its `place` if that moved. Returns what the
    /// writes did (`Queued` if anything waits) and the seq the connection has now.
    pub fn offer(&self, p: &Published, sent: &mut Sent) -> (Pushed, u64) {
        let mut out = self.lock();
        if p.seq < out.published || out.verdict.is_some() || out.closed {
            let pushed = if out.verdict.is_some() || out.closed {
                Pushed::Dropped
            } else {
                Pushed::Written
            };
            return (pushed, out.seen);
        }
        let Some(role) = out.role else {
            return (Pushed::Written, out.seen);
        };
        out.published = p.seq;
        let mut result = Pushed::Written;
        let projection = p.for_role(role);
        if projection.seq > out.seen {
            out.seen = projection.seq;
            // A change that shows a new agenda version comes after that agenda.
            if out.agenda != Some(p.agenda.version) {
                out.agenda = Some(p.agenda.version);
                result = self.push_locked(&mut out, Kind::Agenda, &p.agenda.frame, sent);
            }
            let r = self.push_locked(&mut out, Kind::State, &projection.frame, sent);
            if r != Pushed::Written {
                result = r;
            }
        }
        if let Some(pid) = out.participant {
            let place = p.places.of_participant(pid);
            if place != out.place {
                out.place = place;
                let r = self.push_locked(&mut out, Kind::Place, &place_frame(p.seq, place), sent);
                if r != Pushed::Written {
                    result = r;
                }
            }
        }
        (result, out.seen)
    }

    /// Sets who the connection is (before it joins a fan-out).
    pub fn authenticated(&self, role: Role, participant: Option<ParticipantId>) {
        let mut out = self.lock();
        out.role = Some(role);
        out.participant = participant;
    }

    /// Marks what the connection was sent with its snapshot: state `seen` of published
    /// state `published`, its place (always sent after a snapshot) and the agenda version.
    pub fn start_at(&self, published: u64, seen: u64, place: Place, agenda: u64) {
        let mut out = self.lock();
        out.published = published;
        out.seen = seen;
        out.place = place;
        out.agenda = Some(agenda);
    }

    /// Writes what waits, as far as the socket takes it. `Ok(true)` when nothing waits
    /// any more; `Err` when the socket is broken.
    pub fn flush(&self, sent: &mut Sent) -> io::Result<bool> {
        let mut out = self.lock();
        while let Some((_, head)) = out.queue.front() {
            let bytes = head.clone();
            let mut at = out.written;
            while at < bytes.len() {
                match self.stream.try_write(&bytes[at..]) {
                    Ok(n) => at += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if at > out.written {
                            out.written = at;
                        }
                        return Ok(false);
                    }
                    Err(e) => {
                        out.verdict = Some(Verdict::Drop);
                        return Err(e);
                    }
                }
            }
            sent.add(bytes.len());
            out.queue.pop_front();
            out.written = 0;
            out.head_since = Some(Instant::now());
        }
        // Caught up: give the queue's memory back.
        out.queue = VecDeque::new();
        out.head_since = None;
        Ok(true)
    }

    /// When the frame at the head of the queue started waiting, if anything waits.
    pub fn waiting_since(&self) -> Option<Instant> {
        self.lock().head_since
    }

    /// Whether frames wait.
    pub fn pending(&self) -> bool {
        !self.lock().queue.is_empty()
    }

    /// Ends the connection (its task acts on it when woken).
    pub fn end(&self, verdict: Verdict) {
        {
            let mut out = self.lock();
            if out.verdict.is_none() {
                out.verdict = Some(verdict);
            }
        }
        self.wake.notify_one();
    }

    /// The verdict, if the connection must end.
    pub fn verdict(&self) -> Option<Verdict> {
        self.lock().verdict
    }

    /// Queues (or writes) the connection's Close frame as its last frame: clears a
    /// verdict so that the frame can go out, then lets nothing follow it — the fan-out may
    /// still offer a change until it has seen the connection leave. Only the connection's
    /// own task calls this, once it has decided to end.
    pub fn push_close(&self, frame: Bytes, sent: &mut Sent) -> Pushed {
        let mut out = self.lock();
        out.verdict = None;
        let pushed = self.push_locked(&mut out, Kind::Other, &frame, sent);
        out.closed = true;
        pushed
    }

    /// Records that the client sent something.
    pub fn heard_at(&self, now_ms: u64) {
        self.heard.store(now_ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer whose client never reads: after `fill`, every write waits in the queue.
    async fn stalled_peer() -> (Peer, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let peer = Peer::new(server, None, 0);
        peer.authenticated(Role::Host, None);
        // Fill the socket until a write would block.
        let big = Bytes::from(vec![0u8; 1 << 16]);
        let mut sent = Sent::default();
        while peer.push(big.clone(), &mut sent) == Pushed::Written {}
        (peer, client)
    }

    fn kinds(peer: &Peer) -> Vec<(Kind, u8)> {
        peer.lock()
            .queue
            .iter()
            .map(|(k, b)| (*k, b.last().copied().unwrap_or(0)))
            .collect()
    }

    #[tokio::test]
    async fn latest_wins_agendas_go_before_states_and_replies_keep_their_order() {
        let (peer, _client) = stalled_peer().await;
        let mut out = peer.lock();
        let mut sent = Sent::default();
        let one = |b: u8| Bytes::from(vec![b]);
        assert_eq!(
            peer.push_locked(&mut out, Kind::State, &one(1), &mut sent),
            Pushed::Queued
        );
        peer.push_locked(&mut out, Kind::Other, &one(2), &mut sent); // an ack for state 1
        peer.push_locked(&mut out, Kind::State, &one(3), &mut sent); // replaces state 1
        peer.push_locked(&mut out, Kind::Place, &one(4), &mut sent);
        peer.push_locked(&mut out, Kind::Agenda, &one(5), &mut sent); // before the state
        peer.push_locked(&mut out, Kind::Place, &one(6), &mut sent); // replaces place 4
        peer.push_locked(&mut out, Kind::Agenda, &one(7), &mut sent); // replaces agenda 5
        peer.push_locked(&mut out, Kind::Other, &one(8), &mut sent);
        drop(out);
        assert_eq!(
            kinds(&peer),
            vec![
                (Kind::Other, 0), // the partly written filler at the head
                (Kind::Agenda, 7),
                (Kind::State, 3),
                (Kind::Other, 2),
                (Kind::Place, 6),
                (Kind::Other, 8),
            ]
        );
    }

    #[tokio::test]
    async fn a_client_that_never_reads_costs_a_bounded_queue() {
        let (peer, _client) = stalled_peer().await;
        let mut sent = Sent::default();
        let mut out = peer.lock();
        for i in 0..10_000u32 {
            peer.push_locked(
                &mut out,
                Kind::State,
                &Bytes::from(i.to_be_bytes().to_vec()),
                &mut sent,
            );
        }
        assert_eq!(out.queue.len(), 2, "the filler and the latest state");
        drop(out);
        let mut verdict = Pushed::Queued;
        for _ in 0..MAX_WAITING + 1 {
            verdict = peer.push(Bytes::from_static(b"reply"), &mut sent);
        }
        assert_eq!(verdict, Pushed::Dropped);
        assert_eq!(peer.verdict(), Some(Verdict::Slow));
    }

    #[tokio::test]
    async fn what_waits_is_written_once_the_client_reads() {
        use tokio::io::AsyncReadExt;
        let (peer, mut client) = stalled_peer().await;
        let mut sent = Sent::default();
        peer.push(Bytes::from_static(b"LAST"), &mut sent);
        assert!(peer.pending() && peer.waiting_since().is_some());
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            while !all.ends_with(b"LAST") {
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0);
                all.extend_from_slice(&buf[..n]);
            }
        });
        while peer.pending() {
            peer.stream.writable().await.unwrap();
            peer.flush(&mut sent).unwrap();
        }
        reader.await.unwrap();
        let out = peer.lock();
        assert_eq!(out.queue.capacity(), 0, "the queue's memory is given back");
        assert!(out.head_since.is_none());
    }
}
