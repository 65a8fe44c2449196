//! Reading a cluster's meetings without joining it (for `podium links --cluster` and
//! `podium report --cluster`): the journal and records are read from Redis directly,
//! as any node would; nothing is written and no lease is taken.

use super::journal::{Durability, RedisStore};
use super::{keys, ClusterError};
use crate::engine::Engine;
use crate::hub::{links, replay_engine, HubError, Link};
use crate::store::{MeetingStatus, StoreHandle};
use std::sync::Arc;
use std::time::Duration;

/// Errors of the offline readers.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// Redis could not be reached or the URL is wrong.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Reading failed.
    #[error(transparent)]
    Hub(#[from] HubError),
}

fn open(url: &str) -> Result<(redis::Client, StoreHandle), ClusterError> {
    let client = redis::Client::open(url).map_err(|e| ClusterError::Url {
        url: url.to_string(),
        problem: e.to_string(),
    })?;
    // The store is only read: no node name is needed for appends.
    let store = RedisStore::new(
        client.clone(),
        "reader",
        Durability {
            wait_replicas: 0,
            wait_timeout: Duration::from_secs(1),
        },
    );
    Ok((client, StoreHandle::spawn(Box::new(store))))
}

/// The base URL the cluster's nodes print links with (`podium:base-url`), if set.
pub fn base_url(url: &str) -> Result<Option<String>, ClusterError> {
    let (client, _) = open(url)?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| ClusterError::Connect {
            url: url.to_string(),
            problem: e.to_string(),
        })?;
    Ok(redis::cmd("GET").arg(keys::BASE_URL).query(&mut con)?)
}

/// Records the base URL links are printed with (`podium:base-url`).
pub fn set_base_url(url: &str, base: &str) -> Result<(), ClusterError> {
    let (client, _) = open(url)?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| ClusterError::Connect {
            url: url.to_string(),
            problem: e.to_string(),
        })?;
    Ok(redis::cmd("SET")
        .arg(keys::BASE_URL)
        .arg(base)
        .query(&mut con)?)
}

/// Role links of every live meeting of the cluster.
pub async fn links_cluster(url: &str, base_url: &str) -> Result<Vec<Link>, OfflineError> {
    let (_, store) = open(url)?;
    let mut out = Vec::new();
    for m in store
        .run(|s| s.meetings())
        .await
        .map_err(HubError::from)?
        .map_err(HubError::from)?
    {
        if m.status != MeetingStatus::Live {
            continue;
        }
        let id = m.id.clone();
        let rows = store
            .run(move |s| s.tokens(&id))
            .await
            .map_err(HubError::from)?
            .map_err(HubError::from)?;
        out.extend(links(base_url, &m.id, &m.agenda, &rows));
    }
    Ok(out)
}

/// A meeting's engine rebuilt from the cluster's whole journal, every hand kept (live or
/// archived): what its report is built from.
pub async fn load_engine(url: &str, meeting: &str) -> Result<Engine, OfflineError> {
    let (_, store) = open(url)?;
    let m = store
        .run(|s| s.meetings())
        .await
        .map_err(HubError::from)?
        .map_err(HubError::from)?
        .into_iter()
        .find(|m| m.id == meeting)
        .ok_or_else(|| HubError::NoSuchMeeting(meeting.into()))?;
    Ok(replay_engine(&store, meeting, Arc::new(m.agenda)).await?)
}
