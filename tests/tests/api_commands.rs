//! The HTTP command API over real sockets: commands sent over HTTP and over the
//! websocket give the same state; errors come with a fitting status; an idempotent retry
//! is not applied twice; the GET actions for hardware controllers; the state's ETag.

use podium_protocol::{ClockTarget, Command, Lang, MeetingState};
use podium_server::ws::ratelimit::RateLimit;
use podium_server::Limits;
use podium_tests::api::{self, create_key, must};
use podium_tests::client::{public_view, Client};
use podium_tests::http::{post, request};
use podium_tests::server::{TestServer, ADMIN};
use serde_json::{json, Value};

fn parse_state(v: &Value) -> MeetingState {
    serde_json::from_value(v.clone()).expect("the state parses as a MeetingState")
}

/// Zeroes every time and duration, so that the states of two runs compare.
fn timeless(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let timed = k == "at"
                    || k.ends_with("_at")
                    || k.ends_with("_ms")
                    || matches!(
                        k.as_str(),
                        "at" | "remaining" | "server_time" | "left_remaining"
                    );
                if timed && x.is_number() {
                    *x = json!(0);
                } else {
                    timeless(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(timeless),
        _ => {}
    }
}

/// The script both paths play: (command, who sends it: "host" or a participant index).
fn script() -> Vec<(Value, Option<usize>)> {
    vec![
        (json!({"type":"start_meeting"}), None),
        (
            json!({"type":"go_to_segment","segment":"open-conversation"}),
            None,
        ),
        (json!({"type":"raise_hand","language":"fr"}), Some(0)),
        (json!({"type":"raise_hand","language":"ar"}), Some(1)),
        (json!({"type":"raise_hand","point_of_order":true}), Some(2)),
        (
            json!({"type":"adjust_clock","target":"segment","seconds":-120}),
            None,
        ),
        (json!({"type":"give_floor_to_hand"}), None),
        (
            json!({"type":"message_speaker","text":"Please wrap up"}),
            None,
        ),
        (json!({"type":"pause_clock","target":"speech"}), None),
        (json!({"type":"resume_clock","target":"speech"}), None),
        (json!({"type":"end_speech"}), None),
        (json!({"type":"close_queue"}), None),
        (json!({"type":"move_hand","hand":2,"to":0}), None),
        (json!({"type":"give_floor_to_hand"}), None),
        (json!({"type":"lower_hand"}), Some(0)),
        (json!({"type":"reopen_queue"}), None),
    ]
}

const PEOPLE: [(&str, &str, Lang); 3] = [
    ("Ana Souza", "Brazil", Lang::Es),
    ("Karim Benali", "City of Rabat", Lang::Fr),
    ("Lena Svensson", "Sweden", Lang::En),
];

/// Plays the script on a fresh server, over HTTP (`http`) or over the websocket; checks on
/// the way that the websocket views and `GET /state` agree at every step. Returns the
/// host's final state, without times.
async fn play(http: bool) -> anyhow::Result<Value> {
    // The script reads the state after every step: more than a Stream Deck's rate.
    let server = TestServer::start_with(Limits {
        api_rate: RateLimit {
            burst: 1000.0,
            per_sec: 1000.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let mut host = Client::hello(addr, &m, &host_token).await?;
    let mut projector = Client::hello(addr, &m, &server.token("projector", None)).await?;
    let (_, host_key) = create_key(addr, &m, &host_token, "host", "Script").await?;
    let (_, obs_key) = create_key(addr, &m, &host_token, "observer", "Dashboard").await?;
    let join = server.token("participant", None);
    let mut people = Vec::new();
    for (name, delegation, lang) in PEOPLE {
        people.push(Client::join(addr, &m, &join, name, delegation, lang).await?);
    }
    for (body, who) in script() {
        let seq = if http {
            // Participants act with their own token (a link token), the host with a key.
            let credential = match who {
                None => host_key.clone(),
                Some(i) => people[i]
                    .participant_token
                    .clone()
                    .expect("participant token"),
            };
            must(addr, &m, &credential, &body).await?
        } else {
            let command: Command = serde_json::from_value(body.clone())?;
            let client = match who {
                None => &mut host,
                Some(i) => &mut people[i],
            };
            match client.command(command).await? {
                Ok(seq) => seq,
                Err(e) => anyhow::bail!("{body} refused on the websocket: {e:?}"),
            }
        };
        // The host's websocket view and the host key's GET /state are the same state.
        host.wait_seq(seq).await?;
        let (state_seq, state) = api::state(addr, &m, &host_key).await?;
        assert_eq!(state_seq, host.seq, "after {body}");
        assert_eq!(parse_state(&state), host.state, "staff view after {body}");
        // And the public views: the projector's websocket and an observer key.
        let (public_seq, public) = api::state(addr, &m, &obs_key).await?;
        projector.wait_seq(public_seq).await?;
        assert_eq!(public_seq, projector.seq, "after {body}");
        assert_eq!(
            parse_state(&public),
            projector.state,
            "public view after {body}"
        );
        assert_eq!(projector.state, public_view(&host.state), "after {body}");
    }
    let mut last = serde_json::to_value(&host.state)?;
    timeless(&mut last);
    server.stop().await?;
    Ok(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_commands_and_the_websocket_give_the_same_state() -> anyhow::Result<()> {
    let over_http = play(true).await?;
    let over_ws = play(false).await?;
    assert_eq!(over_http, over_ws);
    // The script did what it says: the point of order spoke, the moved hand speaks now,
    // the last hand was lowered.
    assert_eq!(over_http["history"].as_array().unwrap().len(), 1);
    assert_eq!(over_http["history"][0]["speaker"]["name"], "Lena Svensson");
    assert_eq!(over_http["speech"]["speaker"]["name"], "Karim Benali");
    assert_eq!(over_http["queue"].as_array().unwrap().len(), 0);
    assert_eq!(over_http["queue_open"], true);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_with_a_fitting_status_and_a_typed_error() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Deck").await?;
    let (_, obs) = create_key(addr, &m, &host_token, "observer", "Overlay").await?;
    let status = |r: &podium_tests::http::Response| (r.status, r.json().unwrap()["error"].clone());
    let path = format!("/api/meetings/{m}/commands");

    // 401: no credential, a wrong one, one of another meeting.
    let r = request(addr, "POST", &path, &[], br#"{"type":"next_segment"}"#).await?;
    assert_eq!(status(&r), (401, json!("unauthorized")));
    let r = api::command(
        addr,
        &m,
        "pod_0123456789abcdef0123456789abcdef",
        &json!({"type":"next_segment"}),
        &[],
    )
    .await?;
    assert_eq!(status(&r), (401, json!("unauthorized")));
    let other = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        OTHER,
    )
    .await?;
    assert_eq!(other.status, 201, "{}", other.body);
    let other_host = other.json()?["links"][0]["url"]
        .as_str()
        .unwrap()
        .split('#')
        .nth(1)
        .unwrap()
        .to_string();
    let (_, other_key) = create_key(addr, "api-other", &other_host, "host", "Other deck").await?;
    let r = api::command(addr, &m, &other_key, &json!({"type":"next_segment"}), &[]).await?;
    assert_eq!(status(&r), (401, json!("unauthorized")));
    // 400: not a command.
    for body in [
        &b"{not json"[..],
        br#"{"type":"fly"}"#,
        br#"{"type":"adjust_clock"}"#,
    ] {
        let r = request(
            addr,
            "POST",
            &path,
            &[("Authorization", &format!("Bearer {key}"))],
            body,
        )
        .await?;
        assert_eq!(status(&r), (400, json!("bad_request")), "{}", r.body);
    }
    // 403: a reading key, a projector link.
    let r = api::command(addr, &m, &obs, &json!({"type":"start_meeting"}), &[]).await?;
    assert_eq!(status(&r), (403, json!("forbidden")));
    let r = api::command(
        addr,
        &m,
        &server.token("projector", None),
        &json!({"type":"start_meeting"}),
        &[],
    )
    .await?;
    assert_eq!(status(&r), (403, json!("forbidden")));
    // 409: not now.
    let r = api::command(addr, &m, &key, &json!({"type":"end_speech"}), &[]).await?;
    assert_eq!(status(&r), (409, json!("invalid_state")));
    must(addr, &m, &key, &json!({"type":"start_meeting"})).await?;
    // 422: a value out of range, a segment that does not exist.
    let r = api::command(
        addr,
        &m,
        &key,
        &json!({"type":"adjust_clock","target":"segment","seconds":99999}),
        &[],
    )
    .await?;
    assert_eq!(status(&r), (422, json!("invalid_argument")));
    let r = api::command(
        addr,
        &m,
        &key,
        &json!({"type":"go_to_segment","segment":"nowhere"}),
        &[],
    )
    .await?;
    assert_eq!(status(&r), (422, json!("not_found")));
    // 404: an action hardware cannot fire.
    let r = api::get_path(addr, &m, &format!("do/end_meeting?key={key}")).await?;
    assert_eq!(status(&r), (404, json!("not_found")));
    // 410: an archived meeting.
    let r = post(
        addr,
        "/api/meetings/api-other/archive",
        Some(ADMIN),
        "text/plain",
        "",
    )
    .await?;
    assert_eq!(r.status, 200);
    let r = api::command(
        addr,
        "api-other",
        &other_key,
        &json!({"type":"start_meeting"}),
        &[],
    )
    .await?;
    assert_eq!(status(&r), (410, json!("archived")));
    // 429: past the burst, with Retry-After; other keys are not affected.
    let mut limited = None;
    for _ in 0..40 {
        let r = api::get_path(addr, &m, &format!("state?key={obs}")).await?;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let r = limited.expect("40 requests at once pass a burst of 20");
    assert_eq!(status(&r), (429, json!("rate_limited")));
    assert_eq!(r.header("retry-after"), Some("1"));
    must(addr, &m, &key, &json!({"type":"next_segment"})).await?;
    server.stop().await
}

const OTHER: &str = r#"[meeting]
id = "api-other"
title = "Another meeting"
time_zone = "Europe/Paris"
start = "2030-03-04T10:00"
languages = ["en"]

[[segment]]
id = "only"
kind = "intro"
title = "Only"
duration = "5m"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_is_not_applied_twice() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Script").await?;
    must(addr, &m, &key, &json!({"type":"start_meeting"})).await?;
    let add = json!({"type":"adjust_clock","target":"segment","seconds":60});
    let remaining = |s: &Value| -> i64 {
        let c = &s["segment_clock"];
        c["ends_at"].as_i64().or(c["remaining"].as_i64()).unwrap()
    };
    let (seq0, before) = api::state(addr, &m, &key).await?;

    // Five copies of one request at once, then a late retry: applied once.
    let sends = (0..5).map(|_| {
        let (key, add, m) = (key.clone(), add.clone(), m.clone());
        tokio::spawn(async move {
            api::command(addr, &m, &key, &add, &[("Idempotency-Key", "add-60-a")]).await
        })
    });
    let mut seqs = Vec::new();
    let mut replayed = 0;
    for t in sends.collect::<Vec<_>>() {
        let r = t.await??;
        assert_eq!(r.status, 200, "{}", r.body);
        replayed += usize::from(r.header("idempotent-replayed") == Some("true"));
        seqs.push(r.json()?["seq"].as_u64().unwrap());
    }
    let r = api::command(addr, &m, &key, &add, &[("Idempotency-Key", "add-60-a")]).await?;
    seqs.push(r.json()?["seq"].as_u64().unwrap());
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert!(seqs.iter().all(|s| *s == seq0 + 1), "{seqs:?}");
    assert_eq!(
        replayed, 4,
        "one request applied, four answered from the first"
    );
    let (seq1, after) = api::state(addr, &m, &key).await?;
    assert_eq!(seq1, seq0 + 1);
    assert_eq!(remaining(&after) - remaining(&before), 60_000);

    // The same key with another request is refused; a new key applies again.
    let r = api::command(
        addr,
        &m,
        &key,
        &json!({"type":"next_segment"}),
        &[("Idempotency-Key", "add-60-a")],
    )
    .await?;
    assert_eq!(
        (r.status, r.json()?["error"].clone()),
        (422, json!("invalid_argument"))
    );
    let r = api::command(addr, &m, &key, &add, &[("Idempotency-Key", "add-60-b")]).await?;
    assert_eq!(r.json()?["seq"], seq0 + 2);
    // A refusal is remembered too: the retry gets the same answer.
    let end = json!({"type":"end_speech"});
    let a = api::command(addr, &m, &key, &end, &[("Idempotency-Key", "end-1")]).await?;
    let b = api::command(addr, &m, &key, &end, &[("Idempotency-Key", "end-1")]).await?;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.status, 409);
    // Keys are per credential: the same string from another key is another request.
    let (_, key2) = create_key(addr, &m, &host_token, "host", "Second deck").await?;
    let r = api::command(addr, &m, &key2, &add, &[("Idempotency-Key", "add-60-a")]).await?;
    assert_eq!(r.json()?["seq"], seq0 + 3);
    assert!(r.header("idempotent-replayed").is_none());
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardware_controllers_fire_actions_by_url() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Stream Deck").await?;
    let mut host = Client::hello(addr, &m, &host_token).await?;
    let get = |action: String| {
        let m = m.clone();
        async move {
            let r = api::get_path(addr, &m, &format!("do/{action}")).await?;
            anyhow::ensure!(r.status == 200, "do/{action}: {} {}", r.status, r.body);
            Ok::<u64, anyhow::Error>(r.json()?["seq"].as_u64().unwrap())
        }
    };
    host.must(Command::StartMeeting).await?;
    let seq = get(format!("next_segment?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert_eq!(host.state.current, Some(1));
    let seq = get(format!("previous_segment?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert_eq!(host.state.current, Some(0));
    let before = host.state.segment_clock;
    let seq = get(format!("adjust_clock?key={key}&seconds=-30")).await?;
    host.wait_seq(seq).await?;
    let ms = |c: &podium_protocol::Clock| match c {
        podium_protocol::Clock::Running { ends_at } => *ends_at,
        other => panic!("{other:?}"),
    };
    assert_eq!(ms(&before) - ms(&host.state.segment_clock), 30_000);
    let seq = get(format!("pause_clock?key={key}&target=segment")).await?;
    host.wait_seq(seq).await?;
    assert!(matches!(
        host.state.segment_clock,
        podium_protocol::Clock::Paused { .. }
    ));
    let seq = get(format!("resume_clock?key={key}")).await?;
    host.wait_seq(seq).await?;

    // Round 2: the French-speaking Ahmed Skim has the floor; the preset reaches him in
    // French unless another language is asked for.
    host.must(Command::GoToSegment {
        segment: "round-2".into(),
    })
    .await?;
    host.must(Command::GiveFloor {
        person: "ahmed-skim".into(),
    })
    .await?;
    let seq = get(format!("message_speaker?key={key}&preset=wrap_up")).await?;
    host.wait_seq(seq).await?;
    let text = |c: &Client| {
        c.state
            .speech
            .as_ref()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .text
            .clone()
    };
    assert_eq!(text(&host), "Veuillez conclure");
    let seq = get(format!(
        "message_speaker?key={key}&preset=one_minute&lang=ar"
    ))
    .await?;
    host.wait_seq(seq).await?;
    assert_eq!(text(&host), "تبقّت دقيقة واحدة");
    let seq = get(format!("message_speaker?key={key}&text=Merci%20!")).await?;
    host.wait_seq(seq).await?;
    assert_eq!(text(&host), "Merci !");
    let seq = get(format!("end_speech?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert!(host.state.speech.is_none());

    // The open floor: the next hand gets the floor from one button; the queue closes.
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;
    let join = server.token("participant", None);
    let mut ana = Client::join(addr, &m, &join, "Ana Souza", "Brazil", Lang::Es).await?;
    ana.must(Command::RaiseHand {
        language: None,
        point_of_order: false,
    })
    .await?;
    let seq = get(format!("close_queue?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert!(!host.state.queue_open);
    let seq = get(format!("give_floor_to_hand?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert_eq!(
        host.state.speech.as_ref().unwrap().speaker.name,
        "Ana Souza"
    );
    let seq = get(format!("reopen_queue?key={key}")).await?;
    host.wait_seq(seq).await?;
    assert!(host.state.queue_open);
    host.must(Command::StartClock {
        target: ClockTarget::Speech,
    })
    .await
    .ok();

    // Bad arguments are refused with what to do; the key never appears in an answer.
    for (action, status) in [
        ("adjust_clock", 422),
        ("adjust_clock?seconds=ten", 422),
        ("pause_clock?target=everything", 422),
        ("message_speaker?preset=sing", 422),
        ("launch_rockets", 404),
    ] {
        let sep = if action.contains('?') { '&' } else { '?' };
        let r = api::get_path(addr, &m, &format!("do/{action}{sep}key={key}")).await?;
        assert_eq!(r.status, status, "do/{action}: {}", r.body);
        assert!(!r.body.contains(&key));
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_and_the_agenda_have_etags() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let host_token = server.token("host", None);
    let (_, key) = create_key(addr, &m, &host_token, "host", "Dashboard").await?;
    let auth = format!("Bearer {key}");
    let path = format!("/api/meetings/{m}/state");
    let r = request(addr, "GET", &path, &[("Authorization", &auth)], b"").await?;
    assert_eq!(r.status, 200);
    let etag = r.header("etag").expect("an ETag").to_string();
    assert_eq!(r.json()?["type"], "snapshot");
    let r = request(
        addr,
        "GET",
        &path,
        &[("Authorization", &auth), ("If-None-Match", &etag)],
        b"",
    )
    .await?;
    assert_eq!((r.status, r.body.as_str()), (304, ""));
    must(addr, &m, &key, &json!({"type":"start_meeting"})).await?;
    let r = request(
        addr,
        "GET",
        &path,
        &[("Authorization", &auth), ("If-None-Match", &etag)],
        b"",
    )
    .await?;
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag").unwrap(), etag);
    assert_eq!(r.json()?["state"]["phase"], "running");
    // A link token reads its own projection (the projector: public).
    let r = request(
        addr,
        "GET",
        &path,
        &[(
            "Authorization",
            &format!("Bearer {}", server.token("projector", None)),
        )],
        b"",
    )
    .await?;
    assert!(r.header("etag").unwrap().contains("public"));
    assert_eq!(r.json()?["state"]["participants"], json!([]));

    let apath = format!("/api/meetings/{m}/agenda");
    let r = request(addr, "GET", &apath, &[("Authorization", &auth)], b"").await?;
    let v = r.json()?;
    assert_eq!(
        (v["type"].as_str(), v["version"].as_u64()),
        (Some("agenda"), Some(0))
    );
    assert_eq!(v["agenda"]["meeting"]["id"], m.as_str());
    let etag = r.header("etag").unwrap().to_string();
    let r = request(
        addr,
        "GET",
        &apath,
        &[("Authorization", &auth), ("If-None-Match", &etag)],
        b"",
    )
    .await?;
    assert_eq!(r.status, 304);
    server.stop().await
}
