//! The router behind each meeting's [`MeetingHandle`] on a node: inputs go to the local
//! meeting task while this node owns the meeting, and through Redis to the owner
//! otherwise (see [`super::rpc`] for what can happen to them); requests from other nodes
//! come in here too, and are served while this node owns the meeting (see
//! [`super::serve`]).

use super::rpc::{Parked, PendingReq, Waiter, NO_OWNER, PARK_LIMIT, REPLY_LIMIT};
use super::wire::{DelegateWire, Envelope, RecordWire, Request, Who};
use super::{keys, pubsub, Mode, Node, Slot};
use crate::hub::meeting::{first_published, Input, MeetingHandle};
use crate::hub::HubError;
use crate::store::StoredMeeting;
use podium_protocol::ErrorCode;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

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
    tracing::debug!(meeting = %m.id, "attach: subscribing");
    pubsub::subscribe(node, keys::m(&m.id, "state")).await;
    tracing::debug!(meeting = %m.id, "attach: resync");
    node.resync(&slot).await?;
    tracing::debug!(meeting = %m.id, "attach: done");
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
            Some(env) = remote_rx.recv() => super::serve::serve_remote(&node, &slot, env).await,
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

/// Turns an input into a request for the owner and who waits for its answer; `None`
/// for what needs no owner (a stop; a copy of the engine is read from the journal).
fn split(input: Input) -> Option<(Request, Waiter)> {
    Some(match input {
        Input::Command {
            actor,
            command,
            id,
            idempotency,
            reply,
        } => (
            Request::Command {
                who: Who::of(&actor),
                command,
                idempotency: idempotency.as_ref().map(RecordWire::of),
            },
            Waiter::Command { id, reply },
        ),
        Input::Http {
            actor,
            command,
            idempotency,
            reply,
        } => (
            Request::Http {
                who: Who::of(&actor),
                command,
                idempotency: idempotency.as_ref().map(RecordWire::of),
            },
            Waiter::Http(reply),
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
        Input::Fetch {
            what,
            from,
            limit,
            reply,
        } => (
            Request::Fetch { what, from, limit },
            Waiter::Fetch(what, reply),
        ),
        Input::Links(reply) => (Request::Links, Waiter::Links(reply)),
        Input::RotateLink {
            role,
            person,
            reply,
        } => (Request::RotateLink { role, person }, Waiter::Rotate(reply)),
        Input::Invite { delegates, reply } => (
            Request::Invite {
                delegates: delegates.iter().map(DelegateWire::of).collect(),
            },
            Waiter::Invite(reply),
        ),
        Input::Inspect(_) | Input::Stop => return None,
    })
}

/// A request and its waiter as an input to this node's meeting task (the inverse of
/// [`split`]); `Err` gives the waiter back if they do not go together.
pub(super) fn join(meeting: &str, body: Request, waiter: Waiter) -> Result<Input, Waiter> {
    Ok(match (body, waiter) {
        (
            Request::Command {
                who,
                command,
                idempotency,
            },
            Waiter::Command { id, reply },
        ) => {
            let Some(actor) = who.actor(meeting) else {
                return Err(Waiter::Command { id, reply });
            };
            Input::Command {
                actor,
                command,
                id,
                idempotency: idempotency.and_then(|r| r.record(meeting)),
                reply,
            }
        }
        (
            Request::Http {
                who,
                command,
                idempotency,
            },
            Waiter::Http(reply),
        ) => {
            let Some(actor) = who.actor(meeting) else {
                return Err(Waiter::Http(reply));
            };
            Input::Http {
                actor,
                command,
                idempotency: idempotency.and_then(|r| r.record(meeting)),
                reply,
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
        (Request::Fetch { what, from, limit }, Waiter::Fetch(_, reply)) => Input::Fetch {
            what,
            from,
            limit,
            reply,
        },
        (Request::Links, Waiter::Links(reply)) => Input::Links(reply),
        (Request::RotateLink { role, person }, Waiter::Rotate(reply)) => Input::RotateLink {
            role,
            person,
            reply,
        },
        (Request::Invite { delegates }, Waiter::Invite(reply)) => Input::Invite {
            delegates: delegates.into_iter().map(DelegateWire::delegate).collect(),
            reply,
        },
        (_, w) => return Err(w),
    })
}

/// Turns an input into a request for the owner; answers what needs no owner.
fn pending_of(slot: &Arc<Slot>, input: Input) -> Option<PendingReq> {
    let now = Instant::now();
    let (body, waiter) = split(input)?;
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
    let input = match join(&slot.id, p.body, p.waiter) {
        Ok(input) => input,
        Err(w) => {
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
