//! The agenda's problems: [`AgendaError`] (one problem, with its path and, for TOML, its
//! line and column) and [`AgendaErrors`] (all of them), and the crate-internal
//! [`Problem`] the checks produce before a location is known.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem found in an agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaError {
    /// Where in the document, e.g. `segment[3].duration` (empty for the whole file).
    pub path: String,
    /// 1-based line in the source text, where it could be found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column in the source text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for AgendaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Every problem found in an agenda, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the agenda: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct AgendaErrors(pub Vec<AgendaError>);

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A table or field name.
    Key(&'static str),
    /// A place in an array (0-based).
    Index(usize),
}

/// A path as people read it: `segment[3].duration`.
pub(super) fn path_text(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// One problem as a check finds it: where (a path, located later for TOML), what is
/// wrong and what to write instead.
pub(crate) struct Problem {
    pub(crate) path: Vec<Step>,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}
