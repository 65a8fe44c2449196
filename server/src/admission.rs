//! Join admission: how fast people may join a meeting through its shared join link, and
//! how many may ever register.
//!
//! Three checks, in order, before a `join` reaches the meeting task:
//! 1. **per client address**, a token bucket (default 50 at once, then 1 per second):
//!    one machine cannot register people faster than a person types, while a venue or a
//!    ministry behind one address still gets its delegates in. Over it: refused at once.
//! 2. **per meeting**, a token bucket (default 2,000 at once, then 200 per second) that
//!    *queues* rather than refuses: a join waits up to `max_wait` (10 s) for its turn, so
//!    10,000 delegates arriving within a minute all get in; a join that would wait longer
//!    is refused with a time to retry.
//! 3. **the meeting's cap** on registrations (default 20,000).
//!
//! Refusals are typed (`rate_limited`, `meeting_full`) and counted in
//! `podium_joins_refused_total{reason}`. Addresses in [`ConnLimits::unlimited`] (loopback,
//! where a local reverse proxy connects from) skip the per-address check.
//!
//! The connection task learns its client's address through [`PEER`], a task-local the
//! websocket upgrade sets, so the websocket code needs no extra parameter.
//!
//! [`ConnLimits::unlimited`]: crate::accept::ConnLimits::unlimited

use crate::hub::meeting::MeetingHandle;
use crate::metrics::Metrics;
use dashmap::DashMap;
use podium_protocol::ErrorCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

tokio::task_local! {
    /// The client address of the connection this task serves (set around a websocket's
    /// task by the upgrade handler).
    pub static PEER: Option<IpAddr>;
}

/// The client address of the current connection task, if known.
pub fn peer() -> Option<IpAddr> {
    PEER.try_with(|ip| *ip).ok().flatten()
}

/// A token bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Taken at once from a full bucket.
    pub burst: f64,
    /// Refill per second.
    pub per_sec: f64,
}

/// Join admission settings.
#[derive(Debug, Clone)]
pub struct AdmissionLimits {
    /// Joins per client address.
    pub per_address: Rate,
    /// Joins per meeting.
    pub per_meeting: Rate,
    /// How long a join may wait for its turn in the meeting's bucket.
    pub max_wait: Duration,
    /// Registrations (participants and observers who joined) a meeting accepts.
    pub max_participants: usize,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            per_address: Rate {
                burst: 50.0,
                per_sec: 1.0,
            },
            per_meeting: Rate {
                burst: 2000.0,
                per_sec: 200.0,
            },
            max_wait: Duration::from_secs(10),
            max_participants: 20_000,
        }
    }
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefused {
    /// Too many joins from this address.
    AddressRate {
        /// When one will be allowed again.
        retry_after: Duration,
    },
    /// Too many joins to this meeting right now.
    MeetingRate {
        /// When one will be allowed again.
        retry_after: Duration,
    },
    /// The meeting has all the registrations it takes.
    MeetingFull {
        /// The cap.
        cap: usize,
    },
}

impl JoinRefused {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            JoinRefused::AddressRate { .. } | JoinRefused::MeetingRate { .. } => {
                ErrorCode::RateLimited
            }
            JoinRefused::MeetingFull { .. } => ErrorCode::MeetingFull,
        }
    }

    /// What the person is told.
    pub fn message(&self) -> String {
        let secs = |d: &Duration| d.as_secs_f64().ceil().max(1.0) as u64;
        match self {
            JoinRefused::AddressRate { retry_after } => format!(
                "too many people joined from your network just now: try again in {} s",
                secs(retry_after)
            ),
            JoinRefused::MeetingRate { retry_after } => format!(
                "many people are joining this meeting right now: try again in {} s",
                secs(retry_after)
            ),
            JoinRefused::MeetingFull { cap } => format!(
                "this meeting is full ({cap} people have joined): ask the host for a personal link"
            ),
        }
    }
}

