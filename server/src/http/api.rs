//! The meeting API for scripts, dashboards and hardware controllers, authorised by an API
//! key or a link token (see [`super::auth::caller`]):
//!
//! - `POST /api/meetings/{id}/commands`: a websocket `Command` as the JSON body, answered
//!   `200 {"seq"}` once durable or with the typed error and a fitting status; optional
//!   `Idempotency-Key` (see [`super::idempotency`]).
//! - `GET|POST /api/meetings/{id}/do/{action}?key=…`: see [`super::actions`].
//! - `GET /api/meetings/{id}/state`: the caller's projection of the live state, with a
//!   weak `ETag` (`If-None-Match` → 304).
//! - `GET /api/meetings/{id}/agenda`: the agenda and plan, with an `ETag`.
//! - `GET /api/me`: what a credential is (meeting, role, label), so a device configured
//!   with a server address and a key alone finds its meeting.
//!
//! A command goes to the meeting task like a websocket command does (`Input::Http`), so it
//! is checked against the caller's role by the same engine, in the same order.

use super::auth::{caller, identify, Caller};
use super::idempotency::{fingerprint, valid_key, Begin, Outcome};
use super::{json_error, AppState};
use crate::clock::now_ms;
use crate::engine::Actor;
use crate::hub::meeting::Input;
use crate::store::IdempotencyRecord;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use podium_protocol::{Command, ErrorCode, Role};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::oneshot;

/// The meeting API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/meetings/{id}/commands", post(post_command))
        .route("/api/meetings/{id}/state", get(state))
        .route("/api/meetings/{id}/agenda", get(agenda))
        .route("/api/me", get(me))
}

/// How long a command may take to be applied and written before the caller hears 503.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP status of a typed error.
pub fn status_of(code: ErrorCode) -> StatusCode {
    #[allow(unreachable_patterns)]
    match code {
        ErrorCode::BadRequest | ErrorCode::UnsupportedVersion => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidArgument | ErrorCode::NotFound => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::InvalidState | ErrorCode::Duplicate | ErrorCode::QueueClosed => {
            StatusCode::CONFLICT
        }
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::NoSuchMeeting => StatusCode::NOT_FOUND,
        ErrorCode::Archived => StatusCode::GONE,
        // The outcome is unknown (a cluster's meeting moving to another node): retry
        // with the same Idempotency-Key.
        ErrorCode::Internal | ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        // A code added later without a status here: the client's request was refused.
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The outcome of a refusal: its status and `{"error","message"}`.
pub(super) fn error_outcome(code: ErrorCode, message: impl Into<String>) -> Outcome {
    Outcome {
        status: status_of(code),
        body: json!({ "error": code, "message": message.into() }).to_string(),
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let retry = matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let mut r = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.body,
        )
            .into_response();
        if retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// Hands a command to the meeting task and waits for its reply: the answer, and whether
/// the task answered it from its idempotency record (a retry, nothing applied).
async fn execute(
    s: AppState,
    id: String,
    actor: Actor,
    role: Role,
    command: Command,
    record: Option<IdempotencyRecord>,
) -> (Outcome, bool) {
    let Some(meeting) = s.hub.meeting(&id) else {
        return (
            error_outcome(
                ErrorCode::Archived,
                format!("meeting {id:?} is archived or closed"),
            ),
            false,
        );
    };
    let (reply, rx) = oneshot::channel();
    let input = Input::Http {
        actor,
        command,
        idempotency: record,
        reply,
    };
    if !meeting.send(input).await {
        return (
            error_outcome(ErrorCode::Archived, format!("meeting {id:?} has closed")),
            false,
        );
    }
    match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
        Ok(Ok(Ok((seq, true)))) => (
            // A retry answered from its record: the seq its first answer named.
            Outcome {
                status: StatusCode::OK,
                body: json!({ "seq": seq }).to_string(),
            },
            true,
        ),
        Ok(Ok(Ok((seq, false)))) => {
            // The state was published before the reply: as on the websocket, a change
            // this role cannot see is answered with the state it can see.
            let seen = meeting.subscribe().borrow().for_role(role).seq;
            (
                Outcome {
                    status: StatusCode::OK,
                    body: json!({ "seq": seq.min(seen) }).to_string(),
                },
                false,
            )
        }
        Ok(Ok(Err((code, message)))) => (error_outcome(code, message), false),
        _ => (
            error_outcome(
                ErrorCode::Internal,
                "the meeting did not answer in time; the command may or may not have been applied: \
                 read the state, or retry with the same Idempotency-Key",
            ),
            false,
        ),
    }
}

/// Runs a command for a caller, with or without an idempotency key, and answers.
pub(super) async fn run_command(
    s: AppState,
    id: String,
    caller: Caller,
    command: Command,
    idempotency: Option<(String, [u8; 32])>,
) -> Response {
    let Some(actor) = caller.grant.actor() else {
        return error_outcome(
            ErrorCode::Forbidden,
            "this key only reads the meeting (observer); ask the host for a key with the right role",
        )
        .into_response();
    };
    let role = caller.grant.role;
    let Some((key, request)) = idempotency else {
        // Spawned: a client that hangs up does not cancel a command half-way.
        return tokio::spawn(execute(s, id, actor, role, command, None))
            .await
            .map(|(outcome, _)| outcome)
            .unwrap_or_else(|_| error_outcome(ErrorCode::Internal, "the command failed"))
            .into_response();
    };
    let scope = caller.scope;
    let task = tokio::spawn(async move {
        let pending = match s.api.idempotency.begin(&id, scope, &key, request).await {
            Begin::Mismatch => return (mismatch(), false),
            Begin::Replay(o) => return (o, true),
            Begin::New(p) => p,
        };
        // Not in this server's memory: the meeting task knows every key applied in the
        // last day (from before a restart, or through another node of a cluster), and
        // answers a retry from its record instead of applying it again.
        let record = IdempotencyRecord {
            meeting: id.clone(),
            scope,
            key,
            request,
            seq: 0,
            at: 0,
        };
        let (outcome, replayed) = execute(s, id, actor, role, command, Some(record)).await;
        pending.finish(&outcome);
        (outcome, replayed)
    });
    match task.await {
        Ok((outcome, replayed)) => {
            let mut r = outcome.into_response();
            if replayed {
                r.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            r
        }
        Err(_) => error_outcome(ErrorCode::Internal, "the command failed").into_response(),
    }
}

fn mismatch() -> Outcome {
    error_outcome(
        ErrorCode::InvalidArgument,
        "this Idempotency-Key was already used for another request: use a new key for each new request",
    )
}

/// The `Idempotency-Key` of a request with the fingerprint of `path` and `body`; `Err`
/// is the 400 to answer.
pub(super) fn idempotency_key(
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<Option<(String, [u8; 32])>, Box<Response>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if valid_key(k) => Ok(Some((k.to_string(), fingerprint(path, body)))),
        _ => Err(Box::new(json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good key)",
        ))),
    }
}

