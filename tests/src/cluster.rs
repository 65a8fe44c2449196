//! Cluster test tools: a real `redis-server` of the test's own (free port, temporary
//! directory, `--appendonly yes --appendfsync always --save ""`), cluster nodes in-process
//! or as real `podium serve --cluster` processes (for kill -9 and SIGSTOP), and readers of
//! what the cluster keeps in Redis (lease holders, the journal's epochs).

use crate::server::{podium_bin, ADMIN};
use anyhow::{anyhow, bail, Context, Result};
use podium_server::cluster::ClusterConfig;
use podium_server::hub::Link;
use podium_server::{Config, Limits, Podium};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The meeting id of the bundled agenda.
pub const MEETING: &str = "gfmd-mayors-2021-01-22";

/// A free TCP port on loopback (bound and released: good enough for tests).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `redis-server` binary, or a message saying how to get it.
pub fn redis_server_bin() -> Result<PathBuf> {
    for p in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if Path::new(p).exists() {
            return Ok(PathBuf::from(p));
        }
    }
    bail!(
        "redis-server is not installed: run `apt-get install -y redis-server` (scripts/test does)"
    )
}

/// A redis-server of the test's own.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its directory (AOF files); deleted on drop.
    pub dir: tempfile::TempDir,
    /// The process.
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers PING.
    pub fn start() -> Result<RedisServer> {
        let mut r = RedisServer {
            port: free_port()?,
            dir: tempfile::tempdir()?,
            child: None,
        };
        r.spawn()?;
        Ok(r)
    }

    fn spawn(&mut self) -> Result<()> {
        let child = Command::new(redis_server_bin()?)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start redis-server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut c) = redis::Client::open(self.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
            {
                // Loading a large AOF answers LOADING: wait until it really serves.
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "redis-server did not answer on port {} within 20 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of the server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A blocking connection.
    pub fn conn(&self) -> Result<redis::Connection> {
        Ok(redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(5))?)
    }

    /// Kills it with SIGKILL (what is acknowledged must be in its AOF) and starts it
    /// again on the same directory and port.
    pub fn kill9_and_restart(&mut self, down_for: Duration) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        std::thread::sleep(down_for);
        self.spawn()
    }

    /// The lease holder of a meeting: (node, epoch).
    pub fn owner(&self, meeting: &str) -> Result<Option<(String, u64)>> {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("podium:m:{meeting}:lease"))
            .query(&mut self.conn()?)?;
        Ok(v.and_then(|v| {
            let (n, e) = v.rsplit_once('/')?;
            Some((n.to_string(), e.parse().ok()?))
        }))
    }

    /// Waits until someone other than `not` holds the lease (or anyone, if `None`).
    pub fn wait_owner(
        &self,
        meeting: &str,
        not: Option<&str>,
        limit: Duration,
    ) -> Result<(String, u64)> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some((n, e)) = self.owner(meeting)? {
                if Some(n.as_str()) != not {
                    return Ok((n, e));
                }
            }
            if Instant::now() > deadline {
                bail!("no new owner of {meeting} within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every journal entry of a meeting: (seq, epoch of its writer, event JSON).
    pub fn journal(&self, meeting: &str) -> Result<Vec<(u64, u64, String)>> {
        type Entries = Vec<(String, Vec<(String, String)>)>;
        let entries: Entries = redis::cmd("XRANGE")
            .arg(format!("podium:m:{meeting}:journal"))
            .arg("-")
            .arg("+")
            .query(&mut self.conn()?)?;
        entries
            .into_iter()
            .map(|(id, fields)| {
                let seq = id.split('-').next().unwrap_or("0").parse()?;
                let get = |k: &str| {
                    fields
                        .iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                Ok((seq, get("ep").parse()?, get("e")))
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A cluster node in this process.
pub struct InProcNode {
    /// Its name.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Cancel to stop it (it hands its meetings over first).
    pub shutdown: CancellationToken,
    /// The server task.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Its hub.
    pub hub: Arc<podium_server::hub::Hub>,
}

impl InProcNode {
    /// Starts a node of the cluster at `url` with the bundled meeting (created by the
    /// first node to start).
    pub async fn start(url: &str, id: &str, lease: Duration) -> Result<InProcNode> {
        let shutdown = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let config = Config {
            data_dir: PathBuf::from("/nonexistent"),
            public_url: None,
            admin_token: ADMIN.into(),
            limits: Arc::new(Limits::default()),
        };
        let mut c = ClusterConfig::new(url, id);
        c.lease_ttl = lease;
        c.base_url = Some(format!("http://{addr}"));
        let podium = Podium::open_cluster(config, c, shutdown.clone()).await?;
        let agenda = podium_protocol::Agenda::from_toml(podium_server::DEFAULT_AGENDA)
            .map_err(|e| anyhow!("{e}"))?;
        podium.ensure_meeting(agenda).await?;
        let hub = podium.hub.clone();
        let task = tokio::spawn(podium_server::run(listener, podium));
        Ok(InProcNode {
            id: id.to_string(),
            addr,
            shutdown,
            task,
            hub,
        })
    }

    /// Stops it (graceful hand-over) and waits.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(())
    }
}

/// The role links of the cluster's live meetings, read from Redis.
pub async fn links(url: &str) -> Result<Vec<Link>> {
    Ok(podium_server::cluster::offline::links_cluster(url, "http://x").await?)
}

/// A `podium serve --cluster` process.
pub struct ProcNode {
    /// Its name.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The process.
    pub child: Child,
}

impl ProcNode {
    /// Starts a node process and waits until it listens and has joined.
    pub fn start(
        url: &str,
        id: &str,
        lease_ms: u64,
        extra: &[&str],
        log: Option<&Path>,
    ) -> Result<ProcNode> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let stderr = match log {
            Some(p) => Stdio::from(std::fs::File::create(p)?),
            None => Stdio::null(),
        };
        let child = Command::new(podium_bin()?)
            .args(["serve", "--bind", &addr.to_string(), "--cluster", url])
            .args(["--node-id", id, "--lease-ms", &lease_ms.to_string()])
            .args(extra)
            .env("PODIUM_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("start podium serve --cluster")?;
        let mut node = ProcNode {
            id: id.to_string(),
            addr,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = node.child.try_wait()? {
                bail!("node {id} exited at start: {status}");
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(node);
            }
            if Instant::now() > deadline {
                let _ = node.child.kill();
                bail!("node {id} did not listen on {addr} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: i32) -> Result<()> {
        // SAFETY: kill(2) on our own child's pid.
        let r = unsafe { libc::kill(self.pid(), sig) };
        if r != 0 {
            bail!("kill({}, {sig}) failed", self.pid());
        }
        Ok(())
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM (graceful hand-over), and wait for the exit.
    pub fn terminate(&mut self, limit: Duration) -> Result<std::process::ExitStatus> {
        self.signal(libc::SIGTERM)?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > deadline {
                bail!("node {} did not stop within {limit:?} of SIGTERM", self.id);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One value of its `/metrics`.
    pub async fn metric(&self, name: &str) -> Result<Option<i64>> {
        let text = crate::http::get(self.addr, "/metrics", None).await?.body;
        Ok(crate::server::metric_value(&text, name))
    }
}

impl Drop for ProcNode {
    fn drop(&mut self) {
        // A stopped process cannot die of SIGKILL until continued.
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid(), libc::SIGCONT);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
