//! The fan-out timing of one published state: when it was encoded, and when the first
//! and last connections wrote it; reported to `/metrics` when the state is dropped.

/// Fan-out timing of one published state. The fan-out marks it when it writes the first
/// and the last socket ([`Fanout::written`]); when the state is superseded and dropped,
/// the times go to the `podium_fanout_*` histograms of `/metrics`.
pub struct Fanout {
    encoded: std::time::Instant,
    /// Nanoseconds after `encoded`; `u64::MAX` / 0 until a connection writes.
    first: std::sync::atomic::AtomicU64,
    last: std::sync::atomic::AtomicU64,
}

impl Fanout {
    /// Timing that starts now.
    pub(super) fn new() -> Fanout {
        Fanout {
            encoded: std::time::Instant::now(),
            first: std::sync::atomic::AtomicU64::new(u64::MAX),
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The state has been written to a socket now.
    pub fn written(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let t = self.encoded.elapsed().as_nanos() as u64;
        self.first.fetch_min(t, Relaxed);
        self.last.fetch_max(t, Relaxed);
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let (first, last) = (self.first.load(Relaxed), self.last.load(Relaxed));
        if first != u64::MAX {
            crate::metrics::FANOUT.observe(std::time::Duration::from_nanos(last));
            crate::metrics::FANOUT_SPREAD.observe(std::time::Duration::from_nanos(last - first));
        }
    }
}
