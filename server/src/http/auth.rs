//! Who is asking: the bearer token of a request, secrets compared in constant time, and
//! the two checks the HTTP API makes — the server's admin token ([`admin_denied`]) and a
//! meeting's host token ([`host_denied`]). Answers no request itself.

use super::{json_error, AppState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use podium_protocol::Role;

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
pub fn host_denied(s: &AppState, headers: &HeaderMap, id: &str) -> Option<Response> {
    let Some(token) = bearer(headers) else {
        return Some(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the meeting's host token (from the host link printed by `podium serve`) as `Authorization: Bearer <token>`",
        ));
    };
    match s.hub.grant(token) {
        Some(g) if g.role == Role::Host && g.meeting == id => None,
        _ => Some(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("this token is not the host token of meeting {id:?}; send that meeting's host token"),
        )),
    }
}
