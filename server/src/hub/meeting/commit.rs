//! Making a turn durable and then known: its events, tokens, revocations and
//! idempotency records written as one batch (a snapshot every [`SNAPSHOT_EVERY`] events),
//! then the new state published, the grants changed and the held-back replies sent —
//! never before the store said the batch is durable. A failed write answers every reply
//! with an error and reloads the engine from the store.

use super::MeetingTask;
use crate::clock::now_ms;
use crate::engine::Engine;
use crate::hub::idempotent::Seen;
use crate::hub::inputs::{HttpReply, InviteReply, ReplyTx, Revoked};
use crate::hub::views::{AgendaFrame, Published};
use crate::hub::{recover_engine, Grant, HubError};
use crate::store::{Batch, IdempotencyRecord, Snapshot, StoreError, TokenRow, IDEMPOTENCY_TTL_MS};
use podium_protocol::{ErrorCode, Event};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A snapshot is written every this many events, so recovery replays at most this many.
pub const SNAPSHOT_EVERY: u64 = 1000;

/// What a client is told when a write failed, by what the store said.
fn write_failed(e: &StoreError) -> (ErrorCode, &'static str) {
    match e {
        StoreError::Fenced(_) | StoreError::Unavailable(_) => (
            ErrorCode::Unavailable,
            "the meeting is moving to another server or its store is unreachable; the change may or may not be applied: send it again with the same key",
        ),
        _ => (
            ErrorCode::Internal,
            "the server could not save this change; it was not applied, try again",
        ),
    }
}

/// Whether a reload failed because a shared store is unreachable or refuses this node
/// (then the task stops and the cluster decides who carries on).
fn shared_failure(e: &HubError) -> bool {
    matches!(
        e,
        HubError::Store(StoreError::Fenced(_) | StoreError::Unavailable(_))
    )
}

/// A reply held back until the batch is durable.
pub(super) enum Pending {
    Ack(ReplyTx, u64, u64),
    /// The seq, and whether it replays an earlier application.
    Http(oneshot::Sender<HttpReply>, u64, bool),
    Joined(
        oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>,
        Grant,
        String,
    ),
    Rotated(
        oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
        TokenRow,
    ),
    Invited(oneshot::Sender<InviteReply>, Vec<(u64, String)>),
}

/// What one turn writes: events, the tokens they create (with their grants), the tokens
/// they revoke, and the replies held back until all of it is durable.
#[derive(Default)]
pub(super) struct Changes {
    /// The events applied this turn, in order.
    pub(super) events: Vec<Event>,
    /// Tokens created, with the grants that open once they are durable.
    pub(super) tokens: Vec<(TokenRow, Grant)>,
    /// Tokens revoked (rotated links, links an edit dropped).
    pub(super) revoked: Vec<TokenRow>,
    /// Replies held back until the batch is durable.
    pub(super) pending: Vec<Pending>,
    /// The role links after this turn, if it changed them.
    pub(super) links: Option<Vec<TokenRow>>,
    /// Idempotency keys of HTTP commands, stored with their events.
    pub(super) idempotency: Vec<IdempotencyRecord>,
}

impl MeetingTask {
    /// Loads the idempotency records of the last day from the store.
    pub(super) async fn load_seen(&mut self) {
        let id = self.id.clone();
        let since = now_ms() - IDEMPOTENCY_TTL_MS;
        match self
            .store
            .run(move |s| s.idempotency_since(&id, since))
            .await
        {
            Ok(Ok(records)) => self.seen = Seen::load(records),
            Ok(Err(e)) | Err(e) => {
                tracing::error!(error = %e, "cannot load the idempotency records")
            }
        }
    }

    /// The engine as the store has it: the journal replayed from the agenda as created
    /// (the `meetings` row) or from the latest snapshot and its agenda.
    async fn reload(&self) -> Result<Engine, HubError> {
        let stored = self.store.run(|s| s.meetings()).await??;
        let origin = stored
            .into_iter()
            .find(|m| m.id == self.id)
            .ok_or_else(|| HubError::NoSuchMeeting(self.id.clone()))?
            .agenda;
        recover_engine(&self.store, &self.id, Arc::new(origin)).await
    }

    /// Sends the replies held back until a turn was durable.
    pub(super) fn answer(&self, pending: Vec<Pending>) {
        for p in pending {
            match p {
                Pending::Ack(reply, id, seq) => {
                    self.metrics.command_accepted();
                    if reply.try_send((id, Ok(seq))).is_err() {
                        self.metrics.reply_dropped();
                    }
                }
                Pending::Http(reply, seq, replayed) => {
                    self.metrics.command_accepted();
                    let _ = reply.send(Ok((seq, replayed)));
                }
                Pending::Joined(reply, grant, token) => {
                    let _ = reply.send(Ok((grant, token)));
                }
                Pending::Rotated(reply, row) => {
                    let _ = reply.send(Ok(row));
                }
                Pending::Invited(reply, made) => {
                    let _ = reply.send(Ok(made));
                }
            }
        }
    }

