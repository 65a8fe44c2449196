//! Podium's server: a live session facilitation server for timed, multi-round,
//! interpreted meetings.
//!
//! # Layout
//!
//! - [`engine`]: the meeting rules as a pure state machine (sans-IO): `apply(command,
//!   actor, now)` → events or a typed rejection. No tokio, no clock, no sockets.
//! - [`hub`]: the registry of live meetings; [`hub::meeting`] is the one task per meeting
//!   that owns its engine (validate → apply → persist → publish), [`hub::views`] encodes
//!   each change once per role projection.
//! - [`accept`]: the accept loop: connection caps (global, per address, a reserve for
//!   operations), HTTP timeouts, back-off when descriptors run out.
//! - [`admission`]: join rate limits per address and per meeting, the meeting cap.
//! - [`guard`]: around every request: security headers, the request timeout, the
//!   websocket upgrade's key and origin checks.
//! - [`ws`]: websockets: the handshake, one task per connection for what the client says,
//!   one fan-out task per meeting that writes each change's shared frame to every socket.
//! - [`http`]: the HTTP surface, one file per group of requests (pages, websocket
//!   upgrade, admin API, reports), merged into one router.
//! - [`store`]: the SQLite journal and snapshots, behind a small trait, with group commit.
//! - [`remote`]: how the command line finds and calls a running server (lock, admin URL).
//! - [`invite`]: personal invitations: delegates CSV in, mail-merge CSV of links out.
//! - [`report`]: planned vs actual, speeches and queue statistics, as JSON and CSV.
//! - [`tokens`]: capability tokens (128 random bits, looked up by hash).
//! - [`keys`]: API keys for the HTTP API — one role in one meeting, hashed, revocable.
//! - [`web`]: the browser client, embedded in the binary.
//! - [`clock`], [`metrics`]: the shell's one clock read; counters for `/metrics`.
//! - [`memory`]: the allocator (jemalloc: RSS stays flat over hours) and its heap figure.
//! - [`datalock`]: one `podium serve` per data directory; offline tools see it.
//! - [`logging`]: a logger that drops (and counts) what stderr cannot take, and never
//!   writes a token.
//!
//! [`run`] serves a listener until its shutdown token is cancelled, so tests can drive a
//! whole server on `127.0.0.1:0`.

pub mod accept;
pub mod admission;
pub mod clock;
pub mod cluster;
pub mod datalock;
pub mod engine;
pub mod guard;
pub mod http;
pub mod hub;
pub mod invite;
pub mod keys;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod offline;
pub mod remote;
pub mod report;
pub mod store;
pub mod tokens;
pub mod web;
pub mod ws;

use hub::{Hub, HubError, Link};
use metrics::Metrics;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{sqlite::SqliteStore, StoreHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The bundled default meeting: the GFMD Mayors Mechanism meeting of 22 January 2021.
pub const DEFAULT_AGENDA: &str = include_str!("../../agendas/gfmd-mayors-2021-01-22.toml");

/// Per-connection limits. Defaults suit a real meeting; tests shorten the timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message (and frame) a client may send. Larger: close 1009.
    pub max_message: usize,
    /// A send that takes longer means the client stopped reading: drop it.
    pub send_timeout: Duration,
    /// Time to send `hello` after connecting.
    pub hello_timeout: Duration,
    /// Replies that may wait for one connection.
    pub reply_queue: usize,
    /// Token bucket per connection.
    pub rate: ws::ratelimit::RateLimit,
    /// The server pings every connection this often (a websocket Ping frame; browsers
    /// answer on their own).
    pub ping_interval: Duration,
    /// A connection silent for the ping interval plus this long is a dead peer: dropped.
    pub ping_timeout: Duration,
    /// Token bucket per credential (API key or link token) on the HTTP API: a Stream
    /// Deck is pressed by a person, a script should not hammer the meeting task.
    pub api_rate: ws::ratelimit::RateLimit,
    /// Connection caps and HTTP timeouts.
    pub conn: accept::ConnLimits,
    /// Join rate limits and the meeting cap.
    pub admission: admission::AdmissionLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 16 * 1024,
            send_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(15),
            reply_queue: 256,
            rate: Default::default(),
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            api_rate: ws::ratelimit::RateLimit {
                burst: 20.0,
                per_sec: 5.0,
                max_strikes: u32::MAX,
                strike_window: Duration::from_secs(10),
            },
            conn: Default::default(),
            admission: Default::default(),
        }
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite file lives.
    pub data_dir: PathBuf,
    /// Base of printed links; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// Guards the admin API. Never logged.
    pub admin_token: String,
    /// Per-connection limits.
    pub limits: Arc<Limits>,
}

/// Errors when opening the server.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store or a meeting failed to load.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The store failed to open.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The cluster could not be joined.
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
}

