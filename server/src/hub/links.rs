//! Role links: which ones a meeting has (they follow the agenda: one per moderator and
//! per named speaker), how they are printed, and the host's requests to list and rotate
//! them.
//!
//! A meeting task owns the role-link rows of its meeting: it adds a link for a person an
//! edit adds, revokes the link of a person no longer anywhere in the agenda, and rotates
//! links on request — each time in the same durable batch as the change that caused it.

use super::{Grant, Hub};
use crate::store::TokenRow;
use crate::tokens;
use podium_protocol::{Agenda, ErrorCode, Lang, LinkInfo, Role, ServerMessage};
use serde::Serialize;
use std::collections::HashSet;

/// A printable role link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Link {
    /// Meeting id.
    pub meeting: String,
    /// Meeting title.
    pub title: String,
    /// Role granted.
    pub role: Role,
    /// The person's name for moderator and speaker links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// The agenda person id for moderator and speaker links; the booth's language code
    /// for interpreter links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The booth's language, for interpreter links (one link per booth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
    /// The full URL, token in the fragment.
    pub url: String,
}

/// The role links an agenda calls for, in link order: host, one per moderator, one per
/// speaker or reaction speaker, participant and observer join links, one interpreter link
/// per booth (meeting language, its code as the row's `person`), projector.
pub fn wanted_links(agenda: &Agenda) -> Vec<(Role, Option<String>)> {
    let mut out: Vec<(Role, Option<String>)> = Vec::new();
    let mut add = |role: Role, person: Option<String>| {
        if !out.iter().any(|(r, p)| *r == role && *p == person) {
            out.push((role, person));
        }
    };
    add(Role::Host, None);
    for s in &agenda.segments {
        if let Some(m) = &s.moderator {
            add(Role::Moderator, Some(m.key()));
        }
    }
    for s in &agenda.segments {
        for p in s.speakers.iter().chain(&s.reactions) {
            add(Role::Speaker, Some(p.key()));
        }
    }
    add(Role::Participant, None);
    add(Role::Observer, None);
    for lang in &agenda.meeting.languages {
        add(Role::Interpreter, Some(lang.code().to_string()));
    }
    add(Role::Projector, None);
    out
}

/// A new role-link row with a fresh token.
pub fn new_link(meeting: &str, role: Role, person: Option<String>) -> TokenRow {
    let token = tokens::new_token();
    TokenRow {
        hash: tokens::hash(&token),
        meeting: meeting.to_string(),
        role,
        person,
        participant: None,
        link_token: Some(token),
    }
}

/// Builds the role-link token rows of a new meeting (see [`wanted_links`]).
pub fn role_tokens(meeting: &str, agenda: &Agenda) -> Vec<TokenRow> {
    wanted_links(agenda)
        .into_iter()
        .map(|(role, person)| new_link(meeting, role, person))
        .collect()
}

/// How a meeting's role links must change after an agenda edit: a new link for each
/// moderator or speaker who has none, and the links of moderators and speakers no longer
/// anywhere in the agenda revoked. Returns (rows to add, rows to revoke).
pub fn follow_agenda(
    meeting: &str,
    agenda: &Agenda,
    rows: &[TokenRow],
) -> (Vec<TokenRow>, Vec<TokenRow>) {
    let wanted = wanted_links(agenda);
    let have: HashSet<(Role, Option<&str>)> =
        rows.iter().map(|r| (r.role, r.person.as_deref())).collect();
    let add = wanted
        .iter()
        .filter(|(role, person)| !have.contains(&(*role, person.as_deref())))
        .map(|(role, person)| new_link(meeting, *role, person.clone()))
        .collect();
    let revoke = rows
        .iter()
        .filter(|r| matches!(r.role, Role::Moderator | Role::Speaker))
        .filter(|r| {
            !wanted
                .iter()
                .any(|(role, p)| *role == r.role && *p == r.person)
        })
        .cloned()
        .collect();
    (add, revoke)
}

/// The links of a meeting from its token rows, in the order they were made.
pub fn links(base_url: &str, meeting: &str, agenda: &Agenda, rows: &[TokenRow]) -> Vec<Link> {
    rows.iter()
        .filter_map(|r| {
            let token = r.link_token.as_ref()?;
            Some(Link {
                meeting: meeting.to_string(),
                title: agenda.meeting.title.clone(),
                role: r.role,
                speaker: r
                    .person
                    .as_deref()
                    .and_then(|p| agenda.person(p))
                    .map(|p| p.name.clone()),
                person: r.person.clone(),
                language: (r.role == Role::Interpreter)
                    .then(|| r.person.as_deref()?.parse().ok())
                    .flatten(),
                url: format!(
                    "{}/m/{}/{}#{}",
                    base_url.trim_end_matches('/'),
                    meeting,
                    r.role.as_str(),
                    token
                ),
            })
        })
        .collect()
}

/// The links a host sees over the websocket: URLs relative to the server's origin (the
/// console knows its own), with the person's current name.
pub fn link_infos(meeting: &str, agenda: &Agenda, rows: &[TokenRow]) -> Vec<LinkInfo> {
    rows.iter()
        .filter_map(|r| {
            let token = r.link_token.as_ref()?;
            Some(LinkInfo {
                role: r.role,
                person: r.person.clone(),
                name: r
                    .person
                    .as_deref()
                    .and_then(|p| agenda.person(p))
                    .map(|p| p.name.clone()),
                url: format!("/m/{meeting}/{}#{token}", r.role.as_str()),
            })
        })
        .collect()
}

/// Answers a host's `links` or `rotate_link` request (any other role: `forbidden`).
pub async fn request(
    hub: &Hub,
    grant: &Grant,
    id: u64,
    rotate: Option<(Role, Option<String>)>,
) -> ServerMessage {
    let error = |code, message: &str| ServerMessage::Error {
        id: Some(id),
        code,
        message: message.to_string(),
    };
    if grant.role != Role::Host {
        return error(
            ErrorCode::Forbidden,
            "only the host manages the meeting's links",
        );
    }
    let Some(meeting) = hub.meeting(&grant.meeting) else {
        return error(ErrorCode::NoSuchMeeting, "the meeting has closed");
    };
    let rows = match rotate {
        None => meeting.links().await.ok_or((
            ErrorCode::Internal,
            "the meeting stopped; try again".to_string(),
        )),
        Some((role, person)) => meeting.rotate(role, person).await.map(|r| vec![r]),
    };
    match rows {
        Ok(rows) => ServerMessage::Links {
            id,
            links: link_infos(&grant.meeting, &meeting.agenda(), &rows),
        },
        Err((code, message)) => error(code, &message),
    }
}
