//! The meeting report on the bundled GFMD meeting, played through the engine on simulated
//! time: the exact JSON (every figure can be checked by hand from the timeline below),
//! and a CSV that a spreadsheet — here the `csv` crate — reads back intact.
//!
//! Timeline (Europe/Paris, CET = UTC+1; T0 = 16:00 = 1611327600000):
//!
//! | time | what |
//! |---|---|
//! | 16:00:00 | host starts; intro; Sophie van Haasen speaks until 16:03:30 (limit 4m) |
//! | 16:05:00 | welcome; António Vitorino speaks until the next segment at 16:10 (5m > 4m) |
//! | 16:10:00 | round 1 (moderator Cécile Riallant); Carola Gunnarsson 16:11–16:16 (5m, limit 5m) |
//! | 16:16:00 | Alexandra Young; her clock paused 16:18–16:19; ends 16:21:30 → 4m30s spoken |
//! | 16:30:00 | round 2; the EN booth hands over; Salvatore Martello 16:30:30–16:38 (7m30s) |
//! | 16:38:00 | Ahmed Skim (fr) until 16:45 (7m); the host sets the floor to English at 16:41 |
//! | 16:42:00 | the AR booth asks him to slow down; 16:43 the ES booth corrects the floor to Spanish |
//! | 16:44:00 | the FR booth: "please repeat the figure"; Emilia Sáiz acknowledges at 16:44:30 |
//! | 16:53:00 | round 2 left 3 minutes late → overrun +180000; round 3 |
//! | 16:53:00 | Jeniffer Villarreal de Hoyos 16:53–16:58 (5m); Felipe Muñoz 16:58–17:02:30 (4m30s) |
//! | 17:13:00 | open conversation (limit 3m); Bettina Etter 17:13–17:16; Diego Morejon 17:16– |
//! | 17:14:00 | hand 1: ليلى بن علي (ar) |
//! | 17:15:00 | hand 2: Gaëlle Müller-Ñúñez (fr) |
//! | 17:16:30 | hand 3: John O'Neill (en) |
//! | 17:18:00 | hand 4: John O'Neill, point of order (goes first) |
//! | 17:19:30 | floor to the first hand = hand 4 (waited 1m30s); Diego spoke 3m30s |
//! | 17:20:30 | John ends; floor to hand 1 (waited 6m30s) until 17:23:30 |
//! | 17:21:00 | María José Pérez joins; hand 5 (es) |
//! | 17:22:00 | Gaëlle lowers hand 2 (7m) |
//! | 17:23:30 | floor to hand 3 (waited 7m) until 17:27:00 (3m30s, over) |
//! | 17:27:00 | floor to hand 5 (waited 6m) until 17:30:00 |
//! | 17:40:00 | hand 6: ليلى بن علي again; 17:41:00 hand 7: Gaëlle again; ES booth: no interpretation |
//! | 17:45:00 | floor to hand 6 (waited 5m) until 17:48:00 |
//! | 17:50:00 | hand 8: John; removed by the host at 17:51:00 |
//! | 17:58:00 | closing; Sophie van Haasen speaks until the end |
//! | 18:03:00 | host ends the meeting: 3 minutes late → drift +180000; hand 7 still up (22m) |
//!
//! The report is taken at 18:30, after the end.

use podium_protocol::{Agenda, BoothSignal, ClockTarget, Command, Lang};
use podium_server::engine::{Actor, Engine};
use podium_server::report::{Report, Stamp};
use serde_json::{json, Value};
use std::sync::Arc;

/// 2021-01-22 16:00 Europe/Paris.
const T0: i64 = 1_611_327_600_000;
const S: i64 = 1_000;
const M: i64 = 60_000;

const LEILA: &str = "ليلى بن علي";
const LEILA_DELEGATION: &str = "Ministry of Social Affairs, Tunisia";
const GAELLE: &str = "Gaëlle Müller-Ñúñez";
const GAELLE_DELEGATION: &str = "Canton of Geneva, \"Bureau de l'intégration des étrangers\"";
const JOHN: &str = "John O'Neill";
const JOHN_DELEGATION: &str = "Mayor's Office for Immigrant Affairs, \"NYC\", USA";
const MARIA: &str = "María José Pérez";
const MARIA_DELEGATION: &str = "Municipalidad de Lima";

fn engine() -> Engine {
    let agenda =
        Agenda::from_toml(podium_server::DEFAULT_AGENDA).expect("the bundled agenda is valid");
    Engine::new(Arc::new(agenda))
}

#[track_caller]
fn ok(e: &mut Engine, actor: &Actor, now: i64, command: Command) {
    if let Err(r) = e.apply(&command, actor, now) {
        panic!(
            "{command:?} by {actor:?} at T0+{}s was rejected: {r}",
            (now - T0) / S
        );
    }
}

fn floor(person: &str) -> Command {
    Command::GiveFloor {
        person: person.into(),
    }
}

fn raise(point_of_order: bool) -> Command {
    Command::RaiseHand {
        language: None,
        point_of_order,
    }
}

