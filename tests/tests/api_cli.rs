//! `podium keys` and the HTTP API against the real binary: keys made offline work when
//! the server starts; while a server runs, the command goes through it (so a revocation
//! takes effect at once) and needs the admin token; one server per data directory; an
//! idempotent retry after `kill -9` is answered from the journal, not applied again.

use anyhow::{Context, Result};
use podium_tests::api;
use podium_tests::server::{podium_bin, ChildServer, ADMIN};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

fn keys(data: &Path, args: &[&str], admin: Option<&str>) -> Result<Output> {
    let mut cmd = std::process::Command::new(podium_bin()?);
    cmd.arg("keys").args(args).arg("--data").arg(data);
    cmd.env_remove("PODIUM_ADMIN_TOKEN")
        .env_remove("PODIUM_URL");
    if let Some(t) = admin {
        cmd.env("PODIUM_ADMIN_TOKEN", t);
    }
    cmd.output().context("run podium keys")
}

fn json_of(out: &Output) -> Result<Value> {
    anyhow::ensure!(
        out.status.success(),
        "podium keys failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Creates the data directory with the bundled meeting, and stops the server.
fn fresh_data(dir: &Path) -> Result<String> {
    let mut server = ChildServer::start(dir)?;
    let m = server.meeting();
    server.kill9()?;
    Ok(m)
}

#[test]
fn keys_from_the_command_line_offline_and_through_a_running_server() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    let m = fresh_data(data)?;

    // No server: made in the database, no token needed.
    let offline = json_of(&keys(
        data,
        &[
            "create",
            &m,
            "--role",
            "moderator:cecile-riallant",
            "--label",
            "Deck A",
            "--json",
        ],
        None,
    )?)?;
    let offline_key = offline["key"].as_str().unwrap().to_string();
    assert_eq!(offline["role"], "moderator:cecile-riallant");
    let bad = keys(
        data,
        &["create", &m, "--role", "moderator:nobody", "--label", "x"],
        None,
    )?;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cecile-riallant"));

    // The server loads it.
    let server = ChildServer::start(data)?;
    let rt = tokio::runtime::Runtime::new()?;
    let host = server.token("host", None);
    rt.block_on(api::must(
        server.addr,
        &m,
        &host,
        &json!({"type":"start_meeting"}),
    ))?;
    let r = rt.block_on(api::command(
        server.addr,
        &m,
        &offline_key,
        &json!({"type":"next_segment"}),
        &[],
    ))?;
    assert_eq!(
        r.status, 403,
        "a moderator key outside its segment: {}",
        r.body
    );

    // A second server on the same directory is refused.
    let second = std::process::Command::new(podium_bin()?)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("PODIUM_ADMIN_TOKEN", ADMIN)
        .output()?;
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another Podium process"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // With a server running, the command goes through it: it needs the admin token...
    let refused = keys(
        data,
        &["create", &m, "--role", "host", "--label", "Deck B"],
        None,
    )?;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("PODIUM_ADMIN_TOKEN"));
    // ...and what it does takes effect at once.
    let online = json_of(&keys(
        data,
        &[
            "create", &m, "--role", "host", "--label", "Deck B", "--json",
        ],
        Some(ADMIN),
    )?)?;
    let online_key = online["key"].as_str().unwrap().to_string();
    rt.block_on(api::must(
        server.addr,
        &m,
        &online_key,
        &json!({"type":"next_segment"}),
    ))?;
    let revoked = json_of(&keys(
        data,
        &["revoke", &m, online["id"].as_str().unwrap(), "--json"],
        Some(ADMIN),
    )?)?;
    assert_eq!(revoked["status"], "revoked");
    let r = rt.block_on(api::command(
        server.addr,
        &m,
        &online_key,
        &json!({"type":"next_segment"}),
        &[],
    ))?;
    assert_eq!(r.status, 401, "revoked through the CLI, refused at once");

    let list = json_of(&keys(data, &["list", &m, "--json"], Some(ADMIN))?)?;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["status"], "revoked");
    assert!(list[0]["last_used_at"].as_i64().is_some(), "{list:?}");
    assert!(!serde_json::to_string(list)?.contains("pod_"));
    let table = keys(data, &["list", &m], Some(ADMIN))?;
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("Deck A") && table.contains("revoked"),
        "{table}"
    );
    drop(server);
    Ok(())
}

#[test]
fn an_idempotent_retry_after_kill_9_is_not_applied_again() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    let m = fresh_data(data)?;
    let key = json_of(&keys(
        data,
        &[
            "create", &m, "--role", "host", "--label", "Script", "--json",
        ],
        None,
    )?)?["key"]
        .as_str()
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Runtime::new()?;
    let mut server = ChildServer::start(data)?;
    rt.block_on(api::must(
        server.addr,
        &m,
        &key,
        &json!({"type":"start_meeting"}),
    ))?;
    let add = json!({"type":"adjust_clock","target":"segment","seconds":300});
    let first = rt.block_on(api::command(
        server.addr,
        &m,
        &key,
        &add,
        &[("Idempotency-Key", "grant-5-minutes")],
    ))?;
    assert_eq!(first.status, 200, "{}", first.body);
    let seq = first.json()?["seq"].as_u64().unwrap();
    let (_, before) = rt.block_on(api::state(server.addr, &m, &key))?;

    // The server dies; the client, unsure whether it was applied, retries after restart.
    server.kill9()?;
    let server = ChildServer::start(data)?;
    let retry = rt.block_on(api::command(
        server.addr,
        &m,
        &key,
        &add,
        &[("Idempotency-Key", "grant-5-minutes")],
    ))?;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()?["seq"].as_u64(), Some(seq));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let (now_seq, after) = rt.block_on(api::state(server.addr, &m, &key))?;
    assert_eq!(now_seq, seq, "nothing was applied again");
    assert_eq!(after["segment_clock"], before["segment_clock"]);
    // The same key with another request is still refused after the restart.
    let other = rt.block_on(api::command(
        server.addr,
        &m,
        &key,
        &json!({"type":"next_segment"}),
        &[("Idempotency-Key", "grant-5-minutes")],
    ))?;
    assert_eq!(other.status, 422);
    Ok(())
}
