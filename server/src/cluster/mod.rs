//! Several Podium nodes sharing their meetings through Redis: any node serves any
//! meeting, one node owns each meeting at a time, and a meeting survives its owner.
//!
//! # Parts
//!
//! - [`journal`]: [`journal::RedisStore`], the [`crate::store::Store`] over Redis — the
//!   meeting records, tokens, and each meeting's journal as a stream, appended by a Lua
//!   script that checks the writer's lease, epoch and last seq ([`scripts`]).
//! - [`lease`]: leases (`SET NX PX`, renewed well within their TTL) with a fencing epoch
//!   raised at each acquisition; node heartbeats; who should own what (rendezvous hash).
//! - [`coordinator`]: one loop per node that acquires, renews, hands over and gives up
//!   leases, and starts or stops the meeting tasks it owns.
//! - [`fanout`]: the owner publishes each published state (every role projection's
//!   encoded bytes, with seq and epoch) once on the meeting's channel; every node feeds
//!   its local `watch` from it, so the per-connection path is the single-node one.
//! - [`router`]: behind each meeting's handle, sends each input to the local meeting task
//!   or, through Redis, to the owner; [`serve`]: serves other nodes' requests while this
//!   node owns the meeting.
//! - [`rpc`]: requests in flight to the owner (per-meeting request channel, per-node reply
//!   channel) and what becomes of them; [`wire`]: what those messages hold.
//! - [`offline`]: reading a cluster without joining it (`podium links`, `podium report`).
//! - [`pubsub`]: the node's one subscriber connection, its reconnection, and the
//!   dispatch of what arrives.
//! - [`revoke`]: what is revoked — rotated links, removed participants, revoked API
//!   keys — is refused by every node at once and closes every node's connections.
//! - [`apikeys`]: API keys and idempotency records in Redis; [`rows`]: token rows.
//!
//! # Invariants
//!
//! - **One writer per meeting.** Only the holder of a meeting's lease at the current
//!   epoch can append to its journal: the append script refuses any other epoch, any
//!   other lease value, and any batch that does not continue the journal's last seq. A
//!   stale owner (paused past its lease, cut off) cannot write a single event.
//! - **Durable before visible, also across nodes.** The owner publishes a state, and
//!   acknowledges a command, only after Redis accepted its append (with
//!   `appendfsync always`, after its fsync; with `WAIT`, after replicas have it).
//! - **Never a silent loss of a reply.** A remote command's reply comes back, or its
//!   sender gets `unavailable` (the owner died or the meeting moved with the command in
//!   flight); a command with a key is then safely retried: the new owner knows the key.
//! - **Every published state is complete**: a node that missed one loses nothing but
//!   bytes; a node that was cut off rebuilds the state from the journal.
//! - Nodes trust each other and Redis: the cluster is one trust domain.

pub mod apikeys;
pub mod coordinator;
pub mod fanout;
pub mod journal;
pub mod keys;
pub mod lease;
pub mod offline;
pub mod pubsub;
pub mod revoke;
pub mod router;
pub mod rows;
pub mod rpc;
pub mod scripts;
pub mod serve;
pub mod wire;

use crate::hub::meeting::{Input, MeetingHandle};
use crate::hub::views::Published;
use crate::hub::{Grant, Hub, HubError, Placement};
use crate::metrics::Metrics;
use crate::store::{StoreError, StoreHandle, StoredMeeting, TokenRow};
use dashmap::DashMap;
use futures_util::future::BoxFuture;
use journal::{Durability, RedisStore};
use podium_protocol::Agenda;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How a node joins the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// This node's name, unique in the cluster (leases and replies name it).
    pub node_id: String,
    /// A lease's lifetime; the owner renews it every third of it. A dead owner's
    /// meetings move after at most this long (plus a coordinator tick).
    pub lease_ttl: Duration,
    /// `WAIT` for replicas after each append.
    pub durability: Durability,
    /// Serve even if Redis does not fsync its AOF at every write (acknowledged changes
    /// could then be lost with the Redis machine).
    pub allow_volatile: bool,
    /// Move meetings to the node that should own them when nodes join.
    pub rebalance: bool,
    /// The base URL this node prints links with; recorded for `podium links --cluster`.
    pub base_url: Option<String>,
}