/// The seed meeting, played as in the module's timeline.
fn played() -> Engine {
    let mut e = engine();
    let host = Actor::Host;
    let h = &host;
    let t = |min: i64, sec: i64| T0 + min * M + sec * S;
    let (leila, _) = e.join(LEILA, LEILA_DELEGATION, Lang::Ar, false).unwrap();
    let (gaelle, _) = e.join(GAELLE, GAELLE_DELEGATION, Lang::Fr, false).unwrap();
    let (john, _) = e.join(JOHN, JOHN_DELEGATION, Lang::En, false).unwrap();
    let (leila, gaelle, john) = (
        Actor::Participant(leila),
        Actor::Participant(gaelle),
        Actor::Participant(john),
    );

    // Intro and welcome, on time.
    ok(&mut e, h, T0, Command::StartMeeting);
    ok(&mut e, h, T0, floor("sophie-van-haasen"));
    ok(&mut e, h, t(3, 30), Command::EndSpeech);
    ok(&mut e, h, t(5, 0), Command::NextSegment);
    ok(&mut e, h, t(5, 0), floor("antonio-vitorino"));
    // Round 1, with its own moderator; the next segment ends António's speech.
    ok(&mut e, h, t(10, 0), Command::NextSegment);
    let cecile = Actor::Moderator("cecile-riallant".into());
    ok(&mut e, &cecile, t(11, 0), floor("carola-gunnarsson"));
    ok(&mut e, &cecile, t(16, 0), floor("alexandra-young"));
    ok(
        &mut e,
        &cecile,
        t(18, 0),
        Command::PauseClock {
            target: ClockTarget::Speech,
        },
    );
    ok(
        &mut e,
        &cecile,
        t(19, 0),
        Command::ResumeClock {
            target: ClockTarget::Speech,
        },
    );
    ok(&mut e, &cecile, t(21, 30), Command::EndSpeech);
    // Round 2, three minutes over.
    ok(&mut e, &cecile, t(30, 0), Command::NextSegment);
    let (en_booth, fr_booth, es_booth, ar_booth) = (
        Actor::Interpreter(Lang::En),
        Actor::Interpreter(Lang::Fr),
        Actor::Interpreter(Lang::Es),
        Actor::Interpreter(Lang::Ar),
    );
    ok(&mut e, &en_booth, t(30, 0), Command::HandedOver);
    ok(&mut e, h, t(30, 30), floor("salvatore-martello"));
    ok(&mut e, h, t(38, 0), floor("ahmed-skim"));
    // He switches to English, then to Spanish (a booth sets that one).
    let lang = |language| Command::SetFloorLanguage { language };
    ok(&mut e, h, t(41, 0), lang(Lang::En));
    ok(
        &mut e,
        &ar_booth,
        t(42, 0),
        Command::SlowDown { language: None },
    );
    ok(&mut e, &es_booth, t(43, 0), lang(Lang::Es));
    ok(
        &mut e,
        &fr_booth,
        t(44, 0),
        Command::BoothAlert {
            signal: BoothSignal::RepeatFigure,
            text: Some("the 2019 figure".into()),
        },
    );
    let emilia = Actor::Moderator("emilia-saiz".into());
    ok(
        &mut e,
        &emilia,
        t(44, 30),
        Command::AcknowledgeAlert { alert: 1 },
    );
    ok(&mut e, h, t(45, 0), Command::EndSpeech);
    ok(&mut e, h, t(53, 0), Command::NextSegment);
    // Round 3, its planned 20 minutes.
    ok(&mut e, h, t(53, 0), floor("jeniffer-villarreal-de-hoyos"));
    ok(&mut e, h, t(58, 0), floor("felipe-munoz"));
    ok(&mut e, h, t(62, 30), Command::EndSpeech);
    // Open conversation: the two reactions, then the floor.
    ok(&mut e, h, t(73, 0), Command::NextSegment);
    ok(&mut e, h, t(73, 0), floor("bettina-etter"));
    ok(&mut e, &leila, t(74, 0), raise(false));
    ok(&mut e, &gaelle, t(75, 0), raise(false));
    ok(&mut e, h, t(76, 0), floor("diego-morejon"));
    ok(&mut e, &john, t(76, 30), raise(false));
    ok(&mut e, &john, t(78, 0), raise(true));
    ok(
        &mut e,
        h,
        t(79, 30),
        Command::GiveFloorToHand { hand: None },
    );
    ok(&mut e, h, t(80, 30), Command::EndSpeech);
    ok(
        &mut e,
        h,
        t(80, 30),
        Command::GiveFloorToHand { hand: None },
    );
    let (maria, _) = e.join(MARIA, MARIA_DELEGATION, Lang::Es, false).unwrap();
    let maria = Actor::Participant(maria);
    ok(&mut e, &maria, t(81, 0), raise(false));
    ok(
        &mut e,
        &gaelle,
        t(82, 0),
        Command::LowerHand {
            point_of_order: false,
        },
    );
    ok(
        &mut e,
        h,
        t(83, 30),
        Command::GiveFloorToHand { hand: None },
    );
    ok(&mut e, h, t(87, 0), Command::GiveFloorToHand { hand: None });
    ok(&mut e, h, t(90, 0), Command::EndSpeech);
    ok(&mut e, &leila, t(100, 0), raise(false));
    ok(
        &mut e,
        &es_booth,
        t(100, 0),
        Command::NoInterpretation { language: None },
    );
    ok(&mut e, &gaelle, t(101, 0), raise(false));
    ok(
        &mut e,
        h,
        t(105, 0),
        Command::GiveFloorToHand { hand: Some(6) },
    );
    ok(&mut e, h, t(108, 0), Command::EndSpeech);
    ok(&mut e, &john, t(110, 0), raise(false));
    ok(&mut e, h, t(111, 0), Command::RemoveHand { hand: 8 });
    // Closing, and the end at 18:03.
    ok(&mut e, h, t(118, 0), Command::NextSegment);
    ok(&mut e, h, t(118, 0), floor("sophie-van-haasen"));
    ok(&mut e, h, t(123, 0), Command::EndMeeting);
    e
}

