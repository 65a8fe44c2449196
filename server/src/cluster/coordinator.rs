//! One loop per node that decides which meetings it runs.
//!
//! Every tick (a twelfth of the lease TTL, or at once when another node releases a lease
//! or the meetings change) it:
//! 1. refreshes this node's heartbeat and renews the leases it holds, every third of the
//!    TTL; a lease that is no longer ours stops its meeting task at once;
//! 2. notices meeting tasks that stopped by themselves (fenced by a newer owner, or
//!    unable to reload) and gives their leases back;
//! 3. follows the list of meetings (created, archived, deleted on any node);
//! 4. reads every lease holder; a free lease is taken by the live node that should own
//!    the meeting (rendezvous hash, leaving out the node that just held it), or by any
//!    node once it has been free for half a TTL;
//! 5. hands a meeting over to the node that should own it once that node has been live
//!    for two TTLs (rebalancing when nodes join);
//! 6. fails requests whose answers cannot come, and rebuilds the state of meetings this
//!    node has fallen behind on.
//!
//! Taking a meeting (*promotion*) rebuilds its engine from the journal at the new epoch
//! and starts the ordinary meeting task on the node's `watch`, with an outbox that
//! publishes its states and answers. Giving it up (*demotion*) routes new inputs away,
//! lets the task finish every input it was given, publishes the last state and, when
//! handing over, releases the lease so the next owner need not wait for it to expire.
//! Both run as their own tasks so that a slow one never delays lease renewals.

use super::fanout;
use super::lease::{self, preferred};
use super::rpc::{self, AgentLink};
use super::{keys, pubsub, Mode, Node, Slot};
use crate::hub::meeting;
use crate::store::MeetingStatus;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A meeting this node runs.
struct Owned {
    /// Lease value `<node>/<epoch>`.
    value: String,
    /// Cancelled when the meeting task has ended.
    ended: CancellationToken,
    /// Its outbox.
    outbox: JoinHandle<()>,
    /// Stops the task at once (lease lost): inputs still waiting are answered
    /// `unavailable` rather than applied.
    stop: CancellationToken,
    /// When taken.
    since: Instant,
}

/// What the loop and its promotion / demotion tasks share.
#[derive(Default)]
struct Ctl {
    /// Meetings running here.
    owned: Mutex<HashMap<String, Owned>>,
    /// Meetings being promoted or demoted: left alone until done.
    busy: Mutex<HashSet<String>>,
}

/// Starts the node's coordinator.
pub fn start(node: Arc<Node>) {
    let tracker = node.tracker();
    tracker.spawn(run(node));
}

/// Waits until the coordinator has handed every meeting over (at shutdown).
pub async fn hand_over_all(node: &Node) {
    let _ = tokio::time::timeout(Duration::from_secs(30), node.closed.cancelled()).await;
}

