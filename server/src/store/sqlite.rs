//! The SQLite store: one file, WAL mode, `synchronous=FULL`.
//!
//! With WAL and FULL, a transaction is durable when `COMMIT` returns: the WAL is fsynced
//! at every commit. Group commit (see [`super::StoreHandle`]) makes that one fsync per
//! batch of commands rather than one per command.

use super::{
    api_tables, ApiKeyRow, Batch, IdempotencyRecord, MeetingStatus, Recovered, Snapshot, Store,
    StoreError, StoredMeeting, TokenRow,
};
use podium_protocol::{Agenda, Role};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

/// The file name inside the data directory.
pub const FILE_NAME: &str = "podium.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    agenda TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'live',
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    hash BLOB PRIMARY KEY,
    meeting TEXT NOT NULL,
    role TEXT NOT NULL,
    person TEXT,
    participant INTEGER,
    link_token TEXT
);
CREATE INDEX IF NOT EXISTS tokens_meeting ON tokens(meeting);
CREATE TABLE IF NOT EXISTS events (
    meeting TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (meeting, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    meeting TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL
);
";

/// SQLite's page cache, KiB (SQLite's default is 2,000). The journal only appends, so its
/// writes touch the few pages on the right edge of each table, and recovery reads once at
/// start: a small cache costs nothing measurable and keeps a long meeting's memory from
/// growing by 2 MB as the file does (BENCHMARKS.md, soak).
const PAGE_CACHE_KIB: i64 = 512;

/// Schema changes since the first release, in order; `PRAGMA user_version` counts those
/// applied. Each runs once, in the transaction that records it.
const MIGRATIONS: &[&str] = &[
    // 1: snapshots keep the agenda they go with (agendas can be edited live).
    "ALTER TABLE snapshots ADD COLUMN agenda TEXT",
    // 2: API keys and idempotency records of the HTTP API.
    api_tables::SCHEMA,
];

/// Brings an opened database's schema up to date.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}

/// A Podium database in one SQLite file.
pub struct SqliteStore {
    /// The connection; used by one thread only.
    conn: Connection,
}

impl SqliteStore {
    /// Opens (or creates) `dir/podium.sqlite`. A file that is not a healthy Podium
    /// database is refused with [`StoreError::Corrupt`] and left untouched.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        super::hygiene::prepare_dir(dir)?;
        let path = dir.join(FILE_NAME);
        super::hygiene::before_open(&path)?;
        let existed = path.exists();
        // The WAL and its index beside the file, and whether they were there before us:
        // a refused file must be left exactly as it was, side files included.
        let side = |suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
        let sides: Vec<(PathBuf, bool)> = ["-wal", "-shm"]
            .iter()
            .map(|s| {
                let p = side(s);
                let there = p.exists();
                (p, there)
            })
            .collect();
        if !existed {
            // A WAL without its database: the database was moved or deleted and its WAL
            // left behind. Creating a new database here would overwrite that WAL, which
            // may hold the only copy of committed changes.
            let wal = &sides[0].0;
            if std::fs::metadata(wal).is_ok_and(|m| m.len() > 0) {
                return Err(StoreError::Corrupt {
                    path: wal.clone(),
                    problem: format!(
                        "a write-ahead log without its database ({} is missing); it holds \
                         changes of a database that was moved or deleted",
                        path.display()
                    ),
                });
            }
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| match super::hygiene::is_read_only(&source) {
            true => StoreError::ReadOnly {
                path: path.clone(),
                cause: std::io::Error::other(source.to_string()),
            },
            false => StoreError::Open {
                path: path.clone(),
                source,
            },
        })?;
        let had_sides = sides.iter().any(|(_, there)| *there);
        if existed {
            // Read before any write: a damaged file must stay exactly as it was. Closing
            // the last connection of a WAL database normally checkpoints the WAL into the
            // main file and deletes it; on a file we refuse, that would write into the
            // damaged file and throw away the committed transactions the WAL holds.
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
                .map_err(|source| StoreError::Open {
                    path: path.clone(),
                    source,
                })?;
            if let Err(problem) = check(&conn, had_sides) {
                drop(conn);
                // Remove what opening created (an empty WAL, the WAL index); keep what
                // was there.
                for (p, there) in &sides {
                    if !there {
                        let _ = std::fs::remove_file(p);
                    }
                }
                return Err(StoreError::Corrupt { path, problem });
            }
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| match super::hygiene::is_read_only(&e) {
                true => StoreError::ReadOnly {
                    path: dir.into(),
                    cause: std::io::Error::other(e.to_string()),
                },
                false => StoreError::Corrupt {
                    path: path.clone(),
                    problem: e.to_string(),
                },
            })?;
        super::hygiene::restrict_files(&path);
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        let mut conn = conn;
        conn.execute_batch(SCHEMA)?;
        migrate(&mut conn)?;
        api_tables::expire(&conn, crate::clock::now_ms())?;
        Ok(SqliteStore { conn })
    }

    /// The database file for a data directory.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }
}

