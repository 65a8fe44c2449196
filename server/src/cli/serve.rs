//! `podium serve`: runs the server — on a data directory (one server per directory, held
//! by its lock) or as one node of a Redis cluster — with its limits, prints its links and
//! admin token, and stops cleanly on Ctrl-C or SIGTERM.

use super::links::print_link_table;
use super::reach::BASE_URL_FILE;
use anyhow::{Context, Result};
use podium_protocol::Agenda;
use podium_server::{Config, Limits, Podium};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Limits on connections and joins (`podium serve --help` lists them with defaults).
#[derive(clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Connections served at once (default: the open-file limit minus a reserve for
    /// the journal and for health/admin requests).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Connections one client address may hold.
    #[arg(long, default_value_t = 500)]
    connections_per_address: usize,
    /// Addresses exempt from per-address limits (repeat the flag; default: 127.0.0.1 and
    /// ::1, where a local reverse proxy connects from).
    #[arg(long = "unlimited-address")]
    unlimited_addresses: Vec<std::net::IpAddr>,
    /// Joins per second to one meeting (after a burst of 10 × this).
    #[arg(long, default_value_t = 200.0)]
    join_rate: f64,
    /// Joins per minute from one client address (after a burst of 50).
    #[arg(long, default_value_t = 60.0)]
    joins_per_address_per_minute: f64,
    /// People who may join one meeting by its shared links (participants and observers).
    #[arg(long, default_value_t = 20_000)]
    max_participants: usize,
    /// An origin (`https://host[:port]`) whose pages may open websockets here, besides
    /// this server's own (repeat the flag).
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
}

impl LimitArgs {
    /// Sets these limits in the server's.
    fn apply(self, limits: &mut Limits) {
        limits.conn.max_connections = self.max_connections;
        limits.conn.per_address = self.connections_per_address.max(1);
        if !self.unlimited_addresses.is_empty() {
            limits.conn.unlimited = self.unlimited_addresses;
        }
        limits.admission.per_meeting = podium_server::admission::Rate {
            burst: (self.join_rate * 10.0).max(1.0),
            per_sec: self.join_rate.max(0.0),
        };
        limits.admission.per_address.per_sec = (self.joins_per_address_per_minute / 60.0).max(0.0);
        limits.admission.max_participants = self.max_participants;
        limits.conn.allowed_origins = self.allowed_origins;
    }
}

/// Joining a cluster of nodes that share their meetings through Redis.
#[derive(clap::Args)]
pub struct ClusterArgs {
    /// Run as one node of a cluster whose meetings live in Redis (instead of --data).
    #[arg(long, env = "PODIUM_CLUSTER", value_name = "redis://HOST:PORT[/DB]")]
    cluster: Option<String>,
    /// This node's name in the cluster (default: HOSTNAME:PORT).
    #[arg(long, env = "PODIUM_NODE_ID", requires = "cluster")]
    node_id: Option<String>,
    /// Lease lifetime in ms: a dead node's meetings move after at most this long.
    #[arg(long, default_value_t = 3000, requires = "cluster")]
    lease_ms: u64,
    /// Acknowledge a change only once this many Redis replicas have it (WAIT).
    #[arg(long, default_value_t = 0, requires = "cluster")]
    wait_replicas: usize,
    /// How long to wait for those replicas, in ms.
    #[arg(long, default_value_t = 1000, requires = "cluster")]
    wait_timeout_ms: u64,
    /// Serve even if Redis does not fsync every write (appendfsync always).
    #[arg(long, requires = "cluster")]
    allow_volatile_redis: bool,
    /// Keep meetings where they are when nodes join (no rebalancing).
    #[arg(long, requires = "cluster")]
    no_rebalance: bool,
}

