//! The server's one clock read. The engine never reads a clock; the shell passes
//! `now_ms()` into it, and the same number goes to clients as `server_time`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
