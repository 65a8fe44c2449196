//! `GET /ws`: the websocket opening handshake (RFC 6455 §4.2), answered by hand so that
//! the connection keeps its raw `TcpStream` — the fan-out writes shared frames straight to
//! it with `try_write`.
//!
//! The request is checked (GET, `Upgrade: websocket`, `Connection: upgrade`, version 13, a
//! `Sec-WebSocket-Key` that is 16 bytes in base64; otherwise 400/426 and no upgrade), then
//! answered 101 with tungstenite's `Sec-WebSocket-Accept`. Once hyper hands the connection
//! over, its `TcpStream` is taken out of the accept loop's wrappers (with the connection's
//! place under the caps, kept until the socket closes, and the bytes hyper had already read
//! with it), and the connection is served by [`super::serve`] in a tracked task. (The
//! guard layer checks the key and the `Origin` before this handler; the key is checked
//! again here, where the handshake is made.)

use super::Endpoint;
use crate::accept::{Guarded, Permit};
use crate::http::stall::StallGuard;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The axum handler of `GET /ws`.
pub async fn upgrade(State(ep): State<Arc<Endpoint>>, mut req: Request) -> Response {
    // The client's address, for join admission (see `admission::PEER`).
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let key = match check(req.method(), req.headers()) {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(on_upgrade) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        )
            .into_response();
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let tracker = ep.hub.tracker.clone();
    // One task per connection: this one, once the 101 is out and hyper lets go of the socket.
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        let Some((stream, permit, early)) = unwrap(upgraded) else {
            tracing::error!(
                "websocket upgrade: the connection is not a TcpStream the accept loop made \
                 (a wrapper changed its type); update ws::upgrade to unwrap it"
            );
            return;
        };
        crate::admission::PEER
            .scope(ip, super::serve(ep, stream, permit, early))
            .await
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, HeaderValue::from_static("websocket"))
        .header(header::CONNECTION, HeaderValue::from_static("upgrade"))
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .expect("a valid response")
}

/// The socket of an upgraded connection, the accept loop's place it holds (freed when the
/// websocket closes), and the bytes hyper had read past the handshake.
fn unwrap(upgraded: hyper::upgrade::Upgraded) -> Option<(TcpStream, Option<Permit>, Bytes)> {
    // What the accept loop serves: a guarded socket, behind the stall guard (a websocket
    // has its own send timeout).
    type Accepted = TokioIo<StallGuard<Guarded>>;
    match upgraded.downcast::<Accepted>() {
        Ok(parts) => {
            let (stream, permit) = parts.io.into_inner().into_inner().into_parts();
            Some((stream, Some(permit), parts.read_buf))
        }
        // A plain socket (a router served some other way).
        Err(upgraded) => match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => Some((parts.io.into_inner(), None, parts.read_buf)),
            Err(_) => None,
        },
    }
}

/// Why a request is not a websocket opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = (self.0, self.1).into_response();
        if self.0 == StatusCode::UPGRADE_REQUIRED {
            r.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        r
    }
}

/// The request's `Sec-WebSocket-Key` if it is a valid opening handshake, or why not.
fn check(method: &Method, headers: &HeaderMap) -> Result<String, Refusal> {
    let bad = |why: &'static str| Refusal(StatusCode::BAD_REQUEST, why);
    if method != Method::GET {
        return Err(Refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "a websocket opens with GET",
        ));
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(bad(
            "expected `Upgrade: websocket`: connect with a websocket client",
        ));
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(bad("expected `Connection: upgrade`"));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(Refusal(
            StatusCode::UPGRADE_REQUIRED,
            "websocket version 13 only",
        ));
    }
    match headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
    {
        Some(k) if valid_key(k) => Ok(k.to_string()),
        _ => Err(bad(
            "`Sec-WebSocket-Key` must be 16 random bytes in base64 (RFC 6455 §4.1)",
        )),
    }
}

/// Whether a comma-separated header holds `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Whether `key` is the base64 of 16 bytes: 22 base64 digits, the last with its low four
/// bits zero, then `==`.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    let digit = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    b.len() == 24
        && b[22..] == *b"=="
        && b[..22].iter().all(|&c| digit(c))
        && matches!(b[21], b'A' | b'Q' | b'g' | b'w')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const GOOD: &[(&str, &str)] = &[
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_valid_handshake_passes_and_others_are_refused() {
        assert_eq!(
            check(&Method::GET, &headers(GOOD)).unwrap(),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(
            tungstenite::handshake::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "RFC 6455's example"
        );
        let status = |pairs: &[(&'static str, &'static str)]| {
            check(&Method::GET, &headers(pairs)).unwrap_err().0
        };
        let mut garbage = GOOD.to_vec();
        garbage[3] = ("sec-websocket-key", "garbage");
        assert_eq!(status(&garbage), StatusCode::BAD_REQUEST);
        let mut long = GOOD.to_vec();
        long[3] = ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZR==");
        assert_eq!(status(&long), StatusCode::BAD_REQUEST, "17th byte bits set");
        assert_eq!(status(&GOOD[1..]), StatusCode::BAD_REQUEST);
        let mut v8 = GOOD.to_vec();
        v8[2] = ("sec-websocket-version", "8");
        assert_eq!(status(&v8), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            check(&Method::POST, &headers(GOOD)).unwrap_err().0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