impl ClusterConfig {
    /// Defaults for a Redis URL and node name: 3 s leases, no `WAIT`, durability
    /// checked, rebalancing on.
    pub fn new(url: &str, node_id: &str) -> ClusterConfig {
        ClusterConfig {
            url: url.to_string(),
            node_id: node_id.to_string(),
            lease_ttl: Duration::from_secs(3),
            durability: Durability {
                wait_replicas: 0,
                wait_timeout: Duration::from_secs(1),
            },
            allow_volatile: false,
            rebalance: true,
            base_url: None,
        }
    }
}

/// Errors when joining a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL does not parse.
    #[error("{url}: not a Redis URL ({problem}); write redis://HOST:PORT or redis://HOST:PORT/DB")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// Redis cannot be reached.
    #[error("cannot reach Redis at {url}: {problem}. Is redis-server running there?")]
    Connect {
        /// The URL.
        url: String,
        /// What failed.
        problem: String,
    },
    /// Redis would lose acknowledged writes.
    #[error("Redis at {url} does not make each write durable ({setting}). Start it with `--appendonly yes --appendfsync always` (or set them with CONFIG SET), or pass --allow-volatile-redis to accept losing acknowledged changes with the Redis machine")]
    Volatile {
        /// The URL.
        url: String,
        /// What it said.
        setting: String,
    },
    /// Another live node has this name.
    #[error("another live node is called {0:?}: give this one another --node-id")]
    NodeIdTaken(String),
    /// Redis failed.
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Who serves a meeting's inputs on this node.
#[derive(Clone)]
pub enum Mode {
    /// Another node (or nobody, during a failover): inputs go through Redis.
    Remote,
    /// This node owns the meeting: inputs go to its task.
    Local {
        /// The task's inbox.
        tx: mpsc::Sender<Input>,
        /// The lease epoch the task writes with.
        epoch: u64,
        /// Where the task's answers to other nodes go.
        agent: rpc::AgentLink,
    },
    /// Archived or deleted: nothing serves it.
    Gone,
}

/// One meeting as this node sees it, whoever owns it.
pub struct Slot {
    /// Meeting id.
    pub id: String,
    /// The agenda as created: the journal's starting point when rebuilding the state
    /// (the current agenda comes with the states, or from the latest snapshot).
    pub agenda: Arc<Agenda>,
    /// The node's published state of the meeting: connections subscribe here; fed by the
    /// local task when this node owns the meeting, from the owner's channel otherwise.
    /// It outlives changes of owner, so connections keep their subscription.
    pub pub_tx: watch::Sender<Arc<Published>>,
    /// (epoch, seq) of the state in `pub_tx`: older states (a stale owner's last
    /// messages, our own echo) are ignored.
    pub pos: Mutex<(u64, u64)>,
    /// Where inputs go now.
    pub mode: watch::Sender<Mode>,
    /// The lease holder as last read: (node, epoch); `None` while the lease is free.
    pub owner: watch::Sender<Option<(String, u64)>>,
    /// The router's inbox (what this node's handles of the meeting send to).
    pub router_tx: mpsc::Sender<Input>,
    /// Inputs from other nodes, for the router.
    pub remote_tx: mpsc::UnboundedSender<wire::Envelope>,
    /// Requests parked because no owner took them yet, for the router.
    pub parked_tx: mpsc::UnboundedSender<rpc::Parked>,
    /// Cancelled when the meeting is detached from this node.
    pub closed: CancellationToken,
}

