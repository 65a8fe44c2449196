//! The meeting report: planned versus actual times per segment, every speech (who, for
//! how long, in which floor language) and the speaking queue's history and statistics —
//! after the meeting, or during it as of a given `now`.
//!
//! [`Report::build`] is a pure function of an [`Engine`] and `now` — an engine that
//! replayed the whole journal keeping every hand ([`crate::hub::replay_engine`]; a live
//! meeting's engine holds only its latest hands); [`Report::to_json`]
//! and [`Report::to_csv`] encode it; [`export`] (the `podium report` command) and
//! `crate::http::reports` (`GET /api/meetings/{id}/report.json|csv`, host token
//! required) are the thin shells around it. This module does no HTTP.
//!
//! Every point in time is given twice: as Unix milliseconds (for programs) and as an
//! ISO-8601 string in the meeting's own time zone, e.g. `2021-01-22T16:00:00+01:00` (for
//! people), so a reader in another zone still sees the times the agenda was written in.
//!
//! # JSON
//!
//! One object: `meeting` (id, title, zone, phase, `as_of`, planned and actual start/end,
//! `drift_ms`), `segments` (one per agenda segment), `speeches` (oldest first, the one in
//! progress last), `speaking` (totals and per floor language), `queue` (statistics),
//! `hands` (every hand ever raised, in the order raised) and `interpretation` (see
//! below). Times are `{"unix_ms", "local"}` objects; what has not happened yet is `null`.
//! Every key is always present.
//!
//! A speech's `language` is the floor language it began in; `languages` gives the time
//! spoken in each language it used (pauses excluded; the entries add up to
//! `spoken_ms`). `speaking.by_language` counts speeches by the language they began in
//! and spoken time by the language actually spoken. The `interpretation` section holds
//! `floor_ms` (time per floor language), `switched` (every speech in more than one
//! language, with each stretch: language, start, time), `booths` (per booth:
//! `slow_downs`, `no_interpretation`, `alerts`, `acknowledged`, `handovers`,
//! `floor_corrections`) and `incidents` (every booth incident: `kind`, `booth`, `at`, the
//! `floor` language then, `text`, `acknowledged_at`).
//!
//! # CSV
//!
//! One table, so that it opens as a single sheet: UTF-8 with a byte-order mark (so that
//! spreadsheets read Arabic and accented names right), CRLF line ends, RFC 4180 quoting.
//! The `record` column says what a row is; each kind fills the columns that apply to it
//! and leaves the others empty. Rows come in this order: one `meeting`, the `segment`s in
//! agenda order, the `speech`es, the `hand`s, the `summary` figures, then the
//! interpretation section: `speech_language` rows (one per stretch of each speech that
//! switched language: `n` is the speech's, `language`, `start`, `duration_ms` the time
//! spoken in the stretch), `incident` rows (`n` in order, `kind` the incident kind —
//! `slow_down`, `handover`, `floor_corrected` or an alert's signal —, `language` the booth,
//! `start` when, `end` when acknowledged, `status` `open`/`acknowledged` for alerts,
//! `floor_language` the language on the floor then, `text` the booth's words), its
//! `summary` figures, and last one `agenda_edit` row per edit made during the meeting
//! (`n` the agenda version it made, `start` when, `text` its changes, `; `-separated).
//!
//! | column | meeting | segment | speech | hand | summary |
//! |---|---|---|---|---|---|
//! | `record` | `meeting` | `segment` | `speech` | `hand` | `summary` |
//! | `meeting` | meeting id | ← | ← | ← | ← |
//! | `n` | | position, 1-based | order, 1-based | hand id | |
//! | `segment_id` | | segment id | where it was held | where it was raised | |
//! | `title` | meeting title | segment title | | | |
//! | `kind` | | `intro`, `welcome`, `round`, `open_floor`, `closing`, `break` | | | |
//! | `status` | `not_started`, `running`, `ended` | `not_started`, `current`, `done` | `done`, `speaking` | `called`, `lowered`, `removed`, `cleared`, `waiting` | |
//! | `name` | | | speaker | who raised it | |
//! | `person_id` | | | agenda person id (named speakers) | | |
//! | `participant_id` | | | participant id (from the queue) | participant id | |
//! | `delegation` | | | delegation or affiliation | delegation | |
//! | `language` | | | floor language | floor language asked for | language of a per-language figure |
//! | `point_of_order` | | | | `true` / `false` | |
//! | `planned_start`, `planned_start_ms` | planned start | planned start | | | |
//! | `planned_end`, `planned_end_ms` | planned end | planned end | | | |
//! | `planned_ms` | planned length | planned length | | | |
//! | `start`, `start_ms` | actual start | first entered | floor given | raised | |
//! | `end`, `end_ms` | actual end | last left | floor ended | left the queue | |
//! | `duration_ms` | actual length (so far) | time it was current | time spoken, pauses excluded | wait (to the meeting's end if still waiting) | |
//! | `overrun_ms` | | actual − planned length | | | |
//! | `drift_ms` | late (+) or early (−) against the plan | | | | |
//! | `limit_ms` | | | per-speech limit | | |
//! | `over_limit` | | | `true` / `false` | | |
//! | `metric`, `value` | | | | | figure name and value (see below) |
//! | `floor_language`, `text` | | | | | (`incident` rows only, see above) |
//!
//! `start`/`end`-like columns without `_ms` are local ISO-8601 times; `*_ms` columns are
//! Unix milliseconds or durations in milliseconds. Summary metrics: `plan_shift_ms` (how
//! far the planned times were moved to the actual start), `speeches`,
//! `spoken_ms`, `speeches_over_limit`, `speeches_by_language` and
//! `spoken_ms_by_language` (one row per meeting language, `language` set),
//! `hands_raised`, `points_of_order`, `hands_by_language` (per language), `hands_called`,
//! `hands_lowered`, `hands_removed`, `hands_cleared`, `hands_waiting`,
//! `hands_never_called`, `median_wait_ms`, `max_wait_ms` (waits of called hands, from
//! raised to called; empty when no hand was called); then `floor_ms_by_language`
//! (`language` set), `speeches_with_switch`, and per booth (`language` = the booth)
//! `slow_downs_by_booth`, `no_interpretation_by_booth`, `booth_alerts_by_booth`,
//! `booth_alerts_acknowledged_by_booth`, `handovers_by_booth`,
//! `floor_corrections_by_booth`.
//!
//! Text that people typed (names, delegations, titles) and that begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return gets a leading `'` in the CSV, so that a
//! spreadsheet shows it instead of running it as a formula. The JSON keeps it as typed.

