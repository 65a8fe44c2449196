//! Durability (DESIGN.md §3 item 5): every accepted change is on disk before anyone is
//! told of it, and a restart — even after `kill -9` — resumes the meeting exactly,
//! running clocks included.
//!
//! These tests run the real `podium` binary (run `cargo build -p podium-server` first),
//! kill it with SIGKILL, start it again on the same data directory and compare what a
//! websocket client sees with what was acknowledged before the kill. The last tests
//! check that a damaged database is refused and left byte for byte as it was, and that
//! recovery across snapshots rebuilds the live state in-process.

use anyhow::{anyhow, bail, ensure, Context, Result};
use futures_util::{SinkExt, StreamExt};
use podium_protocol::{
    Agenda, ClientMessage, Clock, ClockTarget, Command, ErrorCode, Event, HandOutcome, Lang,
    MeetingState, Phase, Role, ServerMessage,
};
use podium_server::engine::{Actor, Engine};
use podium_server::hub::meeting::{Input, MeetingHandle, SNAPSHOT_EVERY};
use podium_server::store::sqlite::SqliteStore;
use podium_server::store::Store;
use podium_server::{Config, Limits, Podium};
use podium_tests::client::{staff_view, Client};
use podium_tests::server::{podium_bin, ChildServer, ADMIN};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const OPEN_FLOOR: &str = "open-conversation";

fn now_ms() -> i64 {
    podium_server::clock::now_ms()
}

fn raise(language: Option<Lang>, point_of_order: bool) -> Command {
    Command::RaiseHand {
        language,
        point_of_order,
    }
}

fn lower(point_of_order: bool) -> Command {
    Command::LowerHand { point_of_order }
}

fn adjust(target: ClockTarget, seconds: i64) -> Command {
    Command::AdjustClock { target, seconds }
}

fn go_to(segment: &str) -> Command {
    Command::GoToSegment {
        segment: segment.into(),
    }
}

fn give_floor(person: &str) -> Command {
    Command::GiveFloor {
        person: person.into(),
    }
}

/// A live edit: "any other business" inserted before the closing (with a late speaker),
/// and the current segment (the open conversation) cut to `minutes`.
fn live_edit(minutes: i64) -> Command {
    use podium_protocol::{AgendaOp, Person, Secs, Segment, SegmentKind, SegmentPatch};
    Command::EditAgenda {
        ops: vec![
            AgendaOp::InsertSegment {
                at: 6,
                segment: Segment {
                    id: format!("aob-{minutes}"),
                    kind: SegmentKind::OpenFloor,
                    title: "Any other business".into(),
                    title_original: Some("Divers".into()),
                    question: None,
                    question_original: None,
                    duration: Secs(300),
                    speech_limit: None,
                    moderator: None,
                    speakers: vec![Person {
                        id: None,
                        name: "Nadia Rahman".into(),
                        title: Some("Mayor".into()),
                        affiliation: Some("Dhaka North".into()),
                        country: Some("Bangladesh".into()),
                        language: Lang::Ar,
                        text_url: None,
                    }],
                    reactions: vec![],
                    warning: Some(Secs(120)),
                    danger: None,
                },
            },
            AgendaOp::UpdateSegment {
                segment: OPEN_FLOOR.into(),
                set: SegmentPatch {
                    duration: Some(Secs(minutes * 60)),
                    ..Default::default()
                },
            },
        ],
    }
}

fn agenda() -> Agenda {
    Agenda::from_toml(podium_server::DEFAULT_AGENDA).expect("the bundled agenda is valid")
}

/// Asserts two states are identical, naming the first part that differs.
fn assert_same_state(what: &str, got: &MeetingState, want: &MeetingState) {
    assert_eq!(got.phase, want.phase, "{what}: phase");
    assert_eq!(got.current, want.current, "{what}: current segment");
    assert_eq!(
        got.segment_clock, want.segment_clock,
        "{what}: segment clock"
    );
    assert_eq!(
        got.speech, want.speech,
        "{what}: speech (speaker and clock)"
    );
    assert_eq!(got.queue, want.queue, "{what}: queue");
    assert_eq!(got.participants, want.participants, "{what}: participants");
    assert_eq!(got.history, want.history, "{what}: speech history");
    assert_eq!(got.hand_history, want.hand_history, "{what}: hand history");
    assert_eq!(got.segments, want.segments, "{what}: segment times");
    assert_eq!(got, want, "{what}: whole state");
}

/// A participant as the tests know them: their id and personal token.
#[derive(Clone)]
struct Person {
    id: u64,
    token: String,
}

async fn join(server: &ChildServer, name: &str, delegation: &str, lang: Lang) -> Result<Client> {
    let token = server.token("participant", None);
    let c = Client::join(
        server.addr,
        &server.meeting(),
        &token,
        name,
        delegation,
        lang,
    )
    .await?;
    ensure!(
        c.participant_token.is_some(),
        "no personal token for {name}"
    );
    Ok(c)
}

