//! `GET /api/meetings/{id}/preview`: what a page shows before it has joined — the
//! meeting's title, subtitle, planned start and end, time zone and the languages one may
//! speak on its floor (the booths' and those a relay rule covers) — for the
//! holder of any link of that meeting (a join link included), sent as a bearer token.
//! The join form names the meeting and its date with it; nothing else is revealed, and
//! a token of another meeting gets the same 401 as an unknown one.

use super::auth::bearer;
use super::{json_error, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// The preview route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/meetings/{id}/preview", get(preview))
}

async fn preview(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let granted = match bearer(&headers) {
        Some(t) => s.hub.find_grant(t).await.is_some_and(|g| g.meeting == id),
        None => false,
    };
    if !granted {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("send a link token of meeting {id:?} as `Authorization: Bearer <token>`"),
        );
    }
    let Some(meeting) = s.hub.meeting(&id) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "no_such_meeting",
            format!("meeting {id:?} is not running (archived or deleted)"),
        );
    };
    let agenda = meeting.agenda();
    let planned = agenda.planned_starts_ms();
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "meeting": id,
            "title": agenda.meeting.title,
            "subtitle": agenda.meeting.subtitle,
            "time_zone": agenda.meeting.time_zone,
            "start": planned.first(),
            "end": planned.last(),
            "languages": agenda.floor_languages(),
        })),
    )
        .into_response()
}
