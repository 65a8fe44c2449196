//! What nodes say to each other about a meeting's inputs: requests to its owner
//! ([`Envelope`]: every [`crate::hub::meeting::Input`] but a stop — commands from the
//! websocket and the HTTP API, joins, invitations, link rotations, reads of the links, the
//! register and a participant) and the owner's answers
//! ([`AnswerEnvelope`]), as JSON on the meeting's request channel and the sender node's
//! reply channel. An actor travels as the grant that authenticated it ([`Who`]).

use super::journal::{hash_of_hex, TokenWire};
use crate::engine::Actor;
use crate::hub::meeting::Reply;
use crate::hub::Grant;
use crate::invite::Delegate;
use crate::store::{IdempotencyRecord, TokenRow};
use podium_protocol::{Command, ErrorCode, Lang, ListName, Participant, Role};
use serde::{Deserialize, Serialize};

/// Who sends a command, as the wire carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    /// The role.
    pub role: Role,
    /// Agenda person id (moderator, speaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<u64>,
}

impl Who {
    /// The wire form of an actor.
    pub fn of(actor: &Actor) -> Who {
        let (person, participant) = match actor {
            Actor::Moderator(p) | Actor::Speaker(p) => (Some(p.clone()), None),
            Actor::Participant(p) | Actor::Observer(p) => (None, Some(*p)),
            // A booth's grant names its language (see `Grant::actor`).
            Actor::Interpreter(lang) => (Some(lang.code().to_string()), None),
            _ => (None, None),
        };
        Who {
            role: actor.role(),
            person,
            participant,
        }
    }

    /// The actor back (through the grant's rule, the one the sender's node applied).
    pub fn actor(&self, meeting: &str) -> Option<Actor> {
        self.grant(meeting).actor()
    }

    /// The grant of this sender in `meeting` (a new, unrevoked one).
    pub fn grant(&self, meeting: &str) -> Grant {
        Grant {
            meeting: meeting.to_string(),
            role: self.role,
            person: self.person.clone(),
            participant: self.participant,
            revocation: Default::default(),
        }
    }
}

/// A delegate to invite, as the wire carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DelegateWire {
    /// Display name.
    pub name: String,
    /// Delegation.
    pub delegation: String,
    /// Floor language.
    pub language: Lang,
    /// Observer rather than participant.
    pub observer: bool,
}

impl DelegateWire {
    /// The wire form of a delegate (the e-mail address stays on the sender's node: it is
    /// only for the mail merge).
    pub fn of(d: &Delegate) -> DelegateWire {
        DelegateWire {
            name: d.name.clone(),
            delegation: d.delegation.clone(),
            language: d.language,
            observer: d.observer,
        }
    }

    /// The delegate back.
    pub fn delegate(self) -> Delegate {
        Delegate {
            name: self.name,
            delegation: self.delegation,
            language: self.language,
            observer: self.observer,
            email: None,
        }
    }
}

/// A token row as the wire carries it: its hash (hex) and the stored row.
#[derive(Clone, Serialize, Deserialize)]
pub struct RowWire {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// The row.
    pub row: TokenWire,
}

impl RowWire {
    /// The wire form of a row.
    pub fn of(r: &TokenRow) -> RowWire {
        RowWire {
            hash: hex::encode(r.hash),
            row: TokenWire::of(r),
        }
    }

    /// The row back, if its hash decodes.
    pub fn row(self) -> Option<TokenRow> {
        let hash = hash_of_hex(&self.hash).ok()?;
        Some(self.row.row(hash))
    }
}

impl std::fmt::Debug for RowWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A role link's row holds the link itself: never printed.
        f.debug_struct("RowWire").finish_non_exhaustive()
    }
}

/// A command's idempotency record as the wire carries it (`seq` and `at` are the owner's
/// to fill in).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordWire {
    /// SHA-256 of the sender's credential, hex.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of the request, hex.
    pub request: String,
}

impl RecordWire {
    /// The wire form of a record.
    pub fn of(r: &IdempotencyRecord) -> RecordWire {
        RecordWire {
            scope: hex::encode(r.scope),
            key: r.key.clone(),
            request: hex::encode(r.request),
        }
    }

