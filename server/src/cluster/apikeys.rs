//! API keys and idempotency records in Redis: the [`crate::store::Store`] methods of the
//! HTTP API's tables for [`super::journal::RedisStore`], and the check every node makes
//! when a key is used ([`NodeKeys`]), so that a key created on one node works on every
//! node and a key revoked on one node is refused by every node at once.
//!
//! A key is the hash `podium:apikey:<hash>` (its row; the key itself is never stored),
//! found by id through `podium:m:<id>:apikeys` and listed through `podium:apikeys`. An
//! idempotency record is a field `<scope>:<key>` of `podium:m:<id>:idem`, written by the
//! journal append with the command's events (see [`super::scripts::APPEND`]).

use super::journal::{hash_of_hex, RedisStore};
use super::keys;
use crate::keys::SharedKeys;
use crate::store::{ApiKeyRow, IdempotencyRecord, StoreError};
use futures_util::future::BoxFuture;
use podium_protocol::Role;
use redis::aio::ConnectionManager;
use std::collections::HashMap;

/// The fields of a key's hash, as Redis returns them.
pub type Fields = HashMap<String, String>;

/// A key's row from its hash; `None` if the hash is empty (no such key).
pub fn row_of(hash: [u8; 32], f: &Fields) -> Result<Option<ApiKeyRow>, StoreError> {
    if f.is_empty() {
        return Ok(None);
    }
    let get = |k: &str| f.get(k).filter(|v| !v.is_empty()).cloned();
    let num = |k: &str| -> Result<Option<i64>, StoreError> {
        get(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| StoreError::Decode(format!("API key field {k}: {v:?}")))
            })
            .transpose()
    };
    let role = get("role").unwrap_or_default();
    Ok(Some(ApiKeyRow {
        meeting: get("meeting").unwrap_or_default(),
        id: get("id").unwrap_or_default(),
        hash,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Decode(format!("unknown role {role:?} of an API key")))?,
        person: get("person"),
        label: get("label").unwrap_or_default(),
        created_at: num("created_at")?.unwrap_or(0),
        last_used_at: num("last_used_at")?,
        revoked_at: num("revoked_at")?,
    }))
}

/// The `KEY_CREATE` call for a row.
pub fn create_cmd(scripts: &super::scripts::Scripts, k: &ApiKeyRow) -> redis::Cmd {
    let h = hex::encode(k.hash);
    let (idx, key) = (keys::m(&k.meeting, "apikeys"), keys::api_key(&h));
    let mut c = scripts.key_create.cmd(&[&idx, &key, keys::API_KEYS]);
    c.arg(&k.id)
        .arg(&h)
        .arg(&k.meeting)
        .arg(k.role.as_str())
        .arg(k.person.as_deref().unwrap_or(""))
        .arg(&k.label)
        .arg(k.created_at);
    c
}

/// Sorts rows as the store lists them: oldest first.
pub fn sort(rows: &mut [ApiKeyRow]) {
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// The field of an idempotency record in `podium:m:<id>:idem`.
pub fn record_field(scope: &[u8; 32], key: &str) -> String {
    format!("{}:{key}", hex::encode(scope))
}

/// The value of an idempotency record: `<request>:<seq>:<at>`.
pub fn record_value(r: &IdempotencyRecord) -> String {
    format!("{}:{}:{}", hex::encode(r.request), r.seq, r.at)
}

/// A record back from its field and value.
pub fn record_of(meeting: &str, field: &str, value: &str) -> Option<IdempotencyRecord> {
    let (scope, key) = field.split_once(':')?;
    let mut v = value.split(':');
    let (request, seq, at) = (v.next()?, v.next()?, v.next()?);
    Some(IdempotencyRecord {
        meeting: meeting.to_string(),
        scope: hex::decode(scope).ok()?.try_into().ok()?,
        key: key.to_string(),
        request: hex::decode(request).ok()?.try_into().ok()?,
        seq: seq.parse().ok()?,
        at: at.parse().ok()?,
    })
}

/// The cluster's side of the key ring: checks keys in Redis, tells the other nodes of a
/// revocation.
pub struct NodeKeys {
    /// The node's multiplexed connection.
    pub conn: ConnectionManager,
}

impl SharedKeys for NodeKeys {
    fn check(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<ApiKeyRow>, StoreError>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let f: Fields = redis::cmd("HGETALL")
                .arg(keys::api_key(&hex::encode(hash)))
                .query_async(&mut c)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            Ok(row_of(hash, &f)?.filter(|r| r.revoked_at.is_none()))
        })
    }

    fn revoked(&self, row: &ApiKeyRow) -> BoxFuture<'_, ()> {
        let notice = super::revoke::encode_key(&row.meeting, &row.hash);
        Box::pin(async move {
            let mut c = self.conn.clone();
            let sent: Result<(), _> = redis::cmd("PUBLISH")
                .arg(keys::REVOKED)
                .arg(notice)
                .query_async(&mut c)
                .await;
            if let Err(e) = sent {
                // Every node checks a key in Redis when it is used: only its open event
                // streams elsewhere outlive the revocation, until their node resyncs.
                tracing::warn!(error = %e, "cannot tell the other nodes of a revoked key");
            }
        })
    }
}

