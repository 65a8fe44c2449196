//! The registry of live meetings and of the tokens that open them.
//!
//! One [`meeting`] task per live meeting owns its engine; the hub only finds meetings
//! (a `DashMap` by id) and grants (a `DashMap` by token hash), creates, archives and
//! deletes them. Architecture invariant: no DashMap guard is ever held across `.await` —
//! every lookup clones what it needs (handles are cheap clones) and drops the guard.
//!
//! With a [`Placement`] (a cluster node, see `crate::cluster`) the hub does not start
//! meeting tasks itself: the placement makes each meeting reachable through a
//! [`MeetingHandle`] whose inputs go to the meeting's owner wherever it runs, and the
//! grant map becomes a cache in front of the shared store ([`Hub::find_grant`]).

pub mod idempotent;
pub mod inputs;
pub mod links;
pub mod meeting;
pub mod places;
mod recover;
pub mod views;

pub use links::{links, role_tokens, Link};
pub use recover::{recover_engine, replay_engine};

use crate::engine::{Actor, Engine};
use crate::metrics::Metrics;
use crate::store::{MeetingStatus, StoreError, StoreHandle, StoredMeeting, TokenRow};
use crate::tokens;
use dashmap::DashMap;
use futures_util::future::BoxFuture;
use meeting::{Input, MeetingHandle};
use podium_protocol::{Agenda, Role};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Where meetings run when several nodes share them (a cluster). The hub asks it to make
/// a meeting reachable from this node instead of starting the meeting's task itself.
pub trait Placement: Send + Sync + 'static {
    /// Called once the hub exists: the placement keeps what it needs of it.
    fn bind(&self, hub: &Arc<Hub>);
    /// Makes a live meeting reachable from this node and returns its handle: inputs go
    /// to the meeting's owner, wherever it runs; published states come from it.
    fn attach<'a>(
        &'a self,
        meeting: &'a StoredMeeting,
    ) -> BoxFuture<'a, Result<MeetingHandle, HubError>>;
    /// The meeting was archived or deleted: stop serving it from this node.
    fn detach(&self, id: &str);
    /// The row of a token as the shared store has it now: `Ok(None)` if it opens
    /// nothing (unknown, revoked, or its participant removed), `Err` if the store cannot
    /// be asked (the node's cache is then used).
    fn lookup(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<TokenRow>, StoreError>>;
    /// The server stops: hand every meeting this node owns over to the others.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Close codes that tell a client not to reconnect (see PROTOCOL.md, *Close codes*).
pub mod close {
    /// The link was revoked: rotated, or its person removed by the host.
    pub const REVOKED: u16 = 4001;
    /// The meeting was archived: it is over, reports only.
    pub const ARCHIVED: u16 = 4002;
}

/// The revocation of one grant: cancelled when the link stops being valid, with the close
/// code its open connections are closed with. Every clone of a grant shares it, so the
/// connections opened with a token all see its revocation.
#[derive(Debug, Clone, Default)]
pub struct Revocation {
    /// Cancelled on revocation; a connection waits on it in its loop.
    token: CancellationToken,
    /// The close code, set before the token is cancelled.
    code: Arc<std::sync::atomic::AtomicU16>,
}

impl Revocation {
    /// Revokes: every connection of the grant closes with `code`.
    pub fn revoke(&self, code: u16) {
        self.code.store(code, std::sync::atomic::Ordering::Release);
        self.token.cancel();
    }

    /// Resolves once revoked.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether it has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The close code and reason for the connections of a revoked grant.
    pub fn close_frame(&self) -> (u16, &'static str) {
        match self.code.load(std::sync::atomic::Ordering::Acquire) {
            close::ARCHIVED => (close::ARCHIVED, "meeting archived"),
            _ => (close::REVOKED, "link revoked"),
        }
    }
}

/// What a token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The meeting it opens.
    pub meeting: String,
    /// The role.
    pub role: Role,
    /// Agenda person id for moderators and speakers.
    pub person: Option<String>,
    /// Participant id for personal tokens; `None` on a join link.
    pub participant: Option<u64>,
    /// Cancelled when the token stops being valid (rotated, person removed, meeting
    /// archived or deleted): its open connections close with the code it carries.
    pub revocation: Revocation,
}

