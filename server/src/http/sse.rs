//! `GET /api/meetings/{id}/events`: the meeting as a Server-Sent Events stream, for
//! dashboards, bots, overlays and the Companion module — anything that does not speak
//! websocket. Authorised like the rest of the meeting API (`?key=` is accepted, since
//! `EventSource` cannot send headers).
//!
//! The stream, for the caller's role projection:
//!
//! ```text
//! retry: 2000
//!
//! event: agenda
//! data: {"type":"agenda","version":0,"agenda":{…},"planned":[…]}
//!
//! event: snapshot
//! id: 42
//! data: {"type":"snapshot","seq":42,"server_time":…,"state":{…}}
//!
//! event: change
//! id: 44
//! data: {"type":"change","seq":44,"server_time":…,"events":[…],"state":{…}}
//!
//! : keep-alive
//! ```
//!
//! One `change` per published change the role can see, `id:` = its `seq`; the data is
//! the very `change` message websocket clients get (the same shared bytes). The server
//! keeps only the latest state, so "without gaps" means: every event carries the complete
//! state; the `seq`s a client receives only grow; a client that reconnects with
//! `Last-Event-ID: N` gets, at once, a `snapshot` of the current state if it is newer
//! than `N` (and nothing if it is not), then every later change; so at any moment the
//! last event a connected client has received is the latest state, and no state it
//! could observe is ever older than one it already saw. Intermediate states (and their
//! `events` lists) may be skipped, exactly as on the websocket.
//!
//! Bounded memory: one task per stream reads the meeting's `watch` and hands one frame
//! at a time to the response body (a channel of one). While the client is slow to read,
//! changes are not queued: the next frame is the latest state. A frame the client does
//! not take within the send timeout ends the stream. Streams end at shutdown, when the
//! meeting closes (`event: closed`) and when the key is revoked (`event: revoked`: do
//! not reconnect; the key now gets 401).

use super::auth::caller;
use super::AppState;
use crate::clock::now_ms;
use crate::hub::views::Published;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use podium_protocol::Role;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// The event stream's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/meetings/{id}/events", get(events))
}

/// A comment line this often keeps proxies from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The data of the `closed` event.
const CLOSED: &[u8] =
    br#"{"type":"closed","message":"the meeting was archived or closed: do not reconnect"}"#;

/// What `EventSource` waits before reconnecting, sent once at the start.
const RETRY_MS: u64 = 2000;

/// The agenda message of a published state: its version and shared bytes.
pub fn agenda_message(published: &Published) -> (u64, Bytes) {
    (published.agenda.version, published.agenda.message())
}

/// One SSE frame: `event:`, optional `id:`, and `data:` in shared pieces.
fn frame(event: &str, id: Option<u64>, data: Vec<Bytes>) -> Vec<Bytes> {
    let mut head = format!("event: {event}\n");
    if let Some(id) = id {
        head.push_str(&format!("id: {id}\n"));
    }
    head.push_str("data: ");
    let mut out = Vec::with_capacity(data.len() + 2);
    out.push(Bytes::from(head));
    out.extend(data);
    out.push(Bytes::from_static(b"\n\n"));
    out
}

fn snapshot_frame(published: &Published, role: Role) -> Vec<Bytes> {
    let p = published.for_role(role);
    let change = p.change_bytes();
    let state = change.slice_ref(p.state().as_bytes());
    let head = format!(
        r#"{{"type":"snapshot","seq":{},"server_time":{},"state":"#,
        p.seq,
        now_ms()
    );
    frame(
        "snapshot",
        Some(p.seq),
        vec![Bytes::from(head), state, Bytes::from_static(b"}")],
    )
}

fn change_frame(published: &Published, role: Role) -> Vec<Bytes> {
    let p = published.for_role(role);
    frame("change", Some(p.seq), vec![p.change_bytes()])
}

fn comment(text: &'static str) -> Vec<Bytes> {
    vec![Bytes::from_static(text.as_bytes())]
}