pub mod interp;
mod model;
mod table;

pub use model::*;

use crate::engine::{schedule, Engine};
use podium_protocol::{Agenda, Lang, MeetingState, Phase, UnixMs};
use std::collections::BTreeMap;
use std::path::Path;

impl Report {
    /// The report of `engine`'s meeting as of `now`. Pure: same engine and `now`, same
    /// report.
    pub fn build(engine: &Engine, now: UnixMs) -> Report {
        let agenda = engine.agenda();
        let state = engine.state();
        let tz = agenda.tz();
        let at = |ms: UnixMs| Stamp::new(ms, tz);
        let shift = schedule::plan_shift_ms(agenda, state);
        let planned: Vec<UnixMs> = agenda
            .planned_starts_ms()
            .into_iter()
            .map(|t| t + shift)
            .collect();
        let n = agenda.segments.len();
        let segment_id = |i: usize| agenda.segments.get(i).map(|s| s.id.clone());

        let meeting = MeetingReport {
            id: agenda.meeting_id(),
            title: agenda.meeting.title.clone(),
            time_zone: agenda.meeting.time_zone.clone(),
            phase: state.phase,
            as_of: at(now),
            planned_start: at(planned[0]),
            planned_end: at(planned[n]),
            planned_ms: planned[n] - planned[0],
            actual_start: state.started_at.map(at),
            actual_end: state.ended_at.map(at),
            actual_ms: state.started_at.map(|s| state.ended_at.unwrap_or(now) - s),
            drift_ms: schedule::drift_ms(agenda, state, now),
            plan_shift_ms: shift,
        };

        let segments = agenda
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let t = state.segments.get(i).copied().unwrap_or_default();
                let current = state.current == Some(i) && state.phase == Phase::Running;
                let overrun = schedule::overrun_ms(agenda, state, i, now);
                SegmentReport {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    kind: s.kind,
                    status: match (t.started_at, current) {
                        (None, _) => SegmentStatus::NotStarted,
                        (Some(_), true) => SegmentStatus::Current,
                        (Some(_), false) => SegmentStatus::Done,
                    },
                    planned_start: at(planned[i]),
                    planned_end: at(planned[i + 1]),
                    planned_ms: s.duration.ms(),
                    actual_start: t.started_at.map(at),
                    actual_end: if current { None } else { t.ended_at.map(at) },
                    actual_ms: overrun.map(|o| o + s.duration.ms()).unwrap_or(0),
                    overrun_ms: overrun,
                }
            })
            .collect();

        let parts = interp::speech_parts(state);
        let mut speeches: Vec<SpeechReport> = state
            .history
            .iter()
            .zip(&parts)
            .map(|(r, p)| SpeechReport {
                segment: segment_id(r.segment).unwrap_or_default(),
                name: r.speaker.name.clone(),
                person: r.speaker.person.clone(),
                participant: r.speaker.participant,
                delegation: r.speaker.delegation.clone(),
                language: p[0].language,
                languages: interp::languages(p, r.spoken_ms),
                started_at: at(r.started_at),
                ended_at: Some(at(r.ended_at)),
                spoken_ms: r.spoken_ms,
                limit_ms: r.limit_ms,
                over_limit: r.over_limit,
            })
            .collect();
        if let Some(s) = &state.speech {
            let spoken_ms = (s.granted_ms - s.clock.remaining(now)).max(0);
            speeches.push(SpeechReport {
                segment: segment_id(s.segment).unwrap_or_default(),
                name: s.speaker.name.clone(),
                person: s.speaker.person.clone(),
                participant: s.speaker.participant,
                delegation: s.speaker.delegation.clone(),
                language: parts[speeches.len()][0].language,
                languages: interp::languages(&parts[speeches.len()], spoken_ms),
                started_at: at(s.started_at),
                ended_at: None,
                spoken_ms,
                limit_ms: s.limit_ms,
                over_limit: s.limit_ms.is_some_and(|l| spoken_ms > l),
            });
        }
        let speaking = speaking_stats(agenda, &speeches);
        let interpretation = interp::build(agenda, state, &speeches, &parts, at);

        let hands = hand_rows(agenda, state, now, at);
        let queue = queue_stats(agenda, &hands);

        Report {
            meeting,
            segments,
            speeches,
            speaking,
            queue,
            hands,
            edits: state
                .agenda_edits
                .iter()
                .map(|e| EditReport {
                    at: at(e.at),
                    version: e.version,
                    changes: e.changes.clone(),
                })
                .collect(),
            interpretation,
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The report as one CSV table (see the module documentation for its columns).
    pub fn to_csv(&self) -> Result<String, ReportError> {
        table::to_csv(self)
    }
}

