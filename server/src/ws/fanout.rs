//! One fan-out task per live meeting: it walks the meeting's connections and writes each
//! change to them, instead of waking one task per connection per change.
//!
//! The task subscribes to the meeting's published state (the hub's `watch`, the same
//! interface a connection would use) and keeps a table of the meeting's [`Peer`]s. On each
//! change it offers the new state to every peer in turn: the shared frame of the peer's
//! projection is written with a non-blocking `try_write` straight from the meeting's
//! bytes; only a socket that would block gets its frame queued and its connection task
//! woken to finish the write when the socket is writable (see [`super::peer`]). The same
//! walk sends keep-alive pings, and ends peers that have been silent too long.
//!
//! Connections join after their snapshot and leave when they end (O(1): each peer knows its
//! slot). A joining peer is offered the latest state the task has seen, so no change can
//! fall between its snapshot and its first fan-out. At shutdown the fan-out gives every
//! peer its Close 1001 (connection tasks do not each wait on the shutdown token).

use super::peer::{Peer, Pushed, Sent, Verdict, NO_SLOT};
use super::Endpoint;
use crate::hub::meeting::MeetingHandle;
use crate::hub::views::Published;
use dashmap::DashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// What a connection tells its meeting's fan-out.
enum Msg {
    /// Start sending me changes (my snapshot is written).
    Join(Arc<Peer>),
    /// I am done: forget me.
    Leave(Arc<Peer>),
}

/// How a connection reaches its meeting's fan-out task.
#[derive(Clone)]
pub struct FanoutHandle {
    /// Joins and leaves.
    tx: mpsc::UnboundedSender<Msg>,
    /// A receiver of the meeting's published state, to tell whether the task serves the
    /// meeting's current incarnation (a deleted and re-created meeting has a new channel).
    views: watch::Receiver<Arc<Published>>,
}

impl FanoutHandle {
    /// Stops sending changes to `peer`.
    pub fn leave(&self, peer: Arc<Peer>) {
        let _ = self.tx.send(Msg::Leave(peer));
    }
}

/// The fan-out tasks of every live meeting, by meeting id.
#[derive(Default)]
pub struct Fanouts {
    map: DashMap<String, FanoutHandle>,
}

impl Fanouts {
    /// Adds a peer to its meeting's fan-out (starting the task if the meeting has none);
    /// returns the handle to leave with.
    pub fn join(
        &self,
        ep: &Arc<Endpoint>,
        meeting: &str,
        handle: &MeetingHandle,
        peer: Arc<Peer>,
    ) -> FanoutHandle {
        let views = handle.subscribe();
        let mut msg = Msg::Join(peer);
        loop {
            // The entry guard is dropped before anything awaits (nothing here awaits).
            let fanout = {
                let mut entry = self
                    .map
                    .entry(meeting.to_string())
                    .or_insert_with(|| spawn(ep, meeting, views.clone()));
                if entry.tx.is_closed() || !entry.views.same_channel(&views) {
                    *entry = spawn(ep, meeting, views.clone());
                }
                entry.clone()
            };
            match fanout.tx.send(msg) {
                Ok(()) => return fanout,
                // The task ended between the check and the send: start another.
                Err(mpsc::error::SendError(m)) => {
                    msg = m;
                    self.map
                        .remove_if(meeting, |_, f| f.tx.same_channel(&fanout.tx));
                }
            }
        }
    }

    /// Forgets a meeting's task once it has ended.
    fn ended(&self, meeting: &str, tx: &mpsc::UnboundedSender<Msg>) {
        self.map.remove_if(meeting, |_, f| f.tx.same_channel(tx));
    }
}

fn spawn(
    ep: &Arc<Endpoint>,
    meeting: &str,
    views: watch::Receiver<Arc<Published>>,
) -> FanoutHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = Fanout {
        ep: ep.clone(),
        meeting: meeting.to_string(),
        views: views.clone(),
        rx,
        peers: Vec::new(),
        free: Vec::new(),
    };
    let me = tx.clone();
    ep.hub.tracker.spawn(
        async move {
            task.run(me).await;
        }
        .instrument(tracing::info_span!("fanout", meeting = %meeting)),
    );
    FanoutHandle { tx, views }
}

/// The task's state.
struct Fanout {
    /// Limits, metrics, the clock, shutdown.
    ep: Arc<Endpoint>,
    /// Meeting id (for the registry).
    meeting: String,
    /// The meeting's published state.
    views: watch::Receiver<Arc<Published>>,
    /// Joins and leaves.
    rx: mpsc::UnboundedReceiver<Msg>,
    /// The peers, by slot; `None` where one left.
    peers: Vec<Option<Arc<Peer>>>,
    /// Free slots.
    free: Vec<usize>,
}

