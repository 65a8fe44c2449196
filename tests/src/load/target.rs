//! What the load generator measures: a Podium server (a `podium serve` child, or an
//! in-process test server), the Node.js `ws` relays of `tests/peers/` (frame-once and
//! idiomatic), or the floor (a plain loop writing one frame to many loopback sockets).

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which kind of server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// Podium.
    Podium,
    /// The Node.js ws relay that frames each broadcast once.
    WsRelay,
    /// The idiomatic Node.js ws relay: `client.send` for each client.
    WsRelaySend,
    /// The plain write loop.
    Floor,
}

impl TargetKind {
    /// Parses `podium`, `ws-relay` or `floor`.
    pub fn parse(s: &str) -> Result<TargetKind> {
        Ok(match s {
            "podium" => TargetKind::Podium,
            "ws-relay" => TargetKind::WsRelay,
            "ws-relay-send" => TargetKind::WsRelaySend,
            "floor" => TargetKind::Floor,
            _ => bail!("unknown target {s:?}: podium, ws-relay, ws-relay-send or floor"),
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Podium => "podium",
            TargetKind::WsRelay => "ws-relay",
            TargetKind::WsRelaySend => "ws-relay-send",
            TargetKind::Floor => "floor",
        }
    }
}

/// Podium's links for the bundled meeting.
#[derive(Debug, Clone)]
pub struct PodiumLinks {
    /// Meeting id.
    pub meeting: String,
    /// Host token.
    pub host: String,
    /// Participant join link token.
    pub participant: String,
    /// Observer join link token.
    pub observer: String,
}

/// A running target.
pub struct Target {
    /// Which kind.
    pub kind: TargetKind,
    /// Where it listens (websocket for Podium and the relay; TCP for the floor).
    pub addr: SocketAddr,
    /// Its process id (for CPU and RSS).
    pub pid: u32,
    /// Podium's links.
    pub links: Option<PodiumLinks>,
    /// The child process, if we started one (killed on drop).
    pub child: Option<Child>,
    /// The data directory of a child Podium (deleted on drop).
    pub data: Option<tempfile::TempDir>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // SIGTERM first so the relay and podium end cleanly; then make sure.
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn command(program: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(c.to_string()).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

fn wait_listening(addr: SocketAddr, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("the target exited before listening: {status}");
        }
        if Instant::now() > deadline {
            bail!("the target did not listen on {addr} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `podium serve` (the binary at `bin`) on a fresh data directory, on `cpu` if given.
///
/// `extra` is appended to `podium serve` (e.g. `--join-rate 100000`). A `legacy` server
/// (protocol 1, from before the hand cooldown) gets the bundled agenda as it is.
pub fn start_podium(
    bin: &Path,
    cpu: Option<usize>,
    extra: &[String],
    legacy: bool,
) -> Result<Target> {
    let data = tempfile::tempdir()?;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut cmd = command(bin, cpu);
    cmd.args(["serve", "--bind", &addr.to_string(), "--data"])
        .arg(data.path());
    if !legacy {
        // The durable-commands scenario toggles hands every 55 ms: the hand cooldown is off.
        let agenda = data.path().join("agenda.toml");
        std::fs::write(&agenda, crate::server::agenda_without_hand_cooldown())?;
        cmd.arg("--agenda").arg(&agenda);
    }
    let mut child = cmd
        .args(extra)
        .env("PODIUM_ADMIN_TOKEN", crate::server::ADMIN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {} serve", bin.display()))?;
    wait_listening(addr, &mut child)?;
    let out = Command::new(bin)
        .args(["links", "--json", "--data"])
        .arg(data.path())
        .output()?;
    let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stderr).to_string())?;
    let token = |role: &str| -> Result<String> {
        links
            .iter()
            .find(|l| l["role"] == role)
            .and_then(|l| l["url"].as_str())
            .and_then(|u| u.split('#').nth(1))
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no {role} link"))
    };
    let links = PodiumLinks {
        meeting: links[0]["meeting"].as_str().unwrap_or_default().to_string(),
        host: token("host")?,
        participant: token("participant")?,
        observer: token("observer")?,
    };
    let pid = child_pid(&child, cpu)?;
    Ok(Target {
        kind: TargetKind::Podium,
        addr,
        pid,
        links: Some(links),
        child: Some(child),
        data: Some(data),
    })
}

/// With `taskset` the child execs the program, so its pid is the program's pid.
fn child_pid(child: &Child, _cpu: Option<usize>) -> Result<u32> {
    Ok(child.id())
}

/// Starts `node relay.js` in `peers` (after `npm ci` there) with frames of `frame` bytes:
/// the frame-once relay (`WsRelay`) or the idiomatic one (`WsRelaySend`).
pub fn start_relay(
    kind: TargetKind,
    peers: &Path,
    frame: usize,
    cpu: Option<usize>,
) -> Result<Target> {
    let style = if kind == TargetKind::WsRelaySend {
        "send"
    } else {
        "frame"
    };
    let script = peers.join("relay.js");
    if !peers.join("node_modules/ws").exists() {
        bail!(
            "{} has no node_modules: run `npm ci` there (scripts/bench does)",
            peers.display()
        );
    }
    let port = free_port()?;
    let mut child = command(Path::new("node"), cpu)
        .arg(&script)
        .args(["--port", &port.to_string(), "--frame", &frame.to_string()])
        .args(["--style", style])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start node relay.js")?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    wait_listening(addr, &mut child)?;
    let pid = child_pid(&child, cpu)?;
    Ok(Target {
        kind,
        addr,
        pid,
        links: None,
        child: Some(child),
        data: None,
    })
}

/// The floor writer as a child: `podium-load floor-writer` (this executable).
pub struct FloorWriter {
    /// The target (its addr accepts the readers).
    pub target: Target,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl FloorWriter {
    /// Starts it; it accepts `n` connections on its address.
    pub fn start(exe: &Path, n: usize, frame: usize, cpu: Option<usize>) -> Result<FloorWriter> {
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let mut child = command(exe, cpu)
            .args(["floor-writer", "--bind", &addr.to_string()])
            .args(["--n", &n.to_string(), "--frame", &frame.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start floor-writer")?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?; // "listening"
        let pid = child.id();
        Ok(FloorWriter {
            target: Target {
                kind: TargetKind::Floor,
                addr,
                pid,
                links: None,
                child: Some(child),
                data: None,
            },
            stdin,
            stdout,
        })
    }

    /// Asks for one round (one frame to every socket) and waits until it is written.
    pub fn round(&mut self) -> Result<()> {
        writeln!(self.stdin, "round")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        if line.trim() != "done" {
            bail!("floor-writer said {line:?}");
        }
        Ok(())
    }
}

/// The floor writer's own loop (runs in the child): accept `n` sockets, then for each
/// `round` line on stdin write one `frame`-byte buffer to each socket and print `done`.
pub fn floor_writer_main(bind: &str, n: usize, frame: usize) -> Result<()> {
    crate::load::stats::raise_nofile();
    let listener = std::net::TcpListener::bind(bind)?;
    println!("listening");
    std::io::stdout().flush()?;
    let mut socks = Vec::with_capacity(n);
    while socks.len() < n {
        let (s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        socks.push(s);
    }
    let buf = vec![b'x'; frame];
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        for s in socks.iter_mut() {
            s.write_all(&buf)?;
        }
        println!("done");
        std::io::stdout().flush()?;
    }
}

/// The `podium` binary next to this executable, or `$PODIUM_BIN`.
pub fn podium_bin() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("PODIUM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(2) {
        let bin = dir.join("podium");
        if bin.exists() {
            return Ok(bin);
        }
    }
    bail!(
        "no podium binary next to {}: build it or set PODIUM_BIN",
        exe.display()
    )
}
