//! `GET /api/meetings/{id}/preview` over a real socket: the join form's title and date,
//! for the holder of any link of that meeting (a join link included) and for no one else.

use podium_tests::http::{get, post};
use podium_tests::server::{TestServer, ADMIN};

const OTHER: &str = r#"[meeting]
id = "preview-other"
title = "Another meeting"
time_zone = "America/Bogota"
start = "2030-05-06T09:30"
languages = ["es"]

[[segment]]
id = "one"
kind = "intro"
title = "One"
duration = "30m"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_names_the_meeting_to_its_link_holders_only() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let addr = server.addr;
    let m = server.meeting().to_string();
    let path = format!("/api/meetings/{m}/preview");

    // A join link (and any role link) opens it.
    for role in ["participant", "observer", "projector", "host"] {
        let r = get(addr, &path, Some(&server.token(role, None))).await?;
        assert_eq!(r.status, 200, "{role}: {}", r.body);
        let v = r.json()?;
        assert_eq!(v["meeting"], m.as_str());
        assert_eq!(
            v["title"],
            "Enabling local solutions for an inclusive COVID-19 response and recovery"
        );
        assert_eq!(v["time_zone"], "Europe/Paris");
        // 22 January 2021, 16:00–18:00 CET.
        assert_eq!(v["start"], 1_611_327_600_000i64);
        assert_eq!(v["end"], 1_611_334_800_000i64);
        // The booths' languages, then Portuguese, which the relay plan covers.
        assert_eq!(
            v["languages"],
            serde_json::json!(["en", "fr", "es", "ar", "pt"])
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }

    // No token, an unknown one, and a token of another meeting: 401, nothing said.
    let r = get(addr, &path, None).await?;
    assert_eq!(r.status, 401);
    assert!(!r.body.contains("Enabling"), "{}", r.body);
    let r = get(addr, &path, Some("0123456789abcdef0123456789abcdef")).await?;
    assert_eq!(r.status, 401);
    let created = post(
        addr,
        "/api/meetings",
        Some(ADMIN),
        "application/toml",
        OTHER,
    )
    .await?;
    assert_eq!(created.status, 201, "{}", created.body);
    let other_join = created.json()?["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["role"] == "participant")
        .and_then(|l| l["url"].as_str())
        .and_then(|u| u.split('#').nth(1))
        .unwrap()
        .to_string();
    let r = get(addr, &path, Some(&other_join)).await?;
    assert_eq!(
        r.status, 401,
        "a link of another meeting must not open this one"
    );
    assert!(!r.body.contains("Enabling"), "{}", r.body);
    let r = get(
        addr,
        "/api/meetings/preview-other/preview",
        Some(&other_join),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()?["title"], "Another meeting");
    server.stop().await
}
