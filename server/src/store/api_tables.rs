//! The SQLite side of the HTTP API's tables: API keys (`api_keys`) and the records of
//! commands applied under an `Idempotency-Key` (`idempotency`). [`SCHEMA`] is one of the
//! SQLite store's migrations (a database made by an older Podium gains the tables on its
//! first open); the functions here back the [`super::Store`] methods of
//! [`super::sqlite::SqliteStore`].

use super::{ApiKeyRow, IdempotencyRecord, StoreError};
use podium_protocol::Role;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// How long an idempotency record is kept: a retry comes within seconds or minutes.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// The tables (a migration of `super::sqlite`).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    meeting TEXT NOT NULL,
    id TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    role TEXT NOT NULL,
    person TEXT,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER,
    PRIMARY KEY (meeting, id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    meeting TEXT NOT NULL,
    scope BLOB NOT NULL,
    key TEXT NOT NULL,
    request BLOB NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (meeting, scope, key)
) WITHOUT ROWID;
";

/// Forgets idempotency records older than a day (run when the store opens).
pub fn expire(conn: &Connection, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM idempotency WHERE at < ?1",
        [now - IDEMPOTENCY_TTL_MS],
    )?;
    Ok(())
}

pub(super) fn create_key(conn: &Connection, k: &ApiKeyRow) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO api_keys (meeting, id, hash, role, person, label, created_at, last_used_at, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (meeting, id) DO NOTHING",
        params![
            k.meeting,
            k.id,
            &k.hash[..],
            k.role.as_str(),
            k.person,
            k.label,
            k.created_at,
            k.last_used_at,
            k.revoked_at
        ],
    )?;
    Ok(n == 1)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKeyRow, String, Vec<u8>)> {
    Ok((
        ApiKeyRow {
            meeting: r.get(0)?,
            id: r.get(1)?,
            hash: [0; 32],
            role: Role::Host,
            person: r.get(4)?,
            label: r.get(5)?,
            created_at: r.get(6)?,
            last_used_at: r.get(7)?,
            revoked_at: r.get(8)?,
        },
        r.get(3)?,
        r.get(2)?,
    ))
}

fn decode((mut k, role, hash): (ApiKeyRow, String, Vec<u8>)) -> Result<ApiKeyRow, StoreError> {
    k.role = Role::parse(&role)
        .ok_or_else(|| StoreError::Decode(format!("unknown role {role:?} in api_keys")))?;
    k.hash = hash
        .try_into()
        .map_err(|_| StoreError::Decode("an API key hash is not 32 bytes".into()))?;
    Ok(k)
}

const COLUMNS: &str =
    "meeting, id, hash, role, person, label, created_at, last_used_at, revoked_at";

pub(super) fn keys(conn: &Connection, meeting: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE ?1 IS NULL OR meeting = ?1 ORDER BY created_at, rowid"
    ))?;
    let rows = stmt.query_map([meeting], row)?;
    rows.map(|r| decode(r?)).collect()
}

pub(super) fn revoke_key(
    conn: &Connection,
    meeting: &str,
    id: &str,
    at: i64,
) -> Result<Option<ApiKeyRow>, StoreError> {
    conn.execute(
        "UPDATE api_keys SET revoked_at = ?3 WHERE meeting = ?1 AND id = ?2 AND revoked_at IS NULL",
        params![meeting, id, at],
    )?;
    let found = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE meeting = ?1 AND id = ?2"),
            [meeting, id],
            row,
        )
        .optional()?;
    found.map(decode).transpose()
}

pub(super) fn touch_key(
    conn: &Connection,
    meeting: &str,
    id: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?3)
         WHERE meeting = ?1 AND id = ?2",
        params![meeting, id, at],
    )?;
    Ok(())
}

/// Inside a journal transaction: the batch's idempotency records.
pub(super) fn insert_idempotency(
    tx: &Transaction<'_>,
    records: &[IdempotencyRecord],
) -> Result<(), StoreError> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO idempotency (meeting, scope, key, request, seq, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (meeting, scope, key) DO UPDATE
         SET request = excluded.request, seq = excluded.seq, at = excluded.at",
    )?;
    for r in records {
        ins.execute(params![
            r.meeting,
            &r.scope[..],
            r.key,
            &r.request[..],
            r.seq as i64,
            r.at
        ])?;
    }
    Ok(())
}

pub(super) fn idempotency(
    conn: &Connection,
    meeting: &str,
    scope: &[u8; 32],
    key: &str,
    since: i64,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let found = conn
        .query_row(
            "SELECT request, seq, at FROM idempotency
             WHERE meeting = ?1 AND scope = ?2 AND key = ?3 AND at >= ?4",
            params![meeting, &scope[..], key, since],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    found
        .map(|(request, seq, at)| {
            Ok(IdempotencyRecord {
                meeting: meeting.to_string(),
                scope: *scope,
                key: key.to_string(),
                request: request.try_into().map_err(|_| {
                    StoreError::Decode("an idempotency hash is not 32 bytes".into())
                })?,
                seq: seq as u64,
                at,
            })
        })
        .transpose()
}

pub(super) fn idempotency_since(
    conn: &Connection,
    meeting: &str,
    since: i64,
) -> Result<Vec<IdempotencyRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT scope, key, request, seq, at FROM idempotency WHERE meeting = ?1 AND at >= ?2",
    )?;
    let rows = stmt.query_map(params![meeting, since], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let bad = || StoreError::Decode("an idempotency hash is not 32 bytes".into());
    rows.map(|r| {
        let (scope, key, request, seq, at) = r?;
        Ok(IdempotencyRecord {
            meeting: meeting.to_string(),
            scope: scope.try_into().map_err(|_| bad())?,
            key,
            request: request.try_into().map_err(|_| bad())?,
            seq: seq as u64,
            at,
        })
    })
    .collect()
}
