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
//! keep-alive connection idle between requests — is closed. (The request timeout and the
//! reserve's restrictions are applied per request by [`crate::guard`].)
//!
//! If `accept` itself fails for want of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
//! loop backs off, doubling from 5 ms to 1 s, and logs once per episode, not once per try.

mod gate;

use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::Router;
pub use gate::{Class, Fresh, Gate, Permit, Refused};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
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
    /// Origins (`scheme://host[:port]`) whose pages may open a websocket, besides the
    /// server's own (see [`crate::guard`]).
    pub allowed_origins: Vec<String>,
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
            allowed_origins: Vec::new(),
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

/// A socket that holds its connection's place until it closes, through the HTTP exchange
/// and, after an upgrade, for the websocket's whole life.
pub struct Guarded {
    /// The socket.
    io: TcpStream,
    /// Freed on drop.
    _permit: Permit,
}

impl Guarded {
    /// The socket and its place, apart (the websocket write path keeps both).
    pub fn into_parts(self) -> (TcpStream, Permit) {
        (self.io, self._permit)
    }
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
