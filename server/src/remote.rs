//! Reaching a running server from the command line. A running `podium serve` holds an
//! exclusive lock on `DATA/podium.lock` and writes the address of its admin API to
//! `DATA/admin-url`; commands that change tokens (`links --rotate`, `invite`) take the lock
//! themselves when no server runs (and then write the store directly), and otherwise call
//! the admin API, so that the running server closes the connections of revoked links.
//!
//! The admin API is called over plain HTTP/1.1 on the loopback address the server bound:
//! the command runs on the server's machine, behind any TLS proxy.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "podium.lock";
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
    /// The answer is not HTTP.
    #[error("the server at {0} answered something that is not HTTP")]
    Protocol(String),
}

/// The exclusive lock a running server holds on its data directory (released when
/// dropped, and by the kernel if the process dies).
pub struct ServerLock {
    /// Held open: the lock lives as long as the file descriptor.
    _file: File,
}

impl ServerLock {
    /// Takes the lock if nobody holds it; `None` if a server holds it.
    pub fn acquire(dir: &Path) -> Result<Option<ServerLock>, RemoteError> {
        use std::os::fd::AsRawFd;
        let path = dir.join(LOCK_FILE);
        let err = |source| RemoteError::File {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(Some(ServerLock { _file: file }));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(err(e))
        }
    }
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

/// One request to the admin API (`Connection: close`), with the admin token.
pub async fn call(
    url: &str,
    method: &str,
    path: &str,
    admin_token: &str,
    content_type: &str,
    body: &str,
) -> Result<Answer, RemoteError> {
    let host = url
        .strip_prefix("http://")
        .map(|h| h.trim_end_matches('/'))
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .ok_or_else(|| RemoteError::Url(url.to_string()))?;
    let io = |source| RemoteError::Io {
        url: url.to_string(),
        source,
    };
    let mut stream = tokio::net::TcpStream::connect(host).await.map_err(io)?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {admin_token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.write_all(body.as_bytes()).await.map_err(io)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(io)?;
    parse(&raw).ok_or_else(|| RemoteError::Protocol(url.to_string()))
}

/// Parses a whole HTTP/1.1 response (plain or chunked body).
fn parse(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = &raw[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let line = body.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&body[..line]).ok()?.trim(), 16).ok()?;
            body = &body[line + 2..];
            if size == 0 {
                break out;
            }
            out.extend_from_slice(body.get(..size)?);
            body = body.get(size + 2..)?;
        }
    } else {
        body.to_vec()
    };
    Some(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let a = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").unwrap();
        assert_eq!((a.status, a.body.as_str()), (200, "ok"));
        let a = parse(b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((a.status, a.body.as_str()), (404, "abcde"));
    }

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let held = ServerLock::acquire(dir.path()).unwrap();
        assert!(held.is_some());
        assert!(
            ServerLock::acquire(dir.path()).unwrap().is_none(),
            "a second holder"
        );
        drop(held);
        assert!(ServerLock::acquire(dir.path()).unwrap().is_some());
    }
}