fn person(c: &Client) -> Person {
    Person {
        id: c.you.participant.expect("a participant id"),
        token: c.participant_token.clone().expect("a personal token"),
    }
}

/// Sends a command that must be accepted; returns its seq (the change has arrived too).
async fn must(c: &mut Client, command: Command) -> Result<u64> {
    c.must(command).await
}

// ---------------------------------------------------------------------------------------
// 1. kill -9 in the open conversation, with hands up and a speech running.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_in_open_conversation_resumes_exactly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = ChildServer::start(dir.path())?;
    let m = server.meeting();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;

    let mut ana = join(&server, "Ana Souza", "Brazil", Lang::Es).await?;
    let mut karim = join(&server, "Karim Benali", "City of Rabat", Lang::Ar).await?;
    let mut claire = join(&server, "Claire Dubois", "City of Lyon", Lang::Fr).await?;
    let mut john = join(&server, "John Smith", "Canada", Lang::En).await?;

    must(&mut host, Command::StartMeeting).await?;
    must(&mut host, go_to(OPEN_FLOOR)).await?;
    must(&mut host, give_floor("diego-morejon")).await?;
    // Hands: an ordinary one, a point of order (jumps ahead), more ordinary ones in
    // other languages (one speaking another language than the one given at join).
    must(&mut ana, raise(None, false)).await?;
    must(&mut karim, raise(None, true)).await?;
    must(&mut claire, raise(Some(Lang::En), false)).await?;
    // The point of order is called: Diego's speech goes to the history, the hand to the
    // hand history.
    must(&mut host, Command::GiveFloorToHand { hand: None }).await?;
    must(&mut host, Command::EndSpeech).await?;
    must(&mut karim, raise(Some(Lang::Fr), true)).await?;
    must(&mut john, raise(None, false)).await?;
    // A reaction speaker holds the floor.
    must(&mut host, give_floor("bettina-etter")).await?;
    // The segment clock: add time, pause it, take some back while paused.
    must(&mut host, adjust(ClockTarget::Segment, 90)).await?;
    must(
        &mut host,
        Command::PauseClock {
            target: ClockTarget::Segment,
        },
    )
    .await?;
    must(&mut host, adjust(ClockTarget::Segment, -30)).await?;
    // The speech clock keeps running, with 3 s left: it runs out while the server is down.
    let speech_ends = match host.state.speech.as_ref().map(|s| s.clock) {
        Some(Clock::Running { ends_at }) => ends_at,
        other => bail!("the speech clock should run, it is {other:?}"),
    };
    let cut = (speech_ends - now_ms()) / 1000 - 3;
    let last = must(&mut host, adjust(ClockTarget::Speech, -cut)).await?;
    for p in [&mut ana, &mut karim, &mut claire, &mut john] {
        p.wait_seq(last).await?;
    }

    let before = host.whole_state().await?;
    let before_seq = host.seq;
    assert_eq!(before_seq, last);
    assert_eq!(before.phase, Phase::Running);
    assert_eq!(before.queue.len(), 4);
    assert!(
        before.queue[0].point_of_order,
        "the point of order is first"
    );
    assert_eq!(before.queue[0].language, Lang::Fr);
    assert_eq!(before.queue[1].language, Lang::Es);
    assert_eq!(before.queue[2].language, Lang::En);
    assert_eq!(before.history.len(), 2);
    assert_eq!(before.hand_history.len(), 1);
    assert!(matches!(before.segment_clock, Clock::Paused { .. }));
    let Some(Clock::Running { ends_at }) = before.speech.as_ref().map(|s| s.clock) else {
        bail!("the speech clock should run");
    };
    let people: Vec<Person> = [&ana, &karim, &claire, &john]
        .into_iter()
        .map(person)
        .collect();
    drop((ana, karim, claire, john, host));

    server.kill9()?;
    // Stay down until the speech clock has run out.
    let wait = (ends_at - now_ms() + 700).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;

    let server = ChildServer::start(dir.path())?;
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    assert_eq!(host.seq, before_seq, "recovered seq");
    assert_same_state("after kill -9", &host.whole_state().await?, &before);
    let speech = host.state.speech.as_ref().expect("the speech is still on");
    assert_eq!(speech.speaker.person.as_deref(), Some("bettina-etter"));
    assert_eq!(speech.clock, Clock::Running { ends_at }, "same deadline");
    assert!(
        speech.clock.remaining(now_ms()) < 0,
        "the speech ran out while the server was down: overtime"
    );

    // Participants resume with their personal tokens; their hands are still up.
    for (i, p) in people.iter().enumerate() {
        let mut c = Client::hello(server.addr, &m, &p.token).await?;
        assert_eq!(c.you.participant, Some(p.id), "same participant id");
        assert_eq!(c.seq, before_seq);
        assert_eq!(
            c.state.queue, before.queue,
            "participants see the same queue"
        );
        let hands: Vec<_> = before
            .queue
            .iter()
            .filter(|h| h.participant == p.id)
            .collect();
        if let Some(h) = hands.first() {
            // The server knows the hand is theirs: raising again is a duplicate.
            match c.command(raise(None, h.point_of_order)).await? {
                Err((ErrorCode::Duplicate, _)) => {}
                other => bail!("participant {i}: expected a duplicate hand, got {other:?}"),
            }
        }
    }
    // And they can lower it.
    let mut ana = Client::hello(server.addr, &m, &people[0].token).await?;
    let seq = must(&mut ana, lower(false)).await?;
    assert_eq!(seq, before_seq + 1);
    assert!(ana
        .state
        .queue
        .iter()
        .all(|h| h.participant != people[0].id));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2a. kill -9 at several points of the meeting's life (a table of stages).
