//! The shortest end-to-end path: host starts the meeting, a participant joins and raises
//! a hand, both see the same queue.

use podium_protocol::{Command, Lang};
use podium_tests::client::Client;
use podium_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_participant_see_the_same_queue() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let mut p = Client::join(
        server.addr,
        &m,
        &server.token("participant", None),
        "Ana Souza",
        "Brazil",
        Lang::Es,
    )
    .await?;
    assert!(p.participant_token.is_some());
    let seq = p
        .must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
    host.wait_seq(seq).await?;
    assert_eq!(host.state.queue.len(), 1);
    assert_eq!(host.state.queue, p.state.queue);
    assert_eq!(p.state.queue[0].language, Lang::Es);
    server.stop().await
}