impl Slot {
    /// The epoch of the known owner, if any.
    pub fn owner_epoch(&self) -> Option<u64> {
        self.owner.borrow().as_ref().map(|o| o.1)
    }
}

/// This node: its Redis connections, its meetings, and requests in flight.
pub struct Node {
    /// Settings.
    pub cfg: ClusterConfig,
    /// For new connections (the subscriber's reconnections).
    pub client: redis::Client,
    /// Multiplexed, reconnecting connection for leases, publishes and lookups.
    pub conn: ConnectionManager,
    /// The journal (a [`RedisStore`] on the store thread).
    pub store: StoreHandle,
    /// Scripts by SHA.
    pub scripts: scripts::Scripts,
    /// Random id of this process (in the heartbeat): tells a restarted node from a clash.
    pub instance: String,
    /// The hub, once bound.
    pub hub: OnceLock<Weak<Hub>>,
    /// The hub's grants, for meeting tasks started here.
    pub grants: OnceLock<Arc<DashMap<[u8; 32], Grant>>>,
    /// The hub's metrics.
    pub metrics: OnceLock<Arc<Metrics>>,
    /// The server's API keys (a revocation on another node ends their streams here).
    pub keys: OnceLock<Weak<crate::keys::KeyRing>>,
    /// The hub's task tracker (meeting tasks, agents, routers).
    pub tracker: OnceLock<TaskTracker>,
    /// The server's shutdown signal.
    pub shutdown: OnceLock<CancellationToken>,
    /// Meetings attached here, by id.
    pub slots: DashMap<String, Arc<Slot>>,
    /// Requests sent to other nodes, by request id, awaiting replies.
    pub pending: Mutex<HashMap<u64, rpc::PendingReq>>,
    /// Request ids.
    pub next_req: AtomicU64,
    /// (Un)subscriptions for the subscriber task.
    pub subs: mpsc::UnboundedSender<pubsub::SubCmd>,
    /// Wakes the coordinator (a lease was released, meetings changed).
    pub nudge: Notify,
    /// Set once the coordinator has handed everything over (shutdown).
    pub closed: CancellationToken,
    /// Counters for `/metrics`.
    pub stats: Arc<Stats>,
}

/// Cluster counters.
#[derive(Default)]
pub struct Stats {
    /// Meetings owned now.
    pub owned: AtomicU64,
    /// Leases acquired since start.
    pub acquired: AtomicU64,
    /// Appends refused because this node was no longer the owner.
    pub fenced: Arc<AtomicU64>,
    /// Requests answered `unavailable` because the owner changed or went silent.
    pub lost_in_flight: AtomicU64,
    /// Live nodes seen at the last heartbeat.
    pub nodes: AtomicU64,
}

impl Stats {
    /// Prometheus lines.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE podium_cluster_owned_meetings gauge\npodium_cluster_owned_meetings {}\n\
             # TYPE podium_cluster_leases_acquired_total counter\npodium_cluster_leases_acquired_total {}\n\
             # TYPE podium_cluster_fenced_writes_total counter\npodium_cluster_fenced_writes_total {}\n\
             # TYPE podium_cluster_requests_lost_in_flight_total counter\npodium_cluster_requests_lost_in_flight_total {}\n\
             # TYPE podium_cluster_nodes gauge\npodium_cluster_nodes {}\n",
            g(&self.owned),
            g(&self.acquired),
            g(&self.fenced),
            g(&self.lost_in_flight),
            g(&self.nodes)
        )
    }
}

/// A cluster node: the [`Placement`] the hub uses, and the handle to stop it.
#[derive(Clone)]
pub struct Cluster {
    /// The node.
    pub node: Arc<Node>,
}