// ---------------------------------------------------------------------------------------

/// One step of a stage.
enum Act {
    /// A command from the host.
    Host(Command),
    /// A command from participant `n` (in join order).
    P(usize, Command),
    /// A participant joins.
    Join(&'static str, &'static str, Lang),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_at_every_stage_resumes_exactly() -> Result<()> {
    use Act::*;
    let table: Vec<(&str, Vec<Act>)> = vec![
        (
            "before start",
            vec![
                Join("Ana Souza", "Brazil", Lang::Es),
                Join("Karim Benali", "City of Rabat", Lang::Ar),
                Join("Claire Dubois", "City of Lyon", Lang::Fr),
                P(1, raise(None, false)),
                Host(Command::SetPriority {
                    not_yet_spoken_first: true,
                }),
            ],
        ),
        ("right after start", vec![Host(Command::StartMeeting)]),
        (
            "mid-round, speech clock paused",
            vec![
                Host(go_to("round-1")),
                Host(give_floor("carola-gunnarsson")),
                Host(Command::PauseClock {
                    target: ClockTarget::Speech,
                }),
                Host(adjust(ClockTarget::Speech, 30)),
                Host(adjust(ClockTarget::Segment, -60)),
                Host(Command::MessageSpeaker {
                    text: "Une minute, s'il vous plaît".into(),
                }),
                P(0, raise(None, false)),
            ],
        ),
        (
            "open floor with hands",
            vec![
                Host(go_to(OPEN_FLOOR)),
                P(2, raise(Some(Lang::En), false)),
                P(2, raise(None, true)),
                Host(Command::GiveFloorToHand { hand: None }),
                P(0, lower(false)),
                // (Not Ana again at once: a lowered hand waits for the cooldown.)
                P(1, raise(Some(Lang::Fr), true)),
                Host(Command::CloseQueue),
                Host(adjust(ClockTarget::Speech, 45)),
            ],
        ),
        (
            "agenda edited live",
            vec![
                Host(live_edit(40)),
                Host(Command::GiveFloor {
                    person: "nadia-rahman".into(),
                }),
            ],
        ),
        ("after end", vec![Host(Command::EndMeeting)]),
    ];

    let dir = tempfile::tempdir()?;
    let mut server = ChildServer::start(dir.path())?;
    let m = server.meeting();
    let mut people: Vec<Person> = Vec::new();
    let mut expected_seq = 0;
    for (stage, acts) in table {
        let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
        assert_eq!(host.seq, expected_seq, "{stage}: seq at reconnect");
        let mut ps = Vec::new();
        for p in &people {
            ps.push(Client::hello(server.addr, &m, &p.token).await?);
        }
        let mut last = host.seq;
        for act in acts {
            last = match act {
                Host(c) => must(&mut host, c).await?,
                P(n, c) => must(&mut ps[n], c).await?,
                Join(name, delegation, lang) => {
                    let c = join(&server, name, delegation, lang).await?;
                    people.push(person(&c));
                    let seq = c.seq;
                    ps.push(c);
                    seq
                }
            }
            .max(last);
        }
        host.wait_seq(last).await?;
        let before = host.whole_state().await?;
        let before_seq = host.seq;
        let before_agenda = (
            host.agenda_version,
            host.agenda.clone(),
            host.planned.clone(),
        );
        drop((host, ps));

        server.kill9()?;
        server = ChildServer::start(dir.path())?;

        let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
        assert_eq!(host.seq, before_seq, "{stage}: recovered seq");
        assert_same_state(stage, &host.whole_state().await?, &before);
        assert_eq!(
            (host.agenda_version, &host.agenda, &host.planned),
            (before_agenda.0, &before_agenda.1, &before_agenda.2),
            "{stage}: the agenda as edited"
        );
        for p in &people {
            let c = Client::hello(server.addr, &m, &p.token).await?;
            assert_eq!(c.you.participant, Some(p.id), "{stage}: personal token");
            assert_eq!(
                c.state.queue, before.queue,
                "{stage}: queue as participants see it"
            );
        }
        expected_seq = before_seq;
        match stage {
            "before start" => assert_eq!(before.phase, Phase::NotStarted),
            "mid-round, speech clock paused" => {
                let clock = before.speech.as_ref().map(|s| s.clock);
                assert!(matches!(clock, Some(Clock::Paused { .. })), "{clock:?}");
            }
            "open floor with hands" => assert!(before.queue.len() >= 2),
            "agenda edited live" => {
                assert_eq!(before.agenda_version, 1);
                assert_eq!(before_agenda.1.segments[6].id, "aob-40");
                assert_eq!(
                    before
                        .speech
                        .as_ref()
                        .map(|s| (s.speaker.name.as_str(), s.speaker.language)),
                    Some(("Nadia Rahman", Lang::Ar))
                );
            }
            "after end" => assert_eq!(before.phase, Phase::Ended),
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2b. kill -9 in the middle of a burst of unacknowledged commands.
// ---------------------------------------------------------------------------------------

/// What one connection sent and heard during a burst.
#[derive(Default)]
struct Record {
    /// Commands written to the socket, in order.
    sent: usize,
    /// Acks: command index → seq.
    acked: BTreeMap<usize, u64>,
    /// Errors: command index → code.
    refused: BTreeMap<usize, ErrorCode>,
    /// The latest change seen: (seq, state).
    last_change: Option<(u64, MeetingState)>,
}

/// Sends `commands` as fast as the socket takes them (a short pause every few, so the
/// burst lasts long enough to be cut), and records every answer until the socket dies.
async fn burst(client: Client, commands: Vec<Command>, acks: Arc<AtomicUsize>) -> Record {
    let (mut sink, mut stream) = client.ws.split();
    let n = commands.len();
    let send = async {
        let mut sent = 0;
        for (i, command) in commands.into_iter().enumerate() {
            let msg = ClientMessage::Command {
                id: i as u64,
                command,
                key: None,
            };
            let text = serde_json::to_string(&msg).expect("serialise");
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
            sent += 1;
            // Without waiting for answers, but spread over some 60–90 ms, so that the
            // kill lands while commands are still coming in.
            if i % 2 == 1 {
                tokio::time::sleep(Duration::from_millis(4)).await;
            }
        }
        sent
    };
    let receive = async {
        let mut rec = Record::default();
        loop {
            let msg = match tokio::time::timeout(Duration::from_secs(20), stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => break,
                Ok(Some(Ok(_))) => continue,
            };
            match serde_json::from_str::<ServerMessage>(&msg) {
                Ok(ServerMessage::Ack { id, seq }) => {
                    rec.acked.insert(id as usize, seq);
                    acks.fetch_add(1, Ordering::SeqCst);
                }
                Ok(ServerMessage::Error {
                    id: Some(id), code, ..
                }) => {
                    rec.refused.insert(id as usize, code);
                    acks.fetch_add(1, Ordering::SeqCst);
                }
                Ok(ServerMessage::Change { seq, state, .. }) => {
                    rec.last_change = Some((seq, *state))
                }
                _ => {}
            }
            if rec.acked.len() + rec.refused.len() == n {
                // Everything answered; keep the socket open until the kill.
                let _ = stream.next().await;
                break;
            }
        }
        rec
    };
    let (sent, mut rec) = tokio::join!(send, receive);
    rec.sent = sent;
    rec
}

/// A cheap random number (no extra crate), from the clock's nanoseconds.
fn random_below(n: usize) -> usize {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(7);
    let mut x = nanos ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % n as u64) as usize
}

const BURST_PARTICIPANTS: usize = 10;
const BURST_EACH: usize = 30;
const BURST_HOST: usize = 30;

/// The host's adjustments: all positive, so each prefix has its own sum.
fn host_adjustment(t: usize) -> i64 {
    1 + (t % 3) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_burst_keeps_every_acknowledged_change() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // Participants toggle faster than the hand cooldown allows: the burst needs it off.
    let mut server = ChildServer::start_with_agenda(
        dir.path(),
        Some(&podium_tests::server::agenda_without_hand_cooldown()),
    )?;
    let m = server.meeting();
    let langs = [Lang::En, Lang::Fr, Lang::Es, Lang::Ar];
    let mut people = Vec::new();
    {
        let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
        must(&mut host, Command::StartMeeting).await?;
        must(&mut host, go_to(OPEN_FLOOR)).await?;
        for i in 0..BURST_PARTICIPANTS {
            let c = join(&server, &format!("Delegate {i}"), "Burst", langs[i % 4]).await?;
            people.push(person(&c));
        }
    }
    // Two bursts, each cut by kill -9 at a random moment; the second starts from what the
    // first recovered.
    let mut all_acked_seqs = Vec::new();
    for round in 0..2 {
        let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
        let base = host.whole_state().await?;
        let base_seq = host.seq;
        let Clock::Running { ends_at: base_ends } = base.segment_clock else {
            bail!("the segment clock should run");
        };
        let base_history = base.hand_history.len();
        // Each participant alternates raise/lower, starting from where their hand is.
        let mut plans = Vec::new();
        let mut clients = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let c = Client::hello(server.addr, &m, &p.token).await?;
            let poo = i % 4 == 0;
            let up0 = base
                .queue
                .iter()
                .any(|h| h.participant == p.id && h.point_of_order == poo);
            let commands: Vec<Command> = (0..BURST_EACH)
                .map(|t| {
                    if (t % 2 == 0) != up0 {
                        raise(Some(langs[(i + t) % 4]), poo)
                    } else {
                        lower(poo)
                    }
                })
                .collect();
            plans.push((up0, poo));
            clients.push((c, commands));
        }
        let host_commands: Vec<Command> = (0..BURST_HOST)
            .map(|t| adjust(ClockTarget::Segment, host_adjustment(t)))
            .collect();
        let total = BURST_PARTICIPANTS * BURST_EACH + BURST_HOST;
        // A random moment inside the burst (each sender takes at least 60 ms, answers come later).
        let kill_after = Duration::from_millis(5 + random_below(70) as u64);

        let acks = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for (c, commands) in clients {
            tasks.push(tokio::spawn(burst(c, commands, acks.clone())));
        }
        let host_task = tokio::spawn(burst(host, host_commands, acks.clone()));
        tokio::time::sleep(kill_after).await;
        server.kill9()?;
        let answered_at_kill = acks.load(Ordering::SeqCst);
        let mut records = Vec::new();
        for t in tasks {
            records.push(t.await?);
        }
        let host_rec = host_task.await?;
        eprintln!(
            "round {round}: kill -9 at {kill_after:?}, {answered_at_kill} of {total} commands answered"
        );
        assert!(answered_at_kill < total, "the kill came after the burst");

        server = ChildServer::start(dir.path())?;
        let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
        let got = &host.whole_state().await?;
        let recovered = host.seq;

        // Nothing was refused (the plans are valid whatever was cut).
        for (i, r) in records.iter().enumerate() {
            assert!(
                r.refused.is_empty(),
                "participant {i} refused: {:?}",
                r.refused
            );
        }
        assert!(
            host_rec.refused.is_empty(),
            "host refused: {:?}",
            host_rec.refused
        );

        // Every ack is at or below the recovered seq.
        let max_ack = records
            .iter()
            .chain([&host_rec])
            .flat_map(|r| r.acked.values().copied())
            .max()
            .unwrap_or(base_seq);
        assert!(
            recovered >= max_ack,
            "recovered {recovered} < acked {max_ack}"
        );
        eprintln!(
            "round {round}: from seq {base_seq}: highest ack {max_ack}, recovered {recovered}"
        );
        // No change was published that the journal does not hold, and the latest one
        // the host saw is exactly what came back if it was the last.
        if let Some((seq, state)) = &host_rec.last_change {
            assert!(*seq <= recovered, "published {seq} > recovered {recovered}");
            if *seq == recovered {
                assert_same_state("last published", &staff_view(got), state);
            }
        }
        for r in &records {
            if let Some((seq, _)) = &r.last_change {
                assert!(*seq <= recovered, "published {seq} > recovered {recovered}");
            }
        }

        // Each connection's commands are applied in order, so what survived is a prefix
        // of what it sent: find its length from the state, and check it covers every ack.
        let mut applied = 0u64;
        for (i, (p, r)) in people.iter().zip(&records).enumerate() {
            let (up0, poo) = plans[i];
            let lowered = got.hand_history[base_history..]
                .iter()
                .filter(|h| h.hand.participant == p.id && h.outcome == HandOutcome::Lowered)
                .count();
            let up = got
                .queue
                .iter()
                .any(|h| h.participant == p.id && h.point_of_order == poo);
            // After j commands starting from up0: hand up iff up0 xor (j odd); lowered =
            // number of lowers among the first j.
            let fits = |j: usize| {
                let ups = up0 ^ (j % 2 == 1);
                let lowers = if up0 { j.div_ceil(2) } else { j / 2 };
                ups == up && lowers == lowered
            };
            let j = (0..=r.sent).find(|&j| fits(j)).ok_or_else(|| {
                anyhow!(
                    "participant {i}: no prefix of {} gives up={up}, lowered={lowered}",
                    r.sent
                )
            })?;
            let last_acked = r.acked.keys().next_back().map(|k| k + 1).unwrap_or(0);
            assert!(
                j >= last_acked,
                "participant {i}: acked {last_acked} commands but only {j} survived"
            );
            // Where every command was acknowledged, the hand is exactly as the last left it.
            if last_acked == r.sent {
                assert_eq!(j, r.sent, "participant {i}: all acked, all there");
            }
            applied += j as u64;
        }
        let Clock::Running { ends_at } = got.segment_clock else {
            bail!("the segment clock should still run");
        };
        let added = (ends_at - base_ends) / 1000;
        let mut sum = 0;
        let mut j_host = None;
        for j in 0..=host_rec.sent {
            if sum == added {
                j_host = Some(j);
                break;
            }
            if j < host_rec.sent {
                sum += host_adjustment(j);
            }
        }
        let j_host =
            j_host.ok_or_else(|| anyhow!("no prefix of the host's adjustments adds {added} s"))?;
        let host_acked = host_rec
            .acked
            .keys()
            .next_back()
            .map(|k| k + 1)
            .unwrap_or(0);
        assert!(
            j_host >= host_acked,
            "host: acked {host_acked}, only {j_host} survived"
        );
        applied += j_host as u64;
        // One event per accepted command: the journal holds exactly these, nothing else.
        assert_eq!(
            recovered - base_seq,
            applied,
            "events recovered vs commands the state shows"
        );

        // Participants resume with their tokens and see their own hand as recovered.
        for p in &people {
            let c = Client::hello(server.addr, &m, &p.token).await?;
            assert_eq!(c.you.participant, Some(p.id));
            assert_eq!(c.state.queue, got.queue);
        }
        for (i, r) in records.iter().enumerate() {
            for (&t, &seq) in &r.acked {
                all_acked_seqs.push((Who::P(i, plans[i].0, t), seq));
            }
        }
        for (&t, &seq) in &host_rec.acked {
            all_acked_seqs.push((Who::Host(t), seq));
        }
    }

    // Finally read the journal itself: the server's state is its replay, and every
    // acknowledged command's event sits at the seq it was acknowledged with.
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    let (state, seq) = (host.whole_state().await?, host.seq);
    let mut server = server;
    server.kill9()?;
    let mut store = SqliteStore::open(dir.path())?;
    let rec = store.recover(&m)?;
    assert!(rec.snapshot.is_none(), "fewer than {SNAPSHOT_EVERY} events");
    assert_eq!(rec.tail.len() as u64, seq, "journal length");
    let events: Vec<Event> = rec
        .tail
        .iter()
        .enumerate()
        .map(|(i, (s, json))| {
            assert_eq!(*s, i as u64 + 1, "journal has no gaps");
            serde_json::from_str(json).expect("event decodes")
        })
        .collect();
    let mut engine = Engine::new(Arc::new(agenda()));
    engine.replay(&events);
    assert_same_state("journal replay", engine.state(), &state);
    let mut owner = HashMap::new();
    for e in &events {
        if let Event::HandRaised { hand } = e {
            owner.insert(hand.id, hand.participant);
        }
    }
    for (who, seq) in all_acked_seqs {
        let e = &events[seq as usize - 1];
        match who {
            Who::Host(t) => assert_eq!(
                e,
                &Event::ClockAdjusted {
                    target: ClockTarget::Segment,
                    delta_ms: host_adjustment(t) * 1000
                },
                "host command {t} acked at {seq}"
            ),
            Who::P(i, up0, t) => {
                let pid = people[i].id;
                let raising = (t % 2 == 0) != up0;
                match e {
                    Event::HandRaised { hand } if raising => assert_eq!(hand.participant, pid),
                    Event::HandLeft {
                        hand,
                        outcome: HandOutcome::Lowered,
                        ..
                    } if !raising => assert_eq!(owner.get(hand), Some(&pid)),
                    other => {
                        bail!("participant {i} command {t} acked at {seq}, journal has {other:?}")
                    }
                }
            }
        }
    }
    Ok(())
}

/// Who sent an acknowledged command, for the journal check.
enum Who {
    Host(usize),
    /// Participant index, whether their hand was up at the round's start, command index.
    P(usize, bool, usize),
}

// ---------------------------------------------------------------------------------------
// 3. A damaged database is refused and left exactly as it was.
// ---------------------------------------------------------------------------------------

/// Every file in `dir` with its bytes.
fn files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path())?,
            );
        }
    }
    Ok(out)
}

