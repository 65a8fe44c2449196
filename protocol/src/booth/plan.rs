//! The agenda's `[interpretation]` table: each booth's handover turn and its cue, and the
//! relay rules (for a floor language, the pivot booth that interprets from it and the
//! booths that take relay from the pivot), with the checks that locate every problem.

use crate::duration::Secs;
use crate::lang::Lang;
use serde::{Deserialize, Serialize};

/// Default length of a booth's turn before the pair hands over.
pub const DEFAULT_TURN: Secs = Secs(30 * 60);
/// Default warning before the turn ends.
pub const DEFAULT_CUE: Secs = Secs(2 * 60);

fn default_turn() -> Secs {
    DEFAULT_TURN
}

fn default_cue() -> Secs {
    DEFAULT_CUE
}

/// The agenda's `[interpretation]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpretationPlan {
    /// How long one interpreter of a booth's pair works before handing over.
    #[serde(default = "default_turn")]
    pub turn: Secs,
    /// How long before the end of a turn the booth view shows a gentle cue.
    #[serde(default = "default_cue")]
    pub cue: Secs,
    /// Which booth covers which floor language, and who takes relay from it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay: Vec<RelayRule>,
}

impl Default for InterpretationPlan {
    fn default() -> Self {
        InterpretationPlan {
            turn: DEFAULT_TURN,
            cue: DEFAULT_CUE,
            relay: Vec::new(),
        }
    }
}

/// One relay rule: while `floor` is spoken, the `pivot` booth interprets from it and the
/// `takers` take relay from the pivot booth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayRule {
    /// The floor language (often one with no booth, such as Portuguese).
    pub floor: Lang,
    /// The booth that interprets directly from it.
    pub pivot: Lang,
    /// The booths that take relay from the pivot; absent: every other booth (except the
    /// floor language's own booth, which has nothing to interpret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub takers: Vec<Lang>,
}

impl RelayRule {
    /// The booths that take relay, in `booths` order when not listed explicitly.
    pub fn takers(&self, booths: &[Lang]) -> Vec<Lang> {
        if self.takers.is_empty() {
            booths
                .iter()
                .copied()
                .filter(|b| *b != self.pivot && *b != self.floor)
                .collect()
        } else {
            self.takers.clone()
        }
    }
}

/// Longest handover turn the agenda may set.
const MAX_TURN: Secs = Secs(4 * 3600);

