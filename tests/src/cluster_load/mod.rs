//! The cluster benchmark (`podium-cluster-load`, run by `scripts/bench-cluster`): a real
//! `redis-server`, three `podium serve --cluster` processes and worker processes holding
//! the clients (one process may hold 20,000 open files here), driven from here.
//!
//! Phases, on one population of nodes:
//! 1. **fanout**: N watchers (the projector link: `hello`, public view) spread evenly over
//!    the nodes; the host sends `updates` clock changes one after another, each once every
//!    client has the previous one. Latency is from the host's send to each client's
//!    arrival (same machine, same wall clock); server CPU per delivered update is each
//!    node's CPU time over (updates × its clients). Every client must get every change.
//! 2. **durable-commands**: participants on every node raise and lower their hands with
//!    idempotency keys as fast as their answers come, for `durable_secs`, while the
//!    watchers stay connected: acknowledged (durable) commands per second.
//! 3. **failover**: the watchers leave, `failover_n` others connect over the three nodes,
//!    and the meeting's owner is killed with SIGKILL. Times from the kill: the new owner's
//!    first acknowledged command (the host sits on a surviving node, and sends it again
//!    with its key until acknowledged), every client of the survivors showing it, and
//!    every client of the dead node back (through a surviving node) and showing it.

pub mod worker;