/// Runs `podium serve` on `dir`, which must refuse to start: returns its stderr.
fn serve_must_refuse(dir: &Path) -> Result<String> {
    let mut child = std::process::Command::new(podium_bin()?)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("PODIUM_ADMIN_TOKEN", ADMIN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("podium serve kept running on a damaged database");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .context("stderr")?
        .read_to_string(&mut stderr)?;
    ensure!(
        !status.success(),
        "podium serve exited with success: {stderr}"
    );
    Ok(stderr)
}

/// Checks that `podium serve` refuses `dir`, names the file and the problem, and leaves
/// every file exactly as it was (no new -wal or -shm either).
fn check_refused(case: &str, dir: &Path, problem: &[&str]) -> Result<()> {
    let before = files(dir)?;
    let stderr = serve_must_refuse(dir)?;
    let db = dir.join("podium.sqlite");
    assert!(
        stderr.contains(&db.display().to_string()),
        "{case}: stderr does not name {}: {stderr}",
        db.display()
    );
    assert!(
        problem.iter().any(|p| stderr.contains(p)),
        "{case}: stderr does not say what is wrong ({problem:?}): {stderr}"
    );
    let after = files(dir)?;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{case}: files appeared or vanished"
    );
    for (name, bytes) in &before {
        assert!(after[name] == *bytes, "{case}: {name} was changed");
    }
    Ok(())
}

