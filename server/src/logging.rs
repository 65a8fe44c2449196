//! Logging that can never take a meeting down and never writes a token.
//!
//! `tracing-subscriber`'s own stderr writer blocks when stderr is a pipe nobody reads, and
//! when a write fails its fmt layer falls back to `eprintln!`, which panics: one log line
//! on a full disk or a closed pipe killed the meeting task that wrote it. Here a log line
//! is handed to one writer thread through a bounded queue and the caller moves on at once.
//! A line the queue cannot take (stderr stuck) or the thread cannot write (stderr full or
//! closed) is dropped and counted in `podium_log_lines_dropped_total`.
//!
//! Tokens: the websocket library logs every frame it reads at `trace` level, `hello` and
//! `join` tokens included. Those library targets are capped at `info` whatever `RUST_LOG`
//! says, and as a second line of defence every line is scrubbed of runs of 32 or more hex
//! digits (a token is 32; a frame payload logged as hex is longer) before it is written.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines dropped because stderr could not take them, process-wide (shown in `/metrics`).
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Log lines that may wait for the writer thread; more are dropped, never waited for.
const QUEUE: usize = 4096;

/// Libraries whose detailed logs carry frame payloads (tokens) or request bytes: capped at
/// `info` whatever `RUST_LOG` asks for.
const CAPPED: [&str; 6] = [
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "axum",
];

/// What replaces a run of hex digits long enough to be a token.
const REDACTED: &[u8] = b"[redacted]";

/// Lines dropped so far because stderr could not take them.
pub fn dropped_total() -> u64 {
    DROPPED.load(Relaxed)
}

enum Msg {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been written (or dropped).
    Flush(SyncSender<()>),
}

/// The `MakeWriter` of the fmt layer: each event's bytes go to the writer thread's queue.
#[derive(Clone)]
pub struct Sink {
    /// The writer thread's queue.
    tx: SyncSender<Msg>,
}

/// One event being written (the fmt layer writes a whole event with one `write_all`).
pub struct LineWriter<'a> {
    /// Where the line goes.
    sink: &'a Sink,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.sink.tx.try_send(Msg::Line(redact(buf))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                DROPPED.fetch_add(1, Relaxed);
            }
        }
        // Never an error: the fmt layer's fallback for a failed write is `eprintln!`.
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = LineWriter<'a>;
    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter { sink: self }
    }
}

impl Sink {
    /// A sink whose writer thread writes to `out` (stderr in the server).
    pub fn spawn(out: impl Write + Send + 'static) -> Sink {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("podium-log".into())
            .spawn(move || write_lines(rx, out))
            .expect("start the log writer thread");
        Sink { tx }
    }

    /// Waits (at most `limit`) until every line logged so far has been written or dropped.
    pub fn flush(&self, limit: Duration) {
        let (done_tx, done_rx) = sync_channel(1);
        if self.tx.try_send(Msg::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(limit);
        }
    }
}

fn write_lines(rx: Receiver<Msg>, mut out: impl Write) {
    for msg in rx {
        match msg {
            Msg::Line(line) => {
                if out.write_all(&line).is_err() {
                    DROPPED.fetch_add(1, Relaxed);
                }
            }
            Msg::Flush(done) => {
                let _ = out.flush();
                let _ = done.try_send(());
            }
        }
    }
}

/// Replaces every run of 32 or more ASCII hex digits with `[redacted]`.
pub fn redact(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii_hexdigit() {
            let start = i;
            while i < line.len() && line[i].is_ascii_hexdigit() {
                i += 1;
            }
            if i - start >= 32 {
                out.extend_from_slice(REDACTED);
            } else {
                out.extend_from_slice(&line[start..i]);
            }
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

/// The per-layer cap on the libraries that log frames and request bytes.
pub fn library_caps() -> Targets {
    CAPPED
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, c| {
            t.with_target(*c, LevelFilter::INFO)
        })
}

/// Installs the process's logger: `RUST_LOG` (or `default`) filtered, the capped libraries
/// held at `info`, lines scrubbed and written to stderr by one thread. Returns the sink so
/// `main` can flush it before exiting.
pub fn init(default: &str) -> Sink {
    let sink = Sink::spawn(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(sink.clone())
        .with_ansi(std::io::stderr().is_terminal())
        .log_internal_errors(false)
        .with_filter(library_caps());
    // `try_init` also routes the `log` crate (tungstenite logs through it) into tracing.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    sink
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_hex_payloads_are_redacted_short_hex_is_kept() {
        let token = "0123456789abcdef0123456789ABCDEF";
        let line = format!("hello {{\"token\":\"{token}\"}} seq=12 id=deadbeef\n");
        assert_eq!(
            String::from_utf8(redact(line.as_bytes())).unwrap(),
            "hello {\"token\":\"[redacted]\"} seq=12 id=deadbeef\n"
        );
        let payload = format!("payload: 0x{}", hex::encode(token));
        assert_eq!(redact(payload.as_bytes()), b"payload: 0x[redacted]");
        // 31 hex digits are not a token.
        let short = "a".repeat(31);
        assert_eq!(redact(short.as_bytes()), short.as_bytes());
    }

    /// A writer that always fails, like stderr on /dev/full or a closed pipe.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
    }

    #[test]
    fn a_failing_stderr_drops_and_counts_and_never_errors() {
        let sink = Sink::spawn(Broken);
        let before = dropped_total();
        for _ in 0..10 {
            let mut w = sink.make_writer();
            w.write_all(b"a line\n").expect("the writer never fails");
        }
        sink.flush(Duration::from_secs(5));
        assert!(dropped_total() >= before + 10);
    }
}