async fn run(node: Arc<Node>) {
    let ttl = node.cfg.lease_ttl;
    let tick = (ttl / 12).clamp(Duration::from_millis(50), Duration::from_millis(500));
    let renew_every = ttl / 3;
    let ctl = Arc::new(Ctl::default());
    let shutdown = node.shutdown.get().cloned().unwrap_or_default();
    let mut conn = node.conn.clone();
    let mut live: Vec<String> = vec![node.cfg.node_id.clone()];
    let mut live_since: HashMap<String, Instant> = HashMap::new();
    let mut free_since: HashMap<String, Instant> = HashMap::new();
    let mut last_holder: HashMap<String, String> = HashMap::new();
    let mut last_renew: Option<Instant> = None;
    let mut last_ok_renew = Instant::now();
    let mut meetings_ver: Option<i64> = None;
    let mut last_heads = Instant::now();
    let mut behind: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
            _ = node.nudge.notified() => {}
        }
        let now = Instant::now();
        let me = node.cfg.node_id.clone();

        // 1. Heartbeat and renewals.
        if last_renew.is_none_or(|t| now.duration_since(t) >= renew_every) {
            last_renew = Some(now);
            match lease::heartbeat(&mut conn, &node.cfg, &node.instance).await {
                Ok(l) => {
                    for n in &l {
                        live_since.entry(n.clone()).or_insert(now);
                    }
                    live_since.retain(|n, _| l.contains(n));
                    node.stats.nodes.store(l.len() as u64, Ordering::Relaxed);
                    live = l;
                }
                Err(e) => tracing::warn!(error = %e, "cluster heartbeat failed"),
            }
            let held: Vec<(String, String)> = {
                let owned = ctl.owned.lock().expect("owned lock");
                owned
                    .iter()
                    .map(|(m, o)| (m.clone(), o.value.clone()))
                    .collect()
            };
            match lease::renew(&mut conn, &node.scripts, &node.cfg, &held).await {
                Ok(still) => {
                    last_ok_renew = now;
                    for ((m, _), ours) in held.iter().zip(still) {
                        if !ours {
                            tracing::warn!(meeting = %m, "lease lost to another node: stopping the meeting here");
                            demote(&node, &ctl, m, false);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew leases");
                    if now.duration_since(last_ok_renew) > ttl {
                        // Whatever Redis thinks, our leases have run out by now.
                        for (m, _) in &held {
                            demote(&node, &ctl, m, false);
                        }
                    }
                    continue;
                }
            }
        }

        // 2. Tasks that stopped by themselves.
        let ended: Vec<String> = {
            let owned = ctl.owned.lock().expect("owned lock");
            owned
                .iter()
                .filter(|(_, o)| o.ended.is_cancelled())
                .map(|(m, _)| m.clone())
                .collect()
        };
        for m in ended {
            tracing::warn!(meeting = %m, "meeting task stopped by itself: giving its lease back");
            demote(&node, &ctl, &m, true);
        }

        // 3. Meetings created, archived or deleted anywhere.
        let ver: Option<i64> = redis::cmd("GET")
            .arg(keys::MEETINGS_VER)
            .query_async(&mut conn)
            .await
            .ok()
            .flatten();
        if ver.is_some() && ver != meetings_ver && follow_meetings(&node, &ctl).await {
            meetings_ver = ver;
        }

        // 4. Lease holders; take free leases.
        let slots: Vec<Arc<Slot>> = node
            .slots
            .iter()
            .map(|s| s.value().clone())
            .filter(|s| !matches!(*s.mode.borrow(), Mode::Gone))
            .collect();
        let ids: Vec<String> = slots.iter().map(|s| s.id.clone()).collect();
        let holders = match lease::holders(&mut conn, &ids).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read leases");
                continue;
            }
        };
        for (slot, holder) in slots.iter().zip(holders) {
            let id = &slot.id;
            slot.owner.send_if_modified(|o| {
                let changed = *o != holder;
                *o = holder.clone();
                changed
            });
            match holder {
                Some((n, _)) => {
                    free_since.remove(id);
                    last_holder.insert(id.clone(), n);
                }
                None => {
                    let since = *free_since.entry(id.clone()).or_insert(now);
                    if is_busy(&ctl, id) || ctl.owned.lock().expect("owned lock").contains_key(id) {
                        continue;
                    }
                    let candidates: Vec<String> = live
                        .iter()
                        .filter(|n| Some(*n) != last_holder.get(id) || **n == me)
                        .cloned()
                        .collect();
                    let mine = preferred(id, &candidates) == Some(&me);
                    if mine || now.duration_since(since) >= ttl / 2 {
                        promote(&node, &ctl, slot.clone());
                    }
                }
            }
        }

        // 5. Rebalancing: hand a meeting to the node that should own it.
        if node.cfg.rebalance && !shutdown.is_cancelled() {
            let settled = |n: &String| {
                live_since
                    .get(n)
                    .is_some_and(|t| now.duration_since(*t) >= 2 * ttl)
            };
            let give: Option<String> = {
                let owned = ctl.owned.lock().expect("owned lock");
                owned
                    .iter()
                    .find(|(m, o)| {
                        now.duration_since(o.since) >= 2 * ttl
                            && preferred(m, &live).is_some_and(|p| *p != me && settled(p))
                    })
                    .map(|(m, _)| m.clone())
            };
            if let Some(m) = give {
                tracing::info!(meeting = %m, "handing the meeting over to the node that should own it");
                demote(&node, &ctl, &m, true);
            }
        }

        // 6. Requests that cannot be answered; states this node fell behind on.
        rpc::reap(&node);
        if now.duration_since(last_heads) >= Duration::from_secs(2) {
            last_heads = now;
            catch_up(&node, &ctl, &mut conn, &mut behind).await;
        }
    }
    // Shutdown: leave the cluster, hand every meeting over (after promotions in flight).
    let _: Result<(), _> = redis::cmd("DEL")
        .arg(keys::node(&node.cfg.node_id))
        .query_async(&mut conn)
        .await;
    let settle = Instant::now() + Duration::from_secs(10);
    while !ctl.busy.lock().expect("busy lock").is_empty() && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all: Vec<String> = ctl
        .owned
        .lock()
        .expect("owned lock")
        .keys()
        .cloned()
        .collect();
    let handles: Vec<_> = all
        .iter()
        .filter_map(|m| demote(&node, &ctl, m, true))
        .collect();
    for h in handles {
        let _ = h.await;
    }
    node.closed.cancel();
}