/// The `[interpretation]` table's problems, located (called from agenda validation).
pub(crate) fn plan_problems(agenda: &crate::Agenda) -> Vec<crate::agenda::Problem> {
    use crate::agenda::{Problem, Step};
    let Some(plan) = &agenda.interpretation else {
        return Vec::new();
    };
    let booths = &agenda.meeting.languages;
    let codes = |ls: &[Lang]| ls.iter().map(|l| l.code()).collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    let at = |k: &'static str| vec![Step::Key("interpretation"), Step::Key(k)];
    if plan.turn.0 <= 0 || plan.turn > MAX_TURN {
        out.push(Problem {
            path: at("turn"),
            message: format!("a handover turn of {} is not possible", plan.turn),
            hint: Some("booths usually hand over every 20 to 30 minutes: turn = \"30m\"".into()),
        });
    }
    if plan.cue.0 < 0 || (plan.turn.0 > 0 && plan.cue >= plan.turn) {
        out.push(Problem {
            path: at("cue"),
            message: format!(
                "the handover cue ({}) must be shorter than the turn ({})",
                plan.cue, plan.turn
            ),
            hint: Some("cue = \"2m\"".into()),
        });
    }
    for (i, rule) in plan.relay.iter().enumerate() {
        let rp = |k: &'static str| {
            vec![
                Step::Key("interpretation"),
                Step::Key("relay"),
                Step::Index(i),
                Step::Key(k),
            ]
        };
        if plan.relay[..i].iter().any(|r| r.floor == rule.floor) {
            out.push(Problem {
                path: rp("floor"),
                message: format!(
                    "{} has two relay rules: one booth is pivot for a floor language",
                    rule.floor.english_name()
                ),
                hint: Some("keep one [[interpretation.relay]] per floor language".into()),
            });
        }
        if !booths.contains(&rule.pivot) {
            out.push(Problem {
                path: rp("pivot"),
                message: format!(
                    "the pivot {} ({}) has no booth: the booths are {}",
                    rule.pivot.english_name(),
                    rule.pivot,
                    codes(booths)
                ),
                hint: Some("the pivot is one of meeting.languages".into()),
            });
        }
        for (j, t) in rule.takers.iter().enumerate() {
            let tp = vec![
                Step::Key("interpretation"),
                Step::Key("relay"),
                Step::Index(i),
                Step::Key("takers"),
                Step::Index(j),
            ];
            let problem = if !booths.contains(t) {
                Some(format!(
                    "{} ({t}) has no booth: the booths are {}",
                    t.english_name(),
                    codes(booths)
                ))
            } else if *t == rule.pivot {
                Some(format!(
                    "the {t} booth is the pivot: it cannot take relay from itself"
                ))
            } else if *t == rule.floor {
                Some(format!(
                    "the {t} booth has nothing to interpret while {} is spoken",
                    t.english_name()
                ))
            } else if rule.takers[..j].contains(t) {
                Some(format!("the {t} booth is listed twice"))
            } else {
                None
            };
            if let Some(message) = problem {
                out.push(Problem {
                    path: tp,
                    message,
                    hint: Some("takers lists the other booths that relay from the pivot".into()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[meeting]
title = "Relay"
time_zone = "UTC"
start = "2021-01-22T15:00"
languages = ["en", "fr", "es", "ar"]

[[segment]]
id = "a"
kind = "open_floor"
title = "A"
duration = "10m"
speakers = [{ name = "Ana Souza", language = "pt" }]
"#;

    #[test]
    fn a_relay_plan_makes_its_floor_language_speakable() {
        let toml = format!(
            "{BASE}\n[interpretation]\n[[interpretation.relay]]\nfloor = \"pt\"\npivot = \"es\"\n"
        );
        let a = crate::Agenda::from_toml(&toml).expect("valid");
        let plan = a.interpretation.as_ref().unwrap();
        assert_eq!((plan.turn, plan.cue), (DEFAULT_TURN, DEFAULT_CUE));
        assert_eq!(
            a.floor_languages(),
            [Lang::En, Lang::Fr, Lang::Es, Lang::Ar, Lang::Pt]
        );
        // Without the rule, the Portuguese speaker is a located error.
        let errs = crate::Agenda::from_toml(BASE).unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "segment[0].speakers[0].language");
        assert!(errs[0].hint.as_deref().unwrap().contains("relay"));
    }

    #[test]
    fn a_bad_relay_plan_is_refused_with_every_problem_located() {
        let toml = format!(
            r#"{BASE}
[interpretation]
turn = "5h"
cue = "6h"

[[interpretation.relay]]
floor = "pt"
pivot = "de"
takers = ["fr", "fr", "zh"]

[[interpretation.relay]]
floor = "pt"
pivot = "es"
takers = ["es", "ar"]

[[interpretation.relay]]
floor = "ar"
pivot = "en"
takers = ["ar"]
"#
        );
        let errs = crate::Agenda::from_toml(&toml).unwrap_err().0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "interpretation.turn",
                "interpretation.cue",
                "interpretation.relay[0].pivot",
                "interpretation.relay[0].takers[1]",
                "interpretation.relay[0].takers[2]",
                "interpretation.relay[1].floor",
                "interpretation.relay[1].takers[0]",
                "interpretation.relay[2].takers[0]",
            ],
            "{errs:#?}"
        );
        assert!(errs.iter().all(|e| e.line.is_some() && e.hint.is_some()));
        let line_of = |needle: &str| toml.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert_eq!(errs[2].line, Some(line_of(r#"pivot = "de""#)));
        assert!(errs[2].message.contains("no booth"));
    }
}
