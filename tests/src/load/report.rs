//! What a load run reports: one struct per scenario, gathered in [`TargetReport`].

use super::stats::Summary;
use serde::Serialize;

/// `fanout` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FanoutReport {
    /// Updates sent.
    pub updates: usize,
    /// Size of one update's message as received, bytes.
    pub message_bytes: usize,
    /// Host send → receipt, over every (update, client), ms.
    pub latency_ms: Summary,
    /// Host send → the last client has it, over updates, ms.
    pub last_client_ms: Summary,
    /// Server CPU seconds over the scenario.
    pub server_cpu_s: f64,
    /// Server CPU per delivered update (one message to one client), µs.
    pub server_cpu_us_per_delivery: f64,
    /// Load generator CPU per received message, µs.
    pub loadgen_cpu_us_per_msg: f64,
    /// Server-side: state published → last socket written, from `/metrics` (Podium), ms.
    pub server_fanout_ms: Option<Summary>,
}

/// `idle-memory` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleReport {
    /// Server RSS before any client, KiB.
    pub rss_0_kib: u64,
    /// With N idle clients, KiB.
    pub rss_n_kib: u64,
    /// (rss_n − rss_0) / N, bytes.
    pub rss_per_conn_bytes: f64,
    /// Kernel TCP memory before, KiB (both ends of every loopback socket count).
    pub tcp_mem_0_kib: u64,
    /// With N idle clients, KiB.
    pub tcp_mem_n_kib: u64,
    /// Kernel TCP memory per connection (both ends), bytes.
    pub tcp_mem_per_conn_bytes: f64,
    /// Load generator RSS with N clients, KiB.
    pub loadgen_rss_kib: u64,
}

/// `hand-storm` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HandReport {
    /// Hands raised.
    pub hands: usize,
    /// Clients watching.
    pub watchers: usize,
    /// First hand sent → last hand sent, ms.
    pub spread_ms: f64,
    /// Last hand sent → every client holds the final queue, ms.
    pub all_have_final_ms: f64,
    /// Per client: last hand sent → it holds the final queue, ms.
    pub per_client_ms: Summary,
    /// Size of the final state message, bytes.
    pub final_message_bytes: usize,
    /// Server CPU seconds from the first hand until every client had the final queue.
    pub server_cpu_s: f64,
    /// Clients whose final state was parsed and checked.
    pub verified: usize,
    /// What the host and the clients received during the storm.
    pub bytes: BytesReport,
}

/// Bytes received per state change, by kind of client: what a change costs a receiver.
/// Every message counts (changes, `place`, acks); a "change" is a state message received.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BytesReport {
    /// The host: bytes received.
    pub host_bytes: u64,
    /// The host: state messages received.
    pub host_changes: u64,
    /// The host: bytes per state message.
    pub host_per_change: f64,
    /// The largest message the host received.
    pub host_largest: u64,
    /// Participants (all of them): bytes received.
    pub participant_bytes: u64,
    /// Participants: state messages received.
    pub participant_changes: u64,
    /// Participants: bytes per state message.
    pub participant_per_change: f64,
}

/// `reconnect-storm` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconnectReport {
    /// Clients that dropped and came back.
    pub clients: usize,
    /// Drop order → every client back with the current state, ms.
    pub all_back_ms: f64,
    /// Per client: drop order → its state arrived, ms.
    pub per_client_ms: Summary,
    /// Server CPU seconds over the storm.
    pub server_cpu_s: f64,
}

/// `durable-commands` figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DurableReport {
    /// Participants sending.
    pub clients: usize,
    /// Seconds.
    pub secs: f64,
    /// Accepted (durable, acknowledged) commands.
    pub accepted: u64,
    /// Refused ones.
    pub refused: u64,
    /// Accepted per second.
    pub per_sec: f64,
    /// Server CPU seconds.
    pub server_cpu_s: f64,
    /// The journal's policy.
    pub fsync_policy: String,
}

/// `floor` figures: a plain loop writing one frame to every socket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FloorReport {
    /// Rounds.
    pub rounds: usize,
    /// Frame size.
    pub frame_bytes: usize,
    /// Writer CPU per frame written, µs.
    pub cpu_us_per_delivery: f64,
    /// Round start → the last reader has it, ms.
    pub last_client_ms: Summary,
}

/// Everything one target produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetReport {
    /// `podium`, `ws-relay` or `floor`.
    pub target: String,
    /// Clients.
    pub n: usize,
    /// Seconds to connect (and join) all clients.
    pub setup_s: f64,
    /// Load generator processes the clients were spread over.
    pub processes: usize,
    /// What the host received during setup (N joins: the join flood).
    pub setup_bytes: Option<BytesReport>,
    /// `idle-memory`.
    pub idle_memory: Option<IdleReport>,
    /// `fanout`.
    pub fanout: Option<FanoutReport>,
    /// `hand-storm`.
    pub hand_storm: Option<HandReport>,
    /// `reconnect-storm`.
    pub reconnect_storm: Option<ReconnectReport>,
    /// `durable-commands`.
    pub durable_commands: Option<DurableReport>,
    /// `floor`.
    pub floor: Option<FloorReport>,
    /// Load generator CPU per received message over the whole run, µs.
    pub loadgen_cpu_us_per_msg: f64,
    /// Messages received by the load generator.
    pub messages_received: u64,
    /// Unexpected errors (first 20).
    pub errors: Vec<String>,
}
