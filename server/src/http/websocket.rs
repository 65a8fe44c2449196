//! `GET /ws`: the websocket upgrade, answered by [`crate::ws::upgrade`] (which keeps the
//! raw socket for the fan-out and tracks the connection so shutdown can wait for it).

use super::AppState;
use axum::routing::get;
use axum::Router;

/// The websocket route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ws", get(crate::ws::upgrade::upgrade))
}
