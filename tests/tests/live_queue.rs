//! The speaking queue over real sockets: concurrent hands get one server-assigned order
//! that every screen shows; duplicates are refused; a participant who reconnects with their
//! own token finds their hand and place intact.

use podium_protocol::{Command, ErrorCode, Lang, Role};
use podium_tests::client::Client;
use podium_tests::server::TestServer;

const N: usize = 20;

fn raise() -> Command {
    Command::RaiseHand {
        language: None,
        point_of_order: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hands_one_order_and_resume_keeps_the_place() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    host.must(Command::GoToSegment {
        segment: "open-conversation".into(),
    })
    .await?;

    // N participants join concurrently.
    let join = server.token("participant", None);
    let joins = (0..N).map(|i| {
        let (m, join) = (m.clone(), join.clone());
        tokio::spawn(async move {
            let lang = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i % 4];
            Client::join(
                addr,
                &m,
                &join,
                &format!("Delegate {i}"),
                &format!("Delegation {i}"),
                lang,
            )
            .await
        })
    });
    let mut clients = Vec::new();
    for j in joins.collect::<Vec<_>>() {
        clients.push(j.await??);
    }
    let mut ids: Vec<u64> = clients.iter().map(|c| c.you.participant.unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "every participant has its own id");

    // Everyone raises a hand at once.
    let raises = clients.into_iter().map(|mut c| {
        tokio::spawn(async move {
            let r = c.command(raise()).await;
            (c, r)
        })
    });
    let mut clients = Vec::new();
    let mut last = 0;
    for r in raises.collect::<Vec<_>>() {
        let (c, reply) = r.await?;
        let seq = reply?.map_err(|e| anyhow::anyhow!("raise refused: {e:?}"))?;
        last = last.max(seq);
        clients.push(c);
    }

    // Every client ends with the same order, which has each participant exactly once.
    host.wait_seq(last).await?;
    let order = host.state.queue.clone();
    assert_eq!(order.len(), N);
    let mut in_queue: Vec<u64> = order.iter().map(|h| h.participant).collect();
    in_queue.sort();
    assert_eq!(in_queue, ids);
    for w in order.windows(2) {
        assert!(
            w[0].raised_at <= w[1].raised_at,
            "calling order follows server time"
        );
    }
    for c in &mut clients {
        c.wait_seq(last).await?;
        assert_eq!(c.seq, last);
        assert_eq!(
            c.state.queue, order,
            "participant {:?} sees another order",
            c.you.participant
        );
    }

    // A second raise by the same participant is refused as a duplicate; nothing changes.
    match clients[3].command(raise()).await? {
        Err((ErrorCode::Duplicate, _)) => {}
        other => panic!("a second hand must be refused `duplicate`, got {other:?}"),
    }
    host.ping().await?;
    assert_eq!(host.seq, last);
    assert_eq!(host.state.queue, order);

    // Participant k disconnects and comes back with its own token.
    let k = N / 2;
    let gone = clients.remove(k);
    let me = gone.you.participant.expect("participant id");
    let token = gone
        .participant_token
        .clone()
        .expect("participant token in welcome");
    let place = order.iter().position(|h| h.participant == me).unwrap();
    gone.close().await;
    // The others carry on meanwhile: a hand goes down.
    let lowered = clients[0]
        .must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
    let lowered_place = order
        .iter()
        .position(|h| Some(h.participant) == clients[0].you.participant)
        .unwrap();
    let back = Client::hello(addr, &m, &token).await?;
    assert_eq!(back.you.role, Role::Participant);
    assert_eq!(
        back.you.participant,
        Some(me),
        "the same participant id after resume"
    );
    assert_eq!(back.you.name, format!("Delegate {k}"));
    assert!(back.seq >= lowered);
    let expected_place = if lowered_place < place {
        place - 1
    } else {
        place
    };
    let mine = back
        .state
        .queue
        .iter()
        .position(|h| h.participant == me)
        .expect("the hand is still up after reconnecting");
    assert_eq!(mine, expected_place, "the hand kept its place");
    assert_eq!(
        back.state.queue[mine], order[place],
        "the same hand (id, time, language)"
    );
    host.wait_seq(lowered).await?;
    assert_eq!(back.state.queue, host.state.queue);

    // Resumed, it is the same participant to the rules: its hand is still a duplicate.
    let mut back = back;
    match back.command(raise()).await? {
        Err((ErrorCode::Duplicate, _)) => {}
        other => panic!("the resumed participant's hand must still count, got {other:?}"),
    }
    // And it can lower its own hand.
    let seq = back
        .must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
    host.wait_seq(seq).await?;
    assert!(host.state.queue.iter().all(|h| h.participant != me));
    assert_eq!(host.state.queue.len(), N - 2);
    server.stop().await
}