/// The report is taken at 18:30.
const AS_OF: i64 = T0 + 150 * M;

/// A time as the report writes it: Unix ms and local ISO-8601.
fn at(unix_ms: i64, local: &str) -> Value {
    json!({ "unix_ms": unix_ms, "local": local })
}

/// A time on the meeting's day, "HH:MM:SS" in Paris (CET): both forms from one literal.
fn cet(hms: &str) -> Value {
    let parts: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let ms = T0 + (parts[0] - 16) * 60 * M + parts[1] * M + parts[2] * S;
    at(ms, &format!("2021-01-22T{hms}+01:00"))
}

fn segment(
    id: &str,
    title: &str,
    kind: &str,
    planned: (&str, &str),
    actual: (&str, &str),
    planned_ms: i64,
    actual_ms: i64,
) -> Value {
    json!({
        "id": id, "title": title, "kind": kind, "status": "done",
        "planned_start": cet(planned.0), "planned_end": cet(planned.1), "planned_ms": planned_ms,
        "actual_start": cet(actual.0), "actual_end": cet(actual.1), "actual_ms": actual_ms,
        "overrun_ms": actual_ms - planned_ms,
    })
}

#[allow(clippy::too_many_arguments)]
fn named(
    segment: &str,
    name: &str,
    person: &str,
    delegation: &str,
    language: &str,
    from: &str,
    to: &str,
    spoken_ms: i64,
    limit_ms: i64,
) -> Value {
    json!({
        "segment": segment, "name": name, "person": person, "participant": null,
        "delegation": delegation, "language": language,
        "languages": [{ "language": language, "spoken_ms": spoken_ms }],
        "started_at": cet(from), "ended_at": cet(to),
        "spoken_ms": spoken_ms, "limit_ms": limit_ms, "over_limit": spoken_ms > limit_ms,
    })
}

fn from_queue(
    participant: u64,
    name: &str,
    delegation: &str,
    language: &str,
    from: &str,
    to: &str,
    spoken_ms: i64,
) -> Value {
    json!({
        "segment": "open-conversation", "name": name, "person": null, "participant": participant,
        "delegation": delegation, "language": language,
        "languages": [{ "language": language, "spoken_ms": spoken_ms }],
        "started_at": cet(from), "ended_at": cet(to),
        "spoken_ms": spoken_ms, "limit_ms": 180_000, "over_limit": spoken_ms > 180_000,
    })
}

#[allow(clippy::too_many_arguments)]
fn hand(
    id: u64,
    participant: u64,
    name: &str,
    delegation: &str,
    language: &str,
    point_of_order: bool,
    raised: &str,
    left: Option<&str>,
    outcome: &str,
    wait_ms: i64,
) -> Value {
    json!({
        "id": id, "participant": participant, "name": name, "delegation": delegation,
        "language": language, "point_of_order": point_of_order, "segment": "open-conversation",
        "raised_at": cet(raised), "left_at": left.map(cet), "outcome": outcome, "wait_ms": wait_ms,
    })
}

