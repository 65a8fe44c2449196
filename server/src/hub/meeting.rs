//! One task per live meeting: it owns the engine and serialises everything that happens
//! to the meeting — validate → apply → persist → publish → acknowledge.
//!
//! Inputs wait in a channel while a journal write is in flight; the next loop turn takes
//! them all at once, applies them, and writes their events in one batch (group commit).
//! Architecture invariant: nothing is published or acknowledged before the store has
//! said the batch is durable; a failed write reloads the engine from the store.
//!
//! This file starts a task and holds its loop; `turn` applies a turn's inputs to the
//! engine, and `commit` makes a turn durable, then publishes and answers it.

mod commit;
mod turn;

use super::idempotent::Seen;
pub use super::inputs::{
    HttpReply, Input, InviteReply, MeetingHandle, Page, Reply, ReplyTx, Revoked,
};
use super::views::{AgendaFrame, Published};
use super::Grant;
use crate::clock::now_ms;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::store::{StoreHandle, TokenRow};
use commit::Changes;
pub use commit::SNAPSHOT_EVERY;
use dashmap::DashMap;
use podium_protocol::ErrorCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Inputs taken in one turn (and so, at most, in one journal transaction).
const MAX_BATCH: usize = 512;
/// Inputs that may wait for the meeting task before senders wait too.
const INBOX: usize = 4096;

/// What a meeting task shares with the hub.
pub struct TaskEnv {
    /// The durable store.
    pub store: StoreHandle,
    /// The hub's grants, by token hash.
    pub grants: Arc<DashMap<[u8; 32], Grant>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// Tracks the task, so shutdown can wait for it.
    pub tracker: TaskTracker,
    /// Where the task tells the rest of a cluster which tokens a turn revoked, after the
    /// state that shows it (`None` on a single server: the grants are all here).
    pub revoked: Option<mpsc::UnboundedSender<Revoked>>,
}

/// The published state of an engine as a task starting on it shows it (no events).
/// `prev` (the state shown so far, if any) lends its projections where they are equal.
pub fn first_published(engine: &Engine, prev: Option<&Published>) -> Published {
    let frame = match prev {
        Some(p) if p.agenda.version == engine.state().agenda_version => p.agenda.clone(),
        _ => Arc::new(AgendaFrame::new(
            engine.state().agenda_version,
            engine.agenda().clone(),
        )),
    };
    Published::encode(
        prev,
        frame,
        engine.seq(),
        now_ms(),
        (&[], &[]),
        engine.state(),
    )
}

/// Starts the task of one meeting, with its role-link rows.
pub fn spawn(id: String, engine: Engine, links: Vec<TokenRow>, env: TaskEnv) -> MeetingHandle {
    let (pub_tx, _) = watch::channel(Arc::new(first_published(&engine, None)));
    spawn_publishing(id, engine, links, env, pub_tx).0
}

/// Starts the task of one meeting, publishing on a `watch` the caller keeps (a cluster
/// node keeps one per meeting across changes of owner, so its connections stay
/// subscribed). Returns the handle and the task, which ends when the meeting stops —
/// also when the store refuses it
/// ([`StoreError::Fenced`](crate::store::StoreError::Fenced)).
pub fn spawn_publishing(
    id: String,
    engine: Engine,
    links: Vec<TokenRow>,
    env: TaskEnv,
    pub_tx: watch::Sender<Arc<Published>>,
) -> (MeetingHandle, tokio::task::JoinHandle<()>) {
    let TaskEnv {
        store,
        grants,
        metrics,
        shutdown,
        tracker,
        revoked,
    } = env;
    let first = first_published(&engine, Some(&pub_tx.borrow()));
    let frame = first.agenda.clone();
    pub_tx.send_replace(Arc::new(first));
    let published = pub_tx.subscribe();
    let (tx, rx) = mpsc::channel(INBOX);
    let task = MeetingTask {
        id: id.clone(),
        engine,
        store,
        grants,
        metrics,
        frame,
        links,
        pub_tx,
        seen: Seen::default(),
        revoked,
    };
    let join = tracker.spawn(
        task.run(rx, shutdown)
            .instrument(tracing::info_span!("meeting", id = %id)),
    );
    (MeetingHandle::new(tx, published), join)
}

