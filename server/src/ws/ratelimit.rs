//! A per-connection token bucket, plus a strike count that turns sustained abuse into a
//! close. Time comes in as an argument so it can be tested without sleeping.

use std::time::{Duration, Instant};

/// Rate limit settings.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Messages that may arrive at once.
    pub burst: f64,
    /// Messages per second sustained.
    pub per_sec: f64,
    /// Over-rate messages within `strike_window` that close the connection.
    pub max_strikes: u32,
    /// Window over which strikes are counted.
    pub strike_window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            burst: 40.0,
            per_sec: 20.0,
            max_strikes: 500,
            strike_window: Duration::from_secs(10),
        }
    }
}

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Refuse it with `rate_limited`.
    Limit,
    /// Close the connection (policy violation).
    Close,
}

/// The state of one connection's bucket.
pub struct Bucket {
    /// Settings.
    limit: RateLimit,
    /// Tokens left.
    tokens: f64,
    /// Last refill.
    at: Instant,
    /// Over-rate messages in the current window.
    strikes: u32,
    /// Start of the current strike window.
    window_start: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> Bucket {
        Bucket {
            limit,
            tokens: limit.burst,
            at: now,
            strikes: 0,
            window_start: now,
        }
    }

    /// Takes one message arriving at `now`.
    pub fn take(&mut self, now: Instant) -> Verdict {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.limit.per_sec).min(self.limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start) > self.limit.strike_window {
            self.window_start = now;
            self.strikes = 0;
        }
        self.strikes += 1;
        if self.strikes > self.limit.max_strikes {
            Verdict::Close
        } else {
            Verdict::Limit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate_then_close() {
        let t0 = Instant::now();
        let mut b = Bucket::new(RateLimit::default(), t0);
        let verdicts: Vec<Verdict> = (0..1000).map(|_| b.take(t0)).collect();
        assert!(verdicts[..40].iter().all(|v| *v == Verdict::Allow));
        assert!(verdicts[40..540].iter().all(|v| *v == Verdict::Limit));
        assert_eq!(verdicts[540], Verdict::Close);
        // After a quiet second the bucket has refilled 20 tokens.
        let mut b = Bucket::new(RateLimit::default(), t0);
        for _ in 0..40 {
            b.take(t0);
        }
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..25).filter(|_| b.take(t1) == Verdict::Allow).count(), 20);
    }
}
