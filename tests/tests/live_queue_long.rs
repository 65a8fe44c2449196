//! A long speaking list: participants get the first hands in full and the whole order as
//! compact keys; the host gets every hand. Both agree on the order.

use podium_protocol::{queue_key, Command, Lang, PUBLIC_QUEUE_DETAIL};
use podium_tests::client::{public_view, Client};
use podium_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_get_the_head_of_a_long_queue_and_every_place() -> anyhow::Result<()> {
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
    assert!(host.state.queue_keys.is_none());
    // The last one raised a point of order: first in line.
    let keys = last
        .state
        .queue_keys
        .clone()
        .expect("keys in the public view");
    assert_eq!(keys.len(), n);
    assert_eq!(keys[0], queue_key(last.you.participant.expect("id"), true));
    assert_eq!(last.state.queue.len(), PUBLIC_QUEUE_DETAIL);
    assert_eq!(last.state, public_view(&host.state));
    // The participant at the back finds its own place from the keys alone.
    let back = &mut people[n - 2];
    back.wait_seq(seq).await?;
    let mine = queue_key(back.you.participant.expect("id"), false);
    let place = back
        .state
        .queue_keys
        .as_ref()
        .and_then(|k| k.iter().position(|&k| k == mine));
    assert_eq!(place, Some(n - 1));
    server.stop().await
}
