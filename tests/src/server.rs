//! Test servers: the whole Podium server in-process on `127.0.0.1:0`, or the real
//! `podium` binary as a child process (for kill -9 tests).

use anyhow::{anyhow, Context, Result};
use podium_server::hub::Link;
use podium_server::{Config, Limits, Podium};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The admin token test servers use.
pub const ADMIN: &str = "0123456789abcdef0123456789abcdef";

/// The bundled agenda with the hand cooldown turned off (`hand_cooldown = "0s"`), for
/// workloads that toggle hands faster than a person may (durability bursts, benchmarks of
/// the durable write path).
pub fn agenda_without_hand_cooldown() -> String {
    let agenda = podium_server::DEFAULT_AGENDA;
    let at = agenda.find("[meeting]\n").expect("a [meeting] table") + "[meeting]\n".len();
    format!("{}hand_cooldown = \"0s\"\n{}", &agenda[..at], &agenda[at..])
}

/// An in-process server with the bundled meeting.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its role links.
    pub links: Vec<Link>,
    /// Cancel to stop it.
    pub shutdown: CancellationToken,
    /// The server task; resolves when it has stopped.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The hub, for metrics assertions.
    pub hub: Arc<podium_server::hub::Hub>,
    /// The data directory (deleted on drop).
    pub data: tempfile::TempDir,
    /// Its limits, for a restart.
    limits: Arc<Limits>,
}

impl TestServer {
    /// Starts a server with default limits.
    pub async fn start() -> Result<TestServer> {
        TestServer::start_with(Limits::default()).await
    }

    /// Starts a server with the given limits.
    pub async fn start_with(limits: Limits) -> Result<TestServer> {
        TestServer::start_with_agenda(limits, podium_server::DEFAULT_AGENDA).await
    }

    /// Starts a server with the given limits and first meeting (an agenda in TOML).
    pub async fn start_with_agenda(limits: Limits, agenda: &str) -> Result<TestServer> {
        let data = tempfile::tempdir()?;
        let shutdown = CancellationToken::new();
        let limits = Arc::new(limits);
        let config = Config {
            data_dir: data.path().to_path_buf(),
            public_url: None,
            admin_token: ADMIN.into(),
            limits: limits.clone(),
        };
        let podium = Podium::open(config, shutdown.clone()).await?;
        let agenda = podium_protocol::Agenda::from_toml(agenda).map_err(|e| anyhow!("{e}"))?;
        podium.ensure_meeting(agenda).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let links = podium.links(&podium.base_url(addr)).await?;
        let hub = podium.hub.clone();
        let task = tokio::spawn(podium_server::run(listener, podium));
        Ok(TestServer {
            addr,
            links,
            shutdown,
            task,
            hub,
            data,
            limits,
        })
    }

    /// Stops the server cleanly and starts it again on the same data directory (on a
    /// new port: `addr` changes; the links stay valid).
    pub async fn restart(&mut self) -> Result<()> {
        self.shutdown.cancel();
        (&mut self.task).await??;
        self.shutdown = CancellationToken::new();
        let config = Config {
            data_dir: self.data.path().to_path_buf(),
            public_url: None,
            admin_token: ADMIN.into(),
            limits: self.limits.clone(),
        };
        let podium = Podium::open(config, self.shutdown.clone()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.addr = listener.local_addr()?;
        self.hub = podium.hub.clone();
        self.task = tokio::spawn(podium_server::run(listener, podium));
        Ok(())
    }

    /// The meeting id of the bundled meeting.
    pub fn meeting(&self) -> &str {
        &self.links[0].meeting
    }

    /// The token of the first link with this role (and person, if given).
    pub fn token(&self, role: &str, person: Option<&str>) -> String {
        token_of(&self.links, role, person)
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(())
    }
}

/// The token in a link list for a role (and person).
pub fn token_of(links: &[Link], role: &str, person: Option<&str>) -> String {
    links
        .iter()
        .find(|l| l.role.as_str() == role && (person.is_none() || l.person.as_deref() == person))
        .and_then(|l| l.url.split('#').nth(1))
        .unwrap_or_else(|| panic!("no {role} link for {person:?}"))
        .to_string()
}

/// The `podium` binary next to the test executable (built by `cargo build`).
pub fn podium_bin() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("PODIUM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("no target dir"))?;
    let bin = dir.join("podium");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(anyhow!(
            "{} is missing: run `cargo build -p podium-server` first (scripts/test does)",
            bin.display()
        ))
    }
}

