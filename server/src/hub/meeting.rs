//! One task per live meeting: it owns the engine and serialises everything that happens
//! to the meeting — validate → apply → persist → publish → acknowledge.
//!
//! Inputs wait in a channel while a journal write is in flight; the next loop turn takes
//! them all at once, applies them, and writes their events in one batch (group commit).
//! Architecture invariant: nothing is published or acknowledged before the store has
//! said the batch is durable; a failed write reloads the engine from the store.

use super::views::{AgendaFrame, Published};
use super::{grant_of, recover_engine, Grant};
use crate::clock::now_ms;
use crate::engine::{Actor, Engine};
use crate::metrics::Metrics;
use crate::store::{Batch, CommandKey, Snapshot, StoreError, StoreHandle, TokenRow, KEY_WINDOW_MS};
use crate::tokens;
use dashmap::DashMap;
use podium_protocol::{Command, ErrorCode, Event, Lang, Role};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// A snapshot is written every this many events, so recovery replays at most this many.
pub const SNAPSHOT_EVERY: u64 = 1000;
/// Inputs taken in one turn (and so, at most, in one journal transaction).
const MAX_BATCH: usize = 512;
/// Inputs that may wait for the meeting task before senders wait too.
const INBOX: usize = 4096;

/// An answer to a connection: `Ok(seq)` for an ack, or a typed error.
pub type Reply = Result<u64, (ErrorCode, String)>;

/// Where a connection receives its replies; `id` is the client's request id.
pub type ReplyTx = mpsc::Sender<(u64, Reply)>;

/// What a meeting task is asked to do.
pub enum Input {
    /// A command from an authenticated actor.
    Command {
        /// Who sends it.
        actor: Actor,
        /// What to do.
        command: Command,
        /// The client's request id, echoed in the reply.
        id: u64,
        /// The client's idempotency key, if it sent one: a command whose key was applied
        /// before is acknowledged again with its first seq instead of applied twice.
        key: Option<String>,
        /// Where the reply goes.
        reply: ReplyTx,
    },
    /// Someone joins through a join link.
    Join {
        /// Participant or observer.
        role: Role,
        /// Display name.
        name: String,
        /// Delegation.
        delegation: String,
        /// Floor language.
        language: Lang,
        /// The new participant's grant and personal token, or why not.
        reply: oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>,
    },
    /// A copy of the engine, for reports.
    Inspect(oneshot::Sender<Engine>),
    /// One participant's record (for a resuming connection's `welcome`).
    Participant(u64, oneshot::Sender<Option<podium_protocol::Participant>>),
    /// Stop the task (archive, delete).
    Stop,
}

/// How the rest of the server reaches a meeting task.
#[derive(Clone)]
pub struct MeetingHandle {
    /// Inputs to the task.
    tx: mpsc::Sender<Input>,
    /// The latest published state (and agenda); connections subscribe here.
    published: watch::Receiver<Arc<Published>>,
}

impl MeetingHandle {
    /// A handle over any task that takes [`Input`]s and a `watch` of published states
    /// (a cluster node's router, for a meeting another node may own).
    pub fn new(
        tx: mpsc::Sender<Input>,
        published: watch::Receiver<Arc<Published>>,
    ) -> MeetingHandle {
        MeetingHandle { tx, published }
    }

    /// The task's inbox (a cluster router sends to it and takes an input back when the
    /// task has stopped).
    pub fn inbox(&self) -> &mpsc::Sender<Input> {
        &self.tx
    }

    /// Sends an input; `false` if the task has stopped.
    pub async fn send(&self, input: Input) -> bool {
        self.tx.send(input).await.is_ok()
    }

