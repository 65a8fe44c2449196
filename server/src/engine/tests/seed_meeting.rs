//! The bundled GFMD Mayors Mechanism meeting, played through the engine on simulated time:
//! 22 January 2021, 16:00–18:00 Europe/Paris, with round 2 running three minutes over and
//! ten delegates taking the floor from the queue in the open conversation.

use super::*;
use crate::engine::schedule;
use podium_protocol::{ClockTarget, Command, Event, HandOutcome, Lang, Phase};

/// Paris wall-clock time on the meeting's day (CET = UTC+1), as Unix ms.
fn paris(h: i64, m: i64, s: i64) -> i64 {
    T0 + (h - 16) * 3_600_000 + m * M + s * S
}

/// The engine plus the journal of every event it emitted.
struct Meeting {
    e: Engine,
    journal: Vec<Event>,
}

impl Meeting {
    #[track_caller]
    fn cmd(&mut self, actor: &Actor, command: Command, now: i64) {
        let events = ok(&mut self.e, command, actor.clone(), now);
        self.journal.extend(events);
    }

    #[track_caller]
    fn join(&mut self, name: &str, delegation: &str, language: Lang) -> u64 {
        let (id, events) = self
            .e
            .join(name, delegation, language, false)
            .expect("join");
        self.journal.extend(events);
        id
    }

    #[track_caller]
    fn raise(&mut self, who: u64, language: Option<Lang>, point_of_order: bool, now: i64) {
        self.cmd(
            &Actor::Participant(who),
            Command::RaiseHand {
                language,
                point_of_order,
            },
            now,
        );
    }

    fn drift(&self, now: i64) -> i64 {
        schedule::drift_ms(self.e.agenda(), self.e.state(), now)
    }

    fn overruns(&self, now: i64) -> Vec<Option<i64>> {
        (0..7)
            .map(|i| schedule::overrun_ms(self.e.agenda(), self.e.state(), i, now))
            .collect()
    }
}

fn floor(person: &str) -> Command {
    Command::GiveFloor {
        person: person.to_string(),
    }
}

