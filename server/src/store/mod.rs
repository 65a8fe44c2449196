//! Durable storage: meetings, their capability tokens, the append-only journal of engine
//! events and periodic snapshots.
//!
//! [`Store`] is the small synchronous trait an engine must provide (SQLite today, see
//! [`sqlite`]); [`StoreHandle`] runs it on one dedicated thread and gives the async world
//! *group commit*: every commit request that arrives while a transaction is being written
//! goes into the next transaction together, so one fsync covers many commands.
//!
//! Architecture invariant: a meeting task acknowledges or publishes nothing until
//! [`StoreHandle::commit`] has returned `Ok` for the events concerned.

mod api_tables;
pub use api_tables::IDEMPOTENCY_TTL_MS;
pub mod hygiene;
pub mod sqlite;

use podium_protocol::{Agenda, Role};
use std::path::PathBuf;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// What can go wrong with the store. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a usable Podium database.
    #[error("{path}: {problem}. Podium will not overwrite it: move it away (with its -wal and -shm files, if any) or restore a backup, then start again")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        problem: String,
    },
    /// The file could not be opened or created.
    #[error("{path}: cannot open the database: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The data directory or database cannot be written by this process.
    #[error("{path} is read-only for Podium ({cause}). Podium writes its journal there: make it writable for the user running Podium (or remount it read-write), or pass --data a writable directory")]
    ReadOnly {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The data directory cannot be used for another reason.
    #[error("{path}: {cause}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data did not decode.
    #[error("stored data is damaged: {0}")]
    Decode(String),
    /// A meeting id is taken.
    #[error("a meeting with the id {0:?} exists already; choose another id")]
    Exists(String),
    /// A meeting is not in the store.
    #[error("no meeting has the id {0:?}")]
    NoSuchMeeting(String),
    /// A journal write failed; nothing of the batch was stored.
    #[error("journal write failed: {0}")]
    Write(String),
    /// The writer thread has stopped (the server is shutting down).
    #[error("the store is closed")]
    Closed,
    /// The writer no longer owns the meeting (cluster): another node took its lease and
    /// raised the fencing epoch. Nothing of the batch was stored.
    #[error("this node no longer owns meeting {0:?}: another node took it over")]
    Fenced(String),
    /// The store could not be reached, or did not answer (cluster): the batch may or may
    /// not have been stored. A reload tells which.
    #[error("the shared store is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether the batch may have been stored although the commit failed: the outcome is
    /// unknown (a connection lost mid-write), not a refusal.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Lifecycle of a stored meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Loaded at start and open for commands.
    Live,
    /// Read-only: not loaded at start, still reportable.
    Archived,
}

impl MeetingStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Live => "live",
            MeetingStatus::Archived => "archived",
        }
    }
}

/// A capability token's row. Role-link tokens keep their text so that links can be
/// printed again; participants' personal tokens are stored as a hash only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// SHA-256 of the token: the lookup key.
    pub hash: [u8; 32],
    /// The meeting it opens.
    pub meeting: String,
    /// The role it grants.
    pub role: Role,
    /// Agenda person id for moderator and speaker links.
    pub person: Option<String>,
    /// Participant id for personal tokens.
    pub participant: Option<u64>,
    /// The token itself, for role links only (never for personal tokens).
    pub link_token: Option<String>,
}

/// A meeting as stored, without its journal.
#[derive(Debug, Clone)]
pub struct StoredMeeting {
    /// Meeting id.
    pub id: String,
    /// The agenda.
    pub agenda: Agenda,
    /// Live or archived.
    pub status: MeetingStatus,
    /// Creation time, Unix ms.
    pub created_at: i64,
}

/// An API key as stored (see [`crate::keys`]): scoped to one role in one meeting. The key
/// itself is never stored, only its SHA-256; revoked keys stay listed (with `revoked_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// The meeting the key acts in.
    pub meeting: String,
    /// Public id (12 hex digits), unique in its meeting: what lists show and revoke names.
    pub id: String,
    /// SHA-256 of the key: the lookup key.
    pub hash: [u8; 32],
    /// The role whose rights the key has.
    pub role: Role,
    /// Moderator: the agenda person id; interpreter: the booth's language code, if any.
    pub person: Option<String>,
    /// Who or what holds it ("Stream Deck booth A"), for people reading the list.
    pub label: String,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last use, Unix ms. The store's copy may lag the server's by up to a minute.
    pub last_used_at: Option<i64>,
    /// When it was revoked, Unix ms; a revoked key opens nothing.
    pub revoked_at: Option<i64>,
}