/// An opened server: the hub over its store, ready to serve.
pub struct Podium {
    /// The meetings.
    pub hub: Arc<Hub>,
    /// The API keys the HTTP API accepts.
    pub keys: Arc<keys::KeyRing>,
    /// Settings.
    pub config: Arc<Config>,
    /// Cancelled to stop everything.
    pub shutdown: CancellationToken,
}

impl Podium {
    /// Opens the store in `config.data_dir` and loads every live meeting.
    pub async fn open(config: Config, shutdown: CancellationToken) -> Result<Podium, OpenError> {
        // Creates the directory (0700) or checks it: see `store::hygiene`.
        let store = SqliteStore::open(&config.data_dir)?;
        let handle = StoreHandle::spawn(Box::new(store));
        let keys = keys::KeyRing::load(handle.clone()).await?;
        let hub = Hub::open(handle, Arc::new(Metrics::default()), shutdown.clone()).await?;
        hub.admission.configure(
            config.limits.admission.clone(),
            config.limits.conn.unlimited.clone(),
        );
        Ok(Podium {
            hub,
            keys,
            config: Arc::new(config),
            shutdown,
        })
    }

    /// Joins a cluster of nodes sharing their meetings through Redis (`cluster`): the
    /// store is Redis, and every meeting of the cluster is served from this node.
    /// `config.data_dir` is not used.
    pub async fn open_cluster(
        config: Config,
        cluster: cluster::ClusterConfig,
        shutdown: CancellationToken,
    ) -> Result<Podium, OpenError> {
        let (node, store) = cluster::Cluster::connect(cluster).await?;
        let keys = node.key_ring(store.clone()).await?;
        let placement: Arc<dyn hub::Placement> = Arc::new(node);
        let hub = Hub::open_placed(
            store,
            Arc::new(Metrics::default()),
            shutdown.clone(),
            Some(placement),
        )
        .await?;
        hub.admission.configure(
            config.limits.admission.clone(),
            config.limits.conn.unlimited.clone(),
        );
        Ok(Podium {
            hub,
            keys,
            config: Arc::new(config),
            shutdown,
        })
    }

    /// Creates the meeting of `agenda` unless the store already holds a meeting. (Nodes
    /// of a cluster may start together: one of them creates it.)
    pub async fn ensure_meeting(&self, agenda: podium_protocol::Agenda) -> Result<bool, HubError> {
        if !self.hub.list().await?.is_empty() {
            return Ok(false);
        }
        match self.hub.create(agenda, clock::now_ms()).await {
            Ok(_) => Ok(true),
            Err(HubError::Store(store::StoreError::Exists(_))) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every role link of every live meeting.
    pub async fn links(&self, base_url: &str) -> Result<Vec<Link>, HubError> {
        let mut out = Vec::new();
        for m in self.hub.list().await? {
            if m.status != store::MeetingStatus::Live {
                continue;
            }
            // The live agenda names the people an edit added.
            let (agenda, rows) = match self.hub.meeting(&m.id) {
                Some(h) => (h.agenda(), h.links().await.unwrap_or_default()),
                None => (Arc::new(m.agenda), self.hub.tokens(&m.id).await?),
            };
            out.extend(hub::links(base_url, &m.id, &agenda, &rows));
        }
        Ok(out)
    }

    /// The base URL for links served from `addr`.
    pub fn base_url(&self, addr: std::net::SocketAddr) -> String {
        self.config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
    }
}

/// Serves HTTP and websockets on `listener` until `podium.shutdown` is cancelled, then
/// closes every websocket with a Close frame, lets every meeting task write what it was
/// given, and returns.
pub async fn run(listener: TcpListener, podium: Podium) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let state = http::AppState::new(
        podium.hub.clone(),
        podium.keys.clone(),
        podium.config.clone(),
        podium.base_url(addr).into(),
        podium.shutdown.clone(),
    );
    let limits = podium.config.limits.clone();
    let guard = Arc::new(guard::GuardConfig {
        conn: limits.conn.clone(),
        public_origin: podium
            .config
            .public_url
            .as_deref()
            .and_then(guard::origin_of),
    });
    let app = http::router(state).layer(axum::middleware::from_fn(move |req, next| {
        guard::guard(guard.clone(), req, next)
    }));
    let gate = accept::Gate::new(
        limits.conn.clone(),
        accept::nofile(),
        podium.hub.metrics.clone(),
    );
    tracing::info!(
        max_connections = gate.cap(),
        reserve = limits.conn.reserve,
        per_address = limits.conn.per_address,
        "serving"
    );
    accept::serve(
        listener,
        app,
        gate,
        podium.shutdown.clone(),
        limits.send_timeout,
    )
    .await;
    podium.hub.tracker.close();
    podium.hub.tracker.wait().await;
    podium.hub.close().await;
    Ok(())
}