/// The state a meeting task owns. Nothing else touches the engine.
struct MeetingTask {
    /// Meeting id (journal key, tracing span).
    id: String,
    /// The rules and the live state.
    engine: Engine,
    /// The journal; every batch is durable before it is published.
    store: StoreHandle,
    /// The hub's grants: a participant's personal token is added once its join is durable.
    grants: Arc<DashMap<[u8; 32], Grant>>,
    /// Counters for `/metrics`.
    metrics: Arc<Metrics>,
    /// The meeting's role links (host, moderators, speakers, join links, interpreter,
    /// projector). Only this task changes them, each change durable before it counts.
    links: Vec<TokenRow>,
    /// The current agenda's `agenda` message, encoded once per version.
    frame: Arc<AgendaFrame>,
    /// The latest published state; connections hold receivers.
    pub_tx: watch::Sender<Arc<Published>>,
    /// Commands applied under an idempotency key in the last day (loaded at start).
    seen: Seen,
    /// Revocations for the other nodes of a cluster.
    revoked: Option<mpsc::UnboundedSender<Revoked>>,
}

impl MeetingTask {
    /// The task's loop: a turn for whatever inputs wait, a deadline's events when one
    /// fires; at shutdown, the inputs already sent are applied first. Inputs still waiting
    /// when it stops are answered "unavailable", not dropped.
    async fn run(mut self, mut rx: mpsc::Receiver<Input>, shutdown: CancellationToken) {
        tracing::info!(seq = self.engine.seq(), "meeting task started");
        self.load_seen().await;
        let mut inbox = Vec::with_capacity(MAX_BATCH);
        loop {
            let sleep = self
                .engine
                .next_deadline()
                .map(|d| tokio::time::sleep(Duration::from_millis((d - now_ms()).max(0) as u64)));
            tokio::select! {
                _ = shutdown.cancelled() => {
                    // Finish what was already handed to us, then stop.
                    while let Ok(input) = rx.try_recv() {
                        inbox.push(input);
                    }
                    self.turn(&mut inbox).await;
                    break;
                }
                n = rx.recv_many(&mut inbox, MAX_BATCH) => {
                    if n == 0 || !self.turn(&mut inbox).await {
                        break;
                    }
                }
                _ = async { sleep.unwrap().await }, if sleep.is_some() => {
                    let now = now_ms();
                    let events = self.engine.handle_timeout(now);
                    if !events.is_empty() {
                        tracing::info!(?events, "deadline fired");
                        if !self.persist_and_publish(Changes { events, ..Default::default() }).await {
                            break;
                        }
                    }
                }
            }
        }
        // Inputs still waiting were not applied: say so (in a cluster they may go to the
        // meeting's next owner), rather than drop their replies.
        rx.close();
        let (code, msg) = (
            ErrorCode::Unavailable,
            "the meeting stopped on this server before this was applied: send it again",
        );
        while let Ok(input) = rx.try_recv() {
            match input {
                Input::Command { id, reply, .. } => {
                    let _ = reply.try_send((id, Err((code, msg.to_string()))));
                }
                Input::Http { reply, .. } => {
                    let _ = reply.send(Err((code, msg.to_string())));
                }
                Input::Join { reply, .. } => {
                    let _ = reply.send(Err((code, msg.to_string())));
                }
                Input::RotateLink { reply, .. } => {
                    let _ = reply.send(Err((code, msg.to_string())));
                }
                Input::Invite { reply, .. } => {
                    let _ = reply.send(Err((code, msg.to_string())));
                }
                _ => {}
            }
        }
        tracing::info!(seq = self.engine.seq(), "meeting task stopped");
    }
}
