//! Black-box testing tools for Podium: a protocol client over real sockets, helpers for
//! the HTTP meeting API and an event-stream (SSE) client, test servers
//! (in-process on port 0, or the real binary for kill -9 tests), the clock-sync estimator,
//! the load generator's scenarios (`src/bin/podium-load.rs`) and the soak
//! (`src/bin/podium-soak.rs`).

pub mod api;
pub mod client;
pub mod clocksync;
pub mod cluster;
pub mod cluster_load;
pub mod http;
pub mod load;
pub mod server;
pub mod soak;
pub mod sse;
