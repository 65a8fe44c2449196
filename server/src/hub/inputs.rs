//! What a live meeting is asked and how it answers: the [`Input`]s its task takes, the
//! reply types, and the [`MeetingHandle`] through which connections, HTTP handlers and
//! (in a cluster) other nodes reach the task. The task itself is in `meeting.rs`.

use super::views::Published;
use super::Grant;
use crate::engine::{Actor, Engine};
use crate::store::{IdempotencyRecord, TokenRow};
use podium_protocol::{Command, ErrorCode, Lang, ListName, PageItems, Role};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The answer to an invitation: each delegate's participant id and personal token.
pub type InviteReply = Result<Vec<(u64, String)>, (ErrorCode, String)>;

/// An answer to a connection: `Ok(seq)` for an ack, or a typed error.
pub type Reply = Result<u64, (ErrorCode, String)>;

/// Where a connection receives its replies; `id` is the client's request id.
pub type ReplyTx = mpsc::Sender<(u64, Reply)>;

/// The answer to an HTTP command: its seq and whether it was a retry answered from its
/// idempotency record (nothing applied), or a typed error.
pub type HttpReply = Result<(u64, bool), (ErrorCode, String)>;

/// Tokens a turn revoked, told to the other nodes of a cluster (each node keeps its own
/// grants): links rotated or dropped by an edit, and participants removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    /// Hashes of the revoked tokens.
    pub hashes: Vec<[u8; 32]>,
    /// Participants removed: every personal token of theirs.
    pub participants: Vec<u64>,
}

/// What a meeting task is asked to do.
pub enum Input {
    /// A command from an authenticated actor.
    Command {
        /// Who sends it.
        actor: Actor,
        /// What to do.
        command: Command,
        /// The client's request id, echoed in the reply.
        id: u64,
        /// With a `key`: the record to write in the transaction of the command's events
        /// (`seq` and `at` are filled in here); a retry is answered, not applied.
        idempotency: Option<IdempotencyRecord>,
        /// Where the reply goes.
        reply: ReplyTx,
    },
    /// A command from the HTTP API (`crate::http::api`), answered on a oneshot.
    Http {
        /// Who sends it (the actor of an API key or a link token).
        actor: Actor,
        /// What to do.
        command: Command,
        /// With an `Idempotency-Key`: the record to write in the transaction of the
        /// command's events (`seq` and `at` are filled in here).
        idempotency: Option<IdempotencyRecord>,
        /// Where the reply goes.
        reply: oneshot::Sender<HttpReply>,
    },
    /// Someone joins through a join link.
    Join {
        /// Participant or observer.
        role: Role,
        /// Display name.
        name: String,
        /// Delegation.
        delegation: String,
        /// Floor language.
        language: Lang,
        /// The new participant's grant and personal token, or why not.
        reply: oneshot::Sender<Result<(Grant, String), (ErrorCode, String)>>,
    },
    /// A copy of the engine, for reports.
    Inspect(oneshot::Sender<Engine>),
    /// The meeting's role links.
    Links(oneshot::Sender<Vec<TokenRow>>),
    /// The secretariat registers delegates, all or none; each gets a personal token.
    Invite {
        /// The delegates.
        delegates: Vec<crate::invite::Delegate>,
        /// Their participant ids and personal tokens, in order, or why not.
        reply: oneshot::Sender<InviteReply>,
    },
    /// Replace a role link: the old token is revoked once the new one is durable.
    RotateLink {
        /// The link's role.
        role: Role,
        /// The person, for moderator and speaker links.
        person: Option<String>,
        /// The new link's row, or why not.
        reply: oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
    },
    /// One participant's record (for a resuming connection's `welcome`).
    Participant(u64, oneshot::Sender<Option<podium_protocol::Participant>>),
    /// A page of a list that changes do not carry (staff `fetch`): items `from..from+limit`
    /// and the list's length.
    Fetch {
        /// Which list.
        what: ListName,
        /// First index.
        from: usize,
        /// Items at most.
        limit: usize,
        /// The page.
        reply: oneshot::Sender<Page>,
    },
    /// Stop the task (archive, delete).
    Stop,
}

