//! Serving other nodes' requests while this node owns a meeting: each request becomes an
//! input to the local meeting task with a waiter whose answer goes back to the sender's
//! node through the meeting's outbox (after the state that shows it). A node that does
//! not own the meeting (any more) answers `not_owner`: nothing was applied, and the
//! sender parks the request until it finds the owner (see [`super::rpc`]).

use super::router::join;
use super::rpc::Waiter;
use super::wire::{encode_answer, Answer, Envelope, Request, RowWire, Who};
use super::{keys, Mode, Node, Slot};
use crate::hub::meeting::{InviteReply, Page};
use crate::hub::Grant;
use crate::store::TokenRow;
use futures_util::future::BoxFuture;
use podium_protocol::ErrorCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Serves a request from another node, if this node owns the meeting: the input goes to
/// the meeting task with a waiter whose answer the outbox publishes to the sender (after
/// the state that shows it).
pub(super) async fn serve_remote(node: &Arc<Node>, slot: &Arc<Slot>, env: Envelope) {
    let Mode::Local { tx, agent, .. } = slot.mode.borrow().clone() else {
        answer(node, &env.node, env.req, Answer::NotOwner).await;
        return;
    };
    let (to, req) = (env.node, env.req);
    let mut route = None;
    // Sends the answer of a oneshot waiter to the sender's node, through the outbox.
    let relay = |rx: BoxFuture<'static, Answer>| {
        let other = agent.other.clone();
        let to = to.clone();
        tokio::spawn(async move {
            let body = rx.await;
            let _ = other.send((to, encode_answer(req, body)));
        });
    };
    let waiter = match &env.body {
        Request::Command { .. } => {
            let lid = agent.next.fetch_add(1, Ordering::Relaxed);
            agent
                .routes
                .lock()
                .expect("routes lock")
                .insert(lid, (to.clone(), req));
            route = Some(lid);
            Waiter::Command {
                id: lid,
                reply: agent.replies.clone(),
            }
        }
        Request::Http { .. } => {
            let (reply, rx) = oneshot::channel();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(Ok((seq, replayed))) => Answer::HttpAck { seq, replayed },
                    Ok(Err((code, message))) => Answer::Error { code, message },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Http(reply)
        }
        Request::Join { .. } => {
            let (reply, rx) = oneshot::channel::<Result<(Grant, String), (ErrorCode, String)>>();
            relay(Box::pin(async move {
                match rx.await {
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
                }
            }));
            Waiter::Join(reply)
        }
        Request::Participant { .. } => {
            let (reply, rx) = oneshot::channel();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(participant) => Answer::Participant { participant },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Participant(reply)
        }
        Request::Fetch { what, .. } => {
            let (reply, rx) = oneshot::channel::<Page>();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(page) => Answer::Page {
                        items: serde_json::to_value(&page.items).unwrap_or_default(),
                        from: page.from,
                        total: page.total,
                    },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Fetch(*what, reply)
        }
        Request::Links => {
            let (reply, rx) = oneshot::channel::<Vec<TokenRow>>();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(rows) => Answer::Links {
                        rows: rows.iter().map(RowWire::of).collect(),
                    },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Links(reply)
        }
        Request::RotateLink { .. } => {
            let (reply, rx) = oneshot::channel::<Result<TokenRow, (ErrorCode, String)>>();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(Ok(row)) => Answer::Rotated {
                        row: RowWire::of(&row),
                    },
                    Ok(Err((code, message))) => Answer::Error { code, message },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Rotate(reply)
        }
        Request::Invite { .. } => {
            let (reply, rx) = oneshot::channel::<InviteReply>();
            relay(Box::pin(async move {
                match rx.await {
                    Ok(Ok(made)) => Answer::Invited { made },
                    Ok(Err((code, message))) => Answer::Error { code, message },
                    Err(_) => Answer::NotOwner,
                }
            }));
            Waiter::Invite(reply)
        }
    };
    let input = match join(&slot.id, env.body, waiter) {
        Ok(input) => input,
        Err(w) => {
            // No actor for the sender's grant: the sender's node let in what this one
            // would not (it cannot happen between nodes of one version).
            w.fail(
                ErrorCode::BadRequest,
                "this sender cannot act in the meeting",
            );
            return;
        }
    };
    if tx.send(input).await.is_err() {
        // The task stopped before taking it: nothing applied. (A oneshot waiter's relay
        // sees its sender dropped and answers `not_owner` itself.)
        if let Some(lid) = route {
            agent.routes.lock().expect("routes lock").remove(&lid);
            answer(node, &to, req, Answer::NotOwner).await;
        }
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
