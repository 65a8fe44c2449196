//! What an API key may do ([`KeyScope`]): one role in one meeting — `host`,
//! `moderator:PERSON`, `interpreter:LANG` or `observer` — parsed from the command line
//! and the HTTP API, checked against the meeting's agenda, and stored as a role and a
//! person (the moderator's id or the booth's language).

use super::KeyError;
use podium_protocol::{Agenda, Lang, Role};
use std::fmt;

/// What a key may do: one role in one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// Every right.
    Host,
    /// A segment moderator's rights, during their segments only (agenda person id).
    Moderator(String),
    /// One interpretation booth's rights (its signals, its own booth's controls). A booth
    /// acts for its language, so the language is part of the key.
    Interpreter(Lang),
    /// Reads the public state; sends nothing.
    Observer,
}

impl KeyScope {
    /// Parses `host`, `moderator:PERSON`, `interpreter:LANG` or `observer`.
    pub fn parse(s: &str) -> Result<KeyScope, KeyError> {
        let (role, arg) = match s.split_once(':') {
            Some((r, a)) => (r, Some(a)),
            None => (s, None),
        };
        match (role, arg) {
            ("host", None) => Ok(KeyScope::Host),
            ("observer", None) => Ok(KeyScope::Observer),
            ("interpreter", None) => Err(KeyError::BadScope(
                "an interpreter key is for one booth: give its language, e.g. interpreter:ar"
                    .into(),
            )),
            ("interpreter", Some(l)) => l
                .parse()
                .map(KeyScope::Interpreter)
                .map_err(|e| KeyError::BadScope(format!("{e}"))),
            ("moderator", Some(p)) if !p.is_empty() => Ok(KeyScope::Moderator(p.to_string())),
            _ => Err(KeyError::BadScope(format!(
                "{s:?} is not a key role: use host, moderator:PERSON, interpreter:LANG or observer"
            ))),
        }
    }

    /// Checks the scope against the meeting's agenda: a moderator must moderate a
    /// segment, a booth's language must be one of the meeting's.
    pub fn check(&self, agenda: &Agenda) -> Result<(), KeyError> {
        match self {
            KeyScope::Moderator(p) => {
                let moderators: Vec<String> = agenda
                    .segments
                    .iter()
                    .filter_map(|s| s.moderator.as_ref().map(|m| m.key()))
                    .collect();
                if moderators.contains(p) {
                    Ok(())
                } else {
                    Err(KeyError::BadScope(format!(
                        "{p:?} moderates no segment of this meeting; moderators: {}",
                        dedup(moderators).join(", ")
                    )))
                }
            }
            KeyScope::Interpreter(l) if !agenda.meeting.languages.contains(l) => {
                Err(KeyError::BadScope(format!(
                    "{l} is not one of the meeting's languages ({})",
                    agenda
                        .meeting
                        .languages
                        .iter()
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            _ => Ok(()),
        }
    }

    /// The role it acts as.
    pub fn role(&self) -> Role {
        match self {
            KeyScope::Host => Role::Host,
            KeyScope::Moderator(_) => Role::Moderator,
            KeyScope::Interpreter(_) => Role::Interpreter,
            KeyScope::Observer => Role::Observer,
        }
    }

    /// The grant's `person`: the moderator's id, or the booth's language code.
    pub fn person(&self) -> Option<String> {
        match self {
            KeyScope::Moderator(p) => Some(p.clone()),
            KeyScope::Interpreter(l) => Some(l.code().to_string()),
            _ => None,
        }
    }

    /// Back from a stored role and person.
    pub fn from_stored(role: Role, person: Option<&str>) -> Option<KeyScope> {
        Some(match role {
            Role::Host => KeyScope::Host,
            Role::Moderator => KeyScope::Moderator(person?.to_string()),
            Role::Interpreter => KeyScope::Interpreter(person?.parse().ok()?),
            Role::Observer => KeyScope::Observer,
            _ => return None,
        })
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

impl fmt::Display for KeyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyScope::Host => f.write_str("host"),
            KeyScope::Moderator(p) => write!(f, "moderator:{p}"),
            KeyScope::Interpreter(l) => write!(f, "interpreter:{l}"),
            KeyScope::Observer => f.write_str("observer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print_back() {
        for s in [
            "host",
            "moderator:cecile-riallant",
            "interpreter:ar",
            "observer",
        ] {
            assert_eq!(KeyScope::parse(s).unwrap().to_string(), s);
        }
        for bad in [
            "participant",
            "interpreter",
            "moderator",
            "moderator:",
            "interpreter:xx",
            "host:x",
            "",
        ] {
            assert!(KeyScope::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn scopes_are_checked_against_the_agenda() {
        let agenda = Agenda::from_toml(crate::DEFAULT_AGENDA).unwrap();
        assert!(KeyScope::parse("moderator:cecile-riallant")
            .unwrap()
            .check(&agenda)
            .is_ok());
        let e = KeyScope::parse("moderator:carola-gunnarsson")
            .unwrap()
            .check(&agenda)
            .unwrap_err();
        assert!(e.to_string().contains("cecile-riallant"), "{e}");
        assert!(KeyScope::parse("interpreter:de")
            .unwrap()
            .check(&agenda)
            .is_err());
        assert!(KeyScope::parse("interpreter:ar")
            .unwrap()
            .check(&agenda)
            .is_ok());
    }
}
