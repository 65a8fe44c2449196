//! A long speaking list: participants get the first hands in full and the queue's length,
//! and each gets its own places in a `place` message whenever they move — also when a
//! move deep in the queue changes nothing else they see; the host gets every hand.

use podium_protocol::{Command, Lang, PUBLIC_QUEUE_DETAIL};
use podium_tests::client::{public_view, Client};
use podium_tests::server::TestServer;

/// Waits until every participant's latest `place` is where the host's queue puts them.
async fn places_match(host: &Client, people: &mut [Client]) -> anyhow::Result<()> {
    for p in people.iter_mut() {
        let me = p.you.participant.expect("participant id");
        let want = |poo: bool| {
            host.state
                .queue
                .iter()
                .position(|h| h.participant == me && h.point_of_order == poo)
        };
        let (hand, poo) = (want(false), want(true));
        p.wait_place(|(_, h, o)| h == hand && o == poo).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_get_the_head_of_a_long_queue_and_their_own_places() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let join = server.token("participant", None);
    let n = PUBLIC_QUEUE_DETAIL + 7;
    let mut people = Vec::new();
    for i in 0..n {
        let lang = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i % 4];
        let mut p = Client::join(
            server.addr,
            &m,
            &join,
            &format!("Delegate {i}"),
            "City",
            lang,
        )
        .await?;
        // Once after the snapshot: no hand up.
        p.wait_place(|(_, h, o)| h.is_none() && o.is_none()).await?;
        p.must(Command::RaiseHand {
            language: None,
            point_of_order: i == n - 1,
        })
        .await?;
        people.push(p);
    }
    let last = people.last_mut().expect("people");
    let seq = last.seq;
    host.wait_seq(seq).await?;
    assert_eq!(host.state.queue.len(), n, "the host sees every hand");
    assert_eq!(host.state.queue_len, None);
    assert_eq!(host.state.participant_count, Some(n));
    // The last one raised a point of order: first in line, and everyone else moved back.
    assert_eq!(last.state.queue_len, Some(n));
    assert_eq!(last.state.queue.len(), PUBLIC_QUEUE_DETAIL);
    assert_eq!(last.state, public_view(&host.state));
    places_match(&host, &mut people).await?;
    assert_eq!(
        people[n - 1].place.map(|p| (p.1, p.2)),
        Some((None, Some(0)))
    );
    assert_eq!(people[n - 2].place.map(|p| p.1), Some(Some(n - 1)));

    // A move deep in the queue (beyond the hands shown in full) changes no public state,
    // but the two who swapped places are told.
    let public_seq = people[0].seq;
    let hand = host.state.queue[n - 1].id;
    let moved = host.must(Command::MoveHand { hand, to: n - 2 }).await?;
    places_match(&host, &mut people).await?;
    assert!(people[n - 2].place.expect("place").0 >= moved);
    people[0].ping().await?;
    assert_eq!(
        people[0].seq, public_seq,
        "no change for a move nobody sees in full"
    );

    // The first ordinary hand lowers: everyone behind moves up.
    people[0]
        .must(Command::LowerHand {
            point_of_order: false,
        })
        .await?;
    host.wait_seq(people[0].seq).await?;
    places_match(&host, &mut people).await?;
    assert_eq!(people[0].place.map(|p| (p.1, p.2)), Some((None, None)));
    server.stop().await
}