/// A command applied under an idempotency key — the HTTP API's `Idempotency-Key` or a
/// websocket command's `key`: one mechanism for both. Written in the same transaction as
/// the command's events, so a retry — even after a crash and restart, or through another
/// node of a cluster after a failover — finds it exactly when the command's effect is
/// durable, and is not applied again. The meeting task checks it (it loads the records
/// when it starts), so a retry that arrives while the first is still queued is caught too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Meeting id.
    pub meeting: String,
    /// SHA-256 of the credential that sent it (API key, link or personal token): keys
    /// are per credential, so two devices cannot collide (or read each other's answers).
    pub scope: [u8; 32],
    /// The client's key.
    pub key: String,
    /// SHA-256 of the request (HTTP: path and body; websocket: the command's JSON): the
    /// same key with another request is refused.
    pub request: [u8; 32],
    /// The journal position the command's reply named.
    pub seq: u64,
    /// When it was applied, Unix ms (records older than a day are forgotten).
    pub at: i64,
}

/// Events (JSON) to append for one meeting, with what must become durable with them.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Meeting id.
    pub meeting: String,
    /// Sequence number of the first event (the journal position before it + 1).
    pub first_seq: u64,
    /// The events, each already JSON.
    pub events: Vec<String>,
    /// Tokens created with these events (participants' personal tokens, links of people
    /// an edit added, rotated links).
    pub tokens: Vec<TokenRow>,
    /// Hashes of tokens revoked with these events (links rotated or of people removed):
    /// deleted in the same transaction.
    pub revoked: Vec<[u8; 32]>,
    /// A snapshot of the state after the last event.
    pub snapshot: Option<Snapshot>,
    /// Commands of this batch sent with an idempotency key — the websocket `key` or the
    /// HTTP `Idempotency-Key` (see [`IdempotencyRecord`]).
    pub idempotency: Vec<IdempotencyRecord>,
    /// Participants removed by these events. A shared store bars their personal tokens
    /// with the batch, so that no node lets them in again; the embedded store needs
    /// nothing more (loading a meeting finds the removals in its journal).
    pub removed: Vec<u64>,
    /// The fencing epoch of the writer (cluster: the meeting's lease); a shared store
    /// refuses a batch whose epoch is not the meeting's current one. 0 for the embedded
    /// store, which has one writer by construction. Set by [`StoreHandle::commit`].
    pub epoch: u64,
}

/// A meeting's state (and agenda) at one journal position: recovery starts from the
/// latest one and replays only the events after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The journal position it shows.
    pub seq: u64,
    /// The state, JSON.
    pub state: String,
    /// The agenda at that point, JSON. `None` in snapshots written before agendas could
    /// be edited (schema 0): the agenda as created is then still current.
    pub agenda: Option<String>,
}

/// What a meeting needs to come back after a restart.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The latest snapshot, if one was taken.
    pub snapshot: Option<Snapshot>,
    /// Events after the snapshot, in order: (seq, JSON).
    pub tail: Vec<(u64, String)>,
}

