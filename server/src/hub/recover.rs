//! Rebuilding a meeting's engine from the store: from its latest snapshot and the journal
//! after it (a live meeting, at start or after a failed write), or from the whole journal
//! keeping every hand (what the report is built from).

use super::HubError;
use crate::engine::Engine;
use crate::store::StoreHandle;
use podium_protocol::{Agenda, MeetingState};
use std::sync::Arc;

/// Rebuilds a meeting's engine from its snapshot and journal tail. `agenda` is the agenda
/// as created (the journal's starting point when there is no snapshot).
pub async fn recover_engine(
    store: &StoreHandle,
    id: &str,
    agenda: Arc<Agenda>,
) -> Result<Engine, HubError> {
    let mid = id.to_string();
    let rec = store.run(move |s| s.recover(&mid)).await??;
    let journal = |seq: u64, problem: String| HubError::Journal {
        meeting: id.into(),
        seq,
        problem,
    };
    let mut engine = match rec.snapshot {
        Some(snap) => {
            let seq = snap.seq;
            let state: MeetingState =
                serde_json::from_str(&snap.state).map_err(|e| journal(seq, e.to_string()))?;
            // Snapshots from before live edits hold no agenda: the one as created is current.
            let agenda = match snap.agenda {
                Some(json) => Arc::new(
                    serde_json::from_str::<Agenda>(&json)
                        .map_err(|e| journal(seq, format!("snapshot agenda: {e}")))?,
                ),
                None => agenda,
            };
            Engine::restore(agenda, state, seq)
        }
        None => Engine::new(agenda),
    };
    replay_tail(&mut engine, id, rec.tail)?;
    Ok(engine)
}

/// Applies journal events after the engine's `seq`, checking that none is missing.
fn replay_tail(engine: &mut Engine, id: &str, events: Vec<(u64, String)>) -> Result<(), HubError> {
    let journal = |seq: u64, problem: String| HubError::Journal {
        meeting: id.into(),
        seq,
        problem,
    };
    for (seq, json) in events {
        if seq != engine.seq() + 1 {
            return Err(journal(seq, format!("expected seq {}", engine.seq() + 1)));
        }
        let event = serde_json::from_str(&json).map_err(|e| journal(seq, e.to_string()))?;
        engine.replay(&[event]);
    }
    Ok(())
}

/// Events read from the store at a time by [`replay_engine`].
const REPLAY_PAGE: usize = 1000;

/// A meeting's engine rebuilt from its whole journal (no snapshot), keeping every hand
/// record: what the report is built from. A live meeting keeps only the latest hands
/// ([`crate::engine::HAND_HISTORY_KEPT`]); the journal has them all. `agenda` is the
/// agenda as created. The journal is read a page at a time, so that the store thread
/// goes on writing other meetings' changes in between.
pub async fn replay_engine(
    store: &StoreHandle,
    id: &str,
    agenda: Arc<Agenda>,
) -> Result<Engine, HubError> {
    let mut engine = Engine::new(agenda).keeping_all_hands();
    loop {
        let (mid, after) = (id.to_string(), engine.seq());
        let page = store
            .run(move |s| s.journal(&mid, after, REPLAY_PAGE))
            .await??;
        let n = page.len();
        replay_tail(&mut engine, id, page)?;
        if n < REPLAY_PAGE {
            return Ok(engine);
        }
    }
}
