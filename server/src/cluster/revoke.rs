//! Revocations across nodes. Each node keeps its own grants (token hash → grant, with the
//! cancellation its connections wait on) and its own ring of API keys; a revocation made
//! on one node must close the connections and event streams of every node.
//!
//! Two mechanisms, so that neither a lost message nor a slow one lets a revoked token in:
//! - **Checked at every use.** A node asks Redis for a token's row at each `hello`/`join`
//!   and each HTTP request ([`crate::hub::Hub::find_grant`]), and for an API key's row at
//!   each use ([`crate::keys::KeyRing::find_checked`]). The append that revokes a token
//!   deletes its row (or bars its participant) in the same step as the events, and a
//!   revoked key's row says so before the revoking request is answered: from then on no
//!   node lets it in.
//! - **Pushed to open connections.** The owner's outbox publishes, after the state that
//!   shows it, which tokens a turn revoked and which participants it removed; a node that
//!   revokes an API key publishes it. Every node revokes the grants (4001) and keys it
//!   holds. A node whose subscriber reconnected (it may have missed notices) checks every
//!   grant and key it holds against Redis ([`recheck`]).
//!
//! Notices are JSON on `podium:revoked`: `{"t":"tokens","m":ID,"hashes":[hex…],
//! "participants":[…]}` and `{"t":"key","m":ID,"hash":hex}`.

use super::{keys, Node};
use crate::hub::meeting::Revoked;
use crate::hub::{close, revoke_participant};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Notice {
    Tokens {
        m: String,
        hashes: Vec<String>,
        participants: Vec<u64>,
    },
    Key {
        m: String,
        hash: String,
    },
}

/// The notice of a turn's revocations in `meeting`.
pub fn encode_tokens(meeting: &str, r: &Revoked) -> Vec<u8> {
    serde_json::to_vec(&Notice::Tokens {
        m: meeting.to_string(),
        hashes: r.hashes.iter().map(hex::encode).collect(),
        participants: r.participants.clone(),
    })
    .expect("notice serialises")
}

/// The notice of an API key revoked in `meeting`.
pub fn encode_key(meeting: &str, hash: &[u8; 32]) -> Vec<u8> {
    serde_json::to_vec(&Notice::Key {
        m: meeting.to_string(),
        hash: hex::encode(hash),
    })
    .expect("notice serialises")
}

fn hash_of(h: &str) -> Option<[u8; 32]> {
    hex::decode(h).ok()?.try_into().ok()
}

/// A notice arrived: revoke what this node holds of it.
pub fn receive(node: &Node, payload: &[u8]) {
    let notice = match serde_json::from_slice::<Notice>(payload) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "undecodable revocation notice ignored");
            return;
        }
    };
    match notice {
        Notice::Tokens {
            m,
            hashes,
            participants,
        } => {
            let Some(grants) = node.grants.get() else {
                return;
            };
            for h in hashes.iter().filter_map(|h| hash_of(h)) {
                if let Some((_, g)) = grants.remove(&h) {
                    g.revocation.revoke(close::REVOKED);
                }
            }
            for p in participants {
                revoke_participant(grants, &m, p);
            }
        }
        Notice::Key { hash, .. } => {
            if let (Some(ring), Some(h)) = (node.key_ring(), hash_of(&hash)) {
                ring.revoked_elsewhere(&h);
            }
        }
    }
}

/// Checks every grant and API key this node holds against Redis, and revokes those that
/// no longer open anything (after this node may have missed notices).
pub async fn recheck(node: &Arc<Node>) {
    if let Err(e) = recheck_grants(node).await {
        tracing::warn!(error = %e, "cannot check this node's grants against Redis");
    }
    if let Some(ring) = node.key_ring() {
        let mut c = node.conn.clone();
        for chunk in ring.hashes().chunks(512) {
            let mut pipe = redis::pipe();
            for h in chunk {
                pipe.cmd("HGET")
                    .arg(keys::api_key(&hex::encode(h)))
                    .arg("revoked_at");
                pipe.cmd("EXISTS").arg(keys::api_key(&hex::encode(h)));
            }
            let Ok(v) = pipe.query_async::<Vec<(Option<String>, i64)>>(&mut c).await else {
                return;
            };
            for (h, (revoked_at, exists)) in chunk.iter().zip(v) {
                if exists == 0 || revoked_at.is_some_and(|r| !r.is_empty()) {
                    ring.revoked_elsewhere(h);
                }
            }
        }
    }
}

async fn recheck_grants(node: &Arc<Node>) -> redis::RedisResult<()> {
    let Some(grants) = node.grants.get() else {
        return Ok(());
    };
    let held: Vec<([u8; 32], String, Option<u64>)> = grants
        .iter()
        .map(|g| (*g.key(), g.meeting.clone(), g.participant))
        .collect();
    let mut c = node.conn.clone();
    // Removed participants, per meeting.
    let mut removed: HashMap<String, Vec<u64>> = HashMap::new();
    for (_, m, p) in &held {
        if p.is_some() && !removed.contains_key(m) {
            let ids: Vec<u64> = redis::cmd("SMEMBERS")
                .arg(keys::m(m, "removed"))
                .query_async(&mut c)
                .await?;
            removed.insert(m.clone(), ids);
        }
    }
    for chunk in held.chunks(1000) {
        let fields: Vec<String> = chunk.iter().map(|(h, _, _)| hex::encode(h)).collect();
        let rows: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(keys::TOKENS)
            .arg(&fields)
            .query_async(&mut c)
            .await?;
        for ((h, m, p), row) in chunk.iter().zip(rows) {
            let barred = p.is_some_and(|p| removed.get(m).is_some_and(|r| r.contains(&p)));
            if row.is_none() || barred {
                if let Some((_, g)) = grants.remove(h) {
                    g.revocation.revoke(close::REVOKED);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back() {
        let r = Revoked {
            hashes: vec![[7; 32]],
            participants: vec![3],
        };
        match serde_json::from_slice::<Notice>(&encode_tokens("m", &r)).unwrap() {
            Notice::Tokens {
                m,
                hashes,
                participants,
            } => {
                assert_eq!(m, "m");
                assert_eq!(
                    hashes.iter().filter_map(|h| hash_of(h)).collect::<Vec<_>>(),
                    r.hashes
                );
                assert_eq!(participants, vec![3]);
            }
            _ => panic!("tokens"),
        }
        assert!(matches!(
            serde_json::from_slice::<Notice>(&encode_key("m", &[1; 32])).unwrap(),
            Notice::Key { .. }
        ));
    }
}