/// The Store methods of the HTTP API's tables, for [`RedisStore`].
impl RedisStore {
    /// Creates a key (`false`: its id or hash exists).
    pub(super) fn key_create(&mut self, key: &ApiKeyRow) -> Result<bool, StoreError> {
        let cmd = create_cmd(&self.scripts, key);
        let created: i64 = self.with(|c| cmd.query(c))?;
        Ok(created == 1)
    }

    /// The keys of a meeting, or of every meeting, oldest first.
    pub(super) fn key_rows(&mut self, meeting: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError> {
        let hashes: Vec<String> = match meeting {
            Some(m) => self.with(|c| redis::cmd("HVALS").arg(keys::m(m, "apikeys")).query(c))?,
            None => self.with(|c| redis::cmd("SMEMBERS").arg(keys::API_KEYS).query(c))?,
        };
        let mut rows = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(500) {
            let mut pipe = redis::pipe();
            for h in chunk {
                pipe.cmd("HGETALL").arg(keys::api_key(h));
            }
            let all: Vec<Fields> = self.with(|c| pipe.query(c))?;
            for (h, f) in chunk.iter().zip(all) {
                rows.extend(row_of(hash_of_hex(h)?, &f)?);
            }
        }
        sort(&mut rows);
        Ok(rows)
    }

    /// Revokes a key by id; its row, if it exists.
    pub(super) fn key_revoke(
        &mut self,
        meeting: &str,
        id: &str,
        at: i64,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let mut cmd = self.scripts.key_revoke.cmd(&[&keys::m(meeting, "apikeys")]);
        cmd.arg(id).arg(at);
        let h: Option<String> = self.with(|c| cmd.query(c))?;
        let Some(h) = h else { return Ok(None) };
        let f: Fields = self.with(|c| redis::cmd("HGETALL").arg(keys::api_key(&h)).query(c))?;
        row_of(hash_of_hex(&h)?, &f)
    }

    /// Records a key's last use.
    pub(super) fn key_touch(&mut self, meeting: &str, id: &str, at: i64) -> Result<(), StoreError> {
        let mut cmd = self.scripts.key_touch.cmd(&[&keys::m(meeting, "apikeys")]);
        cmd.arg(id).arg(at);
        let _: i64 = self.with(|c| cmd.query(c))?;
        Ok(())
    }

    /// One idempotency record, if written since `since`.
    pub(super) fn record(
        &mut self,
        meeting: &str,
        scope: &[u8; 32],
        key: &str,
        since: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let field = record_field(scope, key);
        let v: Option<String> = self.with(|c| {
            redis::cmd("HGET")
                .arg(keys::m(meeting, "idem"))
                .arg(&field)
                .query(c)
        })?;
        Ok(v.and_then(|v| record_of(meeting, &field, &v))
            .filter(|r| r.at >= since))
    }

    /// A meeting's idempotency records written since `since`.
    pub(super) fn records_since(
        &mut self,
        meeting: &str,
        since: i64,
    ) -> Result<Vec<IdempotencyRecord>, StoreError> {
        let all: Vec<(String, String)> =
            self.with(|c| redis::cmd("HGETALL").arg(keys::m(meeting, "idem")).query(c))?;
        Ok(all
            .into_iter()
            .filter_map(|(f, v)| record_of(meeting, &f, &v))
            .filter(|r| r.at >= since)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_rows_read_back() {
        let r = IdempotencyRecord {
            meeting: "m".into(),
            scope: [3; 32],
            key: "a:b".into(),
            request: [4; 32],
            seq: 12,
            at: 99,
        };
        let back = record_of("m", &record_field(&r.scope, &r.key), &record_value(&r));
        assert_eq!(back, Some(r));
        let mut f = Fields::new();
        assert_eq!(row_of([1; 32], &f).unwrap(), None);
        for (k, v) in [
            ("meeting", "m"),
            ("id", "abc"),
            ("role", "moderator"),
            ("person", "x"),
            ("label", "Deck"),
            ("created_at", "5"),
            ("last_used_at", ""),
        ] {
            f.insert(k.into(), v.into());
        }
        let row = row_of([1; 32], &f).unwrap().unwrap();
        assert_eq!(
            (row.role, row.person.as_deref()),
            (Role::Moderator, Some("x"))
        );
        assert_eq!((row.last_used_at, row.revoked_at), (None, None));
    }
}
