//! `podium-soak`: a long meeting under honest load and abuse at once, against the real
//! `podium` binary (see `podium_tests::soak`). Prints a summary and the verdicts, writes
//! the full report as JSON if asked, and exits non-zero if a target was missed.
//!
//! ```sh
//! cargo build --release -p podium-server -p podium-tests
//! target/release/podium-soak --minutes 30 --json soak.json
//! ```

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use podium_tests::soak::{run, SoakConfig};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "podium-soak",
    about = "Soak a real podium server: honest load and abuse for a long time"
)]
struct Args {
    /// Minutes of traffic.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Minutes of warm-up (RSS growth is measured from their end).
    #[arg(long, default_value_t = 5.0)]
    warmup_minutes: f64,
    /// Honest clients, the host included.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Of those, how many join during the run.
    #[arg(long, default_value_t = 100)]
    late_joins: usize,
    /// Misbehaving clients.
    #[arg(long, default_value_t = 50)]
    bad: usize,
    /// Frames per second each misbehaving client sends.
    #[arg(long, default_value_t = 100.0)]
    bad_rate: f64,
    /// Honest reconnects per minute.
    #[arg(long, default_value_t = 200.0)]
    reconnects_per_minute: f64,
    /// Honest hand commands per second.
    #[arg(long, default_value_t = 10.0)]
    hands_per_second: f64,
    /// Seconds between RSS samples.
    #[arg(long, default_value_t = 10.0)]
    sample_seconds: f64,
    /// The podium binary (default: next to this one, or $PODIUM_BIN).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Write the full report (samples included) here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn podium_bin(arg: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(b) = arg.or_else(|| std::env::var_os("PODIUM_BIN").map(PathBuf::from)) {
        return Ok(b);
    }
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .map(|d| d.join("podium"))
        .ok_or_else(|| anyhow!("no directory for {}", exe.display()))?;
    if bin.exists() {
        Ok(bin)
    } else {
        Err(anyhow!(
            "{} is missing: build it (cargo build --release -p podium-server) or pass --bin",
            bin.display()
        ))
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cfg = SoakConfig {
        bin: podium_bin(args.bin)?,
        duration: Duration::from_secs_f64(args.minutes * 60.0),
        warmup: Duration::from_secs_f64(args.warmup_minutes * 60.0),
        clients: args.clients,
        late_joins: args.late_joins,
        bad: args.bad,
        bad_rate: args.bad_rate,
        reconnects_per_min: args.reconnects_per_minute,
        hands_per_sec: args.hands_per_second,
        sample_every: Duration::from_secs_f64(args.sample_seconds),
    };
    raise_nofile();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let report = runtime.block_on(run(cfg))?;
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load_before.trim());
    println!("load average after:  {}", load_after.trim());
    println!(
        "{:.0} s, {} honest clients ({} joins, {} reconnects), {} misbehaving ({} frames, {} connections closed or refused)",
        report.seconds,
        report.clients,
        report.joins,
        report.reconnects,
        report.bad_clients,
        report.bad_frames,
        report.bad_closed
    );
    println!(
        "honest commands: {} acked, {} refused by the rules, {} rate limited; ack p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        report.acked,
        report.refused,
        report.honest_rate_limited,
        report.ack_p50_ms,
        report.ack_p99_ms,
        report.ack_max_ms
    );
    println!(
        "server RSS: {} KiB after warm-up, {} KiB max after, {} KiB at the end ({:+.1} %); CPU {:.0} s",
        report.rss_warm_kib,
        report.rss_max_after_warmup_kib,
        report.rss_end_kib,
        report.rss_growth_pct,
        report.server_cpu_s
    );
    if report.heap_warm_kib >= 0 {
        println!(
            "server heap in use: {} KiB after warm-up, {} KiB at the last sample",
            report.heap_warm_kib, report.heap_end_kib
        );
    }
    println!(
        "meeting at the end: {} participants registered, {} hand history entries, staff state {} bytes",
        report.participants_end, report.hand_history_end, report.staff_state_bytes_end
    );
    println!(
        "after kill -9: recovered seq {} (acks named up to {}), {} lost",
        report.recovered_seq, report.max_acked_seq, report.lost
    );
    for p in &report.problems {
        println!("problem: {p}");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    let mut ok = true;
    for (what, pass) in report.verdicts() {
        println!("{} {what}", if pass { "PASS" } else { "FAIL" });
        ok &= pass;
    }
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Raises the soft open-file limit to the hard one: every client is a socket.
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
