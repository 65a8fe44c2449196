//! What a browser or a monitor fetches: `GET /` (a hint), `GET /healthz`, `GET /metrics`
//! (Prometheus text), the browser client's page `GET /m/{meeting}/{role}` and its files
//! `GET /assets/{*path}`, and the broadcast overlays `GET /overlays/{name}` (browser
//! sources for OBS or vMix: `lower-third`, `clock`, `next`; the key rides in the fragment).

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
        .route("/overlays/{name}", get(overlay))
}

/// The overlays, by page name.
pub const OVERLAYS: &[&str] = &["lower-third", "clock", "next"];

/// `GET /overlays/{name}`: an overlay page. Its key is in the URL fragment, which browsers
/// never send; the page must not leak its URL to anyone either.
async fn overlay(Path(name): Path<String>) -> Response {
    if !OVERLAYS.contains(&name.as_str()) {
        return (
            axum::http::StatusCode::NOT_FOUND,
            format!("no overlay {name:?}; overlays: {}", OVERLAYS.join(", ")),
        )
            .into_response();
    }
    let mut r = web::asset(&format!("overlays/{name}.html"));
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    r
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
