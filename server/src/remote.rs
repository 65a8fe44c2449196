//! Reaching a running server from the command line. A running `podium serve` holds the
//! data directory's lock ([`crate::datalock`]) and writes the loopback address of its admin
//! API to `DATA/admin-url`; commands that change tokens (`links --rotate`, `invite`) take a
//! shared lock when no server runs (and then write the store directly), and otherwise call
//! the admin API, so that the running server closes the connections of revoked links.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where a running server records its admin API's address.
pub const ADMIN_URL_FILE: &str = "admin-url";

/// What can go wrong reaching the server.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The lock file or the admin-url file.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The URL is not `http://HOST:PORT`.
    #[error(
        "{0:?} is not an http://HOST:PORT address (the admin API is reached directly, without TLS)"
    )]
    Url(String),
    /// The connection or the exchange failed.
    #[error("cannot reach the server at {url}: {source}")]
    Io {
        /// The URL.
        url: String,
        /// The cause.
        source: io::Error,
    },
    /// The request could not complete.
    #[error("the request failed: {0}")]
    Protocol(String),
}

/// Records where the admin API of a server bound to `addr` is reached locally.
pub fn record_admin_url(dir: &Path, addr: SocketAddr) -> Result<(), RemoteError> {
    let mut local = addr;
    if local.ip().is_unspecified() {
        local.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let path = dir.join(ADMIN_URL_FILE);
    std::fs::write(&path, format!("http://{local}"))
        .map_err(|source| RemoteError::File { path, source })
}

/// The admin URL a running server recorded in `dir`.
pub fn admin_url(dir: &Path) -> Result<String, RemoteError> {
    let path = dir.join(ADMIN_URL_FILE);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|source| RemoteError::File { path, source })
}

/// An HTTP answer: status and body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// One request to the admin API, with the admin token (plain HTTP: the server's own
/// machine, behind any TLS proxy).
pub async fn call(
    url: &str,
    method: &str,
    path: &str,
    admin_token: &str,
    content_type: &str,
    body: &str,
) -> Result<Answer, RemoteError> {
    if !url.starts_with("http://") {
        return Err(RemoteError::Url(url.to_string()));
    }
    let full = format!("{}{path}", url.trim_end_matches('/'));
    let (method, auth) = (method.to_string(), format!("Bearer {admin_token}"));
    let (content_type, body) = (content_type.to_string(), body.to_string());
    let target = url.to_string();
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(60)))
                .build(),
        );
        let io = |e: ureq::Error| RemoteError::Io {
            url: target.clone(),
            source: io::Error::other(e.to_string()),
        };
        let sent = match method.as_str() {
            "GET" => agent.get(&full).header("Authorization", &auth).call(),
            _ => agent
                .post(&full)
                .header("Authorization", &auth)
                .header("Content-Type", &content_type)
                .send(body.as_bytes()),
        };
        let mut response = sent.map_err(io)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(io)?;
        Ok(Answer { status, body })
    })
    .await
    .map_err(|e| RemoteError::Protocol(e.to_string()))?
}
