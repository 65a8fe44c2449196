//! The accept loop: which TCP connections are served, for how long, and what happens when
//! the process runs short of file descriptors.
//!
//! Every connection is counted from `accept` until its socket closes — an upgraded
//! websocket included, because the count rides on the socket itself ([`Guarded`]). Up to
//! `max_connections` are served normally. Past that, a small *reserve* is still accepted
//! for operations only (`/healthz`, `/metrics`, the admin API) and closed after one
//! response, so a full server can still be watched and managed; anything more, or more than
//! `per_address` from one address, is refused at once — except that a new connection
//! arriving at a full reserve closes the oldest reserve connection that has not yet sent
//! a request, so silent connections cannot keep a health check out for long.
//! `max_connections` defaults to the
//! open-file limit minus the reserve and the descriptors the process itself needs (the
//! journal, its WAL and index, the log), so a flood meets the cap before the file limit.
//!
//! HTTP/1 is served by hyper with a header-read timeout: a connection that does not deliver
//! a complete request head within it — a silent TCP connection, a half-sent request, or a
//! keep-alive connection idle between requests — is closed. A request whose handler has not
//! answered within the request timeout (a body that never finishes arriving) gets 408.
//!
//! If `accept` itself fails for want of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
//! loop backs off, doubling from 5 ms to 1 s, and logs once per episode, not once per try.