/// Every meeting language with a zero, so a language nobody used still shows.
fn per_language<T: Default>(agenda: &Agenda) -> BTreeMap<Lang, T> {
    agenda
        .meeting
        .languages
        .iter()
        .map(|l| (*l, T::default()))
        .collect()
}

fn speaking_stats(agenda: &Agenda, speeches: &[SpeechReport]) -> SpeakingStats {
    let mut by_language: BTreeMap<Lang, LanguageTime> = per_language(agenda);
    for s in speeches {
        by_language.entry(s.language).or_default().speeches += 1;
        for l in &s.languages {
            by_language.entry(l.language).or_default().spoken_ms += l.spoken_ms;
        }
    }
    SpeakingStats {
        speeches: speeches.len() as u64,
        spoken_ms: speeches.iter().map(|s| s.spoken_ms).sum(),
        over_limit: speeches.iter().filter(|s| s.over_limit).count() as u64,
        by_language,
    }
}

/// The segment current when a hand was raised: the last segment to have first started at
/// or before `raised_at` (exact unless segments were revisited; the state keeps only each
/// segment's first start).
fn segment_at(state: &MeetingState, raised_at: UnixMs) -> Option<usize> {
    state
        .segments
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.started_at.filter(|s| *s <= raised_at).map(|s| (s, i)))
        .max()
        .map(|(_, i)| i)
}

