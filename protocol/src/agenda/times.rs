//! Times read off an agenda: its zone, the planned start of the meeting and of each
//! segment, the speech limit and wrap-up thresholds in force, and the one-screen summary
//! `podium agenda check` prints.

use super::model::Agenda;
use crate::duration::Secs;
use chrono::{NaiveDateTime, TimeZone};

impl Agenda {
    /// The meeting's time zone (UTC if the agenda was not validated).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.meeting.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Planned start as Unix milliseconds (0 if the agenda was not validated).
    pub fn planned_start_ms(&self) -> i64 {
        let Ok(naive) = NaiveDateTime::parse_from_str(&self.meeting.start, "%Y-%m-%dT%H:%M") else {
            return 0;
        };
        self.tz()
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }

    /// Planned start of each segment, Unix ms, in order, plus the planned end at the end.
    pub fn planned_starts_ms(&self) -> Vec<i64> {
        let mut at = self.planned_start_ms();
        let mut out = Vec::with_capacity(self.segments.len() + 1);
        for s in &self.segments {
            out.push(at);
            at += s.duration.ms();
        }
        out.push(at);
        out
    }

    /// The speech limit in force in segment `i`, in ms.
    pub fn speech_limit_ms(&self, i: usize) -> Option<i64> {
        self.segments
            .get(i)
            .and_then(|s| s.speech_limit)
            .or(self.meeting.speech_limit)
            .map(Secs::ms)
    }

    /// The wrap-up thresholds of segment `i` in ms: (warning, danger), the segment's own
    /// or the meeting's.
    pub fn thresholds_ms(&self, i: usize) -> (i64, i64) {
        let s = self.segments.get(i);
        (
            s.and_then(|s| s.warning)
                .unwrap_or(self.meeting.warning)
                .ms(),
            s.and_then(|s| s.danger).unwrap_or(self.meeting.danger).ms(),
        )
    }

    /// A one-screen summary: the segments with planned times in the meeting's zone.
    pub fn summary(&self) -> String {
        let tz = self.tz();
        let starts = self.planned_starts_ms();
        let fmt_t = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                .unwrap_or_default()
        };
        let zone = chrono::DateTime::from_timestamp_millis(starts[0])
            .map(|t| t.with_timezone(&tz).format("%Z").to_string())
            .unwrap_or_default();
        let mut out = String::new();
        out.push_str(&format!("{}\n", self.meeting.title));
        if let Some(s) = &self.meeting.subtitle {
            out.push_str(&format!("{s}\n"));
        }
        out.push_str(&format!(
            "{} {} ({}), languages: {}\n\n",
            self.meeting.start.replace('T', " "),
            zone,
            self.meeting.time_zone,
            self.meeting
                .languages
                .iter()
                .map(|l| l.code())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (i, s) in self.segments.iter().enumerate() {
            let who = s
                .moderator
                .iter()
                .chain(s.speakers.iter())
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut title = s.title.clone();
            if title.chars().count() > 48 {
                title = title.chars().take(47).collect::<String>() + "…";
            }
            out.push_str(&format!(
                "{:>2}. {}–{} {:>6}  {:<10} {:<48} {}\n",
                i + 1,
                fmt_t(starts[i]),
                fmt_t(starts[i + 1]),
                s.duration.to_string(),
                format!("{:?}", s.kind).to_lowercase(),
                title,
                who
            ));
        }
        let total = Secs((starts[self.segments.len()] - starts[0]) / 1000);
        out.push_str(&format!(
            "\n{} segments, {}–{} {}, total {}\n",
            self.segments.len(),
            fmt_t(starts[0]),
            fmt_t(starts[self.segments.len()]),
            zone,
            total
        ));
        out
    }
}