/// `GET /api/meetings/{id}/events`.
async fn events(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&s, &headers, params.get("key").map(String::as_str), &id).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(meeting) = s.hub.meeting(&id) else {
        return super::json_error(
            axum::http::StatusCode::GONE,
            "archived",
            "the meeting has closed",
        );
    };
    // `Last-Event-ID` (sent by EventSource on reconnect), or `last_event_id=` for
    // clients that cannot set headers.
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(params.get("last_event_id").map(String::as_str))
        .and_then(|v| v.trim().parse().ok());
    let known_agenda: Option<u64> = params.get("agenda_version").and_then(|v| v.parse().ok());
    let role = caller.grant.role;
    let revocation = caller.grant.revocation.clone();
    let shutdown = s.shutdown.clone();
    let send_timeout = s.config.limits.send_timeout;
    let metrics = s.hub.metrics.clone();
    // Subscribe before reading the first state, so no change falls between them.
    let mut views = meeting.subscribe();
    let (tx, rx) = mpsc::channel::<Vec<Bytes>>(1);
    let span = tracing::info_span!("sse", meeting = %id, role = role.as_str());
    s.hub.tracker.spawn(
        async move {
            let send = |frame: Vec<Bytes>| {
                let tx = tx.clone();
                let metrics = metrics.clone();
                async move {
                    match tx.send_timeout(frame, send_timeout).await {
                        Ok(()) => Ok(()),
                        Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                            metrics.slow_dropped();
                            tracing::info!("event stream client stopped reading: dropped");
                            Err(())
                        }
                        Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(()),
                    }
                }
            };
            let first = views.borrow_and_update().clone();
            let mut seen = first.for_role(role).seq;
            let mut opening = vec![Bytes::from(format!("retry: {RETRY_MS}\n\n"))];
            let (mut agenda_sent, agenda) = agenda_message(&first);
            if last.is_none() || known_agenda != Some(agenda_sent) {
                opening.extend(frame("agenda", None, vec![agenda]));
            }
            match last {
                // Up to date: nothing was missed.
                Some(n) if n == seen => opening.extend(comment(": up to date\n\n")),
                // New, behind, or from another life of the meeting: the current state.
                _ => opening.extend(snapshot_frame(&first, role)),
            }
            if send(opening).await.is_err() {
                return;
            }
            let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
            keep_alive.reset();
            loop {
                let frame = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => {
                        let _ = send(comment(": server shutting down\n\n")).await;
                        return;
                    }
                    _ = revocation.cancelled() => {
                        let end = if revocation.close_frame().0 == crate::hub::close::ARCHIVED {
                            frame("closed", None, vec![Bytes::from_static(CLOSED)])
                        } else {
                            frame("revoked", None, vec![Bytes::from_static(
                                br#"{"type":"revoked","message":"this key or link was revoked: do not reconnect"}"#,
                            )])
                        };
                        let _ = send(end).await;
                        return;
                    }
                    changed = views.changed() => {
                        if changed.is_err() {
                            let _ = send(frame("closed", None, vec![Bytes::from_static(CLOSED)])).await;
                            return;
                        }
                        let published = views.borrow_and_update().clone();
                        let seq = published.for_role(role).seq;
                        if seq <= seen {
                            continue;
                        }
                        seen = seq;
                        keep_alive.reset();
                        let mut out = Vec::new();
                        // A new agenda version goes out before the first change that shows it.
                        let (version, agenda) = agenda_message(&published);
                        if version != agenda_sent {
                            agenda_sent = version;
                            out.extend(frame("agenda", None, vec![agenda]));
                        }
                        out.extend(change_frame(&published, role));
                        out
                    }
                    _ = keep_alive.tick() => comment(": keep-alive\n\n"),
                };
                if send(frame).await.is_err() {
                    return;
                }
            }
        }
        .instrument(span),
    );
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        let frame = rx.recv().await?;
        Some((
            futures_util::stream::iter(frame.into_iter().map(Ok::<_, std::convert::Infallible>)),
            rx,
        ))
    });
    let body = Body::from_stream(futures_util::StreamExt::flatten(body));
    let mut r = (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    // Tell buffering proxies (nginx) to pass events through as they come.
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}
