//! Links follow the agenda and can be rotated, over real sockets: a speaker an edit adds
//! gets a working link at once; one removed from the agenda is disconnected with 4001 and
//! their link stops working; the host lists and rotates links over the websocket, the
//! admin API rotates them too, and `podium links --rotate` goes through a running server
//! (or writes the store when none runs).

use podium_protocol::{
    AgendaOp, ClientMessage, Command, ErrorCode, Lang, Person, Role, ServerMessage,
    PROTOCOL_VERSION,
};
use podium_tests::client::{connect, read_until_close, recv, send_json, Client};
use podium_tests::http;
use podium_tests::server::{podium_bin, ChildServer, TestServer, ADMIN};
use std::net::SocketAddr;

/// The error a `hello` with `token` gets, or `None` if it is welcomed.
async fn hello_error(addr: SocketAddr, m: &str, token: &str) -> anyhow::Result<Option<ErrorCode>> {
    let mut ws = connect(addr).await?;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        meeting: m.into(),
        token: token.into(),
        agenda_version: None,
    };
    send_json(&mut ws, &hello).await?;
    Ok(match recv(&mut ws).await? {
        ServerMessage::Welcome { .. } => None,
        ServerMessage::Error { code, .. } => Some(code),
        other => anyhow::bail!("unexpected {other:?}"),
    })
}

/// Sends a raw client message and returns the next non-change reply.
async fn ask(c: &mut Client, msg: &ClientMessage) -> anyhow::Result<ServerMessage> {
    send_json(&mut c.ws, msg).await?;
    c.next_reply().await
}

fn token_of(url: &str) -> String {
    url.split('#').nth(1).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_follow_the_agenda_and_rotate_over_the_websocket() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (addr, m) = (server.addr, server.meeting().to_string());
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    let ahmed_token = server.token("speaker", Some("ahmed-skim"));
    let mut ahmed = Client::hello(addr, &m, &ahmed_token).await?;
    host.must(Command::StartMeeting).await?;

    // Nadia Rahman is added to round 2 and Ahmed Skim (round 2 only) removed, in one edit.
    let nadia = Person {
        id: None,
        name: "Nadia Rahman".into(),
        title: Some("Mayor".into()),
        affiliation: Some("Dhaka North".into()),
        country: None,
        language: Lang::Ar,
        text_url: None,
    };
    host.must(Command::EditAgenda {
        ops: vec![
            AgendaOp::AddSpeaker {
                segment: "round-2".into(),
                speaker: nadia,
                reaction: false,
                at: None,
            },
            AgendaOp::RemoveSpeaker {
                segment: "round-2".into(),
                person: "ahmed-skim".into(),
            },
        ],
    })
    .await?;
    // Ahmed's open connection is told: 4001, and his link is dead.
    let end = read_until_close(&mut ahmed.ws).await?;
    assert_eq!(end.code, Some(4001), "{end:?}");
    assert_eq!(
        hello_error(addr, &m, &ahmed_token).await?,
        Some(ErrorCode::Unauthorized)
    );

    // The host lists the links: Nadia's is there at once and works; Ahmed's is gone.
    let links = match ask(&mut host, &ClientMessage::Links { id: 7 }).await? {
        ServerMessage::Links { id: 7, links } => links,
        other => anyhow::bail!("expected links, got {other:?}"),
    };
    assert!(links
        .iter()
        .all(|l| l.person.as_deref() != Some("ahmed-skim")));
    let nadia_link = links
        .iter()
        .find(|l| l.person.as_deref() == Some("nadia-rahman"))
        .expect("a link for the added speaker");
    assert_eq!(nadia_link.role, Role::Speaker);
    assert_eq!(nadia_link.name.as_deref(), Some("Nadia Rahman"));
    assert!(nadia_link.url.starts_with(&format!("/m/{m}/speaker#")));
    let nadia_client = Client::hello(addr, &m, &token_of(&nadia_link.url)).await?;
    assert_eq!(nadia_client.you.name, "Nadia Rahman");
    assert_eq!(nadia_client.you.person.as_deref(), Some("nadia-rahman"));

    // The host rotates the projector link: the old screen closes with 4001.
    let old_projector = server.token("projector", None);
    let mut projector = Client::hello(addr, &m, &old_projector).await?;
    let rotate = ClientMessage::RotateLink {
        id: 8,
        role: Role::Projector,
        person: None,
    };
    let fresh = match ask(&mut host, &rotate).await? {
        ServerMessage::Links { id: 8, links } if links.len() == 1 => links[0].clone(),
        other => anyhow::bail!("expected the new link, got {other:?}"),
    };
    let end = read_until_close(&mut projector.ws).await?;
    assert_eq!(end.code, Some(4001), "{end:?}");
    assert_eq!(
        hello_error(addr, &m, &old_projector).await?,
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(hello_error(addr, &m, &token_of(&fresh.url)).await?, None);

    // Only the host manages links; unknown links are not found.
    let mut speaker = nadia_client;
    match ask(&mut speaker, &ClientMessage::Links { id: 9 }).await? {
        ServerMessage::Error {
            id: Some(9), code, ..
        } => assert_eq!(code, ErrorCode::Forbidden),
        other => anyhow::bail!("expected forbidden, got {other:?}"),
    }
    let nobody = ClientMessage::RotateLink {
        id: 10,
        role: Role::Speaker,
        person: Some("ahmed-skim".into()),
    };
    match ask(&mut host, &nobody).await? {
        ServerMessage::Error {
            id: Some(10), code, ..
        } => assert_eq!(code, ErrorCode::NotFound),
        other => anyhow::bail!("expected not_found, got {other:?}"),
    }

    // The admin API rotates the participant join link: the old one no longer joins.
    let old_join = server.token("participant", None);
    let r = http::post(
        addr,
        &format!("/api/meetings/{m}/links/rotate"),
        Some(ADMIN),
        "application/json",
        r#"{"role":"participant"}"#,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let new_join = token_of(r.json()?["url"].as_str().unwrap_or_default());
    let refused = Client::join(addr, &m, &old_join, "Late Comer", "Nowhere", Lang::En).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("Unauthorized")));
    let joined = Client::join(addr, &m, &new_join, "Ana Souza", "Brazil", Lang::Es).await?;
    assert!(joined.participant_token.is_some());
    let r = http::get(addr, &format!("/api/meetings/{m}/links"), Some(ADMIN)).await?;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(&new_join) && !r.body.contains(&old_join));
    server.stop().await
}

