//! Managing a meeting's API keys over HTTP, with the meeting's host token (or the admin
//! token; never with an API key): `POST /api/meetings/{id}/keys` (create: `{"role",
//! "label"}` → `201` with the key, shown this once), `GET /api/meetings/{id}/keys`
//! (list: id, role, label, created, last used, revoked) and
//! `DELETE /api/meetings/{id}/keys/{key_id}` (revoke: the key fails from then on, and
//! event streams opened with it end). `podium keys` uses these when a server runs.

use super::auth::host_or_admin_denied;
use super::{json_error, AppState};
use crate::clock::now_ms;
use crate::keys::{describe, KeyError, KeyScope};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// The key management routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/meetings/{id}/keys", post(create).get(list))
        .route("/api/meetings/{id}/keys/{key_id}", delete(revoke))
}

/// The answer to a failed key operation.
pub fn key_error(e: KeyError) -> Response {
    let status = match &e {
        KeyError::BadScope(_) | KeyError::BadLabel(_) => StatusCode::UNPROCESSABLE_ENTITY,
        KeyError::NoSuchMeeting(_) | KeyError::NoSuchKey { .. } => StatusCode::NOT_FOUND,
        KeyError::Archived(_) => StatusCode::GONE,
        KeyError::Store(_) => {
            tracing::error!(error = %e, "key operation failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let code = match &e {
        KeyError::BadScope(_) | KeyError::BadLabel(_) => "invalid_argument",
        KeyError::NoSuchMeeting(_) => "no_such_meeting",
        KeyError::NoSuchKey { .. } => "not_found",
        KeyError::Archived(_) => "archived",
        KeyError::Store(_) => "internal",
    };
    json_error(status, code, e.to_string())
}

/// The body of a create request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    /// `host`, `moderator:PERSON`, `interpreter:LANG` or `observer`.
    role: String,
    /// Who holds it.
    label: String,
}

async fn create(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = host_or_admin_denied(&s, &headers, &id).await {
        return r;
    }
    let new: NewKey = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("{e}: send {{\"role\":\"moderator:cecile-riallant\",\"label\":\"Stream Deck booth A\"}}"),
            )
        }
    };
    let scope = match KeyScope::parse(&new.role) {
        Ok(sc) => sc,
        Err(e) => return key_error(e),
    };
    match s.keys.create(&id, &scope, &new.label, now_ms()).await {
        Ok((row, key)) => {
            let mut v = describe(&row);
            v["key"] = json!(key);
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(e) => key_error(e),
    }
}

async fn list(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = host_or_admin_denied(&s, &headers, &id).await {
        return r;
    }
    match s.keys.list(&id).await {
        Ok(rows) => Json(rows.iter().map(describe).collect::<Vec<_>>()).into_response(),
        Err(e) => key_error(e),
    }
}

async fn revoke(
    State(s): State<AppState>,
    Path((id, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = host_or_admin_denied(&s, &headers, &id).await {
        return r;
    }
    match s.keys.revoke(&id, &key_id, now_ms()).await {
        Ok(row) => Json(describe(&row)).into_response(),
        Err(e) => key_error(e),
    }
}
