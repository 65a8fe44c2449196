//! The `podium` command line: serve meetings, print links, check agendas, export reports,
//! manage API keys.

#[path = "cli/keys.rs"]
mod keys_cmd;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use podium_protocol::Agenda;
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
    },
    /// Print the role links of every live meeting.
    Links {
        /// Data directory.
        #[arg(long, default_value = "podium-data")]
        data: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Base URL (default: the one the server last listened on).
        #[arg(long)]
        base_url: Option<String>,
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
        /// host, moderator:PERSON, interpreter, interpreter:LANG or observer (reads only).
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
    }
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
        } => {
            runtime()?.block_on(serve(bind, data, agenda, public_url, admin_token, limits))?;
            Ok(0)
        }
        Cmd::Links {
            data,
            json,
            base_url,
        } => {
            runtime()?.block_on(print_links(data, json, base_url))?;
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
            meeting,
            format,
        } => {
            let text =
                runtime()?.block_on(podium_server::report::export(&data, &meeting, &format))?;
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

async fn serve(
    bind: String,
    data: PathBuf,
    agenda_file: Option<PathBuf>,
    public_url: Option<String>,
    admin_token: Option<String>,
    limit_args: LimitArgs,
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
    let admin_token = admin_token.unwrap_or_else(podium_server::tokens::new_token);
    std::fs::create_dir_all(&data).with_context(|| format!("create {}", data.display()))?;
    // Held until the process ends: one server per data directory, and `podium keys` knows
    // to go through this server while it runs.
    let lock_file = data.join(podium_server::datalock::FILE_NAME);
    let lock_was_there = lock_file.exists();
    let _lock = podium_server::datalock::exclusive(&data)?;
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
    let podium = match Podium::open(config, shutdown.clone()).await {
        Ok(p) => p,
        Err(e) => {
            // A directory we refuse is left as we found it: no lock file either.
            if !lock_was_there {
                let _ = std::fs::remove_file(&lock_file);
            }
            return Err(e.into());
        }
    };
    let created = podium.ensure_meeting(agenda).await?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("listen on {bind} (is another server running there?)"))?;
    let addr = listener.local_addr()?;
    let base = podium.base_url(addr);
    let _ = std::fs::write(data.join(BASE_URL_FILE), &base);
    println!("Podium {} listening on {base}", env!("CARGO_PKG_VERSION"));
    println!(
        "Data: {}{}",
        podium_server::store::sqlite::SqliteStore::path(&data).display(),
        if created {
            " (new meeting created)"
        } else {
            ""
        }
    );
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

async fn print_links(data: PathBuf, json: bool, base_url: Option<String>) -> Result<()> {
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
