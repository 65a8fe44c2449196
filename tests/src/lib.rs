//! Black-box testing tools for Podium: a protocol client over real sockets, test servers
//! (in-process on port 0, or the real binary for kill -9 tests), the clock-sync estimator,
//! and the load generator's scenarios (`src/bin/podium-load.rs`).

pub mod client;
pub mod clocksync;
pub mod cluster;
pub mod cluster_load;
pub mod http;
pub mod load;
pub mod server;
