//! `podium-recovery-bench`: how long a restart takes, and how many durable commands per
//! second one meeting accepts.
//!
//! 1. **Recovery.** A child process (this binary, `--build-journal`) opens a data
//!    directory in-process and drives the bundled meeting through its real meeting task
//!    and store until the journal holds `--events` events (participants raising and
//!    lowering hands, the host giving the floor and adjusting clocks), then kills itself
//!    with SIGKILL, leaving the files exactly as a crash leaves them (WAL included). Each
//!    run copies those files to a fresh directory and times `Podium::open` on it: the
//!    store's open and integrity check, the snapshot load and the replay of the journal
//!    after the latest snapshot.
//! 2. **Durable commands/s.** An in-process server on 127.0.0.1 (SQLite, WAL,
//!    `synchronous=FULL`); `--clients` participants connect over websockets and each
//!    raises and lowers a hand as fast as its acks come back. An ack means the change is
//!    on disk. The per-connection rate limit (20 messages/s sustained by default) is
//!    raised for this measurement, since it would otherwise cap the clients, not the
//!    server.
//!
//! Run in release: `cargo run --release -p podium-tests --bin podium-recovery-bench`.
//! `--json` prints one JSON object instead of the table.

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Parser;
use podium_protocol::{Agenda, ClockTarget, Command, Lang};
use podium_server::engine::Actor;
use podium_server::hub::meeting::{Input, MeetingHandle, Reply, SNAPSHOT_EVERY};
use podium_server::store::sqlite::SqliteStore;
use podium_server::ws::ratelimit::RateLimit;
use podium_server::{Config, Limits, Podium};
use podium_tests::client::Client;
use podium_tests::server::token_of;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "podium-recovery-bench",
    about = "Recovery time and durable commands/s"
)]
struct Args {
    /// Events in the journal to recover.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Recovery runs (min and median are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Participants in the journal (they raise and lower hands in turn).
    #[arg(long, default_value_t = 50)]
    participants: usize,
    /// Concurrent websocket clients for the throughput measurement.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Length of the throughput measurement, seconds (after 1 s of warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Where to build the data directories (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Internal: build the journal in this directory, then SIGKILL this process.
    #[arg(long, hide = true)]
    build_journal: Option<PathBuf>,
}

/// The bundled meeting with the hand cooldown off: the journal is built from hands
/// raised and lowered faster than a person may.
fn agenda() -> Result<Agenda> {
    Agenda::from_toml(&podium_tests::server::agenda_without_hand_cooldown())
        .map_err(|e| anyhow!("{e}"))
}

fn config(dir: &Path, limits: Limits) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        public_url: None,
        admin_token: "0123456789abcdef0123456789abcdef".into(),
        limits: Arc::new(limits),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(dir) = &args.build_journal {
        let seq = rt.block_on(build_journal(dir, args.events, args.participants))?;
        use std::io::Write;
        println!("built {seq}");
        std::io::stdout().flush()?;
        // Leave the files as a crash leaves them: no clean close, no checkpoint.
        // SAFETY: kill(2) on our own pid; it does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        unreachable!("SIGKILL");
    }
    rt.block_on(bench(args))
}

// ---------------------------------------------------------------------------------------
// Building the journal: the real meeting task and store, in-process.
// ---------------------------------------------------------------------------------------

/// Sends commands without waiting, at most `window` unanswered, and counts the answers.
struct Driver {
    handle: MeetingHandle,
    tx: mpsc::Sender<(u64, Reply)>,
    window: Arc<Semaphore>,
    accepted: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
    max_seq: Arc<AtomicU64>,
    sent: u64,
}

const WINDOW: usize = 8192;

