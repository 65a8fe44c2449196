//! Who is asking: the bearer token of a request, secrets compared in constant time, the
//! server's admin token ([`admin_denied`]), a meeting's host token ([`host_denied`],
//! [`host_or_admin_denied`]), and the caller of the meeting API ([`identify`],
//! [`caller`]: an API key or a link token, rate-limited per credential by [`Limiter`]). Answers no request itself.
//!
//! Credentials are never logged: not here, not in a span, not as part of a URL (a `?key=`
//! stays out of every log line Podium writes; `tests/tests/api_not_logged.rs` checks it).

use super::{json_error, AppState};
use crate::clock::now_ms;
use crate::hub::Grant;
use crate::keys::LiveKey;
use crate::ws::ratelimit::{Bucket, RateLimit, Verdict};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use dashmap::DashMap;
use podium_protocol::Role;
use std::sync::Arc;
use std::time::Instant;

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Compares secrets without an early exit.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Some(401 response)` unless the request carries the admin token.
pub fn admin_denied(s: &AppState, headers: &HeaderMap) -> Option<Response> {
    let message = match bearer(headers) {
        Some(t) if constant_eq(t.as_bytes(), s.config.admin_token.as_bytes()) => return None,
        Some(_) => "the admin token is wrong",
        None => "send the admin token printed by `podium serve` as `Authorization: Bearer <token>`",
    };
    Some(json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
    ))
}

/// `Some(401 response)` unless the request carries the host token of meeting `id`.
pub async fn host_denied(s: &AppState, headers: &HeaderMap, id: &str) -> Option<Response> {
    let Some(token) = bearer(headers) else {
        return Some(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the meeting's host token (from the host link printed by `podium serve`) as `Authorization: Bearer <token>`",
        ));
    };
    match s.hub.find_grant(token).await {
        Some(g) if g.role == Role::Host && g.meeting == id => None,
        _ => Some(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("this token is not the host token of meeting {id:?}; send that meeting's host token"),
        )),
    }
}

/// Who a request of the meeting API (`/api/meetings/{id}/…`) comes from: an API key, or a
/// role link or participant token. Checked for the meeting, rate-limited per credential.
pub struct Caller {
    /// What the credential grants (meeting, role, person, participant).
    pub grant: Grant,
    /// SHA-256 of the credential: rate limits and idempotency records are per credential.
    pub scope: [u8; 32],
    /// The API key, if the credential was one (its last use is recorded).
    pub key: Option<Arc<LiveKey>>,
}

/// Finds the caller of an API request from its credential — `Authorization: Bearer` or,
/// where `query_key` is given (GET requests for devices and `EventSource`), `?key=` — and
/// takes one request from its bucket. The answer on failure is the response to send
/// (401, 429).
pub async fn identify(
    s: &AppState,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Result<Caller, Box<Response>> {
    let Some(credential) = bearer(headers).or(query_key).filter(|c| !c.is_empty()) else {
        return Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an API key (`podium keys create`) or a link token as `Authorization: Bearer <key>`",
        )));
    };
    let found = if credential.starts_with(crate::keys::PREFIX) {
        s.keys.find_checked(credential).await.map(|k| Caller {
            grant: k.grant.clone(),
            scope: k.hash,
            key: Some(k),
        })
    } else {
        s.hub.find_grant(credential).await.map(|grant| Caller {
            grant,
            scope: crate::tokens::hash(credential),
            key: None,
        })
    };
    let Some(caller) = found else {
        return Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this key is not valid: it may have been revoked; ask the host for a new one",
        )));
    };
    if !s.api.limiter.allow(&caller.scope, s.config.limits.api_rate) {
        s.hub.metrics.rate_limited();
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests with this key: slow down",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(Box::new(r));
    }
    if let Some(k) = &caller.key {
        s.keys.used(k, now_ms());
    }
    Ok(caller)
}

/// The caller of a meeting API request (`/api/meetings/{id}/…`, see [`identify`]): its
/// credential must belong to meeting `id`, which must be live (else 401 or 410).
pub async fn caller(
    s: &AppState,
    headers: &HeaderMap,
    query_key: Option<&str>,
    id: &str,
) -> Result<Caller, Box<Response>> {
    let caller = identify(s, headers, query_key).await?;
    if caller.grant.meeting != id {
        return Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("this key is not valid for meeting {id:?}; ask its host for a key"),
        )));
    }
    if s.hub.meeting(id).is_none() {
        return Err(Box::new(json_error(
            StatusCode::GONE,
            "archived",
            format!(
                "meeting {id:?} is archived: it is read-only now; its report is still available"
            ),
        )));
    }
    Ok(caller)
}

/// `Some(401 response)` unless the request carries the admin token or the host token of
/// meeting `id`: who may manage the meeting's API keys. An API key, even a host key, may
/// not: a device's key cannot mint or revoke keys.
pub async fn host_or_admin_denied(s: &AppState, headers: &HeaderMap, id: &str) -> Option<Response> {
    let host = match bearer(headers) {
        Some(t) if constant_eq(t.as_bytes(), s.config.admin_token.as_bytes()) => return None,
        Some(t) => s.hub.find_grant(t).await,
        None => None,
    };
    match host {
        Some(g) if g.role == Role::Host && g.meeting == id => None,
        _ => Some(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("managing API keys needs the host token of meeting {id:?} (from its host link) or the admin token, as `Authorization: Bearer <token>`; an API key cannot manage keys"),
        )),
    }
}

/// Per-credential token buckets for the meeting API.
#[derive(Default)]
pub struct Limiter {
    /// One bucket per credential hash that has made a request. Bounded by the number of
    /// valid credentials: unknown ones are refused before they get a bucket.
    buckets: DashMap<[u8; 32], Bucket>,
}

impl Limiter {
    /// Takes one request from the credential's bucket; `false` if it is empty.
    pub fn allow(&self, scope: &[u8; 32], rate: RateLimit) -> bool {
        let now = Instant::now();
        let mut bucket = self
            .buckets
            .entry(*scope)
            .or_insert_with(|| Bucket::new(rate, now));
        bucket.take(now) == Verdict::Allow
    }
}