impl Grant {
    /// The engine actor for this grant, unless it is a join link (which must `join` first).
    pub fn actor(&self) -> Option<Actor> {
        Some(match self.role {
            Role::Host => Actor::Host,
            Role::Moderator => Actor::Moderator(self.person.clone()?),
            Role::Speaker => Actor::Speaker(self.person.clone()?),
            Role::Participant => Actor::Participant(self.participant?),
            Role::Observer => Actor::Observer(self.participant?),
            // A booth's link names its language; an old link without one opens nothing.
            Role::Interpreter => Actor::Interpreter(self.person.as_deref()?.parse().ok()?),
            Role::Projector => Actor::Projector,
        })
    }
}

/// Errors of the hub's management operations.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored events or snapshots do not decode.
    #[error("meeting {meeting}: stored journal does not decode at seq {seq}: {problem}")]
    Journal {
        /// Meeting id.
        meeting: String,
        /// Position.
        seq: u64,
        /// What failed.
        problem: String,
    },
    /// No such meeting.
    #[error("no meeting has the id {0:?}")]
    NoSuchMeeting(String),
    /// No such link.
    #[error("{0}")]
    NoSuchLink(String),
}

/// All live meetings of this process.
pub struct Hub {
    /// The durable store, shared by all meeting tasks.
    store: StoreHandle,
    /// Live meetings by id.
    meetings: DashMap<String, MeetingHandle>,
    /// Every grant of every live meeting, by token hash.
    grants: Arc<DashMap<[u8; 32], Grant>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Stops meeting tasks (and connections) at shutdown.
    shutdown: CancellationToken,
    /// Tracks meeting and connection tasks so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Join admission: rate limits per address and per meeting, the meeting cap.
    pub admission: crate::admission::Admission,
    /// The rate-limit buckets shared by all connections of one link.
    pub link_buckets: crate::ws::ratelimit::LinkBuckets,
    /// Where meetings run, when this node is one of several (cluster); `None`: here.
    placement: Option<Arc<dyn Placement>>,
}