fn expected() -> Value {
    const IOM: &str = "International Organization for Migration (IOM)";
    const IRCC: &str = "Immigration, Refugees and Citizenship Canada (IRCC), Government of Canada";
    const MOROCCO: &str = "Ministry Delegate to the Minister of Foreign Affairs, African Cooperation and Moroccans Residing Abroad, in charge of Moroccans Residing Abroad";
    // Began in French (3 min), then English (2 min), then Spanish (2 min).
    let mut ahmed = named(
        "round-2",
        "Ahmed Skim",
        "ahmed-skim",
        MOROCCO,
        "fr",
        "16:38:00",
        "16:45:00",
        420_000,
        300_000,
    );
    ahmed["languages"] = json!([
        { "language": "fr", "spoken_ms": 180_000 },
        { "language": "en", "spoken_ms": 120_000 },
        { "language": "es", "spoken_ms": 120_000 },
    ]);
    json!({
        "meeting": {
            "id": "gfmd-mayors-2021-01-22",
            "title": "Enabling local solutions for an inclusive COVID-19 response and recovery",
            "time_zone": "Europe/Paris",
            "phase": "ended",
            "as_of": cet("18:30:00"),
            "planned_start": at(1_611_327_600_000, "2021-01-22T16:00:00+01:00"),
            "planned_end": at(1_611_334_800_000, "2021-01-22T18:00:00+01:00"),
            "planned_ms": 7_200_000,
            "actual_start": at(1_611_327_600_000, "2021-01-22T16:00:00+01:00"),
            "actual_end": at(1_611_334_980_000, "2021-01-22T18:03:00+01:00"),
            "actual_ms": 7_380_000,
            "drift_ms": 180_000,
            // Run on its agenda's day: the plan is not moved.
            "plan_shift_ms": 0,
        },
        "segments": [
            segment("intro", "Brief introduction and session mechanics", "intro",
                ("16:00:00", "16:05:00"), ("16:00:00", "16:05:00"), 300_000, 300_000),
            segment("welcome", "Welcome words", "welcome",
                ("16:05:00", "16:10:00"), ("16:05:00", "16:10:00"), 300_000, 300_000),
            segment("round-1", "Round 1 — How can local–national coordination enable an inclusive response and recovery?", "round",
                ("16:10:00", "16:30:00"), ("16:10:00", "16:30:00"), 1_200_000, 1_200_000),
            segment("round-2", "Round 2 — How can national–local legal frameworks enable an inclusive response and recovery?", "round",
                ("16:30:00", "16:50:00"), ("16:30:00", "16:53:00"), 1_200_000, 1_380_000),
            segment("round-3", "Round 3 — How can municipal access to international financing enable an inclusive response and recovery?", "round",
                ("16:50:00", "17:10:00"), ("16:53:00", "17:13:00"), 1_200_000, 1_200_000),
            segment("open-conversation", "Open conversation", "open_floor",
                ("17:10:00", "17:55:00"), ("17:13:00", "17:58:00"), 2_700_000, 2_700_000),
            segment("closing", "Closing remarks", "closing",
                ("17:55:00", "18:00:00"), ("17:58:00", "18:03:00"), 300_000, 300_000),
        ],
        "speeches": [
            named("intro", "Sophie van Haasen", "sophie-van-haasen", "GFMD Mayors Mechanism", "en", "16:00:00", "16:03:30", 210_000, 240_000),
            named("welcome", "António Vitorino", "antonio-vitorino", IOM, "en", "16:05:00", "16:10:00", 300_000, 240_000),
            named("round-1", "Carola Gunnarsson", "carola-gunnarsson", "Municipality of Sala", "en", "16:11:00", "16:16:00", 300_000, 300_000),
            // 5m30s on the floor, 1 minute of it paused.
            named("round-1", "Alexandra Young", "alexandra-young", IRCC, "en", "16:16:00", "16:21:30", 270_000, 300_000),
            named("round-2", "Salvatore Martello", "salvatore-martello", "Municipality of Lampedusa and Linosa", "en", "16:30:30", "16:38:00", 450_000, 300_000),
            ahmed,
            named("round-3", "Jeniffer Villarreal de Hoyos", "jeniffer-villarreal-de-hoyos", "District of Barranquilla", "es", "16:53:00", "16:58:00", 300_000, 300_000),
            named("round-3", "Felipe Muñoz", "felipe-munoz", "Inter-American Development Bank (IDB)", "es", "16:58:00", "17:02:30", 270_000, 300_000),
            named("open-conversation", "Bettina Etter", "bettina-etter", "Swiss Agency for Development and Cooperation (SDC), Federal Department of Foreign Affairs", "en", "17:13:00", "17:16:00", 180_000, 180_000),
            named("open-conversation", "Diego Morejon", "diego-morejon", "Ministry of Foreign Affairs and Human Mobility", "es", "17:16:00", "17:19:30", 210_000, 180_000),
            from_queue(3, JOHN, JOHN_DELEGATION, "en", "17:19:30", "17:20:30", 60_000),
            from_queue(1, LEILA, LEILA_DELEGATION, "ar", "17:20:30", "17:23:30", 180_000),
            from_queue(3, JOHN, JOHN_DELEGATION, "en", "17:23:30", "17:27:00", 210_000),
            from_queue(4, MARIA, MARIA_DELEGATION, "es", "17:27:00", "17:30:00", 180_000),
            from_queue(1, LEILA, LEILA_DELEGATION, "ar", "17:45:00", "17:48:00", 180_000),
            named("closing", "Sophie van Haasen", "sophie-van-haasen", "GFMD Mayors Mechanism", "en", "17:58:00", "18:03:00", 300_000, 240_000),
        ],
        "speaking": {
            // 210+300+300+270+450+420+300+270+180+210+60+180+210+180+180+300 = 4020 s.
            "speeches": 16,
            "spoken_ms": 4_020_000,
            // António, Salvatore, Ahmed, Diego, John's second, Sophie's closing.
            "over_limit": 6,
            // Speeches by the language they began in; time by the language spoken.
            "by_language": {
                "ar": { "speeches": 2, "spoken_ms": 360_000 },
                // 210+300+300+270+450+180+60+210+300 = 2280 s, and Ahmed's 120 s.
                "en": { "speeches": 9, "spoken_ms": 2_400_000 },
                // 300+270+210+180 = 960 s, and Ahmed's 120 s.
                "es": { "speeches": 4, "spoken_ms": 1_080_000 },
                "fr": { "speeches": 1, "spoken_ms": 180_000 },
            },
        },
        "queue": {
            "hands_raised": 8,
            "points_of_order": 1,
            "by_language": { "ar": 2, "en": 3, "es": 1, "fr": 2 },
            "called": 5,
            "lowered": 1,
            "removed": 1,
            "cleared": 0,
            "waiting": 1,
            "never_called": 3,
            // Called waits, sorted: 90, 300, 360, 390, 420 s.
            "median_wait_ms": 360_000,
            "max_wait_ms": 420_000,
        },
        "hands": [
            hand(1, 1, LEILA, LEILA_DELEGATION, "ar", false, "17:14:00", Some("17:20:30"), "called", 390_000),
            hand(2, 2, GAELLE, GAELLE_DELEGATION, "fr", false, "17:15:00", Some("17:22:00"), "lowered", 420_000),
            hand(3, 3, JOHN, JOHN_DELEGATION, "en", false, "17:16:30", Some("17:23:30"), "called", 420_000),
            hand(4, 3, JOHN, JOHN_DELEGATION, "en", true, "17:18:00", Some("17:19:30"), "called", 90_000),
            hand(5, 4, MARIA, MARIA_DELEGATION, "es", false, "17:21:00", Some("17:27:00"), "called", 360_000),
            hand(6, 1, LEILA, LEILA_DELEGATION, "ar", false, "17:40:00", Some("17:45:00"), "called", 300_000),
            // Still up at the end (18:03), not at the report's 18:30: 22 minutes.
            hand(7, 2, GAELLE, GAELLE_DELEGATION, "fr", false, "17:41:00", None, "waiting", 1_320_000),
            hand(8, 3, JOHN, JOHN_DELEGATION, "en", false, "17:50:00", Some("17:51:00"), "removed", 60_000),
        ],
        "edits": [],
        "interpretation": {
            "floor_ms": { "ar": 360_000, "en": 2_400_000, "es": 1_080_000, "fr": 180_000 },
            "switched": [{
                "n": 6, "segment": "round-2", "name": "Ahmed Skim",
                "parts": [
                    { "language": "fr", "from": cet("16:38:00"), "spoken_ms": 180_000 },
                    { "language": "en", "from": cet("16:41:00"), "spoken_ms": 120_000 },
                    { "language": "es", "from": cet("16:43:00"), "spoken_ms": 120_000 },
                ],
            }],
            "booths": [
                booth("en", 0, 0, 0, 0, 1, 0),
                booth("fr", 0, 0, 1, 1, 0, 0),
                booth("es", 0, 1, 1, 0, 0, 1),
                booth("ar", 1, 0, 0, 0, 0, 0),
            ],
            "incidents": [
                incident("handover", "en", "16:30:00", None, None, None),
                incident("slow_down", "ar", "16:42:00", Some("en"), None, None),
                incident("floor_corrected", "es", "16:43:00", Some("es"), Some("es"), None),
                incident("repeat_figure", "fr", "16:44:00", Some("es"), Some("the 2019 figure"), Some("16:44:30")),
                incident("no_interpretation", "es", "17:40:00", None, None, None),
            ],
        },
    })
}

