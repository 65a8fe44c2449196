//! How fast a client may send: a token bucket per connection, another shared by every
//! connection of one link (one token: the host's ten tabs share one budget), and a strike
//! count that turns sustained abuse into a close. Every frame counts — text messages,
//! websocket Ping and Pong frames, binary frames, and everything sent before `hello` —
//! because each costs the server work (a Ping costs a Pong).
//!
//! Time comes in as an argument, so the buckets are tested without sleeping.

use super::frame::Incoming;
use super::{close, error, text, Connection, End};
use crate::hub::Grant;
use dashmap::DashMap;
use podium_protocol::ErrorCode;
use std::sync::{Arc, Mutex};
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

impl RateLimit {
    /// The budget shared by every connection of one link: one and a half times a
    /// connection's, so a second tab or screen has room, ten of them do not get ten times.
    pub fn per_link(&self) -> (f64, f64) {
        (self.burst * 1.5, self.per_sec * 1.5)
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

/// Tokens that refill over time.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Capacity.
    burst: f64,
    /// Refill per second.
    per_sec: f64,
    /// Tokens left.
    tokens: f64,
    /// Last refill.
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: f64, per_sec: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            burst,
            per_sec,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.burst);
        self.at = now;
    }

    /// Whether a token is there (after refilling to `now`).
    fn has(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    fn spend(&mut self) {
        self.tokens -= 1.0;
    }

    /// Whether it has refilled completely (nobody has used it lately).
    fn full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// One connection's limiter: its own bucket, its link's shared bucket once authenticated,
/// and its strikes.
pub struct Bucket {
    /// Settings.
    limit: RateLimit,
    /// This connection's tokens.
    own: TokenBucket,
    /// The link's tokens, shared with its other connections (after `hello`/`join`).
    shared: Option<Arc<Mutex<TokenBucket>>>,
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
            own: TokenBucket::new(limit.burst, limit.per_sec, now),
            shared: None,
            strikes: 0,
            window_start: now,
        }
    }

    /// From now on, also draw on the link's shared bucket.
    pub fn share(&mut self, shared: Arc<Mutex<TokenBucket>>) {
        self.shared = Some(shared);
    }

    /// Takes one message arriving at `now`.
    pub fn take(&mut self, now: Instant) -> Verdict {
        let own = self.own.has(now);
        let allowed = own
            && match &self.shared {
                None => true,
                Some(s) => {
                    let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                    let ok = s.has(now);
                    if ok {
                        s.spend();
                    }
                    ok
                }
            };
        if allowed {
            self.own.spend();
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

/// The shared buckets of every link with a connection, by grant.
#[derive(Default)]
pub struct LinkBuckets {
    /// By grant (meeting, role, person, participant). Entries whose bucket is full and
    /// unused are dropped as the map grows, so a link's budget survives a reconnect.
    map: DashMap<String, Arc<Mutex<TokenBucket>>>,
    /// Size after the last prune (prune again at twice this).
    pruned_at: std::sync::atomic::AtomicUsize,
}

impl LinkBuckets {
    /// The shared bucket of `grant`'s link.
    pub fn bucket(&self, grant: &Grant, limit: RateLimit, now: Instant) -> Arc<Mutex<TokenBucket>> {
        use std::sync::atomic::Ordering::Relaxed;
        let key = format!(
            "{}\u{0}{}\u{0}{:?}\u{0}{:?}",
            grant.meeting,
            grant.role.as_str(),
            grant.person,
            grant.participant
        );
        let (burst, per_sec) = limit.per_link();
        let b = self
            .map
            .entry(key)
            .or_insert_with(|| Arc::new(Mutex::new(TokenBucket::new(burst, per_sec, now))))
            .clone();
        let len = self.map.len();
        if len > 2 * self.pruned_at.load(Relaxed).max(512) {
            self.map.retain(|_, b| {
                Arc::strong_count(b) > 1 || !b.lock().unwrap_or_else(|p| p.into_inner()).full(now)
            });
            self.pruned_at.store(self.map.len(), Relaxed);
        }
        b
    }
}

impl Connection {
    /// Counts one incoming frame against the limits: `Ok(true)` to handle it, `Ok(false)`
    /// when it was refused (a text message is answered `rate_limited`), `Err` to close.
    pub(super) fn admit_frame(&mut self, msg: &Incoming) -> Result<bool, End> {
        if matches!(msg, Incoming::Close(_)) {
            return Ok(true);
        }
        match self.bucket.take(Instant::now()) {
            Verdict::Allow => Ok(true),
            Verdict::Limit => {
                self.hub().metrics.rate_limited();
                if let Incoming::Text(raw) = msg {
                    let id = super::request_id(raw);
                    self.send(text(&error(
                        id,
                        ErrorCode::RateLimited,
                        "too many messages: slow down",
                    )))?;
                }
                Ok(false)
            }
            Verdict::Close => {
                self.hub().metrics.abuse_closed();
                tracing::warn!("closing: sustained flood");
                Err(End::Close(close::POLICY, "too many messages"))
            }
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

    #[test]
    fn ten_connections_of_one_link_share_one_and_a_half_budgets() {
        let t0 = Instant::now();
        let limit = RateLimit::default();
        let (burst, per_sec) = limit.per_link();
        let shared = Arc::new(Mutex::new(TokenBucket::new(burst, per_sec, t0)));
        let mut conns: Vec<Bucket> = (0..10)
            .map(|_| {
                let mut b = Bucket::new(limit, t0);
                b.share(shared.clone());
                b
            })
            .collect();
        let allowed: usize = conns
            .iter_mut()
            .map(|b| (0..40).filter(|_| b.take(t0) == Verdict::Allow).count())
            .sum();
        assert_eq!(allowed, 60, "not 10 × 40");
        // A refused message did not spend the connection's own tokens: once the link
        // refills, each connection still has its own burst.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(
            (0..50)
                .filter(|_| conns[9].take(t1) == Verdict::Allow)
                .count(),
            40
        );
    }
}