    /// The record back, for `meeting`, if its hashes decode.
    pub fn record(self, meeting: &str) -> Option<IdempotencyRecord> {
        Some(IdempotencyRecord {
            meeting: meeting.to_string(),
            scope: hash_of_hex(&self.scope).ok()?,
            key: self.key,
            request: hash_of_hex(&self.request).ok()?,
            seq: 0,
            at: 0,
        })
    }
}

/// A request to a meeting's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Request {
    /// A command from an authenticated client (websocket).
    Command {
        /// The sender.
        who: Who,
        /// The command.
        command: Command,
        /// Its idempotency record, if it has a key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<RecordWire>,
    },
    /// A command from the HTTP API.
    Http {
        /// The sender (the actor of its key or link).
        who: Who,
        /// The command.
        command: Command,
        /// Its idempotency record, if it has an `Idempotency-Key`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<RecordWire>,
    },
    /// A join through a join link.
    Join {
        /// Participant or observer.
        role: Role,
        /// Display name.
        name: String,
        /// Delegation.
        delegation: String,
        /// Floor language.
        language: Lang,
    },
    /// A participant's record.
    Participant {
        /// Participant id.
        id: u64,
    },
    /// A page of the register or the hand history (staff `fetch`).
    Fetch {
        /// Which list.
        what: ListName,
        /// First index.
        from: usize,
        /// Items at most.
        limit: usize,
    },
    /// The meeting's role links.
    Links,
    /// Replace a role link.
    RotateLink {
        /// The link's role.
        role: Role,
        /// The person, for moderator and speaker links.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<String>,
    },
    /// Register delegates (all or none).
    Invite {
        /// The delegates.
        delegates: Vec<DelegateWire>,
    },
}

/// A request with its return address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender node's request id.
    pub req: u64,
    /// The sender node.
    pub node: String,
    /// What is asked.
    pub body: Request,
}

/// An answer to a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Answer {
    /// Accepted and durable at `seq`.
    Ack {
        /// Journal position.
        seq: u64,
    },
    /// An HTTP command accepted and durable at `seq`, or answered from its record.
    HttpAck {
        /// Journal position.
        seq: u64,
        /// A retry answered from its idempotency record (nothing applied).
        replayed: bool,
    },
    /// Refused.
    Error {
        /// Code.
        code: ErrorCode,
        /// For people.
        message: String,
    },
    /// Joined: the new participant's grant and personal token.
    Joined {
        /// The grant.
        who: Who,
        /// The personal token (a secret: never logged).
        token: String,
    },
    /// A participant's record.
    Participant {
        /// The record, if known.
        participant: Option<Participant>,
    },
    /// A page: the items (of the list asked for), where they start and the list's length.
    Page {
        /// The items, JSON.
        items: serde_json::Value,
        /// Index of the first item in the whole list.
        #[serde(default)]
        from: usize,
        /// The whole list's length.
        total: usize,
    },
    /// The meeting's role links.
    Links {
        /// Their rows.
        rows: Vec<RowWire>,
    },
    /// The new link of a rotation.
    Rotated {
        /// Its row.
        row: RowWire,
    },
    /// The invited delegates' participant ids and personal tokens, in order.
    Invited {
        /// (participant id, token) per delegate (secrets: never logged).
        made: Vec<(u64, String)>,
    },
    /// The receiver does not own the meeting (any more): nothing was applied.
    NotOwner,
}

/// An answer with the request id it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerEnvelope {
    /// The request id.
    pub req: u64,
    /// The answer.
    pub body: Answer,
}

/// The encoded answer to request `req`.
pub fn encode_answer(req: u64, body: Answer) -> Vec<u8> {
    serde_json::to_vec(&AnswerEnvelope { req, body }).expect("answer serialises")
}

/// The encoded answer to a command.
pub fn encode_command_reply(req: u64, reply: Reply) -> Vec<u8> {
    encode_answer(
        req,
        match reply {
            Ok(seq) => Answer::Ack { seq },
            Err((code, message)) => Answer::Error { code, message },
        },
    )
}
