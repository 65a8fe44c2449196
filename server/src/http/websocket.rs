//! `GET /ws`: the websocket upgrade. Sets the per-connection buffer and message limits,
//! then hands the socket to [`crate::ws::serve`], tracked so shutdown can wait for it.

use super::AppState;
use crate::ws;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

/// The websocket route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ws", get(websocket))
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