fn is_busy(ctl: &Ctl, id: &str) -> bool {
    ctl.busy.lock().expect("busy lock").contains(id)
}

/// Attaches meetings created elsewhere and detaches those archived or deleted. Returns
/// whether the list could be read.
async fn follow_meetings(node: &Arc<Node>, ctl: &Arc<Ctl>) -> bool {
    let Some(hub) = node.hub() else { return false };
    let Ok(list) = hub.list().await else {
        return false;
    };
    let live: HashSet<String> = list
        .iter()
        .filter(|m| m.status == MeetingStatus::Live)
        .map(|m| m.id.clone())
        .collect();
    let known: HashSet<String> = list.iter().map(|m| m.id.clone()).collect();
    for m in list {
        if m.status == MeetingStatus::Live && node.slot(&m.id).is_none() {
            let id = m.id.clone();
            if let Err(e) = hub.attach_meeting(m).await {
                tracing::warn!(meeting = %id, error = %e, "cannot attach a new meeting");
            }
        }
    }
    let gone: Vec<String> = node
        .slots
        .iter()
        .filter(|s| !live.contains(s.key()))
        .map(|s| s.key().clone())
        .collect();
    for id in gone {
        demote(node, ctl, &id, false);
        hub.detach_meeting(&id, !known.contains(&id));
    }
    true
}

/// Takes a meeting's lease and starts running it here (in its own task).
fn promote(node: &Arc<Node>, ctl: &Arc<Ctl>, slot: Arc<Slot>) {
    if !ctl.busy.lock().expect("busy lock").insert(slot.id.clone()) {
        return;
    }
    let (node, ctl) = (node.clone(), ctl.clone());
    tokio::spawn(async move {
        let id = slot.id.clone();
        if let Err(e) = try_promote(&node, &ctl, &slot).await {
            tracing::warn!(meeting = %id, error = %e, "could not take the meeting");
        }
        ctl.busy.lock().expect("busy lock").remove(&id);
    });
}

async fn try_promote(node: &Arc<Node>, ctl: &Ctl, slot: &Arc<Slot>) -> anyhow_like::Result {
    let shutdown = node.shutdown.get().cloned().unwrap_or_default();
    if shutdown.is_cancelled() {
        return Ok(());
    }
    let mut conn = node.conn.clone();
    let Some(epoch) = lease::acquire(&mut conn, &node.scripts, &node.cfg, &slot.id).await? else {
        return Ok(());
    };
    let value = lease::lease_value(&node.cfg.node_id, epoch);
    let started = Instant::now();
    let engine = match crate::hub::recover_engine(&node.store, &slot.id, slot.agenda.clone()).await
    {
        Ok(e) => e,
        Err(e) => {
            let _ = lease::release(&mut conn, &node.scripts, &slot.id, &value).await;
            return Err(e.to_string().into());
        }
    };
    let (Some(grants), Some(metrics)) = (node.grants.get(), node.metrics.get()) else {
        return Err("the node is not bound to a hub".into());
    };
    // The meeting's role links: the task owns them (rotations, links following edits).
    let mid = slot.id.clone();
    let links = match node.store.run(move |s| s.tokens(&mid)).await {
        Ok(Ok(rows)) => rows
            .into_iter()
            .filter(|r| r.link_token.is_some())
            .collect(),
        Ok(Err(e)) | Err(e) => {
            let _ = lease::release(&mut conn, &node.scripts, &slot.id, &value).await;
            return Err(e.to_string().into());
        }
    };
    let seq = engine.seq();
    *slot.pos.lock().expect("pos lock") = (epoch, seq);
    // A child of the server's shutdown: whatever happens to the hand-over, the task
    // writes what it was given and stops when the server does.
    let stop = shutdown.child_token();
    let tracker = node.tracker();
    let ended = CancellationToken::new();
    let mut states = slot.pub_tx.subscribe();
    states.mark_changed();
    let (agent, outbox) = AgentLink::new(epoch, states, ended.clone());
    let env = meeting::TaskEnv {
        store: node.store.fenced(epoch),
        grants: grants.clone(),
        metrics: metrics.clone(),
        shutdown: stop.clone(),
        tracker: tracker.clone(),
        revoked: Some(agent.revoked.clone()),
    };
    let (handle, task) =
        meeting::spawn_publishing(slot.id.clone(), engine, links, env, slot.pub_tx.clone());
    tracker.spawn({
        let ended = ended.clone();
        async move {
            let _ = task.await;
            ended.cancel();
        }
    });
    let outbox = tracker.spawn(fanout::run_outbox(node.clone(), slot.clone(), outbox));
    slot.mode.send_replace(Mode::Local {
        tx: handle.inbox().clone(),
        epoch,
        agent,
    });
    drop(handle);
    pubsub::subscribe(node, keys::m(&slot.id, "in")).await;
    ctl.owned.lock().expect("owned lock").insert(
        slot.id.clone(),
        Owned {
            value,
            ended,
            outbox,
            stop,
            since: Instant::now(),
        },
    );
    node.stats.owned.fetch_add(1, Ordering::Relaxed);
    node.stats.acquired.fetch_add(1, Ordering::Relaxed);
    tracing::info!(meeting = %slot.id, epoch, seq, load_ms = started.elapsed().as_millis() as u64, "took the meeting: serving it from this node");
    Ok(())
}

