//! Reading a data directory without running the server (for `podium links` and
//! `podium report`): opens the SQLite file directly — safe beside a running server,
//! since WAL lets readers and the writer work at once.

use crate::engine::Engine;
use crate::hub::{links, recover_engine, HubError, Link};
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
        out.extend(links(base_url, &m.id, &m.agenda, &rows));
    }
    Ok(out)
}

/// A meeting's engine rebuilt from the store (live or archived).
pub async fn load_engine(data: &Path, meeting: &str) -> Result<Engine, HubError> {
    let store = open(data)?;
    let m = store
        .run(|s| s.meetings())
        .await??
        .into_iter()
        .find(|m| m.id == meeting)
        .ok_or_else(|| HubError::NoSuchMeeting(meeting.into()))?;
    recover_engine(&store, meeting, Arc::new(m.agenda)).await
}