/// A token bucket that may also lend ahead (a negative balance is a queue of waiters).
/// Time comes in as an argument: tested without sleeping.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Tokens now; below zero, joins already promised a later turn.
    tokens: f64,
    /// Last refill.
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate.per_sec).min(rate.burst);
        self.at = now;
    }

    /// Takes a token now, or says how long until one is there.
    pub fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.reserve(rate, now, Duration::ZERO).map(|_| ())
    }

    /// Takes a token, waiting at most `max_wait` for it: `Ok(wait)` (the caller sleeps
    /// that long first), or `Err(retry_after)` with nothing taken.
    pub fn reserve(
        &mut self,
        rate: Rate,
        now: Instant,
        max_wait: Duration,
    ) -> Result<Duration, Duration> {
        self.refill(rate, now);
        let after = self.tokens - 1.0;
        let wait = if after >= 0.0 || rate.per_sec <= 0.0 {
            0.0
        } else {
            -after / rate.per_sec
        };
        if after < 0.0 && (rate.per_sec <= 0.0 || wait > max_wait.as_secs_f64()) {
            // When a join would next be admitted (its wait at most `max_wait`).
            let retry = if rate.per_sec > 0.0 {
                (1.0 - self.tokens) / rate.per_sec - max_wait.as_secs_f64()
            } else {
                3600.0
            };
            return Err(Duration::from_secs_f64(retry.max(0.0)));
        }
        self.tokens = after;
        Ok(Duration::from_secs_f64(wait))
    }

    /// Whether the bucket is full (its client has been quiet long enough to forget).
    fn full(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= rate.burst
    }
}

/// One meeting's admission state.
struct MeetingGate {
    /// Its join bucket.
    bucket: Mutex<Bucket>,
    /// Registrations, counted from the meeting's state the first time someone joins and
    /// then by every admitted join (a refused join gives its place back).
    registered: AtomicUsize,
}

/// Join admission for every meeting of a hub.
pub struct Admission {
    /// The settings (set once at start; tests change them).
    limits: RwLock<AdmissionLimits>,
    /// Addresses exempt from the per-address check.
    unlimited: RwLock<Vec<IpAddr>>,
    /// Per-address buckets. Addresses whose bucket has refilled are forgotten.
    addresses: Mutex<HashMap<IpAddr, Bucket>>,
    /// Per-meeting state, created at a meeting's first join.
    meetings: DashMap<String, Arc<MeetingGate>>,
    /// Counters for `/metrics`.
    metrics: Arc<Metrics>,
}

/// A place held for one join until the meeting task answers: [`Ticket::joined`] keeps it,
/// dropping it gives it back.
pub struct Ticket {
    /// The meeting's gate.
    gate: Arc<MeetingGate>,
    /// Whether the place is kept.
    kept: bool,
}

impl Ticket {
    /// The join succeeded: the registration counts.
    pub fn joined(mut self) {
        self.kept = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.kept {
            self.gate.registered.fetch_sub(1, Relaxed);
        }
    }
}

/// Forget address buckets once the map holds this many (the quiet ones only).
const PRUNE_AT: usize = 4096;

impl Admission {
    /// Admission with default limits.
    pub fn new(metrics: Arc<Metrics>) -> Admission {
        Admission {
            limits: RwLock::new(AdmissionLimits::default()),
            unlimited: RwLock::new(crate::accept::ConnLimits::default().unlimited),
            addresses: Mutex::new(HashMap::new()),
            meetings: DashMap::new(),
            metrics,
        }
    }

    /// Sets the limits and the exempt addresses.
    pub fn configure(&self, limits: AdmissionLimits, unlimited: Vec<IpAddr>) {
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        *self.unlimited.write().unwrap_or_else(|p| p.into_inner()) = unlimited;
    }

