//! The NTP-style clock offset estimator that Podium clients use (the browser client has
//! the same algorithm in `web-client/protocol.js`).
//!
//! Each ping carries the client's send time `t0`; the pong carries the server's time `ts`
//! and arrives at `t1`. Assuming the two legs take equally long, the server's clock read
//! `ts` at client time `(t0 + t1) / 2`, so `offset = ts − (t0 + t1) / 2` and the error is at
//! most half the round trip. Samples with the lowest round trips are the most trustworthy:
//! the estimate is the median offset of the three lowest-RTT samples among the last 16.

/// One ping/pong exchange, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Client clock when the ping left.
    pub t0: f64,
    /// Server clock when it answered.
    pub server: f64,
    /// Client clock when the pong arrived.
    pub t1: f64,
}

impl Sample {
    /// Round-trip time.
    pub fn rtt(&self) -> f64 {
        self.t1 - self.t0
    }
    /// Offset (server − client) this sample suggests.
    pub fn offset(&self) -> f64 {
        self.server - (self.t0 + self.t1) / 2.0
    }
}

/// Keeps the recent samples and gives the current estimate.
#[derive(Debug, Default, Clone)]
pub struct Estimator {
    /// The last samples, oldest first.
    samples: Vec<Sample>,
}

/// Samples kept.
pub const WINDOW: usize = 16;
/// Lowest-RTT samples the estimate uses.
pub const BEST: usize = 3;

impl Estimator {
    /// Adds a sample (negative round trips, from a clock step, are ignored).
    pub fn add(&mut self, s: Sample) {
        if s.rtt() < 0.0 {
            return;
        }
        self.samples.push(s);
        if self.samples.len() > WINDOW {
            self.samples.remove(0);
        }
    }

    /// Estimated `server − client` offset, if any sample was taken.
    pub fn offset(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut best = self.samples.clone();
        best.sort_by(|a, b| a.rtt().total_cmp(&b.rtt()));
        best.truncate(BEST);
        let mut offsets: Vec<f64> = best.iter().map(Sample::offset).collect();
        offsets.sort_by(f64::total_cmp);
        Some(offsets[offsets.len() / 2])
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift), so the test is repeatable.
    fn rng(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed % 10_000) as f64 / 10_000.0
    }

    #[test]
    fn finds_a_5s_offset_through_asymmetric_jitter() {
        let true_offset = -5000.0; // the client is 5 s ahead of the server
        let mut seed = 0x9e3779b97f4a7c15;
        let mut e = Estimator::default();
        let mut t = 1_000_000.0;
        for _ in 0..16 {
            // Each leg: 0.2 ms base + up to 40 ms of jitter, independently.
            let up = 0.2 + 40.0 * rng(&mut seed).powi(3);
            let down = 0.2 + 40.0 * rng(&mut seed).powi(3);
            let t0 = t;
            let server = t0 + up + true_offset;
            let t1 = t0 + up + down;
            e.add(Sample { t0, server, t1 });
            t += 250.0;
        }
        let err = (e.offset().unwrap() - true_offset).abs();
        assert!(err < 5.0, "error {err} ms");
    }

    #[test]
    fn ignores_negative_rtt_and_keeps_a_window() {
        let mut e = Estimator::default();
        e.add(Sample {
            t0: 10.0,
            server: 0.0,
            t1: 5.0,
        });
        assert!(e.offset().is_none());
        for i in 0..40 {
            let t0 = i as f64 * 100.0;
            e.add(Sample {
                t0,
                server: t0 + 1.0 + 100.0,
                t1: t0 + 2.0,
            });
        }
        assert_eq!(e.len(), WINDOW);
        assert_eq!(e.offset(), Some(100.0));
    }
}
