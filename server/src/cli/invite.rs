//! `podium invite MEETING FILE`: registers the delegates of a CSV with personal links,
//! through the running server or on the data directory, and writes the mail-merge CSV
//! (to a file readable by its owner only, or to standard output).

use super::reach::{base_url_of, reach, remote_meeting, Remote};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Invites the delegates of `file` and writes their links to `out` (or standard output).
pub async fn run(
    data: PathBuf,
    file: &Path,
    out: Option<PathBuf>,
    base_url: Option<String>,
    remote: Remote,
) -> Result<()> {
    let csv = invite(data, file, base_url, remote).await?;
    match out {
        Some(path) => {
            write_private(&path, &csv)?;
            eprintln!(
                "{} personal links written to {}",
                csv.lines().count() - 1,
                path.display()
            );
        }
        None => print!("{csv}"),
    }
    Ok(())
}

/// Writes a file of secrets readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

/// The links CSV of the delegates in `file`.
async fn invite(
    data: PathBuf,
    file: &Path,
    base_url: Option<String>,
    remote: Remote,
) -> Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
    let delegates = podium_server::invite::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    match reach(&data, &remote)? {
        Ok(_lock) => {
            let base = base_url_of(&data, base_url);
            let (_, rows) = podium_server::offline::invite_offline(
                &data,
                remote.meeting.as_deref(),
                delegates,
                &base,
            )
            .await?;
            Ok(podium_server::invite::output(&rows)?)
        }
        Err((url, token)) => {
            let meeting = remote_meeting(&url, &token, remote.meeting).await?;
            let path = format!("/api/meetings/{meeting}/invitations");
            let a =
                podium_server::remote::call(&url, "POST", &path, &token, "text/csv", &text).await?;
            anyhow::ensure!(
                a.status == 200,
                "the server answered {}: {}",
                a.status,
                a.body
            );
            Ok(a.body)
        }
    }
}
