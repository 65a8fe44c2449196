//! One middleware around the whole router for what every request shares: the security
//! headers of every response, the request timeout, the connection reserve's restrictions,
//! and the websocket upgrade's checks (a well-formed `Sec-WebSocket-Key`, an allowed
//! `Origin`).
//!
//! Headers: the browser client loads only its own files (no inline script or style, no
//! CDN), so its Content-Security-Policy allows `'self'` and nothing else; no page may be
//! framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), no referrer leaves it —
//! except the broadcast overlays (`/overlays/…`), which production tools compose into a
//! picture, sometimes in a frame: they have no controls to trick anyone into pressing, so
//! any page may frame them.
//!
//! Origins: a browser always says where a page came from when it opens a websocket. A
//! page of another site must not open one with a token it tricked out of someone, so an
//! `Origin` must name the host the request was sent to (its `Host`) or the public URL's,
//! or be one of the `--allowed-origin`s (a console served elsewhere). Clients that are not
//! browsers (bots, consoles) send no `Origin` and are not concerned.

use crate::accept::{Class, ConnLimits};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of the broadcast overlays: the same, but any page may frame them (no
/// `frame-ancestors`: `*` would still refuse an opaque origin such as a tool's local page).
pub const OVERLAY_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'";

/// What the guard needs to know.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Timeouts, the reserve, and the websocket origins allowed besides the server's own.
    pub conn: ConnLimits,
    /// The public URL's origin, if one is configured (always allowed).
    pub public_origin: Option<String>,
}

/// Paths a reserve connection may ask for: enough to watch and manage a full server.
fn operations_path(path: &str) -> bool {
    path == "/healthz" || path == "/metrics" || path.starts_with("/api/")
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// The middleware.
pub async fn guard(config: Arc<GuardConfig>, req: Request, next: Next) -> Response {
    let overlay = req.uri().path().starts_with("/overlays/");
    let reserve = req.extensions().get::<Class>() == Some(&Class::Reserve);
    let mut response = if reserve && !operations_path(req.uri().path()) {
        let mut r = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its connection limit; try again in a few seconds\n",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r
    } else if let Some(refused) = check_upgrade(&config, req.headers()) {
        refused
    } else {
        match tokio::time::timeout(config.conn.request_timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => {
                let mut r = plain(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request was not completed in time\n",
                );
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
        }
    };
    if reserve {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    security_headers(response.headers_mut(), overlay);
    response
}

/// The headers every response carries.
fn security_headers(h: &mut HeaderMap, overlay: bool) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if overlay { OVERLAY_CSP } else { CSP }),
    );
    if !overlay {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// For a websocket upgrade: `Some(refusal)` if its key is malformed or its origin is not
/// allowed.
fn check_upgrade(config: &GuardConfig, h: &HeaderMap) -> Option<Response> {
    let upgrade = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return None;
    }
    let key = h
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok());
    if !key.is_some_and(valid_key) {
        return Some(plain(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455, section 4.1)\n",
        ));
    }
    // No Origin: not a browser page.
    let origin = h.get(header::ORIGIN)?;
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    let allowed = origin
        .to_str()
        .ok()
        .is_some_and(|o| origin_allowed(config, o, host));
    (!allowed).then(|| {
        plain(
            StatusCode::FORBIDDEN,
            "this page may not open a Podium websocket: its origin is not allowed \
             (the server's operator can allow it with --allowed-origin)\n",
        )
    })
}

/// Whether `key` is the base64 form of 16 bytes: 22 significant characters (the last
/// holding only 2 bits) and `==`.
pub fn valid_key(key: &str) -> bool {
    let b = key.trim().as_bytes();
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    b.len() == 24
        && b[22..] == *b"=="
        && b[..22].iter().all(b64)
        && matches!(b[21], b'A' | b'Q' | b'g' | b'w')
}

/// Whether a browser page of `origin` may open a websocket to a request sent to `host`.
pub fn origin_allowed(config: &GuardConfig, origin: &str, host: Option<&str>) -> bool {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if config
        .conn
        .allowed_origins
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&origin))
        || config.public_origin.as_deref() == Some(origin.as_str())
    {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let Some(host) = host else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    authority == host || strip_default_port(authority) == strip_default_port(&host)
}

/// `example.org:80` and `example.org:443` name the same host as `example.org` for this
/// comparison (a browser leaves the default port out of `Origin`).
fn strip_default_port(authority: &str) -> &str {
    authority
        .strip_suffix(":80")
        .or_else(|| authority.strip_suffix(":443"))
        .unwrap_or(authority)
}

/// The origin (`scheme://host[:port]`, lower case) of a URL such as `--public-url`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{}://{}", scheme, authority).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allowed: &[&str]) -> GuardConfig {
        GuardConfig {
            conn: ConnLimits {
                allowed_origins: allowed.iter().map(|s| s.to_string()).collect(),
                ..ConnLimits::default()
            },
            public_origin: Some("https://podium.example.org".into()),
        }
    }

    #[test]
    fn keys_are_16_bytes_of_base64() {
        assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key("garbage"));
        assert!(
            !valid_key("dGhlIHNhbXBsZSBub25jZR=="),
            "last char carries 4 bits"
        );
        assert!(!valid_key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!valid_key("dGhlIHNhbXBsZSBub25j*Q=="));
    }

    #[test]
    fn by_default_an_origin_must_name_the_requested_host() {
        let c = config(&[]);
        assert!(origin_allowed(
            &c,
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080")
        ));
        assert!(origin_allowed(
            &c,
            "https://Meet.Example.org",
            Some("meet.example.org:443")
        ));
        assert!(origin_allowed(
            &c,
            "https://podium.example.org",
            Some("10.0.0.5:8080")
        ));
        assert!(!origin_allowed(
            &c,
            "https://evil.example",
            Some("127.0.0.1:8080")
        ));
        assert!(!origin_allowed(&c, "null", Some("127.0.0.1:8080")));
        assert!(!origin_allowed(
            &c,
            "http://127.0.0.1:9999",
            Some("127.0.0.1:8080")
        ));
    }

    #[test]
    fn an_allow_list_adds_origins() {
        let c = config(&["https://Intranet.example"]);
        assert!(origin_allowed(&c, "https://intranet.example/", Some("x")));
        assert!(origin_allowed(
            &c,
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080")
        ));
        assert!(!origin_allowed(
            &c,
            "https://evil.example",
            Some("127.0.0.1:8080")
        ));
        assert_eq!(
            origin_of("https://Podium.Example.org/path?q"),
            Some("https://podium.example.org".into())
        );
    }
}
