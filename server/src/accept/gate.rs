//! Counting connections: the normal cap, the operations reserve (and its eviction of
//! silent connections), the per-address cap. A [`Permit`] is a place; it is freed when
//! dropped, that is when the socket closes.

use super::ConnLimits;
use crate::metrics::Metrics;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use tokio_util::sync::CancellationToken;

/// How a connection was let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Served normally.
    Normal,
    /// Past the cap: operations only, closed after one response.
    Reserve,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds `per_address` connections already.
    Address,
    /// The server holds `max_connections` and its reserve is in use.
    Full,
}

/// Counts open connections, in total and per address.
pub struct Gate {
    /// The limits.
    pub(super) limits: ConnLimits,
    /// The normal cap (resolved against the file limit at start).
    cap: usize,
    /// Connections open now, reserve included.
    pub(super) open: AtomicUsize,
    /// Reserve connections open now.
    reserve_open: AtomicUsize,
    /// Open connections per limited address. A std mutex: held for a map update only.
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// Reserve connections in the order they came, for eviction.
    reserve_fifo: Mutex<VecDeque<Weak<Fresh>>>,
    /// Counters for `/metrics`.
    pub(super) metrics: Arc<Metrics>,
}

/// A reserve connection that may be evicted until it sends its first request.
pub struct Fresh {
    /// Set when the first request head has arrived.
    pub(super) requested: AtomicBool,
    /// Cancelled to close the connection.
    pub(super) evict: CancellationToken,
}

/// One admitted connection; dropping it (when the socket closes) frees its place.
pub struct Permit {
    /// The gate it counts against.
    gate: Arc<Gate>,
    /// The address it counts against, if limited.
    ip: Option<IpAddr>,
    /// Normal or reserve.
    pub(super) class: Class,
    /// For reserve connections: how to evict it.
    pub(super) fresh: Option<Arc<Fresh>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.open.fetch_sub(1, Relaxed);
        if self.class == Class::Reserve {
            self.gate.reserve_open.fetch_sub(1, Relaxed);
        }
        if let Some(ip) = self.ip {
            let mut map = self
                .gate
                .per_address
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(n) = map.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
        self.gate.metrics.tcp_closed();
    }
}

impl Gate {
    /// A gate for `limits` under an open-file limit of `nofile`.
    pub fn new(limits: ConnLimits, nofile: usize, metrics: Arc<Metrics>) -> Arc<Gate> {
        let cap = limits.cap_for(nofile);
        Arc::new(Gate {
            limits,
            cap,
            open: AtomicUsize::new(0),
            reserve_open: AtomicUsize::new(0),
            per_address: Mutex::new(HashMap::new()),
            reserve_fifo: Mutex::new(VecDeque::new()),
            metrics,
        })
    }

    /// The normal connection cap in force.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The limits.
    pub fn limits(&self) -> &ConnLimits {
        &self.limits
    }

    /// Lets a connection from `ip` in, or says why not.
    pub fn admit(self: &Arc<Gate>, ip: IpAddr) -> Result<Permit, Refused> {
        let ip = super::canonical(ip);
        let limited = self.limits.limited(ip).then_some(ip);
        if let Some(ip) = limited {
            let mut map = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(ip).or_insert(0);
            if *n >= self.limits.per_address {
                drop(map);
                self.metrics.tcp_refused(Refused::Address);
                return Err(Refused::Address);
            }
            *n += 1;
        }
        let permit = |class| Permit {
            gate: self.clone(),
            ip: limited,
            class,
            fresh: None,
        };
        let open = self.open.fetch_add(1, Relaxed);
        self.metrics.tcp_opened();
        if open < self.cap {
            return Ok(permit(Class::Normal));
        }
        let mut p = permit(Class::Reserve);
        let in_reserve = self.reserve_open.fetch_add(1, Relaxed);
        if in_reserve >= self.limits.reserve && !self.evict_one() {
            drop(p);
            self.metrics.tcp_refused(Refused::Full);
            return Err(Refused::Full);
        }
        let fresh = Arc::new(Fresh {
            requested: AtomicBool::new(false),
            evict: CancellationToken::new(),
        });
        let mut fifo = self.reserve_fifo.lock().unwrap_or_else(|e| e.into_inner());
        if fifo.len() > 2 * self.limits.reserve + 16 {
            fifo.retain(|w| w.strong_count() > 0);
        }
        fifo.push_back(Arc::downgrade(&fresh));
        p.fresh = Some(fresh);
        Ok(p)
    }

