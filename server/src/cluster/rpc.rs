//! Inputs from any node to a meeting's owner, and their answers.
//!
//! Every meeting attached to a node has a *router* task behind its [`MeetingHandle`]:
//! when this node owns the meeting it passes inputs to the local meeting task; otherwise
//! it publishes them on the meeting's request channel `podium:m:<id>:in`, where only the
//! owner listens, and keeps each in [`Node::pending`] until the owner's answer comes
//! back on this node's channel `podium:node:<node>`.
//!
//! What can happen to a request, and what its sender then sees:
//! - Nobody received it (`PUBLISH` counted no listener: no owner during a failover) or
//!   the receiver was not the owner any more (`not_owner`): it was certainly not
//!   applied, so the router parks it and sends it again when an owner appears (for up to
//!   [`PARK_LIMIT`]); the client only waits.
//! - The owner answered: the answer goes to the client, after the state that shows it.
//! - The owner died or lost its lease with the request in flight (the lease's epoch
//!   moved on), or no answer came within [`REPLY_LIMIT`]: the outcome is unknown, and the
//!   client gets `unavailable`; with its idempotency key it can send the command again
//!   and it will not be applied twice.

use super::fanout::{Outbox, Routes};
use super::{keys, pubsub, Mode, Node, Slot};
use crate::engine::Actor;
use crate::hub::meeting::{first_published, Input, MeetingHandle, Reply, ReplyTx};
use crate::hub::{Grant, HubError};
use crate::store::StoredMeeting;
use podium_protocol::{Command, ErrorCode, Lang, Participant, Role};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// How long a request may wait for an owner before its sender is told `unavailable`.
pub const PARK_LIMIT: Duration = Duration::from_secs(10);
/// How long a delivered request may wait for its answer.
pub const REPLY_LIMIT: Duration = Duration::from_secs(10);
/// After the owner changed, how long an answer from the old one may still be on its way.
const OWNER_CHANGE_GRACE: Duration = Duration::from_secs(2);

/// Who sends a command, as the wire carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    /// The role.
    pub role: Role,
    /// Agenda person id (moderator, speaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<u64>,
}

impl Who {
    /// The wire form of an actor.
    pub fn of(actor: &Actor) -> Who {
        let (person, participant) = match actor {
            Actor::Moderator(p) | Actor::Speaker(p) => (Some(p.clone()), None),
            Actor::Participant(p) | Actor::Observer(p) => (None, Some(*p)),
            _ => (None, None),
        };
        Who {
            role: actor.role(),
            person,
            participant,
        }
    }

    /// The actor back (through the grant's rule, the one the sender's node applied).
    pub fn actor(&self, meeting: &str) -> Option<Actor> {
        self.grant(meeting).actor()
    }

    fn grant(&self, meeting: &str) -> Grant {
        Grant {
            meeting: meeting.to_string(),
            role: self.role,
            person: self.person.clone(),
            participant: self.participant,
            revocation: Default::default(),
        }
    }
}

/// A request to a meeting's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Request {
    /// A command from an authenticated client.
    Command {
        /// The sender.
        who: Who,
        /// The command.
        command: Command,
        /// Its idempotency key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A join through a join link.
    Join {
        /// Participant or observer.
        role: Role,
        /// Display name.
        name: String,
        /// Delegation.
        delegation: String,
        /// Floor language.
        language: Lang,
    },
    /// A participant's record.
    Participant {
        /// Participant id.
        id: u64,
    },
}

/// A request with its return address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender node's request id.
    pub req: u64,
    /// The sender node.
    pub node: String,
    /// What is asked.
    pub body: Request,
}

/// An answer to a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Answer {
    /// Accepted and durable at `seq`.
    Ack {
        /// Journal position.
        seq: u64,
    },
    /// Refused.
    Error {
        /// Code.
        code: ErrorCode,
        /// For people.
        message: String,
    },
    /// Joined: the new participant's grant and personal token.
    Joined {
        /// The grant.
        who: Who,
        /// The personal token (a secret: never logged).
        token: String,
    },
    /// A participant's record.
    Participant {
        /// The record, if known.
        participant: Option<Participant>,
    },
    /// The receiver does not own the meeting (any more): nothing was applied.
    NotOwner,
}