/// The operations Podium needs from a storage engine.
pub trait Store: Send {
    /// Adds a meeting with its role-link tokens.
    fn create_meeting(
        &mut self,
        meeting: &StoredMeeting,
        tokens: &[TokenRow],
    ) -> Result<(), StoreError>;
    /// Every meeting, oldest first.
    fn meetings(&mut self) -> Result<Vec<StoredMeeting>, StoreError>;
    /// Every token of a meeting.
    fn tokens(&mut self, meeting: &str) -> Result<Vec<TokenRow>, StoreError>;
    /// Appends batches atomically (one transaction for all).
    fn commit(&mut self, batches: &[Batch]) -> Result<(), StoreError>;
    /// Appends batches, each atomically, and says how each went. A store whose batches
    /// can fail one by one (a shared store fences each meeting on its own) overrides it;
    /// the default is one transaction for all, as [`Store::commit`].
    fn commit_each(&mut self, batches: &[Batch]) -> Vec<Result<(), StoreError>> {
        match self.commit(batches) {
            Ok(()) => batches.iter().map(|_| Ok(())).collect(),
            Err(e) => {
                let e = e.to_string();
                batches
                    .iter()
                    .map(|_| Err(StoreError::Write(e.clone())))
                    .collect()
            }
        }
    }
    /// The snapshot and journal tail of a meeting.
    fn recover(&mut self, meeting: &str) -> Result<Recovered, StoreError>;
    /// Up to `limit` journal events of a meeting after `after`, in order: (seq, JSON).
    /// (The report replays the whole journal with it, a page at a time, so that other
    /// meetings' writes go on in between.)
    fn journal(
        &mut self,
        meeting: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError>;
    /// Changes a meeting's status.
    fn set_status(&mut self, meeting: &str, status: MeetingStatus) -> Result<(), StoreError>;
    /// Deletes a meeting, its tokens, journal, snapshots, API keys and idempotency records.
    fn delete(&mut self, meeting: &str) -> Result<(), StoreError>;

    // API keys and idempotency records (the HTTP API, `crate::keys`, `crate::http::api`).
    // A store keeps keys by (meeting, id) and finds them by hash; it never sees a key.

    /// Adds an API key; `false` (and nothing stored) if its meeting already has a key
    /// with its id.
    fn create_key(&mut self, key: &ApiKeyRow) -> Result<bool, StoreError>;
    /// The API keys of one meeting (`Some`) or of all meetings (`None`), revoked ones
    /// included, oldest first.
    fn keys(&mut self, meeting: Option<&str>) -> Result<Vec<ApiKeyRow>, StoreError>;
    /// Revokes a key at `at` (Unix ms) and returns it, or `None` if the meeting has no
    /// such key. Revoking a revoked key changes nothing and returns it.
    fn revoke_key(
        &mut self,
        meeting: &str,
        id: &str,
        at: i64,
    ) -> Result<Option<ApiKeyRow>, StoreError>;
    /// Records a key's last use (called at most about once a minute per key).
    fn touch_key(&mut self, meeting: &str, id: &str, at: i64) -> Result<(), StoreError>;
    /// The record of a command applied under `key` by the credential `scope`, if one
    /// younger than `since` (Unix ms) exists.
    fn idempotency(
        &mut self,
        meeting: &str,
        scope: &[u8; 32],
        key: &str,
        since: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Every idempotency record of a meeting younger than `since` (Unix ms): what a
    /// meeting task loads when it starts, so that it recognises a retry by itself.
    fn idempotency_since(
        &mut self,
        meeting: &str,
        since: i64,
    ) -> Result<Vec<IdempotencyRecord>, StoreError>;
}

type Job = Box<dyn FnOnce(&mut dyn Store) + Send>;

type CommitReply = oneshot::Sender<Result<(), StoreError>>;

enum Request {
    /// Boxed: a batch is large, a job small.
    Commit(Box<Batch>, CommitReply),
    Run(Job),
}

/// The async front of a [`Store`]: one writer thread, group commit.
#[derive(Clone)]
pub struct StoreHandle {
    /// Requests to the writer thread. std mpsc: the thread blocks on it, senders never do.
    tx: mpsc::Sender<Request>,
    /// The fencing epoch stamped on every batch committed through this handle (see
    /// [`Batch::epoch`]); 0 unless made by [`StoreHandle::fenced`].
    epoch: u64,
}

/// Most batches that go into one transaction.
const MAX_GROUP: usize = 512;

impl StoreHandle {
    /// Starts the writer thread that owns `store`.
    pub fn spawn(mut store: Box<dyn Store>) -> StoreHandle {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("podium-store".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut pending = vec![first];
                    while pending.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(r) => pending.push(r),
                            Err(_) => break,
                        }
                    }
                    let mut batches = Vec::new();
                    let mut replies = Vec::new();
                    for r in pending {
                        match r {
                            Request::Commit(b, reply) => {
                                batches.push(*b);
                                replies.push(reply);
                            }
                            Request::Run(job) => {
                                // Keep order: what was asked before the job is written first.
                                flush(store.as_mut(), &mut batches, &mut replies);
                                job(store.as_mut());
                            }
                        }
                    }
                    flush(store.as_mut(), &mut batches, &mut replies);
                }
            })
            .expect("spawn the store thread");
        StoreHandle { tx, epoch: 0 }
    }

    /// The same store, for a writer that holds a meeting's lease at `epoch`: its batches
    /// carry the epoch, and a shared store refuses them once the epoch has moved on.
    pub fn fenced(&self, epoch: u64) -> StoreHandle {
        StoreHandle {
            tx: self.tx.clone(),
            epoch,
        }
    }

    /// Makes a batch durable. Returns once it is on disk (or failed).
    pub async fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        batch.epoch = self.epoch;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Commit(Box::new(batch), reply))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the writer thread, after everything sent before it.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |s| {
            let _ = reply.send(f(s));
        });
        self.tx
            .send(Request::Run(job))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }
}

fn flush(store: &mut dyn Store, batches: &mut Vec<Batch>, replies: &mut Vec<CommitReply>) {
    if batches.is_empty() {
        return;
    }
    let results = store.commit_each(batches);
    for (r, result) in replies.drain(..).zip(results) {
        if let Err(e) = &result {
            tracing::error!(error = %e, "journal write failed");
        }
        let _ = r.send(result);
    }
    batches.clear();
}