use crate::client::Client;
use crate::cluster::{links, ProcNode, RedisServer, MEETING};
use crate::load::stats::cpu_seconds;
use crate::server::token_of;
use anyhow::{bail, Context, Result};
use podium_protocol::{ClockTarget, Command, ErrorCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use worker::{wall_ms, Answer, Order};

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Watchers in `fanout` (and `durable-commands`).
    pub n: usize,
    /// Worker processes per node in `fanout`.
    pub workers_per_node: usize,
    /// Changes in `fanout`.
    pub updates: usize,
    /// Seconds of `durable-commands`.
    pub durable_secs: f64,
    /// Participants in `durable-commands`.
    pub durable_clients: usize,
    /// Watchers in `failover`.
    pub failover_n: usize,
    /// Lease TTL of the nodes, ms.
    pub lease_ms: u64,
    /// Handshakes in flight per worker.
    pub parallel: usize,
    /// The podium binary.
    #[serde(skip)]
    pub podium_bin: PathBuf,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    out: Lines<BufReader<ChildStdout>>,
    node: usize,
    n: usize,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    async fn spawn(
        addr: &str,
        fallback: Option<&str>,
        token: &str,
        join: bool,
        n: usize,
        node: usize,
        tag: &str,
        parallel: usize,
    ) -> Result<Worker> {
        let exe = std::env::current_exe()?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.args([
            "worker",
            "--addr",
            addr,
            "--meeting",
            MEETING,
            "--token",
            token,
        ])
        .args([
            "--n",
            &n.to_string(),
            "--tag",
            tag,
            "--parallel",
            &parallel.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
        if join {
            cmd.arg("--join");
        }
        if let Some(f) = fallback {
            cmd.args(["--fallback", f]);
        }
        let mut child = cmd.spawn().context("start a worker")?;
        let stdin = child.stdin.take().context("stdin")?;
        let out = BufReader::new(child.stdout.take().context("stdout")?).lines();
        Ok(Worker {
            child,
            stdin,
            out,
            node,
            n,
        })
    }

    async fn answer(&mut self) -> Result<Answer> {
        let line = tokio::time::timeout(Duration::from_secs(600), self.out.next_line())
            .await
            .context("a worker did not answer within 10 minutes")??
            .context("a worker ended")?;
        Ok(serde_json::from_str(&line)?)
    }

    async fn send(&mut self, o: &Order) -> Result<()> {
        let mut line = serde_json::to_string(o)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        Ok(())
    }

    async fn quit(mut self) {
        let _ = self.send(&Order::Quit).await;
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }
}

/// Sends an order to every worker and collects their answers, in order.
async fn all(ws: &mut [Worker], o: &Order) -> Result<Vec<Answer>> {
    for w in ws.iter_mut() {
        w.send(o).await?;
    }
    let mut out = Vec::new();
    for w in ws.iter_mut() {
        out.push(w.answer().await?);
    }
    Ok(out)
}

/// Percentile of a 0.1 ms histogram.
fn hist_q(h: &BTreeMap<u64, u64>, q: f64) -> f64 {
    let total: u64 = h.values().sum();
    let want = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (b, c) in h {
        seen += c;
        if seen >= want {
            return *b as f64 / 10.0;
        }
    }
    0.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Figures of one node in `fanout`.
#[derive(Debug, Serialize)]
pub struct NodeFigures {
    /// Node name.
    pub node: String,
    /// Owner of the meeting?
    pub owner: bool,
    /// Clients connected to it.
    pub clients: usize,
    /// Its CPU time during `fanout`, s.
    pub cpu_s: f64,
    /// CPU per delivered update, µs.
    pub cpu_per_delivery_us: f64,
}

/// Everything measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What ran.
    pub config: Config,
    /// `/proc/loadavg` before and after.
    pub load: (String, String),
    /// Setup: all watchers connected, s.
    pub setup_s: f64,
    /// Latency p50 / p99 / max, ms.
    pub latency_ms: (f64, f64, f64),
    /// Time until the last client had it, p50 over updates, ms.
    pub last_client_p50_ms: f64,
    /// Clients × updates that were missed (must be 0).
    pub missed: usize,
    /// Per node.
    pub nodes: Vec<NodeFigures>,
    /// Redis CPU during `fanout`, s.
    pub redis_cpu_s: f64,
    /// Durable commands per second through the cluster (and refused ones).
    pub durable_per_s: f64,
    /// Commands refused in `durable-commands` (by the rules, not the transport).
    pub durable_refused: u64,
    /// Failover: new owner's first acknowledged command, ms after the kill.
    pub failover_ack_ms: f64,
    /// Failover: every survivor's client shows it, ms after the kill.
    pub failover_survivors_ms: f64,
    /// Failover: every client of the dead node is back and shows it, ms after the kill.
    pub failover_reconnected_ms: f64,
    /// Clients of the dead node that came back.
    pub failover_reconnected: usize,
}

/// Runs every phase.
pub async fn run(cfg: Config) -> Result<Report> {
    let load0 = load_average();
    let redis = RedisServer::start()?;
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(ProcNode::start(
            &redis.url(),
            &format!("bench-n{i}"),
            cfg.lease_ms,
            &["--no-rebalance"],
            None,
        )?);
    }
    let (owner, _) = redis.wait_owner(MEETING, None, Duration::from_secs(30))?;
    let o = nodes.iter().position(|n| n.id == owner).context("owner")?;
    let links = links(&redis.url()).await?;
    let (host_t, join_t, watch_t) = (
        token_of(&links, "host", None),
        token_of(&links, "participant", None),
        token_of(&links, "projector", None),
    );
    let mut host = Client::hello(nodes[(o + 1) % 3].addr, MEETING, &host_t).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;

    // 1. fanout.
    eprintln!("cluster bench: {} watchers over 3 nodes", cfg.n);
    let per = cfg.n / (3 * cfg.workers_per_node);
    let mut watchers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for w in 0..cfg.workers_per_node {
            let tag = format!("w{i}{w}");
            watchers.push(
                Worker::spawn(
                    &node.addr.to_string(),
                    None,
                    &watch_t,
                    false,
                    per,
                    i,
                    &tag,
                    cfg.parallel,
                )
                .await?,
            );
        }
    }
    let t = Instant::now();
    let mut setup = 0f64;
    for w in watchers.iter_mut() {
        setup = setup.max(w.answer().await?.setup_s.unwrap_or(0.0));
    }
    eprintln!(
        "cluster bench: all connected in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    all(&mut watchers, &Order::Reset).await?;
    let cpu0: Vec<f64> = nodes.iter().map(|n| cpu_seconds(n.pid() as u32)).collect();
    let rpid = redis.pid();
    let rcpu0 = rpid.map(cpu_seconds).unwrap_or(0.0);
    let mut updates = Vec::new();
    for k in 0..cfg.updates {
        let seconds = if k % 2 == 0 { 30 } else { -30 };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sent = wall_ms();
        let seq = match host
            .command(Command::AdjustClock {
                target: ClockTarget::Segment,
                seconds,
            })
            .await?
        {
            Ok(s) => s,
            Err(e) => bail!("adjust_clock refused: {e:?}"),
        };
        all(&mut watchers, &Order::Wait(seq)).await?;
        updates.push((seq, sent));
    }
    let cpu1: Vec<f64> = nodes.iter().map(|n| cpu_seconds(n.pid() as u32)).collect();
    let redis_cpu_s = rpid.map(cpu_seconds).unwrap_or(0.0) - rcpu0;
    let reports = all(&mut watchers, &Order::Report(updates.clone())).await?;
    let mut hist = BTreeMap::new();
    let mut last = vec![0f64; updates.len()];
    let mut missed = 0;
    for r in &reports {
        for (b, c) in r.hist.as_ref().context("hist")? {
            *hist.entry(*b).or_insert(0) += c;
        }
        for (k, v) in r
            .last_per_update
            .as_ref()
            .context("last")?
            .iter()
            .enumerate()
        {
            last[k] = last[k].max(*v);
        }
        missed += r.missed.unwrap_or(0);
    }
    last.sort_by(|a, b| a.total_cmp(b));
    let per_node: Vec<usize> = (0..3)
        .map(|i| watchers.iter().filter(|w| w.node == i).map(|w| w.n).sum())
        .collect();
    let node_figs: Vec<NodeFigures> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let cpu = cpu1[i] - cpu0[i];
            NodeFigures {
                node: n.id.clone(),
                owner: i == o,
                clients: per_node[i],
                cpu_s: cpu,
                cpu_per_delivery_us: cpu * 1e6 / (cfg.updates * per_node[i]).max(1) as f64,
            }
        })
        .collect();
    eprintln!("cluster bench: fanout done; {missed} missed");

    // 2. durable-commands.
    let mut parts = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let tag = format!("p{i}");
        parts.push(
            Worker::spawn(
                &node.addr.to_string(),
                None,
                &join_t,
                true,
                cfg.durable_clients / 3,
                i,
                &tag,
                64,
            )
            .await?,
        );
    }
    for p in parts.iter_mut() {
        p.answer().await?;
    }
    let answers = all(&mut parts, &Order::Toggle(cfg.durable_secs)).await?;
    let acked: u64 = answers.iter().map(|a| a.acked.unwrap_or(0)).sum();
    let durable_refused: u64 = answers.iter().map(|a| a.refused.unwrap_or(0)).sum();
    let durable_per_s = acked as f64 / cfg.durable_secs;
    eprintln!("cluster bench: {durable_per_s:.0} durable commands/s");
    for p in parts {
        p.quit().await;
    }
    for w in watchers {
        w.quit().await;
    }

    // 3. failover: the owner as it is now (a loaded machine may have moved the meeting).
    let (owner, _) = redis
        .owner(MEETING)?
        .context("an owner before the failover")?;
    let o = nodes.iter().position(|n| n.id == owner).context("owner")?;
    let survivor = (o + 1) % 3;
    let mut host = Client::hello(nodes[survivor].addr, MEETING, &host_t).await?;
    let fallback = nodes[survivor].addr.to_string();
    let mut fo = Vec::new();
    let each = cfg.failover_n / 3;
    for (i, node) in nodes.iter().enumerate() {
        let fb = (i == o).then_some(fallback.as_str());
        fo.push(
            Worker::spawn(
                &node.addr.to_string(),
                fb,
                &watch_t,
                false,
                each,
                i,
                &format!("f{i}"),
                cfg.parallel,
            )
            .await?,
        );
    }
    for w in fo.iter_mut() {
        w.answer().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = wall_ms();
    nodes[o].kill9()?;
    let mut tries = 0;
    let seq = loop {
        tries += 1;
        match host
            .command_keyed(
                Command::AdjustClock {
                    target: ClockTarget::Segment,
                    seconds: 1,
                },
                "after-failover",
            )
            .await?
        {
            Ok(seq) => break seq,
            Err((ErrorCode::Unavailable | ErrorCode::Internal, _)) if tries < 300 => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => bail!("after the failover: {e:?}"),
        }
    };
    let failover_ack_ms = wall_ms() - killed;
    let answers = all(&mut fo, &Order::Wait(seq)).await?;
    let mut survivors_at = 0f64;
    let mut reconnected_at = 0f64;
    let mut failover_reconnected = 0;
    for (w, a) in fo.iter().zip(&answers) {
        let at = a.reached_at.unwrap_or(0.0) - killed;
        if w.node == o {
            reconnected_at = reconnected_at.max(at);
            failover_reconnected += a.reconnected.unwrap_or(0);
        } else {
            survivors_at = survivors_at.max(at);
        }
    }
    eprintln!("cluster bench: failover ack {failover_ack_ms:.0} ms, survivors {survivors_at:.0} ms, reconnected {reconnected_at:.0} ms");
    for w in fo {
        w.quit().await;
    }
    drop(nodes);
    Ok(Report {
        config: cfg,
        load: (load0, load_average()),
        setup_s: setup,
        latency_ms: (hist_q(&hist, 0.5), hist_q(&hist, 0.99), hist_q(&hist, 1.0)),
        last_client_p50_ms: last.get(last.len() / 2).copied().unwrap_or(0.0),
        missed,
        nodes: node_figs,
        redis_cpu_s,
        durable_per_s,
        durable_refused,
        failover_ack_ms,
        failover_survivors_ms: survivors_at,
        failover_reconnected_ms: reconnected_at,
        failover_reconnected,
    })
}

