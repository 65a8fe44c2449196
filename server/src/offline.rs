//! Reading a data directory without running the server (for `podium links` and
//! `podium report`): opens the SQLite file directly — safe beside a running server,
//! since WAL lets readers and the writer work at once.

use crate::engine::Engine;
use crate::hub::{links, recover_engine, replay_engine, HubError, Link};
use crate::store::{sqlite::SqliteStore, MeetingStatus, StoreHandle};
use std::path::Path;
use std::sync::Arc;

fn open(data: &Path) -> Result<StoreHandle, HubError> {
    Ok(StoreHandle::spawn(Box::new(SqliteStore::open(data)?)))
}

/// Role links of every live meeting in `data`.
pub async fn links_offline(data: &Path, base_url: &str) -> Result<Vec<Link>, HubError> {
    let store = open(data)?;
    let mut out = Vec::new();
    for m in store.run(|s| s.meetings()).await?? {
        if m.status != MeetingStatus::Live {
            continue;
        }
        let id = m.id.clone();
        let rows = store.run(move |s| s.tokens(&id)).await??;
        // The agenda as edited (names of people added live), from the journal.
        let engine = recover_engine(&store, &m.id, Arc::new(m.agenda)).await?;
        out.extend(links(base_url, &m.id, engine.agenda(), &rows));
    }
    Ok(out)
}

/// A meeting's engine rebuilt from its whole journal, every hand kept (live or archived):
/// what its report is built from.
pub async fn load_engine(data: &Path, meeting: &str) -> Result<Engine, HubError> {
    let store = open(data)?;
    let m = store
        .run(|s| s.meetings())
        .await??
        .into_iter()
        .find(|m| m.id == meeting)
        .ok_or_else(|| HubError::NoSuchMeeting(meeting.into()))?;
    replay_engine(&store, meeting, Arc::new(m.agenda)).await
}

/// The one live meeting of `data`, or the named one.
pub async fn pick_meeting(
    store: &StoreHandle,
    meeting: Option<&str>,
) -> Result<crate::store::StoredMeeting, HubError> {
    let live: Vec<_> = store
        .run(|s| s.meetings())
        .await??
        .into_iter()
        .filter(|m| m.status == MeetingStatus::Live)
        .collect();
    match meeting {
        Some(id) => live
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| HubError::NoSuchMeeting(id.into())),
        None if live.len() == 1 => Ok(live.into_iter().next().expect("one")),
        None => Err(HubError::NoSuchMeeting(format!(
            "(several or no live meetings: name one of {})",
            live.iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Rotates a role link with no server running (the caller holds the data directory's
/// lock): the new token and the old one's deletion are written in one transaction.
pub async fn rotate_offline(
    data: &Path,
    meeting: Option<&str>,
    role: podium_protocol::Role,
    person: Option<String>,
    base_url: &str,
) -> Result<Link, HubError> {
    let store = open(data)?;
    let m = pick_meeting(&store, meeting).await?;
    let id = m.id.clone();
    let rows = store.run(move |s| s.tokens(&id)).await??;
    let old = rows
        .iter()
        .find(|r| r.link_token.is_some() && r.role == role && r.person == person)
        .ok_or_else(|| {
            HubError::NoSuchLink(format!(
                "{} has no {} link{}",
                m.id,
                role.as_str(),
                person
                    .as_ref()
                    .map(|p| format!(" for {p:?}"))
                    .unwrap_or_default()
            ))
        })?
        .clone();
    let new = crate::hub::links::new_link(&m.id, role, person);
    let batch = crate::store::Batch {
        meeting: m.id.clone(),
        tokens: vec![new.clone()],
        revoked: vec![old.hash],
        ..Default::default()
    };
    store.run(move |s| s.commit(&[batch])).await??;
    let engine = recover_engine(&store, &m.id, Arc::new(m.agenda)).await?;
    Ok(links(base_url, &m.id, engine.agenda(), &[new])
        .into_iter()
        .next()
        .expect("a role link"))
}

/// Invites delegates with no server running (the caller holds the data directory's
/// lock): their registrations are journaled and their personal tokens stored (hashed) in
/// one transaction. Returns each delegate's participant id and personal link.
pub async fn invite_offline(
    data: &Path,
    meeting: Option<&str>,
    delegates: Vec<crate::invite::Delegate>,
    base_url: &str,
) -> Result<(String, Vec<(crate::invite::Delegate, u64, String)>), HubError> {
    let store = open(data)?;
    let m = pick_meeting(&store, meeting).await?;
    let mut engine = recover_engine(&store, &m.id, Arc::new(m.agenda)).await?;
    let first_seq = engine.seq() + 1;
    let mut events = Vec::new();
    let mut tokens = Vec::new();
    let mut out = Vec::new();
    for (k, d) in delegates.into_iter().enumerate() {
        let (pid, evs) = engine
            .invite(&d.name, &d.delegation, d.language, d.observer)
            .map_err(|r| HubError::NoSuchLink(format!("delegate {} ({}): {r}", k + 1, d.name)))?;
        events.extend(
            evs.iter()
                .map(|e| serde_json::to_string(e).expect("event serialises")),
        );
        let token = crate::tokens::new_token();
        tokens.push(crate::store::TokenRow {
            hash: crate::tokens::hash(&token),
            meeting: m.id.clone(),
            role: d.role(),
            person: None,
            participant: Some(pid),
            link_token: None,
        });
        let url = crate::invite::url(base_url, &m.id, d.role(), &token);
        out.push((d, pid, url));
    }
    let batch = crate::store::Batch {
        meeting: m.id.clone(),
        first_seq,
        events,
        tokens,
        ..Default::default()
    };
    store.run(move |s| s.commit(&[batch])).await??;
    Ok((m.id, out))
}
