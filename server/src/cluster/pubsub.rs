//! The node's one subscriber connection: it follows every attached meeting's state
//! channel, the request channel of every meeting this node owns, this node's reply
//! channel, the cluster's events and its revocations, and hands each message to its part.
//!
//! Messages are handled in the order they arrive, inline: a state is in the node's
//! `watch` before the answers published after it are given to their connections.
//!
//! When the connection drops it reconnects (with backoff), subscribes again, rebuilds
//! every attached meeting's state from the journal (messages published meanwhile are
//! lost), checks every grant and API key it holds against Redis (revocation notices may
//! be lost), and answers every request in flight `unavailable` (their answers may be lost).

use super::{fanout, keys, rpc, ClusterError, Node};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A change of subscriptions.
pub enum SubCmd {
    /// Subscribe; the sender is told once Redis confirmed (or the attempt failed).
    Subscribe(String, Option<oneshot::Sender<()>>),
    /// Unsubscribe.
    Unsubscribe(String),
}

/// Subscribes to `channel` and waits until Redis has confirmed it.
pub async fn subscribe(node: &Node, channel: String) {
    let (tx, rx) = oneshot::channel();
    if node.subs.send(SubCmd::Subscribe(channel, Some(tx))).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
    }
}

/// Connects the subscriber and starts its task.
pub async fn start(
    node: &Arc<Node>,
    rx: mpsc::UnboundedReceiver<SubCmd>,
) -> Result<(), ClusterError> {
    let pubsub = node
        .client
        .get_async_pubsub()
        .await
        .map_err(|e| ClusterError::Connect {
            url: node.cfg.url.clone(),
            problem: e.to_string(),
        })?;
    let mut channels = HashSet::new();
    channels.insert(keys::node_channel(&node.cfg.node_id));
    channels.insert(keys::EVENTS.to_string());
    channels.insert(keys::REVOKED.to_string());
    let weak = Arc::downgrade(node);
    let client = node.client.clone();
    tokio::spawn(run(weak, client, pubsub, channels, rx));
    Ok(())
}

async fn run(
    node: Weak<Node>,
    client: redis::Client,
    first: redis::aio::PubSub,
    mut channels: HashSet<String>,
    mut rx: mpsc::UnboundedReceiver<SubCmd>,
) {
    let mut conn = Some(first);
    let mut reconnected = false;
    let mut backoff = Duration::from_millis(100);
    loop {
        let pubsub = match conn.take() {
            Some(c) => c,
            None => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                if node.strong_count() == 0 {
                    return;
                }
                match client.get_async_pubsub().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster subscriber cannot reconnect to Redis yet");
                        continue;
                    }
                }
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut ok = true;
        for ch in &channels {
            if sink.subscribe(ch).await.is_err() {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        backoff = Duration::from_millis(100);
        if reconnected {
            tracing::info!("cluster subscriber reconnected; rebuilding meeting states");
            if let Some(n) = node.upgrade() {
                rpc::fail_all(&n);
                tokio::spawn(async move {
                    let slots: Vec<_> = n.slots.iter().map(|s| s.value().clone()).collect();
                    for s in slots {
                        if let Err(e) = n.resync(&s).await {
                            tracing::warn!(meeting = %s.id, error = %e, "resync failed");
                        }
                    }
                    // Revocation notices sent meanwhile are lost too.
                    super::revoke::recheck(&n).await;
                    n.nudge.notify_one();
                });
            }
        }
        reconnected = true;
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(SubCmd::Subscribe(ch, ack)) => {
                        let r = sink.subscribe(&ch).await;
                        channels.insert(ch);
                        if let Some(ack) = ack {
                            let _ = ack.send(());
                        }
                        if r.is_err() {
                            break;
                        }
                    }
                    Some(SubCmd::Unsubscribe(ch)) => {
                        channels.remove(&ch);
                        if sink.unsubscribe(&ch).await.is_err() {
                            break;
                        }
                    }
                },
                msg = stream.next() => match msg {
                    None => break,
                    Some(msg) => {
                        let Some(n) = node.upgrade() else { return };
                        dispatch(&n, msg.get_channel_name(), msg.get_payload_bytes());
                    }
                },
            }
        }
        tracing::warn!("cluster subscriber lost its Redis connection");
    }
}

fn dispatch(node: &Arc<Node>, channel: &str, payload: &[u8]) {
    if channel == keys::EVENTS {
        node.nudge.notify_one();
        return;
    }
    if channel == keys::REVOKED {
        super::revoke::receive(node, payload);
        return;
    }
    if let Some((id, what)) = keys::parse_meeting_channel(channel) {
        let Some(slot) = node.slot(id) else { return };
        match what {
            "state" => fanout::receive(node, &slot, payload),
            "in" => match serde_json::from_slice::<super::wire::Envelope>(payload) {
                Ok(env) => {
                    let _ = slot.remote_tx.send(env);
                }
                Err(e) => tracing::warn!(error = %e, "undecodable request ignored"),
            },
            _ => {}
        }
        return;
    }
    rpc::receive_answer(node, payload);
}
