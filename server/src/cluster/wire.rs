//! What nodes say to each other about a meeting's inputs: requests to its owner
//! ([`Envelope`]: a command, a join, a participant lookup) and the owner's answers
//! ([`AnswerEnvelope`]), as JSON on the meeting's request channel and the sender node's
//! reply channel. An actor travels as the grant that authenticated it ([`Who`]).

use crate::engine::Actor;
use crate::hub::meeting::Reply;
use crate::hub::Grant;
use podium_protocol::{Command, ErrorCode, Lang, Participant, Role};
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

/// A request to a meeting's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Request {
    /// A command from an authenticated client.
    Command {
        /// The sender.
        who: Who,
        /// The command.
        command: Command,
        /// Its idempotency key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
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