/// Runs the server until it is stopped.
pub async fn serve(
    bind: String,
    data: PathBuf,
    agenda_file: Option<PathBuf>,
    public_url: Option<String>,
    admin_token: Option<String>,
    limit_args: LimitArgs,
    cluster: ClusterArgs,
) -> Result<()> {
    let log = podium_server::logging::init("info,podium_server=info");
    // Everything Podium creates is for its own user only: the database holds the links.
    // SAFETY: umask(2) only sets this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    raise_nofile();
    let agenda = load_agenda(agenda_file.as_deref())?;
    let generated = admin_token.is_none();
    if let Some(t) = admin_token.as_deref().filter(|t| t.chars().count() < 16) {
        eprintln!(
            "warning: the admin token is only {} characters long: anyone who can reach this \
             server could guess it. Use 16 or more random characters (e.g. `openssl rand -hex \
             16`), or leave PODIUM_ADMIN_TOKEN unset for a new random token at each start",
            t.chars().count()
        );
    }
    let admin_token = admin_token.unwrap_or_else(podium_server::tokens::new_token);
    let shutdown = CancellationToken::new();
    let config = Config {
        data_dir: data.clone(),
        public_url,
        admin_token: admin_token.clone(),
        limits: Arc::new({
            let mut limits = Limits::default();
            limit_args.apply(&mut limits);
            limits
        }),
    };
    let cluster_url = cluster.cluster.clone();
    // A node of a cluster keeps nothing in a data directory: no lock, no files.
    let mut lock = None;
    let podium = match &cluster_url {
        None => {
            // Created 0700, or checked: a read-only directory is reported as read-only.
            podium_server::store::hygiene::prepare_dir(&data)?;
            // Held until the process ends: one server per data directory, and `podium
            // keys` knows to go through this server while it runs.
            let lock_file = data.join(podium_server::datalock::FILE_NAME);
            let lock_was_there = lock_file.exists();
            lock = match podium_server::datalock::exclusive(&data) {
                Ok(lock) => Some(lock),
                Err(busy @ podium_server::datalock::LockError::Busy(_)) => return Err(busy.into()),
                // No lock file can be made (a read-only directory): opening the store
                // below says exactly what is wrong.
                Err(_) => None,
            };
            match Podium::open(config, shutdown.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    // A directory we refuse is left as we found it: no lock file either.
                    if !lock_was_there {
                        let _ = std::fs::remove_file(&lock_file);
                    }
                    return Err(e.into());
                }
            }
        }
        Some(url) => {
            let node_id = cluster.node_id.clone().unwrap_or_else(|| {
                match bind.parse::<std::net::SocketAddr>() {
                    Ok(a) if a.port() != 0 => format!("{}:{}", hostname(), a.port()),
                    _ => format!("{}-{}", hostname(), std::process::id()),
                }
            });
            let mut c = podium_server::cluster::ClusterConfig::new(url, &node_id);
            c.lease_ttl = std::time::Duration::from_millis(cluster.lease_ms.max(300));
            c.durability.wait_replicas = cluster.wait_replicas;
            c.durability.wait_timeout = std::time::Duration::from_millis(cluster.wait_timeout_ms);
            c.allow_volatile = cluster.allow_volatile_redis;
            c.rebalance = !cluster.no_rebalance;
            Podium::open_cluster(config, c, shutdown.clone())
                .await
                .with_context(|| format!("join the cluster at {url} as node {node_id:?}"))?
        }
    };
    let _lock = lock;
    let created = podium.ensure_meeting(agenda).await?;
    // Listen only once the meetings are ready: whoever waits for the port can use them.
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("listen on {bind} (is another server running there?)"))?;
    let addr = listener.local_addr()?;
    let base = podium.base_url(addr);
    println!("Podium {} listening on {base}", env!("CARGO_PKG_VERSION"));
    match &cluster_url {
        None => {
            let _ = std::fs::write(data.join(BASE_URL_FILE), &base);
            podium_server::remote::record_admin_url(&data, addr)?;
            println!(
                "Data: {}{}",
                podium_server::store::sqlite::SqliteStore::path(&data).display(),
                if created {
                    " (new meeting created)"
                } else {
                    ""
                }
            );
        }
        Some(url) => {
            if let Err(e) = podium_server::cluster::offline::set_base_url(url, &base) {
                tracing::warn!(error = %e, "cannot record the base URL for `podium links`");
            }
            println!(
                "Cluster: {url}{}",
                if created {
                    " (new meeting created)"
                } else {
                    ""
                }
            );
        }
    }
    if generated {
        println!("Admin token (HTTP API, new each start; set PODIUM_ADMIN_TOKEN to keep one): {admin_token}");
    }
    print_link_table(&podium.links(&base).await?);
    println!("Press Ctrl-C to stop.");
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            tracing::info!("shutting down: closing connections and writing the journal");
            shutdown.cancel();
        }
    });
    let served = podium_server::run(listener, podium).await;
    log.flush(std::time::Duration::from_secs(1));
    served?;
    println!("Podium stopped cleanly.");
    Ok(())
}

/// The agenda of the first meeting: the file given, or the bundled one.
fn load_agenda(file: Option<&Path>) -> Result<Agenda> {
    let (name, text) = match file {
        Some(f) => (
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("read {}", f.display()))?,
        ),
        None => (
            "the bundled agenda".to_string(),
            podium_server::DEFAULT_AGENDA.to_string(),
        ),
    };
    Agenda::from_toml(&text).map_err(|errors| {
        let lines: Vec<String> = errors.0.iter().map(|e| format!("  {name}:{e}")).collect();
        anyhow::anyhow!("{name} has problems:\n{}", lines.join("\n"))
    })
}

/// Raises the soft open-file limit to the hard one: each websocket is a file.
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// This machine's name, for a default node id.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "podium".into())
}
