//! How a token's row is kept in Redis (`podium:tokens`, by the token's hash): the row a
//! node reads to authenticate any link, participant token or invitation, whichever node
//! made it. The token itself is stored only for role links (they are printed again);
//! personal tokens exist only as their hash.

use crate::store::{StoreError, TokenRow};
use podium_protocol::Role;
use serde::{Deserialize, Serialize};

/// How a token row is kept in `podium:tokens`.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenWire {
    /// Meeting id.
    pub meeting: String,
    /// Role granted.
    pub role: Role,
    /// Agenda person id (moderator, speaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Participant id (personal tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<u64>,
    /// The token itself, for role links only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_token: Option<String>,
}

impl TokenWire {
    /// The wire form of a row.
    pub fn of(r: &TokenRow) -> TokenWire {
        TokenWire {
            meeting: r.meeting.clone(),
            role: r.role,
            person: r.person.clone(),
            participant: r.participant,
            link_token: r.link_token.clone(),
        }
    }

    /// The row back, with its hash.
    pub fn row(self, hash: [u8; 32]) -> TokenRow {
        TokenRow {
            hash,
            meeting: self.meeting,
            role: self.role,
            person: self.person,
            participant: self.participant,
            link_token: self.link_token,
        }
    }
}

/// Decodes a token hash from hex.
pub fn hash_of_hex(hex_hash: &str) -> Result<[u8; 32], StoreError> {
    hex::decode(hex_hash)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| StoreError::Decode(format!("bad token hash {hex_hash:?}")))
}
