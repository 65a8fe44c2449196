//! Reading an agenda from text: TOML (the form people write) and JSON (the HTTP API's),
//! each problem located — a path always, and for TOML the line and column, found by
//! walking the document to the path — with a hint of what to write instead.

use super::errors::{path_text, AgendaError, AgendaErrors, Step};
use super::model::{Agenda, SegmentKind};

impl Agenda {
    /// Parses and validates a TOML agenda; errors carry line and column.
    pub fn from_toml(text: &str) -> Result<Agenda, AgendaErrors> {
        let doc = match toml_edit::ImDocument::parse(text.to_string()) {
            Ok(d) => d,
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
                return Err(AgendaErrors(vec![AgendaError {
                    path: table_at(text, line.unwrap_or(usize::MAX)),
                    line,
                    column,
                    message: format!("not valid TOML: {}", first_line(e.message())),
                    hint: Some("check quotes, brackets and `key = value` pairs near here".into()),
                }]));
            }
        };
        let agenda: Agenda =
            match serde_path_to_error::deserialize(toml::de::Deserializer::new(text)) {
                Ok(a) => a,
                Err(e) => {
                    let path = located_path(e.path());
                    let e = e.into_inner();
                    let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
                    let msg = first_line(e.message()).to_string();
                    let hint = Some(type_hint(&msg).unwrap_or_else(default_hint));
                    return Err(AgendaErrors(vec![AgendaError {
                        path,
                        line,
                        column,
                        message: msg,
                        hint,
                    }]));
                }
            };
        match agenda.problems() {
            problems if problems.is_empty() => Ok(agenda),
            problems => Err(AgendaErrors(
                problems
                    .into_iter()
                    .map(|p| {
                        let (line, column) =
                            locate(&doc, &p.path).map(|at| line_col(text, at)).unzip();
                        AgendaError {
                            path: path_text(&p.path),
                            line,
                            column,
                            message: p.message,
                            hint: p.hint,
                        }
                    })
                    .collect(),
            )),
        }
    }

    /// Parses and validates a JSON agenda (the HTTP API's form); errors carry paths.
    pub fn from_json(text: &str) -> Result<Agenda, AgendaErrors> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let agenda: Agenda = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = located_path(e.path());
            let e = e.into_inner();
            let msg = e.to_string();
            AgendaErrors(vec![AgendaError {
                path,
                line: Some(e.line()),
                column: Some(e.column()),
                hint: Some(type_hint(&msg).unwrap_or_else(|| {
                    if e.is_syntax() || e.is_eof() {
                        "check the JSON near here: quotes, commas and brackets".into()
                    } else {
                        default_hint()
                    }
                })),
                message: msg,
            }])
        })?;
        agenda.validate()?;
        Ok(agenda)
    }
}

/// A serde path in the agenda's own form (`segment[3].duration`), `""` for the top.
fn located_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." {
        String::new()
    } else {
        p
    }
}

fn default_hint() -> String {
    "compare with agendas/gfmd-mayors-2021-01-22.toml, a complete example".into()
}

