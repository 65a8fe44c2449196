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
use crate::store::{Batch, IdempotencyRecord, Snapshot, StoreHandle, TokenRow};
use crate::tokens;
use dashmap::DashMap;
use podium_protocol::{Command, ErrorCode, Event, Lang, ListName, PageItems, Role};
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

/// The answer to an invitation: each delegate's participant id and personal token.
pub type InviteReply = Result<Vec<(u64, String)>, (ErrorCode, String)>;

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
        /// Where the reply goes.
        reply: ReplyTx,
    },
    /// A command from the HTTP API (`crate::http::api`), answered on a oneshot.
    Http {
        /// Who sends it (the actor of an API key or a link token).
        actor: Actor,
        /// What to do.
        command: Command,
        /// With an `Idempotency-Key`: the record to write in the transaction of the
        /// command's events (`seq` and `at` are filled in here).
        idempotency: Option<IdempotencyRecord>,
        /// Where the reply goes.
        reply: oneshot::Sender<Reply>,
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
    /// The meeting's role links.
    Links(oneshot::Sender<Vec<TokenRow>>),
    /// The secretariat registers delegates, all or none; each gets a personal token.
    Invite {
        /// The delegates.
        delegates: Vec<crate::invite::Delegate>,
        /// Their participant ids and personal tokens, in order, or why not.
        reply: oneshot::Sender<InviteReply>,
    },
    /// Replace a role link: the old token is revoked once the new one is durable.
    RotateLink {
        /// The link's role.
        role: Role,
        /// The person, for moderator and speaker links.
        person: Option<String>,
        /// The new link's row, or why not.
        reply: oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
    },
    /// One participant's record (for a resuming connection's `welcome`).
    Participant(u64, oneshot::Sender<Option<podium_protocol::Participant>>),
    /// A page of a list that changes do not carry (staff `fetch`): items `from..from+limit`
    /// and the list's length.
    Fetch {
        /// Which list.
        what: ListName,
        /// First index.
        from: usize,
        /// Items at most.
        limit: usize,
        /// The items and the whole length.
        reply: oneshot::Sender<(PageItems, usize)>,
    },
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

    /// A page of the register or the hand history, if the task runs.
    pub async fn fetch(
        &self,
        what: ListName,
        from: usize,
        limit: usize,
    ) -> Option<(PageItems, usize)> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Fetch {
            what,
            from,
            limit,
            reply,
        };
        if !self.send(input).await {
            return None;
        }
        rx.await.ok()
    }

    /// A copy of the engine, if the task runs.
    pub async fn inspect(&self) -> Option<Engine> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Inspect(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    /// The meeting's role links, if the task runs.
    pub async fn links(&self) -> Option<Vec<TokenRow>> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Links(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    /// Rotates a role link; returns the new one.
    pub async fn rotate(
        &self,
        role: Role,
        person: Option<String>,
    ) -> Result<TokenRow, (ErrorCode, String)> {
        let gone = || {
            (
                ErrorCode::NoSuchMeeting,
                "the meeting has closed".to_string(),
            )
        };
        let (reply, rx) = oneshot::channel();
        if !self
            .send(Input::RotateLink {
                role,
                person,
                reply,
            })
            .await
        {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }

    /// Registers delegates (all or none); returns their ids and personal tokens.
    pub async fn invite(&self, delegates: Vec<crate::invite::Delegate>) -> InviteReply {
        let gone = || {
            (
                ErrorCode::NoSuchMeeting,
                "the meeting has closed".to_string(),
            )
        };
        let (reply, rx) = oneshot::channel();
        if !self.send(Input::Invite { delegates, reply }).await {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }

    /// Asks the task to stop.
    pub fn stop(&self) {
        let _ = self.tx.try_send(Input::Stop);
    }
}

/// Items `from..from + limit` of a list of the state, and the list's length.
fn page(
    state: &podium_protocol::MeetingState,
    what: ListName,
    from: usize,
    limit: usize,
) -> (PageItems, usize) {
    fn slice<T: Clone>(v: &[T], from: usize, limit: usize) -> Vec<T> {
        let from = from.min(v.len());
        v[from..(from.saturating_add(limit)).min(v.len())].to_vec()
    }
    match what {
        ListName::Participants => (
            PageItems::Participants(slice(&state.participants, from, limit)),
            state.participants.len(),
        ),
        ListName::HandHistory => (
            PageItems::HandHistory(slice(&state.hand_history, from, limit)),
            state.hand_history.len(),
        ),
    }
}

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
}

/// Starts the task of one meeting, with its role-link rows.
pub fn spawn(id: String, engine: Engine, links: Vec<TokenRow>, env: TaskEnv) -> MeetingHandle {
    let TaskEnv {
        store,
        grants,
        metrics,
        shutdown,
        tracker,
    } = env;
    let frame = Arc::new(AgendaFrame::new(
        engine.state().agenda_version,
        engine.agenda().clone(),
    ));
    let first = Published::encode(
        None,
        frame.clone(),
        engine.seq(),
        now_ms(),
        (&[], &[]),
        engine.state(),
    );
    let (pub_tx, published) = watch::channel(Arc::new(first));
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
    };
    tracker.spawn(
        task.run(rx, shutdown)
            .instrument(tracing::info_span!("meeting", id = %id)),
    );
    MeetingHandle { tx, published }
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
}

/// A reply held back until the batch is durable.
enum Pending {
    Ack(ReplyTx, u64, u64),
    Http(oneshot::Sender<Reply>, u64),
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
                        self.persist_and_publish(Changes { events, ..Default::default() }).await;
                    }
                }
            }
        }
        tracing::info!(seq = self.engine.seq(), "meeting task stopped");
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
                    reply,
                } => match self.engine.apply(&command, &actor, now) {
                    Ok(evs) => {
                        edited |= evs.iter().any(|e| matches!(e, Event::AgendaEdited { .. }));
                        c.events.extend(evs);
                        c.pending.push(Pending::Ack(reply, id, self.engine.seq()));
                    }
                    Err(rejection) => {
                        self.metrics.command_rejected();
                        let _ =
                            reply.try_send((id, Err((rejection.code(), rejection.to_string()))));
                    }
                },
                Input::Http {
                    actor,
                    command,
                    idempotency,
                    reply,
                } => match self.engine.apply(&command, &actor, now) {
                    Ok(evs) => {
                        let seq = self.engine.seq();
                        if let Some(mut record) = idempotency.filter(|_| !evs.is_empty()) {
                            record.seq = seq;
                            record.at = now;
                            c.idempotency.push(record);
                        }
                        edited |= evs.iter().any(|e| matches!(e, Event::AgendaEdited { .. }));
                        c.events.extend(evs);
                        c.pending.push(Pending::Http(reply, seq));
                    }
                    Err(rejection) => {
                        self.metrics.command_rejected();
                        let _ = reply.send(Err((rejection.code(), rejection.to_string())));
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
            self.persist_and_publish(c).await;
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

    /// Writes a turn's changes, then publishes the new state (if there are events),
    /// applies the token changes to the grants (revoked links close their connections) and
    /// answers.
    async fn persist_and_publish(&mut self, c: Changes) {
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
        let batch = Batch {
            meeting: self.id.clone(),
            first_seq,
            events: encoded,
            tokens: rows,
            revoked: revoked.iter().map(|r| r.hash).collect(),
            snapshot,
            idempotency,
        };
        match self.store.commit(batch).await {
            Ok(()) => {
                for (hash, grant) in new_grants {
                    self.grants.insert(hash, grant);
                }
                if let Some(links) = links {
                    self.links = links;
                }
                // A removed participant's personal tokens open nothing from now on (their
                // open connections close when they see the published removal).
                for e in &events {
                    if let Event::ParticipantRemoved { participant, .. } = e {
                        super::revoke_participant(&self.grants, &self.id, *participant);
                    }
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
                for p in pending {
                    match p {
                        Pending::Ack(reply, id, seq) => {
                            self.metrics.command_accepted();
                            if reply.try_send((id, Ok(seq))).is_err() {
                                self.metrics.reply_dropped();
                            }
                        }
                        Pending::Http(reply, seq) => {
                            self.metrics.command_accepted();
                            let _ = reply.send(Ok(seq));
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
            Err(e) => {
                tracing::error!(error = %e, "journal write failed; reloading the meeting from the store");
                let msg = "the server could not save this change; it was not applied, try again";
                for p in pending {
                    match p {
                        Pending::Ack(reply, id, _) => {
                            let _ = reply.try_send((id, Err((ErrorCode::Internal, msg.into()))));
                        }
                        Pending::Http(reply, _) => {
                            let _ = reply.send(Err((ErrorCode::Internal, msg.into())));
                        }
                        Pending::Joined(reply, _, _) => {
                            let _ = reply.send(Err((ErrorCode::Internal, msg.into())));
                        }
                        Pending::Rotated(reply, _) => {
                            let _ = reply.send(Err((ErrorCode::Internal, msg.into())));
                        }
                        Pending::Invited(reply, _) => {
                            let _ = reply.send(Err((ErrorCode::Internal, msg.into())));
                        }
                    }
                }
                self.frame = previous_frame;
                match self.reload().await {
                    Ok(engine) => self.engine = engine,
                    Err(e) => tracing::error!(error = %e, "reload failed; keeping memory state"),
                }
            }
        }
    }
}
