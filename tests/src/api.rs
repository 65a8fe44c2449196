//! Helpers for black-box tests of the meeting API (`/api/meetings/{id}/…`): make API keys
//! with the host token, send commands with a key, read the state.

use crate::http::{request, Response};
use anyhow::{bail, Result};
use serde_json::Value;
use std::net::SocketAddr;

/// Creates an API key over HTTP with `manager` (host or admin token); returns (id, key).
pub async fn create_key(
    addr: SocketAddr,
    meeting: &str,
    manager: &str,
    role: &str,
    label: &str,
) -> Result<(String, String)> {
    let auth = format!("Bearer {manager}");
    let body = serde_json::json!({ "role": role, "label": label }).to_string();
    let r = request(
        addr,
        "POST",
        &format!("/api/meetings/{meeting}/keys"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await?;
    if r.status != 201 {
        bail!("creating a {role} key: {} {}", r.status, r.body);
    }
    let v = r.json()?;
    Ok((
        v["id"].as_str().unwrap_or_default().to_string(),
        v["key"].as_str().unwrap_or_default().to_string(),
    ))
}

/// `POST /api/meetings/{meeting}/commands` with `credential` as bearer and extra headers.
pub async fn command(
    addr: SocketAddr,
    meeting: &str,
    credential: &str,
    command: &Value,
    extra: &[(&str, &str)],
) -> Result<Response> {
    let auth = format!("Bearer {credential}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    request(
        addr,
        "POST",
        &format!("/api/meetings/{meeting}/commands"),
        &headers,
        command.to_string().as_bytes(),
    )
    .await
}

/// A command that must be accepted: its `seq`.
pub async fn must(addr: SocketAddr, meeting: &str, credential: &str, cmd: &Value) -> Result<u64> {
    let r = command(addr, meeting, credential, cmd, &[]).await?;
    if r.status != 200 {
        bail!("{cmd} refused: {} {}", r.status, r.body);
    }
    Ok(r.json()?["seq"].as_u64().unwrap_or_default())
}

/// `GET /api/meetings/{meeting}/{rest}` (rest may carry a query string), no headers.
pub async fn get_path(addr: SocketAddr, meeting: &str, rest: &str) -> Result<Response> {
    request(
        addr,
        "GET",
        &format!("/api/meetings/{meeting}/{rest}"),
        &[],
        b"",
    )
    .await
}

/// The state as `GET /state` gives it to `credential`: (seq, state JSON).
pub async fn state(addr: SocketAddr, meeting: &str, credential: &str) -> Result<(u64, Value)> {
    let auth = format!("Bearer {credential}");
    let r = request(
        addr,
        "GET",
        &format!("/api/meetings/{meeting}/state"),
        &[("Authorization", &auth)],
        b"",
    )
    .await?;
    if r.status != 200 {
        bail!("GET state: {} {}", r.status, r.body);
    }
    let v = r.json()?;
    Ok((v["seq"].as_u64().unwrap_or_default(), v["state"].clone()))
}