/// One booth's figures in the interpretation section.
fn booth(
    booth: &str,
    slow_downs: u64,
    no_interpretation: u64,
    alerts: u64,
    acknowledged: u64,
    handovers: u64,
    floor_corrections: u64,
) -> Value {
    json!({
        "booth": booth, "slow_downs": slow_downs, "no_interpretation": no_interpretation,
        "alerts": alerts, "acknowledged": acknowledged, "handovers": handovers,
        "floor_corrections": floor_corrections,
    })
}

/// One booth incident.
fn incident(
    kind: &str,
    booth: &str,
    at: &str,
    floor: Option<&str>,
    text: Option<&str>,
    acknowledged: Option<&str>,
) -> Value {
    json!({
        "kind": kind, "booth": booth, "at": cet(at), "floor": floor, "text": text,
        "acknowledged_at": acknowledged.map(cet),
    })
}

/// Points at the first difference between two JSON values, for a readable failure.
fn first_difference(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for k in g.keys().chain(w.keys()) {
                let (a, b) = (
                    g.get(k).unwrap_or(&Value::Null),
                    w.get(k).unwrap_or(&Value::Null),
                );
                if g.contains_key(k) != w.contains_key(k) {
                    return Some(format!(
                        "{path}.{k}: present in one only: got {a}, want {b}"
                    ));
                }
                if let Some(d) = first_difference(&format!("{path}.{k}"), a, b) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(g), Value::Array(w)) => {
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), a, b) {
                    return Some(d);
                }
            }
            (g.len() != w.len()).then(|| format!("{path}: {} items, want {}", g.len(), w.len()))
        }
        _ => (got != want).then(|| format!("{path}: got {got}, want {want}")),
    }
}