/// One finished speech as the test expects it: who (agenda person id or participant
/// name), segment, start, end, spoken ms, floor language, over the limit.
type Expected = (&'static str, usize, i64, i64, i64, Lang, bool);

#[test]
fn the_seed_meeting_played_through() {
    let mut m = Meeting {
        e: fresh(),
        journal: Vec::new(),
    };
    let host = Actor::Host;
    let cecile = moderator("cecile-riallant");
    let emilia = moderator("emilia-saiz");
    let vittoria = moderator("vittoria-zanuso");
    let sophie = moderator("sophie-van-haasen");
    let planned = m.e.agenda().planned_starts_ms();
    assert_eq!(planned[0], paris(16, 0, 0));
    assert_eq!(planned[7], paris(18, 0, 0));
    assert_eq!(m.drift(paris(15, 59, 0)), 0, "not late before the start");

    // 16:00 — the host starts on the dot: brief introduction and session mechanics.
    m.cmd(&host, Command::StartMeeting, paris(16, 0, 0));
    assert_eq!(m.drift(paris(16, 0, 0)), 0);
    m.cmd(&host, floor("sophie-van-haasen"), paris(16, 0, 20));
    m.cmd(&host, Command::EndSpeech, paris(16, 4, 20));
    assert_eq!(m.e.next_deadline(), None, "no auto-advance in the seed");

    // 16:05 — welcome words; António Vitorino says "done" himself.
    m.cmd(&host, Command::NextSegment, paris(16, 5, 0));
    assert_eq!(m.drift(paris(16, 5, 0)), 0);
    m.cmd(&host, floor("antonio-vitorino"), paris(16, 5, 10));
    m.cmd(
        &speaker("antonio-vitorino"),
        Command::Done,
        paris(16, 9, 40),
    );

    // 16:10 — round 1, moderated by Cécile Riallant.
    m.cmd(&host, Command::NextSegment, paris(16, 10, 0));
    assert_eq!(m.e.state().current, Some(ROUND_1));
    m.cmd(&cecile, floor("carola-gunnarsson"), paris(16, 10, 30));
    // Carola's connection drops for 40 seconds; her clock waits for her.
    m.cmd(
        &cecile,
        Command::PauseClock {
            target: ClockTarget::Speech,
        },
        paris(16, 12, 0),
    );
    m.cmd(
        &cecile,
        Command::ResumeClock {
            target: ClockTarget::Speech,
        },
        paris(16, 12, 40),
    );
    m.cmd(
        &cecile,
        Command::MessageSpeaker {
            text: "30 seconds".into(),
        },
        paris(16, 15, 40),
    );
    assert_eq!(
        m.e.state()
            .speech
            .as_ref()
            .unwrap()
            .clock
            .remaining(paris(16, 15, 40)),
        30 * S
    );
    let speech = m.e.state().speech.as_ref().unwrap();
    assert_eq!(
        speech.message.as_ref().map(|x| (x.n, x.text.as_str())),
        Some((1, "30 seconds")),
        "the message goes to the person speaking"
    );
    m.cmd(&cecile, floor("alexandra-young"), paris(16, 16, 10));
    assert_eq!(m.e.state().speech.as_ref().unwrap().message, None);
    m.cmd(&cecile, Command::EndSpeech, paris(16, 20, 40));
    assert_eq!(m.drift(paris(16, 20, 40)), 0);
    m.cmd(&cecile, Command::NextSegment, paris(16, 30, 0));

    // 16:30 — round 2, moderated by Emilia Sáiz; it runs three minutes over.
    assert_eq!(m.drift(paris(16, 30, 0)), 0);
    m.cmd(&emilia, floor("salvatore-martello"), paris(16, 30, 30));
    m.cmd(&emilia, floor("ahmed-skim"), paris(16, 36, 30));
    m.cmd(
        &Actor::Interpreter(Lang::Ar),
        Command::SlowDown {
            language: Some(Lang::Ar),
        },
        paris(16, 38, 0),
    );
    assert_eq!(
        m.e.state()
            .speech
            .as_ref()
            .and_then(|x| x.slow_down.as_ref())
            .map(|x| (x.n, x.language)),
        Some((1, Some(Lang::Ar)))
    );
    m.cmd(&emilia, Command::EndSpeech, paris(16, 41, 0));
    assert_eq!(m.drift(paris(16, 45, 0)), 0);
    m.cmd(
        &emilia,
        Command::AdjustClock {
            target: ClockTarget::Segment,
            seconds: 180,
        },
        paris(16, 48, 0),
    );
    assert_eq!(m.drift(paris(16, 48, 0)), 3 * M, "running 3 min late");
    assert_eq!(m.e.state().segment_clock.remaining(paris(16, 50, 0)), 3 * M);
    m.cmd(&emilia, Command::NextSegment, paris(16, 53, 0));

    // 16:53 — round 3, moderated by Vittoria Zanuso, on time (so still 3 min late).
    assert_eq!(m.drift(paris(16, 53, 0)), 3 * M);
    assert_eq!(m.overruns(paris(16, 53, 0))[ROUND_2], Some(3 * M));
    m.cmd(
        &vittoria,
        floor("jeniffer-villarreal-de-hoyos"),
        paris(16, 53, 20),
    );
    m.cmd(&vittoria, floor("felipe-munoz"), paris(16, 58, 20));
    m.cmd(&vittoria, Command::EndSpeech, paris(17, 3, 0));
    assert_eq!(m.drift(paris(17, 5, 0)), 3 * M);
    m.cmd(&vittoria, Command::NextSegment, paris(17, 13, 0));

    // 17:13 — open conversation, moderated by Sophie van Haasen: two reactions first.
    assert_eq!(m.drift(paris(17, 13, 0)), 3 * M);
    m.cmd(&sophie, floor("bettina-etter"), paris(17, 13, 20));

    // Ten delegates join, in four languages, two pairs from one delegation each.
    let delegates = [
        ("Amina Diallo", "Government of Senegal", Lang::Fr),
        ("Lucas Ferreira", "City of Montevideo", Lang::Es),
        ("Omar Haddad", "Government of Jordan", Lang::Ar),
        ("Claire Dubois", "City of Montréal", Lang::Fr),
        ("Jan Berg", "Government of Sweden", Lang::En),
        ("Sara Nilsson", "Government of Sweden", Lang::En),
        ("Youssef Alami", "City of Rabat", Lang::Ar),
        ("María López", "Government of Mexico", Lang::Es),
        ("Kwame Mensah", "City of Accra", Lang::En),
        ("Ana Gómez", "Government of Mexico", Lang::Es),
    ];
    let ids: Vec<u64> = delegates.iter().map(|(n, d, l)| m.join(n, d, *l)).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<u64>>());
    let p = |i: usize| ids[i - 1];

    // Hands go up at distinct times, while the reactions are heard.
    m.raise(p(1), None, false, paris(17, 14, 0));
    m.raise(p(2), None, false, paris(17, 14, 20));
    m.raise(p(3), None, false, paris(17, 15, 0));
    m.raise(p(4), Some(Lang::En), false, paris(17, 15, 30)); // Claire will speak English
    m.cmd(&sophie, floor("diego-morejon"), paris(17, 16, 0));
    m.raise(p(5), None, false, paris(17, 16, 10));
    m.raise(p(6), None, true, paris(17, 16, 40)); // point of order
    let r = rejected(
        &mut m.e,
        Command::RaiseHand {
            language: None,
            point_of_order: false,
        },
        Actor::Participant(p(1)),
        paris(17, 17, 0),
    );
    assert!(matches!(r, Rejection::Duplicate(_)), "{r:?}");
    m.raise(p(7), None, false, paris(17, 17, 20));
    m.raise(p(8), None, false, paris(17, 17, 50));
    m.raise(p(9), None, true, paris(17, 18, 15)); // point of order
    m.raise(p(10), None, false, paris(17, 18, 40));

    // The queue: points of order first, in their order, then first come, first served.
    let order: Vec<u64> = m.e.state().queue.iter().map(|h| h.participant).collect();
    assert_eq!(
        order,
        [p(6), p(9), p(1), p(2), p(3), p(4), p(5), p(7), p(8), p(10)]
    );
    let hand_ids: Vec<u64> = m.e.state().queue.iter().map(|h| h.id).collect();
    assert_eq!(hand_ids, [6, 9, 1, 2, 3, 4, 5, 7, 8, 10]);
    let langs: Vec<Lang> = m.e.state().queue.iter().map(|h| h.language).collect();
    use Lang::{Ar, En, Es, Fr};
    assert_eq!(langs, [En, En, Fr, Es, Ar, En, En, Ar, Es, Es]);

    // 17:19 — the moderator gives the floor to the queue, in order; each call ends the
    // speech before it (the first ends Ambassador Morejon's).
    let calls = [
        paris(17, 19, 0),
        paris(17, 20, 0),
        paris(17, 21, 30),
        paris(17, 24, 30),
        paris(17, 28, 0),
        paris(17, 31, 0),
        paris(17, 33, 30),
        paris(17, 36, 30),
        paris(17, 39, 30),
        paris(17, 42, 0),
    ];
    for (k, &t) in calls.iter().enumerate() {
        let first = m.e.state().queue[0].id;
        m.cmd(&sophie, Command::GiveFloorToHand { hand: None }, t);
        assert_eq!(m.e.state().speech.as_ref().unwrap().from_hand, Some(first));
        assert_eq!(m.e.state().queue.len(), 9 - k);
        if k == 8 {
            // María López's clock stops for 20 seconds while the Spanish booth reconnects.
            m.cmd(
                &Actor::Interpreter(Es),
                Command::NoInterpretation { language: Some(Es) },
                paris(17, 40, 0),
            );
            m.cmd(
                &sophie,
                Command::PauseClock {
                    target: ClockTarget::Speech,
                },
                paris(17, 40, 0),
            );
            m.cmd(
                &sophie,
                Command::ResumeClock {
                    target: ClockTarget::Speech,
                },
                paris(17, 40, 20),
            );
        }
    }
    m.cmd(&sophie, Command::EndSpeech, paris(17, 45, 0));
    assert!(m.e.state().queue.is_empty());
    assert_eq!(m.drift(paris(17, 30, 0)), 3 * M);
    m.cmd(&sophie, Command::NextSegment, paris(17, 56, 0));

    // 17:56 — closing remarks; the closing has no moderator, so the host runs it.
    assert_eq!(m.drift(paris(17, 56, 0)), M, "two minutes caught up");
    let r = rejected(
        &mut m.e,
        floor("sophie-van-haasen"),
        sophie.clone(),
        paris(17, 56, 5),
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    m.cmd(&host, floor("sophie-van-haasen"), paris(17, 56, 10));
    m.cmd(&host, Command::EndSpeech, paris(18, 0, 30));
    m.cmd(&host, Command::EndMeeting, paris(18, 1, 0));

    // The meeting is over, a minute late.
    let s = m.e.state();
    assert_eq!(s.phase, Phase::Ended);
    assert_eq!(s.started_at, Some(paris(16, 0, 0)));
    assert_eq!(s.ended_at, Some(paris(18, 1, 0)));
    assert_eq!(m.drift(paris(19, 0, 0)), M, "final drift");
    assert_eq!(
        m.overruns(paris(19, 0, 0)),
        [
            Some(0),
            Some(0),
            Some(0),
            Some(3 * M),
            Some(0),
            Some(-2 * M),
            Some(0)
        ]
    );
    let actual: Vec<(Option<i64>, Option<i64>)> = s
        .segments
        .iter()
        .map(|t| (t.started_at, t.ended_at))
        .collect();
    assert_eq!(
        actual,
        [
            (Some(paris(16, 0, 0)), Some(paris(16, 5, 0))),
            (Some(paris(16, 5, 0)), Some(paris(16, 10, 0))),
            (Some(paris(16, 10, 0)), Some(paris(16, 30, 0))),
            (Some(paris(16, 30, 0)), Some(paris(16, 53, 0))),
            (Some(paris(16, 53, 0)), Some(paris(17, 13, 0))),
            (Some(paris(17, 13, 0)), Some(paris(17, 56, 0))),
            (Some(paris(17, 56, 0)), Some(paris(18, 1, 0))),
        ]
    );

    // Every speech, exactly.
    let expected: [Expected; 21] = [
        (
            "sophie-van-haasen",
            INTRO,
            paris(16, 0, 20),
            paris(16, 4, 20),
            4 * M,
            En,
            false,
        ),
        (
            "antonio-vitorino",
            WELCOME,
            paris(16, 5, 10),
            paris(16, 9, 40),
            270 * S,
            En,
            true,
        ),
        (
            "carola-gunnarsson",
            ROUND_1,
            paris(16, 10, 30),
            paris(16, 16, 10),
            5 * M,
            En,
            false,
        ),
        (
            "alexandra-young",
            ROUND_1,
            paris(16, 16, 10),
            paris(16, 20, 40),
            270 * S,
            En,
            false,
        ),
        (
            "salvatore-martello",
            ROUND_2,
            paris(16, 30, 30),
            paris(16, 36, 30),
            6 * M,
            En,
            true,
        ),
        (
            "ahmed-skim",
            ROUND_2,
            paris(16, 36, 30),
            paris(16, 41, 0),
            270 * S,
            Fr,
            false,
        ),
        (
            "jeniffer-villarreal-de-hoyos",
            ROUND_3,
            paris(16, 53, 20),
            paris(16, 58, 20),
            5 * M,
            Es,
            false,
        ),
        (
            "felipe-munoz",
            ROUND_3,
            paris(16, 58, 20),
            paris(17, 3, 0),
            280 * S,
            Es,
            false,
        ),
        (
            "bettina-etter",
            OPEN,
            paris(17, 13, 20),
            paris(17, 16, 0),
            160 * S,
            En,
            false,
        ),
        (
            "diego-morejon",
            OPEN,
            paris(17, 16, 0),
            paris(17, 19, 0),
            3 * M,
            Es,
            false,
        ),
        (
            "Sara Nilsson",
            OPEN,
            paris(17, 19, 0),
            paris(17, 20, 0),
            M,
            En,
            false,
        ),
        (
            "Kwame Mensah",
            OPEN,
            paris(17, 20, 0),
            paris(17, 21, 30),
            90 * S,
            En,
            false,
        ),
        (
            "Amina Diallo",
            OPEN,
            paris(17, 21, 30),
            paris(17, 24, 30),
            3 * M,
            Fr,
            false,
        ),
        (
            "Lucas Ferreira",
            OPEN,
            paris(17, 24, 30),
            paris(17, 28, 0),
            210 * S,
            Es,
            true,
        ),
        (
            "Omar Haddad",
            OPEN,
            paris(17, 28, 0),
            paris(17, 31, 0),
            3 * M,
            Ar,
            false,
        ),
        (
            "Claire Dubois",
            OPEN,
            paris(17, 31, 0),
            paris(17, 33, 30),
            150 * S,
            En,
            false,
        ),
        (
            "Jan Berg",
            OPEN,
            paris(17, 33, 30),
            paris(17, 36, 30),
            3 * M,
            En,
            false,
        ),
        (
            "Youssef Alami",
            OPEN,
            paris(17, 36, 30),
            paris(17, 39, 30),
            3 * M,
            Ar,
            false,
        ),
        (
            "María López",
            OPEN,
            paris(17, 39, 30),
            paris(17, 42, 0),
            130 * S,
            Es,
            false,
        ),
        (
            "Ana Gómez",
            OPEN,
            paris(17, 42, 0),
            paris(17, 45, 0),
            3 * M,
            Es,
            false,
        ),
        (
            "sophie-van-haasen",
            CLOSING,
            paris(17, 56, 10),
            paris(18, 0, 30),
            260 * S,
            En,
            true,
        ),
    ];
    assert_eq!(s.history.len(), expected.len());
    for (rec, &(who, segment, start, end, spoken, language, over)) in
        s.history.iter().zip(&expected)
    {
        let name = rec.speaker.person.as_deref().unwrap_or(&rec.speaker.name);
        assert_eq!(name, who);
        let got = (
            rec.segment,
            rec.started_at,
            rec.ended_at,
            rec.spoken_ms,
            rec.speaker.language,
            rec.over_limit,
        );
        assert_eq!(got, (segment, start, end, spoken, language, over), "{who}");
        let limit = if segment == OPEN {
            3 * M
        } else if (ROUND_1..=ROUND_3).contains(&segment) {
            5 * M
        } else {
            4 * M
        };
        assert_eq!(rec.limit_ms, Some(limit), "{who}");
        assert_eq!(
            rec.speaker.participant.is_some(),
            rec.speaker.person.is_none(),
            "{who}"
        );
    }
    // The delegates spoke with their delegation on record.
    assert_eq!(
        s.history[16].speaker.delegation.as_deref(),
        Some("Government of Sweden")
    );
    assert_eq!(
        s.history[10].speaker.delegation.as_deref(),
        Some("Government of Sweden")
    );

    // The queue's history: every hand called, in queue order, with its wait.
    let waits: Vec<(&str, i64, HandOutcome, Option<usize>, bool)> = s
        .hand_history
        .iter()
        .map(|r| {
            (
                r.hand.name.as_str(),
                r.left_at - r.hand.raised_at,
                r.outcome,
                r.segment,
                r.hand.point_of_order,
            )
        })
        .collect();
    let called = HandOutcome::Called;
    assert_eq!(
        waits,
        [
            ("Sara Nilsson", 140 * S, called, Some(OPEN), true),
            ("Kwame Mensah", 105 * S, called, Some(OPEN), true),
            ("Amina Diallo", 450 * S, called, Some(OPEN), false),
            ("Lucas Ferreira", 610 * S, called, Some(OPEN), false),
            ("Omar Haddad", 780 * S, called, Some(OPEN), false),
            ("Claire Dubois", 930 * S, called, Some(OPEN), false),
            ("Jan Berg", 1040 * S, called, Some(OPEN), false),
            ("Youssef Alami", 1150 * S, called, Some(OPEN), false),
            ("María López", 1300 * S, called, Some(OPEN), false),
            ("Ana Gómez", 1400 * S, called, Some(OPEN), false),
        ]
    );
    for (r, &t) in s.hand_history.iter().zip(&calls) {
        assert_eq!(r.left_at, t);
    }

    // The host's alerts on record (signals to speakers ended with their speeches).
    assert_eq!(
        s.no_interpretation.as_ref().map(|x| (x.n, x.language)),
        Some((1, Some(Es)))
    );
    assert_eq!(
        s.speaker_done.as_ref().map(|x| (x.n, x.at)),
        Some((1, paris(16, 9, 40)))
    );

    // The journal rebuilds the meeting exactly, also after a trip through JSON.
    assert_eq!(m.e.seq(), m.journal.len() as u64);
    let json: Vec<String> = m
        .journal
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let decoded: Vec<Event> = json
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut replayed = fresh();
    replayed.replay(&decoded);
    assert_eq!(replayed.state(), m.e.state());
    assert_eq!(replayed.seq(), m.e.seq());
}