    /// A subscription to the published state, current value marked seen.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        let mut rx = self.published.clone();
        rx.mark_unchanged();
        rx
    }

    /// The meeting's agenda as last published.
    pub fn agenda(&self) -> Arc<podium_protocol::Agenda> {
        self.published.borrow().agenda.agenda.clone()
    }

    /// A participant's record, if the task runs and knows them.
    pub async fn participant(&self, id: u64) -> Option<podium_protocol::Participant> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Participant(id, tx)).await {
            return None;
        }
        rx.await.ok().flatten()
    }

    /// A copy of the engine, if the task runs.
    pub async fn inspect(&self) -> Option<Engine> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Inspect(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    /// Asks the task to stop.
    pub fn stop(&self) {
        let _ = self.tx.try_send(Input::Stop);
    }
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

/// Starts the task of one meeting.
pub fn spawn(
    id: String,
    engine: Engine,
    store: StoreHandle,
    grants: Arc<DashMap<[u8; 32], Grant>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> MeetingHandle {
    let (pub_tx, _) = watch::channel(Arc::new(first_published(&engine, None)));
    spawn_publishing(
        id, engine, store, grants, metrics, shutdown, tracker, pub_tx,
    )
    .0
}

/// Starts the task of one meeting, publishing on a `watch` the caller keeps (a cluster
/// node keeps one per meeting across changes of owner, so its connections stay
/// subscribed). Returns the handle and the task, which ends when the meeting stops —
/// also when the store refuses it ([`StoreError::Fenced`]).
#[allow(clippy::too_many_arguments)]
pub fn spawn_publishing(
    id: String,
    engine: Engine,
    store: StoreHandle,
    grants: Arc<DashMap<[u8; 32], Grant>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
    pub_tx: watch::Sender<Arc<Published>>,
) -> (MeetingHandle, tokio::task::JoinHandle<()>) {
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
        pub_tx,
        keys: HashMap::new(),
        keys_added: 0,
    };
    let join = tracker.spawn(
        task.run(rx, shutdown)
            .instrument(tracing::info_span!("meeting", id = %id)),
    );
    (MeetingHandle { tx, published }, join)
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
    /// The current agenda's `agenda` message, encoded once per version.
    frame: Arc<AgendaFrame>,
    /// The latest published state; connections hold receivers.
    pub_tx: watch::Sender<Arc<Published>>,
    /// Idempotency keys of recent commands (scoped to their sender) → (seq of their
    /// ack, when applied). Loaded from the store at start; kept for [`KEY_WINDOW_MS`].
    keys: HashMap<String, (u64, i64)>,
    /// Keys added since `keys` was last pruned of those past the window.
    keys_added: usize,
}

/// The sender part of a command key: keys are unique per sender only.
fn key_scope(actor: &Actor, key: &str) -> String {
    let who = match actor {
        Actor::Host => "host".to_string(),
        Actor::Moderator(p) => format!("moderator/{p}"),
        Actor::Speaker(p) => format!("speaker/{p}"),
        Actor::Participant(p) => format!("participant/{p}"),
        Actor::Observer(p) => format!("observer/{p}"),
        Actor::Interpreter => "interpreter".to_string(),
        Actor::Projector => "projector".to_string(),
    };
    format!("{who}:{key}")
}

/// Whether a reload failed because a shared store is unreachable or refuses this node
/// (then the task stops and the cluster decides who carries on).
fn e_is_shared(e: &super::HubError) -> bool {
    matches!(
        e,
        super::HubError::Store(StoreError::Fenced(_) | StoreError::Unavailable(_))
    )
}

/// What a client is told when a write failed, by what the store said.
fn write_failed(e: &StoreError) -> (ErrorCode, &'static str) {
    match e {
        StoreError::Fenced(_) | StoreError::Unavailable(_) => (
            ErrorCode::Unavailable,
            "the meeting is moving to another server or its store is unreachable; the change may or may not be applied: send it again with the same key",
        ),
        _ => (
            ErrorCode::Internal,
            "the server could not save this change; it was not applied, try again",
        ),
    }
}

/// A reply held back until the batch is durable.
enum Pending {
    Ack(ReplyTx, u64, u64),
    Joined(
        oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>,
        Grant,
        String,
    ),
}

impl MeetingTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>, shutdown: CancellationToken) {
        tracing::info!(seq = self.engine.seq(), "meeting task started");
        self.load_keys().await;
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
                        if !self.persist_and_publish(events, Vec::new(), Vec::new(), Vec::new()).await {
                            break;
                        }
                    }
                }
            }
        }
        // Inputs still waiting were not applied: say so (they may go to the meeting's
        // next owner), rather than drop their replies.
        rx.close();
        let (code, msg) = (
            ErrorCode::Unavailable,
            "the meeting stopped on this server before this was applied: send it again",
        );
        while let Ok(input) = rx.try_recv() {
            match input {
                Input::Command { id, reply, .. } => {
                    let _ = reply.try_send((id, Err((code, msg.into()))));
                }
                Input::Join { reply, .. } => {
                    let _ = reply.send(Err((code, msg.into())));
                }
                _ => {}
            }
        }
        tracing::info!(seq = self.engine.seq(), "meeting task stopped");
    }

    /// Loads the command keys of the last [`KEY_WINDOW_MS`] from the store.
    async fn load_keys(&mut self) {
        let id = self.id.clone();
        let since = now_ms() - KEY_WINDOW_MS;
        match self.store.run(move |s| s.command_keys(&id, since)).await {
            Ok(Ok(keys)) => {
                self.keys = keys.into_iter().map(|k| (k.key, (k.seq, k.at))).collect();
            }
            Ok(Err(e)) | Err(e) => tracing::error!(error = %e, "cannot load command keys"),
        }
    }

    /// Applies a turn's inputs; returns `false` when the task must stop.
    async fn turn(&mut self, inbox: &mut Vec<Input>) -> bool {
        let mut events: Vec<Event> = Vec::new();
        let mut pending = Vec::new();
        let mut tokens = Vec::new();
        let mut keys: Vec<CommandKey> = Vec::new();
        let mut keep_going = true;
        let mut reads = Vec::new();
        for input in inbox.drain(..) {
            let now = now_ms();
            match input {
                Input::Command {
                    actor,
                    command,
                    id,
                    key,
                    reply,
                } => {
                    let scoped = key.map(|k| key_scope(&actor, &k));
                    let seen = scoped.as_ref().and_then(|k| {
                        let this_turn = keys.iter().find(|c| &c.key == k).map(|c| c.seq);
                        this_turn.or_else(|| self.keys.get(k).map(|(seq, _)| *seq))
                    });
                    if let Some(seq) = seen {
                        // Applied before (or earlier in this turn): acknowledge it again
                        // once this turn is durable, without applying it twice.
                        pending.push(Pending::Ack(reply, id, seq));
                        continue;
                    }
                    match self.engine.apply(&command, &actor, now) {
                        Ok(evs) => {
                            let seq = self.engine.seq();
                            if let Some(key) = scoped.filter(|_| !evs.is_empty()) {
                                keys.push(CommandKey { key, seq, at: now });
                            }
                            events.extend(evs);
                            pending.push(Pending::Ack(reply, id, seq));
                        }
                        Err(rejection) => {
                            self.metrics.command_rejected();
                            let _ = reply
                                .try_send((id, Err((rejection.code(), rejection.to_string()))));
                        }
                    }
                }
                Input::Join {
                    role,
                    name,
                    delegation,
                    language,
                    reply,
                } => {
                    let observer = role == Role::Observer;
                    match self.engine.join(&name, &delegation, language, observer) {
                        Ok((pid, evs)) => {
                            events.extend(evs);
                            let token = tokens::new_token();
                            let row = TokenRow {
                                hash: tokens::hash(&token),
                                meeting: self.id.clone(),
                                role,
                                person: None,
                                participant: Some(pid),
                                link_token: None,
                            };
                            let grant = grant_of(&row);
                            pending.push(Pending::Joined(reply, grant.clone(), token));
                            tokens.push((row, grant));
                        }
                        Err(rejection) => {
                            let _ = reply.send(Err((rejection.code(), rejection.to_string())));
                        }
                    }
                }
                // Reads are answered after this turn's write: nothing not yet durable is seen.
                read @ (Input::Inspect(_) | Input::Participant(..)) => reads.push(read),
                Input::Stop => keep_going = false,
            }
        }
        if !events.is_empty() {
            if !self
                .persist_and_publish(events, tokens, keys, pending)
                .await
            {
                keep_going = false;
            }
        } else {
            // Only repeated commands (keys seen before): their acks need no write.
            self.answer(pending);
        }
        for read in reads {
            match read {
                Input::Inspect(reply) => {
                    let _ = reply.send(self.engine.clone());
                }
                Input::Participant(pid, reply) => {
                    let state = self.engine.state();
                    let found = state.participants.iter().find(|p| p.id == pid);
                    let _ = reply.send(found.cloned());
                }
                _ => {}
            }
        }
        keep_going
    }

    /// The engine as the store has it: the journal replayed from the agenda as created
    /// (the `meetings` row) or from the latest snapshot and its agenda.
    async fn reload(&self) -> Result<Engine, super::HubError> {
        let stored = self.store.run(|s| s.meetings()).await??;
        let origin = stored
            .into_iter()
            .find(|m| m.id == self.id)
            .ok_or_else(|| super::HubError::NoSuchMeeting(self.id.clone()))?
            .agenda;
        recover_engine(&self.store, &self.id, Arc::new(origin)).await
    }

    /// Sends the replies held back for a durable turn.
    fn answer(&mut self, pending: Vec<Pending>) {
        for p in pending {
            match p {
                Pending::Ack(reply, id, seq) => {
                    self.metrics.command_accepted();
                    if reply.try_send((id, Ok(seq))).is_err() {
                        self.metrics.reply_dropped();
                    }
                }
                Pending::Joined(reply, grant, token) => {
                    let _ = reply.send(Ok((grant, token)));
                }
            }
        }
    }

    /// Writes a turn's events (and the tokens they create, with their grants, and the
    /// commands' keys), then publishes and answers. Returns `false` when the task must
    /// stop: the store refused it (another node owns the meeting now) or cannot reload it.
    async fn persist_and_publish(
        &mut self,
        events: Vec<Event>,
        tokens: Vec<(TokenRow, Grant)>,
        keys: Vec<CommandKey>,
        pending: Vec<Pending>,
    ) -> bool {
        let seq = self.engine.seq();
        let first_seq = seq + 1 - events.len() as u64;
        let encoded: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).expect("event serialises"))
            .collect();
        let now = now_ms();
        let previous_frame = self.frame.clone();
        if self.engine.state().agenda_version != self.frame.version {
            self.frame = Arc::new(AgendaFrame::new(
                self.engine.state().agenda_version,
                self.engine.agenda().clone(),
            ));
        }
        let published = Published::encode(
            Some(&self.pub_tx.borrow()),
            self.frame.clone(),
            seq,
            now,
            (&events, &encoded),
            self.engine.state(),
        );
        let snapshot =
            ((first_seq - 1) / SNAPSHOT_EVERY != seq / SNAPSHOT_EVERY).then(|| Snapshot {
                seq,
                state: published.staff.state().to_string(),
                agenda: Some(self.frame.agenda_json().to_string()),
            });
        let (tokens, new_grants): (Vec<TokenRow>, Vec<_>) = tokens
            .into_iter()
            .map(|(r, g)| (r.clone(), (r.hash, g)))
            .unzip();
        let batch = Batch {
            meeting: self.id.clone(),
            first_seq,
            events: encoded,
            tokens,
            snapshot,
            keys,
            ..Batch::default()
        };
        let new_keys: Vec<_> = batch
            .keys
            .iter()
            .map(|k| (k.key.clone(), (k.seq, k.at)))
            .collect();
        match self.store.commit(batch).await {
            Ok(()) => {
                for (hash, grant) in new_grants {
                    self.grants.insert(hash, grant);
                }
                if !new_keys.is_empty() {
                    self.keys_added += new_keys.len();
                    self.keys.extend(new_keys);
                    if self.keys_added >= 1024 {
                        self.keys_added = 0;
                        self.keys.retain(|_, (_, at)| *at >= now - KEY_WINDOW_MS);
                    }
                }
                self.pub_tx.send_replace(Arc::new(published));
                self.answer(pending);
                true
            }
            Err(e) => {
                let (code, msg) = write_failed(&e);
                for p in pending {
                    match p {
                        Pending::Ack(reply, id, _) => {
                            let _ = reply.try_send((id, Err((code, msg.into()))));
                        }
                        Pending::Joined(reply, _, _) => {
                            let _ = reply.send(Err((code, msg.into())));
                        }
                    }
                }
                self.frame = previous_frame;
                if let StoreError::Fenced(_) = e {
                    tracing::warn!(error = %e, "fenced: another node owns the meeting; stopping");
                    return false;
                }
                tracing::error!(error = %e, "journal write failed; reloading the meeting from the store");
                match self.reload().await {
                    Ok(engine) => {
                        self.engine = engine;
                        self.load_keys().await;
                        true
                    }
                    // The engine holds events the store may not have: it must not go on.
                    Err(e) if e_is_shared(&e) => {
                        tracing::error!(error = %e, "reload failed; stopping the meeting task");
                        false
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reload failed; keeping memory state");
                        true
                    }
                }
            }
        }
    }
}