/// The table a TOML line belongs to (`meeting`, `segment[2]`), for syntax errors that
/// stop the parser before any path exists.
fn table_at(text: &str, line: usize) -> String {
    let mut path = String::new();
    let mut arrays: std::collections::HashMap<String, usize> = Default::default();
    for l in text.lines().take(line) {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let i = arrays.entry(name.trim().to_string()).or_insert(0);
            path = format!("{}[{i}]", name.trim());
            *i += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            path = name.trim().to_string();
        }
    }
    path
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn type_hint(msg: &str) -> Option<String> {
    if msg.contains("SegmentKind") || msg.contains("intro`, `welcome`") {
        Some(format!("kind is one of {}", SegmentKind::NAMES))
    } else if msg.contains("variant") && (msg.contains("`ar`") || msg.contains("`en`")) {
        Some("language codes: ar, de, en, es, fr, it, pt, ru, sv, zh".into())
    } else if msg.contains("missing field") {
        Some("add the field named above".into())
    } else if msg.contains("unknown field") {
        Some("check the spelling against agendas/gfmd-mayors-2021-01-22.toml".into())
    } else {
        None
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Finds the byte offset of the item at `path`, or of its closest ancestor that exists.
fn locate(doc: &toml_edit::ImDocument<String>, path: &[Step]) -> Option<usize> {
    use toml_edit::{Item, Value};
    let mut best: Option<usize> = None;
    let mut item: Option<&Item> = None;
    let mut table: Option<&dyn toml_edit::TableLike> = Some(doc.as_table());
    let mut value: Option<&Value> = None;
    for step in path {
        match step {
            Step::Key(k) => {
                if let Some(t) = table {
                    if let Some((key, it)) = t.get_key_value(k) {
                        best = key.span().map(|s| s.start).or(best);
                        item = Some(it);
                        value = it.as_value();
                        table = it.as_table_like();
                        continue;
                    }
                }
                return best;
            }
            Step::Index(i) => {
                if let Some(Item::ArrayOfTables(a)) = item {
                    if let Some(t) = a.get(*i) {
                        best = t.span().map(|s| s.start).or(best);
                        table = Some(t);
                        item = None;
                        value = None;
                        continue;
                    }
                }
                if let Some(Value::Array(a)) = value {
                    if let Some(v) = a.get(*i) {
                        best = v.span().map(|s| s.start).or(best);
                        table = v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike);
                        value = Some(v);
                        item = None;
                        continue;
                    }
                }
                return best;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Secs;
    use crate::lang::Lang;

    const SEED: &str = include_str!("../../../agendas/gfmd-mayors-2021-01-22.toml");

    #[test]
    fn seed_agenda_parses_with_its_people_and_questions() {
        let a = Agenda::from_toml(SEED).expect("seed agenda is valid");
        assert_eq!(a.meeting_id(), "gfmd-mayors-2021-01-22");
        assert_eq!(a.segments.len(), 7);
        assert_eq!(a.planned_start_ms(), 1_611_327_600_000);
        let starts = a.planned_starts_ms();
        assert_eq!(starts[7] - starts[0], 2 * 3600 * 1000);
        let rounds: Vec<_> = a
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Round)
            .collect();
        assert_eq!(rounds.len(), 3);
        assert!(rounds
            .iter()
            .all(|r| r.question.is_some() && r.question_original.is_some()));
        assert_eq!(
            a.person("cecile-riallant").map(|p| p.name.as_str()),
            Some("Cécile Riallant")
        );
        assert_eq!(a.person("emilia-saiz").map(|p| p.language), Some(Lang::Es));
        assert_eq!(a.speech_limit_ms(0), Some(240_000));
        assert_eq!(a.speech_limit_ms(2), Some(300_000));
    }

    #[test]
    fn json_round_trip_and_json_errors_carry_paths() {
        let a = Agenda::from_toml(SEED).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(Agenda::from_json(&json).unwrap(), a);
        let mut bad = a.clone();
        bad.segments[3].duration = Secs(0);
        bad.segments[4].id = "round-1".into();
        let errs = Agenda::from_json(&serde_json::to_string(&bad).unwrap())
            .unwrap_err()
            .0;
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["segment[3].duration", "segment[4].id"]);
        assert!(errs.iter().all(|e| e.line.is_none() && e.hint.is_some()));
        let syntax = Agenda::from_json("{\"meeting\": ").unwrap_err().0;
        assert_eq!(syntax.len(), 1);
        assert_eq!(syntax[0].line, Some(1));
    }

    #[test]
    fn toml_syntax_errors_are_located() {
        let errs = Agenda::from_toml("[meeting]\ntitle = \"x\nstart = 1\n")
            .unwrap_err()
            .0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(2));
        assert!(errs[0].message.starts_with("not valid TOML"));
    }

    #[test]
    fn syntax_and_type_errors_carry_a_path_and_a_hint() {
        // A value of the wrong type in the second segment.
        let bad = SEED.replacen("duration = \"5m\"", "duration = true", 2);
        let bad = bad.replacen("duration = true", "duration = \"5m\"", 1);
        let e = &Agenda::from_toml(&bad).unwrap_err().0[0];
        assert_eq!(e.path, "segment[1].duration", "{e}");
        assert!(e.hint.is_some() && e.line.is_some(), "{e}");
        // A TOML syntax error inside the third segment.
        let broken = SEED.replacen("id = \"round-1\"", "id = \"round-1", 1);
        let e = &Agenda::from_toml(&broken).unwrap_err().0[0];
        assert_eq!(e.path, "segment[2]", "{e}");
        assert!(e.hint.is_some());
        // JSON: an unknown kind, and a syntax error.
        let a = Agenda::from_toml(SEED).unwrap();
        let mut v = serde_json::to_value(&a).unwrap();
        v["segment"][4]["kind"] = "roundtable".into();
        let e = &Agenda::from_json(&v.to_string()).unwrap_err().0[0];
        assert_eq!(e.path, "segment[4].kind", "{e}");
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("open_floor")),
            "{e}"
        );
        let e = &Agenda::from_json("{\"meeting\": {\"title\": ")
            .unwrap_err()
            .0[0];
        assert!(e.hint.is_some(), "{e}");
    }
}
