//! One task per live meeting: it owns the engine and serialises everything that happens
//! to the meeting — validate → apply → persist → publish → acknowledge.
//!
//! Inputs wait in a channel while a journal write is in flight; the next loop turn takes
//! them all at once, applies them, and writes their events in one batch (group commit).
//! Architecture invariant: nothing is published or acknowledged before the store has
//! said the batch is durable; a failed write reloads the engine from the store.

use super::idempotent::{Check, Seen};
use super::inputs::page;
pub use super::inputs::{HttpReply, Input, InviteReply, MeetingHandle, Reply, ReplyTx, Revoked};
use super::views::{AgendaFrame, Published};
use super::{grant_of, recover_engine, Grant};
use crate::clock::now_ms;
use crate::engine::{Actor, Engine};
use crate::metrics::Metrics;
use crate::store::{
    Batch, IdempotencyRecord, Snapshot, StoreError, StoreHandle, TokenRow, IDEMPOTENCY_TTL_MS,
};
use crate::tokens;
use dashmap::DashMap;
use podium_protocol::{Command, ErrorCode, Event, Role};
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
/// also when the store refuses it ([`StoreError::Fenced`]).
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

/// Whether a reload failed because a shared store is unreachable or refuses this node
/// (then the task stops and the cluster decides who carries on).
fn shared_failure(e: &super::HubError) -> bool {
    matches!(
        e,
        super::HubError::Store(StoreError::Fenced(_) | StoreError::Unavailable(_))
    )
}

/// A reply held back until the batch is durable.
enum Pending {
    Ack(ReplyTx, u64, u64),
    /// The seq, and whether it replays an earlier application.
    Http(oneshot::Sender<HttpReply>, u64, bool),
    Joined(
        oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>,
        Grant,
        String,
    ),
    Rotated(
        oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
        TokenRow,
    ),
    Invited(oneshot::Sender<InviteReply>, Vec<(u64, String)>),
}

/// A rotation asked for in a turn: role, person, where the new link goes.
type Rotation = (
    Role,
    Option<String>,
    oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
);

/// What one turn writes: events, the tokens they create (with their grants), the tokens
/// they revoke, and the replies held back until all of it is durable.
#[derive(Default)]
struct Changes {
    events: Vec<Event>,
    tokens: Vec<(TokenRow, Grant)>,
    revoked: Vec<TokenRow>,
    pending: Vec<Pending>,
    /// The role links after this turn, if it changed them.
    links: Option<Vec<TokenRow>>,
    /// Idempotency keys of HTTP commands, stored with their events.
    idempotency: Vec<IdempotencyRecord>,
}

impl MeetingTask {
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

    /// Loads the idempotency records of the last day from the store.
    async fn load_seen(&mut self) {
        let id = self.id.clone();
        let since = now_ms() - IDEMPOTENCY_TTL_MS;
        match self
            .store
            .run(move |s| s.idempotency_since(&id, since))
            .await
        {
            Ok(Ok(records)) => self.seen = Seen::load(records),
            Ok(Err(e)) | Err(e) => {
                tracing::error!(error = %e, "cannot load the idempotency records")
            }
        }
    }

    /// Whether a keyed command is new, a retry (answered), or a key reused for another
    /// request (refused).
    fn check_key(&self, record: Option<&IdempotencyRecord>, c: &Changes) -> Check {
        match record {
            Some(r) => self.seen.check(r, &c.idempotency),
            None => Check::New,
        }
    }

    /// Applies a new command (websocket or HTTP) to the engine: its events and its
    /// idempotency record (if it has a key and changed anything) join the turn's batch.
    /// The seq it reached, or the typed rejection.
    fn apply_keyed(
        &mut self,
        c: &mut Changes,
        edited: &mut bool,
        command: &Command,
        actor: &Actor,
        now: i64,
        idempotency: Option<IdempotencyRecord>,
    ) -> Result<u64, (ErrorCode, String)> {
        match self.engine.apply(command, actor, now) {
            Ok(evs) => {
                let seq = self.engine.seq();
                if let Some(mut record) = idempotency.filter(|_| !evs.is_empty()) {
                    record.seq = seq;
                    record.at = now;
                    c.idempotency.push(record);
                }
                *edited |= evs.iter().any(|e| matches!(e, Event::AgendaEdited { .. }));
                c.events.extend(evs);
                Ok(seq)
            }
            Err(rejection) => {
                self.metrics.command_rejected();
                Err((rejection.code(), rejection.to_string()))
            }
        }
    }