impl Fanout {
    async fn run(mut self, me: mpsc::UnboundedSender<Msg>) {
        let mut current = self.views.borrow_and_update().clone();
        let every = self.ep.limits.ping_interval;
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = self.ep.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    // Every connection of the meeting closes with 1001, those still
                    // joining included (a connection that joins later sees the
                    // cancellation itself).
                    while let Ok(msg) = self.rx.try_recv() {
                        self.handle(msg, &current);
                    }
                    for p in self.peers.iter().flatten() {
                        p.end(Verdict::Close(super::close::GOING_AWAY, "server shutting down"));
                    }
                    break;
                }
                changed = self.views.changed() => {
                    if changed.is_err() {
                        // The meeting stopped (archived, deleted, or the server stops).
                        for p in self.peers.iter().flatten() {
                            p.end(Verdict::Close(super::close::GOING_AWAY, "meeting closed"));
                        }
                        break;
                    }
                    current = self.views.borrow_and_update().clone();
                    self.fan_out(&current);
                }
                msg = self.rx.recv() => match msg {
                    Some(msg) => {
                        self.handle(msg, &current);
                        // Take every join and leave waiting, not one per wake-up.
                        while let Ok(msg) = self.rx.try_recv() {
                            self.handle(msg, &current);
                        }
                    }
                    None => break,
                },
                _ = keepalive.tick() => self.keepalive(),
            }
        }
        self.ep.fanouts.ended(&self.meeting, &me);
    }

    fn handle(&mut self, msg: Msg, current: &Published) {
        match msg {
            Msg::Join(peer) => {
                let mut sent = Sent::default();
                if peer.offer(current, &mut sent).0 == Pushed::Queued {
                    peer.wake.notify_one();
                }
                self.ep.hub.metrics.sent_many(sent.frames, sent.bytes);
                let slot = self.free.pop().unwrap_or(self.peers.len());
                peer.slot.store(slot, Ordering::Relaxed);
                if slot == self.peers.len() {
                    self.peers.push(Some(peer));
                } else {
                    self.peers[slot] = Some(peer);
                }
            }
            Msg::Leave(peer) => {
                let slot = peer.slot.swap(NO_SLOT, Ordering::Relaxed);
                if let Some(entry) = self.peers.get_mut(slot) {
                    if entry.as_ref().is_some_and(|p| Arc::ptr_eq(p, &peer)) {
                        *entry = None;
                        self.free.push(slot);
                    }
                }
            }
        }
    }

    /// Offers `p` to every peer: the hot path.
    fn fan_out(&mut self, p: &Published) {
        let mut sent = Sent::default();
        let mut first = true;
        for peer in self.peers.iter().flatten() {
            if peer.offer(p, &mut sent).0 == Pushed::Queued {
                peer.wake.notify_one();
            }
            if first && sent.frames > 0 {
                p.fanout.written();
                first = false;
            }
        }
        if sent.frames > 0 {
            p.fanout.written();
        }
        self.ep.hub.metrics.sent_many(sent.frames, sent.bytes);
    }

    /// Pings every peer, and ends those silent for longer than the interval + timeout.
    fn keepalive(&mut self) {
        let now = self.ep.now_ms();
        let limit = (self.ep.limits.ping_interval + self.ep.limits.ping_timeout).as_millis() as u64;
        let mut sent = Sent::default();
        for peer in self.peers.iter().flatten() {
            let heard = peer.heard.load(Ordering::Relaxed);
            if now.saturating_sub(heard) > limit {
                self.ep.hub.metrics.keepalive_dropped();
                peer.end(Verdict::Drop);
                continue;
            }
            if peer.push(super::frame::PING.clone(), &mut sent) == Pushed::Queued {
                peer.wake.notify_one();
            }
        }
        self.ep.hub.metrics.sent_many(sent.frames, sent.bytes);
        // Compact a table that is mostly holes (after a reconnect storm, say).
        if self.free.len() > 64 && self.free.len() * 2 > self.peers.len() {
            let peers: Vec<Arc<Peer>> = self.peers.drain(..).flatten().collect();
            self.free.clear();
            for (i, p) in peers.into_iter().enumerate() {
                p.slot.store(i, Ordering::Relaxed);
                self.peers.push(Some(p));
            }
        }
    }
}