/// Stops running a meeting here (in its own task): new inputs go elsewhere, the task
/// finishes what it was given (or, when the lease is already lost, answers it
/// `unavailable`), the outbox publishes the rest, and the lease is released if asked.
fn demote(node: &Arc<Node>, ctl: &Arc<Ctl>, id: &str, release: bool) -> Option<JoinHandle<()>> {
    let owned = ctl.owned.lock().expect("owned lock").remove(id)?;
    ctl.busy.lock().expect("busy lock").insert(id.to_string());
    node.stats.owned.fetch_sub(1, Ordering::Relaxed);
    if let Some(slot) = node.slot(id) {
        slot.mode.send_if_modified(|m| {
            if matches!(m, Mode::Local { .. }) {
                *m = Mode::Remote;
                true
            } else {
                false
            }
        });
    }
    let _ = node
        .subs
        .send(pubsub::SubCmd::Unsubscribe(keys::m(id, "in")));
    if !release {
        owned.stop.cancel();
    }
    let (node, ctl, id) = (node.clone(), ctl.clone(), id.to_string());
    Some(tokio::spawn(async move {
        let Owned {
            value,
            ended,
            outbox,
            stop,
            ..
        } = owned;
        if tokio::time::timeout(Duration::from_secs(10), ended.cancelled())
            .await
            .is_err()
        {
            stop.cancel();
            ended.cancelled().await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), outbox).await;
        if release {
            let mut conn = node.conn.clone();
            match lease::release(&mut conn, &node.scripts, &id, &value).await {
                Ok(_) => tracing::info!(meeting = %id, "meeting handed over: lease released"),
                Err(e) => {
                    tracing::warn!(meeting = %id, error = %e, "cannot release the lease; it will expire")
                }
            }
        }
        ctl.busy.lock().expect("busy lock").remove(&id);
        node.nudge.notify_one();
    }))
}

/// Rebuilds the state of meetings whose journal is ahead of what this node shows, if
/// it was already ahead at the previous check (a message was lost, not just in flight).
async fn catch_up(
    node: &Arc<Node>,
    ctl: &Ctl,
    conn: &mut redis::aio::ConnectionManager,
    behind: &mut HashSet<String>,
) {
    let owned: HashSet<String> = ctl
        .owned
        .lock()
        .expect("owned lock")
        .keys()
        .cloned()
        .collect();
    let slots: Vec<Arc<Slot>> = node
        .slots
        .iter()
        .filter(|s| !owned.contains(s.key()))
        .map(|s| s.value().clone())
        .collect();
    let ids: Vec<String> = slots.iter().map(|s| s.id.clone()).collect();
    let Ok(heads) = lease::heads(conn, &ids).await else {
        return;
    };
    let mut now_behind = HashSet::new();
    for (slot, head) in slots.iter().zip(heads) {
        let shown = slot.pos.lock().expect("pos lock").1;
        if head > shown {
            if behind.contains(&slot.id) {
                tracing::info!(meeting = %slot.id, shown, head, "fell behind the journal: rebuilding the state");
                if let Err(e) = node.resync(slot).await {
                    tracing::warn!(meeting = %slot.id, error = %e, "resync failed");
                }
            } else {
                now_behind.insert(slot.id.clone());
            }
        }
    }
    *behind = now_behind;
}

/// A tiny error type for the promotion path (messages only).
mod anyhow_like {
    /// A result with a message.
    pub type Result = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}
