//! Human-written durations ("20m", "90s", "1h30m") as whole seconds.
//!
//! Agenda files are written by people, so durations read like people write them; on the
//! wire and in JSON agendas a plain number of seconds is accepted too. Serialised as seconds.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A duration in whole seconds. Signed so that a zero or negative value can be reported
/// as a located error instead of failing to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Secs(pub i64);

impl Secs {
    /// The same duration in milliseconds, the engine's unit.
    pub fn ms(self) -> i64 {
        self.0 * 1000
    }

    /// Parses "20m", "90s", "1h", "1h30m", "4m30s", or a bare number of minutes ("5").
    pub fn parse(text: &str) -> Result<Secs, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        let (negative, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, t),
        };
        if t.chars().all(|c| c.is_ascii_digit()) {
            let mins: i64 = t.parse().map_err(|_| format!("{text:?} is too large"))?;
            return Ok(Secs(if negative { -mins * 60 } else { mins * 60 }));
        }
        let mut total: i64 = 0;
        let mut number = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                ' ' => continue,
                _ => return Err(format!("{text:?} has an unexpected {c:?}")),
            };
            if number.is_empty() {
                return Err(format!("{text:?} has a unit without a number"));
            }
            let n: i64 = number
                .parse()
                .map_err(|_| format!("{text:?} is too large"))?;
            total = total.saturating_add(n.saturating_mul(unit));
            number.clear();
        }
        if !number.is_empty() {
            return Err(format!(
                "{text:?} ends with a number without a unit (h, m or s)"
            ));
        }
        Ok(Secs(if negative { -total } else { total }))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let sign = if s < 0 { "-" } else { "" };
        let s = s.abs();
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if sec > 0 || out.is_empty() {
            out.push_str(&format!("{sec}s"));
        }
        write!(f, "{sign}{out}")
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"20m\", \"90s\" or \"1h30m\", or whole seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secs, E> {
                Ok(Secs(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secs, E> {
                i64::try_from(v)
                    .map(Secs)
                    .map_err(|_| E::custom("duration too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secs, E> {
                Secs::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations() {
        assert_eq!(Secs::parse("20m"), Ok(Secs(1200)));
        assert_eq!(Secs::parse("90s"), Ok(Secs(90)));
        assert_eq!(Secs::parse("1h30m"), Ok(Secs(5400)));
        assert_eq!(Secs::parse("4m 30s"), Ok(Secs(270)));
        assert_eq!(Secs::parse("5"), Ok(Secs(300)));
        assert_eq!(Secs::parse("-2m"), Ok(Secs(-120)));
        assert!(Secs::parse("20x").is_err());
        assert!(Secs::parse("m").is_err());
        assert!(Secs::parse("20m5").is_err());
        assert!(Secs::parse("").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(Secs(1200).to_string(), "20m");
        assert_eq!(Secs(5430).to_string(), "1h30m30s");
        assert_eq!(Secs(0).to_string(), "0s");
    }
}
