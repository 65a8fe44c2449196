//! Out of file descriptors: the accept loop backs off (a handful of tries, one log line,
//! not one per second) and serves the waiting clients as soon as descriptors are free.
//!
//! A test binary of its own: it lowers this process's open-file limit and fills the
//! descriptor table, which would disturb any other test running beside it.

use podium_tests::server::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The captured log.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines_with(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_accept_loop_backs_off_and_recovers() -> anyhow::Result<()> {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    // SAFETY: setrlimit on this process with a struct we own.
    unsafe {
        let lim = libc::rlimit {
            rlim_cur: 512,
            rlim_max: libc::RLIM_INFINITY,
        };
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur);
        let lim = libc::rlimit {
            rlim_max: cur.rlim_max,
            ..lim
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    let server = TestServer::start().await?;
    let addr = server.addr;
    // Sockets made while descriptors are left; connected once none are.
    let sockets: Vec<_> = (0..3)
        .map(|_| tokio::net::TcpSocket::new_v4())
        .collect::<Result<_, _>>()?;
    let null = std::fs::File::open("/dev/null")?;
    let mut filler = Vec::new();
    loop {
        // SAFETY: duplicating a descriptor we own; each copy is closed below.
        let fd = unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&null),
                libc::F_DUPFD_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EMFILE)
            );
            break;
        }
        filler.push(fd);
    }
    let mut clients = Vec::new();
    for s in sockets {
        clients.push(s.connect(addr).await?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let failures = server.metric("podium_accept_errors_total").unwrap_or(0);
    // Free the descriptors before asserting, so a failure leaves the process usable.
    for fd in filler {
        // SAFETY: closing the copies made above.
        unsafe { libc::close(fd) };
    }
    assert!(
        (1..=20).contains(&failures),
        "accept failed {failures} times in 3 s: it must back off, not spin"
    );
    assert_eq!(
        log.lines_with("cannot accept connections"),
        1,
        "one log line per episode"
    );
    // The clients that waited in the backlog are served.
    let t0 = Instant::now();
    for mut c in clients {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await?;
        let mut got = String::new();
        tokio::time::timeout(Duration::from_secs(5), c.read_to_string(&mut got)).await??;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    }
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert_eq!(log.lines_with("accepting connections again"), 1);
    server.stop().await
}
