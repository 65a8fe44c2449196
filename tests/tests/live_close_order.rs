//! Nothing follows a Close frame, over real sockets: a participant the host removes gets
//! Close 4001 as the last frame of its connection — not the change that shows their hands
//! gone, written by the meeting's fan-out after it. A browser that receives a data frame
//! after a Close treats the connection as failed (code 1006, not 4001) and reconnects,
//! so the removed delegate would see a join form instead of "removed by the host".

use futures_util::StreamExt;
use podium_protocol::{Command, Lang};
use podium_tests::client::{read_until_close, Client, WAIT};
use podium_tests::server::TestServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_gets_nothing_after_the_close_frame() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let m = server.meeting().to_string();
    let addr = server.addr;
    let mut host = Client::hello(addr, &m, &server.token("host", None)).await?;
    host.must(Command::StartMeeting).await?;
    let join = server.token("participant", None);
    // Several rounds: the close and the fan-out's change race, so give the race chances.
    for round in 0..12 {
        let mut p = Client::join(
            addr,
            &m,
            &join,
            &format!("Bot {round}"),
            "Nowhere",
            Lang::En,
        )
        .await?;
        let pid = p.you.participant.expect("a participant id");
        p.must(Command::RaiseHand {
            language: None,
            point_of_order: false,
        })
        .await?;
        host.wait_for(|s| s.queue.iter().any(|h| h.participant == pid))
            .await?;
        host.must(Command::RemoveParticipant { participant: pid })
            .await?;
        let end = read_until_close(&mut p.ws).await?;
        assert_eq!(end.code, Some(4001), "round {round}: {end:?}");
        // After the Close frame the stream ends: no data frame may follow it.
        loop {
            match tokio::time::timeout(WAIT, p.ws.next()).await? {
                None => break,
                Some(Ok(Message::Close(_))) => continue,
                Some(Ok(other)) => panic!("round {round}: a frame after the Close: {other:?}"),
                Some(Err(e)) => {
                    let e = e.to_string();
                    assert!(
                        !e.contains("after having closed"),
                        "round {round}: a frame after the Close: {e}"
                    );
                    break;
                }
            }
        }
    }
    Ok(())
}