/// `POST /api/meetings/{id}/commands`.
async fn post_command(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match caller(&s, &headers, None, &id).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let command: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            s.hub.metrics.bad_message();
            return error_outcome(
                ErrorCode::BadRequest,
                format!("{e}: send one command as JSON, e.g. {{\"type\":\"next_segment\"}}; see PROTOCOL.md"),
            )
            .into_response();
        }
    };
    let idem = match idempotency_key(&headers, &format!("/api/meetings/{id}/commands"), &body) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    run_command(s, id, caller, command, idem).await
}

/// Query parameters (`key` for every GET of the meeting API).
pub(super) type Params = HashMap<String, String>;

/// Which projection a role reads, as named in ETags.
fn view_name(role: Role) -> &'static str {
    if role.is_staff() {
        "staff"
    } else {
        "public"
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, `*` matches).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

fn cached(etag: &str, content: Option<String>) -> Response {
    let headers = [
        (header::ETAG, etag.to_string()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    match content {
        None => (StatusCode::NOT_MODIFIED, headers).into_response(),
        Some(body) => (headers, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

/// `GET /api/meetings/{id}/state`: `{"type":"snapshot","seq","server_time","state"}`.
async fn state(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&s, &headers, params.get("key").map(String::as_str), &id).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(meeting) = s.hub.meeting(&id) else {
        return error_outcome(ErrorCode::Archived, "the meeting has closed").into_response();
    };
    let published = meeting.subscribe().borrow().clone();
    let role = caller.grant.role;
    let p = published.for_role(role);
    let etag = format!("W/\"{}-{}\"", view_name(role), p.seq);
    if not_modified(&headers, &etag) {
        return cached(&etag, None);
    }
    let body = format!(
        r#"{{"type":"snapshot","seq":{},"server_time":{},"state":{}}}"#,
        p.seq,
        now_ms(),
        p.state()
    );
    cached(&etag, Some(body))
}

/// `GET /api/meetings/{id}/agenda`: `{"type":"agenda","version","agenda","planned"}`.
async fn agenda(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = caller(&s, &headers, params.get("key").map(String::as_str), &id).await {
        return *r;
    }
    let Some(meeting) = s.hub.meeting(&id) else {
        return error_outcome(ErrorCode::Archived, "the meeting has closed").into_response();
    };
    let published = meeting.subscribe().borrow().clone();
    let (version, body) = super::sse::agenda_message(&published);
    let etag = format!("W/\"agenda-{version}\"");
    if not_modified(&headers, &etag) {
        return cached(&etag, None);
    }
    cached(
        &etag,
        Some(String::from_utf8(body.to_vec()).unwrap_or_default()),
    )
}

/// `GET /api/me`: `{"meeting","role","kind"}`, plus `key_id` and `label` for API keys
/// and `person` for moderator and speaker links.
async fn me(
    State(s): State<AppState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let caller = match identify(&s, &headers, params.get("key").map(String::as_str)).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let g = &caller.grant;
    let mut v = json!({
        "meeting": g.meeting,
        "role": g.role,
        "kind": if caller.key.is_some() { "key" } else { "link" },
    });
    if let Some(k) = &caller.key {
        let scope = crate::keys::KeyScope::from_stored(g.role, g.person.as_deref());
        v["role"] = json!(scope.map(|sc| sc.to_string()).unwrap_or_default());
        v["key_id"] = json!(k.id);
        v["label"] = json!(k.label);
    } else if let Some(p) = &g.person {
        v["person"] = json!(p);
    }
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(v)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static(r#""x", W/"public-7""#),
        );
        assert!(not_modified(&h, r#"W/"public-7""#));
        assert!(!not_modified(&h, r#"W/"public-8""#));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, r#"W/"staff-1""#));
    }

    #[test]
    fn every_error_code_has_a_status() {
        assert_eq!(status_of(ErrorCode::Forbidden), StatusCode::FORBIDDEN);
        assert_eq!(
            status_of(ErrorCode::Internal),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(ErrorCode::InvalidState), StatusCode::CONFLICT);
    }
}