/// The report as a table.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    use std::fmt::Write;
    let _ = writeln!(
        s,
        "cluster: 3 nodes, {} watchers, {} updates (load before: {}; after: {})",
        r.config.n, r.config.updates, r.load.0, r.load.1
    );
    let _ = writeln!(s, "setup (all connected)            {:>10.1} s", r.setup_s);
    let _ = writeln!(
        s,
        "fanout latency p50 / p99 / max   {:>8.1} / {:.1} / {:.1} ms",
        r.latency_ms.0, r.latency_ms.1, r.latency_ms.2
    );
    let _ = writeln!(
        s,
        "last client has it, p50          {:>10.1} ms",
        r.last_client_p50_ms
    );
    let _ = writeln!(s, "missed (client x update)         {:>10}", r.missed);
    for n in &r.nodes {
        let _ = writeln!(
            s,
            "node {:<10} {:>6} clients {}  cpu {:>6.2} s  {:>6.2} us/delivered update",
            n.node,
            n.clients,
            if n.owner { "(owner)" } else { "       " },
            n.cpu_s,
            n.cpu_per_delivery_us
        );
    }
    let _ = writeln!(
        s,
        "redis cpu during fanout          {:>10.2} s",
        r.redis_cpu_s
    );
    let _ = writeln!(
        s,
        "durable commands/s               {:>10.0} ({} refused by the rules)",
        r.durable_per_s, r.durable_refused
    );
    let _ = writeln!(
        s,
        "failover ({} clients): ack {:.0} ms, survivors {:.0} ms, {} reconnected in {:.0} ms",
        r.config.failover_n,
        r.failover_ack_ms,
        r.failover_survivors_ms,
        r.failover_reconnected,
        r.failover_reconnected_ms
    );
    s
}
