//! The data directory, against the real binary: a database truncated to nothing after a
//! kill -9 is refused while its WAL is beside it (and neither is touched); the directory
//! is private (0700, files 0600), also when an older version left it open; a read-only
//! directory is reported as read-only, not as damaged.

use anyhow::{bail, ensure, Context, Result};
use podium_protocol::Command;
use podium_tests::client::Client;
use podium_tests::server::{podium_bin, ChildServer, ADMIN};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every file in `dir` with its bytes.
fn files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path())?,
            );
        }
    }
    Ok(out)
}

/// Runs `podium serve` on `dir` (as `uid`, if given), which must refuse to start: its
/// stderr.
fn serve_must_refuse(dir: &Path, uid: Option<u32>) -> Result<String> {
    let mut cmd = std::process::Command::new(podium_bin()?);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("PODIUM_ADMIN_TOKEN", ADMIN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let mut child = cmd.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("podium serve kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .context("stderr")?
        .read_to_string(&mut stderr)?;
    ensure!(!status.success(), "podium serve started: {stderr}");
    Ok(stderr)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .map(|m| m.mode() & 0o777)
        .unwrap_or(0)
}

/// A data directory with a meeting in it, left as a kill -9 leaves it (WAL beside).
async fn killed_meeting(dir: &Path) -> Result<()> {
    let mut server = ChildServer::start(dir)?;
    let mut host =
        Client::hello(server.addr, &server.meeting(), &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::NextSegment).await?;
    server.kill9()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_database_beside_its_wal_is_refused_and_left_alone() -> Result<()> {
    let base = tempfile::tempdir()?;
    let dir = base.path().join("data");
    killed_meeting(&dir).await?;
    let db = dir.join("podium.sqlite");
    ensure!(
        dir.join("podium.sqlite-wal").exists(),
        "a kill -9 leaves the WAL"
    );
    std::fs::File::options().write(true).open(&db)?.set_len(0)?;
    let before = files(&dir)?;
    let stderr = serve_must_refuse(&dir, None)?;
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("empty") && stderr.contains("podium.sqlite-wal"),
        "{stderr}"
    );
    assert_eq!(
        files(&dir)?,
        before,
        "a refused directory is left exactly as it was"
    );
    // The WAL index alone beside an empty file is refused too.
    std::fs::remove_file(dir.join("podium.sqlite-wal"))?;
    let before = files(&dir)?;
    let stderr = serve_must_refuse(&dir, None)?;
    assert!(stderr.contains("podium.sqlite-shm"), "{stderr}");
    assert_eq!(files(&dir)?, before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private_and_an_open_one_is_tightened() -> Result<()> {
    let base = tempfile::tempdir()?;
    let dir = base.path().join("data");
    killed_meeting(&dir).await?;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for f in [
        "podium.sqlite",
        "podium.sqlite-wal",
        "podium.sqlite-shm",
        "base-url",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    // As an older version left it: readable by everyone.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    for f in ["podium.sqlite", "podium.sqlite-wal", "podium.sqlite-shm"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644))?;
    }
    let server = ChildServer::start(&dir)?;
    assert_eq!(mode(&dir), 0o700);
    for f in ["podium.sqlite", "podium.sqlite-wal", "podium.sqlite-shm"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    drop(server);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_directory_is_called_read_only() -> Result<()> {
    let base = tempfile::tempdir()?;
    let dir = base.path().join("data");
    let mut server = ChildServer::start(&dir)?;
    server.terminate(Duration::from_secs(15))?;
    // Root ignores permission bits: run the server as `nobody` then, owning the files.
    // SAFETY: geteuid has no preconditions.
    let uid = (unsafe { libc::geteuid() } == 0).then_some(65534u32);
    if let Some(uid) = uid {
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755))?;
        for e in std::iter::once(dir.clone()).chain(
            std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok())
                .map(|e| e.path()),
        ) {
            std::os::unix::fs::chown(&e, Some(uid), Some(uid))?;
        }
    }
    for e in std::fs::read_dir(&dir)? {
        std::fs::set_permissions(e?.path(), std::fs::Permissions::from_mode(0o400))?;
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500))?;
    let before = files(&dir)?;
    let stderr = serve_must_refuse(&dir, uid)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(
        !stderr.contains("backup") && !stderr.contains("move it away"),
        "a healthy read-only database is not damaged: {stderr}"
    );
    assert_eq!(files(&dir)?, before);
    Ok(())
}
