//! A 20-second soak against the real binary (the 30-minute one is `podium-soak`, figures
//! in BENCHMARKS.md): honest clients joining, raising hands and reconnecting while
//! misbehaving clients flood. Checks correctness only — nothing acknowledged lost after a
//! kill -9, no honest client dropped or rate limited, every kind of abuse closed — and
//! leaves speed and memory targets to the benchmark.

use podium_tests::server::podium_bin;
use podium_tests::soak::{run, SoakConfig};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seconds_of_honest_load_and_abuse_lose_nothing() -> anyhow::Result<()> {
    let report = run(SoakConfig {
        bin: podium_bin()?,
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(5),
        clients: 60,
        late_joins: 10,
        bad: 12,
        bad_rate: 50.0,
        reconnects_per_min: 200.0,
        hands_per_sec: 5.0,
        sample_every: Duration::from_secs(2),
    })
    .await?;
    assert_eq!(report.lost, 0, "{:?}", report.problems);
    assert_eq!(report.honest_drops, 0, "{:?}", report.problems);
    assert_eq!(report.honest_rate_limited, 0);
    assert!(report.acked > 20, "{} acked", report.acked);
    assert!(report.reconnects >= 50, "{} reconnects", report.reconnects);
    assert_eq!(report.joins, 59);
    assert!(
        report.bad_closed >= 12,
        "{} abusive connections closed",
        report.bad_closed
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    Ok(())
}