impl Hub {
    /// Opens the hub over a store: loads every live meeting (snapshot + journal tail) and
    /// starts its task. Archived meetings stay on disk; only their tokens are loaded, so a
    /// `hello` answers `archived` and the host can still fetch the report.
    pub async fn open(
        store: StoreHandle,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Hub>, HubError> {
        Hub::open_placed(store, metrics, shutdown, None).await
    }

    /// Opens the hub with meetings placed by `placement` (a cluster node): every live
    /// meeting of the shared store is attached, not started here.
    pub async fn open_placed(
        store: StoreHandle,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        placement: Option<Arc<dyn Placement>>,
    ) -> Result<Arc<Hub>, HubError> {
        let hub = Arc::new(Hub {
            store,
            meetings: DashMap::new(),
            grants: Arc::new(DashMap::new()),
            admission: crate::admission::Admission::new(metrics.clone()),
            link_buckets: Default::default(),
            metrics,
            shutdown,
            tracker: TaskTracker::new(),
            placement,
        });
        if let Some(p) = &hub.placement {
            p.bind(&hub);
        }
        let stored = hub.store.run(|s| s.meetings()).await??;
        for m in stored {
            hub.load(m).await?;
        }
        Ok(hub)
    }

    /// Makes a meeting known to this node (one another node created): its grants, and,
    /// if live, its handle through the placement. Does nothing if it is attached already.
    pub async fn attach_meeting(&self, m: StoredMeeting) -> Result<(), HubError> {
        if self.meetings.contains_key(&m.id) {
            return Ok(());
        }
        self.load(m).await
    }

    /// Stops serving a meeting archived (or, if `deleted`, deleted) on another node: its
    /// connections here close as they would on that node.
    pub fn detach_meeting(&self, id: &str, deleted: bool) {
        if deleted {
            self.unload(id, close::REVOKED, true);
        } else {
            self.unload(id, close::ARCHIVED, false);
        }
    }

    async fn load(&self, m: StoredMeeting) -> Result<(), HubError> {
        let mid = m.id.clone();
        let rows = self.store.run(move |s| s.tokens(&mid)).await??;
        if let Some(p) = self.placement.clone() {
            // The handle first: a token must not open a meeting this node cannot serve
            // yet. (The shared store leaves out the tokens of removed participants.)
            if m.status == MeetingStatus::Live {
                let handle = p.attach(&m).await?;
                self.meetings.insert(m.id, handle);
                self.metrics.set_meetings(self.meetings.len());
            }
            for r in rows {
                self.grants.entry(r.hash).or_insert_with(|| grant_of(&r));
            }
            return Ok(());
        }
        let engine = match m.status {
            MeetingStatus::Live => {
                Some(recover_engine(&self.store, &m.id, Arc::new(m.agenda)).await?)
            }
            MeetingStatus::Archived => None,
        };
        // Participants the host removed stay barred across restarts.
        let removed: std::collections::HashSet<u64> = engine
            .iter()
            .flat_map(|e| e.state().participants.iter())
            .filter(|p| p.removed)
            .map(|p| p.id)
            .collect();
        for r in &rows {
            if r.participant.is_some_and(|p| removed.contains(&p)) {
                continue;
            }
            self.grants.insert(r.hash, grant_of(r));
        }
        if let Some(engine) = engine {
            let links = rows
                .into_iter()
                .filter(|r| r.link_token.is_some())
                .collect();
            self.start(m.id, engine, links);
        }
        Ok(())
    }

    fn start(&self, id: String, engine: Engine, links: Vec<TokenRow>) {
        let env = meeting::TaskEnv {
            store: self.store.clone(),
            grants: self.grants.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.shutdown.clone(),
            tracker: self.tracker.clone(),
            revoked: None,
        };
        let handle = meeting::spawn(id.clone(), engine, links, env);
        self.meetings.insert(id, handle);
        self.metrics.set_meetings(self.meetings.len());
    }

    /// Creates a meeting from a validated agenda; returns its id and role tokens.
    pub async fn create(
        &self,
        agenda: Agenda,
        now: i64,
    ) -> Result<(String, Vec<TokenRow>), HubError> {
        let id = agenda.meeting_id();
        let rows = role_tokens(&id, &agenda);
        let stored = StoredMeeting {
            id: id.clone(),
            agenda: agenda.clone(),
            status: MeetingStatus::Live,
            created_at: now,
        };
        let to_store = rows.clone();
        self.store
            .run(move |s| s.create_meeting(&stored, &to_store))
            .await??;
        for r in &rows {
            self.grants.insert(r.hash, grant_of(r));
        }
        if let Some(p) = self.placement.clone() {
            let handle = p
                .attach(&StoredMeeting {
                    id: id.clone(),
                    agenda,
                    status: MeetingStatus::Live,
                    created_at: now,
                })
                .await?;
            self.meetings.insert(id.clone(), handle);
            self.metrics.set_meetings(self.meetings.len());
            return Ok((id, rows));
        }
        self.start(id.clone(), Engine::new(Arc::new(agenda)), rows.clone());
        Ok((id, rows))
    }

    /// Every stored meeting, live or archived.
    pub async fn list(&self) -> Result<Vec<StoredMeeting>, HubError> {
        Ok(self.store.run(|s| s.meetings()).await??)
    }

    /// The role tokens of a meeting (for links).
    pub async fn tokens(&self, id: &str) -> Result<Vec<TokenRow>, HubError> {
        let mid = id.to_string();
        Ok(self.store.run(move |s| s.tokens(&mid)).await??)
    }

    /// Archives a meeting: it stops taking commands and is no longer loaded at start. Its
    /// open connections close with 4002; its tokens stay known, so a `hello` answers
    /// `archived` and the host token still opens the report.
    pub async fn archive(&self, id: &str) -> Result<(), HubError> {
        let mid = id.to_string();
        self.store
            .run(move |s| s.set_status(&mid, MeetingStatus::Archived))
            .await??;
        self.unload(id, close::ARCHIVED, false);
        Ok(())
    }

    /// Deletes a meeting and everything stored about it; its connections close with 4001.
    pub async fn delete(&self, id: &str) -> Result<(), HubError> {
        let mid = id.to_string();
        self.store.run(move |s| s.delete(&mid)).await??;
        self.unload(id, close::REVOKED, true);
        Ok(())
    }

    /// Stops a meeting's task. Its grants are revoked first, so connections close with
    /// `code` rather than seeing the meeting simply vanish.
    fn unload(&self, id: &str, code: u16, forget: bool) {
        for g in self.grants.iter() {
            if g.meeting == id {
                g.revocation.revoke(code);
            }
        }
        if forget {
            self.grants.retain(|_, g| g.meeting != id);
        }
        if let Some((_, h)) = self.meetings.remove(id) {
            h.stop();
        }
        if let Some(p) = &self.placement {
            p.detach(id);
        }
        self.admission.forget(id);
        self.metrics.set_meetings(self.meetings.len());
    }

    /// The engine of a meeting, live or archived (read from the store), for reports.
    pub async fn engine(&self, id: &str) -> Result<Engine, HubError> {
        if let Some(h) = self.meeting(id) {
            if let Some(e) = h.inspect().await {
                return Ok(e);
            }
        }
        let m = self.stored(id).await?;
        recover_engine(&self.store, id, Arc::new(m.agenda)).await
    }

    /// The engine a report is built from: the meeting's whole journal replayed, every
    /// hand record kept (live or archived). See [`replay_engine`].
    pub async fn report_engine(&self, id: &str) -> Result<Engine, HubError> {
        let m = self.stored(id).await?;
        replay_engine(&self.store, id, Arc::new(m.agenda)).await
    }

    /// A meeting's stored record (live or archived).
    async fn stored(&self, id: &str) -> Result<StoredMeeting, HubError> {
        self.list()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| HubError::NoSuchMeeting(id.into()))
    }

