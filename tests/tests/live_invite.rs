//! Personal invitations over real sockets: a 500-delegate CSV through the admin API gives
//! 500 distinct personal links that each open the meeting as that delegate (name and
//! delegation as the secretariat wrote them); with the join links closed — by the host, or
//! by the agenda — the public join link is refused with `joins_closed`, invitees get in.

use podium_protocol::{ClientMessage, Command, ErrorCode, Lang, ServerMessage, PROTOCOL_VERSION};
use podium_tests::client::{connect, recv, send_json, Client};
use podium_tests::http;
use podium_tests::server::{TestServer, ADMIN};
use std::collections::HashSet;

const N: usize = 500;

/// The refusal a `join` through `token` gets.
async fn join_refusal(
    addr: std::net::SocketAddr,
    m: &str,
    token: &str,
) -> anyhow::Result<ErrorCode> {
    let mut ws = connect(addr).await?;
    let join = ClientMessage::Join {
        protocol: PROTOCOL_VERSION,
        meeting: m.into(),
        token: token.into(),
        name: "Gate Crasher".into(),
        delegation: "Nowhere".into(),
        language: Lang::En,
        agenda_version: None,
    };
    send_json(&mut ws, &join).await?;
    match recv(&mut ws).await? {
        ServerMessage::Error { code, .. } => Ok(code),
        other => anyhow::bail!("the join was not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_delegates_get_five_hundred_working_links() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let mut csv = String::from("name,delegation,language,role,email\n");
    let langs = ["en", "fr", "es", "ar"];
    for i in 0..N {
        let role = if i % 10 == 9 {
            "observer"
        } else {
            "participant"
        };
        // Every tenth name starts like a formula: it must come back neutralised.
        let name = if i % 10 == 3 {
            format!("=Delegate {i:03}")
        } else {
            format!("Delegate {i:03}")
        };
        csv.push_str(&format!(
            "\"{name}\",\"Delegation {i:03}, Ministry\",{},{role},d{i}@example.org\n",
            langs[i % 4]
        ));
    }
    let r = http::post(
        addr,
        &format!("/api/meetings/{m}/invitations"),
        Some(ADMIN),
        "text/csv",
        &csv,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut reader = csv::Reader::from_reader(r.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), N);
    let links: Vec<&str> = rows.iter().map(|r| &r[6]).collect();
    assert_eq!(
        links.iter().collect::<HashSet<_>>().len(),
        N,
        "distinct links"
    );
    assert_eq!(&rows[3][0], "'=Delegate 003", "formula neutralised");
    assert_eq!(&rows[0][1], "Delegation 000, Ministry");

    // The host closes the shared join links: the public join link is refused.
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::SetJoinLinks { open: false }).await?;
    assert!(!host.state.join_links_open);
    assert_eq!(
        join_refusal(addr, &m, &server.token("participant", None)).await?,
        ErrorCode::JoinsClosed
    );
    assert_eq!(
        join_refusal(addr, &m, &server.token("observer", None)).await?,
        ErrorCode::JoinsClosed
    );

    // Each personal link opens the meeting as its delegate.
    let mut ids = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let link = &row[6];
        let (path, token) = link.split_once("#me=").expect("a personal link");
        let role = if i % 10 == 9 {
            "observer"
        } else {
            "participant"
        };
        assert!(path.ends_with(&format!("/m/{m}/{role}")), "{link}");
        let c = Client::hello(addr, &m, token).await?;
        let want = if i % 10 == 3 {
            format!("=Delegate {i:03}")
        } else {
            format!("Delegate {i:03}")
        };
        assert_eq!(c.you.name, want);
        assert_eq!(c.you.role.as_str(), role);
        assert!(ids.insert(c.you.participant.expect("a participant id")));
        c.close().await;
    }
    // The register (read from the meeting itself: staff views may page it).
    let engine = server
        .hub
        .meeting(&m)
        .expect("live")
        .inspect()
        .await
        .expect("engine");
    let register = &engine.state().participants;
    assert_eq!(register.len(), N);
    assert!(register.iter().all(|p| p.invited));
    assert_eq!(register[7].delegation, "Delegation 007, Ministry");

    // A bad file is refused whole, with the line.
    let bad = "name,delegation,language\nA,B,en\nC,D,klingon\n";
    let r = http::post(
        addr,
        &format!("/api/meetings/{m}/invitations"),
        Some(ADMIN),
        "text/csv",
        bad,
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("line 3"), "{}", r.body);
    let r = http::post(
        addr,
        &format!("/api/meetings/{m}/invitations"),
        None,
        "text/csv",
        &csv,
    )
    .await?;
    assert_eq!(r.status, 401);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agenda_with_join_links_off_admits_only_invitees() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let agenda = r#"
[meeting]
id = "closed-board"
title = "Closed board"
time_zone = "UTC"
start = "2030-01-01T10:00"
languages = ["en", "fr"]
join_links = false

[[segment]]
id = "one"
kind = "round"
title = "One"
duration = "10m"
"#;
    let r = http::post(
        server.addr,
        "/api/meetings",
        Some(ADMIN),
        "text/plain",
        agenda,
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json()?;
    let join = created["links"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["role"] == "participant"))
        .and_then(|x| x["url"].as_str())
        .and_then(|u| u.split('#').nth(1))
        .expect("a join link")
        .to_string();
    assert_eq!(
        join_refusal(server.addr, "closed-board", &join).await?,
        ErrorCode::JoinsClosed
    );
    let r = http::post(
        server.addr,
        "/api/meetings/closed-board/invitations",
        Some(ADMIN),
        "text/csv",
        "name,delegation,language,role\nAna Souza,Brazil,fr,participant\n",
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r
        .body
        .lines()
        .nth(1)
        .and_then(|l| l.split("#me=").nth(1))
        .expect("a link");
    let ana = Client::hello(server.addr, "closed-board", token).await?;
    assert_eq!(ana.you.name, "Ana Souza");
    server.stop().await
}
