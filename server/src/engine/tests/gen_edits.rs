//! Random agenda edits for the property tests: operations on the seed agenda's segments
//! and people and on a few new ones, valid and invalid (unknown ids, places out of range,
//! languages the meeting does not have, zero durations, history).

use podium_protocol::{
    AgendaOp, Command, Lang, Person, PersonPatch, Secs, Segment, SegmentKind, SegmentPatch,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Segment ids: the seed's, new ones the edits may insert, and one that never exists.
const SEGMENT_IDS: &[&str] = &[
    "intro",
    "welcome",
    "round-1",
    "round-2",
    "round-3",
    "open-conversation",
    "closing",
    "aob",
    "late-round",
    "nowhere",
];

/// Person names: the seed's (their slugs are their ids) and new ones.
const PERSON_NAMES: &[&str] = &[
    "Carola Gunnarsson",
    "Ahmed Skim",
    "Felipe Muñoz",
    "Diego Morejon",
    "Cécile Riallant",
    "Nadia Rahman",
    "Tomás Ortega",
];

/// Person ids to update, remove or move: slugs of [`PERSON_NAMES`] and one stranger.
const PERSON_IDS: &[&str] = &[
    "carola-gunnarsson",
    "ahmed-skim",
    "felipe-munoz",
    "diego-morejon",
    "nadia-rahman",
    "tomas-ortega",
    "nobody",
];

/// (segment, person) pairs that exist in the seed agenda, or after an `add_speaker` of
/// [`PERSON_NAMES`] — so that speaker operations often name a real speaker.
const SPEAKER_OF: &[(&str, &str)] = &[
    ("intro", "sophie-van-haasen"),
    ("welcome", "antonio-vitorino"),
    ("round-1", "carola-gunnarsson"),
    ("round-1", "alexandra-young"),
    ("round-2", "ahmed-skim"),
    ("round-2", "salvatore-martello"),
    ("round-3", "felipe-munoz"),
    ("open-conversation", "diego-morejon"),
    ("open-conversation", "bettina-etter"),
    ("closing", "nadia-rahman"),
    ("aob", "tomas-ortega"),
];

fn lang() -> impl Strategy<Value = Lang> {
    // Mostly the meeting's languages; sometimes one it does not interpret.
    prop_oneof![
        6 => select(vec![Lang::En, Lang::Fr, Lang::Es, Lang::Ar]),
        1 => select(vec![Lang::De, Lang::Zh]),
    ]
}

fn secs() -> impl Strategy<Value = Secs> {
    prop_oneof![
        6 => (1i64..=40).prop_map(|m| Secs(m * 60)),
        1 => Just(Secs(0)),
        1 => Just(Secs(-60)),
        1 => (1i64..=90).prop_map(Secs),
    ]
}

fn person() -> impl Strategy<Value = Person> {
    (select(PERSON_NAMES), lang()).prop_map(|(name, language)| Person {
        id: None,
        name: name.to_string(),
        title: None,
        affiliation: Some("Somewhere".into()),
        country: None,
        language,
        text_url: None,
    })
}

fn segment() -> impl Strategy<Value = Segment> {
    (
        select(SEGMENT_IDS),
        select(vec![
            SegmentKind::Round,
            SegmentKind::OpenFloor,
            SegmentKind::Break,
        ]),
        secs(),
        proptest::collection::vec(person(), 0..3),
        proptest::option::weighted(0.3, person()),
    )
        .prop_map(|(id, kind, duration, speakers, moderator)| Segment {
            id: id.to_string(),
            kind,
            title: format!("Inserted {id}"),
            title_original: None,
            question: None,
            question_original: None,
            duration,
            speech_limit: None,
            moderator,
            speakers,
            reactions: Vec::new(),
            warning: None,
            danger: None,
        })
}

fn segment_patch() -> impl Strategy<Value = SegmentPatch> {
    (
        proptest::option::weighted(0.5, secs()),
        proptest::option::weighted(0.3, Just("Renamed".to_string())),
        proptest::option::weighted(0.2, proptest::option::of(Just("Why?".to_string()))),
        proptest::option::weighted(0.2, proptest::option::of(secs())),
        proptest::option::weighted(0.2, proptest::option::of(secs())),
        proptest::option::weighted(0.2, proptest::option::of(secs())),
    )
        .prop_map(
            |(duration, title, question, speech_limit, warning, danger)| SegmentPatch {
                duration,
                title,
                question,
                speech_limit,
                warning,
                danger,
                ..Default::default()
            },
        )
}

fn person_patch() -> impl Strategy<Value = PersonPatch> {
    (
        proptest::option::weighted(0.4, Just("Renamed Person".to_string())),
        proptest::option::weighted(0.4, lang()),
        proptest::option::weighted(0.2, proptest::option::of(Just("Mayor".to_string()))),
    )
        .prop_map(|(name, language, title)| PersonPatch {
            name,
            language,
            title,
            ..Default::default()
        })
}

/// One random operation.
pub fn agenda_op() -> impl Strategy<Value = AgendaOp> {
    let id = || select(SEGMENT_IDS).prop_map(str::to_string);
    let pid = || select(PERSON_IDS).prop_map(str::to_string);
    // Mostly a real speaker of the segment, sometimes any segment and any id.
    let pair = move || {
        prop_oneof![
            3 => select(SPEAKER_OF).prop_map(|(s, p)| (s.to_string(), p.to_string())),
            1 => (id(), pid()),
        ]
    };
    prop_oneof![
        3 => (0usize..10, segment()).prop_map(|(at, segment)| AgendaOp::InsertSegment { at, segment }),
        3 => (id(), segment_patch()).prop_map(|(segment, set)| AgendaOp::UpdateSegment { segment, set }),
        2 => id().prop_map(|segment| AgendaOp::RemoveSegment { segment }),
        2 => (id(), 0usize..10).prop_map(|(segment, to)| AgendaOp::MoveSegment { segment, to }),
        3 => (id(), person(), any::<bool>(), proptest::option::weighted(0.3, 0usize..4))
            .prop_map(|(segment, speaker, reaction, at)| AgendaOp::AddSpeaker { segment, speaker, reaction, at }),
        2 => (pair(), person_patch())
            .prop_map(|((segment, person), set)| AgendaOp::UpdateSpeaker { segment, person, set }),
        2 => pair().prop_map(|(segment, person)| AgendaOp::RemoveSpeaker { segment, person }),
        2 => (pair(), 0usize..4).prop_map(|((segment, person), to)| AgendaOp::MoveSpeaker { segment, person, to }),
        1 => (id(), proptest::option::of(person()))
            .prop_map(|(segment, moderator)| AgendaOp::SetModerator { segment, moderator }),
    ]
}

/// An `edit_agenda` command of zero to four operations (mostly one or two).
pub fn edit_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        1 => Just(0usize),
        8 => Just(1),
        3 => Just(2),
        1 => 3usize..=4,
    ]
    .prop_flat_map(|n| proptest::collection::vec(agenda_op(), n))
    .prop_map(|ops| Command::EditAgenda { ops })
}