/// Whether an existing file is a healthy Podium database (or an empty SQLite file), by
/// reading only. Returns what is wrong.
fn check(conn: &Connection, had_sides: bool) -> Result<(), String> {
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("integrity check failed: {check}"));
    }
    let (tables, podium): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE type = 'table' AND name = 'meetings')
             FROM sqlite_master",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| e.to_string())?;
    if podium == 0 && tables > 0 {
        return Err("this SQLite file is not a Podium database".into());
    }
    // An empty database with a WAL or WAL index beside it: not one Podium wrote (Podium's
    // first commit creates its tables), and starting afresh would overwrite that log.
    if podium == 0 && had_sides {
        return Err(
            "this database has no tables, yet a write-ahead log or its index is beside it: \
             they may belong to another copy of the database"
                .into(),
        );
    }
    Ok(())
}

fn role_of(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Decode(format!("unknown role {s:?} in tokens")))
}

impl Store for SqliteStore {
    fn create_meeting(
        &mut self,
        meeting: &StoredMeeting,
        tokens: &[TokenRow],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let exists: Option<String> = tx
            .query_row(
                "SELECT id FROM meetings WHERE id = ?1",
                [&meeting.id],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Exists(meeting.id.clone()));
        }
        let agenda = serde_json::to_string(&meeting.agenda)
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        tx.execute(
            "INSERT INTO meetings (id, agenda, status, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                meeting.id,
                agenda,
                meeting.status.as_str(),
                meeting.created_at
            ],
        )?;
        insert_tokens(&tx, tokens)?;
        tx.commit()?;
        Ok(())
    }

    fn meetings(&mut self) -> Result<Vec<StoredMeeting>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, agenda, status, created_at FROM meetings ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, agenda, status, created_at) = row?;
            let agenda: Agenda = serde_json::from_str(&agenda)
                .map_err(|e| StoreError::Decode(format!("agenda of {id}: {e}")))?;
            let status = match status.as_str() {
                "archived" => MeetingStatus::Archived,
                _ => MeetingStatus::Live,
            };
            out.push(StoredMeeting {
                id,
                agenda,
                status,
                created_at,
            });
        }
        Ok(out)
    }

    fn tokens(&mut self, meeting: &str) -> Result<Vec<TokenRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT hash, role, person, participant, link_token FROM tokens WHERE meeting = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([meeting], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, role, person, participant, link_token) = row?;
            let hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| StoreError::Decode("a token hash is not 32 bytes".into()))?;
            out.push(TokenRow {
                hash,
                meeting: meeting.to_string(),
                role: role_of(&role)?,
                person,
                participant: participant.map(|p| p as u64),
                link_token,
            });
        }
        Ok(out)
    }

    fn commit(&mut self, batches: &[Batch]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut ins =
                tx.prepare_cached("INSERT INTO events (meeting, seq, event) VALUES (?1, ?2, ?3)")?;
            for b in batches {
                for (i, e) in b.events.iter().enumerate() {
                    ins.execute(params![b.meeting, (b.first_seq + i as u64) as i64, e])?;
                }
            }
            let mut snap = tx.prepare_cached(
                "INSERT INTO snapshots (meeting, seq, state, agenda) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(meeting) DO UPDATE
                 SET seq = excluded.seq, state = excluded.state, agenda = excluded.agenda",
            )?;
            for b in batches {
                if let Some(sn) = &b.snapshot {
                    snap.execute(params![b.meeting, sn.seq as i64, sn.state, sn.agenda])?;
                }
            }
        }
        for b in batches {
            insert_tokens(&tx, &b.tokens)?;
            let mut del = tx.prepare_cached("DELETE FROM tokens WHERE hash = ?1")?;
            for hash in &b.revoked {
                del.execute([&hash[..]])?;
            }
            api_tables::insert_idempotency(&tx, &b.idempotency)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn recover(&mut self, meeting: &str) -> Result<Recovered, StoreError> {
        let snapshot: Option<Snapshot> = self
            .conn
            .query_row(
                "SELECT seq, state, agenda FROM snapshots WHERE meeting = ?1",
                [meeting],
                |r| {
                    Ok(Snapshot {
                        seq: r.get::<_, i64>(0)? as u64,
                        state: r.get(1)?,
                        agenda: r.get(2)?,
                    })
                },
            )
            .optional()?;
        let after = snapshot.as_ref().map(|s| s.seq).unwrap_or(0);
        let tail = self.journal(meeting, after, usize::MAX)?;
        Ok(Recovered { snapshot, tail })
    }

    fn journal(
        &mut self,
        meeting: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, event FROM events WHERE meeting = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![meeting, after as i64, limit], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn set_status(&mut self, meeting: &str, status: MeetingStatus) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE meetings SET status = ?2 WHERE id = ?1",
            params![meeting, status.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchMeeting(meeting.into()));
        }
        Ok(())
    }

    fn delete(&mut self, meeting: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM meetings WHERE id = ?1", [meeting])?;
        if n == 0 {
            return Err(StoreError::NoSuchMeeting(meeting.into()));
        }
        for table in ["tokens", "events", "snapshots", "api_keys", "idempotency"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE meeting = ?1"),
                [meeting],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn create_key(&mut self, key: &ApiKeyRow) -> Result<bool, StoreError> {
        api_tables::create_key(&self.conn, key)
    }

    fn keys(&mut self, meeting: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError> {
        api_tables::keys(&self.conn, meeting)
    }

    fn revoke_key(
        &mut self,
        meeting: &str,
        id: &str,
        at: i64,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        api_tables::revoke_key(&self.conn, meeting, id, at)
    }

    fn touch_key(&mut self, meeting: &str, id: &str, at: i64) -> Result<(), StoreError> {
        api_tables::touch_key(&self.conn, meeting, id, at)
    }

    fn idempotency_since(
        &mut self,
        meeting: &str,
        since: i64,
    ) -> Result<Vec<IdempotencyRecord>, StoreError> {
        api_tables::idempotency_since(&self.conn, meeting, since)
    }

    fn idempotency(
        &mut self,
        meeting: &str,
        scope: &[u8; 32],
        key: &str,
        since: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        api_tables::idempotency(&self.conn, meeting, scope, key, since)
    }
}

fn insert_tokens(tx: &rusqlite::Transaction<'_>, tokens: &[TokenRow]) -> Result<(), StoreError> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO tokens (hash, meeting, role, person, participant, link_token)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for t in tokens {
        ins.execute(params![
            &t.hash[..],
            t.meeting,
            t.role.as_str(),
            t.person,
            t.participant.map(|p| p as i64),
            t.link_token
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by the first release (schema 0: snapshots without an agenda)
    /// opens, is migrated once, and its snapshot reads back with no agenda.
    #[test]
    fn a_schema_0_database_is_migrated_and_keeps_its_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(SqliteStore::path(dir.path())).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO snapshots (meeting, seq, state) VALUES ('m', 1000, '{}')",
                [],
            )
            .unwrap();
        }
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let snap = store.recover("m").unwrap().snapshot.unwrap();
        assert_eq!((snap.seq, snap.agenda), (1000, None));
        // A new snapshot keeps its agenda; opening again migrates nothing twice.
        store
            .commit(&[Batch {
                meeting: "m".into(),
                first_seq: 1001,
                events: vec!["{}".into()],
                tokens: vec![],
                revoked: vec![],
                snapshot: Some(Snapshot {
                    seq: 1001,
                    state: "{}".into(),
                    agenda: Some("{\"a\":1}".into()),
                }),
                idempotency: vec![],
                ..Batch::default()
            }])
            .unwrap();
        drop(store);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let snap = store.recover("m").unwrap().snapshot.unwrap();
        assert_eq!(snap.agenda.as_deref(), Some("{\"a\":1}"));
    }
}
