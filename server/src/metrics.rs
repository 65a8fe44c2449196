//! Counters for `GET /metrics`, in the Prometheus text format. Plain atomics: the hot
//! path (every message sent) only does a relaxed add.

use podium_protocol::Role;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    /// Open websocket connections, by role (index of [`Role::ALL`]).
    connections: [AtomicI64; 7],
    /// Live meetings.
    meetings: AtomicI64,
    /// Commands accepted (durable and acknowledged).
    accepted: AtomicU64,
    /// Commands rejected by the rules or roles.
    rejected: AtomicU64,
    /// Messages sent to clients.
    messages_sent: AtomicU64,
    /// Bytes of those messages.
    bytes_sent: AtomicU64,
    /// Connections dropped because they stopped reading.
    slow_dropped: AtomicU64,
    /// Connections dropped because they stopped answering keep-alive pings.
    keepalive_dropped: AtomicU64,
    /// Messages refused by the rate limit.
    rate_limited: AtomicU64,
    /// Connections closed for sustained abuse.
    abuse_closed: AtomicU64,
    /// Malformed, unknown or oversized messages.
    bad_messages: AtomicU64,
    /// Replies lost because a connection's reply queue was full.
    replies_dropped: AtomicU64,
    /// Open TCP connections (HTTP and websockets), reserve included.
    tcp_open: AtomicI64,
    /// Connections refused at accept: [per-address cap, server full].
    tcp_refused: [AtomicU64; 2],
    /// `accept` failures for want of descriptors or memory.
    accept_failed: AtomicU64,
    /// Joins refused by admission: [address rate, meeting rate, meeting full].
    joins_refused: [AtomicU64; 3],
    /// More lines from a part that keeps its own counters (a cluster node's).
    extra: std::sync::OnceLock<Box<dyn Fn() -> String + Send + Sync>>,
}

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

