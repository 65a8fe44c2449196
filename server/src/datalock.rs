//! The data directory's lock file (`podium.lock`): `podium serve` holds it exclusively
//! for its whole life, so two servers never share one database, and offline tools that
//! write (`podium keys` without a server) can tell whether a server runs there — in which
//! case they go through that server's HTTP API instead, so that what they change (a new
//! key, a revocation) takes effect at once. Advisory `flock(2)` locks: the kernel drops
//! them when the process dies, even on `kill -9`, so a crash never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const FILE_NAME: &str = "podium.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataLock {
    /// The open lock file: the lock lives as long as this descriptor.
    _file: File,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("another Podium process is using {0} (a `podium serve`?); stop it first, or give each server its own --data directory")]
    Busy(PathBuf),
    /// The lock file cannot be opened.
    #[error("cannot open the lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn lock(dir: &Path, mode: libc::c_int) -> Result<DataLock, LockError> {
    let path = dir.join(FILE_NAME);
    let opened = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        // A directory we may only read: an existing lock file still locks (flock needs
        // no write access); the store then says the directory is read-only.
        .or_else(|_| File::open(&path));
    let file = opened.map_err(|source| LockError::Io {
        path: path.clone(),
        source,
    })?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    let r = unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) };
    if r == 0 {
        return Ok(DataLock { _file: file });
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(LockError::Busy(dir.to_path_buf()))
    } else {
        Err(LockError::Io { path, source: e })
    }
}

/// Takes the directory for a server: fails at once if anyone holds it.
pub fn exclusive(dir: &Path) -> Result<DataLock, LockError> {
    lock(dir, libc::LOCK_EX)
}

/// Takes the directory for an offline tool (others may too), or `Ok(None)` if a server
/// holds it.
pub fn shared(dir: &Path) -> Result<Option<DataLock>, LockError> {
    match lock(dir, libc::LOCK_SH) {
        Ok(l) => Ok(Some(l)),
        Err(LockError::Busy(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_per_directory_and_tools_see_it() {
        let dir = tempfile_dir();
        let server = exclusive(&dir).expect("first server");
        assert!(matches!(exclusive(&dir), Err(LockError::Busy(_))));
        assert!(shared(&dir).unwrap().is_none(), "a tool sees the server");
        drop(server);
        let tool = shared(&dir).unwrap().expect("no server now");
        assert!(matches!(exclusive(&dir), Err(LockError::Busy(_))));
        drop(tool);
        assert!(exclusive(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "podium-lock-test-{}-{}",
            std::process::id(),
            crate::tokens::new_token()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
