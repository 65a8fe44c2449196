//! How a command that changes tokens (`podium links --rotate`, `podium invite`) reaches
//! its meeting: the data directory itself when no server runs on it, else the running
//! server's admin API; in a cluster, a running node's admin API. Also where `serve`
//! records its base URL, and reading it back for printed links.

use anyhow::{Context, Result};
use std::path::Path;

/// Where `serve` records the URL it listens on, for `podium links`.
pub const BASE_URL_FILE: &str = "base-url";

/// How a command that changes tokens reaches a running server (when none runs, it writes
/// the data directory itself).
#[derive(clap::Args)]
pub struct Remote {
    /// The meeting (default: the only live one).
    #[arg(long)]
    pub meeting: Option<String>,
    /// The running server's admin API (default: the address it recorded in DATA/admin-url).
    #[arg(long)]
    pub url: Option<String>,
    /// The running server's admin token.
    #[arg(long, env = "PODIUM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// The base URL for printed links: `--base-url`, else the one the server last recorded.
pub fn base_url_of(data: &Path, base_url: Option<String>) -> String {
    base_url
        .or_else(|| std::fs::read_to_string(data.join(BASE_URL_FILE)).ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim()
        .to_string()
}

/// Where a token-changing command goes: the data directory's shared lock (no server
/// runs: write the store), or the running server's admin URL and token (`--url` always
/// goes to that server).
/// In a cluster, a change to a meeting (a rotation, an invitation) is made by the
/// meeting's owner: it goes through a running node's admin API, `--url` or else the
/// cluster's recorded base URL (every node serves the admin API for every meeting).
pub fn through_cluster(cluster: Option<&str>, mut remote: Remote) -> Result<Remote> {
    let Some(url) = cluster else {
        return Ok(remote);
    };
    if remote.url.is_none() {
        let base = podium_server::cluster::offline::base_url(url)?.with_context(|| {
            format!(
                "the cluster at {url} has no recorded base URL (no node has started): \
                 pass --url http://NODE:PORT of a running node"
            )
        })?;
        remote.url = Some(base.trim().to_string());
    }
    if remote.admin_token.is_none() {
        anyhow::bail!(
            "in a cluster this goes through a node's admin API: set PODIUM_ADMIN_TOKEN \
             (or --admin-token) to the nodes' admin token"
        );
    }
    Ok(remote)
}

/// Where this command goes: `Ok` holds the data directory's shared lock (no server runs
/// on it: change the store directly), `Err` the running server's admin URL and token.
pub fn reach(
    data: &Path,
    remote: &Remote,
) -> Result<Result<podium_server::datalock::DataLock, (String, String)>> {
    if remote.url.is_none() {
        if !podium_server::store::sqlite::SqliteStore::path(data).exists() {
            anyhow::bail!(
                "{} holds no Podium database: run `podium serve --data {}` first, or pass --url",
                data.display(),
                data.display()
            );
        }
        if let Some(lock) = podium_server::datalock::shared(data)? {
            return Ok(Ok(lock));
        }
    }
    let url = match &remote.url {
        Some(u) => u.clone(),
        None => podium_server::remote::admin_url(data).or_else(|_| {
            std::fs::read_to_string(data.join(BASE_URL_FILE)).map(|s| s.trim().to_string())
        })?,
    };
    let token = remote.admin_token.clone().with_context(|| {
        format!(
            "a server is running on {}: this goes through its admin API, so set \
             PODIUM_ADMIN_TOKEN (or --admin-token) to the token it printed",
            data.display()
        )
    })?;
    Ok(Err((url, token)))
}

/// The meeting to act on through the admin API: the named one or the only live one.
pub async fn remote_meeting(url: &str, token: &str, meeting: Option<String>) -> Result<String> {
    if let Some(m) = meeting {
        return Ok(m);
    }
    let a =
        podium_server::remote::call(url, "GET", "/api/meetings", token, "text/plain", "").await?;
    anyhow::ensure!(
        a.status == 200,
        "the server answered {}: {}",
        a.status,
        a.body
    );
    let list: Vec<serde_json::Value> = serde_json::from_str(&a.body)?;
    let live: Vec<&str> = list
        .iter()
        .filter(|m| m["status"] == "live")
        .filter_map(|m| m["meeting"].as_str())
        .collect();
    match live[..] {
        [one] => Ok(one.to_string()),
        _ => anyhow::bail!(
            "name the meeting with --meeting: live meetings are {}",
            live.join(", ")
        ),
    }
}
