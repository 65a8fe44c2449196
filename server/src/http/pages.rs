//! What a browser or a monitor fetches: `GET /` (a hint), `GET /healthz`, `GET /metrics`
//! (Prometheus text), the browser client's page `GET /m/{meeting}/{role}` and its files
//! `GET /assets/{*path}`.

use super::AppState;
use crate::web;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/m/{meeting}/{role}", get(|| async { web::index() }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move { web::asset(&path) }),
        )
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
