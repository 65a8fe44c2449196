//! The `podium` command line: serve meetings, print links, check agendas, export reports,
//! manage API keys.

#[path = "cli/keys.rs"]
mod keys_cmd;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use podium_protocol::{Agenda, Role};
use podium_server::{Config, Limits, Podium};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

// In this file the print macros never panic: std's panic when stdout or stderr is full or
// closed (`podium serve > /dev/full`, `podium links | head -1`), and a closed terminal must
// not stop a running meeting. What cannot be written is dropped.
macro_rules! println {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stdout(), $($t)*); }};
}
macro_rules! print {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stdout(), $($t)*); }};
}
macro_rules! eprintln {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stderr(), $($t)*); }};
}

#[derive(Parser)]
#[command(
    name = "podium",
    version,
    about = "Live session facilitation server for timed, interpreted meetings"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server. With no meeting in the data directory it creates the bundled one.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Data directory (holds podium.sqlite).
        #[arg(long, default_value = "podium-data")]
        data: PathBuf,
        /// Agenda for the first meeting (TOML); default: the bundled GFMD meeting.
        #[arg(long)]
        agenda: Option<PathBuf>,
        /// Base URL for printed links, if clients reach the server by another address.
        #[arg(long)]
        public_url: Option<String>,
        /// Admin token for the HTTP API (default: a new random one, printed).
        #[arg(long, env = "PODIUM_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Connection and join limits.
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Print the role links of every live meeting, or replace one (`--rotate`).
    Links {
        /// Data directory.
        #[arg(long, default_value = "podium-data")]
        data: PathBuf,
        /// Read the cluster at this Redis URL instead of a data directory.
        #[arg(long, env = "PODIUM_CLUSTER", value_name = "redis://HOST:PORT[/DB]")]
        cluster: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Base URL (default: the one the server last listened on).
        #[arg(long)]
        base_url: Option<String>,
        /// Replace a link with a new one: ROLE (host, participant, observer, interpreter,
        /// projector) or ROLE:PERSON (moderator:ID, speaker:ID). The old link stops working
        /// and, when the server runs, its open connections are closed.
        #[arg(long, value_name = "ROLE[:PERSON]")]
        rotate: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Invite registered delegates with personal links: reads a CSV (name, delegation,
    /// language, role participant|observer, optional email) and writes the same rows with
    /// each delegate's link, ready for a mail merge. The links exist only in that output.
    Invite {
        /// The meeting.
        meeting: String,
        /// The delegates CSV.
        file: PathBuf,
        /// Where to write the links CSV (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Data directory.
        #[arg(long, default_value = "podium-data")]
        data: PathBuf,
        /// Base URL of the links (default: the one the server last listened on).
        #[arg(long)]
        base_url: Option<String>,
        /// The running server's admin API (default: the address it recorded).
        #[arg(long)]
        url: Option<String>,
        /// The running server's admin token.
        #[arg(long, env = "PODIUM_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// The meeting lives in the cluster at this Redis URL: the invitation goes through
        /// a running node's admin API (--url, default: the cluster's base URL).
        #[arg(long, env = "PODIUM_CLUSTER", value_name = "redis://HOST:PORT[/DB]")]
        cluster: Option<String>,
    },
    /// Agenda files.
    Agenda {
        #[command(subcommand)]
        command: AgendaCmd,
    },
    /// Export a meeting's report: planned vs actual, speeches, queue statistics.
    Report {
        /// Data directory.
        #[arg(long, default_value = "podium-data")]
        data: PathBuf,
        /// Read the cluster at this Redis URL instead of a data directory.
        #[arg(long, env = "PODIUM_CLUSTER", value_name = "redis://HOST:PORT[/DB]")]
        cluster: Option<String>,
        /// Meeting id.
        meeting: String,
        /// Output format.
        #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
        format: String,
    },
    /// API keys for the HTTP API, Stream Decks and overlays: one role in one meeting.
    ///
    /// With a server running on the data directory (or with --url), the change goes
    /// through its HTTP API and needs PODIUM_ADMIN_TOKEN; otherwise it is made in the
    /// data directory's database.
    Keys {
        #[command(subcommand)]
        command: KeysCmd,
        /// Data directory.
        #[arg(long, default_value = "podium-data", global = true)]
        data: PathBuf,
        /// A running server's base URL (default: the server using --data, if any).
        #[arg(long, env = "PODIUM_URL", global = true)]
        url: Option<String>,
        /// The server's admin token (needed to reach a running server).
        #[arg(
            long,
            env = "PODIUM_ADMIN_TOKEN",
            hide_env_values = true,
            global = true
        )]
        admin_token: Option<String>,
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create a key; it is printed once (only its hash is kept).
    Create {
        /// Meeting id.
        meeting: String,
        /// host, moderator:PERSON, interpreter:LANG or observer (reads only).
        #[arg(long)]
        role: String,
        /// Who holds it, e.g. "Stream Deck booth A".
        #[arg(long)]
        label: String,
    },
    /// List a meeting's keys: id, role, status, created, last used, label.
    List {
        /// Meeting id.
        meeting: String,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        /// Meeting id.
        meeting: String,
        /// The key's id (from `podium keys list`).
        key_id: String,
    },
}

