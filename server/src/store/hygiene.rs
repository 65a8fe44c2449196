//! What the data directory must be before Podium writes to it, and who may read it.
//!
//! The database holds the role links' tokens (the host's included) in clear text, so the
//! directory is created `0700` and every file in it `0600`; a directory or file left more
//! open by an older version is tightened at start (and the log says so). A directory or
//! file Podium cannot write is reported as read-only — with what to do about that — rather
//! than as damaged. And a database file that is empty while its write-ahead log or index
//! is beside it is refused before SQLite opens it: the committed changes may be only in
//! that log, and opening the empty file as a new database would overwrite it.

use super::StoreError;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The data directory's mode.
pub const DIR_MODE: u32 = 0o700;
/// Every data file's mode.
pub const FILE_MODE: u32 = 0o600;

/// The WAL and the WAL index beside a database file.
pub fn side_files(db: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|s| PathBuf::from(format!("{}{s}", db.display())))
}

/// Whether this process may write `path` (`access(2)`: says EROFS for a read-only mount,
/// and honours permission bits unless we are root).
fn writable(path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: access(2) reads the NUL-terminated path we own.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Creates the data directory (`0700`), or checks an existing one: a directory, writable,
/// no more open than `0700`.
pub fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|source| read_only_or(dir, source));
        }
        Err(source) => return Err(read_only_or(dir, source)),
        Ok(m) if !m.is_dir() => {
            return Err(StoreError::Io {
                path: dir.into(),
                cause: io::Error::other("it is not a directory: give --data a directory"),
            })
        }
        Ok(_) => {}
    }
    writable(dir).map_err(|source| read_only_or(dir, source))?;
    restrict(dir, DIR_MODE);
    Ok(())
}

/// A creation error: read-only if it says so, otherwise as it is.
fn read_only_or(path: &Path, source: io::Error) -> StoreError {
    match source.raw_os_error() {
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => StoreError::ReadOnly {
            path: path.into(),
            cause: source,
        },
        _ => StoreError::Io {
            path: path.into(),
            cause: source,
        },
    }
}

/// Checks an existing database file before SQLite opens it: writable, and not an empty
/// file beside a WAL or WAL index.
pub fn before_open(db: &Path) -> Result<(), StoreError> {
    let Ok(meta) = fs::metadata(db) else {
        return Ok(());
    };
    if meta.len() == 0 {
        let present: Vec<String> = side_files(db)
            .iter()
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !present.is_empty() {
            return Err(StoreError::Corrupt {
                path: db.into(),
                problem: format!(
                    "the database file is empty (0 bytes) while {} is beside it: the \
                     committed changes may be only there, and opening the empty file as a new \
                     database would destroy them",
                    present.join(" and ")
                ),
            });
        }
    }
    writable(db).map_err(|source| read_only_or(db, source))?;
    Ok(())
}

/// Tightens the database, its side files and other data files to `0600`.
pub fn restrict_files(db: &Path) {
    restrict(db, FILE_MODE);
    for side in side_files(db) {
        restrict(&side, FILE_MODE);
    }
}

/// Removes group and other permissions from `path` if we own it and it has any; logs
/// what it changed. Failures are logged, never fatal (the directory may be shared on
/// purpose, on a file system without modes).
pub fn restrict(path: &Path, mode: u32) {
    let Ok(meta) = fs::metadata(path) else {
        return;
    };
    let current = meta.mode() & 0o7777;
    // SAFETY: geteuid has no preconditions.
    let mine = meta.uid() == unsafe { libc::geteuid() };
    if current & 0o077 == 0 || !mine {
        return;
    }
    match fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            from = format!("{current:o}"),
            to = format!("{mode:o}"),
            "tightened permissions: the data directory holds the meeting links"
        ),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot tighten permissions"),
    }
}

/// Whether an SQLite error means the database cannot be written (file or directory
/// read-only, or a read-only mount).
pub fn is_read_only(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_private_and_an_open_one_is_tightened() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        prepare_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let db = dir.join("podium.sqlite");
        fs::write(&db, b"x").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        prepare_dir(&dir).unwrap();
        restrict_files(&db);
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(&db).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_empty_database_beside_its_wal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("podium.sqlite");
        fs::write(&db, b"").unwrap();
        assert!(
            before_open(&db).is_ok(),
            "an empty file alone is a new database"
        );
        fs::write(side_files(&db)[1].clone(), b"index").unwrap();
        let e = before_open(&db).unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("-shm"), "{e}");
    }
}