/// An answer with the request id it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerEnvelope {
    /// The request id.
    pub req: u64,
    /// The answer.
    pub body: Answer,
}

fn encode_answer(req: u64, body: Answer) -> Vec<u8> {
    serde_json::to_vec(&AnswerEnvelope { req, body }).expect("answer serialises")
}

/// The encoded answer to a command.
pub fn encode_command_reply(req: u64, reply: Reply) -> Vec<u8> {
    encode_answer(
        req,
        match reply {
            Ok(seq) => Answer::Ack { seq },
            Err((code, message)) => Answer::Error { code, message },
        },
    )
}

/// Who waits for an answer on this node.
pub enum Waiter {
    /// A connection's command.
    Command {
        /// The client's request id.
        id: u64,
        /// The connection's reply queue.
        reply: ReplyTx,
    },
    /// A join.
    Join(oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>),
    /// A participant lookup.
    Participant(oneshot::Sender<Option<Participant>>),
}

impl Waiter {
    fn fail(self, code: ErrorCode, message: &str) {
        match self {
            Waiter::Command { id, reply } => {
                let _ = reply.try_send((id, Err((code, message.into()))));
            }
            Waiter::Join(tx) => {
                let _ = tx.send(Err((code, message.into())));
            }
            Waiter::Participant(tx) => {
                let _ = tx.send(None);
            }
        }
    }
}

/// A request sent to another node, awaiting its answer.
pub struct PendingReq {
    /// Meeting id.
    pub meeting: String,
    /// What was asked (kept to send it again if nobody took it).
    pub body: Request,
    /// Who waits.
    pub waiter: Waiter,
    /// The owner's epoch when sent, as known then.
    pub epoch: Option<u64>,
    /// When first sent.
    pub first_sent: Instant,
    /// When last sent.
    pub sent: Instant,
    /// Answer expected by then.
    pub deadline: Instant,
}

/// A request waiting for an owner.
pub type Parked = PendingReq;

const UNAVAILABLE: &str = "the meeting moved to another server while this was in flight; it may or may not have been applied: send it again with the same key";
const NO_OWNER: &str =
    "no server runs this meeting right now (it is moving after a failure): try again in a moment";

/// The owner side's link to its outbox, kept in [`Mode::Local`].
#[derive(Clone)]
pub struct AgentLink {
    /// Where the meeting task answers remote commands.
    pub replies: ReplyTx,
    /// Local request id → (node, request id).
    pub routes: Routes,
    /// Other answers, encoded.
    pub other: mpsc::UnboundedSender<(String, Vec<u8>)>,
    /// Local request ids.
    pub next: Arc<AtomicU64>,
}

impl AgentLink {
    /// A link and the outbox it feeds.
    pub fn new(
        epoch: u64,
        states: watch::Receiver<Arc<crate::hub::views::Published>>,
    ) -> (AgentLink, Outbox) {
        let (replies, replies_rx) = mpsc::channel(4096);
        let (other, other_rx) = mpsc::unbounded_channel();
        let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
        (
            AgentLink {
                replies,
                routes: routes.clone(),
                other,
                next: Arc::new(AtomicU64::new(1)),
            },
            Outbox {
                epoch,
                states,
                replies: replies_rx,
                routes,
                other: other_rx,
            },
        )
    }
}

