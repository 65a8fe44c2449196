//! Logging against the real binary: stderr on a full disk (`/dev/full`), a closed pipe or
//! a pipe nobody reads never takes a meeting down (hello, start, commands acknowledged,
//! the drops counted in /metrics, SIGTERM stops it cleanly); and a `RUST_LOG=trace` run
//! writes none of the tokens it used, in any encoding.

use podium_protocol::{Command, Lang};
use podium_tests::client::Client;
use podium_tests::http;
use podium_tests::server::{metric_value, ChildOptions, ChildServer};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

/// Both ends of a new pipe.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors that we then own.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", std::io::Error::last_os_error());
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Runs a meeting on a server whose stderr is `stderr` at `RUST_LOG=debug`, checks that
/// every command is acknowledged and that the server stops on SIGTERM with status 0.
async fn meeting_survives(stderr: Stdio, expect_drops: bool) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = ChildServer::start_with(
        data.path(),
        ChildOptions {
            env: vec![("RUST_LOG".into(), "debug".into())],
            stderr: Some(stderr),
            ..Default::default()
        },
    )?;
    let m = server.meeting();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::NextSegment).await?;
    let mut p = Client::join(
        server.addr,
        &m,
        &server.token("participant", None),
        "Ana Souza",
        "Brazil",
        Lang::Es,
    )
    .await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    p.must(Command::RaiseHand {
        language: None,
        point_of_order: false,
    })
    .await?;
    // A second connection after all that logging is still served.
    let mut again = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    again.ping().await?;
    assert_eq!(again.state.queue.len(), 1);
    let metrics = http::request(server.addr, "GET", "/metrics", &[], b"").await?;
    let dropped = metric_value(&metrics.body, "podium_log_lines_dropped_total")
        .expect("podium_log_lines_dropped_total in /metrics");
    if expect_drops {
        assert!(
            dropped > 0,
            "lines that could not be written must be counted"
        );
    }
    host.close().await;
    p.close().await;
    again.close().await;
    let status = server.terminate(Duration::from_secs(15))?;
    assert!(status.success(), "podium serve exited with {status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_on_dev_full_runs_the_meeting_and_stops_on_sigterm() -> anyhow::Result<()> {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
    meeting_survives(Stdio::from(full), true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_on_a_closed_pipe_runs_the_meeting_and_stops_on_sigterm() -> anyhow::Result<()> {
    let (read, write) = pipe();
    drop(read);
    meeting_survives(Stdio::from(write), true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_on_a_pipe_nobody_reads_runs_the_meeting() -> anyhow::Result<()> {
    // The pipe's buffer (64 KiB) fills at `RUST_LOG=debug`; writes to it then block. The
    // reader is kept open and never read until the server has stopped.
    let (read, write) = pipe();
    let result = meeting_survives(Stdio::from(write), false).await;
    drop(read);
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_run_logs_no_token() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let log_path = data.path().join("stderr.log");
    let log = std::fs::File::create(&log_path)?;
    let mut server = ChildServer::start_with(
        data.path(),
        ChildOptions {
            env: vec![("RUST_LOG".into(), "trace".into())],
            stderr: Some(Stdio::from(log)),
            ..Default::default()
        },
    )?;
    let m = server.meeting();
    let mut used: Vec<String> = server
        .links
        .iter()
        .filter_map(|l| l["url"].as_str()?.split('#').nth(1).map(str::to_string))
        .collect();
    // Every role link says hello (join links join), and each joined person resumes with
    // their own token.
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    for l in server.links.clone() {
        let token = l["url"].as_str().unwrap().split('#').nth(1).unwrap();
        match l["role"].as_str().unwrap() {
            "participant" | "observer" => {
                let c =
                    Client::join(server.addr, &m, token, "Ana Souza", "Brazil", Lang::Es).await?;
                let own = c.participant_token.clone().expect("a personal token");
                c.close().await;
                let mut again = Client::hello(server.addr, &m, &own).await?;
                again.ping().await?;
                again.close().await;
                used.push(own);
            }
            _ => {
                let mut c = Client::hello(server.addr, &m, token).await?;
                c.ping().await?;
                c.close().await;
            }
        }
    }
    // A wrong token is not logged either.
    let wrong = "0badc0de0badc0de0badc0de0badc0de".to_string();
    assert!(Client::hello(server.addr, &m, &wrong).await.is_err());
    used.push(wrong);
    // The admin token, used on the admin API.
    let admin = format!("Bearer {}", podium_tests::server::ADMIN);
    let listed = http::request(
        server.addr,
        "GET",
        "/api/meetings",
        &[("Authorization", &admin)],
        b"",
    )
    .await?;
    assert_eq!(listed.status, 200);
    used.push(podium_tests::server::ADMIN.into());
    host.close().await;
    let status = server.terminate(Duration::from_secs(15))?;
    assert!(status.success());

    let log = std::fs::read(&log_path)?;
    let text = String::from_utf8_lossy(&log);
    // The run did log at trace level (so the test can fail).
    assert!(
        text.lines().filter(|l| l.contains("TRACE")).count() > 10,
        "expected a trace-level log, got:\n{text}"
    );
    assert!(text.contains("hello") || text.contains("join") || text.contains("conn"));
    assert!(used.len() >= 10, "tokens used: {}", used.len());
    for token in &used {
        let forms = [
            token.clone(),
            token.to_ascii_uppercase(),
            hex_of(token),
            format!("{:?}", token.as_bytes()),
        ];
        for form in forms {
            assert!(
                !text.contains(&form),
                "a token appears in the log (as {form:.40}…)"
            );
        }
    }
    Ok(())
}

/// The token's bytes in hex, as tungstenite prints frame payloads.
fn hex_of(token: &str) -> String {
    token.bytes().map(|b| format!("{b:02x}")).collect()
}