    /// A live meeting's handle.
    pub fn meeting(&self, id: &str) -> Option<MeetingHandle> {
        self.meetings.get(id).map(|h| h.clone())
    }

    /// Number of live meetings.
    pub fn meeting_count(&self) -> usize {
        self.meetings.len()
    }

    /// What a token grants, if anything.
    pub fn grant(&self, token: &str) -> Option<Grant> {
        if !tokens::well_formed(token) {
            return None;
        }
        self.grants.get(&tokens::hash(token)).map(|g| g.clone())
    }

    /// What a token grants. On a single server, [`Hub::grant`]. With a placement
    /// (cluster) the shared store is asked too: a token made on another node is found,
    /// and a token revoked on another node is refused at once (and its grant here revoked,
    /// closing its connections, in case the node's notice of it was lost). The node's
    /// cache answers if the shared store cannot.
    pub async fn find_grant(&self, token: &str) -> Option<Grant> {
        let Some(p) = self.placement.clone() else {
            return self.grant(token);
        };
        if !tokens::well_formed(token) {
            return None;
        }
        let hash = tokens::hash(token);
        let row = match p.lookup(hash).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                if let Some((_, g)) = self.grants.remove(&hash) {
                    g.revocation.revoke(close::REVOKED);
                }
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot check a token in the shared store; using this node's cache");
                return self.grant(token);
            }
        };
        if !self.meetings.contains_key(&row.meeting) {
            let stored = self.list().await.ok()?;
            let m = stored.into_iter().find(|m| m.id == row.meeting)?;
            if let Err(e) = self.attach_meeting(m).await {
                tracing::warn!(error = %e, "cannot attach the meeting of a token");
                return None;
            }
        }
        // One grant per token, so a revocation reaches every connection opened with it.
        let grant = self
            .grants
            .entry(hash)
            .or_insert_with(|| grant_of(&row))
            .clone();
        Some(grant)
    }

    /// The grants this node knows, by token hash (meeting tasks add participants'
    /// personal tokens once their join is durable).
    pub fn grants_map(&self) -> &Arc<DashMap<[u8; 32], Grant>> {
        &self.grants
    }

    /// Cancelled when the server stops.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Stops serving: with a placement, hands this node's meetings over to the others
    /// (each task writes what it was given, then its lease is released).
    pub async fn close(&self) {
        if let Some(p) = &self.placement {
            p.close().await;
        }
    }

    /// The store, for reports and management.
    pub fn store(&self) -> &StoreHandle {
        &self.store
    }

    /// Sends an input to a meeting; `false` if the meeting is gone.
    pub async fn send(&self, meeting: &str, input: Input) -> bool {
        match self.meeting(meeting) {
            Some(h) => h.send(input).await,
            None => false,
        }
    }
}

/// Revokes a participant's personal tokens (the host removed them): their grants go, and
/// every open connection of theirs closes with 4001. Their stored token rows stay: the
/// journal's removal bars them again at every load.
pub fn revoke_participant(grants: &DashMap<[u8; 32], Grant>, meeting: &str, participant: u64) {
    grants.retain(|_, g| {
        let theirs = g.meeting == meeting && g.participant == Some(participant);
        if theirs {
            g.revocation.revoke(close::REVOKED);
        }
        !theirs
    });
}

/// The grant a stored token row gives (a new, unrevoked one).
pub fn grant_of(r: &TokenRow) -> Grant {
    Grant {
        meeting: r.meeting.clone(),
        role: r.role,
        person: r.person.clone(),
        participant: r.participant,
        revocation: Revocation::default(),
    }
}