impl Cluster {
    /// Connects to Redis, checks its durability settings and this node's name, and
    /// returns the node (not yet serving: give it to [`Hub::open_placed`]) with its store.
    pub async fn connect(cfg: ClusterConfig) -> Result<(Cluster, StoreHandle), ClusterError> {
        let client = redis::Client::open(cfg.url.as_str()).map_err(|e| ClusterError::Url {
            url: cfg.url.clone(),
            problem: e.to_string(),
        })?;
        let manager_cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let mut conn = client
            .get_connection_manager_with_config(manager_cfg)
            .await
            .map_err(|e| ClusterError::Connect {
                url: cfg.url.clone(),
                problem: e.to_string(),
            })?;
        tracing::debug!("cluster: connected");
        check_durability(&mut conn, &cfg).await?;
        let instance = crate::tokens::new_token();
        lease::register(&mut conn, &cfg, &instance).await?;
        let stats = Arc::new(Stats::default());
        let store = StoreHandle::spawn(Box::new(
            RedisStore::new(client.clone(), &cfg.node_id, cfg.durability)
                .count_fenced(stats.fenced.clone()),
        ));
        let (subs, subs_rx) = mpsc::unbounded_channel();
        let node = Arc::new(Node {
            cfg,
            client,
            conn,
            store: store.clone(),
            scripts: scripts::Scripts::new(),
            instance,
            hub: OnceLock::new(),
            grants: OnceLock::new(),
            metrics: OnceLock::new(),
            keys: OnceLock::new(),
            tracker: OnceLock::new(),
            shutdown: OnceLock::new(),
            slots: DashMap::new(),
            pending: Mutex::new(HashMap::new()),
            next_req: AtomicU64::new(1),
            subs,
            nudge: Notify::new(),
            closed: CancellationToken::new(),
            stats,
        });
        tracing::debug!("cluster: registered");
        pubsub::start(&node, subs_rx).await?;
        tracing::debug!("cluster: subscriber started");
        if let Some(url) = &node.cfg.base_url {
            let mut c = node.conn.clone();
            let _: () = redis::cmd("SET")
                .arg(keys::BASE_URL)
                .arg(url)
                .query_async(&mut c)
                .await?;
        }
        Ok((Cluster { node }, store))
    }

    /// The server's API keys, checked in Redis at each use (see [`apikeys::NodeKeys`]).
    pub async fn key_ring(
        &self,
        store: StoreHandle,
    ) -> Result<Arc<crate::keys::KeyRing>, StoreError> {
        let shared = Arc::new(apikeys::NodeKeys {
            conn: self.node.conn.clone(),
        });
        let ring = crate::keys::KeyRing::load_shared(store, shared).await?;
        let _ = self.node.keys.set(Arc::downgrade(&ring));
        Ok(ring)
    }
}

/// Refuses a Redis that does not fsync its append-only file at every write, unless
/// allowed. A server that hides CONFIG is taken at the operator's word, with a warning.
async fn check_durability(
    conn: &mut ConnectionManager,
    cfg: &ClusterConfig,
) -> Result<(), ClusterError> {
    let got: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("append*")
        .query_async(conn)
        .await;
    let pairs = match got {
        Ok(v) => v,
        Err(e) if e.is_io_error() || e.is_connection_dropped() => {
            return Err(ClusterError::Connect {
                url: cfg.url.clone(),
                problem: e.to_string(),
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read Redis's AOF settings; make sure it runs with appendonly yes and appendfsync always");
            return Ok(());
        }
    };
    let get = |name: &str| {
        pairs
            .chunks(2)
            .find(|kv| kv[0] == name)
            .and_then(|kv| kv.get(1).cloned())
            .unwrap_or_default()
    };
    let (aof, fsync) = (get("appendonly"), get("appendfsync"));
    if aof != "yes" || fsync != "always" {
        let setting = format!("appendonly {aof}, appendfsync {fsync}");
        if cfg.allow_volatile {
            tracing::warn!(%setting, "Redis does not fsync every write: acknowledged changes may be lost with the Redis machine");
        } else {
            return Err(ClusterError::Volatile {
                url: cfg.url.clone(),
                setting,
            });
        }
    }
    Ok(())
}

impl Node {
    /// The hub, while it lives.
    pub fn hub(&self) -> Option<Arc<Hub>> {
        self.hub.get().and_then(Weak::upgrade)
    }

    /// The tracker for tasks (a fresh one before binding, for tests of parts).
    pub fn tracker(&self) -> TaskTracker {
        self.tracker.get().cloned().unwrap_or_default()
    }

    /// The server's API keys, while they live.
    pub fn key_ring(&self) -> Option<Arc<crate::keys::KeyRing>> {
        self.keys.get().and_then(Weak::upgrade)
    }

    /// The metrics of the hub.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.get().cloned().unwrap_or_default()
    }

    /// A slot by meeting id.
    pub fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.get(id).map(|s| s.clone())
    }

    /// Rebuilds a meeting's state from the journal and puts it in the slot's `watch`
    /// unless the slot already shows as much: for a node that may have missed messages.
    pub async fn resync(&self, slot: &Arc<Slot>) -> Result<(), HubError> {
        let engine = crate::hub::recover_engine(&self.store, &slot.id, slot.agenda.clone()).await?;
        fanout::offer_rebuilt(slot, &engine);
        Ok(())
    }
}

