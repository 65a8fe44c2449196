//! The rules an agenda's types cannot express — a title, a known time zone, a local
//! start time, unique segment ids, positive durations, thresholds in order, every
//! speaker's language on the floor — each problem reported with its path. The booth plan's
//! and the input limits' checks are added from [`crate::booth`] and [`crate::limits`].

use super::errors::{path_text, Problem, Step};
use super::errors::{AgendaError, AgendaErrors};
use super::model::{Agenda, Person};
use chrono::NaiveDateTime;
use std::collections::HashSet;

impl Agenda {
    /// Checks the rules that the types cannot express.
    pub fn validate(&self) -> Result<(), AgendaErrors> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(AgendaErrors(
            problems
                .into_iter()
                .map(|p| AgendaError {
                    path: path_text(&p.path),
                    line: None,
                    column: None,
                    message: p.message,
                    hint: p.hint,
                })
                .collect(),
        ))
    }

    /// Every problem of the agenda, in document order, with its path (no location).
    pub(super) fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |path: Vec<Step>, message: String, hint: Option<&str>| {
            out.push(Problem {
                path,
                message,
                hint: hint.map(str::to_string),
            })
        };
        let m = &self.meeting;
        let mp = |k: &'static str| vec![Step::Key("meeting"), Step::Key(k)];
        if m.title.trim().is_empty() {
            push(
                mp("title"),
                "the meeting has no title".into(),
                Some("title = \"…\""),
            );
        }
        if let Some(id) = &m.id {
            if !valid_id(id) {
                push(
                    mp("id"),
                    format!("meeting id {id:?} may hold only a-z, 0-9 and '-'"),
                    Some("e.g. id = \"mayors-2021-01\""),
                );
            }
        }
        let tz = m.time_zone.parse::<chrono_tz::Tz>();
        if tz.is_err() {
            push(
                mp("time_zone"),
                format!("unknown time zone {:?}", m.time_zone),
                Some("use an IANA name such as \"Europe/Paris\" or \"America/New_York\""),
            );
        }
        if NaiveDateTime::parse_from_str(&m.start, "%Y-%m-%dT%H:%M").is_err() {
            push(
                mp("start"),
                format!("start {:?} is not a local date and time", m.start),
                Some("write it as \"2021-01-22T16:00\", in the meeting's time zone"),
            );
        }
        if m.languages.is_empty() {
            push(
                mp("languages"),
                "the meeting lists no language".into(),
                Some("languages = [\"en\", \"fr\"]"),
            );
        }
        if let Some(l) = m.speech_limit {
            if l.0 <= 0 {
                push(
                    mp("speech_limit"),
                    "speech limit must be more than zero".into(),
                    None,
                );
            }
        }
        if let Some(c) = m.hand_cooldown {
            if !(0..=600).contains(&c.0) {
                push(
                    mp("hand_cooldown"),
                    format!("a hand cooldown of {c} is not possible: 0s to 10m"),
                    Some("hand_cooldown = \"5s\" (\"0s\" turns it off)"),
                );
            }
        }
        let floor = self.floor_languages();
        if m.warning.0 < 0 || m.danger.0 < 0 {
            push(
                mp(if m.warning.0 < 0 { "warning" } else { "danger" }),
                "a wrap-up threshold cannot be negative".into(),
                Some("warning = \"1m\" and danger = \"0s\" are the usual cues"),
            );
        } else if m.danger > m.warning {
            push(
                mp("danger"),
                format!(
                    "danger ({}) comes before warning ({}): the red cue must not come first",
                    m.danger, m.warning
                ),
                Some("make danger less than or equal to warning, e.g. warning = \"2m\", danger = \"30s\""),
            );
        }
        let check_person = |out: &mut Vec<Problem>, path: Vec<Step>, p: &Person| {
            if p.name.trim().is_empty() {
                let mut at = path.clone();
                at.push(Step::Key("name"));
                out.push(Problem {
                    path: at,
                    message: "a person without a name".into(),
                    hint: Some("name = \"…\" as it should show on screens".into()),
                });
            }
            if let Some(url) = &p.text_url {
                if let Err(problem) = crate::booth::check_url(url) {
                    let mut at = path.clone();
                    at.push(Step::Key("text_url"));
                    out.push(Problem {
                        path: at,
                        message: problem,
                        hint: Some("text_url = \"https://…\"".into()),
                    });
                }
            }
            if !m.languages.is_empty() && !floor.contains(&p.language) {
                let mut at = path.clone();
                at.push(Step::Key("language"));
                out.push(Problem {
                    path: at,
                    message: format!(
                        "{} speaks {} ({}), which is not one of the meeting's languages ({})",
                        if p.name.is_empty() {
                            "this person"
                        } else {
                            &p.name
                        },
                        p.language.english_name(),
                        p.language,
                        floor
                            .iter()
                            .map(|l| l.code())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    hint: Some(
                        "add it to meeting.languages, or a relay rule for it in [interpretation], or correct the code"
                            .into(),
                    ),
                });
            }
        };
        if let Some(h) = &m.host {
            check_person(&mut out, mp("host"), h);
        }
        if self.segments.is_empty() {
            out.push(Problem {
                path: vec![],
                message: "the agenda has no segment".into(),
                hint: Some("add [[segment]] tables, one per part of the meeting".into()),
            });
        }
        let mut seen = HashSet::new();
        for (i, s) in self.segments.iter().enumerate() {
            let sp = |k: &'static str| vec![Step::Key("segment"), Step::Index(i), Step::Key(k)];
            if s.id.trim().is_empty() || !valid_id(&s.id) {
                out.push(Problem {
                    path: sp("id"),
                    message: format!("segment id {:?} must be non-empty a-z, 0-9 and '-'", s.id),
                    hint: Some("e.g. id = \"round-1\"".into()),
                });
            } else if !seen.insert(s.id.as_str()) {
                out.push(Problem {
                    path: sp("id"),
                    message: format!("segment id {:?} is used twice", s.id),
                    hint: Some("every segment needs its own id".into()),
                });
            }
            if s.title.trim().is_empty() {
                out.push(Problem {
                    path: sp("title"),
                    message: "segment has no title".into(),
                    hint: Some("title = \"…\"".into()),
                });
            }
            if s.duration.0 <= 0 {
                out.push(Problem {
                    path: sp("duration"),
                    message: format!("duration must be more than zero, not {}", s.duration),
                    hint: Some("write a duration such as \"20m\" or \"90s\"".into()),
                });
            }
            if let Some(l) = s.speech_limit {
                if l.0 <= 0 {
                    out.push(Problem {
                        path: sp("speech_limit"),
                        message: "speech limit must be more than zero".into(),
                        hint: Some("e.g. speech_limit = \"3m\"".into()),
                    });
                }
            }
            let (warning, danger) = (s.warning.unwrap_or(m.warning), s.danger.unwrap_or(m.danger));
            if s.warning.is_some_and(|w| w.0 < 0) || s.danger.is_some_and(|d| d.0 < 0) {
                out.push(Problem {
                    path: sp(if s.warning.is_some_and(|w| w.0 < 0) {
                        "warning"
                    } else {
                        "danger"
                    }),
                    message: "a wrap-up threshold cannot be negative".into(),
                    hint: Some("e.g. warning = \"2m\"".into()),
                });
            } else if (s.warning.is_some() || s.danger.is_some()) && danger > warning {
                out.push(Problem {
                    path: sp(if s.danger.is_some() {
                        "danger"
                    } else {
                        "warning"
                    }),
                    message: format!(
                        "in this segment danger ({danger}) comes before warning ({warning})"
                    ),
                    hint: Some("make danger less than or equal to warning".into()),
                });
            }
            if let Some(p) = &s.moderator {
                check_person(&mut out, sp("moderator"), p);
            }
            for (key, list) in [("speakers", &s.speakers), ("reactions", &s.reactions)] {
                for (j, p) in list.iter().enumerate() {
                    let path = vec![
                        Step::Key("segment"),
                        Step::Index(i),
                        Step::Key(key),
                        Step::Index(j),
                    ];
                    check_person(&mut out, path, p);
                }
            }
        }
        out.extend(crate::booth::plan_problems(self));
        out.extend(crate::limits::agenda_problems(self));
        out
    }
}

/// Whether an id holds only a-z, 0-9 and '-' (and something).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
