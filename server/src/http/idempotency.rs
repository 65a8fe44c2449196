//! `Idempotency-Key` for `POST /api/meetings/{id}/commands`: a request retried with the
//! same key is answered with the first answer and not applied again.
//!
//! Two layers. In memory, [`Cache`] holds each key's answer (and, while the first request
//! is still running, makes a retry wait for it) for a day, at most [`CAPACITY`] keys: it
//! also replays refusals, on this server. Below it is the one idempotency mechanism that
//! websocket commands share (`hub::idempotent`): an accepted command's record is written
//! in the same transaction as its events, and the meeting task answers a retry from it —
//! after a crash and restart, or through another node of a cluster — exactly when the
//! command's effect is durable. Keys are per credential: two devices using the same key
//! string do not see each other's answers. A key reused with another request (other path
//! or body) is refused with 422.

use axum::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long an answer is remembered (the store keeps its records as long).
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// Keys remembered in memory at most; past it the oldest answered ones are forgotten
/// (the store still has the accepted ones).
pub const CAPACITY: usize = 10_000;

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = crate::hub::idempotent::MAX_KEY;

/// An answer to replay: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: String,
}

impl Outcome {
    /// Whether a retry should get this answer again. Rate limits and failures to save
    /// changed nothing and may go differently next time: those are not remembered.
    pub fn remembered(&self) -> bool {
        !matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::INTERNAL_SERVER_ERROR
        )
    }
}

/// The identity of a request under a key: SHA-256 of its path and body.
pub fn fingerprint(path: &str, body: &[u8]) -> [u8; 32] {
    crate::hub::idempotent::request_hash(path, body)
}

/// Whether a header value can be an idempotency key: 1–255 visible ASCII characters (the
/// websocket `key` follows the same rule).
pub fn valid_key(key: &str) -> bool {
    crate::hub::idempotent::valid_key(key)
}

/// Where a key is remembered: meeting, credential hash, key.
type Slot = (String, [u8; 32], String);

struct Entry {
    /// Which request the key was first used for.
    request: [u8; 32],
    /// When it was first used.
    at: Instant,
    /// `None` while the first request runs.
    outcome: watch::Receiver<Option<Outcome>>,
}

/// What [`Cache::begin`] found.
pub enum Begin {
    /// First use: run the request, then [`Pending::finish`].
    New(Pending),
    /// Seen before with the same request: its answer (after waiting for it if needed).
    Replay(Outcome),
    /// Seen before with another request.
    Mismatch,
}

/// A first use in progress. Dropping it without [`Pending::finish`] forgets the key.
pub struct Pending {
    slot: Option<Slot>,
    tx: watch::Sender<Option<Outcome>>,
    cache: Arc<Cache>,
}

impl Pending {
    /// Records the answer (or forgets the key, for answers that are not remembered) and
    /// wakes any retry that waits for it.
    pub fn finish(mut self, outcome: &Outcome) {
        if !outcome.remembered() {
            if let Some(slot) = self.slot.take() {
                self.cache.forget(&slot);
            }
        }
        self.slot = None;
        self.tx.send_replace(Some(outcome.clone()));
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.cache.forget(&slot);
        }
    }
}

/// The in-memory layer.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<Slot, Entry>>,
}

impl Cache {
    /// Looks a key up, or claims it for a first request.
    pub async fn begin(
        self: &Arc<Self>,
        meeting: &str,
        scope: [u8; 32],
        key: &str,
        request: [u8; 32],
    ) -> Begin {
        let slot = (meeting.to_string(), scope, key.to_string());
        let mut rx = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&slot) {
                Some(e) if e.at.elapsed() < TTL => {
                    if e.request != request {
                        return Begin::Mismatch;
                    }
                    e.outcome.clone()
                }
                _ => {
                    if entries.len() >= CAPACITY {
                        evict(&mut entries);
                    }
                    let (tx, rx) = watch::channel(None);
                    entries.insert(
                        slot.clone(),
                        Entry {
                            request,
                            at: Instant::now(),
                            outcome: rx,
                        },
                    );
                    return Begin::New(Pending {
                        slot: Some(slot),
                        tx,
                        cache: self.clone(),
                    });
                }
            }
        };
        let waited = rx
            .wait_for(Option::is_some)
            .await
            .map(|o| o.clone().expect("waited for Some"));
        match waited {
            Ok(outcome) => Begin::Replay(outcome),
            // The first request went away without an answer (the key was forgotten):
            // this one is the first now.
            Err(_) => Box::pin(self.begin(meeting, scope, key, request)).await,
        }
    }

    fn forget(&self, slot: &Slot) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(slot);
    }
}

/// Frees room: drops expired keys, then the older half of the answered ones.
fn evict(entries: &mut HashMap<Slot, Entry>) {
    entries.retain(|_, e| e.at.elapsed() < TTL);
    if entries.len() < CAPACITY {
        return;
    }
    let mut answered: Vec<(Instant, Slot)> = entries
        .iter()
        .filter(|(_, e)| e.outcome.borrow().is_some())
        .map(|(k, e)| (e.at, k.clone()))
        .collect();
    answered.sort_by_key(|(at, _)| *at);
    for (_, slot) in answered.into_iter().take(CAPACITY / 2) {
        entries.remove(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> Arc<Cache> {
        Arc::default()
    }

    fn ok() -> Outcome {
        Outcome {
            status: StatusCode::OK,
            body: r#"{"seq":3}"#.into(),
        }
    }

    #[tokio::test]
    async fn a_retry_gets_the_first_answer_and_another_request_is_refused() {
        let c = cache();
        let r = fingerprint("/a", b"{}");
        let Begin::New(p) = c.begin("m", [1; 32], "k", r).await else {
            panic!("first use")
        };
        // A retry while the first runs waits for its answer.
        let c2 = c.clone();
        let waiting = tokio::spawn(async move {
            match c2.begin("m", [1; 32], "k", r).await {
                Begin::Replay(o) => o,
                _ => panic!("expected a replay"),
            }
        });
        tokio::task::yield_now().await;
        p.finish(&ok());
        assert_eq!(waiting.await.unwrap(), ok());
        assert!(matches!(
            c.begin("m", [1; 32], "k", fingerprint("/a", b"{\"x\":1}"))
                .await,
            Begin::Mismatch
        ));
        // Another credential with the same key string is another key.
        assert!(matches!(c.begin("m", [2; 32], "k", r).await, Begin::New(_)));
    }

    #[tokio::test]
    async fn transient_failures_and_abandoned_requests_are_forgotten() {
        let c = cache();
        let r = fingerprint("/a", b"{}");
        let Begin::New(p) = c.begin("m", [1; 32], "k", r).await else {
            panic!()
        };
        p.finish(&Outcome {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: "{}".into(),
        });
        let Begin::New(p) = c.begin("m", [1; 32], "k", r).await else {
            panic!("a 503 is not remembered")
        };
        drop(p);
        assert!(matches!(c.begin("m", [1; 32], "k", r).await, Begin::New(_)));
        assert!(valid_key("retry-7f3a") && !valid_key("") && !valid_key("a b"));
    }
}