/// How a command that changes tokens reaches a running server (when none runs, it writes
/// the data directory itself).
#[derive(clap::Args)]
struct Remote {
    /// The meeting (default: the only live one).
    #[arg(long)]
    meeting: Option<String>,
    /// The running server's admin API (default: the address it recorded in DATA/admin-url).
    #[arg(long)]
    url: Option<String>,
    /// The running server's admin token.
    #[arg(long, env = "PODIUM_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// Limits on connections and joins (`podium serve --help` lists them with defaults).
#[derive(clap::Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
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
struct ClusterArgs {
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

#[derive(Subcommand)]
enum AgendaCmd {
    /// Validate an agenda file and print a summary, or every error with its location.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Where `serve` records the URL it listens on, for `podium links`.
const BASE_URL_FILE: &str = "base-url";

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Agenda {
            command: AgendaCmd::Check { file },
        } => Ok(check(&file)),
        Cmd::Serve {
            bind,
            data,
            agenda,
            public_url,
            admin_token,
            limits,
            cluster,
        } => {
            runtime()?.block_on(serve(
                bind,
                data,
                agenda,
                public_url,
                admin_token,
                limits,
                cluster,
            ))?;
            Ok(0)
        }
        Cmd::Links {
            data,
            cluster,
            json,
            base_url,
            rotate: Some(which),
            remote,
        } => {
            let remote = through_cluster(cluster.as_deref(), remote)?;
            runtime()?.block_on(rotate(data, json, base_url, &which, remote))?;
            Ok(0)
        }
        Cmd::Invite {
            meeting,
            file,
            out,
            data,
            base_url,
            url,
            admin_token,
            cluster,
        } => {
            let remote = Remote {
                meeting: Some(meeting),
                url,
                admin_token,
            };
            let remote = through_cluster(cluster.as_deref(), remote)?;
            let csv = runtime()?.block_on(invite(data, &file, base_url, remote))?;
            match out {
                Some(path) => {
                    write_private(&path, &csv)?;
                    eprintln!(
                        "{} personal links written to {}",
                        csv.lines().count() - 1,
                        path.display()
                    );
                }
                None => print!("{csv}"),
            }
            Ok(0)
        }
        Cmd::Links {
            data,
            json,
            base_url,
            cluster,
            rotate: None,
            ..
        } => {
            runtime()?.block_on(print_links(data, cluster, json, base_url))?;
            Ok(0)
        }
        Cmd::Keys {
            command,
            data,
            url,
            admin_token,
            json,
        } => {
            let (meeting, op) = match command {
                KeysCmd::Create {
                    meeting,
                    role,
                    label,
                } => (meeting, keys_cmd::Op::Create { role, label }),
                KeysCmd::List { meeting } => (meeting, keys_cmd::Op::List),
                KeysCmd::Revoke { meeting, key_id } => {
                    (meeting, keys_cmd::Op::Revoke { id: key_id })
                }
            };
            let target = keys_cmd::Target {
                data,
                url,
                admin_token,
            };
            keys_cmd::run(&meeting, op, target, json)?;
            Ok(0)
        }
        Cmd::Report {
            data,
            cluster,
            meeting,
            format,
        } => {
            let text = match cluster {
                Some(url) => runtime()?.block_on(cluster_report(&url, &meeting, &format))?,
                None => {
                    runtime()?.block_on(podium_server::report::export(&data, &meeting, &format))?
                }
            };
            print!("{text}");
            Ok(0)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the runtime")
}

fn check(file: &Path) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", file.display());
            return 1;
        }
    };
    match Agenda::from_toml(&text) {
        Ok(agenda) => {
            print!("{}", agenda.summary());
            println!("{}: ok", file.display());
            0
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{}:{e}", file.display());
            }
            eprintln!("{}: {} problem(s)", file.display(), errors.0.len());
            1
        }
    }
}

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

