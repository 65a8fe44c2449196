//! The Redis journal: [`RedisStore`] implements the [`Store`] trait, so the meeting task
//! and the store's group commit are the same as with SQLite; only where batches go
//! differs.
//!
//! Each batch is one [`scripts::APPEND`] call: it checks the writer's lease and epoch and
//! the journal's last seq, and only then appends (a stream entry per event, id
//! `<seq>-0`), so a stale owner's write is refused as a whole, never interleaved. The
//! batches waiting at one moment (across meetings) go in one pipeline: one round trip,
//! and with `appendfsync always` one fsync, for all of them. Optionally a `WAIT` for
//! replicas ends the pipeline; a batch then counts as durable only once enough replicas
//! have it.
//!
//! Runs on the store's own thread with a blocking connection, reconnecting after any
//! error. A connection lost during a commit leaves the outcome unknown:
//! [`StoreError::Unavailable`], and the meeting task reloads from the journal.

use super::apikeys;
use super::keys;
pub use super::rows::{hash_of_hex, TokenWire};
use super::scripts::{is_noscript, Scripts};
use crate::store::{
    ApiKeyRow, Batch, IdempotencyRecord, MeetingStatus, Recovered, Snapshot, Store, StoreError,
    StoredMeeting, TokenRow, IDEMPOTENCY_TTL_MS,
};
use podium_protocol::Agenda;
use redis::{Connection, RedisResult, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Durability settings of the journal.
#[derive(Debug, Clone, Copy)]
pub struct Durability {
    /// Replicas that must have each batch before it is acknowledged (`WAIT`); 0: none.
    pub wait_replicas: usize,
    /// How long `WAIT` may take; a batch not on enough replicas by then fails with an
    /// unknown outcome.
    pub wait_timeout: Duration,
}

/// The journal and records of every meeting, in Redis.
pub struct RedisStore {
    /// Where to connect (again).
    client: redis::Client,
    /// The open connection, if any; dropped after an error.
    conn: Option<Connection>,
    /// This node's name: part of the lease value an append must match.
    node: String,
    /// The scripts, by SHA.
    pub(super) scripts: Scripts,
    /// `WAIT` settings.
    durability: Durability,
    /// Counts appends refused by fencing (this node was no longer the owner).
    fenced: Arc<AtomicU64>,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// A store for node `node`; connects on first use.
    pub fn new(client: redis::Client, node: &str, durability: Durability) -> RedisStore {
        RedisStore {
            client,
            conn: None,
            node: node.to_string(),
            scripts: Scripts::new(),
            durability,
            fenced: Arc::default(),
        }
    }

    /// Counts refused appends in `counter` (the node's metrics).
    pub fn count_fenced(mut self, counter: Arc<AtomicU64>) -> RedisStore {
        self.fenced = counter;
        self
    }

    fn connect(&mut self) -> Result<&mut Connection, StoreError> {
        if self.conn.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(Duration::from_secs(5))
                .map_err(unavailable)?;
            // A blocked server must not hang the writer thread forever; WAIT may take
            // its own timeout on top.
            let limit = Duration::from_secs(10) + self.durability.wait_timeout;
            con.set_read_timeout(Some(limit)).map_err(unavailable)?;
            con.set_write_timeout(Some(limit)).map_err(unavailable)?;
            self.conn = Some(con);
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    /// Runs `f` on the connection; any error drops the connection (the next call
    /// reconnects), and `NOSCRIPT` loads the scripts and runs `f` once more.
    pub(super) fn with<T>(
        &mut self,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        for attempt in 0..2 {
            let con = self.connect()?;
            let result = f(con);
            match result {
                Ok(v) => return Ok(v),
                Err(e) if is_noscript(&e) && attempt == 0 => {
                    let load = self.scripts.load_pipeline();
                    let con = self.connect()?;
                    if let Err(e) = load.query::<()>(con) {
                        self.conn = None;
                        return Err(unavailable(e));
                    }
                }
                Err(e) => {
                    if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                        self.conn = None;
                    }
                    return Err(unavailable(e));
                }
            }
        }
        Err(StoreError::Unavailable(
            "scripts could not be loaded".into(),
        ))
    }

    /// The `EVALSHA` of one batch's append.
    fn append_cmd(&self, b: &Batch) -> redis::Cmd {
        let id = &b.meeting;
        let k = |w: &str| keys::m(id, w);
        let (head, lease, journal, snap, mtokens, idem, idemz, removed) = (
            k("head"),
            k("lease"),
            k("journal"),
            k("snap"),
            k("tokens"),
            k("idem"),
            k("idemz"),
            k("removed"),
        );
        let mut c = self.scripts.append.cmd(&[
            &head,
            &lease,
            &journal,
            &snap,
            keys::TOKENS,
            &mtokens,
            &idem,
            &idemz,
            &removed,
        ]);
        c.arg(b.epoch)
            .arg(format!("{}/{}", self.node, b.epoch))
            .arg(b.first_seq)
            .arg(b.events.len());
        for e in &b.events {
            c.arg(e);
        }
        match &b.snapshot {
            Some(s) => c
                .arg(1)
                .arg(s.seq)
                .arg(&s.state)
                .arg(s.agenda.as_deref().unwrap_or("")),
            None => c.arg(0).arg(0).arg("").arg(""),
        };
        c.arg(b.tokens.len());
        for t in &b.tokens {
            c.arg(hex::encode(t.hash))
                .arg(serde_json::to_string(&TokenWire::of(t)).expect("token row serialises"));
        }
        c.arg(b.revoked.len());
        for h in &b.revoked {
            c.arg(hex::encode(h));
        }
        c.arg(b.idempotency.len());
        for r in &b.idempotency {
            c.arg(apikeys::record_field(&r.scope, &r.key))
                .arg(apikeys::record_value(r))
                .arg(r.at);
        }
        c.arg(IDEMPOTENCY_TTL_MS);
        c.arg(b.removed.len());
        for p in &b.removed {
            c.arg(p);
        }
        c
    }

    /// The meeting's tokens that open something: removed participants' are left out.
    fn rows(&mut self, meeting: &str) -> Result<Vec<TokenRow>, StoreError> {
        let list = keys::m(meeting, "tokens");
        let hashes: Vec<String> =
            self.with(|c| redis::cmd("LRANGE").arg(&list).arg(0).arg(-1).query(c))?;
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let removed: Vec<u64> = self.with(|c| {
            redis::cmd("SMEMBERS")
                .arg(keys::m(meeting, "removed"))
                .query(c)
        })?;
        let rows: Vec<Option<String>> =
            self.with(|c| redis::cmd("HMGET").arg(keys::TOKENS).arg(&hashes).query(c))?;
        let mut out = Vec::with_capacity(rows.len());
        for (h, row) in hashes.iter().zip(rows) {
            let Some(row) = row else { continue };
            let wire: TokenWire = serde_json::from_str(&row)
                .map_err(|e| StoreError::Decode(format!("token row: {e}")))?;
            if wire.participant.is_some_and(|p| removed.contains(&p)) {
                continue;
            }
            out.push(wire.row(hash_of_hex(h)?));
        }
        Ok(out)
    }
}

fn code(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

impl Store for RedisStore {
    fn create_meeting(
        &mut self,
        meeting: &StoredMeeting,
        tokens: &[TokenRow],
    ) -> Result<(), StoreError> {
        let id = &meeting.id;
        let agenda = serde_json::to_string(&meeting.agenda)
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        let (record, mtokens, head) = (
            keys::meeting(id),
            keys::m(id, "tokens"),
            keys::m(id, "head"),
        );
        let mut cmd = self.scripts.create.cmd(&[
            keys::MEETINGS,
            &record,
            keys::TOKENS,
            &mtokens,
            &head,
            keys::MEETINGS_VER,
        ]);
        cmd.arg(id)
            .arg(agenda)
            .arg(meeting.created_at)
            .arg(tokens.len());
        for t in tokens {
            cmd.arg(hex::encode(t.hash))
                .arg(serde_json::to_string(&TokenWire::of(t)).expect("token row serialises"));
        }
        let created: i64 = self.with(|c| cmd.query(c))?;
        if created == 0 {
            return Err(StoreError::Exists(id.clone()));
        }
        Ok(())
    }

    fn meetings(&mut self) -> Result<Vec<StoredMeeting>, StoreError> {
        let ids: Vec<String> = self.with(|c| {
            redis::cmd("ZRANGE")
                .arg(keys::MEETINGS)
                .arg(0)
                .arg(-1)
                .query(c)
        })?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET")
                .arg(keys::meeting(id))
                .arg("agenda")
                .arg("status")
                .arg("created_at");
        }
        type Rec = (Option<String>, Option<String>, Option<i64>);
        let recs: Vec<Rec> = self.with(|c| pipe.query(c))?;
        let mut out = Vec::new();
        for (id, (agenda, status, created_at)) in ids.into_iter().zip(recs) {
            let Some(agenda) = agenda else { continue };
            let agenda: Agenda = serde_json::from_str(&agenda)
                .map_err(|e| StoreError::Decode(format!("agenda of {id}: {e}")))?;
            let status = match status.as_deref() {
                Some("archived") => MeetingStatus::Archived,
                _ => MeetingStatus::Live,
            };
            out.push(StoredMeeting {
                id,
                agenda,
                status,
                created_at: created_at.unwrap_or(0),
            });
        }
        Ok(out)
    }

    fn tokens(&mut self, meeting: &str) -> Result<Vec<TokenRow>, StoreError> {
        self.rows(meeting)
    }

    fn commit(&mut self, batches: &[Batch]) -> Result<(), StoreError> {
        self.commit_each(batches).into_iter().collect()
    }

    fn commit_each(&mut self, batches: &[Batch]) -> Vec<Result<(), StoreError>> {
        let cmds: Vec<redis::Cmd> = batches.iter().map(|b| self.append_cmd(b)).collect();
        let wait = self.durability.wait_replicas;
        let timeout = self.durability.wait_timeout.as_millis() as u64;
        let run = |c: &mut Connection| -> RedisResult<Vec<RedisResult<Value>>> {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for cmd in &cmds {
                pipe.add_command(cmd.clone());
            }
            if wait > 0 {
                pipe.cmd("WAIT").arg(wait).arg(timeout);
            }
            let results: Vec<RedisResult<Value>> = pipe.query(c)?;
            // A script the server does not know: load and send the whole pipeline again
            // (a refused EVALSHA ran nothing; the others are then refused by seq, below).
            if let Some(Err(e)) = results
                .iter()
                .find(|r| matches!(r, Err(e) if is_noscript(e)))
            {
                return Err(e.clone());
            }
            Ok(results)
        };
        let results = match self.with(run) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.to_string();
                return batches
                    .iter()
                    .map(|_| Err(StoreError::Unavailable(msg.clone())))
                    .collect();
            }
        };
        let replicas_ok = if wait > 0 {
            match results.last() {
                Some(Ok(Value::Int(n))) => *n as usize >= wait,
                _ => false,
            }
        } else {
            true
        };
        let fenced = &self.fenced;
        let fence = |e: StoreError| {
            fenced.fetch_add(1, Ordering::Relaxed);
            Err(e)
        };
        batches
            .iter()
            .zip(results)
            .map(|(b, r)| match r {
                Ok(v) => match code(&v) {
                    Some(0) if replicas_ok => Ok(()),
                    Some(0) => Err(StoreError::Unavailable(format!(
                        "the journal append is on the primary but not yet on {wait} replica(s)"
                    ))),
                    Some(-1) => fence(StoreError::Fenced(b.meeting.clone())),
                    Some(-2) => fence(StoreError::Fenced(format!(
                        "{} (the journal moved past seq {})",
                        b.meeting,
                        b.first_seq - 1
                    ))),
                    _ => Err(StoreError::Unavailable(format!("unexpected answer {v:?}"))),
                },
                Err(e) => Err(StoreError::Unavailable(e.to_string())),
            })
            .collect()
    }

    fn recover(&mut self, meeting: &str) -> Result<Recovered, StoreError> {
        let snap_key = keys::m(meeting, "snap");
        let (seq, state, agenda): (Option<u64>, Option<String>, Option<String>) =
            self.with(|c| {
                redis::cmd("HMGET")
                    .arg(&snap_key)
                    .arg("seq")
                    .arg("state")
                    .arg("agenda")
                    .query(c)
            })?;
        let snapshot = match (seq, state) {
            (Some(seq), Some(state)) => Some(Snapshot { seq, state, agenda }),
            _ => None,
        };
        let mut after = snapshot.as_ref().map(|s| s.seq).unwrap_or(0);
        let mut tail = Vec::new();
        loop {
            let page = self.journal(meeting, after, 1000)?;
            let n = page.len();
            after = page.last().map_or(after, |(seq, _)| *seq);
            tail.extend(page);
            if n < 1000 {
                break;
            }
        }
        Ok(Recovered { snapshot, tail })
    }

    fn journal(
        &mut self,
        meeting: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        type Entries = Vec<(String, Vec<(String, String)>)>;
        let journal = keys::m(meeting, "journal");
        let page: Entries = self.with(|c| {
            redis::cmd("XRANGE")
                .arg(&journal)
                .arg(format!("{}-0", after + 1))
                .arg("+")
                .arg("COUNT")
                .arg(limit)
                .query(c)
        })?;
        page.into_iter()
            .map(|(id, fields)| {
                let seq: u64 = id
                    .split('-')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| StoreError::Decode(format!("journal entry id {id:?}")))?;
                let event = fields
                    .into_iter()
                    .find(|(k, _)| k == "e")
                    .map(|(_, v)| v)
                    .ok_or_else(|| {
                        StoreError::Decode(format!("journal entry {id} has no event"))
                    })?;
                Ok((seq, event))
            })
            .collect()
    }

    fn set_status(&mut self, meeting: &str, status: MeetingStatus) -> Result<(), StoreError> {
        let (record, head) = (keys::meeting(meeting), keys::m(meeting, "head"));
        let mut cmd = self
            .scripts
            .status
            .cmd(&[&record, &head, keys::MEETINGS_VER]);
        cmd.arg(status.as_str());
        let done: i64 = self.with(|c| cmd.query(c))?;
        if done == 0 {
            return Err(StoreError::NoSuchMeeting(meeting.into()));
        }
        Ok(())
    }

    fn delete(&mut self, meeting: &str) -> Result<(), StoreError> {
        let k = |w: &str| keys::m(meeting, w);
        let (record, mtokens, head, journal, snap, idem, idemz, lease, removed, api) = (
            keys::meeting(meeting),
            k("tokens"),
            k("head"),
            k("journal"),
            k("snap"),
            k("idem"),
            k("idemz"),
            k("lease"),
            k("removed"),
            k("apikeys"),
        );
        let mut cmd = self.scripts.delete.cmd(&[
            keys::MEETINGS,
            &record,
            keys::TOKENS,
            &mtokens,
            &head,
            &journal,
            &snap,
            &idem,
            &idemz,
            &lease,
            keys::MEETINGS_VER,
            &removed,
            &api,
            keys::API_KEYS,
        ]);
        cmd.arg(meeting);
        let done: i64 = self.with(|c| cmd.query(c))?;
        if done == 0 {
            return Err(StoreError::NoSuchMeeting(meeting.into()));
        }
        Ok(())
    }

    fn create_key(&mut self, key: &ApiKeyRow) -> Result<bool, StoreError> {
        self.key_create(key)
    }

    fn keys(&mut self, meeting: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.key_rows(meeting)
    }

    fn revoke_key(
        &mut self,
        meeting: &str,
        id: &str,
        at: i64,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        self.key_revoke(meeting, id, at)
    }

    fn touch_key(&mut self, meeting: &str, id: &str, at: i64) -> Result<(), StoreError> {
        self.key_touch(meeting, id, at)
    }

    fn idempotency(
        &mut self,
        meeting: &str,
        scope: &[u8; 32],
        key: &str,
        since: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.record(meeting, scope, key, since)
    }

    fn idempotency_since(
        &mut self,
        meeting: &str,
        since: i64,
    ) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.records_since(meeting, since)
    }
}
