//! `podium-cluster-load`: the cluster benchmark. Starts a redis-server and three
//! `podium serve --cluster` nodes, spreads the clients over worker processes (itself, as
//! `podium-cluster-load worker`), and measures fan-out, durable commands and failover.
//!
//! ```text
//! podium-cluster-load --n 45000 --workers-per-node 1 --out bench-results/cluster-45000.json
//! ```

use anyhow::Result;
use clap::{Parser, Subcommand};
use podium_tests::cluster_load::{self, worker, Config};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "podium-cluster-load", about = "Cluster benchmark for Podium")]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Watchers in the fan-out phase.
    #[arg(long, default_value_t = 3000)]
    n: usize,
    /// Worker processes per node (each holds n / (3 × this) clients; keep it under 20,000).
    #[arg(long, default_value_t = 1)]
    workers_per_node: usize,
    /// Changes in the fan-out phase.
    #[arg(long, default_value_t = 50)]
    updates: usize,
    /// Seconds of durable commands.
    #[arg(long, default_value_t = 5.0)]
    durable_secs: f64,
    /// Participants sending durable commands.
    #[arg(long, default_value_t = 300)]
    durable_clients: usize,
    /// Watchers connected during the failover.
    #[arg(long, default_value_t = 3000)]
    failover_n: usize,
    /// Lease TTL of the nodes, ms.
    #[arg(long, default_value_t = 3000)]
    lease_ms: u64,
    /// Handshakes in flight per worker.
    #[arg(long, default_value_t = 256)]
    parallel: usize,
    /// The podium binary (default: next to this one).
    #[arg(long)]
    podium_bin: Option<PathBuf>,
    /// Also write the JSON report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// One worker process (started by the coordinator).
    Worker {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        fallback: Option<SocketAddr>,
        #[arg(long)]
        meeting: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        join: bool,
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 256)]
        parallel: usize,
        #[arg(long, default_value = "w")]
        tag: String,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    podium_tests::load::stats::raise_nofile();
    match cli.cmd {
        Some(Cmd::Worker {
            addr,
            fallback,
            meeting,
            token,
            join,
            n,
            parallel,
            tag,
        }) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(worker::main(worker::WorkerArgs {
                addr,
                fallback,
                meeting,
                token,
                join,
                n,
                parallel,
                tag,
            }))
        }
        None => {
            let beside = std::env::current_exe()?.with_file_name("podium");
            let podium_bin = match cli.podium_bin {
                Some(b) => b,
                None if beside.exists() => beside,
                None => podium_tests::server::podium_bin()?,
            };
            std::env::set_var("PODIUM_BIN", &podium_bin);
            let cfg = Config {
                n: cli.n,
                workers_per_node: cli.workers_per_node,
                updates: cli.updates,
                durable_secs: cli.durable_secs,
                durable_clients: cli.durable_clients,
                failover_n: cli.failover_n,
                lease_ms: cli.lease_ms,
                parallel: cli.parallel,
                podium_bin,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = rt.block_on(cluster_load::run(cfg))?;
            let json = serde_json::to_string_pretty(&report)?;
            if let Some(out) = &cli.out {
                std::fs::write(out, &json)?;
            }
            print!("{}", cluster_load::table(&report));
            Ok(())
        }
    }
}