/// A real database: a meeting with hands and speeches, written by the real server.
/// Returns (the checkpointed database file, the same after more commands and a kill -9:
/// its main file and its -wal).
async fn real_database() -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir()?;
    let mut server = ChildServer::start(dir.path())?;
    let m = server.meeting();
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    must(&mut host, Command::StartMeeting).await?;
    for i in 0..4 {
        let mut p = join(&server, &format!("Delegate {i}"), "Somewhere", Lang::Fr).await?;
        must(&mut p, raise(None, i == 2)).await?;
    }
    must(&mut host, give_floor("sophie-van-haasen")).await?;
    drop(host);
    server.kill9()?;
    // Opening and closing the store checkpoints the WAL into the main file.
    drop(SqliteStore::open(dir.path())?);
    let db = dir.path().join("podium.sqlite");
    ensure!(
        !PathBuf::from(format!("{}-wal", db.display())).exists(),
        "the WAL should be checkpointed away"
    );
    let clean = std::fs::read(&db)?;

    let mut server = ChildServer::start(dir.path())?;
    let mut host = Client::hello(server.addr, &m, &server.token("host", None)).await?;
    must(&mut host, go_to(OPEN_FLOOR)).await?;
    for i in 0..3 {
        let mut p = join(&server, &format!("Late {i}"), "Elsewhere", Lang::Ar).await?;
        must(&mut p, raise(None, false)).await?;
    }
    drop(host);
    server.kill9()?;
    let main = std::fs::read(&db)?;
    let wal = std::fs::read(format!("{}-wal", db.display()))
        .context("a kill -9 leaves the WAL beside the database")?;
    Ok((clean, main, wal))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_database_is_refused_and_left_untouched() -> Result<()> {
    let (clean, main, wal) = real_database().await?;
    assert!(clean.len() > 3000 * 2, "a real database has several pages");

    // Garbage.
    let dir = tempfile::tempdir()?;
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("podium.sqlite"), &garbage)?;
    check_refused("garbage", dir.path(), &["not a database"])?;

    // The first 3000 bytes of a real database.
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("podium.sqlite"), &clean[..3000])?;
    check_refused(
        "first 3000 bytes",
        dir.path(),
        &["malformed", "not a database", "integrity", "corrupt"],
    )?;

    // The first half of a real database, cut on a page boundary.
    let dir = tempfile::tempdir()?;
    let half = (clean.len() / 2) / 4096 * 4096;
    std::fs::write(dir.path().join("podium.sqlite"), &clean[..half])?;
    check_refused(
        "first half",
        dir.path(),
        &["malformed", "not a database", "integrity", "corrupt"],
    )?;

    // A truncated main file beside the -wal a kill -9 left: neither may be changed (a
    // checkpoint on close would copy the WAL into the damaged file).
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("podium.sqlite"),
        &main[..3000.min(main.len())],
    )?;
    std::fs::write(dir.path().join("podium.sqlite-wal"), &wal)?;
    check_refused(
        "truncated beside a WAL",
        dir.path(),
        &["malformed", "not a database", "integrity", "corrupt"],
    )?;

    // The WAL alone, its database moved away: a new database would overwrite it.
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("podium.sqlite-wal"), &wal)?;
    check_refused(
        "a WAL without its database",
        dir.path(),
        &["without its database"],
    )?;

    // And the undamaged pair still opens (the refusal was not a false alarm).
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("podium.sqlite"), &main)?;
    std::fs::write(dir.path().join("podium.sqlite-wal"), &wal)?;
    let server = ChildServer::start(dir.path())?;
    let host = Client::hello(server.addr, &server.meeting(), &server.token("host", None)).await?;
    assert_eq!(host.state.participant_count, Some(7));
    assert_eq!(host.state.current, Some(5));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 4. In-process: recovery across snapshots rebuilds the live state exactly.