/// Makes a meeting reachable from this node: its slot, fed from the owner's channel
/// (subscribed before the state is rebuilt from the journal, so nothing falls between),
/// and its router.
/// Attaching a meeting that is attached already gives another handle to the same slot.
pub async fn attach(node: &Arc<Node>, m: &StoredMeeting) -> Result<MeetingHandle, HubError> {
    if let Some(slot) = node.slot(&m.id).filter(|s| !s.closed.is_cancelled()) {
        return Ok(MeetingHandle::new(
            slot.router_tx.clone(),
            slot.pub_tx.subscribe(),
        ));
    }
    let agenda = Arc::new(m.agenda.clone());
    let engine = crate::engine::Engine::new(agenda.clone());
    let (pub_tx, published) = watch::channel(Arc::new(first_published(&engine, None)));
    let (router_tx, router_rx) = mpsc::channel(4096);
    let (remote_tx, remote_rx) = mpsc::unbounded_channel();
    let (parked_tx, parked_rx) = mpsc::unbounded_channel();
    let slot = Arc::new(Slot {
        id: m.id.clone(),
        agenda: agenda.clone(),
        pub_tx,
        pos: Mutex::new((0, 0)),
        mode: watch::Sender::new(Mode::Remote),
        owner: watch::Sender::new(None),
        router_tx: router_tx.clone(),
        remote_tx,
        parked_tx,
        closed: tokio_util::sync::CancellationToken::new(),
    });
    // Two attachments at once (a token's lookup, the coordinator): the first one wins.
    match node.slots.entry(m.id.clone()) {
        dashmap::mapref::entry::Entry::Occupied(mut e) => {
            if !e.get().closed.is_cancelled() {
                let s = e.get().clone();
                drop(e);
                return Ok(MeetingHandle::new(
                    s.router_tx.clone(),
                    s.pub_tx.subscribe(),
                ));
            }
            e.insert(slot.clone());
        }
        dashmap::mapref::entry::Entry::Vacant(e) => {
            e.insert(slot.clone());
        }
    }
    pubsub::subscribe(node, keys::m(&m.id, "state")).await;
    node.resync(&slot).await?;
    node.tracker().spawn(run_router(
        node.clone(),
        slot.clone(),
        router_rx,
        remote_rx,
        parked_rx,
    ));
    node.nudge.notify_one();
    Ok(MeetingHandle::new(router_tx, published))
}

/// The router of one meeting on this node.
async fn run_router(
    node: Arc<Node>,
    slot: Arc<Slot>,
    mut rx: mpsc::Receiver<Input>,
    mut remote_rx: mpsc::UnboundedReceiver<Envelope>,
    mut parked_rx: mpsc::UnboundedReceiver<Parked>,
) {
    let mut parked: VecDeque<Parked> = VecDeque::new();
    let mut buf = Vec::with_capacity(256);
    let mut mode_rx = slot.mode.subscribe();
    let mut owner_rx = slot.owner.subscribe();
    let shutdown = node.shutdown.get().cloned().unwrap_or_default();
    loop {
        tokio::select! {
            _ = slot.closed.cancelled() => break,
            _ = shutdown.cancelled() => break,
            n = rx.recv_many(&mut buf, 256) => {
                if n == 0 { break; }
                route(&node, &slot, &mut buf, &mut parked).await;
            }
            Some(env) = remote_rx.recv() => serve_remote(&node, &slot, env).await,
            Some(p) = parked_rx.recv() => parked.push_back(p),
            _ = mode_rx.changed(), if !parked.is_empty() => retry(&node, &slot, &mut parked).await,
            _ = owner_rx.changed(), if !parked.is_empty() => retry(&node, &slot, &mut parked).await,
            _ = tokio::time::sleep(Duration::from_millis(250)), if !parked.is_empty() => {
                retry(&node, &slot, &mut parked).await
            }
        }
    }
    for p in parked {
        p.waiter
            .fail(ErrorCode::NoSuchMeeting, "the meeting has closed");
    }
    while let Ok(input) = rx.try_recv() {
        if let Some(p) = pending_of(&slot, input) {
            p.waiter
                .fail(ErrorCode::NoSuchMeeting, "the meeting has closed");
        }
    }
}

