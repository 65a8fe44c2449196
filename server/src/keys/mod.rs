//! API keys: credentials for the HTTP API that act with one role's rights in one meeting
//! — the host's, one moderator's, one interpretation booth's, or an observer's (read
//! only) — for a Stream Deck, a webcast overlay or a script.
//!
//! A key is `pod_` and 128 random bits in hex. The server keeps only its SHA-256 (in the
//! store and in memory), never logs it, and forgets it the moment it is revoked: the
//! [`KeyRing`] is the running server's set of usable keys, each with its grant's
//! [`crate::hub::Revocation`], which ends the event streams opened with it. Keys are listed with their label,
//! creation time and last use. The same operations run offline on a store
//! ([`create`], [`list`], [`revoke`]) for `podium keys` when no server holds the data
//! directory.

mod scope;

pub use scope::KeyScope;

use crate::hub::Grant;
use crate::store::{ApiKeyRow, MeetingStatus, StoreError, StoreHandle};
use dashmap::DashMap;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Every key starts with this, so it is recognisable (and findable by secret scanners).
pub const PREFIX: &str = "pod_";

/// Longest label, in characters.
pub const MAX_LABEL: usize = 80;

/// A key's last use is written to the store at most this often (it is exact in memory).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Why a key operation failed. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The role is not a key role, or does not fit the meeting.
    #[error("{0}")]
    BadScope(String),
    /// The label is empty, too long or has control characters.
    #[error("{0}")]
    BadLabel(String),
    /// No such meeting.
    #[error("no meeting has the id {0:?}")]
    NoSuchMeeting(String),
    /// The meeting is archived: keys would open nothing.
    #[error("meeting {0:?} is archived: it takes no commands, so it gets no new keys")]
    Archived(String),
    /// No such key in this meeting.
    #[error("meeting {meeting:?} has no key {id:?}; `podium keys list {meeting}` shows its keys")]
    NoSuchKey {
        /// Meeting id.
        meeting: String,
        /// Key id.
        id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new key: `pod_` and 32 hex digits (128 bits from the OS generator).
pub fn new_key() -> String {
    format!("{PREFIX}{}", crate::tokens::new_token())
}

/// Whether a string has the shape of a key (cheap check before hashing).
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .is_some_and(crate::tokens::well_formed)
}