    /// Closes the oldest reserve connection that has not sent a request yet; `false` if
    /// there is none. (Its place frees when its task ends, a moment later.)
    fn evict_one(&self) -> bool {
        let mut fifo = self.reserve_fifo.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(w) = fifo.pop_front() {
            if let Some(f) = w.upgrade() {
                if !f.requested.load(Relaxed) && !f.evict.is_cancelled() {
                    f.evict.cancel();
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn gate(max: usize, reserve: usize, per_address: usize) -> Arc<Gate> {
        let limits = ConnLimits {
            max_connections: Some(max),
            reserve,
            per_address,
            unlimited: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..ConnLimits::default()
        };
        Gate::new(limits, 100_000, Arc::new(Metrics::default()))
    }

    #[test]
    fn normal_then_reserve_then_refused_and_places_come_back() {
        let g = gate(3, 2, 100);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let normal: Vec<_> = (0..3).map(|_| g.admit(ip).unwrap()).collect();
        assert!(normal.iter().all(|p| p.class == Class::Normal));
        let reserve: Vec<_> = (0..2).map(|_| g.admit(ip).unwrap()).collect();
        assert!(reserve.iter().all(|p| p.class == Class::Reserve));
        // Both reserve connections have sent a request: nothing to evict.
        for p in &reserve {
            p.fresh.as_ref().unwrap().requested.store(true, Relaxed);
        }
        assert_eq!(g.admit(ip).err(), Some(Refused::Full));
        assert_eq!(g.open.load(Relaxed), 5);
        drop(normal);
        assert_eq!(g.admit(ip).unwrap().class, Class::Normal);
        drop(reserve);
        assert_eq!(g.open.load(Relaxed), 0);
        assert_eq!(g.reserve_open.load(Relaxed), 0);
        assert!(g.per_address.lock().unwrap().is_empty());
    }

    #[test]
    fn a_full_reserve_evicts_its_oldest_silent_connection() {
        let g = gate(1, 2, 100);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let _normal = g.admit(ip).unwrap();
        let old = g.admit(ip).unwrap();
        let busy = g.admit(ip).unwrap();
        busy.fresh.as_ref().unwrap().requested.store(true, Relaxed);
        let new = g.admit(ip).unwrap();
        assert_eq!(new.class, Class::Reserve);
        assert!(old.fresh.as_ref().unwrap().evict.is_cancelled());
        assert!(!busy.fresh.as_ref().unwrap().evict.is_cancelled());
        drop(old);
        assert_eq!(g.reserve_open.load(Relaxed), 2);
    }

    #[test]
    fn per_address_cap_spares_other_addresses_and_loopback() {
        let g = gate(1000, 10, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let _p1 = g.admit(a).unwrap();
        let _p2 = g.admit(mapped).unwrap();
        assert_eq!(g.admit(a).err(), Some(Refused::Address));
        assert!(g.admit(b).is_ok());
        let local: Vec<_> = (0..10)
            .map(|_| g.admit(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap())
            .collect();
        assert_eq!(local.len(), 10);
    }

    #[test]
    fn the_cap_stays_below_the_file_limit() {
        let l = ConnLimits::default();
        assert_eq!(l.cap_for(20_000), 20_000 - 128 - 64);
        assert!(l.cap_for(256) <= 256 - 64 - 32);
        let fixed = ConnLimits {
            max_connections: Some(50_000),
            ..ConnLimits::default()
        };
        assert_eq!(fixed.cap_for(20_000), 20_000 - 128 - 64);
    }
}