/// Turns an input into a request for the owner; answers what needs no owner.
fn pending_of(slot: &Arc<Slot>, input: Input) -> Option<PendingReq> {
    let now = Instant::now();
    let (body, waiter) = match input {
        Input::Command {
            actor,
            command,
            id,
            key,
            reply,
        } => (
            Request::Command {
                who: Who::of(&actor),
                command,
                key,
            },
            Waiter::Command { id, reply },
        ),
        Input::Join {
            role,
            name,
            delegation,
            language,
            reply,
        } => (
            Request::Join {
                role,
                name,
                delegation,
                language,
            },
            Waiter::Join(reply),
        ),
        Input::Participant(id, reply) => (Request::Participant { id }, Waiter::Participant(reply)),
        Input::Inspect(_) | Input::Stop => return None,
    };
    Some(PendingReq {
        meeting: slot.id.clone(),
        body,
        waiter,
        epoch: slot.owner_epoch(),
        first_sent: now,
        sent: now,
        deadline: now + REPLY_LIMIT,
    })
}

async fn route(
    node: &Arc<Node>,
    slot: &Arc<Slot>,
    buf: &mut Vec<Input>,
    parked: &mut VecDeque<Parked>,
) {
    let mut remote = Vec::new();
    for input in buf.drain(..) {
        let mode = slot.mode.borrow().clone();
        let input = match mode {
            Mode::Local { tx, .. } => match tx.send(input).await {
                Ok(()) => continue,
                // The task has just stopped (fenced or handing over): go through Redis.
                Err(e) => e.0,
            },
            Mode::Gone => {
                if let Some(p) = pending_of(slot, input) {
                    p.waiter
                        .fail(ErrorCode::NoSuchMeeting, "the meeting has closed");
                }
                continue;
            }
            Mode::Remote => input,
        };
        match input {
            Input::Inspect(reply) => {
                let (node, slot) = (node.clone(), slot.clone());
                tokio::spawn(async move {
                    let engine =
                        crate::hub::recover_engine(&node.store, &slot.id, slot.agenda.clone())
                            .await;
                    if let Ok(e) = engine {
                        let _ = reply.send(e);
                    }
                });
            }
            other => remote.extend(pending_of(slot, other)),
        }
    }
    send(node, slot, remote, parked).await;
}

/// Publishes requests to the owner; those nobody took are parked.
async fn send(
    node: &Arc<Node>,
    slot: &Arc<Slot>,
    reqs: Vec<PendingReq>,
    parked: &mut VecDeque<Parked>,
) {
    if reqs.is_empty() {
        return;
    }
    let channel = keys::m(&slot.id, "in");
    let mut pipe = redis::pipe();
    let mut ids = Vec::with_capacity(reqs.len());
    {
        let mut pending = node.pending.lock().expect("pending lock");
        for mut p in reqs {
            let req = node.next_req.fetch_add(1, Ordering::Relaxed);
            let env = Envelope {
                req,
                node: node.cfg.node_id.clone(),
                body: p.body.clone(),
            };
            pipe.cmd("PUBLISH")
                .arg(&channel)
                .arg(serde_json::to_vec(&env).expect("request serialises"));
            p.epoch = slot.owner_epoch();
            p.sent = Instant::now();
            p.deadline = p.sent + REPLY_LIMIT;
            pending.insert(req, p);
            ids.push(req);
        }
    }
    let mut conn = node.conn.clone();
    match pipe.query_async::<Vec<i64>>(&mut conn).await {
        Ok(counts) => {
            let mut pending = node.pending.lock().expect("pending lock");
            for (req, n) in ids.iter().zip(counts) {
                if n == 0 {
                    if let Some(p) = pending.remove(req) {
                        parked.push_back(p);
                    }
                }
            }
        }
        Err(e) => {
            // Some may have gone out: their fate is unknown. Give them a short while.
            tracing::warn!(meeting = %slot.id, error = %e, "cannot send requests to the owner");
            let mut pending = node.pending.lock().expect("pending lock");
            let soon = Instant::now() + Duration::from_secs(2);
            for req in &ids {
                if let Some(p) = pending.get_mut(req) {
                    p.deadline = soon;
                }
            }
        }
    }
}