    fn limits(&self) -> AdmissionLimits {
        self.limits
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks the per-address bucket of `ip`.
    fn address(&self, ip: IpAddr, rate: Rate, now: Instant) -> Result<(), JoinRefused> {
        if self
            .unlimited
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&ip)
        {
            return Ok(());
        }
        let mut map = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| !b.full(rate, now));
        }
        map.entry(ip)
            .or_insert_with(|| Bucket::new(rate, now))
            .take(rate, now)
            .map_err(|retry_after| JoinRefused::AddressRate { retry_after })
    }

    /// Admits one join to `meeting` from `ip` (if known), waiting for the meeting's bucket
    /// if need be, or refuses it.
    pub async fn admit_join(
        &self,
        meeting: &str,
        handle: &MeetingHandle,
        ip: Option<IpAddr>,
    ) -> Result<Ticket, JoinRefused> {
        let refused = |why: JoinRefused| {
            self.metrics.join_refused(why);
            why
        };
        let limits = self.limits();
        let now = Instant::now();
        if let Some(ip) = ip {
            self.address(ip, limits.per_address, now).map_err(refused)?;
        }
        let gate = match self.meetings.get(meeting).map(|g| g.clone()) {
            Some(g) => g,
            None => {
                let registered = handle
                    .inspect()
                    .await
                    .map(|e| e.state().participants.len())
                    .unwrap_or(0);
                self.meetings
                    .entry(meeting.to_string())
                    .or_insert_with(|| {
                        Arc::new(MeetingGate {
                            bucket: Mutex::new(Bucket::new(limits.per_meeting, now)),
                            registered: AtomicUsize::new(registered),
                        })
                    })
                    .clone()
            }
        };
        let cap = limits.max_participants;
        if gate
            .registered
            .fetch_update(Relaxed, Relaxed, |n| (n < cap).then_some(n + 1))
            .is_err()
        {
            return Err(refused(JoinRefused::MeetingFull { cap }));
        }
        let ticket = Ticket {
            gate: gate.clone(),
            kept: false,
        };
        let wait = gate
            .bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reserve(limits.per_meeting, now, limits.max_wait)
            .map_err(|retry_after| refused(JoinRefused::MeetingRate { retry_after }))?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(ticket)
    }

    /// Forgets a meeting (archived or deleted).
    pub fn forget(&self, meeting: &str) {
        self.meetings.remove(meeting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: Rate = Rate {
        burst: 50.0,
        per_sec: 1.0,
    };

    #[test]
    fn one_address_flooding_gets_its_burst_then_one_per_second() {
        let t0 = Instant::now();
        let mut b = Bucket::new(ADDRESS, t0);
        // 1,000 attempts within 10 s: 50 + 10 get in.
        let ok = (0..1000)
            .filter(|i| {
                let now = t0 + Duration::from_millis(*i as u64 * 10);
                b.take(ADDRESS, now).is_ok()
            })
            .count();
        assert!((59..=61).contains(&ok), "admitted {ok}");
        let retry = b.take(ADDRESS, t0 + Duration::from_secs(10)).unwrap_err();
        assert!(retry <= Duration::from_secs(1), "retry after {retry:?}");
    }

    #[test]
    fn ten_thousand_honest_joins_within_a_minute_all_get_in() {
        // 10,000 delegates from 4,000 addresses (some share a network), arriving evenly
        // within 60 s: the meeting bucket queues them, nobody waits over the limit.
        let limits = AdmissionLimits::default();
        let t0 = Instant::now();
        let mut meeting = Bucket::new(limits.per_meeting, t0);
        let mut addresses: HashMap<u32, Bucket> = HashMap::new();
        let mut longest = Duration::ZERO;
        for i in 0..10_000u32 {
            let now = t0 + Duration::from_micros(i as u64 * 6_000);
            let a = addresses
                .entry(i % 4000)
                .or_insert_with(|| Bucket::new(limits.per_address, now));
            a.take(limits.per_address, now)
                .unwrap_or_else(|_| panic!("join {i} refused by its address"));
            let wait = meeting
                .reserve(limits.per_meeting, now, limits.max_wait)
                .unwrap_or_else(|_| panic!("join {i} refused by the meeting"));
            longest = longest.max(wait);
        }
        assert!(longest <= limits.max_wait);
    }

    #[test]
    fn a_meeting_queues_a_burst_then_refuses_what_would_wait_too_long() {
        let rate = Rate {
            burst: 10.0,
            per_sec: 5.0,
        };
        let t0 = Instant::now();
        let mut b = Bucket::new(rate, t0);
        let max = Duration::from_secs(2);
        let waits: Vec<_> = (0..30).map(|_| b.reserve(rate, t0, max)).collect();
        // 10 at once, then 10 more queued 0.2 s apart (up to 2 s), then refusals.
        assert!(waits[..10].iter().all(|w| *w == Ok(Duration::ZERO)));
        assert_eq!(waits[19], Ok(Duration::from_secs(2)));
        assert!(waits[20..].iter().all(|w| w.is_err()));
    }
}
