//! `podium keys create|list|revoke`: a meeting's API keys from the command line.
//!
//! Where the change is made, so that it takes effect at once:
//! - with `--url` (or `PODIUM_URL`), through that server's HTTP API, with the admin token
//!   from `PODIUM_ADMIN_TOKEN` (works for a server on another machine, over plain HTTP);
//! - otherwise on the data directory: if a `podium serve` holds it (its lock file), through
//!   that server's HTTP API at the address it recorded, again with `PODIUM_ADMIN_TOKEN`
//!   — writing the file behind a running server's back would leave a revoked key working
//!   until its restart; if no server holds it, directly on the SQLite file, holding the
//!   directory's lock meanwhile (the next `podium serve` loads the keys).

use anyhow::{anyhow, bail, Context, Result};
use podium_server::keys::{self, describe, KeyScope};
use podium_server::store::{sqlite::SqliteStore, StoreHandle};
use podium_server::{clock::now_ms, datalock};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to do.
pub enum Op {
    /// Create a key.
    Create {
        /// `host`, `moderator:PERSON`, `interpreter:LANG`, `observer`.
        role: String,
        /// Who holds it.
        label: String,
    },
    /// List the keys.
    List,
    /// Revoke one.
    Revoke {
        /// Its id.
        id: String,
    },
}

/// Where to do it.
pub struct Target {
    /// The data directory (used when `url` is `None`).
    pub data: PathBuf,
    /// A server's base URL.
    pub url: Option<String>,
    /// The server's admin token, for the HTTP API.
    pub admin_token: Option<String>,
}

/// Runs a key operation and prints its result (JSON with `json`).
pub fn run(meeting: &str, op: Op, target: Target, json: bool) -> Result<()> {
    if let Op::Create { role, .. } = &op {
        // Refuse a bad role before touching anything.
        KeyScope::parse(role).map_err(|e| anyhow!("{e}"))?;
    }
    let result = match &target.url {
        Some(url) => over_http(url, target.admin_token.as_deref(), meeting, &op)?,
        None => {
            let lock = if SqliteStore::path(&target.data).exists() {
                datalock::shared(&target.data)?
            } else {
                bail!(
                    "{} holds no Podium database: run `podium serve --data {}` first, or pass --url of a running server",
                    target.data.display(),
                    target.data.display()
                );
            };
            match lock {
                Some(_held) => offline(&target.data, meeting, &op)?,
                None => {
                    let url =
                        std::fs::read_to_string(target.data.join(crate::reach::BASE_URL_FILE))
                            .with_context(|| {
                                format!(
                                "a server is using {} but did not record its address; pass --url",
                                target.data.display()
                            )
                            })?;
                    over_http(url.trim(), target.admin_token.as_deref(), meeting, &op)?
                }
            }
        }
    };
    print(&op, &result, json);
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")
}

/// On the SQLite file, no server running (the caller holds the directory's lock).
fn offline(data: &Path, meeting: &str, op: &Op) -> Result<Value> {
    runtime()?.block_on(async {
        let store = StoreHandle::spawn(Box::new(SqliteStore::open(data)?));
        Ok(match op {
            Op::Create { role, label } => {
                let scope = KeyScope::parse(role)?;
                let (row, key) = keys::create(&store, meeting, &scope, label, now_ms()).await?;
                let mut v = describe(&row);
                v["key"] = json!(key);
                v
            }
            Op::List => Value::Array(
                keys::list(&store, meeting)
                    .await?
                    .iter()
                    .map(describe)
                    .collect(),
            ),
            Op::Revoke { id } => describe(&keys::revoke(&store, meeting, id, now_ms()).await?),
        })
    })
}

/// Through a running server's HTTP API.
fn over_http(base: &str, admin_token: Option<&str>, meeting: &str, op: &Op) -> Result<Value> {
    let base = base.trim_end_matches('/');
    if base.starts_with("https://") {
        bail!(
            "this command speaks plain HTTP only; for {base} use the HTTP API with curl (PROTOCOL.md, \"API keys\")"
        );
    }
    let Some(token) = admin_token.filter(|t| !t.is_empty()) else {
        bail!(
            "a Podium server is running at {base}: set PODIUM_ADMIN_TOKEN to its admin token (printed by `podium serve`) so this command can reach it"
        );
    };
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let auth = format!("Bearer {token}");
    let keys_url = format!("{base}/api/meetings/{meeting}/keys");
    let sent = match op {
        Op::Create { role, label } => agent
            .post(&keys_url)
            .header("Authorization", &auth)
            .send_json(json!({ "role": role, "label": label })),
        Op::List => agent.get(&keys_url).header("Authorization", &auth).call(),
        Op::Revoke { id } => agent
            .delete(&format!("{keys_url}/{id}"))
            .header("Authorization", &auth)
            .call(),
    };
    let mut response = sent.with_context(|| format!("reach the Podium server at {base}"))?;
    let status = response.status();
    let body: Value = response
        .body_mut()
        .read_json()
        .with_context(|| format!("{base} answered {status} with a body that is not JSON"))?;
    if !status.is_success() {
        let message = body["message"].as_str().unwrap_or("no message");
        bail!("the server refused ({status}): {message}");
    }
    Ok(body)
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

fn print(op: &Op, v: &Value, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(v).expect("JSON prints"));
        return;
    }
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    match op {
        Op::Create { .. } => {
            println!("Created key {} in meeting {}", s(v, "id"), s(v, "meeting"));
            println!("  role   {}", s(v, "role"));
            println!("  label  {}", s(v, "label"));
            println!("  key    {}", s(v, "key"));
            println!();
            println!("Store the key now: it is shown only this once (Podium keeps only its hash).");
            println!("Use it as `Authorization: Bearer <key>` (see PROTOCOL.md, \"HTTP API\").");
        }
        Op::List => {
            let rows = v.as_array().cloned().unwrap_or_default();
            if rows.is_empty() {
                println!("No API keys. Create one with `podium keys create MEETING --role host --label \"…\"`.");
                return;
            }
            println!(
                "{:<13} {:<28} {:<8} {:<21} {:<21} LABEL",
                "ID", "ROLE", "STATUS", "CREATED", "LAST USED"
            );
            for r in rows {
                println!(
                    "{:<13} {:<28} {:<8} {:<21} {:<21} {}",
                    s(&r, "id"),
                    s(&r, "role"),
                    s(&r, "status"),
                    when(r["created_at"].as_i64()),
                    when(r["last_used_at"].as_i64()),
                    s(&r, "label"),
                );
            }
        }
        Op::Revoke { .. } => {
            println!(
                "Revoked key {} ({}) of meeting {}: it no longer opens anything.",
                s(v, "id"),
                s(v, "label"),
                s(v, "meeting")
            );
        }
    }
}
