//! Personal invitations: a secretariat's list of delegates (CSV) in, one personal link per
//! delegate out (CSV, for a mail merge).
//!
//! Input columns, with a header row: `name`, `delegation`, `language`, `role`
//! (`participant` or `observer`; empty means participant) and, optionally, `email`. Each
//! delegate becomes a pre-registered participant (name and delegation fixed by the
//! secretariat; journaled like a join) with a personal token, stored only as its hash: the
//! output file is the only place the links exist.
//!
//! Output cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return) are neutralised with a leading `'`.

use podium_protocol::{Lang, Role};
use std::str::FromStr;

/// Most delegates one file may hold.
pub const MAX_DELEGATES: usize = 10_000;

/// One delegate to invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegate {
    /// Display name, fixed by the secretariat.
    pub name: String,
    /// Delegation, fixed by the secretariat.
    pub delegation: String,
    /// Floor language.
    pub language: Lang,
    /// Observer rather than participant.
    pub observer: bool,
    /// For the mail merge only; not stored.
    pub email: Option<String>,
}

impl Delegate {
    /// The role of their link.
    pub fn role(&self) -> Role {
        if self.observer {
            Role::Observer
        } else {
            Role::Participant
        }
    }
}

/// A problem in the file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// What is wrong and what to write.
    pub message: String,
}

/// Reads the delegates of a CSV file.
pub fn parse(text: &str) -> Result<Vec<Delegate>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| CsvError {
        line: 1,
        message: format!("not a CSV file: {e}"),
    })?;
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let missing: Vec<&str> = ["name", "delegation", "language"]
        .into_iter()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CsvError {
            line: 1,
            message: format!(
                "the header row lacks {}: it must name the columns name, delegation, language, \
                 role and (optionally) email",
                missing.join(", ")
            ),
        });
    }
    let (name, delegation, language) = (
        col("name").unwrap_or(0),
        col("delegation").unwrap_or(0),
        col("language").unwrap_or(0),
    );
    let (role, email) = (col("role"), col("email"));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| CsvError {
            line: e.position().map_or(0, |p| p.line()),
            message: format!("not valid CSV: {e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |i: usize| record.get(i).unwrap_or("").to_string();
        let err = |message: String| CsvError { line, message };
        let code = get(language);
        let language = Lang::from_str(&code.to_ascii_lowercase()).map_err(|_| {
            err(format!(
                "unknown language code {code:?}: use one of ar, de, en, es, fr, it, pt, ru, sv, zh"
            ))
        })?;
        let observer = match role
            .map(get)
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "participant" => false,
            "observer" => true,
            other => {
                return Err(err(format!(
                    "role {other:?}: write participant or observer"
                )))
            }
        };
        let delegate = Delegate {
            name: get(name),
            delegation: get(delegation),
            language,
            observer,
            email: email.map(get).filter(|e| !e.is_empty()),
        };
        if delegate.name.is_empty() || delegate.delegation.is_empty() {
            return Err(err("every delegate needs a name and a delegation".into()));
        }
        out.push(delegate);
        if out.len() > MAX_DELEGATES {
            return Err(err(format!(
                "more than {MAX_DELEGATES} delegates: split the file"
            )));
        }
    }
    if out.is_empty() {
        return Err(CsvError {
            line: 1,
            message: "no delegate in the file".into(),
        });
    }
    Ok(out)
}

/// A delegate's personal link: the participant page with the personal token marked
/// `me=` in the fragment, so the page resumes as that delegate instead of asking to join.
pub fn url(base_url: &str, meeting: &str, role: Role, token: &str) -> String {
    format!(
        "{}/m/{meeting}/{}#me={token}",
        base_url.trim_end_matches('/'),
        role.as_str()
    )
}

/// A cell a spreadsheet will not run as a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// The mail-merge file: one row per delegate, with their participant id and link.
pub fn output(rows: &[(Delegate, u64, String)]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "name",
        "delegation",
        "language",
        "role",
        "email",
        "participant",
        "link",
    ])?;
    for (d, id, link) in rows {
        w.write_record([
            neutralise(&d.name),
            neutralise(&d.delegation),
            d.language.code().to_string(),
            d.role().as_str().to_string(),
            neutralise(d.email.as_deref().unwrap_or("")),
            id.to_string(),
            neutralise(link),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_delegates_with_located_errors() {
        let text = "Name,Delegation,Language,Role,Email\n\
                    Ana Souza,Brazil,ES,participant,ana@example.org\n\
                    \n\
                    Youth Observer,MGCY,en,observer,\n";
        let d = parse(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].language, d[0].observer), (Lang::Es, false));
        assert_eq!(d[0].email.as_deref(), Some("ana@example.org"));
        assert_eq!((d[1].role(), d[1].email.as_deref()), (Role::Observer, None));
        let e = parse("name,delegation,language\nA,B,xx\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("language"));
        let e = parse("name,delegation,language,role\nA,B,en,host\n").unwrap_err();
        assert!(e.message.contains("participant or observer"), "{e}");
        assert_eq!(parse("name,lang\nA,en\n").unwrap_err().line, 1);
        assert_eq!(parse("name,delegation,language\n").unwrap_err().line, 1);
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Ana Souza"), "Ana Souza");
        let d = Delegate {
            name: "=cmd|' /C calc'!A0".into(),
            delegation: "@evil".into(),
            language: Lang::Fr,
            observer: false,
            email: Some("+1@example.org".into()),
        };
        let out = output(&[(d, 7, "http://x/m/m/participant#me=abc".into())]).unwrap();
        let row = out.lines().nth(1).unwrap();
        assert!(row.starts_with("'=cmd|"), "{row}");
        assert!(
            row.contains(",'@evil,") && row.contains(",'+1@example.org,"),
            "{row}"
        );
    }
}
