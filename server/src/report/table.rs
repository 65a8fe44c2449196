//! The report as one CSV table: a `record` column says what each row is, the other
//! columns are the union of what meetings, segments, speeches, hands and summary figures
//! need (documented in the parent module). UTF-8 with a byte-order mark, CRLF, RFC 4180.

use super::{Report, ReportError, Stamp};
use podium_protocol::Lang;
use serde::Serialize;

/// The columns, in order.
pub const COLUMNS: [&str; 31] = [
    "record",
    "meeting",
    "n",
    "segment_id",
    "title",
    "kind",
    "status",
    "name",
    "person_id",
    "participant_id",
    "delegation",
    "language",
    "point_of_order",
    "planned_start",
    "planned_start_ms",
    "planned_end",
    "planned_end_ms",
    "planned_ms",
    "start",
    "start_ms",
    "end",
    "end_ms",
    "duration_ms",
    "overrun_ms",
    "drift_ms",
    "limit_ms",
    "over_limit",
    "metric",
    "value",
    "floor_language",
    "text",
];

/// The byte-order mark that tells spreadsheets the file is UTF-8.
pub const BOM: &str = "\u{feff}";

/// One row under construction: every column empty until set.
struct Row {
    cells: Vec<String>,
}

impl Row {
    fn new(record: &str, meeting: &str) -> Row {
        let mut row = Row {
            cells: vec![String::new(); COLUMNS.len()],
        };
        row.set("record", record);
        row.set("meeting", meeting);
        row
    }

    fn index(column: &str) -> usize {
        COLUMNS
            .iter()
            .position(|c| *c == column)
            .unwrap_or_else(|| unreachable!("no CSV column {column}"))
    }

    fn set(&mut self, column: &str, value: impl ToString) -> &mut Row {
        self.cells[Row::index(column)] = value.to_string();
        self
    }

    /// Text typed by people: defused so a spreadsheet never runs it as a formula.
    fn text(&mut self, column: &str, value: &str) -> &mut Row {
        self.set(column, defuse(value))
    }

    fn opt(&mut self, column: &str, value: Option<impl ToString>) -> &mut Row {
        if let Some(v) = value {
            self.set(column, v);
        }
        self
    }

    fn stamp(&mut self, column: &str, value: Option<&Stamp>) -> &mut Row {
        if let Some(s) = value {
            self.set(column, &s.local);
            self.set(&format!("{column}_ms"), s.unix_ms);
        }
        self
    }
}

/// A leading `'` on text a spreadsheet would take for a formula (OWASP's CSV injection).
pub fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The snake_case wire name of an enum value (`open_floor`, `called`…).
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn summary(
    rows: &mut Vec<Row>,
    meeting: &str,
    metric: &str,
    language: Option<Lang>,
    value: Option<i64>,
) {
    let mut row = Row::new("summary", meeting);
    row.set("metric", metric)
        .opt("language", language.map(Lang::code))
        .opt("value", value);
    rows.push(row);
}

