//! The HTTP surface, one file per group of requests; this file builds the router from
//! them and holds what they share ([`AppState`], JSON errors, hub-error mapping).
//!
//! - [`pages`]: `/`, `/healthz`, `/metrics`, the browser client (`/m/…`, `/assets/…`).
//! - [`websocket`]: `GET /ws`, the upgrade into [`crate::ws`].
//! - [`admin`]: the admin API (`/api/meetings`: create, list, archive, delete).
//! - [`reports`]: `/api/meetings/{id}/report.json|csv` (host token).
//! - [`links`]: `/api/meetings/{id}/links` and `…/links/rotate` (admin token).
//! - [`keys`]: `/api/meetings/{id}/keys`: create, list, revoke API keys (host token).
//! - [`api`]: the meeting API for keys and link tokens: `commands`, `state`, `agenda`,
//!   `/api/me`; with [`idempotency`].
//! - [`actions`]: `do/{action}`, commands fired by URL, with the message [`presets`].
//! - [`sse`]: `/api/meetings/{id}/events`, the Server-Sent Events stream.
//! - [`stall`]: every connection's socket: a write stalled past a timeout fails.
//! - [`auth`]: bearer tokens, constant-time comparison, the admin and host checks, the
//!   meeting API's caller and its rate limit.
//! - [`preview`]: `/api/meetings/{id}/preview`, title and date for a join form (any link token).
//!
//! Handlers are thin: they authenticate, call the hub, and encode. Each file exposes
//! `routes()`, a `Router<AppState>` of its own paths; [`router`] merges them, so a layer
//! (headers, timeouts, origin checks) can wrap one group or the whole.

pub mod actions;
pub mod admin;
pub mod api;
pub mod auth;
pub mod idempotency;
pub mod keys;
pub mod links;
pub mod pages;
pub mod presets;
pub mod preview;
pub mod reports;
pub mod sse;
pub mod stall;
pub mod websocket;

use crate::hub::{Hub, HubError};
use crate::keys::KeyRing;
use crate::store::StoreError;
use crate::Config;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub use auth::{bearer, constant_eq};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The meetings.
    pub hub: Arc<Hub>,
    /// The API keys the meeting API accepts.
    pub keys: Arc<KeyRing>,
    /// The meeting API's own state: rate limits and idempotency keys.
    pub api: Arc<ApiState>,
    /// Settings.
    pub config: Arc<Config>,
    /// The base URL links are built on.
    pub base_url: Arc<str>,
    /// Ends websockets at shutdown.
    pub shutdown: CancellationToken,
    /// The websocket endpoint (`/ws`): connections and the meetings' fan-outs.
    pub ws: Arc<crate::ws::Endpoint>,
}

impl axum::extract::FromRef<AppState> for Arc<crate::ws::Endpoint> {
    fn from_ref(s: &AppState) -> Arc<crate::ws::Endpoint> {
        s.ws.clone()
    }
}

/// The meeting API's state, shared by its handlers.
#[derive(Default)]
pub struct ApiState {
    /// Token buckets per credential.
    pub limiter: auth::Limiter,
    /// Answers of requests sent with an `Idempotency-Key`.
    pub idempotency: Arc<idempotency::Cache>,
}

impl AppState {
    /// The state of a server's router.
    pub fn new(
        hub: Arc<Hub>,
        keys: Arc<KeyRing>,
        config: Arc<Config>,
        base_url: Arc<str>,
        shutdown: CancellationToken,
    ) -> AppState {
        let ws = crate::ws::Endpoint::new(hub.clone(), config.limits.clone(), shutdown.clone());
        AppState {
            hub,
            keys,
            api: Arc::default(),
            config,
            base_url,
            shutdown,
            ws,
        }
    }
}

/// The whole router: every group's routes, sharing `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(websocket::routes())
        .merge(admin::routes())
        .merge(reports::routes())
        .merge(links::routes())
        .merge(keys::routes())
        .merge(api::routes())
        .merge(actions::routes())
        .merge(sse::routes())
        .merge(preview::routes())
        .with_state(state)
}

/// A JSON error response: `{"error": code, "message": message}`.
pub fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
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
