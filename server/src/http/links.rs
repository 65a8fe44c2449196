//! The admin API for a meeting's links: `GET /api/meetings/{id}/links` (every role link)
//! and `POST /api/meetings/{id}/links/rotate` (`{"role": "...", "person": "..."}`: a new
//! link replaces the old one, whose connections close with 4001). `podium links --rotate`
//! calls the latter when a server runs, so open connections are closed.

use super::auth::admin_denied;
use super::{json_error, AppState};
use crate::hub::links;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use podium_protocol::{ErrorCode, Role};
use serde::Deserialize;

/// The link routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/meetings/{id}/links", get(list_links))
        .route("/api/meetings/{id}/links/rotate", post(rotate_link))
        .route("/api/meetings/{id}/invitations", post(invite))
}

/// `POST /api/meetings/{id}/invitations`: a delegates CSV in, the mail-merge CSV with
/// each delegate's personal link out (see [`crate::invite`]).
async fn invite(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    let delegates = match crate::invite::parse(&body) {
        Ok(d) => d,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "invalid_csv", e.to_string()),
    };
    let h = match live(&s, &id) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    match h.invite(delegates.clone()).await {
        Ok(made) => {
            let rows: Vec<_> = delegates
                .into_iter()
                .zip(made)
                .map(|(d, (pid, token))| {
                    let url = crate::invite::url(&s.base_url, &id, d.role(), &token);
                    (d, pid, url)
                })
                .collect();
            match crate::invite::output(&rows) {
                Ok(csv) => (
                    [
                        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                        (axum::http::header::CACHE_CONTROL, "no-store"),
                    ],
                    csv,
                )
                    .into_response(),
                Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
            }
        }
        Err((ErrorCode::InvalidArgument, message)) => {
            json_error(StatusCode::BAD_REQUEST, "invalid_argument", message)
        }
        Err((code, message)) => json_error(
            StatusCode::CONFLICT,
            serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .as_deref()
                .unwrap_or("refused"),
            message,
        ),
    }
}

/// A live meeting's handle, or 404.
fn live(s: &AppState, id: &str) -> Result<crate::hub::meeting::MeetingHandle, Box<Response>> {
    s.hub.meeting(id).ok_or_else(|| {
        Box::new(json_error(
            StatusCode::NOT_FOUND,
            "no_such_meeting",
            format!("no live meeting has the id {id:?}"),
        ))
    })
}

async fn list_links(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    let h = match live(&s, &id) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    let rows = h.links().await.unwrap_or_default();
    Json(links(&s.base_url, &id, &h.agenda(), &rows)).into_response()
}

/// `POST …/links/rotate` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    role: Role,
    #[serde(default)]
    person: Option<String>,
}

async fn rotate_link(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    if let Some(r) = admin_denied(&s, &headers) {
        return r;
    }
    let req: Rotate = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("{e}: send {{\"role\": \"speaker\", \"person\": \"carola-gunnarsson\"}}"),
            )
        }
    };
    let h = match live(&s, &id) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    match h.rotate(req.role, req.person).await {
        Ok(row) => {
            let link = links(&s.base_url, &id, &h.agenda(), std::slice::from_ref(&row));
            Json(link.into_iter().next()).into_response()
        }
        Err((ErrorCode::NotFound, message)) => {
            json_error(StatusCode::NOT_FOUND, "not_found", message)
        }
        Err((_, message)) => json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message),
    }
}