impl Metrics {
    /// A connection authenticated with `role`.
    pub fn connected(&self, role: Role) {
        self.connections[role_index(role)].fetch_add(1, Relaxed);
    }
    /// It closed.
    pub fn disconnected(&self, role: Role) {
        self.connections[role_index(role)].fetch_sub(1, Relaxed);
    }
    /// Live meetings now.
    pub fn set_meetings(&self, n: usize) {
        self.meetings.store(n as i64, Relaxed);
    }
    /// A command was accepted.
    pub fn command_accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }
    /// A command was rejected.
    pub fn command_rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
    /// A message of `bytes` went out.
    pub fn sent(&self, bytes: usize) {
        self.sent_many(1, bytes as u64);
    }
    /// `messages` messages of `bytes` bytes in all went out (a fan-out adds once).
    pub fn sent_many(&self, messages: u64, bytes: u64) {
        if messages > 0 {
            self.messages_sent.fetch_add(messages, Relaxed);
            self.bytes_sent.fetch_add(bytes, Relaxed);
        }
    }
    /// A connection was dropped for not answering the keep-alive pings.
    pub fn keepalive_dropped(&self) {
        self.keepalive_dropped.fetch_add(1, Relaxed);
    }
    /// A connection was dropped for not reading.
    pub fn slow_dropped(&self) {
        self.slow_dropped.fetch_add(1, Relaxed);
    }
    /// A message was refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Relaxed);
    }
    /// A connection was closed for abuse.
    pub fn abuse_closed(&self) {
        self.abuse_closed.fetch_add(1, Relaxed);
    }
    /// A malformed message arrived.
    pub fn bad_message(&self) {
        self.bad_messages.fetch_add(1, Relaxed);
    }
    /// A reply could not be queued.
    pub fn reply_dropped(&self) {
        self.replies_dropped.fetch_add(1, Relaxed);
    }
    /// A TCP connection was accepted.
    pub fn tcp_opened(&self) {
        self.tcp_open.fetch_add(1, Relaxed);
    }
    /// A TCP connection closed.
    pub fn tcp_closed(&self) {
        self.tcp_open.fetch_sub(1, Relaxed);
    }
    /// A connection was refused at accept.
    pub fn tcp_refused(&self, why: crate::accept::Refused) {
        let i = match why {
            crate::accept::Refused::Address => 0,
            crate::accept::Refused::Full => 1,
        };
        self.tcp_refused[i].fetch_add(1, Relaxed);
    }
    /// `accept` failed for want of resources.
    pub fn accept_failed(&self) {
        self.accept_failed.fetch_add(1, Relaxed);
    }
    /// A join was refused by admission.
    pub fn join_refused(&self, why: crate::admission::JoinRefused) {
        let i = match why {
            crate::admission::JoinRefused::AddressRate { .. } => 0,
            crate::admission::JoinRefused::MeetingRate { .. } => 1,
            crate::admission::JoinRefused::MeetingFull { .. } => 2,
        };
        self.joins_refused[i].fetch_add(1, Relaxed);
    }

    /// Connections dropped for not reading, so far.
    pub fn slow_dropped_total(&self) -> u64 {
        self.slow_dropped.load(Relaxed)
    }

    /// Adds lines from a part that keeps its own counters (once; later calls are ignored).
    pub fn set_extra(&self, render: Box<dyn Fn() -> String + Send + Sync>) {
        let _ = self.extra.set(render);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP podium_connections Open websocket connections by role."
        );
        let _ = writeln!(out, "# TYPE podium_connections gauge");
        for role in Role::ALL {
            let _ = writeln!(
                out,
                "podium_connections{{role=\"{}\"}} {}",
                role.as_str(),
                self.connections[role_index(role)].load(Relaxed)
            );
        }
        if let Some(heap) = crate::memory::heap_in_use() {
            let _ = writeln!(
                out,
                "# HELP podium_heap_in_use_bytes Bytes the allocator has handed out and not had back."
            );
            let _ = writeln!(out, "# TYPE podium_heap_in_use_bytes gauge");
            let _ = writeln!(out, "podium_heap_in_use_bytes {heap}");
        }
        let counters: &[(&str, &str, &str, u64)] = &[
            (
                "podium_meetings",
                "gauge",
                "Live meetings.",
                self.meetings.load(Relaxed) as u64,
            ),
            (
                "podium_commands_accepted_total",
                "counter",
                "Commands accepted.",
                self.accepted.load(Relaxed),
            ),
            (
                "podium_commands_rejected_total",
                "counter",
                "Commands rejected.",
                self.rejected.load(Relaxed),
            ),
            (
                "podium_messages_sent_total",
                "counter",
                "Messages sent to clients.",
                self.messages_sent.load(Relaxed),
            ),
            (
                "podium_bytes_sent_total",
                "counter",
                "Bytes sent to clients.",
                self.bytes_sent.load(Relaxed),
            ),
            (
                "podium_slow_clients_dropped_total",
                "counter",
                "Connections dropped for not reading.",
                self.slow_dropped.load(Relaxed),
            ),
            (
                "podium_keepalive_dropped_total",
                "counter",
                "Connections dropped for not answering keep-alive pings.",
                self.keepalive_dropped.load(Relaxed),
            ),
            (
                "podium_rate_limited_total",
                "counter",
                "Messages refused by the rate limit.",
                self.rate_limited.load(Relaxed),
            ),
            (
                "podium_abuse_closed_total",
                "counter",
                "Connections closed for sustained abuse.",
                self.abuse_closed.load(Relaxed),
            ),
            (
                "podium_bad_messages_total",
                "counter",
                "Malformed or unknown messages.",
                self.bad_messages.load(Relaxed),
            ),
            (
                "podium_replies_dropped_total",
                "counter",
                "Replies lost to full reply queues.",
                self.replies_dropped.load(Relaxed),
            ),
            (
                "podium_log_lines_dropped_total",
                "counter",
                "Log lines dropped because stderr could not take them (full, closed or stuck).",
                crate::logging::dropped_total(),
            ),
        ];
        for &(name, kind, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
        let labelled: [Labelled; 2] = [
            (
                "podium_connections_refused_total",
                "Connections refused at accept: over the per-address cap, or server full (cap and reserve in use).",
                "reason",
                &[
                    ("address", self.tcp_refused[0].load(Relaxed)),
                    ("full", self.tcp_refused[1].load(Relaxed)),
                ],
            ),
            (
                "podium_joins_refused_total",
                "Joins refused by admission: address rate, meeting rate, meeting full.",
                "reason",
                &[
                    ("address_rate", self.joins_refused[0].load(Relaxed)),
                    ("meeting_rate", self.joins_refused[1].load(Relaxed)),
                    ("meeting_full", self.joins_refused[2].load(Relaxed)),
                ],
            ),
        ];
        for (name, help, label, values) in labelled {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (value, n) in values {
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
            }
        }
        for (name, kind, help, value) in [
            (
                "podium_tcp_connections",
                "gauge",
                "Open TCP connections (HTTP and websockets).",
                self.tcp_open.load(Relaxed).max(0) as u64,
            ),
            (
                "podium_accept_errors_total",
                "counter",
                "accept() failures for want of file descriptors or memory.",
                self.accept_failed.load(Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
        FANOUT.render(
            &mut out,
            "podium_fanout_seconds",
            "Fan-out of one published state: encoded (before its journal commit) to the last socket written.",
        );
        FANOUT_SPREAD.render(
            &mut out,
            "podium_fanout_spread_seconds",
            "Fan-out of one published state: first socket written to the last socket written.",
        );
        if let Some(extra) = self.extra.get() {
            out.push_str(&extra());
        }
        out
    }
}

/// A counter with one label: name, help, label name, (label value, count) pairs.
type Labelled<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64)]);

/// Upper bounds of the fan-out histograms' buckets, seconds.
const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.35, 0.5, 1.0,
    2.0,
];

/// A lock-free histogram of durations with fixed buckets (plus `+Inf`).
pub struct Histogram {
    /// Observations per bucket (not cumulative; `render` adds them up), `+Inf` last.
    buckets: [AtomicU64; 17],
    /// Sum of all observations, for Prometheus' `_sum`.
    sum_ns: AtomicU64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; 17],
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Relaxed);
            match BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = self.sum_ns.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Fan-out times of published states, process-wide (recorded when a state is superseded
/// and every connection that wrote it is done; see `hub::views::Fanout`).
pub static FANOUT: Histogram = Histogram::new();
/// First socket written → last socket written, process-wide.
pub static FANOUT_SPREAD: Histogram = Histogram::new();