    /// Writes a turn's changes, then publishes the new state (if there are events),
    /// applies the token changes to the grants (revoked links close their connections) and
    /// answers. Returns `false` when the task must stop: the store refused it (in a
    /// cluster, another node owns the meeting now) or cannot reload it.
    pub(super) async fn persist_and_publish(&mut self, c: Changes) -> bool {
        let Changes {
            events,
            tokens,
            revoked,
            pending,
            links,
            idempotency,
        } = c;
        let seq = self.engine.seq();
        let first_seq = seq + 1 - events.len() as u64;
        let encoded: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).expect("event serialises"))
            .collect();
        let now = now_ms();
        let previous_frame = self.frame.clone();
        if self.engine.state().agenda_version != self.frame.version {
            self.frame = Arc::new(AgendaFrame::new(
                self.engine.state().agenda_version,
                self.engine.agenda().clone(),
            ));
        }
        let published = (!events.is_empty()).then(|| {
            Published::encode(
                Some(&self.pub_tx.borrow()),
                self.frame.clone(),
                seq,
                now,
                (&events, &encoded),
                self.engine.state(),
            )
        });
        // The whole state (the projections leave out the booth log).
        let snapshot = published.as_ref().and_then(|_| {
            ((first_seq - 1) / SNAPSHOT_EVERY != seq / SNAPSHOT_EVERY).then(|| Snapshot {
                seq,
                state: serde_json::to_string(self.engine.state()).expect("state serialises"),
                agenda: Some(self.frame.agenda_json().to_string()),
            })
        });
        let (rows, new_grants): (Vec<TokenRow>, Vec<_>) = tokens
            .into_iter()
            .map(|(r, g)| (r.clone(), (r.hash, g)))
            .unzip();
        let removed: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::ParticipantRemoved { participant, .. } => Some(*participant),
                _ => None,
            })
            .collect();
        let batch = Batch {
            meeting: self.id.clone(),
            first_seq,
            events: encoded,
            tokens: rows,
            revoked: revoked.iter().map(|r| r.hash).collect(),
            snapshot,
            idempotency,
            removed,
            epoch: 0,
        };
        let (records, removed) = (batch.idempotency.clone(), batch.removed.clone());
        match self.store.commit(batch).await {
            Ok(()) => {
                for (hash, grant) in new_grants {
                    self.grants.insert(hash, grant);
                }
                if let Some(links) = links {
                    self.links = links;
                }
                self.seen.add(&records);
                // A removed participant's personal tokens open nothing from now on (their
                // open connections close when they see the published removal).
                for participant in &removed {
                    crate::hub::revoke_participant(&self.grants, &self.id, *participant);
                }
                if let Some(published) = published {
                    self.pub_tx.send_replace(Arc::new(published));
                }
                // After the new state is out: a revoked speaker's screen closes after it.
                for row in &revoked {
                    if let Some((_, g)) = self.grants.remove(&row.hash) {
                        g.revocation.revoke(crate::hub::close::REVOKED);
                    }
                }
                // The other nodes of a cluster hold grants of their own.
                if let Some(tx) = &self.revoked {
                    if !revoked.is_empty() || !removed.is_empty() {
                        let _ = tx.send(Revoked {
                            hashes: revoked.iter().map(|r| r.hash).collect(),
                            participants: removed,
                        });
                    }
                }
                self.answer(pending);
                true
            }
            Err(e) => {
                let (code, msg) = write_failed(&e);
                for p in pending {
                    match p {
                        Pending::Ack(reply, id, _) => {
                            let _ = reply.try_send((id, Err((code, msg.to_string()))));
                        }
                        Pending::Http(reply, _, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Joined(reply, _, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Rotated(reply, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                        Pending::Invited(reply, _) => {
                            let _ = reply.send(Err((code, msg.to_string())));
                        }
                    }
                }
                self.frame = previous_frame;
                if let StoreError::Fenced(_) = e {
                    tracing::warn!(error = %e, "fenced: another node owns the meeting; stopping");
                    return false;
                }
                tracing::error!(error = %e, "journal write failed; reloading the meeting from the store");
                match self.reload().await {
                    Ok(engine) => {
                        self.engine = engine;
                        self.load_seen().await;
                        true
                    }
                    // The engine holds events the store may not have: it must not go on.
                    Err(e) if shared_failure(&e) => {
                        tracing::error!(error = %e, "reload failed; stopping the meeting task");
                        false
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reload failed; keeping memory state");
                        true
                    }
                }
            }
        }
    }
}