/// Sends parked requests again (or gives up on those parked too long).
async fn retry(node: &Arc<Node>, slot: &Arc<Slot>, parked: &mut VecDeque<Parked>) {
    let now = Instant::now();
    let mut again = Vec::new();
    for p in parked.drain(..) {
        if now.duration_since(p.first_sent) > PARK_LIMIT {
            p.waiter.fail(ErrorCode::Unavailable, NO_OWNER);
            continue;
        }
        again.push(p);
    }
    if again.is_empty() {
        return;
    }
    // If this node owns the meeting now, hand them to its task directly.
    let local = matches!(*slot.mode.borrow(), Mode::Local { .. });
    if local {
        for p in again {
            deliver_local(slot, p).await;
        }
        return;
    }
    send(node, slot, again, parked).await;
}

/// A parked request, now that this node owns the meeting.
async fn deliver_local(slot: &Arc<Slot>, p: PendingReq) {
    let Mode::Local { tx, .. } = slot.mode.borrow().clone() else {
        p.waiter.fail(ErrorCode::Unavailable, NO_OWNER);
        return;
    };
    let input = match (p.body, p.waiter) {
        (Request::Command { who, command, key }, Waiter::Command { id, reply }) => {
            match who.actor(&slot.id) {
                Some(actor) => Input::Command {
                    actor,
                    command,
                    id,
                    key,
                    reply,
                },
                None => return,
            }
        }
        (
            Request::Join {
                role,
                name,
                delegation,
                language,
            },
            Waiter::Join(reply),
        ) => Input::Join {
            role,
            name,
            delegation,
            language,
            reply,
        },
        (Request::Participant { id }, Waiter::Participant(reply)) => Input::Participant(id, reply),
        (_, w) => {
            w.fail(ErrorCode::Internal, "mismatched request");
            return;
        }
    };
    if let Err(e) = tx.send(input).await {
        if let Some(p) = pending_of(slot, e.0) {
            p.waiter.fail(ErrorCode::Unavailable, NO_OWNER);
        }
    }
}

/// Serves a request from another node, if this node owns the meeting.
async fn serve_remote(node: &Arc<Node>, slot: &Arc<Slot>, env: Envelope) {
    let Mode::Local { tx, agent, .. } = slot.mode.borrow().clone() else {
        answer(node, &env.node, env.req, Answer::NotOwner).await;
        return;
    };
    let (to, req) = (env.node, env.req);
    let input = match env.body {
        Request::Command { who, command, key } => {
            let Some(actor) = who.actor(&slot.id) else {
                answer(
                    node,
                    &to,
                    req,
                    Answer::Error {
                        code: ErrorCode::BadRequest,
                        message: "no actor".into(),
                    },
                )
                .await;
                return;
            };
            let lid = agent.next.fetch_add(1, Ordering::Relaxed);
            agent
                .routes
                .lock()
                .expect("routes lock")
                .insert(lid, (to.clone(), req));
            Input::Command {
                actor,
                command,
                id: lid,
                key,
                reply: agent.replies.clone(),
            }
        }
        Request::Join {
            role,
            name,
            delegation,
            language,
        } => {
            let (reply, rx) = oneshot::channel::<Result<(Grant, String), (ErrorCode, String)>>();
            let other = agent.other.clone();
            let to = to.clone();
            tokio::spawn(async move {
                let body = match rx.await {
                    Ok(Ok((grant, token))) => Answer::Joined {
                        who: Who {
                            role: grant.role,
                            person: grant.person,
                            participant: grant.participant,
                        },
                        token,
                    },
                    Ok(Err((code, message))) => Answer::Error { code, message },
                    Err(_) => Answer::NotOwner,
                };
                let _ = other.send((to, encode_answer(req, body)));
            });
            Input::Join {
                role,
                name,
                delegation,
                language,
                reply,
            }
        }
        Request::Participant { id } => {
            let (reply, rx) = oneshot::channel();
            let other = agent.other.clone();
            let to = to.clone();
            tokio::spawn(async move {
                let body = match rx.await {
                    Ok(participant) => Answer::Participant { participant },
                    Err(_) => Answer::NotOwner,
                };
                let _ = other.send((to, encode_answer(req, body)));
            });
            Input::Participant(id, reply)
        }
    };
    if tx.send(input).await.is_err() {
        // The task stopped before taking it: nothing applied. (A command's route is
        // left behind; the outbox ignores it.)
        answer(node, &to, req, Answer::NotOwner).await;
    }
}

