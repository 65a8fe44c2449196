//! The admin API, guarded by the server's admin token: `POST /api/meetings` (create from
//! a TOML or JSON agenda), `GET /api/meetings` (list), `POST /api/meetings/{id}/archive`
//! and `DELETE /api/meetings/{id}`.

use super::auth::admin_denied;
use super::{hub_error, AppState};
use crate::clock::now_ms;
use crate::hub::links;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use podium_protocol::Agenda;
use serde_json::json;

/// The admin API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/meetings", post(create_meeting).get(list_meetings))
        .route("/api/meetings/{id}/archive", post(archive_meeting))
        .route("/api/meetings/{id}", delete(delete_meeting))
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
        Ok(()) => {
            s.keys.forget_meeting(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => hub_error(e),
    }
}