fn hand_rows(
    agenda: &Agenda,
    state: &MeetingState,
    now: UnixMs,
    at: impl Fn(UnixMs) -> Stamp,
) -> Vec<HandReport> {
    // A hand still up when the meeting ended waited until the end, not until `now`.
    let until = state.ended_at.unwrap_or(now);
    let segment_id =
        |i: Option<usize>| i.and_then(|i| agenda.segments.get(i)).map(|s| s.id.clone());
    let left = state.hand_history.iter().map(|r| {
        // The record holds the segment current when the hand *left* the queue.
        let segment = segment_at(state, r.hand.raised_at).or(r.segment);
        (
            &r.hand,
            segment,
            Some(r.left_at),
            HandStatus::from(r.outcome),
        )
    });
    let waiting = state
        .queue
        .iter()
        .map(|h| (h, segment_at(state, h.raised_at), None, HandStatus::Waiting));
    let mut rows: Vec<HandReport> = left
        .chain(waiting)
        .map(|(h, segment, left_at, outcome)| HandReport {
            id: h.id,
            participant: h.participant,
            name: h.name.clone(),
            delegation: h.delegation.clone(),
            language: h.language,
            point_of_order: h.point_of_order,
            segment: segment_id(segment),
            raised_at: at(h.raised_at),
            left_at: left_at.map(&at),
            outcome,
            wait_ms: (left_at.unwrap_or(until) - h.raised_at).max(0),
        })
        .collect();
    rows.sort_by_key(|h| h.id);
    rows
}

fn queue_stats(agenda: &Agenda, hands: &[HandReport]) -> QueueStats {
    let count = |o: HandStatus| hands.iter().filter(|h| h.outcome == o).count() as u64;
    let mut by_language: BTreeMap<Lang, u64> = per_language(agenda);
    for h in hands {
        *by_language.entry(h.language).or_default() += 1;
    }
    let mut waits: Vec<i64> = hands
        .iter()
        .filter(|h| h.outcome == HandStatus::Called)
        .map(|h| h.wait_ms)
        .collect();
    waits.sort_unstable();
    let called = waits.len() as u64;
    QueueStats {
        hands_raised: hands.len() as u64,
        points_of_order: hands.iter().filter(|h| h.point_of_order).count() as u64,
        by_language,
        called,
        lowered: count(HandStatus::Lowered),
        removed: count(HandStatus::Removed),
        cleared: count(HandStatus::Cleared),
        waiting: count(HandStatus::Waiting),
        never_called: hands.len() as u64 - called,
        median_wait_ms: median(&waits),
        max_wait_ms: waits.last().copied(),
    }
}

/// Median of sorted values; the mean of the middle two (rounded down) for an even count.
fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]).div_euclid(2)),
    }
}

/// The report of meeting `meeting` in the data directory `data`, as of now, in `format`
/// (`json` or `csv`), for the `podium report` command. Works beside a running server.
pub async fn export(data: &Path, meeting: &str, format: &str) -> Result<String, ReportError> {
    if format != "json" && format != "csv" {
        return Err(ReportError::Format(format.to_string()));
    }
    let engine = crate::offline::load_engine(data, meeting).await?;
    let report = Report::build(&engine, crate::clock::now_ms());
    if format == "json" {
        Ok(report.to_json()? + "\n")
    } else {
        report.to_csv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_stamps_are_local_with_offset() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            Stamp::new(1_611_327_600_000, paris).local,
            "2021-01-22T16:00:00+01:00"
        );
        // Summer time: 2021-07-01 12:00 UTC is 14:00 in Paris.
        assert_eq!(
            Stamp::new(1_625_140_800_000, paris).local,
            "2021-07-01T14:00:00+02:00"
        );
        assert_eq!(
            Stamp::new(1_611_327_600_250, paris).local,
            "2021-01-22T16:00:00.250+01:00"
        );
        assert_eq!(
            Stamp::new(0, chrono_tz::UTC).local,
            "1970-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn report_median_of_odd_even_and_none() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 2, 9]), Some(2));
        assert_eq!(median(&[1, 2, 4, 9]), Some(3));
        assert_eq!(median(&[1, 2]), Some(1));
    }
}