/// How to start a `podium serve` child beyond the defaults (stdout and stderr to
/// /dev/null, the test admin token).
#[derive(Default)]
pub struct ChildOptions {
    /// Extra arguments after `serve --bind ADDR --data DIR`.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Where its stdout goes (default: /dev/null).
    pub stdout: Option<std::process::Stdio>,
    /// Where its stderr goes (default: /dev/null).
    pub stderr: Option<std::process::Stdio>,
}

/// A `podium serve` child process.
pub struct ChildServer {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its links (from `podium links --json`).
    pub links: Vec<serde_json::Value>,
}

impl ChildServer {
    /// Starts `podium serve` on a free port with `data` as its data directory, and waits
    /// until it answers `/healthz`.
    pub fn start(data: &Path) -> Result<ChildServer> {
        ChildServer::start_with(data, ChildOptions::default())
    }

    /// Like [`ChildServer::start`], creating the first meeting from `agenda` (TOML,
    /// written into `data`) when the data directory has none yet.
    pub fn start_with_agenda(data: &Path, agenda: Option<&str>) -> Result<ChildServer> {
        let mut options = ChildOptions::default();
        if let Some(text) = agenda {
            std::fs::create_dir_all(data)?;
            let file = data.join("agenda.toml");
            std::fs::write(&file, text)?;
            options.args = vec!["--agenda".into(), file.display().to_string()];
        }
        ChildServer::start_with(data, options)
    }

    /// Starts `podium serve` with extra arguments, environment and output files.
    pub fn start_with(data: &Path, options: ChildOptions) -> Result<ChildServer> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let mut child = std::process::Command::new(podium_bin()?)
            .args(["serve", "--bind", &addr.to_string(), "--data"])
            .arg(data)
            .args(&options.args)
            .env("PODIUM_ADMIN_TOKEN", ADMIN)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdout(options.stdout.unwrap_or_else(std::process::Stdio::null))
            .stderr(options.stderr.unwrap_or_else(std::process::Stdio::null))
            .spawn()
            .context("start podium serve")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                return Err(anyhow!(
                    "podium serve exited with {status} before listening"
                ));
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return Err(anyhow!("podium serve did not listen on {addr} within 30 s"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = std::process::Command::new(podium_bin()?)
            .args(["links", "--json", "--data"])
            .arg(data)
            .output()?;
        let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
            .with_context(|| String::from_utf8_lossy(&out.stderr).to_string())?;
        Ok(ChildServer { child, addr, links })
    }

    /// The token for a role (and person id).
    pub fn token(&self, role: &str, person: Option<&str>) -> String {
        self.links
            .iter()
            .find(|l| l["role"] == role && (person.is_none() || l["person"].as_str() == person))
            .and_then(|l| l["url"].as_str())
            .and_then(|u| u.split('#').nth(1))
            .unwrap_or_else(|| panic!("no {role} link"))
            .to_string()
    }

    /// The meeting id.
    pub fn meeting(&self) -> String {
        self.links[0]["meeting"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit; its exit status.
    pub fn terminate(&mut self, limit: std::time::Duration) -> Result<std::process::ExitStatus> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                return Err(anyhow!(
                    "podium serve did not stop within {limit:?} of SIGTERM"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill9(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestServer {
    /// The value of one line of `/metrics` (e.g. `podium_slow_clients_dropped_total` or
    /// `podium_connections{role="host"}`), read from the hub's counters.
    pub fn metric(&self, name: &str) -> Option<i64> {
        metric_value(&self.hub.metrics.render(), name)
    }
}

/// The value of a metric line in a Prometheus text exposition.
pub fn metric_value(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
