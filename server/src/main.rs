//! The `podium` command line: serve meetings, print links, check agendas, export reports,
//! manage API keys, invite delegates.
//!
//! This file holds the command line's definition (clap) and sends each command to its
//! module under `cli/`; anyhow lives only in this binary.

// First: the print macros every module below uses.
#[macro_use]
#[path = "cli/out.rs"]
mod out;

#[path = "cli/check.rs"]
mod check;
#[path = "cli/invite.rs"]
mod invite;
#[path = "cli/keys.rs"]
mod keys_cmd;
#[path = "cli/links.rs"]
mod links;
#[path = "cli/reach.rs"]
mod reach;
#[path = "cli/report.rs"]
mod report;
#[path = "cli/serve.rs"]
mod serve;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use reach::{through_cluster, Remote};
use serve::{ClusterArgs, LimitArgs};
use std::path::PathBuf;

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

#[derive(Subcommand)]
enum AgendaCmd {
    /// Validate an agenda file and print a summary, or every error with its location.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

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
        } => Ok(check::check(&file)),
        Cmd::Serve {
            bind,
            data,
            agenda,
            public_url,
            admin_token,
            limits,
            cluster,
        } => {
            runtime()?.block_on(serve::serve(
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
            runtime()?.block_on(links::rotate(data, json, base_url, &which, remote))?;
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
            runtime()?.block_on(invite::run(data, &file, out, base_url, remote))?;
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
            runtime()?.block_on(links::print_links(data, cluster, json, base_url))?;
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
            runtime()?.block_on(report::run(data, cluster, meeting, format))?;
            Ok(0)
        }
    }
}

/// The runtime a command that needs one runs on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the runtime")
}
