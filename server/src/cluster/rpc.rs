//! Requests in flight from this node to a meeting's owner, and what becomes of them.
//!
//! Every meeting attached to a node has a *router* task (see [`super::router`]):
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
use super::wire::{Answer, AnswerEnvelope, Request, RowWire};
use super::Node;
use crate::hub::meeting::{HttpReply, InviteReply, Page, ReplyTx, Revoked};
use crate::hub::Grant;
use crate::store::TokenRow;
use podium_protocol::{ErrorCode, ListName, PageItems, Participant};
use std::collections::HashMap;
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

/// Who waits for an answer on this node.
pub enum Waiter {
    /// A connection's command.
    Command {
        /// The client's request id.
        id: u64,
        /// The connection's reply queue.
        reply: ReplyTx,
    },
    /// An HTTP command.
    Http(oneshot::Sender<HttpReply>),
    /// A join.
    Join(oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>),
    /// A participant lookup.
    Participant(oneshot::Sender<Option<Participant>>),
    /// A page of a list (staff `fetch`), of this list.
    Fetch(ListName, oneshot::Sender<Page>),
    /// The role links.
    Links(oneshot::Sender<Vec<TokenRow>>),
    /// A link rotation.
    Rotate(oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>),
    /// An invitation.
    Invite(oneshot::Sender<InviteReply>),
}

impl Waiter {
    /// Tells the waiter its request failed (a read's waiter hears that the meeting could
    /// not answer, as when its task stops).
    pub fn fail(self, code: ErrorCode, message: &str) {
        match self {
            Waiter::Command { id, reply } => {
                let _ = reply.try_send((id, Err((code, message.to_string()))));
            }
            Waiter::Http(tx) => {
                let _ = tx.send(Err((code, message.to_string())));
            }
            Waiter::Join(tx) => {
                let _ = tx.send(Err((code, message.to_string())));
            }
            Waiter::Participant(tx) => {
                let _ = tx.send(None);
            }
            Waiter::Rotate(tx) => {
                let _ = tx.send(Err((code, message.to_string())));
            }
            Waiter::Invite(tx) => {
                let _ = tx.send(Err((code, message.to_string())));
            }
            Waiter::Fetch(..) | Waiter::Links(_) => {}
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

pub const UNAVAILABLE: &str = "the meeting moved to another server while this was in flight; it may or may not have been applied: send it again with the same key";
pub const NO_OWNER: &str =
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
    /// Where the meeting task tells which tokens a turn revoked (the outbox tells the
    /// other nodes, after the state).
    pub revoked: mpsc::UnboundedSender<Revoked>,
}

impl AgentLink {
    /// A link and the outbox it feeds.
    pub fn new(
        epoch: u64,
        states: watch::Receiver<Arc<crate::hub::views::Published>>,
        ended: tokio_util::sync::CancellationToken,
    ) -> (AgentLink, Outbox) {
        let (replies, replies_rx) = mpsc::channel(4096);
        let (other, other_rx) = mpsc::unbounded_channel();
        let (revoked, revoked_rx) = mpsc::unbounded_channel();
        let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
        (
            AgentLink {
                replies,
                routes: routes.clone(),
                other,
                next: Arc::new(AtomicU64::new(1)),
                revoked,
            },
            Outbox {
                epoch,
                states,
                replies: replies_rx,
                routes,
                other: other_rx,
                revoked: revoked_rx,
                ended,
            },
        )
    }
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
        (Answer::HttpAck { seq, replayed }, Waiter::Http(tx)) => {
            let _ = tx.send(Ok((seq, replayed)));
        }
        (Answer::Error { code, message }, w) => w.fail(code, &message),
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
        (Answer::Page { items, from, total }, Waiter::Fetch(what, tx)) => {
            let items = match what {
                ListName::Participants => {
                    serde_json::from_value(items).map(PageItems::Participants)
                }
                ListName::HandHistory => serde_json::from_value(items).map(PageItems::HandHistory),
            };
            match items {
                Ok(items) => {
                    let _ = tx.send(Page { items, from, total });
                }
                Err(e) => tracing::warn!(error = %e, "undecodable page ignored"),
            }
        }
        (Answer::Links { rows }, Waiter::Links(tx)) => {
            let _ = tx.send(rows.into_iter().filter_map(RowWire::row).collect());
        }
        (Answer::Rotated { row }, Waiter::Rotate(tx)) => {
            let _ = tx.send(row.row().ok_or((
                ErrorCode::Internal,
                "the new link did not decode".to_string(),
            )));
        }
        (Answer::Invited { made }, Waiter::Invite(tx)) => {
            let _ = tx.send(Ok(made));
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