/// The lookup key of an API key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn new_id() -> String {
    let mut bytes = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn check_label(label: &str) -> Result<String, KeyError> {
    let label = label.trim();
    let n = label.chars().count();
    if n == 0 || n > MAX_LABEL {
        return Err(KeyError::BadLabel(format!(
            "a key's label must have 1 to {MAX_LABEL} characters (it says who holds the key, e.g. \"Stream Deck booth A\")"
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(KeyError::BadLabel(
            "a key's label cannot contain control characters (line breaks, tabs)".into(),
        ));
    }
    Ok(label.to_string())
}

/// A key's public description (never the key): what lists and the create answer show.
pub fn describe(k: &ApiKeyRow) -> Value {
    let role = KeyScope::from_stored(k.role, k.person.as_deref())
        .map(|s| s.to_string())
        .unwrap_or_else(|| k.role.as_str().to_string());
    json!({
        "id": k.id,
        "meeting": k.meeting,
        "role": role,
        "label": k.label,
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "revoked_at": k.revoked_at,
        "status": if k.revoked_at.is_some() { "revoked" } else { "active" },
    })
}

/// Creates a key in the store: checks the meeting, the scope and the label. Returns the
/// stored row and the key (shown once; only its hash is kept).
pub async fn create(
    store: &StoreHandle,
    meeting: &str,
    scope: &KeyScope,
    label: &str,
    now: i64,
) -> Result<(ApiKeyRow, String), KeyError> {
    let label = check_label(label)?;
    let mid = meeting.to_string();
    let found = store
        .run(move |s| s.meetings())
        .await??
        .into_iter()
        .find(|m| m.id == mid)
        .ok_or_else(|| KeyError::NoSuchMeeting(meeting.into()))?;
    if found.status == MeetingStatus::Archived {
        return Err(KeyError::Archived(meeting.into()));
    }
    scope.check(&found.agenda)?;
    loop {
        let key = new_key();
        let row = ApiKeyRow {
            meeting: meeting.to_string(),
            id: new_id(),
            hash: hash(&key),
            role: scope.role(),
            person: scope.person(),
            label: label.clone(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let to_store = row.clone();
        // An id already taken in this meeting (48 random bits: practically never): draw again.
        if store.run(move |s| s.create_key(&to_store)).await?? {
            return Ok((row, key));
        }
    }
}

/// The keys of a meeting as stored, revoked ones included.
pub async fn list(store: &StoreHandle, meeting: &str) -> Result<Vec<ApiKeyRow>, KeyError> {
    let mid = meeting.to_string();
    let known = store
        .run(|s| s.meetings())
        .await??
        .iter()
        .any(|m| m.id == mid);
    if !known {
        return Err(KeyError::NoSuchMeeting(meeting.into()));
    }
    let mid = meeting.to_string();
    Ok(store.run(move |s| s.keys(Some(&mid))).await??)
}

/// Revokes a key in the store.
pub async fn revoke(
    store: &StoreHandle,
    meeting: &str,
    id: &str,
    now: i64,
) -> Result<ApiKeyRow, KeyError> {
    let (mid, kid) = (meeting.to_string(), id.to_string());
    store
        .run(move |s| s.revoke_key(&mid, &kid, now))
        .await??
        .ok_or_else(|| KeyError::NoSuchKey {
            meeting: meeting.into(),
            id: id.into(),
        })
}

/// A usable key, in the running server's memory.
pub struct LiveKey {
    /// Public id (for lists, rate limits and the tracing span; never the key).
    pub id: String,
    /// Who holds it, as given at creation.
    pub label: String,
    /// What it grants: meeting, role, person; never a participant.
    pub grant: Grant,
    /// SHA-256 of the key: rate limits and idempotency records are per credential.
    pub hash: [u8; 32],
    /// Last use, Unix ms (0: never), exact.
    last_used: AtomicI64,
    /// The last use the store knows of: it is written at most once a minute.
    stored_used: AtomicI64,
}

impl LiveKey {
    fn new(row: &ApiKeyRow) -> LiveKey {
        let used = row.last_used_at.unwrap_or(0);
        LiveKey {
            id: row.id.clone(),
            label: row.label.clone(),
            grant: Grant {
                meeting: row.meeting.clone(),
                role: row.role,
                person: row.person.clone(),
                participant: None,
                // Revoked with the key: event streams opened with it end at once.
                revocation: Default::default(),
            },
            hash: row.hash,
            last_used: AtomicI64::new(used),
            stored_used: AtomicI64::new(used),
        }
    }
}

/// Where a key ring shared by several servers (a cluster's nodes) checks its keys.
pub trait SharedKeys: Send + Sync {
    /// The row of an unrevoked key, as the shared store has it now (`Ok(None)`: no such
    /// key, or revoked); `Err` if the store cannot be asked.
    fn check(
        &self,
        hash: [u8; 32],
    ) -> futures_util::future::BoxFuture<'_, Result<Option<ApiKeyRow>, StoreError>>;
    /// A key was revoked here: tell the other servers (their open event streams of it end).
    fn revoked(&self, row: &ApiKeyRow) -> futures_util::future::BoxFuture<'_, ()>;
}

/// The running server's usable keys, by hash.
pub struct KeyRing {
    /// Unrevoked keys of every stored meeting.
    by_hash: DashMap<[u8; 32], Arc<LiveKey>>,
    /// Where keys live; shared with the hub.
    store: StoreHandle,
    /// With several servers on one store: where a key is checked each time it is used
    /// (another server may have created or revoked it), and told of revocations.
    shared: Option<Arc<dyn SharedKeys>>,
}

impl KeyRing {
    /// Loads every unrevoked key.
    pub async fn load(store: StoreHandle) -> Result<Arc<KeyRing>, StoreError> {
        let rows = store.run(|s| s.keys(None)).await??;
        let by_hash = DashMap::new();
        for r in rows.iter().filter(|r| r.revoked_at.is_none()) {
            by_hash.insert(r.hash, Arc::new(LiveKey::new(r)));
        }
        Ok(Arc::new(KeyRing {
            by_hash,
            store,
            shared: None,
        }))
    }

    /// Loads every unrevoked key of a store several servers share.
    pub async fn load_shared(
        store: StoreHandle,
        shared: Arc<dyn SharedKeys>,
    ) -> Result<Arc<KeyRing>, StoreError> {
        let ring = KeyRing::load(store).await?;
        let mut ring = Arc::into_inner(ring).expect("just made");
        ring.shared = Some(shared);
        Ok(Arc::new(ring))
    }

    /// The usable key this string is, if any, as this server knows it.
    pub fn find(&self, key: &str) -> Option<Arc<LiveKey>> {
        if !well_formed(key) {
            return None;
        }
        self.by_hash.get(&hash(key)).map(|k| k.clone())
    }

    /// The usable key this string is, if any. With a shared store the store is asked
    /// each time: a key another server created works here, and a key another server
    /// revoked is refused at once (and forgotten here, ending its event streams). If the
    /// store cannot be asked, this server's ring answers.
    pub async fn find_checked(&self, key: &str) -> Option<Arc<LiveKey>> {
        let Some(shared) = &self.shared else {
            return self.find(key);
        };
        if !well_formed(key) {
            return None;
        }
        let h = hash(key);
        match shared.check(h).await {
            Ok(Some(row)) => Some(
                self.by_hash
                    .entry(h)
                    .or_insert_with(|| Arc::new(LiveKey::new(&row)))
                    .clone(),
            ),
            Ok(None) => {
                self.revoked_elsewhere(&h);
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot check an API key in the shared store; using this server's keys");
                self.find(key)
            }
        }
    }

    /// A key was revoked by another server: forget it here and end its event streams.
    pub fn revoked_elsewhere(&self, hash: &[u8; 32]) {
        if let Some((_, k)) = self.by_hash.remove(hash) {
            k.grant.revocation.revoke(crate::hub::close::REVOKED);
        }
    }

    /// Hashes of the keys this server holds (to check them again against a shared store).
    pub fn hashes(&self) -> Vec<[u8; 32]> {
        self.by_hash.iter().map(|k| *k.key()).collect()
    }

    /// Notes a use at `now`: exact in memory, written to the store at most once a minute.
    pub fn used(&self, key: &LiveKey, now: i64) {
        key.last_used.fetch_max(now, Ordering::Relaxed);
        let stored = key.stored_used.load(Ordering::Relaxed);
        if now - stored >= TOUCH_EVERY_MS
            && key
                .stored_used
                .compare_exchange(stored, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let store = self.store.clone();
            let (meeting, id) = (key.grant.meeting.clone(), key.id.clone());
            tokio::spawn(async move {
                if let Ok(Err(e)) = store.run(move |s| s.touch_key(&meeting, &id, now)).await {
                    tracing::warn!(error = %e, "could not record a key's last use");
                }
            });
        }
    }

    /// Creates a key (see [`create`]) and makes it usable at once.
    pub async fn create(
        &self,
        meeting: &str,
        scope: &KeyScope,
        label: &str,
        now: i64,
    ) -> Result<(ApiKeyRow, String), KeyError> {
        let (row, key) = create(&self.store, meeting, scope, label, now).await?;
        self.by_hash.insert(row.hash, Arc::new(LiveKey::new(&row)));
        tracing::info!(meeting, key_id = %row.id, role = %scope, "API key created");
        Ok((row, key))
    }

    /// The keys of a meeting, with their exact last use.
    pub async fn list(&self, meeting: &str) -> Result<Vec<ApiKeyRow>, KeyError> {
        let mut rows = list(&self.store, meeting).await?;
        for r in &mut rows {
            if let Some(k) = self.by_hash.get(&r.hash) {
                let used = k.last_used.load(Ordering::Relaxed);
                if used > 0 {
                    r.last_used_at = Some(used);
                }
            }
        }
        Ok(rows)
    }

    /// Revokes a key: it stops working before this returns, and every event stream
    /// opened with it ends. If the store cannot record the revocation, the key still stays
    /// unusable until the server restarts, and the error says so.
    pub async fn revoke(&self, meeting: &str, id: &str, now: i64) -> Result<ApiKeyRow, KeyError> {
        let live: Vec<Arc<LiveKey>> = self
            .by_hash
            .iter()
            .filter(|k| k.grant.meeting == meeting && k.id == id)
            .map(|k| k.clone())
            .collect();
        for k in &live {
            self.by_hash.remove(&k.hash);
            k.grant.revocation.revoke(crate::hub::close::REVOKED);
        }
        let row = revoke(&self.store, meeting, id, now).await?;
        if let Some(shared) = &self.shared {
            shared.revoked(&row).await;
        }
        tracing::info!(meeting, key_id = %id, "API key revoked");
        Ok(row)
    }

    /// Forgets every key of a deleted meeting (the store deletes their rows).
    pub fn forget_meeting(&self, meeting: &str) {
        self.by_hash.retain(|_, k| {
            let keep = k.grant.meeting != meeting;
            if !keep {
                k.grant.revocation.revoke(crate::hub::close::REVOKED);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_128_bit_and_labels_are_checked() {
        let k = new_key();
        assert!(well_formed(&k) && k.len() == PREFIX.len() + 32);
        assert!(!well_formed(crate::tokens::new_token().as_str()));
        assert_eq!(
            check_label("  Stream Deck booth A ").unwrap(),
            "Stream Deck booth A"
        );
        assert!(check_label("").is_err());
        assert!(check_label("a\nb").is_err());
        assert!(check_label(&"x".repeat(81)).is_err());
    }
}
