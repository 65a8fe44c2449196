//! The HTTP surface over a real socket: health, metrics, and the admin API that creates
//! and lists meetings (TOML or JSON agendas, located errors, bearer token).

use podium_protocol::Role;
use podium_tests::client::Client;
use podium_tests::http::{get, post, request};
use podium_tests::server::{metric_value, TestServer, ADMIN};
use serde_json::Value;

const SMALL_TOML: &str = r#"# A small two-segment meeting.
[meeting]
id = "live-http-board"
title = "Board meeting"
time_zone = "Europe/Paris"
start = "2030-03-04T10:00"
languages = ["en", "fr"]
speech_limit = "3m"

[[segment]]
id = "opening"
kind = "intro"
title = "Opening"
duration = "5m"
speakers = [{ name = "Ada Lovelace", language = "en" }]

[[segment]]
id = "floor"
kind = "open_floor"
title = "Open floor"
duration = "20m"
moderator = { name = "Grace Hopper", language = "en" }
"#;

/// Line 13 has a segment duration of zero, line 18 is not TOML.
const BROKEN_TOML: &str = r#"[meeting]
id = "live-http-broken"
title = "Broken"
time_zone = "Europe/Paris"
start = "2030-03-04T10:00"
languages = ["en"]

[[segment]]
id = "opening"
kind = "intro"
title = "Opening"
duration = "5m"
speakers = [{ name = "Ada Lovelace", language = "en" }

[[segment]]
id = "floor"
"#;

const INVALID_TOML: &str = r#"[meeting]
id = "live-http-invalid"
title = "Invalid"
time_zone = "Europe/Paris"
start = "2030-03-04T10:00"
languages = ["en"]

[[segment]]
id = "opening"
kind = "intro"
title = "Opening"
duration = "0m"
"#;

fn json_agenda() -> Value {
    serde_json::json!({
        "meeting": {
            "id": "live-http-json",
            "title": "Posted as JSON",
            "time_zone": "America/Bogota",
            "start": "2030-05-06T09:30",
            "languages": ["es", "en"],
        },
        "segment": [
            { "id": "one", "kind": "intro", "title": "One", "duration": 300 },
            { "id": "two", "kind": "closing", "title": "Two", "duration": "10m" },
        ],
    })
}

fn token_of(links: &Value, role: &str) -> String {
    links
        .as_array()
        .expect("links is an array")
        .iter()
        .find(|l| l["role"] == role)
        .and_then(|l| l["url"].as_str())
        .and_then(|u| u.split('#').nth(1))
        .unwrap_or_else(|| panic!("no {role} link in {links}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let addr = server.addr;
    let r = get(addr, "/healthz", None).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.trim(), "ok");

    let m = server.meeting().to_string();
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    let _projector = Client::hello(addr, &m, &server.token("projector", None)).await?;
    host.must(podium_protocol::Command::StartMeeting).await?;
    let r = get(addr, "/metrics", None).await?;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        r.headers
    );
    let text = &r.body;
    assert_eq!(
        metric_value(text, r#"podium_connections{role="host"}"#),
        Some(1),
        "{text}"
    );
    assert_eq!(
        metric_value(text, r#"podium_connections{role="projector"}"#),
        Some(1)
    );
    assert_eq!(
        metric_value(text, r#"podium_connections{role="speaker"}"#),
        Some(0)
    );
    assert_eq!(metric_value(text, "podium_meetings"), Some(1));
    assert!(metric_value(text, "podium_commands_accepted_total").unwrap() >= 1);
    for counter in [
        "podium_commands_rejected_total",
        "podium_messages_sent_total",
        "podium_bytes_sent_total",
        "podium_slow_clients_dropped_total",
        "podium_rate_limited_total",
        "podium_abuse_closed_total",
        "podium_bad_messages_total",
    ] {
        assert!(
            metric_value(text, counter).is_some(),
            "{counter} missing from:\n{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {counter} counter")),
            "{counter} type"
        );
    }
    // Disconnecting shows in the gauge.
    host.close().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = get(addr, "/metrics", None).await?;
        if metric_value(&r.body, r#"podium_connections{role="host"}"#) == Some(0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "host gauge never went back to 0"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_creates_and_lists_meetings() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let addr = server.addr;

    // No token, wrong token: 401, and nothing is created.
    let r = post(addr, "/api/meetings", None, "application/toml", SMALL_TOML).await?;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()?["error"], "unauthorized");
    let wrong = "ffffffffffffffffffffffffffffffff";
    let r = post(
        addr,
        "/api/meetings",
        Some(wrong),
        "application/toml",
        SMALL_TOML,
    )
    .await?;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = request(
        addr,
        "POST",
        "/api/meetings",
        &[
            ("Authorization", ADMIN),
            ("Content-Type", "application/toml"),
        ],
        SMALL_TOML.as_bytes(),
    )
    .await?;
    assert_eq!(
        r.status, 401,
        "a token without `Bearer ` is no bearer token"
    );
    assert_eq!(get(addr, "/api/meetings", None).await?.status, 401);
    assert_eq!(get(addr, "/api/meetings", Some(wrong)).await?.status, 401);
    assert_eq!(server.hub.meeting_count(), 1);

    // A good TOML agenda: 201 with every role link.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        SMALL_TOML,
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json()?;
    assert_eq!(created["meeting"], "live-http-board");
    assert_eq!(created["title"], "Board meeting");
    let links = &created["links"];
    for role in [
        "host",
        "moderator",
        "speaker",
        "participant",
        "observer",
        "interpreter",
        "projector",
    ] {
        let url = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["role"] == role)
            .and_then(|l| l["url"].as_str())
            .unwrap_or_else(|| panic!("no {role} link in {links}"));
        assert!(
            url.starts_with(&format!("http://{addr}/m/live-http-board/{role}#")),
            "{url}"
        );
    }
    let speaker = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["role"] == "speaker")
        .unwrap();
    assert_eq!(speaker["person"], "ada-lovelace");
    assert_eq!(speaker["speaker"], "Ada Lovelace");

    // The new meeting is live: its host link opens it, and only it.
    let host_token = token_of(links, "host");
    let mut host = Client::hello(addr, "live-http-board", &host_token).await?;
    assert_eq!(host.you.role, Role::Host);
    assert_eq!(host.agenda.segments.len(), 2);
    assert_eq!(host.agenda.meeting.title, "Board meeting");
    host.must(podium_protocol::Command::StartMeeting).await?;
    assert!(
        Client::hello(addr, server.meeting(), &host_token)
            .await
            .is_err(),
        "a host token of one meeting must not open another"
    );
    let mut moderator =
        Client::hello(addr, "live-http-board", &token_of(links, "moderator")).await?;
    assert_eq!(moderator.you.person.as_deref(), Some("grace-hopper"));
    moderator.ping().await?;

    // The same id again: refused, the first one is untouched.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        SMALL_TOML,
    )
    .await?;
    assert_eq!(r.status, 409, "{}", r.body);

    // A broken agenda: 400 with located errors.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        BROKEN_TOML,
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let body = r.json()?;
    assert_eq!(body["error"], "invalid_agenda");
    let errors = body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    assert!(errors[0]["line"].as_u64().is_some(), "{body}");
    assert!(errors[0]["column"].as_u64().is_some(), "{body}");
    assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    // A well-formed agenda that breaks a rule: the error points at the offending line.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "text/plain",
        INVALID_TOML,
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let body = r.json()?;
    let e = &body["errors"][0];
    assert_eq!(e["path"], "segment[0].duration", "{body}");
    assert_eq!(e["line"], 12, "{body}");
    assert!(e["column"].as_u64().is_some(), "{body}");
    // Malformed JSON, too.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/json",
        "{\"meeting\": ",
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()?["errors"][0]["line"].as_u64().is_some());

    // A JSON agenda: 201.
    let r = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/json",
        &json_agenda().to_string(),
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json()?;
    assert_eq!(created["meeting"], "live-http-json");
    let mut projector = Client::hello(
        addr,
        "live-http-json",
        &token_of(&created["links"], "projector"),
    )
    .await?;
    assert_eq!(projector.agenda.segments[0].duration.0, 300);
    assert_eq!(projector.agenda.segments[1].duration.0, 600);
    projector.ping().await?;

    // The list has the bundled meeting and both new ones, and no broken one.
    let r = get(addr, "/api/meetings", Some(ADMIN)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json()?;
    let ids: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|m| m["meeting"].as_str())
        .collect();
    assert!(ids.contains(&"live-http-board"), "{list}");
    assert!(ids.contains(&"live-http-json"), "{list}");
    assert!(ids.contains(&server.meeting()), "{list}");
    assert_eq!(ids.len(), 3, "{list}");
    let board = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["meeting"] == "live-http-board")
        .unwrap();
    assert_eq!(board["segments"], 2);
    assert_eq!(board["title"], "Board meeting");
    assert_eq!(board["status"], "live");
    assert_eq!(server.hub.meeting_count(), 3);
    server.stop().await
}