    /// Applies a turn's inputs; returns `false` when the task must stop.
    async fn turn(&mut self, inbox: &mut Vec<Input>) -> bool {
        let mut c = Changes::default();
        let mut keep_going = true;
        let mut reads = Vec::new();
        let mut edited = false;
        let mut rotations = Vec::new();
        for input in inbox.drain(..) {
            let now = now_ms();
            match input {
                Input::Command {
                    actor,
                    command,
                    id,
                    idempotency,
                    reply,
                } => match self.check_key(idempotency.as_ref(), &c) {
                    Check::Replay(seq) => c.pending.push(Pending::Ack(reply, id, seq)),
                    Check::Mismatch => {
                        let msg = "this key was already used for another command: use a new key for each new command";
                        let _ = reply.try_send((id, Err((ErrorCode::InvalidArgument, msg.into()))));
                    }
                    Check::New => {
                        match self.apply_keyed(
                            &mut c,
                            &mut edited,
                            &command,
                            &actor,
                            now,
                            idempotency,
                        ) {
                            Ok(seq) => c.pending.push(Pending::Ack(reply, id, seq)),
                            Err(e) => {
                                let _ = reply.try_send((id, Err(e)));
                            }
                        }
                    }
                },
                Input::Http {
                    actor,
                    command,
                    idempotency,
                    reply,
                } => match self.check_key(idempotency.as_ref(), &c) {
                    Check::Replay(seq) => c.pending.push(Pending::Http(reply, seq, true)),
                    Check::Mismatch => {
                        let msg = "this Idempotency-Key was already used for another request: use a new key for each new request";
                        let _ = reply.send(Err((ErrorCode::InvalidArgument, msg.into())));
                    }
                    Check::New => {
                        match self.apply_keyed(
                            &mut c,
                            &mut edited,
                            &command,
                            &actor,
                            now,
                            idempotency,
                        ) {
                            Ok(seq) => c.pending.push(Pending::Http(reply, seq, false)),
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                },
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
                            c.events.extend(evs);
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
                            c.pending.push(Pending::Joined(reply, grant.clone(), token));
                            c.tokens.push((row, grant));
                        }
                        Err(rejection) => {
                            let _ = reply.send(Err((rejection.code(), rejection.to_string())));
                        }
                    }
                }
                Input::RotateLink {
                    role,
                    person,
                    reply,
                } => rotations.push((role, person, reply)),
                Input::Invite { delegates, reply } => self.invite(&mut c, delegates, reply),
                // Reads are answered after this turn's write: nothing not yet durable is seen.
                read @ (Input::Inspect(_)
                | Input::Participant(..)
                | Input::Fetch { .. }
                | Input::Links(_)) => reads.push(read),
                Input::Stop => keep_going = false,
            }
        }
        if edited || !rotations.is_empty() {
            self.change_links(&mut c, edited, rotations);
        }
        if !c.events.is_empty() || c.links.is_some() {
            if !self.persist_and_publish(c).await {
                keep_going = false;
            }
        } else {
            // Only retries answered from their records: nothing to write.
            self.answer(c.pending);
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
                Input::Fetch {
                    what,
                    from,
                    limit,
                    reply,
                } => {
                    let _ = reply.send(page(self.engine.state(), what, from, limit));
                }
                Input::Links(reply) => {
                    let _ = reply.send(self.links.clone());
                }
                _ => {}
            }
        }
        keep_going
    }

    /// Registers delegates, all or none: one refused leaves the engine as it was.
    fn invite(
        &mut self,
        c: &mut Changes,
        delegates: Vec<crate::invite::Delegate>,
        reply: oneshot::Sender<InviteReply>,
    ) {
        let before = self.engine.clone();
        let mut events = Vec::new();
        let mut made = Vec::new();
        let mut rows = Vec::new();
        for (k, d) in delegates.iter().enumerate() {
            match self
                .engine
                .invite(&d.name, &d.delegation, d.language, d.observer)
            {
                Ok((pid, evs)) => {
                    events.extend(evs);
                    let token = tokens::new_token();
                    let row = TokenRow {
                        hash: tokens::hash(&token),
                        meeting: self.id.clone(),
                        role: d.role(),
                        person: None,
                        participant: Some(pid),
                        link_token: None,
                    };
                    let grant = grant_of(&row);
                    rows.push((row, grant));
                    made.push((pid, token));
                }
                Err(r) => {
                    self.engine = before;
                    let _ = reply.send(Err((
                        r.code(),
                        format!("delegate {} ({}): {r}", k + 1, d.name),
                    )));
                    return;
                }
            }
        }
        tracing::info!(delegates = made.len(), "delegates invited");
        c.events.extend(events);
        c.tokens.extend(rows);
        c.pending.push(Pending::Invited(reply, made));
    }

    /// The role links after this turn: following the agenda if it was edited, and with
    /// the requested rotations. New rows and revoked ones join the turn's batch.
    fn change_links(&self, c: &mut Changes, edited: bool, rotations: Vec<Rotation>) {
        let mut links = self.links.clone();
        if edited {
            let (add, revoke) = super::links::follow_agenda(&self.id, self.engine.agenda(), &links);
            links.retain(|r| !revoke.iter().any(|x| x.hash == r.hash));
            for row in add {
                tracing::info!(role = row.role.as_str(), person = ?row.person, "link added by an agenda edit");
                c.tokens.push((row.clone(), grant_of(&row)));
                links.push(row);
            }
            for row in revoke {
                tracing::info!(role = row.role.as_str(), person = ?row.person, "link revoked: no longer in the agenda");
                c.revoked.push(row);
            }
        }
        for (role, person, reply) in rotations {
            let Some(i) = links
                .iter()
                .position(|r| r.role == role && r.person == person)
            else {
                let who = person.map(|p| format!(" for {p:?}")).unwrap_or_default();
                let _ = reply.send(Err((
                    ErrorCode::NotFound,
                    format!("this meeting has no {} link{who}", role.as_str()),
                )));
                continue;
            };
            let new = super::links::new_link(&self.id, role, person);
            tracing::info!(role = role.as_str(), person = ?new.person, "link rotated");
            c.revoked
                .push(std::mem::replace(&mut links[i], new.clone()));
            c.tokens.push((new.clone(), grant_of(&new)));
            c.pending.push(Pending::Rotated(reply, new));
        }
        c.links = Some(links);
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

    /// Sends the replies held back until a turn was durable.
    fn answer(&self, pending: Vec<Pending>) {
        for p in pending {
            match p {
                Pending::Ack(reply, id, seq) => {
                    self.metrics.command_accepted();
                    if reply.try_send((id, Ok(seq))).is_err() {
                        self.metrics.reply_dropped();
                    }
                }
                Pending::Http(reply, seq, replayed) => {
                    self.metrics.command_accepted();
                    let _ = reply.send(Ok((seq, replayed)));
                }
                Pending::Joined(reply, grant, token) => {
                    let _ = reply.send(Ok((grant, token)));
                }
                Pending::Rotated(reply, row) => {
                    let _ = reply.send(Ok(row));
                }
                Pending::Invited(reply, made) => {
                    let _ = reply.send(Ok(made));
                }
            }
        }
    }

    /// Writes a turn's changes, then publishes the new state (if there are events),
    /// applies the token changes to the grants (revoked links close their connections) and
    /// answers. Returns `false` when the task must stop: the store refused it (in a
    /// cluster, another node owns the meeting now) or cannot reload it.
    async fn persist_and_publish(&mut self, c: Changes) -> bool {
        let Changes {
            events,
            tokens,
            revoked,
            pending,
            links,
            idempotency,
        } = c;
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
        let published = (!events.is_empty()).then(|| {
            Published::encode(
                Some(&self.pub_tx.borrow()),
                self.frame.clone(),
                seq,
                now,
                (&events, &encoded),
                self.engine.state(),
            )
        });
        // The whole state (the projections leave out the booth log).
        let snapshot = published.as_ref().and_then(|_| {
            ((first_seq - 1) / SNAPSHOT_EVERY != seq / SNAPSHOT_EVERY).then(|| Snapshot {
                seq,
                state: serde_json::to_string(self.engine.state()).expect("state serialises"),
                agenda: Some(self.frame.agenda_json().to_string()),
            })
        });
        let (rows, new_grants): (Vec<TokenRow>, Vec<_>) = tokens
            .into_iter()
            .map(|(r, g)| (r.clone(), (r.hash, g)))
            .unzip();
        let removed: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::ParticipantRemoved { participant, .. } => Some(*participant),
                _ => None,
            })
            .collect();
        let batch = Batch {
            meeting: self.id.clone(),
            first_seq,
            events: encoded,
            tokens: rows,
            revoked: revoked.iter().map(|r| r.hash).collect(),
            snapshot,
            idempotency,
            removed,
            epoch: 0,
        };
        let (records, removed) = (batch.idempotency.clone(), batch.removed.clone());
        match self.store.commit(batch).await {
            Ok(()) => {
                for (hash, grant) in new_grants {
                    self.grants.insert(hash, grant);
                }
                if let Some(links) = links {
                    self.links = links;
                }
                self.seen.add(&records);
                // A removed participant's personal tokens open nothing from now on (their
                // open connections close when they see the published removal).
                for participant in &removed {
                    super::revoke_participant(&self.grants, &self.id, *participant);
                }
                if let Some(published) = published {
                    self.pub_tx.send_replace(Arc::new(published));
                }
                // After the new state is out: a revoked speaker's screen closes after it.
                for row in &revoked {
                    if let Some((_, g)) = self.grants.remove(&row.hash) {
                        g.revocation.revoke(super::close::REVOKED);
                    }
                }
                // The other nodes of a cluster hold grants of their own.
                if let Some(tx) = &self.revoked {
                    if !revoked.is_empty() || !removed.is_empty() {
                        let _ = tx.send(Revoked {
                            hashes: revoked.iter().map(|r| r.hash).collect(),
                            participants: removed,
                        });
                    }
                }
                self.answer(pending);
                true
            }
            Err(e) => {
                let (code, msg) = write_failed(&e);
                for p in pending {
                    match p {
                        Pending::Ack(reply, id, _) => {
                            let _ = reply.try_send((id, Err((code, msg.to_string()))));
                        }
                        Pending::Http(reply, _, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Joined(reply, _, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Rotated(reply, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Invited(reply, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
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
                        self.load_seen().await;
                        true
                    }
                    // The engine holds events the store may not have: it must not go on.
                    Err(e) if shared_failure(&e) => {
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
