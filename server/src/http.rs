//! The HTTP surface: health, metrics, the admin API, the websocket endpoint and the
//! embedded client. Handlers are thin: they authenticate, call the hub, and encode.

use crate::clock::now_ms;
use crate::hub::{links, Hub, HubError};
use crate::store::StoreError;
use crate::{web, ws, Config};
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use podium_protocol::Agenda;
use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The meetings.
    pub hub: Arc<Hub>,
    /// Settings.
    pub config: Arc<Config>,
    /// The base URL links are built on.
    pub base_url: Arc<str>,
    /// Ends websockets at shutdown.
    pub shutdown: CancellationToken,
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/ws", get(websocket))
        .route("/api/meetings", post(create_meeting).get(list_meetings))
        .route("/api/meetings/{id}/archive", post(archive_meeting))
        .route("/api/meetings/{id}", axum::routing::delete(delete_meeting))
        .route(
            "/api/meetings/{id}/report.json",
            get(crate::report::http_json),
        )
        .route(
            "/api/meetings/{id}/report.csv",
            get(crate::report::http_csv),
        )
        .route("/m/{meeting}/{role}", get(|| async { web::index() }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move { web::asset(&path) }),
        )
        .with_state(state)
}

async fn home() -> &'static str {
    "Podium is running. Open one of the links printed by `podium serve` (or `podium links`).\n"
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.hub.metrics.render(),
    )
        .into_response()
}

async fn websocket(
    State(s): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limits = s.config.limits.clone();
    let hub = s.hub.clone();
    let shutdown = s.shutdown.clone();
    let tracker = hub.tracker.clone();
    upgrade
        .read_buffer_size(limits.read_buffer)
        .write_buffer_size(0)
        .max_message_size(limits.max_message)
        .max_frame_size(limits.max_message)
        .on_upgrade(move |socket| {
            // Runs in the task axum spawned for the upgrade (no second task per
            // connection); tracked so shutdown can wait for every Close frame.
            let conn = ws::serve(socket, hub, limits, shutdown);
            // The client's address, for join admission (see `admission::PEER`).
            let ip = peer.map(|p| p.0 .0.ip());
            tracker.track_future(crate::admission::PEER.scope(ip, conn))
        })
}

/// A JSON error response.
pub fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `Some(401 response)` unless the request carries the admin token.
fn admin_denied(s: &AppState, headers: &HeaderMap) -> Option<Response> {
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

/// Compares secrets without an early exit.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Maps hub errors to HTTP.
pub fn hub_error(e: HubError) -> Response {
    match e {
        HubError::Store(StoreError::Exists(id)) => json_error(
            StatusCode::CONFLICT,
            "exists",
            format!("a meeting with the id {id:?} exists already; set meeting.id to another id"),
        ),
        HubError::Store(StoreError::NoSuchMeeting(id)) | HubError::NoSuchMeeting(id) => json_error(
            StatusCode::NOT_FOUND,
            "no_such_meeting",
            format!("no meeting has the id {id:?}"),
        ),
        e => {
            tracing::error!(error = %e, "request failed");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        }
    }
}

async fn create_meeting(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
        || body.trim_start().starts_with('{');
    let parsed = if is_json {
        Agenda::from_json(&body)
    } else {
        Agenda::from_toml(&body)
    };
    let agenda = match parsed {
        Ok(a) => a,
        Err(errors) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": "invalid_agenda",
                    "message": format!("the agenda has {} problem(s); fix them and send it again", errors.0.len()),
                    "errors": errors.0,
                })),
            )
                .into_response()
        }
    };
    let title = agenda.meeting.title.clone();
    match s.hub.create(agenda.clone(), now_ms()).await {
        Ok((id, rows)) => {
            tracing::info!(meeting = %id, "meeting created");
            let links = links(&s.base_url, &id, &agenda, &rows);
            (
                StatusCode::CREATED,
                Json(json!({ "meeting": id, "title": title, "links": links })),
            )
                .into_response()
        }
        Err(e) => hub_error(e),
    }
}

async fn list_meetings(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    match s.hub.list().await {
        Ok(ms) => Json(
            ms.iter()
                .map(|m| {
                    json!({
                        "meeting": m.id,
                        "title": m.agenda.meeting.title,
                        "status": m.status,
                        "created_at": m.created_at,
                        "segments": m.agenda.segments.len(),
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => hub_error(e),
    }
}

async fn archive_meeting(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    match s.hub.archive(&id).await {
        Ok(()) => Json(json!({ "meeting": id, "status": "archived" })).into_response(),
        Err(e) => hub_error(e),
    }
}

async fn delete_meeting(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    match s.hub.delete(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => hub_error(e),
    }
}