use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connection limits and HTTP timeouts.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Connections served normally; `None`: the open-file limit minus `reserve` and
    /// `fd_reserve`.
    pub max_connections: Option<usize>,
    /// Connections accepted past `max_connections` for operations only (health, metrics,
    /// admin API), each closed after one response.
    pub reserve: usize,
    /// Descriptors kept for the process itself: the journal (database, WAL, index), the
    /// listener, the log, the runtime.
    pub fd_reserve: usize,
    /// Open connections one client address may hold (websockets included).
    pub per_address: usize,
    /// Addresses exempt from every per-address limit (connections and joins): by default
    /// the loopback addresses, where a local reverse proxy connects from and where every
    /// client would look like one address.
    pub unlimited: Vec<IpAddr>,
    /// Time to deliver a complete request head, counted from when the server starts
    /// waiting for one: bounds silent connections, half-sent heads and idle keep-alives.
    pub header_timeout: Duration,
    /// Time for a handler to answer, reading the request body included.
    pub request_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: None,
            reserve: 64,
            fd_reserve: 128,
            per_address: 500,
            unlimited: vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl ConnLimits {
    /// Whether per-address limits apply to `ip`.
    pub fn limited(&self, ip: IpAddr) -> bool {
        !self.unlimited.contains(&canonical(ip))
    }

    /// The normal connection cap for an open-file limit of `nofile`.
    pub fn cap_for(&self, nofile: usize) -> usize {
        let auto = nofile
            .saturating_sub(self.fd_reserve.min(nofile / 4))
            .saturating_sub(self.reserve.min(nofile / 8))
            .max(1);
        self.max_connections.map_or(auto, |m| m.min(auto))
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`) counts as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The soft open-file limit of this process.
pub fn nofile() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    }
}

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
    limits: ConnLimits,
    /// The normal cap (resolved against the file limit at start).
    cap: usize,
    /// Connections open now, reserve included.
    open: AtomicUsize,
    /// Reserve connections open now.
    reserve_open: AtomicUsize,
    /// Open connections per limited address. A std mutex: held for a map update only.
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// Reserve connections in the order they came, for eviction.
    reserve_fifo: Mutex<VecDeque<Weak<Fresh>>>,
    /// Counters for `/metrics`.
    metrics: Arc<Metrics>,
}

/// A reserve connection that may be evicted until it sends its first request.
pub struct Fresh {
    /// Set when the first request head has arrived.
    requested: AtomicBool,
    /// Cancelled to close the connection.
    evict: CancellationToken,
}

/// One admitted connection; dropping it (when the socket closes) frees its place.
pub struct Permit {
    /// The gate it counts against.
    gate: Arc<Gate>,
    /// The address it counts against, if limited.
    ip: Option<IpAddr>,
    /// Normal or reserve.
    class: Class,
    /// For reserve connections: how to evict it.
    fresh: Option<Arc<Fresh>>,
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
        let ip = canonical(ip);
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

/// A socket that holds its connection's place until it closes, through the HTTP exchange
/// and, after an upgrade, for the websocket's whole life.
pub struct Guarded {
    /// The socket.
    io: TcpStream,
    /// Freed on drop.
    _permit: Permit,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The router as a hyper service for one connection: each request carries the peer's
/// address (`ConnectInfo<SocketAddr>`, for handlers and join admission) and the
/// connection's [`Class`].
#[derive(Clone)]
struct PerConnection {
    /// The application.
    router: Router,
    /// The client's address.
    peer: SocketAddr,
    /// Normal or reserve.
    class: Class,
    /// Reserve connections: marked at the first request (no longer evictable).
    fresh: Option<Arc<Fresh>>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for PerConnection {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = axum::routing::future::RouteFuture<std::convert::Infallible>;

    fn call(&self, mut req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        if let Some(f) = &self.fresh {
            f.requested.store(true, Relaxed);
        }
        req.extensions_mut().insert(ConnectInfo(self.peer));
        req.extensions_mut().insert(self.class);
        let mut router = self.router.clone();
        tower_service::Service::call(&mut router, req)
    }
}

/// Paths a reserve connection may ask for: enough to watch and manage a full server.
fn operations_path(path: &str) -> bool {
    path == "/healthz" || path == "/metrics" || path.starts_with("/api/")
}

/// Middleware: the request timeout, and the reserve's restrictions.
pub async fn guard_request(limits: Arc<ConnLimits>, req: Request, next: Next) -> Response {
    let reserve = req.extensions().get::<Class>() == Some(&Class::Reserve);
    if reserve && !operations_path(req.uri().path()) {
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its connection limit; try again in a few seconds\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let mut response = match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = (
                StatusCode::REQUEST_TIMEOUT,
                "the request was not completed in time\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    };
    if reserve {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Errors of `accept` that mean the process (or the system) is out of descriptors or
/// memory: retrying at once would spin.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A refusal written straight to the socket, without reading the request.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Serves `router` on `listener` until `shutdown`, then lets in-flight requests finish
/// (hyper's graceful shutdown; at most `drain`) and returns. Upgraded websockets are not
/// waited for here: the hub's tracker does that.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let connections = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    // Accept failures of the current episode (reset at the first success).
    let mut failures: u64 = 0;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(ok) => {
                if failures > 0 {
                    tracing::warn!(failures, "accepting connections again");
                    failures = 0;
                }
                backoff = Duration::ZERO;
                ok
            }
            Err(e) if out_of_resources(&e) => {
                gate.metrics.accept_failed();
                if failures == 0 {
                    tracing::error!(error = %e, open = gate.open.load(Relaxed), "cannot accept connections (out of file descriptors or memory); backing off");
                }
                failures += 1;
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                continue;
            }
            // A connection that failed before we took it (reset, aborted): the next one.
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        let permit = match gate.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                tracing::trace!(?why, "connection refused");
                let _ = tcp.try_write(REFUSAL);
                continue;
            }
        };
        tracing::trace!(class = ?permit.class, "connection accepted");
        // Small messages go out at once: without TCP_NODELAY, an `ack` written right after
        // a `change` waits for the client's delayed ACK (~40 ms on Linux) under Nagle.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let evict = permit.fresh.as_ref().map(|f| f.evict.clone());
        let service = PerConnection {
            router: router.clone(),
            peer,
            class: permit.class,
            fresh: permit.fresh.clone(),
        };
        // A write that makes no progress for twice the send timeout fails: a client that
        // stops reading cannot hold its socket (or the shutdown) forever.
        let io = TokioIo::new(crate::http::stall::StallGuard::new(
            Guarded {
                io: tcp,
                _permit: permit,
            },
            drain * 2,
        ));
        let header_timeout = gate.limits.header_timeout;
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(io, service).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let evicted = async {
                match evict {
                    Some(t) => t.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::trace!(error = %e, "connection ended");
                    }
                    return;
                }
                // Dropping the connection closes the socket.
                _ = evicted => return,
                _ = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    connections.close();
    let _ = tokio::time::timeout(drain, connections.wait()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