fn rows(report: &Report) -> Vec<Row> {
    let id = report.meeting.id.as_str();
    let mut rows = Vec::new();

    let m = &report.meeting;
    let mut row = Row::new("meeting", id);
    row.text("title", &m.title)
        .set("status", name(&m.phase))
        .stamp("planned_start", Some(&m.planned_start))
        .stamp("planned_end", Some(&m.planned_end))
        .set("planned_ms", m.planned_ms)
        .stamp("start", m.actual_start.as_ref())
        .stamp("end", m.actual_end.as_ref())
        .opt("duration_ms", m.actual_ms)
        .set("drift_ms", m.drift_ms);
    rows.push(row);

    for (i, s) in report.segments.iter().enumerate() {
        let mut row = Row::new("segment", id);
        row.set("n", i + 1)
            .set("segment_id", &s.id)
            .text("title", &s.title)
            .set("kind", name(&s.kind))
            .set("status", name(&s.status))
            .stamp("planned_start", Some(&s.planned_start))
            .stamp("planned_end", Some(&s.planned_end))
            .set("planned_ms", s.planned_ms)
            .stamp("start", s.actual_start.as_ref())
            .stamp("end", s.actual_end.as_ref())
            .set("duration_ms", s.actual_ms)
            .opt("overrun_ms", s.overrun_ms);
        rows.push(row);
    }

    for (i, s) in report.speeches.iter().enumerate() {
        let mut row = Row::new("speech", id);
        row.set("n", i + 1)
            .set("segment_id", &s.segment)
            .set(
                "status",
                if s.ended_at.is_some() {
                    "done"
                } else {
                    "speaking"
                },
            )
            .text("name", &s.name)
            .opt("person_id", s.person.as_ref())
            .opt("participant_id", s.participant)
            .text("delegation", s.delegation.as_deref().unwrap_or_default())
            .set("language", s.language.code())
            .stamp("start", Some(&s.started_at))
            .stamp("end", s.ended_at.as_ref())
            .set("duration_ms", s.spoken_ms)
            .opt("limit_ms", s.limit_ms)
            .set("over_limit", s.over_limit);
        rows.push(row);
    }

    for h in &report.hands {
        let mut row = Row::new("hand", id);
        row.set("n", h.id)
            .opt("segment_id", h.segment.as_ref())
            .set("status", name(&h.outcome))
            .text("name", &h.name)
            .set("participant_id", h.participant)
            .text("delegation", &h.delegation)
            .set("language", h.language.code())
            .set("point_of_order", h.point_of_order)
            .stamp("start", Some(&h.raised_at))
            .stamp("end", h.left_at.as_ref())
            .set("duration_ms", h.wait_ms);
        rows.push(row);
    }

    let sp = &report.speaking;
    summary(&mut rows, id, "plan_shift_ms", None, Some(m.plan_shift_ms));
    summary(&mut rows, id, "speeches", None, Some(sp.speeches as i64));
    summary(&mut rows, id, "spoken_ms", None, Some(sp.spoken_ms));
    summary(
        &mut rows,
        id,
        "speeches_over_limit",
        None,
        Some(sp.over_limit as i64),
    );
    for (lang, t) in &sp.by_language {
        summary(
            &mut rows,
            id,
            "speeches_by_language",
            Some(*lang),
            Some(t.speeches as i64),
        );
    }
    for (lang, t) in &sp.by_language {
        summary(
            &mut rows,
            id,
            "spoken_ms_by_language",
            Some(*lang),
            Some(t.spoken_ms),
        );
    }
    let q = &report.queue;
    summary(
        &mut rows,
        id,
        "hands_raised",
        None,
        Some(q.hands_raised as i64),
    );
    summary(
        &mut rows,
        id,
        "points_of_order",
        None,
        Some(q.points_of_order as i64),
    );
    for (lang, n) in &q.by_language {
        summary(
            &mut rows,
            id,
            "hands_by_language",
            Some(*lang),
            Some(*n as i64),
        );
    }
    for (metric, n) in [
        ("hands_called", q.called),
        ("hands_lowered", q.lowered),
        ("hands_removed", q.removed),
        ("hands_cleared", q.cleared),
        ("hands_waiting", q.waiting),
        ("hands_never_called", q.never_called),
    ] {
        summary(&mut rows, id, metric, None, Some(n as i64));
    }
    summary(&mut rows, id, "median_wait_ms", None, q.median_wait_ms);
    summary(&mut rows, id, "max_wait_ms", None, q.max_wait_ms);
    interpretation_rows(report, &mut rows);
    for e in &report.edits {
        let mut row = Row::new("agenda_edit", id);
        row.set("n", e.version)
            .stamp("start", Some(&e.at))
            .text("text", &e.changes.join("; "));
        rows.push(row);
    }
    rows
}

/// The interpretation section: a `speech_language` row per stretch of each speech that
/// switched language, an `incident` row per booth incident, then summary figures.
fn interpretation_rows(report: &Report, rows: &mut Vec<Row>) {
    let id = report.meeting.id.as_str();
    let i = &report.interpretation;
    for s in &i.switched {
        for p in &s.parts {
            let mut row = Row::new("speech_language", id);
            row.set("n", s.n)
                .set("segment_id", &s.segment)
                .text("name", &s.name)
                .set("language", p.language.code())
                .stamp("start", Some(&p.from))
                .set("duration_ms", p.spoken_ms);
            rows.push(row);
        }
    }
    for (n, inc) in i.incidents.iter().enumerate() {
        let mut row = Row::new("incident", id);
        row.set("n", n + 1)
            .set("kind", &inc.kind)
            .set("language", inc.booth.code())
            .stamp("start", Some(&inc.at))
            .stamp("end", inc.acknowledged_at.as_ref())
            .opt("floor_language", inc.floor.map(Lang::code))
            .text("text", inc.text.as_deref().unwrap_or_default());
        let alert = !matches!(
            inc.kind.as_str(),
            "slow_down" | "handover" | "floor_corrected"
        );
        if alert {
            let acked = inc.acknowledged_at.is_some();
            row.set("status", if acked { "acknowledged" } else { "open" });
        }
        rows.push(row);
    }
    for (lang, ms) in &i.floor_ms {
        summary(rows, id, "floor_ms_by_language", Some(*lang), Some(*ms));
    }
    summary(
        rows,
        id,
        "speeches_with_switch",
        None,
        Some(i.switched.len() as i64),
    );
    for b in &i.booths {
        for (metric, n) in [
            ("slow_downs_by_booth", b.slow_downs),
            ("no_interpretation_by_booth", b.no_interpretation),
            ("booth_alerts_by_booth", b.alerts),
            ("booth_alerts_acknowledged_by_booth", b.acknowledged),
            ("handovers_by_booth", b.handovers),
            ("floor_corrections_by_booth", b.floor_corrections),
        ] {
            summary(rows, id, metric, Some(b.booth), Some(n as i64));
        }
    }
}

/// Encodes `report` as described in the parent module.
pub fn to_csv(report: &Report) -> Result<String, ReportError> {
    let mut out = Vec::from(BOM.as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(COLUMNS)?;
        for row in rows(report) {
            w.write_record(&row.cells)?;
        }
        w.flush().map_err(csv::Error::from)?;
    }
    // Every cell came from a `String`, so the bytes are UTF-8.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