async fn answer(node: &Arc<Node>, to: &str, req: u64, body: Answer) {
    let mut conn = node.conn.clone();
    let _: Result<(), _> = redis::cmd("PUBLISH")
        .arg(keys::node_channel(to))
        .arg(encode_answer(req, body))
        .query_async(&mut conn)
        .await;
}

/// An answer arrived on this node's channel: give it to whoever waits.
pub fn receive_answer(node: &Node, payload: &[u8]) {
    let Ok(env) = serde_json::from_slice::<AnswerEnvelope>(payload) else {
        tracing::warn!("undecodable answer ignored");
        return;
    };
    let Some(p) = node.pending.lock().expect("pending lock").remove(&env.req) else {
        return;
    };
    match (env.body, p.waiter) {
        (Answer::NotOwner, waiter) => {
            let p = PendingReq { waiter, ..p };
            match node.slot(&p.meeting) {
                Some(slot) => {
                    if let Err(e) = slot.parked_tx.send(p) {
                        e.0.waiter
                            .fail(ErrorCode::NoSuchMeeting, "the meeting has closed");
                    }
                }
                None => p
                    .waiter
                    .fail(ErrorCode::NoSuchMeeting, "the meeting has closed"),
            }
        }
        (Answer::Ack { seq }, Waiter::Command { id, reply }) => {
            let _ = reply.try_send((id, Ok(seq)));
        }
        (Answer::Error { code, message }, w) => match w {
            Waiter::Command { id, reply } => {
                let _ = reply.try_send((id, Err((code, message))));
            }
            Waiter::Join(tx) => {
                let _ = tx.send(Err((code, message)));
            }
            Waiter::Participant(tx) => {
                let _ = tx.send(None);
            }
        },
        (Answer::Joined { who, token }, Waiter::Join(tx)) => {
            let grant = who.grant(&p.meeting);
            if let Some(grants) = node.grants.get() {
                grants.insert(crate::tokens::hash(&token), grant.clone());
            }
            let _ = tx.send(Ok((grant, token)));
        }
        (Answer::Participant { participant }, Waiter::Participant(tx)) => {
            let _ = tx.send(participant);
        }
        (_, w) => w.fail(ErrorCode::Internal, "mismatched answer"),
    }
}

/// Fails requests whose answer cannot come any more: past their deadline, or sent to an
/// owner that has since lost the meeting. Called by the coordinator every tick.
pub fn reap(node: &Node) {
    let now = Instant::now();
    let mut lost = Vec::new();
    {
        let mut pending = node.pending.lock().expect("pending lock");
        let dead: Vec<u64> = pending
            .iter()
            .filter(|(_, p)| {
                let owner_moved = p.epoch.is_some()
                    && node.slot(&p.meeting).map(|s| s.owner_epoch()) != Some(p.epoch)
                    && now.duration_since(p.sent) > OWNER_CHANGE_GRACE;
                now > p.deadline || owner_moved
            })
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            lost.extend(pending.remove(&k));
        }
    }
    for p in lost {
        node.stats.lost_in_flight.fetch_add(1, Ordering::Relaxed);
        p.waiter.fail(ErrorCode::Unavailable, UNAVAILABLE);
    }
}

/// Fails every request in flight (this node's subscriber reconnected: answers sent
/// meanwhile are lost).
pub fn fail_all(node: &Node) {
    let all: Vec<PendingReq> = node
        .pending
        .lock()
        .expect("pending lock")
        .drain()
        .map(|(_, p)| p)
        .collect();
    for p in all {
        node.stats.lost_in_flight.fetch_add(1, Ordering::Relaxed);
        p.waiter.fail(ErrorCode::Unavailable, UNAVAILABLE);
    }
}
