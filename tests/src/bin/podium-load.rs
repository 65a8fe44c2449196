//! `podium-load`: opens N websocket clients against a Podium meeting (participants and
//! observers joining through the real protocol) or against the Node.js `ws` relays of
//! `tests/peers/`, runs the named scenarios, and prints a table (or `--json`).
//!
//! ```text
//! podium-load --target podium,ws-relay,ws-relay-send,floor --n 19000 --server-cpu 0
//! ```
//!
//! Each target is started as a child process (pinned with `taskset` to `--server-cpu`).
//! The clients are tasks of this process and, past `--per-process` (10,000), of worker
//! children (`podium-load worker`, started by this one): each process raises its open-file
//! limit to the hard limit (20,000 here), and no process holds more than its share.

use anyhow::{bail, Context, Result};
use clap::Parser;
use podium_tests::load::target::{self, TargetKind};
use podium_tests::load::{self, LoadConfig, Scenario, TargetInfo, TargetReport};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "podium-load",
    about = "Load generator for Podium and its peer baseline"
)]
struct Cli {
    /// Targets, comma-separated, in run order: podium, ws-relay, floor.
    #[arg(long, default_value = "podium")]
    target: String,
    /// Clients.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// State changes in `fanout` (also rounds of `floor`).
    #[arg(long, default_value_t = 50)]
    updates: usize,
    /// Hands in `hand-storm`.
    #[arg(long, default_value_t = 1000)]
    hands: usize,
    /// Seconds of `durable-commands`.
    #[arg(long, default_value_t = 5.0)]
    durable_secs: f64,
    /// Participants sending in `durable-commands`.
    #[arg(long, default_value_t = 500)]
    durable_clients: usize,
    /// Scenarios, comma-separated (default: all).
    #[arg(long)]
    scenarios: Option<String>,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 256)]
    connect_parallel: usize,
    /// Verify the final hand-storm state of every this-many-th client (1 = all).
    #[arg(long)]
    verify_every: Option<usize>,
    /// Pin the target to this CPU (taskset).
    #[arg(long)]
    server_cpu: Option<usize>,
    /// The podium binary (default: next to this one, or $PODIUM_BIN).
    #[arg(long)]
    podium_bin: Option<PathBuf>,
    /// Directory of the Node relay (with node_modules installed).
    #[arg(long, default_value = "tests/peers")]
    peers: PathBuf,
    /// Frame size for the relay and the floor (default: Podium's measured change size, or 604).
    #[arg(long)]
    frame: Option<usize>,
    /// Protocol version the clients speak (1: a Podium from before protocol version 2).
    #[arg(long, default_value_t = podium_protocol::PROTOCOL_VERSION)]
    protocol: u32,
    /// Clients one process holds at most (the host included); more go to worker processes.
    #[arg(long, default_value_t = 10_000)]
    per_process: usize,
    /// An argument for `podium serve` (repeat the flag), e.g. `--serve-arg=--join-rate=100000`.
    #[arg(long = "serve-arg", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also write the JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        let spec = args
            .iter()
            .position(|a| a == "--spec")
            .and_then(|i| args.get(i + 1));
        let result = match spec {
            Some(spec) => load::worker::worker_main(spec),
            None => Err(anyhow::anyhow!("worker: missing --spec")),
        };
        if let Err(e) = result {
            eprintln!("podium-load worker: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if args.get(1).map(String::as_str) == Some("floor-writer") {
        if let Err(e) = floor_writer(&args[2..]) {
            eprintln!("floor-writer: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("podium-load: {e:#}");
            std::process::exit(1);
        }
    }
}

fn floor_writer(args: &[String]) -> Result<()> {
    let get = |name: &str| -> Result<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .with_context(|| format!("missing {name}"))
    };
    target::floor_writer_main(
        &get("--bind")?,
        get("--n")?.parse()?,
        get("--frame")?.parse()?,
    )
}

async fn run(cli: Cli) -> Result<()> {
    let limit = load::stats::raise_nofile();
    if (cli.per_process.min(cli.n + 1) as u64) + 64 > limit {
        bail!(
            "{} clients per process need more open files than a process may have ({limit}): \
             lower --per-process",
            cli.per_process
        );
    }
    let mut cfg = LoadConfig::new(cli.n);
    cfg.updates = cli.updates;
    cfg.hands = cli.hands.min(cli.n);
    cfg.durable_secs = cli.durable_secs;
    cfg.durable_clients = cli.durable_clients.min(cli.n);
    cfg.connect_parallel = cli.connect_parallel;
    cfg.timeout = Duration::from_secs(300);
    cfg.protocol = cli.protocol;
    cfg.per_process = cli.per_process;
    cfg.exe = Some(std::env::current_exe()?);
    if let Some(v) = cli.verify_every {
        cfg.verify_every = v;
    }
    if let Some(s) = &cli.scenarios {
        cfg.scenarios = s
            .split(',')
            .map(|x| Scenario::parse(x.trim()))
            .collect::<Result<_>>()?;
    }
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut frame = cli.frame;
    for name in cli.target.split(',') {
        let kind = TargetKind::parse(name.trim())?;
        eprintln!("podium-load: {} with {} clients", kind.name(), cli.n);
        let report = match kind {
            TargetKind::Podium => {
                let bin = match &cli.podium_bin {
                    Some(b) => b.clone(),
                    None => target::podium_bin()?,
                };
                let t =
                    target::start_podium(&bin, cli.server_cpu, &cli.serve_args, cli.protocol < 2)?;
                let info = TargetInfo {
                    kind,
                    addr: t.addr,
                    pid: t.pid,
                    links: t.links.clone(),
                };
                let r = load::run(&cfg, &info).await?;
                drop(t);
                if frame.is_none() {
                    frame = r
                        .fanout
                        .as_ref()
                        .map(|f| f.message_bytes)
                        .filter(|b| *b > 0);
                }
                r
            }
            TargetKind::WsRelay | TargetKind::WsRelaySend => {
                let t =
                    target::start_relay(kind, &cli.peers, frame.unwrap_or(604), cli.server_cpu)?;
                let info = TargetInfo {
                    kind,
                    addr: t.addr,
                    pid: t.pid,
                    links: None,
                };
                let r = load::run(&cfg, &info).await?;
                drop(t);
                r
            }
            TargetKind::Floor => {
                let exe = std::env::current_exe()?;
                let frame = frame.unwrap_or(604);
                let mut w = target::FloorWriter::start(&exe, cli.n, frame, cli.server_cpu)?;
                load::run_floor(&mut w, cli.n, cli.updates, frame).await?
            }
        };
        reports.push(report);
    }
    let doc = serde_json::json!({
        "config": cfg,
        "machine": machine(),
        "reports": reports,
    });
    if let Some(out) = &cli.out {
        std::fs::write(out, serde_json::to_string_pretty(&doc)?)?;
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", table(&reports));
    }
    Ok(())
}

fn machine() -> serde_json::Value {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    serde_json::json!({"cores_visible": cores, "mem_kib": mem_kib, "cpu": cpu})
}

/// One figure for each target, with the Podium/peer ratio.
fn table(reports: &[TargetReport]) -> String {
    type Get = fn(&TargetReport) -> Option<f64>;
    let rows: Vec<(&str, Get)> = vec![
        ("setup: connect+join all (s)", |r| {
            (r.floor.is_none()).then_some(r.setup_s)
        }),
        ("join flood: host bytes per change", |r| {
            r.setup_bytes.as_ref().map(|b| b.host_per_change)
        }),
        ("join flood: host largest message (bytes)", |r| {
            r.setup_bytes.as_ref().map(|b| b.host_largest as f64)
        }),
        ("join flood: host bytes in all (MB)", |r| {
            r.setup_bytes.as_ref().map(|b| b.host_bytes as f64 / 1e6)
        }),
        ("fanout latency p50 (ms)", |r| {
            r.fanout.as_ref().map(|f| f.latency_ms.p50)
        }),
        ("fanout latency p99 (ms)", |r| {
            r.fanout.as_ref().map(|f| f.latency_ms.p99)
        }),
        ("fanout latency max (ms)", |r| {
            r.fanout.as_ref().map(|f| f.latency_ms.max)
        }),
        ("fanout last client p50 (ms)", |r| {
            r.fanout.as_ref().map(|f| f.last_client_ms.p50)
        }),
        ("fanout last client max (ms)", |r| {
            r.fanout.as_ref().map(|f| f.last_client_ms.max)
        }),
        ("fanout message (bytes)", |r| {
            r.fanout.as_ref().map(|f| f.message_bytes as f64)
        }),
        ("server CPU per delivery (us)", |r| {
            r.fanout
                .as_ref()
                .map(|f| f.server_cpu_us_per_delivery)
                .or(r.floor.as_ref().map(|f| f.cpu_us_per_delivery))
        }),
        ("server fan-out p50, /metrics (ms)", |r| {
            r.fanout
                .as_ref()
                .and_then(|f| f.server_fanout_ms.as_ref())
                .map(|s| s.p50)
        }),
        ("server fan-out p99, /metrics (ms)", |r| {
            r.fanout
                .as_ref()
                .and_then(|f| f.server_fanout_ms.as_ref())
                .map(|s| s.p99)
        }),
        ("loadgen CPU per msg, fanout (us)", |r| {
            r.fanout.as_ref().map(|f| f.loadgen_cpu_us_per_msg)
        }),
        ("idle RSS, 0 clients (MiB)", |r| {
            r.idle_memory.as_ref().map(|m| m.rss_0_kib as f64 / 1024.0)
        }),
        ("idle RSS, N clients (MiB)", |r| {
            r.idle_memory.as_ref().map(|m| m.rss_n_kib as f64 / 1024.0)
        }),
        ("RSS per connection (bytes)", |r| {
            r.idle_memory.as_ref().map(|m| m.rss_per_conn_bytes)
        }),
        ("kernel TCP mem per conn (bytes)", |r| {
            r.idle_memory.as_ref().map(|m| m.tcp_mem_per_conn_bytes)
        }),
        ("hand storm: hands", |r| {
            r.hand_storm.as_ref().map(|h| h.hands as f64)
        }),
        ("hand storm: all have final (ms)", |r| {
            r.hand_storm.as_ref().map(|h| h.all_have_final_ms)
        }),
        ("hand storm: per client p50 (ms)", |r| {
            r.hand_storm.as_ref().map(|h| h.per_client_ms.p50)
        }),
        ("hand storm: final msg (bytes)", |r| {
            r.hand_storm.as_ref().map(|h| h.final_message_bytes as f64)
        }),
        ("hand storm: server CPU (s)", |r| {
            r.hand_storm.as_ref().map(|h| h.server_cpu_s)
        }),
        ("hand storm: host bytes per change", |r| {
            r.hand_storm.as_ref().map(|h| h.bytes.host_per_change)
        }),
        ("hand storm: participant bytes per change", |r| {
            r.hand_storm
                .as_ref()
                .map(|h| h.bytes.participant_per_change)
        }),
        ("reconnect: all back (ms)", |r| {
            r.reconnect_storm.as_ref().map(|x| x.all_back_ms)
        }),
        ("reconnect: per client p50 (ms)", |r| {
            r.reconnect_storm.as_ref().map(|x| x.per_client_ms.p50)
        }),
        ("reconnect: server CPU (s)", |r| {
            r.reconnect_storm.as_ref().map(|x| x.server_cpu_s)
        }),
        ("durable commands/s", |r| {
            r.durable_commands.as_ref().map(|d| d.per_sec)
        }),
        ("durable: server CPU (s)", |r| {
            r.durable_commands.as_ref().map(|d| d.server_cpu_s)
        }),
        ("loadgen CPU per msg, run (us)", |r| {
            (r.floor.is_none()).then_some(r.loadgen_cpu_us_per_msg)
        }),
    ];
    let podium = reports.iter().find(|r| r.target == "podium");
    let peer = reports.iter().find(|r| r.target == "ws-relay");
    let mut out = String::new();
    let mut header = format!("{:<36}", "figure");
    for r in reports {
        header += &format!("{:>22}", format!("{} n={}", r.target, r.n));
    }
    if podium.is_some() && peer.is_some() {
        header += &format!("{:>14}", "podium/peer");
    }
    out += &header;
    out.push('\n');
    out += &"-".repeat(header.len());
    out.push('\n');
    for (name, get) in rows {
        if reports.iter().all(|r| get(r).is_none()) {
            continue;
        }
        let mut line = format!("{name:<36}");
        for r in reports {
            line += &match get(r) {
                Some(v) => format!("{:>22}", fmt(v)),
                None => format!("{:>22}", "n/a"),
            };
        }
        if let (Some(a), Some(b)) = (podium.and_then(get), peer.and_then(get)) {
            if b != 0.0 {
                line += &format!("{:>14}", format!("{:.2}x", a / b));
            }
        }
        out += &line;
        out.push('\n');
    }
    for r in reports {
        for e in &r.errors {
            out += &format!("{}: note: {e}\n", r.target);
        }
    }
    out
}

fn fmt(v: f64) -> String {
    if v.is_infinite() {
        "inf".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