impl Driver {
    fn new(handle: MeetingHandle) -> Driver {
        let (tx, mut rx) = mpsc::channel::<(u64, Reply)>(WINDOW * 2);
        let window = Arc::new(Semaphore::new(WINDOW));
        let accepted = Arc::new(AtomicU64::new(0));
        let rejected = Arc::new(AtomicU64::new(0));
        let max_seq = Arc::new(AtomicU64::new(0));
        tokio::spawn({
            let (window, accepted, rejected, max_seq) = (
                window.clone(),
                accepted.clone(),
                rejected.clone(),
                max_seq.clone(),
            );
            async move {
                while let Some((_, reply)) = rx.recv().await {
                    match reply {
                        Ok(seq) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            max_seq.fetch_max(seq, Ordering::SeqCst);
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    window.add_permits(1);
                }
            }
        });
        Driver {
            handle,
            tx,
            window,
            accepted,
            rejected,
            max_seq,
            sent: 0,
        }
    }

    async fn send(&mut self, actor: Actor, command: Command) -> Result<()> {
        self.window.acquire().await?.forget();
        let ok = self
            .handle
            .send(Input::Command {
                actor,
                command,
                id: self.sent,
                reply: self.tx.clone(),
                idempotency: None,
            })
            .await;
        ensure!(ok, "the meeting task stopped");
        self.sent += 1;
        Ok(())
    }

    async fn drain(&self) {
        while self.accepted.load(Ordering::SeqCst) + self.rejected.load(Ordering::SeqCst)
            < self.sent
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn build_journal(dir: &Path, events: u64, participants: usize) -> Result<u64> {
    let shutdown = CancellationToken::new();
    let podium = Podium::open(config(dir, Limits::default()), shutdown).await?;
    let agenda = agenda()?;
    let id = agenda.meeting_id();
    podium.ensure_meeting(agenda).await?;
    let handle = podium.hub.meeting(&id).context("the meeting is loaded")?;
    let mut pids = Vec::new();
    let langs = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar];
    for i in 0..participants {
        let (tx, rx) = tokio::sync::oneshot::channel();
        handle
            .send(Input::Join {
                role: podium_protocol::Role::Participant,
                name: format!("Delegate {i}"),
                delegation: format!("Delegation {}", i % 17),
                language: langs[i % 4],
                reply: tx,
            })
            .await;
        let (grant, _) = rx.await?.map_err(|e| anyhow!("join: {e:?}"))?;
        pids.push(grant.participant.context("participant id")?);
    }
    let mut d = Driver::new(handle.clone());
    d.send(Actor::Host, Command::StartMeeting).await?;
    d.send(
        Actor::Host,
        Command::GoToSegment {
            segment: "open-conversation".into(),
        },
    )
    .await?;
    d.drain().await;
    // Rounds: every participant raises (or lowers) a hand, in turn; the host does one
    // thing per round. Every command is valid and adds exactly one event, so the journal
    // length is known in advance. It ends 999 events after a snapshot — the most a
    // recovery ever replays: the worst case.
    let start = d.max_seq.load(Ordering::SeqCst);
    let target = (events / SNAPSHOT_EVERY) * SNAPSHOT_EVERY + SNAPSHOT_EVERY - 1;
    let target = if target < events {
        target + SNAPSHOT_EVERY
    } else {
        target
    };
    let boundary = target + 1 - SNAPSHOT_EVERY;
    let host_cycle = [
        Command::GiveFloor {
            person: "bettina-etter".into(),
        },
        Command::AdjustClock {
            target: ClockTarget::Speech,
            seconds: 15,
        },
        Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: 1,
        },
        Command::MessageSpeaker {
            text: "Il vous reste une minute".into(),
        },
        Command::EndSpeech,
    ];
    let per_round = pids.len() + 1;
    let mut n = 0usize;
    let mut seq = start;
    while seq < target {
        let (round, k) = (n / per_round, n % per_round);
        let (actor, command) = if k < pids.len() {
            let c = if round % 2 == 0 {
                Command::RaiseHand {
                    language: Some(langs[(k + round) % 4]),
                    point_of_order: k % 10 == 0,
                }
            } else {
                Command::LowerHand {
                    point_of_order: k % 10 == 0,
                }
            };
            (Actor::Participant(pids[k]), c)
        } else {
            (Actor::Host, host_cycle[round % host_cycle.len()].clone())
        };
        d.send(actor, command).await?;
        n += 1;
        seq += 1;
        if seq == boundary {
            // Let the batch that reaches the boundary end there: the snapshot is at it.
            d.drain().await;
        }
    }
    d.drain().await;
    let got = d.max_seq.load(Ordering::SeqCst);
    ensure!(got == target, "the journal ends at {got}, not {target}");
    let rejected = d.rejected.load(Ordering::SeqCst);
    ensure!(
        rejected == 0,
        "{rejected} commands were refused while building"
    );
    let engine = handle.inspect().await.context("inspect")?;
    Ok(engine.seq())
}

// ---------------------------------------------------------------------------------------
// Measuring.
// ---------------------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    let mut bytes = 0;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            bytes += std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(bytes)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Recovery {
    events: u64,
    build_secs: f64,
    db_bytes: u64,
    wal_bytes: u64,
    snapshot_seq: u64,
    snapshot_bytes: usize,
    replayed: usize,
    open_ms: Vec<f64>,
    store_open_ms: Vec<f64>,
    /// The report of the whole journal: replaying it keeping every hand, then building.
    report_ms: f64,
}