#[test]
fn report_of_the_seed_meeting_is_exactly_as_expected() {
    let report = Report::build(&played(), AS_OF);
    let got: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    if let Some(d) = first_difference("report", &got, &expected()) {
        panic!("the report differs from the expected one at {d}");
    }
    assert_eq!(got, expected());
}

#[test]
fn report_json_reads_back_into_the_same_report() {
    let report = Report::build(&played(), AS_OF);
    let text = report.to_json().unwrap();
    assert!(text.contains("\n  \"meeting\": {"), "pretty-printed");
    assert!(text.contains(LEILA), "Arabic kept as text, not escaped");
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let body = text
        .strip_prefix('\u{feff}')
        .expect("the CSV starts with a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("RFC 4180 CSV");
    (headers, rows)
}

#[test]
fn report_csv_reads_back_as_one_sheet_with_names_intact() {
    let report = Report::build(&played(), AS_OF);
    let text = report.to_csv().unwrap();
    assert!(text.starts_with("\u{feff}record,meeting,n,segment_id,"));
    assert!(text.contains("\r\n"), "CRLF line ends");
    // RFC 4180: a field with a comma or quote is quoted, quotes doubled.
    assert!(text.contains("\"Canton of Geneva, \"\"Bureau de l'intégration des étrangers\"\"\""));

    let (headers, rows) = parse_csv(&text);
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(headers.len(), 31);
    assert!(
        rows.iter().all(|r| r.len() == headers.len()),
        "every row has every column"
    );
    let of = |kind: &str| {
        rows.iter()
            .filter(|r| &r[col("record")] == kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("meeting").len(), 1);
    assert_eq!(of("segment").len(), report.segments.len());
    assert_eq!(of("segment").len(), 7);
    assert_eq!(of("speech").len(), 16);
    assert_eq!(of("hand").len(), 8);
    // The plan's shift + 3 speaking totals + 2×4 per language + 2 hand totals + 4 per
    // language + 6 outcomes + median and max; then the interpretation figures: 4 floor
    // languages, the switch count, 6 per booth.
    assert_eq!(of("summary").len(), 1 + 25 + 4 + 1 + 6 * 4);
    // Ahmed Skim's 3 stretches in 3 languages; 5 booth incidents.
    assert_eq!(of("speech_language").len(), 3);
    assert_eq!(of("incident").len(), 5);
    assert_eq!(rows.len(), 1 + 7 + 16 + 8 + 55 + 3 + 5);
    assert!(rows
        .iter()
        .all(|r| &r[col("meeting")] == "gfmd-mayors-2021-01-22"));

    // The meeting row: planned versus actual, in local time.
    let m = of("meeting")[0];
    assert_eq!(&m[col("status")], "ended");
    assert_eq!(&m[col("planned_end")], "2021-01-22T18:00:00+01:00");
    assert_eq!(&m[col("end")], "2021-01-22T18:03:00+01:00");
    assert_eq!(&m[col("drift_ms")], "180000");

    // Round 2 ran 3 minutes over.
    let r2 = of("segment")
        .into_iter()
        .find(|r| &r[col("segment_id")] == "round-2")
        .unwrap();
    assert_eq!(&r2[col("n")], "4");
    assert_eq!(&r2[col("title")], "Round 2 — How can national–local legal frameworks enable an inclusive response and recovery?");
    assert_eq!(&r2[col("start")], "2021-01-22T16:30:00+01:00");
    assert_eq!(&r2[col("end")], "2021-01-22T16:53:00+01:00");
    assert_eq!(&r2[col("duration_ms")], "1380000");
    assert_eq!(&r2[col("overrun_ms")], "180000");

    // Every speech and hand row matches the JSON report, names and delegations intact.
    for (row, s) in of("speech").into_iter().zip(&report.speeches) {
        assert_eq!(&row[col("name")], s.name);
        assert_eq!(
            &row[col("delegation")],
            s.delegation.as_deref().unwrap_or("")
        );
        assert_eq!(&row[col("language")], s.language.code());
        assert_eq!(&row[col("start")], s.started_at.local);
        assert_eq!(row[col("duration_ms")].parse::<i64>().unwrap(), s.spoken_ms);
    }
    for (row, h) in of("hand").into_iter().zip(&report.hands) {
        assert_eq!(row[col("n")].parse::<u64>().unwrap(), h.id);
        assert_eq!(&row[col("name")], h.name);
        assert_eq!(&row[col("delegation")], h.delegation);
        assert_eq!(row[col("duration_ms")].parse::<i64>().unwrap(), h.wait_ms);
    }
    let leila = of("speech")
        .into_iter()
        .find(|r| &r[col("language")] == "ar")
        .unwrap();
    assert_eq!(&leila[col("name")], "ليلى بن علي");
    assert_eq!(
        &leila[col("delegation")],
        "Ministry of Social Affairs, Tunisia"
    );
    assert_eq!(&leila[col("participant_id")], "1");
    assert_eq!(&leila[col("start")], "2021-01-22T17:20:30+01:00");
    let gaelle = of("hand")
        .into_iter()
        .find(|r| &r[col("n")] == "7")
        .unwrap();
    assert_eq!(&gaelle[col("name")], "Gaëlle Müller-Ñúñez");
    assert_eq!(
        &gaelle[col("delegation")],
        "Canton of Geneva, \"Bureau de l'intégration des étrangers\""
    );
    assert_eq!(&gaelle[col("status")], "waiting");
    assert_eq!(&gaelle[col("end")], "");
    let poo = of("hand")
        .into_iter()
        .find(|r| &r[col("point_of_order")] == "true")
        .unwrap();
    assert_eq!(&poo[col("name")], "John O'Neill");
    assert_eq!(
        &poo[col("delegation")],
        "Mayor's Office for Immigrant Affairs, \"NYC\", USA"
    );

    // Summary figures.
    let metric = |name: &str, lang: &str| {
        of("summary")
            .into_iter()
            .find(|r| &r[col("metric")] == name && &r[col("language")] == lang)
            .map(|r| r[col("value")].to_string())
            .unwrap_or_else(|| panic!("no summary {name} {lang}"))
    };
    assert_eq!(metric("hands_raised", ""), "8");
    assert_eq!(metric("hands_by_language", "ar"), "2");
    assert_eq!(metric("spoken_ms_by_language", "fr"), "180000");
    assert_eq!(metric("median_wait_ms", ""), "360000");
    assert_eq!(metric("hands_never_called", ""), "3");

    // The interpretation section: Ahmed Skim's three stretches, the booth incidents.
    let parts: Vec<(String, String, String)> = of("speech_language")
        .into_iter()
        .map(|r| {
            (
                r[col("n")].to_string(),
                r[col("language")].to_string(),
                r[col("duration_ms")].to_string(),
            )
        })
        .collect();
    let want = |n: &str, l: &str, d: &str| (n.to_string(), l.to_string(), d.to_string());
    assert_eq!(
        parts,
        [
            want("6", "fr", "180000"),
            want("6", "en", "120000"),
            want("6", "es", "120000")
        ]
    );
    let incidents = of("incident");
    let kinds: Vec<(&str, &str, &str)> = incidents
        .iter()
        .map(|r| (&r[col("kind")], &r[col("language")], &r[col("status")]))
        .collect();
    assert_eq!(
        kinds,
        [
            ("handover", "en", ""),
            ("slow_down", "ar", ""),
            ("floor_corrected", "es", ""),
            ("repeat_figure", "fr", "acknowledged"),
            ("no_interpretation", "es", "open"),
        ]
    );
    let figure = &incidents[3];
    assert_eq!(&figure[col("text")], "the 2019 figure");
    assert_eq!(&figure[col("floor_language")], "es");
    assert_eq!(&figure[col("start")], "2021-01-22T16:44:00+01:00");
    assert_eq!(&figure[col("end")], "2021-01-22T16:44:30+01:00");
    assert_eq!(metric("floor_ms_by_language", "en"), "2400000");
    assert_eq!(metric("speeches_with_switch", ""), "1");
    assert_eq!(metric("slow_downs_by_booth", "ar"), "1");
    assert_eq!(metric("no_interpretation_by_booth", "es"), "1");
    assert_eq!(metric("booth_alerts_acknowledged_by_booth", "fr"), "1");
    assert_eq!(metric("handovers_by_booth", "en"), "1");
}

#[test]
fn report_during_the_meeting_counts_up_to_now() {
    // Stop in round 1 while Carola speaks, with a hand up.
    let mut e = engine();
    let (p, _) = e.join(LEILA, LEILA_DELEGATION, Lang::Ar, false).unwrap();
    ok(&mut e, &Actor::Host, T0 + 2 * M, Command::StartMeeting);
    ok(&mut e, &Actor::Host, T0 + 12 * M, Command::NextSegment);
    ok(&mut e, &Actor::Host, T0 + 17 * M, Command::NextSegment);
    ok(
        &mut e,
        &Actor::Host,
        T0 + 18 * M,
        floor("carola-gunnarsson"),
    );
    ok(&mut e, &Actor::Participant(p), T0 + 19 * M, raise(false));
    let now = T0 + 24 * M;
    let r = Report::build(&e, now);

    assert_eq!(r.meeting.phase, podium_protocol::Phase::Running);
    assert_eq!(r.meeting.actual_end, None);
    assert_eq!(r.meeting.actual_ms, Some(22 * M));
    // Round 1 entered at 16:17, planned to end at 16:30: projected end 16:37 → 7 min late.
    assert_eq!(r.meeting.drift_ms, 7 * M);
    let r1 = &r.segments[2];
    assert_eq!(r1.status, podium_server::report::SegmentStatus::Current);
    assert_eq!(
        r1.actual_start,
        Some(Stamp::new(T0 + 17 * M, chrono_tz::Europe::Paris))
    );
    assert_eq!(r1.actual_end, None);
    assert_eq!(r1.actual_ms, 7 * M);
    assert_eq!(r1.overrun_ms, Some(7 * M - 20 * M));
    assert_eq!(r.segments[1].overrun_ms, Some(0));
    assert_eq!(r.segments[0].overrun_ms, Some(10 * M - 5 * M));
    assert_eq!(
        r.segments[3].status,
        podium_server::report::SegmentStatus::NotStarted
    );
    assert_eq!(r.segments[3].overrun_ms, None);
    assert_eq!(r.segments[3].actual_ms, 0);

    // Carola has spoken 6 minutes so far, past her 5.
    let s = r.speeches.last().unwrap();
    assert_eq!(s.name, "Carola Gunnarsson");
    assert_eq!(s.ended_at, None);
    assert_eq!(s.spoken_ms, 6 * M);
    assert!(s.over_limit);

    // The hand has waited 5 minutes so far, in round 1.
    assert_eq!(r.hands.len(), 1);
    assert_eq!(r.hands[0].segment.as_deref(), Some("round-1"));
    assert_eq!(r.hands[0].wait_ms, 5 * M);
    assert_eq!(r.queue.waiting, 1);
    assert_eq!(r.queue.median_wait_ms, None);

    let (_, rows) = parse_csv(&r.to_csv().unwrap());
    assert_eq!(
        rows.iter()
            .filter(|r| &r[0] == "speech" && &r[6] == "speaking")
            .count(),
        1
    );
}

#[test]
fn report_before_the_start_is_all_plan() {
    let e = engine();
    let r = Report::build(&e, T0 - 30 * M);
    assert_eq!(r.meeting.phase, podium_protocol::Phase::NotStarted);
    assert_eq!(r.meeting.actual_start, None);
    assert_eq!(r.meeting.drift_ms, 0);
    assert_eq!(r.meeting.planned_ms, 2 * 60 * M);
    assert!(r.speeches.is_empty() && r.hands.is_empty());
    assert_eq!(r.queue.hands_raised, 0);
    assert_eq!(
        r.queue.by_language.len(),
        4,
        "every meeting language, even at zero"
    );
    assert_eq!(r.speaking.by_language[&Lang::Ar].speeches, 0);
    let (_, rows) = parse_csv(&r.to_csv().unwrap());
    // Meeting, segments, summary (the plan's shift first); the interpretation summary:
    // 4 floor languages, the switch count, 6 figures for each of the 4 booths.
    assert_eq!(rows.len(), 1 + 7 + 1 + 25 + 4 + 1 + 6 * 4);
}

#[test]
fn report_csv_defuses_formulas_typed_by_participants() {
    let mut e = engine();
    let (p, _) = e
        .join("=HYPERLINK(\"http://x\")", "+1 delegation", Lang::En, false)
        .unwrap();
    ok(&mut e, &Actor::Host, T0, Command::StartMeeting);
    ok(&mut e, &Actor::Participant(p), T0 + M, raise(false));
    let r = Report::build(&e, T0 + 2 * M);
    assert_eq!(
        r.hands[0].name, "=HYPERLINK(\"http://x\")",
        "the JSON keeps it as typed"
    );
    let (headers, rows) = parse_csv(&r.to_csv().unwrap());
    let hand = rows.iter().find(|r| &r[0] == "hand").unwrap();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&hand[col("name")], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&hand[col("delegation")], "'+1 delegation");
}

#[tokio::test]
async fn report_export_refuses_an_unknown_format() {
    let dir = std::env::temp_dir().join(format!("podium-report-test-{}", std::process::id()));
    let err = podium_server::report::export(&dir, "x", "xlsx")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"xlsx\""), "{err}");
}

