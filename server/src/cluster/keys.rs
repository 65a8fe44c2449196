//! The names of everything Podium keeps in Redis, in one place. Every key and channel
//! starts with `podium:`; a meeting's own keys carry its id.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `podium:meetings` | sorted set | meeting ids, scored by creation time |
//! | `podium:meetings:ver` | integer | raised at every create, archive, delete |
//! | `podium:meeting:<id>` | hash | `agenda` (JSON), `status`, `created_at` |
//! | `podium:tokens` | hash | token hash (hex) → token row (JSON) of every meeting |
//! | `podium:m:<id>:tokens` | list | the meeting's token hashes, in the order made |
//! | `podium:m:<id>:head` | hash | `epoch` (fencing), `seq` (last journal position) |
//! | `podium:m:<id>:lease` | string, with TTL | `<node>/<epoch>` of the owner |
//! | `podium:m:<id>:journal` | stream | one entry per event, id `<seq>-0`, fields `e` (event JSON), `ep` (epoch of the writer) |
//! | `podium:m:<id>:snap` | hash | `seq`, `state`: the latest snapshot |
//! | `podium:m:<id>:idem`, `…:idemz` | hash, sorted set | idempotency records `<credential>:<key>` → `<request>:<seq>:<at>`; by time, for pruning |
//! | `podium:m:<id>:removed` | set | participants removed: their personal tokens open nothing |
//! | `podium:apikey:<hash>` | hash | an API key's row (`meeting`, `id`, `role`, `person`, `label`, `created_at`, `last_used_at`, `revoked_at`) |
//! | `podium:m:<id>:apikeys` | hash | the meeting's API keys: id → hash |
//! | `podium:apikeys` | set | every API key's hash |
//! | `podium:node:<node>` | string, with TTL | a live node's instance id (heartbeat) |
//! | `podium:nodes` | set | every node name seen |
//! | `podium:base-url` | string | the base URL links are printed with |
//!
//! Channels: `podium:m:<id>:state` (the owner's published states), `podium:m:<id>:in`
//! (requests to the owner), `podium:node:<node>` (replies to a node), `podium:events`
//! (meetings created, archived or deleted; leases released), `podium:revoked` (tokens
//! and API keys revoked, for every node's open connections).

/// Every meeting id, by creation time.
pub const MEETINGS: &str = "podium:meetings";
/// Raised whenever the set of meetings or their status changes.
pub const MEETINGS_VER: &str = "podium:meetings:ver";
/// Every token of every meeting.
pub const TOKENS: &str = "podium:tokens";
/// Every node name seen.
pub const NODES: &str = "podium:nodes";
/// The base URL for printed links.
pub const BASE_URL: &str = "podium:base-url";
/// Cluster-wide notifications.
pub const EVENTS: &str = "podium:events";
/// Revocations, for every node (see `super::revoke`).
pub const REVOKED: &str = "podium:revoked";
/// Every API key's hash.
pub const API_KEYS: &str = "podium:apikeys";

/// An API key's row, by the key's hash (hex).
pub fn api_key(hash_hex: &str) -> String {
    format!("podium:apikey:{hash_hex}")
}

/// A meeting's record.
pub fn meeting(id: &str) -> String {
    format!("podium:meeting:{id}")
}

/// A meeting's own key `podium:m:<id>:<what>`.
pub fn m(id: &str, what: &str) -> String {
    format!("podium:m:{id}:{what}")
}

/// A node's heartbeat key.
pub fn node(name: &str) -> String {
    format!("podium:node:{name}")
}

/// The channel a node receives its replies on.
pub fn node_channel(name: &str) -> String {
    format!("podium:node:{name}")
}

/// The meeting id of a meeting channel `podium:m:<id>:<what>`, and `what`.
pub fn parse_meeting_channel(channel: &str) -> Option<(&str, &str)> {
    let rest = channel.strip_prefix("podium:m:")?;
    let (id, what) = rest.rsplit_once(':')?;
    Some((id, what))
}

#[cfg(test)]
mod tests {
    #[test]
    fn meeting_channels_parse_back() {
        let c = super::m("gfmd-mayors-2021-01-22", "state");
        assert_eq!(
            super::parse_meeting_channel(&c),
            Some(("gfmd-mayors-2021-01-22", "state"))
        );
        assert_eq!(super::parse_meeting_channel("podium:events"), None);
    }
}
