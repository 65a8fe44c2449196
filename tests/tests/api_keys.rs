//! API keys over real sockets: a moderator's key has exactly the rights of the
//! moderator's link on the websocket (refused outside their segments with the same
//! error); a revoked key fails at once and ends its event stream; keys are managed with
//! the host token only, listed with label, creation time and last use.

use podium_protocol::{ClockTarget, Command, ErrorCode};
use podium_tests::api::{self, create_key};
use podium_tests::client::Client;
use podium_tests::http::request;
use podium_tests::server::{TestServer, ADMIN};
use podium_tests::sse::Sse;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_key_is_refused_outside_its_segments_exactly_as_the_websocket(
) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let mut host = Client::hello(addr, &m, &host_token).await?;
    let mut ws_mod = Client::hello(
        addr,
        &m,
        &server.token("moderator", Some("cecile-riallant")),
    )
    .await?;
    let (_, key) = create_key(addr, &m, &host_token, "moderator:cecile-riallant", "Deck A").await?;

    host.must(Command::StartMeeting).await?;
    // Cécile moderates round 1 only. In the introduction both refuse, with one error.
    let checks = [
        (Command::NextSegment, json!({"type":"next_segment"})),
        (
            Command::PauseClock {
                target: ClockTarget::Segment,
            },
            json!({"type":"pause_clock","target":"segment"}),
        ),
        (Command::CloseQueue, json!({"type":"close_queue"})),
    ];
    for (cmd, body) in &checks {
        let (code, message) = ws_mod
            .command(cmd.clone())
            .await?
            .expect_err("the websocket moderator is refused in the introduction");
        assert_eq!(code, ErrorCode::Forbidden);
        let r = api::command(addr, &m, &key, body, &[]).await?;
        assert_eq!(r.status, 403, "{}", r.body);
        let v = r.json()?;
        assert_eq!(v["error"], "forbidden");
        assert_eq!(
            v["message"], message,
            "the same refusal as on the websocket"
        );
    }

    // In round 1 both may run it: the key pauses, the websocket resumes.
    host.must(Command::GoToSegment {
        segment: "round-1".into(),
    })
    .await?;
    let seq = api::must(
        addr,
        &m,
        &key,
        &json!({"type":"pause_clock","target":"segment"}),
    )
    .await?;
    ws_mod.wait_seq(seq).await?;
    assert!(matches!(
        ws_mod.state.segment_clock,
        podium_protocol::Clock::Paused { .. }
    ));
    ws_mod
        .must(Command::ResumeClock {
            target: ClockTarget::Segment,
        })
        .await?;
    // The key moves on to round 2, which Emilia moderates: refused again, like the link.
    api::must(addr, &m, &key, &json!({"type":"next_segment"})).await?;
    let (_, message) = ws_mod
        .command(Command::PreviousSegment)
        .await?
        .expect_err("round 2 is not Cécile's");
    let r = api::command(addr, &m, &key, &json!({"type":"previous_segment"}), &[]).await?;
    assert_eq!(
        (r.status, r.json()?["message"].clone()),
        (403, json!(message))
    );
    // A host-only command is refused to both, in every segment.
    let (code, message) = ws_mod.command(Command::EndMeeting).await?.unwrap_err();
    let r = api::command(addr, &m, &key, &json!({"type":"end_meeting"}), &[]).await?;
    assert_eq!(code, ErrorCode::Forbidden);
    assert_eq!(
        (r.status, r.json()?["message"].clone()),
        (403, json!(message))
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_fails_at_once_and_its_event_stream_ends() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (id, key) = create_key(addr, &m, &host_token, "host", "Stream Deck").await?;
    api::must(addr, &m, &key, &json!({"type":"start_meeting"})).await?;

    let mut stream = Sse::open(addr, &format!("/api/meetings/{m}/events?key={key}"), &[]).await?;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event().await?.0, "agenda");
    assert_eq!(stream.next_event().await?.0, "snapshot");

    let auth = format!("Bearer {host_token}");
    let r = request(
        addr,
        "DELETE",
        &format!("/api/meetings/{m}/keys/{id}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()?["status"], "revoked");

    // The very next request is refused; so are reads and the stream.
    let r = api::command(addr, &m, &key, &json!({"type":"next_segment"}), &[]).await?;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()?["error"], "unauthorized");
    assert_eq!(
        api::get_path(addr, &m, &format!("state?key={key}"))
            .await?
            .status,
        401
    );
    // The open stream says so and ends.
    let (event, _, data) = stream.next_event().await?;
    assert_eq!(event, "revoked", "{data}");
    assert!(stream.next_item().await?.is_none(), "the stream ends");
    let again = Sse::open(addr, &format!("/api/meetings/{m}/events?key={key}"), &[]).await?;
    assert_eq!(again.status, 401);

    // Revoked keys stay listed as revoked; revoking again is harmless; unknown ids are 404.
    let list = request(
        addr,
        "GET",
        &format!("/api/meetings/{m}/keys"),
        &[("Authorization", &auth)],
        b"",
    )
    .await?;
    let list = list.json()?;
    assert_eq!(list[0]["status"], "revoked");
    assert!(list[0]["revoked_at"].as_i64().is_some());
    let r = request(
        addr,
        "DELETE",
        &format!("/api/meetings/{m}/keys/{id}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await?;
    assert_eq!(r.status, 200);
    let r = request(
        addr,
        "DELETE",
        &format!("/api/meetings/{m}/keys/000000000000"),
        &[("Authorization", &auth)],
        b"",
    )
    .await?;
    assert_eq!(r.status, 404);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_managed_with_the_host_token_and_listed_with_their_use() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let before = now_ms();
    let (obs_id, obs) = create_key(addr, &m, &host_token, "observer", "Overlay PC").await?;
    let (_, booth) = create_key(addr, &m, ADMIN, "interpreter:ar", "Arabic booth").await?;
    assert!(obs.starts_with("pod_") && obs.len() == 36);

    // Bad requests are refused with what to do.
    for (role, label, status) in [
        ("participant", "x", 422),
        ("interpreter", "a booth's key names its language", 422),
        ("moderator:carola-gunnarsson", "x", 422),
        ("interpreter:de", "x", 422),
        ("host", "", 422),
    ] {
        let r = request(
            addr,
            "POST",
            &format!("/api/meetings/{m}/keys"),
            &[("Authorization", &format!("Bearer {host_token}"))],
            json!({"role": role, "label": label}).to_string().as_bytes(),
        )
        .await?;
        assert_eq!(r.status, status, "{role}: {}", r.body);
    }
    // Neither a key (even a host key), nor another role's link, nor nothing manages keys.
    let (_, host_key) = create_key(addr, &m, &host_token, "host", "Host deck").await?;
    for bearer in [
        Some(host_key.as_str()),
        Some(obs.as_str()),
        Some(&server.token("projector", None)[..]),
        None,
    ] {
        let mut headers = vec![];
        let auth = bearer.map(|b| format!("Bearer {b}"));
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let r = request(
            addr,
            "GET",
            &format!("/api/meetings/{m}/keys"),
            &headers,
            b"",
        )
        .await?;
        assert_eq!(r.status, 401, "{bearer:?}");
    }

    // A device configured with a server address and a key alone finds its meeting.
    let me = request(addr, "GET", &format!("/api/me?key={obs}"), &[], b"")
        .await?
        .json()?;
    assert_eq!(
        me,
        json!({"meeting": m, "role": "observer", "kind": "key", "key_id": obs_id, "label": "Overlay PC"})
    );
    let projector = server.token("projector", None);
    let me = request(
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &format!("Bearer {projector}"))],
        b"",
    )
    .await?
    .json()?;
    assert_eq!(
        me,
        json!({"meeting": m, "role": "projector", "kind": "link"})
    );
    let r = request(
        addr,
        "GET",
        "/api/me?key=pod_00000000000000000000000000000000",
        &[],
        b"",
    )
    .await?;
    assert_eq!(r.status, 401);

    // The observer key reads but sends nothing; the booth key sends its signals.
    assert_eq!(api::state(addr, &m, &obs).await?.1["phase"], "not_started");
    let r = api::command(addr, &m, &obs, &json!({"type":"next_segment"}), &[]).await?;
    assert_eq!(r.status, 403, "{}", r.body);
    api::must(addr, &m, &host_key, &json!({"type":"start_meeting"})).await?;
    api::must(
        addr,
        &m,
        &host_key,
        &json!({"type":"give_floor","person":"sophie-van-haasen"}),
    )
    .await?;
    api::must(
        addr,
        &m,
        &booth,
        &json!({"type":"slow_down","language":"ar"}),
    )
    .await?;

    let list = request(
        addr,
        "GET",
        &format!("/api/meetings/{m}/keys"),
        &[("Authorization", &format!("Bearer {host_token}"))],
        b"",
    )
    .await?
    .json()?;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 3);
    let row = |label: &str| {
        list.iter()
            .find(|k| k["label"] == label)
            .expect(label)
            .clone()
    };
    let overlay = row("Overlay PC");
    assert_eq!(overlay["id"], obs_id.as_str());
    assert_eq!(overlay["role"], "observer");
    assert_eq!(overlay["status"], "active");
    assert!(overlay["created_at"].as_i64().unwrap() >= before);
    assert!(overlay["last_used_at"].as_i64().unwrap() >= overlay["created_at"].as_i64().unwrap());
    assert_eq!(row("Arabic booth")["role"], "interpreter:ar");
    assert!(row("Host deck")["last_used_at"].as_i64().is_some());
    // The list never shows a key.
    let text = serde_json::to_string(list)?;
    assert!(!text.contains(&obs) && !text.contains(&booth) && !text.contains("pod_"));
    server.stop().await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