/// `podium links --rotate` with a server running goes through its admin API (the old
/// holder is disconnected at once); with none running, it writes the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_through_a_running_server_or_offline() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ChildServer::start(dir.path())?;
    let m = server.meeting();
    let old = server.token("interpreter", Some("ar"));
    let mut booth = Client::hello(server.addr, &m, &old).await?;
    let cli = |extra: &[&str], token: Option<&str>| {
        let mut c = std::process::Command::new(podium_bin().expect("podium binary"));
        c.args(["links", "--json", "--data"])
            .arg(dir.path())
            .args(extra);
        c.env_remove("PODIUM_ADMIN_TOKEN");
        if let Some(t) = token {
            c.env("PODIUM_ADMIN_TOKEN", t);
        }
        c.output()
    };
    // Without the admin token, a running server is not bypassed.
    let out = cli(&["--rotate", "interpreter:ar"], None)?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PODIUM_ADMIN_TOKEN"));
    let out = cli(&["--rotate", "interpreter:ar"], Some(ADMIN))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let new = token_of(link["url"].as_str().unwrap_or_default());
    let end = read_until_close(&mut booth.ws).await?;
    assert_eq!(end.code, Some(4001), "{end:?}");
    assert_eq!(
        hello_error(server.addr, &m, &old).await?,
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(hello_error(server.addr, &m, &new).await?, None);
    // A person's link needs the person.
    let out = cli(&["--rotate", "speaker"], Some(ADMIN))?;
    assert!(!out.status.success());
    drop(server);

    // No server: the store is written directly, and the next server knows.
    let out = cli(&["--rotate", "speaker:carola-gunnarsson"], None)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(link["speaker"], "Carola Gunnarsson");
    let carola = token_of(link["url"].as_str().unwrap_or_default());
    let server = ChildServer::start(dir.path())?;
    assert_eq!(server.token("speaker", Some("carola-gunnarsson")), carola);
    assert_eq!(hello_error(server.addr, &m, &carola).await?, None);
    Ok(())
}
