//! `GET|POST /api/meetings/{id}/do/{action}?key=…`: the commands a Stream Deck key, a
//! foot switch or any controller that can only fire a URL sends ([`ACTIONS`]), with their
//! arguments in the query string (`seconds`, `target`, `hand`, `preset`, `text`, `lang`).
//! Each becomes one `Command`, run like `POST …/commands` (same authorisation, same
//! answers, `Idempotency-Key` honoured). A key in a URL may be logged by proxies in
//! between; Podium never logs it (PROTOCOL.md, *Meeting API*, says what to do about it).

use super::api::{error_outcome, idempotency_key, run_command, Params};
use super::auth::caller;
use super::idempotency::Outcome;
use super::{presets, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use podium_protocol::{ClockTarget, Command, ErrorCode, Lang};
use serde_json::json;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/meetings/{id}/do/{action}",
        get(do_action).post(do_action),
    )
}

/// The actions `do/{action}` accepts: the commands that make sense on one button.
/// Meeting-wide, irreversible ones (`end_meeting`, `clear_queue`) are left out on purpose.
pub const ACTIONS: &[&str] = &[
    "next_segment",
    "previous_segment",
    "start_clock",
    "pause_clock",
    "resume_clock",
    "adjust_clock",
    "give_floor_to_hand",
    "end_speech",
    "close_queue",
    "reopen_queue",
    "message_speaker",
    "slow_down",
    "no_interpretation",
];

fn target(p: &Params) -> Result<ClockTarget, Outcome> {
    match p.get("target").map(String::as_str) {
        None | Some("segment") => Ok(ClockTarget::Segment),
        Some("speech") => Ok(ClockTarget::Speech),
        Some(other) => Err(error_outcome(
            ErrorCode::InvalidArgument,
            format!("target={other:?}: use target=segment or target=speech"),
        )),
    }
}

fn lang(p: &Params) -> Result<Option<Lang>, Outcome> {
    p.get("lang")
        .map(|l| l.parse::<Lang>())
        .transpose()
        .map_err(|e| error_outcome(ErrorCode::InvalidArgument, e.to_string()))
}

/// The floor language of the person speaking now, from a state's JSON.
fn speaking_language(state_json: &str) -> Option<Lang> {
    let v: serde_json::Value = serde_json::from_str(state_json).ok()?;
    serde_json::from_value(v.get("speech")?.get("speaker")?.get("language")?.clone()).ok()
}

/// The command a `do/{action}` request stands for.
fn do_command(s: &AppState, id: &str, action: &str, p: &Params) -> Result<Command, Outcome> {
    Ok(match action {
        "next_segment" => Command::NextSegment,
        "previous_segment" => Command::PreviousSegment,
        "start_clock" => Command::StartClock { target: target(p)? },
        "pause_clock" => Command::PauseClock { target: target(p)? },
        "resume_clock" => Command::ResumeClock { target: target(p)? },
        "adjust_clock" => {
            let seconds = p
                .get("seconds")
                .and_then(|v| v.trim_start_matches('+').parse::<i64>().ok())
                .ok_or_else(|| {
                    error_outcome(
                        ErrorCode::InvalidArgument,
                        "adjust_clock needs seconds=N (negative removes time), e.g. seconds=60 or seconds=-30",
                    )
                })?;
            Command::AdjustClock {
                target: target(p)?,
                seconds,
            }
        }
        "give_floor_to_hand" => Command::GiveFloorToHand {
            hand: match p.get("hand") {
                None => None,
                Some(h) => Some(h.parse().map_err(|_| {
                    error_outcome(
                        ErrorCode::InvalidArgument,
                        "hand must be a hand id (a number)",
                    )
                })?),
            },
        },
        "end_speech" => Command::EndSpeech,
        "close_queue" => Command::CloseQueue,
        "reopen_queue" => Command::ReopenQueue,
        "slow_down" => Command::SlowDown { language: lang(p)? },
        "no_interpretation" => Command::NoInterpretation { language: lang(p)? },
        "message_speaker" => {
            let text = match (p.get("text"), p.get("preset")) {
                (Some(t), _) => t.clone(),
                (None, Some(preset)) => {
                    let speaking = s.hub.meeting(id).and_then(|m| {
                        let published = m.subscribe().borrow().clone();
                        speaking_language(published.staff.state())
                    });
                    presets::text(preset, &[lang(p)?, speaking])
                        .ok_or_else(|| {
                            error_outcome(
                                ErrorCode::InvalidArgument,
                                format!(
                                    "no message preset {preset:?}; presets: {}",
                                    presets::ids().join(", ")
                                ),
                            )
                        })?
                        .to_string()
                }
                (None, None) => {
                    return Err(error_outcome(
                        ErrorCode::InvalidArgument,
                        format!(
                            "message_speaker needs text=… or preset=… ({})",
                            presets::ids().join(", ")
                        ),
                    ))
                }
            };
            Command::MessageSpeaker { text }
        }
        other => {
            return Err(Outcome {
                status: StatusCode::NOT_FOUND,
                body: json!({
                    "error": ErrorCode::NotFound,
                    "message": format!("no action {other:?}; actions: {}", ACTIONS.join(", ")),
                })
                .to_string(),
            })
        }
    })
}

/// `GET|POST /api/meetings/{id}/do/{action}?key=…&…`.
pub async fn do_action(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&s, &headers, params.get("key").map(String::as_str), &id).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let command = match do_command(&s, &id, &action, &params) {
        Ok(c) => c,
        Err(o) => return o.into_response(),
    };
    // The fingerprint covers the action and its arguments, never the key.
    let mut args: Vec<(&String, &String)> = params.iter().filter(|(k, _)| *k != "key").collect();
    args.sort();
    let body = serde_json::to_vec(&args).unwrap_or_default();
    let idem = match idempotency_key(&headers, &format!("/api/meetings/{id}/do/{action}"), &body) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    run_command(s, id, caller, command, idem).await
}