/// How the rest of the server reaches a meeting task.
#[derive(Clone)]
pub struct MeetingHandle {
    /// Inputs to the task.
    tx: mpsc::Sender<Input>,
    /// The latest published state (and agenda); connections subscribe here.
    published: watch::Receiver<Arc<Published>>,
}

impl MeetingHandle {
    /// A handle over any task that takes [`Input`]s and a `watch` of published states
    /// (a cluster node's router, for a meeting another node may own).
    pub fn new(
        tx: mpsc::Sender<Input>,
        published: watch::Receiver<Arc<Published>>,
    ) -> MeetingHandle {
        MeetingHandle { tx, published }
    }

    /// The task's inbox (a cluster router sends to it directly while its node owns the
    /// meeting).
    pub fn inbox(&self) -> &mpsc::Sender<Input> {
        &self.tx
    }

    /// Sends an input; `false` if the task has stopped.
    pub async fn send(&self, input: Input) -> bool {
        self.tx.send(input).await.is_ok()
    }

    /// A subscription to the published state, current value marked seen.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        let mut rx = self.published.clone();
        rx.mark_unchanged();
        rx
    }

    /// The meeting's agenda as last published.
    pub fn agenda(&self) -> Arc<podium_protocol::Agenda> {
        self.published.borrow().agenda.agenda.clone()
    }

    /// A participant's record, if the task runs and knows them.
    pub async fn participant(&self, id: u64) -> Option<podium_protocol::Participant> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Participant(id, tx)).await {
            return None;
        }
        rx.await.ok().flatten()
    }

    /// A page of the register or the hand history, if the task runs.
    pub async fn fetch(&self, what: ListName, from: usize, limit: usize) -> Option<Page> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Fetch {
            what,
            from,
            limit,
            reply,
        };
        if !self.send(input).await {
            return None;
        }
        rx.await.ok()
    }

    /// A copy of the engine, if the task runs.
    pub async fn inspect(&self) -> Option<Engine> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Inspect(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    /// The meeting's role links, if the task runs.
    pub async fn links(&self) -> Option<Vec<TokenRow>> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Input::Links(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    /// Rotates a role link; returns the new one.
    pub async fn rotate(
        &self,
        role: Role,
        person: Option<String>,
    ) -> Result<TokenRow, (ErrorCode, String)> {
        let gone = || {
            (
                ErrorCode::NoSuchMeeting,
                "the meeting has closed".to_string(),
            )
        };
        let (reply, rx) = oneshot::channel();
        if !self
            .send(Input::RotateLink {
                role,
                person,
                reply,
            })
            .await
        {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }

    /// Registers delegates (all or none); returns their ids and personal tokens.
    pub async fn invite(&self, delegates: Vec<crate::invite::Delegate>) -> InviteReply {
        let gone = || {
            (
                ErrorCode::NoSuchMeeting,
                "the meeting has closed".to_string(),
            )
        };
        let (reply, rx) = oneshot::channel();
        if !self.send(Input::Invite { delegates, reply }).await {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }

    /// Asks the task to stop.
    pub fn stop(&self) {
        let _ = self.tx.try_send(Input::Stop);
    }
}

/// A page of a staff list, as the meeting task answers a `fetch`.
#[derive(Debug, Clone)]
pub struct Page {
    /// The items.
    pub items: PageItems,
    /// Index of the first item in the whole list: the one asked for, or later when the
    /// items asked for are no longer held live (the oldest hand records; the report has
    /// them).
    pub from: usize,
    /// The whole list's length.
    pub total: usize,
}

/// Items `from..from + limit` of a list of the state (from the oldest still held, for the
/// hand history).
pub(super) fn page(
    state: &podium_protocol::MeetingState,
    what: ListName,
    from: usize,
    limit: usize,
) -> Page {
    fn slice<T: Clone>(v: &[T], from: usize, limit: usize) -> Vec<T> {
        let from = from.min(v.len());
        v[from..(from.saturating_add(limit)).min(v.len())].to_vec()
    }
    match what {
        ListName::Participants => Page {
            items: PageItems::Participants(slice(&state.participants, from, limit)),
            from,
            total: state.participants.len(),
        },
        ListName::HandHistory => {
            let start = state.hand_history_start;
            let from = from.max(start);
            Page {
                items: PageItems::HandHistory(slice(&state.hand_history, from - start, limit)),
                from,
                total: start + state.hand_history.len(),
            }
        }
    }
}
