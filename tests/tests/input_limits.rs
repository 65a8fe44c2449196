//! Input limits over real sockets and the real binary: names people type must show a
//! letter (zero-width, blank and 80-combining-mark names are refused; bidi overrides are
//! removed); the admin API refuses an oversized agenda with located errors and hints; a
//! title with no Latin letter still gets a usable meeting id; `podium agenda check` says
//! where each problem is.

use podium_protocol::{ErrorCode, Lang};
use podium_tests::client::Client;
use podium_tests::http;
use podium_tests::server::{podium_bin, TestServer, ADMIN};

/// A small agenda with the given meeting title, segment duration and speaker.
fn agenda(title: &str, duration: &str, speaker_id: &str, speaker: &str, extra: usize) -> String {
    let mut t = format!(
        r#"[meeting]
title = "{title}"
time_zone = "Europe/Paris"
start = "2021-01-22T16:00"
languages = ["en", "fr"]

[[segment]]
id = "one"
kind = "round"
title = "One"
duration = "{duration}"

[[segment.speakers]]
id = "{speaker_id}"
name = "{speaker}"
language = "en"
"#
    );
    for i in 0..extra {
        t.push_str(&format!(
            "\n[[segment]]\nid = \"extra-{i}\"\nkind = \"break\"\ntitle = \"Extra {i}\"\nduration = \"1m\"\n"
        ));
    }
    t
}

async fn post(server: &TestServer, body: &str) -> anyhow::Result<http::Response> {
    let auth = format!("Bearer {ADMIN}");
    http::request(
        server.addr,
        "POST",
        "/api/meetings",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/toml"),
        ],
        body.as_bytes(),
    )
    .await
}

/// The (path, line) of each error of a 400 `invalid_agenda` answer.
fn errors(r: &http::Response) -> anyhow::Result<Vec<(String, Option<u64>, String)>> {
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json()?;
    assert_eq!(v["error"], "invalid_agenda");
    Ok(v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["hint"].is_string(), "every limit error has a hint: {e}");
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["line"].as_u64(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_agendas_are_refused_with_located_errors() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    // 30,000 segments do not even fit the request body limit (2 MB).
    let r = post(&server, &agenda("Big", "1m", "ana", "Ana", 30_000)).await?;
    assert_eq!(r.status, 413, "{}", r.body);
    // 1,000 do, and are too many.
    let r = post(&server, &agenda("Big", "1m", "ana", "Ana", 1_000)).await?;
    let e = errors(&r)?;
    assert!(
        e.iter()
            .any(|(p, _, m)| p == "segment" && m.contains("at most 200")),
        "{e:?}"
    );
    // A 1 MB title, a duration of 2^40 seconds, a person id that is not an id.
    let big = "x".repeat(1_000_000);
    let r = post(
        &server,
        &agenda(&big, "1099511627776s", "Ana Souza!", "Ana", 0),
    )
    .await?;
    let e = errors(&r)?;
    let find = |path: &str| e.iter().find(|(p, _, _)| p == path).cloned();
    let (_, line, msg) = find("meeting.title").expect("title error");
    assert_eq!(line, Some(2), "located: {msg}");
    assert!(msg.contains("at most 200"), "{msg}");
    let (_, line, msg) = find("segment[0].duration").expect("duration error");
    assert_eq!(line, Some(11));
    assert!(msg.contains("longer than"), "{msg}");
    let (_, line, _) = find("segment[0].speakers[0].id").expect("person id error");
    assert_eq!(line, Some(14));
    // A speaker whose name is only invisible characters.
    let r = post(&server, &agenda("Ok", "5m", "ana", "\u{200B}\u{200B}", 0)).await?;
    let e = errors(&r)?;
    assert!(
        e.iter().any(|(p, _, _)| p == "segment[0].speakers[0].name"),
        "{e:?}"
    );
    // Nothing of that was created.
    let auth = format!("Bearer {ADMIN}");
    let list = http::request(
        server.addr,
        "GET",
        "/api/meetings",
        &[("Authorization", auth.as_str())],
        b"",
    )
    .await?;
    assert_eq!(list.json()?.as_array().map(|a| a.len()), Some(1));
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_without_latin_letters_gets_a_usable_id() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    for (title, want) in [
        ("Встреча мэров", Some("vstrecha-merov")),
        ("اجتماع رؤساء البلديات", None),
        ("市长会议", None),
    ] {
        let r = post(&server, &agenda(title, "5m", "ana", "Ana", 0)).await?;
        assert_eq!(r.status, 201, "{title}: {}", r.body);
        let v = r.json()?;
        let id = v["meeting"].as_str().unwrap().to_string();
        assert!(!id.is_empty() && id.len() <= 64, "{title}: {id:?}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id}"
        );
        if let Some(want) = want {
            assert_eq!(id, want);
        }
        let host = v["links"][0]["url"].as_str().unwrap();
        assert!(host.contains(&format!("/m/{id}/host#")), "{host}");
        let token = host.split('#').nth(1).unwrap();
        let c = Client::hello(server.addr, &id, token).await?;
        assert_eq!(c.you.role, podium_protocol::Role::Host);
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_must_show_a_letter_and_lose_bidi_overrides() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let link = server.token("participant", None);
    let zalgo = format!("Z{}", "\u{0301}".repeat(80));
    for (name, delegation, why) in [
        ("\u{200B}\u{200B}\u{200B}", "Brazil", "empty"),
        ("   ", "Brazil", "empty"),
        ("Ana", "\u{2066}\u{2069}", "empty"),
        ("...", "Brazil", "letter or digit"),
        (zalgo.as_str(), "Brazil", "accents"),
    ] {
        match Client::join(addr, &m, &link, name, delegation, Lang::En).await {
            Ok(_) => panic!("{name:?} / {delegation:?} joined"),
            Err(e) => {
                let e = format!("{e:#}");
                assert!(
                    e.contains(&format!("{:?}", ErrorCode::InvalidArgument)) && e.contains(why),
                    "{name:?}: {e}"
                );
            }
        }
    }
    let p = Client::join(
        addr,
        &m,
        &link,
        "\u{202E}Ana Souza\u{202C}",
        "Brasil\u{2067}",
        Lang::En,
    )
    .await?;
    assert_eq!(p.you.name, "Ana Souza");
    let host = Client::hello(addr, &m, &server.token("host", None)).await?;
    let _ = host;
    server.stop().await
}

#[test]
fn agenda_check_locates_limit_problems() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("big.toml");
    std::fs::write(&file, agenda(&"t".repeat(300), "48h", "Bad Id", "Ana", 0))?;
    let out = std::process::Command::new(podium_bin()?)
        .args(["agenda", "check"])
        .arg(&file)
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        "big.toml:2:1: meeting.title: 300 characters is too long: at most 200",
        "big.toml:11:1: segment[0].duration: 48h is longer than the 24h",
        "big.toml:14:1: segment[0].speakers[0].id:",
        "(hint: ",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    Ok(())
}
