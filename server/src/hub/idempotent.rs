//! Idempotency keys as the meeting task sees them: one mechanism for the websocket
//! command's `key` and the HTTP API's `Idempotency-Key`.
//!
//! A command sent with a key carries an [`IdempotencyRecord`] (who sent it, the key, a
//! hash of the request). The meeting task looks the key up in [`Seen`] before applying
//! the command: a key seen with the same request is answered with the `seq` of its first
//! application (a replay, nothing applied), a key seen with another request is refused,
//! and a new key is applied and its record written in the same transaction as the
//! command's events. [`Seen`] is loaded from the store when the task starts, so a retry
//! is recognised after a restart and, in a cluster, on the meeting's next owner; and since
//! the task checks it, a retry that arrives while the first is still queued is caught too.

use crate::store::{IdempotencyRecord, IDEMPOTENCY_TTL_MS};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a key says about a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Not seen: apply it.
    New,
    /// Applied before (or earlier in this turn) at this seq: answer it again.
    Replay(u64),
    /// Used before for another request: refuse it.
    Mismatch,
}

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 255;

/// Whether a string can be an idempotency key: 1–255 visible ASCII characters (the same
/// rule for the websocket `key` and the HTTP `Idempotency-Key`).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The hash that tells two requests under one key apart: SHA-256 of a kind (the HTTP
/// path, or `websocket`), a zero byte, and the request's bytes.
pub fn request_hash(kind: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(body);
    h.finalize().into()
}

/// (credential hash, key).
type KeyOf = ([u8; 32], String);
/// (request hash, seq of its ack, when applied).
type Applied = ([u8; 32], u64, i64);

/// The keys a meeting applied in the last [`IDEMPOTENCY_TTL_MS`].
#[derive(Default)]
pub struct Seen {
    /// (credential, key) → (request hash, seq of its ack, when applied).
    by_key: HashMap<KeyOf, Applied>,
    /// Records added since the map was last pruned of expired ones.
    added: usize,
}

impl Seen {
    /// The keys of stored records.
    pub fn load(records: Vec<IdempotencyRecord>) -> Seen {
        let mut seen = Seen::default();
        seen.add(&records);
        seen
    }

    /// Looks a command's record up, in what is durable and in what this turn has applied
    /// so far (`turn`, not yet durable: a replay of it is answered after the write).
    pub fn check(&self, r: &IdempotencyRecord, turn: &[IdempotencyRecord]) -> Check {
        let found = turn
            .iter()
            .rev()
            .find(|t| t.scope == r.scope && t.key == r.key)
            .map(|t| (t.request, t.seq))
            .or_else(|| {
                self.by_key
                    .get(&(r.scope, r.key.clone()))
                    .map(|(req, seq, _)| (*req, *seq))
            });
        match found {
            None => Check::New,
            Some((req, seq)) if req == r.request => Check::Replay(seq),
            Some(_) => Check::Mismatch,
        }
    }

    /// Adds durable records; now and then forgets those past the window.
    pub fn add(&mut self, records: &[IdempotencyRecord]) {
        for r in records {
            self.by_key
                .insert((r.scope, r.key.clone()), (r.request, r.seq, r.at));
        }
        self.added += records.len();
        if self.added >= 1024 {
            self.added = 0;
            if let Some(newest) = records.iter().map(|r| r.at).max() {
                self.by_key
                    .retain(|_, (_, _, at)| *at >= newest - IDEMPOTENCY_TTL_MS);
            }
        }
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(scope: u8, key: &str, request: &[u8], seq: u64, at: i64) -> IdempotencyRecord {
        IdempotencyRecord {
            meeting: "m".into(),
            scope: [scope; 32],
            key: key.into(),
            request: request_hash("websocket", request),
            seq,
            at,
        }
    }

    #[test]
    fn a_key_is_replayed_for_its_request_refused_for_another_and_scoped() {
        let mut seen = Seen::load(vec![rec(1, "k", b"a", 7, 100)]);
        assert_eq!(seen.check(&rec(1, "k", b"a", 0, 0), &[]), Check::Replay(7));
        assert_eq!(seen.check(&rec(1, "k", b"b", 0, 0), &[]), Check::Mismatch);
        assert_eq!(seen.check(&rec(2, "k", b"a", 0, 0), &[]), Check::New);
        // Earlier in the same turn counts.
        let turn = [rec(2, "k", b"a", 9, 200)];
        assert_eq!(
            seen.check(&rec(2, "k", b"a", 0, 0), &turn),
            Check::Replay(9)
        );
        seen.add(&turn);
        assert_eq!(seen.len(), 2);
        assert_ne!(request_hash("websocket", b"a"), request_hash("/api", b"a"));
    }

    #[test]
    fn expired_keys_are_forgotten() {
        let mut seen = Seen::load(vec![rec(1, "old", b"a", 1, 0)]);
        let fresh: Vec<_> = (0..1024)
            .map(|i| rec(1, &format!("k{i}"), b"a", i, IDEMPOTENCY_TTL_MS + 1))
            .collect();
        seen.add(&fresh);
        assert_eq!(seen.check(&rec(1, "old", b"a", 0, 0), &[]), Check::New);
        assert_eq!(seen.len(), 1024);
    }
}