/// `podium report --cluster`: the report of a meeting read from the cluster's journal.
async fn cluster_report(url: &str, meeting: &str, format: &str) -> Result<String> {
    if format != "json" && format != "csv" {
        anyhow::bail!("unknown format {format:?}: use json or csv");
    }
    let engine = podium_server::cluster::offline::load_engine(url, meeting).await?;
    let report = podium_server::report::Report::build(&engine, podium_server::clock::now_ms());
    Ok(if format == "json" {
        report.to_json()? + "\n"
    } else {
        report.to_csv()?
    })
}

/// This machine's name, for a default node id.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "podium".into())
}

async fn serve(
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

fn print_link_table(links: &[podium_server::hub::Link]) {
    let mut meeting = "";
    for l in links {
        if l.meeting != meeting {
            meeting = &l.meeting;
            println!("\nMeeting {:?} ({})", l.title, l.meeting);
        }
        let who = match (l.role, &l.speaker) {
            (podium_protocol::Role::Participant, _) => "participants join here".to_string(),
            (podium_protocol::Role::Observer, _) => "observers join here".to_string(),
            (podium_protocol::Role::Interpreter, _) => match l.language {
                Some(lang) => format!("{} booth ({lang})", lang.english_name()),
                None => "booth without a language".to_string(),
            },
            (_, Some(name)) => name.clone(),
            _ => String::new(),
        };
        println!("  {:<12} {:<28} {}", l.role.as_str(), who, l.url);
    }
    println!();
}

async fn print_links(
    data: PathBuf,
    cluster: Option<String>,
    json: bool,
    base_url: Option<String>,
) -> Result<()> {
    if let Some(url) = cluster {
        let base = match base_url {
            Some(b) => b,
            None => podium_server::cluster::offline::base_url(&url)?
                .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        };
        let links = podium_server::cluster::offline::links_cluster(&url, base.trim()).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&links)?);
        } else {
            print_link_table(&links);
        }
        return Ok(());
    }
    if !podium_server::store::sqlite::SqliteStore::path(&data).exists() {
        anyhow::bail!(
            "{} holds no Podium database: run `podium serve --data {}` first",
            data.display(),
            data.display()
        );
    }
    let base = base_url
        .or_else(|| std::fs::read_to_string(data.join(BASE_URL_FILE)).ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let links = podium_server::offline::links_offline(&data, base.trim()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&links)?);
    } else {
        print_link_table(&links);
    }
    Ok(())
}