async fn recovery(args: &Args, base: &Path) -> Result<Recovery> {
    let built = base.join("built");
    std::fs::create_dir_all(&built)?;
    let t = Instant::now();
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--build-journal")
        .arg(&built)
        .args(["--events", &args.events.to_string()])
        .args(["--participants", &args.participants.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("run the journal builder")?;
    let build_secs = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: u64 = stdout
        .trim()
        .strip_prefix("built ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("the journal builder failed ({}): {stdout}", out.status))?;
    {
        use std::os::unix::process::ExitStatusExt;
        ensure!(
            out.status.signal() == Some(libc::SIGKILL),
            "the builder should have died of SIGKILL, not {}",
            out.status
        );
    }
    let db = SqliteStore::path(&built);
    let db_bytes = file_len(&db);
    let wal_bytes = file_len(&PathBuf::from(format!("{}-wal", db.display())));

    let id = agenda()?.meeting_id();
    let mut open_ms = Vec::new();
    let mut store_open_ms = Vec::new();
    let mut info = None;
    let mut report_ms = 0.0;
    for run in 0..args.runs {
        // A fresh copy of the crashed files for every run, so each starts from the crash.
        let dir = base.join(format!("run-{run}"));
        std::fs::create_dir_all(&dir)?;
        copy_dir(&built, &dir)?;
        let t = Instant::now();
        let store = SqliteStore::open(&dir)?;
        store_open_ms.push(ms(t.elapsed()));
        drop(store);
        // The measured restart, on another fresh copy (the store open above may have
        // checkpointed the WAL into the main file).
        let dir = base.join(format!("run-{run}-open"));
        std::fs::create_dir_all(&dir)?;
        copy_dir(&built, &dir)?;
        let shutdown = CancellationToken::new();
        let t = Instant::now();
        let podium = Podium::open(config(&dir, Limits::default()), shutdown.clone()).await?;
        let took = t.elapsed();
        ensure!(podium.hub.meeting(&id).is_some(), "the meeting came back");
        open_ms.push(ms(took));
        if info.is_none() {
            let mid = id.clone();
            let rec = podium.hub.store().run(move |s| s.recover(&mid)).await??;
            let engine = podium.hub.engine(&id).await?;
            ensure!(
                engine.seq() == events,
                "recovered {} of {events}",
                engine.seq()
            );
            let (snap_seq, snap_len) = rec.snapshot.as_ref().map_or((0, 0), |s| {
                (
                    s.seq,
                    s.state.len() + s.agenda.as_ref().map_or(0, String::len),
                )
            });
            info = Some((snap_seq, snap_len, rec.tail.len()));
            let t = Instant::now();
            let whole = podium.hub.report_engine(&id).await?;
            let report =
                podium_server::report::Report::build(&whole, podium_server::clock::now_ms());
            report_ms = ms(t.elapsed());
            ensure!(
                whole.seq() == events,
                "the report replayed {} of {events}",
                whole.seq()
            );
            ensure!(!report.hands.is_empty(), "the report lists the hands");
        }
        shutdown.cancel();
        podium.hub.tracker.close();
        podium.hub.tracker.wait().await;
        drop(podium);
        let _ = std::fs::remove_dir_all(base.join(format!("run-{run}")));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (snapshot_seq, snapshot_bytes, replayed) = info.context("no run")?;
    Ok(Recovery {
        events,
        build_secs,
        db_bytes,
        wal_bytes,
        snapshot_seq,
        snapshot_bytes,
        replayed,
        open_ms,
        store_open_ms,
        report_ms,
    })
}

struct Throughput {
    clients: usize,
    seconds: f64,
    accepted: u64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn throughput(args: &Args, base: &Path) -> Result<Throughput> {
    let dir = base.join("throughput");
    std::fs::create_dir_all(&dir)?;
    let limits = Limits {
        rate: RateLimit {
            burst: 1e9,
            per_sec: 1e9,
            ..RateLimit::default()
        },
        ..Limits::default()
    };
    let shutdown = CancellationToken::new();
    let podium = Podium::open(config(&dir, limits), shutdown.clone()).await?;
    podium.ensure_meeting(agenda()?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let links = podium.links(&podium.base_url(addr)).await?;
    let meeting = links[0].meeting.clone();
    let hub = podium.hub.clone();
    let server = tokio::spawn(podium_server::run(listener, podium));

    let mut host = Client::hello(addr, &meeting, &token_of(&links, "host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    let join = token_of(&links, "participant", None);
    let mut clients = Vec::new();
    for i in 0..args.clients {
        let c = Client::join(
            addr,
            &meeting,
            &join,
            &format!("Delegate {i}"),
            "Bench",
            [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i % 4],
        )
        .await?;
        clients.push(c);
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for mut c in clients {
        let (measuring, stop) = (measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut accepted = 0u64;
            let mut up = false;
            while !stop.load(Ordering::Relaxed) {
                let command = if up {
                    Command::LowerHand {
                        point_of_order: false,
                    }
                } else {
                    Command::RaiseHand {
                        language: None,
                        point_of_order: false,
                    }
                };
                let t = Instant::now();
                match c.command(command).await? {
                    Ok(_) => up = !up,
                    Err((code, msg)) => bail!("refused: {code:?}: {msg}"),
                }
                if measuring.load(Ordering::Relaxed) {
                    lat.push(ms(t.elapsed()));
                    accepted += 1;
                }
            }
            Ok::<_, anyhow::Error>((accepted, lat))
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::SeqCst);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    measuring.store(false, Ordering::SeqCst);
    let seconds = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let mut accepted = 0;
    let mut lat = Vec::new();
    for task in tasks {
        let (n, l) = task.await??;
        accepted += n;
        lat.extend(l);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    drop(host);
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    drop(hub);
    Ok(Throughput {
        clients: args.clients,
        seconds,
        accepted,
        per_sec: accepted as f64 / seconds,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
    })
}

async fn bench(args: Args) -> Result<()> {
    let tmp = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    if !args.json {
        eprintln!(
            "building a journal of {} events (child process, ends with SIGKILL)…",
            args.events
        );
    }
    let r = recovery(&args, tmp.path()).await?;
    if !args.json {
        eprintln!(
            "measuring durable commands/s with {} clients…",
            args.clients
        );
    }
    let t = throughput(&args, tmp.path()).await?;
    let (mut open, mut store_open) = (r.open_ms.clone(), r.store_open_ms.clone());
    let open_min = open.iter().copied().fold(f64::INFINITY, f64::min);
    let open_median = median(&mut open);
    let store_min = store_open.iter().copied().fold(f64::INFINITY, f64::min);
    let store_median = median(&mut store_open);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    if args.json {
        let v = serde_json::json!({
            "cores": cores,
            "release": !cfg!(debug_assertions),
            "recovery": {
                "events": r.events,
                "participants": args.participants,
                "build_seconds": r.build_secs,
                "db_bytes": r.db_bytes,
                "wal_bytes_at_kill": r.wal_bytes,
                "snapshot_every": SNAPSHOT_EVERY,
                "latest_snapshot_seq": r.snapshot_seq,
                "snapshot_bytes": r.snapshot_bytes,
                "replayed_after_snapshot": r.replayed,
                "runs": r.open_ms.len(),
                "open_ms": r.open_ms,
                "open_ms_min": open_min,
                "open_ms_median": open_median,
                "store_open_ms_min": store_min,
                "store_open_ms_median": store_median,
                "report_ms": r.report_ms,
            },
            "durable_commands": {
                "clients": t.clients,
                "seconds": t.seconds,
                "accepted": t.accepted,
                "per_second": t.per_sec,
                "ack_latency_ms_p50": t.p50_ms,
                "ack_latency_ms_p99": t.p99_ms,
                "ack_latency_ms_max": t.max_ms,
                "synchronous": "FULL",
                "journal_mode": "WAL",
            }
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "podium-recovery-bench ({} build, {cores} cores)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!();
    println!("Recovery after kill -9");
    println!(
        "  journal                          {:>10} events ({} participants)",
        r.events, args.participants
    );
    println!("  built in                         {:>10.1} s ({:.0} events/s, pipelined through the meeting task)", r.build_secs, r.events as f64 / r.build_secs);
    println!(
        "  database at the kill             {:>10.1} MB + {:.1} MB WAL",
        mb(r.db_bytes),
        mb(r.wal_bytes)
    );
    println!("  latest snapshot                  {:>10} (every {SNAPSHOT_EVERY} events; {:.1} MB of state)", r.snapshot_seq, mb(r.snapshot_bytes as u64));
    println!("  events replayed after it         {:>10}", r.replayed);
    println!(
        "  Podium::open, {} runs: min       {:>10.1} ms",
        r.open_ms.len(),
        open_min
    );
    println!(
        "                         median    {:>10.1} ms",
        open_median
    );
    println!(
        "  of which store open + quick_check {:>9.1} ms min, {:.1} ms median",
        store_min, store_median
    );
    println!(
        "  the report (whole journal replayed, every hand) {:>6.1} ms",
        r.report_ms
    );
    println!();
    println!("Durable commands (WAL, synchronous=FULL; an ack means on disk)");
    println!(
        "  clients                          {:>10} (raise/lower, next command after the ack)",
        t.clients
    );
    println!(
        "  accepted                         {:>10} in {:.1} s",
        t.accepted, t.seconds
    );
    println!(
        "  throughput                       {:>10.0} commands/s",
        t.per_sec
    );
    println!(
        "  ack latency p50 / p99 / max      {:>10.1} / {:.1} / {:.1} ms",
        t.p50_ms, t.p99_ms, t.max_ms
    );
    Ok(())
}