#[test]
fn report_hands_belong_to_the_segment_they_were_raised_in() {
    let mut e = engine();
    let (early, _) = e.join(MARIA, MARIA_DELEGATION, Lang::Es, false).unwrap();
    let (late, _) = e.join(GAELLE, GAELLE_DELEGATION, Lang::Fr, false).unwrap();
    ok(&mut e, &Actor::Participant(early), T0 - M, raise(false));
    ok(&mut e, &Actor::Host, T0, Command::StartMeeting);
    ok(&mut e, &Actor::Participant(late), T0 + M, raise(false));
    ok(&mut e, &Actor::Host, T0 + 5 * M, Command::NextSegment);
    // Both called in the welcome segment.
    ok(
        &mut e,
        &Actor::Host,
        T0 + 6 * M,
        Command::GiveFloorToHand { hand: Some(2) },
    );
    ok(
        &mut e,
        &Actor::Host,
        T0 + 7 * M,
        Command::GiveFloorToHand { hand: Some(1) },
    );
    let r = Report::build(&e, T0 + 8 * M);
    assert_eq!(
        r.hands[0].segment.as_deref(),
        Some("welcome"),
        "raised before the start"
    );
    assert_eq!(r.hands[0].wait_ms, 8 * M);
    assert_eq!(
        r.hands[1].segment.as_deref(),
        Some("intro"),
        "raised in the intro"
    );
    assert_eq!(r.hands[1].wait_ms, 5 * M);
    // Even count of called hands: the mean of the middle two.
    assert_eq!(r.queue.median_wait_ms, Some(13 * M / 2));
    assert_eq!(r.queue.max_wait_ms, Some(8 * M));
}