impl Placement for Cluster {
    fn bind(&self, hub: &Arc<Hub>) {
        let n = &self.node;
        let _ = n.hub.set(Arc::downgrade(hub));
        let _ = n.grants.set(hub.grants_map().clone());
        let _ = n.metrics.set(hub.metrics.clone());
        let _ = n.tracker.set(hub.tracker.clone());
        let _ = n.shutdown.set(hub.shutdown_token().clone());
        let stats_node = Arc::downgrade(n);
        hub.metrics.set_extra(Box::new(move || {
            stats_node
                .upgrade()
                .map(|n| n.stats.render())
                .unwrap_or_default()
        }));
        coordinator::start(n.clone());
    }

    fn attach<'a>(
        &'a self,
        meeting: &'a StoredMeeting,
    ) -> BoxFuture<'a, Result<MeetingHandle, HubError>> {
        Box::pin(async move { router::attach(&self.node, meeting).await })
    }

    fn detach(&self, id: &str) {
        if let Some((_, slot)) = self.node.slots.remove(id) {
            slot.mode.send_replace(Mode::Gone);
            slot.closed.cancel();
            let _ = self
                .node
                .subs
                .send(pubsub::SubCmd::Unsubscribe(keys::m(id, "state")));
        }
        self.node.nudge.notify_one();
    }

    fn lookup(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<TokenRow>, StoreError>> {
        Box::pin(async move {
            let unavailable = |e: redis::RedisError| StoreError::Unavailable(e.to_string());
            let mut c = self.node.conn.clone();
            let row: Option<String> = redis::cmd("HGET")
                .arg(keys::TOKENS)
                .arg(hex::encode(hash))
                .query_async(&mut c)
                .await
                .map_err(unavailable)?;
            let Some(row) = row else { return Ok(None) };
            let wire: journal::TokenWire = serde_json::from_str(&row)
                .map_err(|e| StoreError::Decode(format!("token row: {e}")))?;
            // A removed participant's tokens stay stored but open nothing.
            if let Some(p) = wire.participant {
                let barred: bool = redis::cmd("SISMEMBER")
                    .arg(keys::m(&wire.meeting, "removed"))
                    .arg(p)
                    .query_async(&mut c)
                    .await
                    .map_err(unavailable)?;
                if barred {
                    return Ok(None);
                }
            }
            Ok(Some(wire.row(hash)))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move { coordinator::hand_over_all(&self.node).await })
    }
}

/// Whether a store error is about the shared store (unreachable or fenced).
pub fn is_shared_failure(e: &StoreError) -> bool {
    matches!(e, StoreError::Fenced(_) | StoreError::Unavailable(_))
}
