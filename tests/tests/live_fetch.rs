//! Staff page in the lists that changes do not carry: the register and the hand history
//! (`fetch` → `page`), in pages of their choosing, while every change stays small; others
//! may not.

use podium_protocol::{Command, ErrorCode, HandOutcome, Lang, ListName, PageItems};
use podium_tests::client::Client;
use podium_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_page_the_register_and_the_hand_history() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let join = server.token("participant", None);
    let mut people = Vec::new();
    for i in 0..12 {
        let name = format!("Delegate {i:02}");
        let mut p = Client::join(server.addr, &m, &join, &name, "City", Lang::Fr).await?;
        p.must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
        p.must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
        people.push(p);
    }
    let last = people.last().expect("people").seq;
    host.wait_seq(last).await?;
    assert_eq!(host.state.participant_count, Some(12));
    assert_eq!(host.state.hand_history_len, Some(12));
    assert!(host.state.participants.is_empty() && host.state.hand_history.is_empty());

    // Pages of 5 from 3: 3..8, then 8..12, then nothing past the end.
    let page = |r: anyhow::Result<Result<(PageItems, usize), (ErrorCode, String)>>| match r {
        Ok(Ok(ok)) => Ok(ok),
        Ok(Err(e)) => Err(anyhow::anyhow!("fetch refused: {e:?}")),
        Err(e) => Err(e),
    };
    let (items, total) = page(host.fetch(ListName::Participants, 3, Some(5)).await)?;
    assert_eq!(total, 12);
    let PageItems::Participants(p) = items else {
        anyhow::bail!("participants expected")
    };
    let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Delegate 03",
            "Delegate 04",
            "Delegate 05",
            "Delegate 06",
            "Delegate 07"
        ]
    );
    let (items, _) = page(host.fetch(ListName::Participants, 8, Some(100)).await)?;
    assert_eq!(items.len(), 4);
    let (items, total) = page(host.fetch(ListName::Participants, 50, None).await)?;
    assert!(items.is_empty());
    assert_eq!(total, 12);

    let (items, total) = page(host.fetch(ListName::HandHistory, 10, None).await)?;
    assert_eq!(total, 12);
    let PageItems::HandHistory(h) = items else {
        anyhow::bail!("hand records expected")
    };
    assert_eq!(h.len(), 2);
    assert!(h.iter().all(|r| r.outcome == HandOutcome::Lowered));
    assert_eq!(h[1].hand.name, "Delegate 11");

    // A participant and a projector may not.
    for (role, person) in [("participant", None), ("projector", None)] {
        let mut c = if role == "participant" {
            Client::hello(
                server.addr,
                &m,
                people[0].participant_token.as_deref().expect("token"),
            )
            .await?
        } else {
            Client::hello(server.addr, &m, &server.token(role, person)).await?
        };
        match c.fetch(ListName::HandHistory, 0, None).await? {
            Err((ErrorCode::Forbidden, _)) => {}
            other => anyhow::bail!("{role}: a fetch must be forbidden, got {other:?}"),
        }
    }
    server.stop().await
}

/// A long meeting holds only its latest hand records live (so its memory does not grow
/// with every hand): a fetch from 0 starts at the oldest held and says so, the host's
/// `hand_history_len` still counts them all, and the report — built from the journal —
/// lists every hand, here and after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_hand_history_is_bounded_and_the_report_keeps_every_hand() -> anyhow::Result<()> {
    use podium_server::engine::HAND_HISTORY_KEPT;
    let mut server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let host_token = server.token("host", None);
    let mut host = Client::hello(server.addr, &m, &host_token).await?;
    host.must(Command::StartMeeting).await?;
    let join = server.token("participant", None);
    let mut people = Vec::new();
    for i in 0..30 {
        let name = format!("Delegate {i:02}");
        people.push(Client::join(server.addr, &m, &join, &name, "City", Lang::Es).await?);
    }
    // Each round, everyone raises an ordinary hand and a point of order, and the host
    // clears the queue: 60 records a round, none of them a lowering (no cooldown).
    let rounds = 11;
    for _ in 0..rounds {
        for p in people.iter_mut() {
            for point_of_order in [false, true] {
                p.must(Command::RaiseHand {
                    language: None,
                    point_of_order,
                })
                .await?;
            }
        }
        host.must(Command::ClearQueue).await?;
    }
    let total = rounds * 60;
    assert!(
        total > 2 * HAND_HISTORY_KEPT,
        "the test must pass the bound"
    );
    assert_eq!(host.state.hand_history_len, Some(total));
    let (from, held) = host.hand_history_held().await?;
    assert!(from > 0, "older records are let go");
    assert!(
        (HAND_HISTORY_KEPT..=2 * HAND_HISTORY_KEPT).contains(&held.len()),
        "{} held",
        held.len()
    );
    assert_eq!(from + held.len(), total);
    assert!(held.iter().all(|r| r.outcome == HandOutcome::Cleared));
    // A fetch from an index no longer held starts at the oldest held.
    match host.fetch_from(ListName::HandHistory, 3, Some(2)).await? {
        Ok((PageItems::HandHistory(h), got_from, got_total)) => {
            assert_eq!((got_from, got_total, h.len()), (from, total, 2));
            assert_eq!(h[0], held[0]);
        }
        other => anyhow::bail!("a page of hand records, not {other:?}"),
    }

    let hands_in_report = |addr| {
        let (m, token) = (m.clone(), host_token.clone());
        async move {
            let r = podium_tests::http::get(
                addr,
                &format!("/api/meetings/{m}/report.json"),
                Some(&token),
            )
            .await?;
            anyhow::ensure!(r.status == 200, "{}", r.body);
            let report = r.json()?;
            let hands = report["hands"].as_array().expect("hands").len();
            let first = report["hands"][0]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            Ok::<_, anyhow::Error>((hands, first))
        }
    };
    assert_eq!(
        hands_in_report(server.addr).await?,
        (total, "Delegate 00".to_string()),
        "the report lists every hand, the first one included"
    );
    drop(people);
    drop(host);
    server.restart().await?;
    assert_eq!(
        hands_in_report(server.addr).await?.0,
        total,
        "and after a restart"
    );
    server.stop().await
}