// ---------------------------------------------------------------------------------------

async fn command(h: &MeetingHandle, actor: Actor, command: Command) -> Result<u64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    ensure!(
        h.send(Input::Command {
            actor,
            command,
            id: 0,
            reply: tx,
            idempotency: None,
        })
        .await,
        "meeting task gone"
    );
    let (_, reply) = rx.recv().await.context("no reply")?;
    reply.map_err(|(code, msg)| anyhow!("{code:?}: {msg}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_across_snapshots_matches_the_live_engine() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        public_url: None,
        admin_token: ADMIN.into(),
        limits: Arc::new(Limits::default()),
    };
    let shutdown = CancellationToken::new();
    let podium = Podium::open(config.clone(), shutdown.clone()).await?;
    // Participants toggle their hands in rounds faster than the cooldown: turned off.
    let agenda =
        Agenda::from_toml(&podium_tests::server::agenda_without_hand_cooldown()).expect("valid");
    let id = agenda.meeting_id();
    podium.ensure_meeting(agenda).await?;
    let h = podium.hub.meeting(&id).context("meeting loaded")?;
    command(&h, Actor::Host, Command::StartMeeting).await?;
    command(&h, Actor::Host, go_to(OPEN_FLOOR)).await?;
    let mut pids = Vec::new();
    for i in 0..20 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        h.send(Input::Join {
            role: Role::Participant,
            name: format!("Delegate {i}"),
            delegation: "Snapshots".into(),
            language: [Lang::En, Lang::Fr, Lang::Es, Lang::Ar][i % 4],
            reply: tx,
        })
        .await;
        let (grant, _token) = rx.await?.map_err(|e| anyhow!("{e:?}"))?;
        pids.push(grant.participant.context("pid")?);
    }
    // Pipelined commands (they share turns and transactions), past two snapshots.
    let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
    let mut sent = 0u64;
    for round in 0..120 {
        for (i, pid) in pids.iter().enumerate() {
            let command = if round % 2 == 0 {
                raise(None, i % 7 == 0)
            } else {
                lower(i % 7 == 0)
            };
            h.send(Input::Command {
                actor: Actor::Participant(*pid),
                command,
                id: sent,
                reply: tx.clone(),
                idempotency: None,
            })
            .await;
            sent += 1;
        }
        // Agenda edits on both sides of the snapshots: recovery must restore the agenda
        // the snapshot was taken with, then replay the edits after it.
        if round % 40 == 20 {
            h.send(Input::Command {
                actor: Actor::Host,
                command: live_edit(30 + round as i64 / 10),
                id: sent,
                reply: tx.clone(),
                idempotency: None,
            })
            .await;
            sent += 1;
        }
        if round % 10 == 5 {
            for command in [
                Command::GiveFloorToHand { hand: None },
                adjust(ClockTarget::Speech, 20),
                adjust(ClockTarget::Segment, -5),
            ] {
                h.send(Input::Command {
                    actor: Actor::Host,
                    command,
                    id: sent,
                    reply: tx.clone(),
                    idempotency: None,
                })
                .await;
                sent += 1;
            }
        }
    }
    let mut max_seq = 0;
    for _ in 0..sent {
        let (_, reply) = rx.recv().await.context("reply")?;
        // A hand called just before its owner's lower is refused; nothing else is.
        if let Ok(seq) = reply {
            max_seq = max_seq.max(seq);
        }
    }
    let live = h.inspect().await.context("inspect")?;
    assert_eq!(live.seq(), max_seq);
    assert!(
        live.seq() > 2 * SNAPSHOT_EVERY,
        "crossed two snapshots: {}",
        live.seq()
    );
    shutdown.cancel();
    podium.hub.tracker.close();
    podium.hub.tracker.wait().await;
    drop(podium);

    let podium = Podium::open(config, CancellationToken::new()).await?;
    let rec = podium.hub.store().run({
        let id = id.clone();
        move |s| s.recover(&id)
    });
    let rec = rec.await??;
    let snap_seq = rec.snapshot.as_ref().context("a snapshot was taken")?.seq;
    assert!(
        snap_seq >= 2 * SNAPSHOT_EVERY,
        "latest snapshot at {snap_seq}"
    );
    assert_eq!(
        rec.tail.len() as u64,
        live.seq() - snap_seq,
        "tail after the snapshot"
    );
    let back = podium.hub.engine(&id).await?;
    assert_eq!(back.seq(), live.seq());
    assert_same_state("recovered in-process", back.state(), live.state());
    assert_eq!(live.state().agenda_version, 3, "three edits");
    assert_eq!(back.agenda(), live.agenda(), "the agenda as edited");
    assert!(
        rec.snapshot
            .as_ref()
            .and_then(|s| s.agenda.as_ref())
            .is_some(),
        "the snapshot keeps its agenda"
    );
    Ok(())
}
