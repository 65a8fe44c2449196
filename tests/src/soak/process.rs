//! The `podium` child process of a soak and what is read from `/proc` about it.

use anyhow::{anyhow, bail, Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The server child process.
pub struct Server {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(bin: &Path, data: &Path, port: u16, log: &Path) -> Result<Server> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--bind", &addr.to_string(), "--data"])
        .arg(data)
        .env("PODIUM_ADMIN_TOKEN", crate::server::ADMIN)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(log)?,
        )
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Some(s) = child.try_wait()? {
            bail!(
                "podium exited with {s} before listening (see {})",
                log.display()
            );
        }
        if Instant::now() > deadline {
            bail!("podium did not listen within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Server { child, addr })
}

pub fn links(bin: &Path, data: &Path) -> Result<Vec<serde_json::Value>> {
    let out = std::process::Command::new(bin)
        .args(["links", "--json", "--data"])
        .arg(data)
        .output()?;
    serde_json::from_slice(&out.stdout).context("podium links --json")
}

pub fn token(links: &[serde_json::Value], role: &str) -> Result<String> {
    links
        .iter()
        .find(|l| l["role"] == role)
        .and_then(|l| l["url"].as_str())
        .and_then(|u| u.split('#').nth(1))
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no {role} link"))
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; after the ')' they are 12th and 13th.
    (ticks(11) + ticks(12)) / 100.0
}

pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