/// The base URL for printed links: `--base-url`, else the one the server last recorded.
fn base_url_of(data: &Path, base_url: Option<String>) -> String {
    base_url
        .or_else(|| std::fs::read_to_string(data.join(BASE_URL_FILE)).ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim()
        .to_string()
}

/// `ROLE[:PERSON]`.
fn parse_link(which: &str) -> Result<(Role, Option<String>)> {
    let (role, person) = match which.split_once(':') {
        Some((r, p)) => (r, Some(p.to_string())),
        None => (which, None),
    };
    let role = Role::parse(role).with_context(|| {
        format!("{role:?} is not a role: host, moderator, speaker, participant, observer, interpreter or projector")
    })?;
    if matches!(role, Role::Moderator | Role::Speaker | Role::Interpreter) != person.is_some() {
        anyhow::bail!(
            "{which:?}: moderator and speaker links name their person (speaker:carola-gunnarsson), \
             interpreter links their booth's language (interpreter:ar); the other roles name nothing"
        );
    }
    Ok((role, person))
}

/// Where a token-changing command goes: the data directory's shared lock (no server
/// runs: write the store), or the running server's admin URL and token (`--url` always
/// goes to that server).
/// In a cluster, a change to a meeting (a rotation, an invitation) is made by the
/// meeting's owner: it goes through a running node's admin API, `--url` or else the
/// cluster's recorded base URL (every node serves the admin API for every meeting).
fn through_cluster(cluster: Option<&str>, mut remote: Remote) -> Result<Remote> {
    let Some(url) = cluster else {
        return Ok(remote);
    };
    if remote.url.is_none() {
        let base = podium_server::cluster::offline::base_url(url)?.with_context(|| {
            format!(
                "the cluster at {url} has no recorded base URL (no node has started): \
                 pass --url http://NODE:PORT of a running node"
            )
        })?;
        remote.url = Some(base.trim().to_string());
    }
    if remote.admin_token.is_none() {
        anyhow::bail!(
            "in a cluster this goes through a node's admin API: set PODIUM_ADMIN_TOKEN \
             (or --admin-token) to the nodes' admin token"
        );
    }
    Ok(remote)
}

fn reach(
    data: &Path,
    remote: &Remote,
) -> Result<Result<podium_server::datalock::DataLock, (String, String)>> {
    if remote.url.is_none() {
        if !podium_server::store::sqlite::SqliteStore::path(data).exists() {
            anyhow::bail!(
                "{} holds no Podium database: run `podium serve --data {}` first, or pass --url",
                data.display(),
                data.display()
            );
        }
        if let Some(lock) = podium_server::datalock::shared(data)? {
            return Ok(Ok(lock));
        }
    }
    let url = match &remote.url {
        Some(u) => u.clone(),
        None => podium_server::remote::admin_url(data).or_else(|_| {
            std::fs::read_to_string(data.join(BASE_URL_FILE)).map(|s| s.trim().to_string())
        })?,
    };
    let token = remote.admin_token.clone().with_context(|| {
        format!(
            "a server is running on {}: this goes through its admin API, so set \
             PODIUM_ADMIN_TOKEN (or --admin-token) to the token it printed",
            data.display()
        )
    })?;
    Ok(Err((url, token)))
}

/// The meeting to act on through the admin API: the named one or the only live one.
async fn remote_meeting(url: &str, token: &str, meeting: Option<String>) -> Result<String> {
    if let Some(m) = meeting {
        return Ok(m);
    }
    let a =
        podium_server::remote::call(url, "GET", "/api/meetings", token, "text/plain", "").await?;
    anyhow::ensure!(
        a.status == 200,
        "the server answered {}: {}",
        a.status,
        a.body
    );
    let list: Vec<serde_json::Value> = serde_json::from_str(&a.body)?;
    let live: Vec<&str> = list
        .iter()
        .filter(|m| m["status"] == "live")
        .filter_map(|m| m["meeting"].as_str())
        .collect();
    match live[..] {
        [one] => Ok(one.to_string()),
        _ => anyhow::bail!(
            "name the meeting with --meeting: live meetings are {}",
            live.join(", ")
        ),
    }
}

async fn rotate(
    data: PathBuf,
    json: bool,
    base_url: Option<String>,
    which: &str,
    remote: Remote,
) -> Result<()> {
    let (role, person) = parse_link(which)?;
    let link: podium_server::hub::Link = match reach(&data, &remote)? {
        Ok(_lock) => {
            let base = base_url_of(&data, base_url);
            podium_server::offline::rotate_offline(
                &data,
                remote.meeting.as_deref(),
                role,
                person,
                &base,
            )
            .await?
        }
        Err((url, token)) => {
            let meeting = remote_meeting(&url, &token, remote.meeting).await?;
            let body = serde_json::json!({ "role": role, "person": person }).to_string();
            let path = format!("/api/meetings/{meeting}/links/rotate");
            let a =
                podium_server::remote::call(&url, "POST", &path, &token, "application/json", &body)
                    .await?;
            anyhow::ensure!(
                a.status == 200,
                "the server answered {}: {}",
                a.status,
                a.body
            );
            serde_json::from_str(&a.body).context("the server's answer")?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&link)?);
    } else {
        println!(
            "New {} link{}: {}",
            link.role.as_str(),
            link.speaker
                .as_ref()
                .map(|n| format!(" for {n}"))
                .unwrap_or_default(),
            link.url
        );
        println!("The old link no longer works.");
    }
    Ok(())
}

/// Writes a file of secrets readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

async fn invite(
    data: PathBuf,
    file: &Path,
    base_url: Option<String>,
    remote: Remote,
) -> Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
    let delegates = podium_server::invite::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    match reach(&data, &remote)? {
        Ok(_lock) => {
            let base = base_url_of(&data, base_url);
            let (_, rows) = podium_server::offline::invite_offline(
                &data,
                remote.meeting.as_deref(),
                delegates,
                &base,
            )
            .await?;
            Ok(podium_server::invite::output(&rows)?)
        }
        Err((url, token)) => {
            let meeting = remote_meeting(&url, &token, remote.meeting).await?;
            let path = format!("/api/meetings/{meeting}/invitations");
            let a =
                podium_server::remote::call(&url, "POST", &path, &token, "text/csv", &text).await?;
            anyhow::ensure!(
                a.status == 200,
                "the server answered {}: {}",
                a.status,
                a.body
            );
            Ok(a.body)
        }
    }
}
