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
