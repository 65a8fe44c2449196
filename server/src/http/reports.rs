//! `GET /api/meetings/{id}/report.json` and `…/report.csv`: the report of a live or
//! archived meeting as of now, for the meeting's host (host token as a bearer token).
//! The report itself is built by [`crate::report`]; this file only authorises and encodes.

use super::auth::host_denied;
use super::{hub_error, json_error, AppState};
use crate::clock::now_ms;
use crate::report::{Report, ReportError};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The report routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/meetings/{id}/report.json", get(report_json))
        .route("/api/meetings/{id}/report.csv", get(report_csv))
}

/// Checks the host token for meeting `id` and builds its report, or the error response.
async fn authorized(s: &AppState, headers: &HeaderMap, id: &str) -> Result<Report, Response> {
    // The meeting's host, or the server's administrator (archived meetings included).
    if super::auth::admin_denied(s, headers).is_some() {
        if let Some(r) = host_denied(s, headers, id).await {
            return Err(r);
        }
    }
    let engine = s.hub.report_engine(id).await.map_err(hub_error)?;
    Ok(Report::build(&engine, now_ms()))
}

fn encode_error(e: ReportError) -> Response {
    tracing::error!(error = %e, "report encoding failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

/// `GET /api/meetings/{id}/report.json`: the report as JSON (host token required).
async fn report_json(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let report = match authorized(&s, &headers, &id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    match report.to_json() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => encode_error(e),
    }
}

/// `GET /api/meetings/{id}/report.csv`: the report as one CSV sheet, as a download
/// named `<id>-report.csv` (host token required).
async fn report_csv(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let report = match authorized(&s, &headers, &id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    // Meeting ids are a-z, 0-9 and '-'; anything else is dropped from the file name.
    let file: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match report.to_csv() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}-report.csv\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            body,
        )
            .into_response(),
        Err(e) => encode_error(e),
    }
}
