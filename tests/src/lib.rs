//! Black-box testing tools for Podium: a protocol client over real sockets, helpers for
//! the HTTP meeting API and an event-stream (SSE) client, test servers
//! (in-process on port 0, or the real binary for kill -9 tests), the clock-sync estimator,
//! and the load generator's scenarios (`src/bin/podium-load.rs`).

pub mod api;
pub mod client;
pub mod clocksync;
pub mod http;
pub mod load;
pub mod server;
pub mod sse;
