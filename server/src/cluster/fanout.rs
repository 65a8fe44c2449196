//! Fan-out across nodes: the owner publishes each published state once, and every node
//! holding clients of the meeting feeds its local `watch` from it.
//!
//! A state message carries the meeting's epoch and seq and both role projections as
//! their owner encoded them — the very `change` bytes the owner's own connections send —
//! so another node decodes a small header and shares the bytes, and its connections run
//! the single-node path unchanged. Every message is complete: a node that missed one
//! only missed bytes. A projection whose seq did not change is kept (shared), so a change
//! a role cannot see wakes none of its connections on any node.
//!
//! The owner's [`run_outbox`] task publishes, in order, the states its meeting task
//! publishes locally and the replies to other nodes' requests; a reply is never published
//! before the state that shows its effect, and a node applies a state before it handles
//! the replies behind it (one subscriber connection, handled in order), so a remote
//! client, like a local one, sees the change before its `ack`.
//!
//! The agenda travels with the first state of each agenda version an outbox publishes;
//! a node that missed it (it lost messages) rebuilds the state from the journal instead.
//!
//! Wire format: `PDS2`, a little-endian u32 header length, the header JSON
//! `{"epoch","seq","parts":[[seq,json_at,state_at,len] × 3],"places":n,
//! "agenda":[version,len]}`, then the staff, public and booth `change` frames (each a
//! whole websocket frame, header included), the queue places (`n` × 16 bytes: participant
//! u64, hand place u32, point-of-order place u32, little-endian) and the agenda JSON (`len`
//! 0 when it is not included).

use super::{keys, Mode, Node, Slot};
use crate::engine::Engine;
use crate::hub::meeting::{Reply, Revoked};
use crate::hub::views::{AgendaFrame, Places, Projection, Published};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

const MAGIC: &[u8; 4] = b"PDS2";

#[derive(Serialize, Deserialize)]
struct Header {
    epoch: u64,
    seq: u64,
    parts: [[u64; 4]; 3],
    places: u64,
    agenda: [u64; 2],
}

/// Encodes a published state of `epoch` for the meeting's channel, with its agenda if
/// `with_agenda`.
pub fn encode(epoch: u64, p: &Published, with_agenda: bool) -> Vec<u8> {
    let projections = [&p.staff, &p.public, &p.booth];
    let part = |x: &Projection| {
        let (json_at, state_at) = x.offsets();
        [x.seq, json_at as u64, state_at as u64, x.frame.len() as u64]
    };
    let agenda = if with_agenda {
        p.agenda.agenda_json()
    } else {
        ""
    };
    let places = p.places.entries();
    let header = serde_json::to_vec(&Header {
        epoch,
        seq: p.seq,
        parts: projections.map(|x| part(x)),
        places: places.len() as u64,
        agenda: [p.agenda.version, agenda.len() as u64],
    })
    .expect("header serialises");
    let frames: usize = projections.iter().map(|x| x.frame.len()).sum();
    let mut out = Vec::with_capacity(8 + header.len() + frames + places.len() * 16 + agenda.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    for x in projections {
        out.extend_from_slice(&x.frame);
    }
    for (pid, hand, poo) in places {
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&hand.to_le_bytes());
        out.extend_from_slice(&poo.to_le_bytes());
    }
    out.extend_from_slice(agenda.as_bytes());
    out
}

/// A state message, decoded.
pub struct Decoded {
    /// The owner's epoch.
    pub epoch: u64,
    /// The state's seq.
    pub seq: u64,
    /// (projection seq, frame, json offset, state offset) for staff, public and booth.
    pub parts: [(u64, Bytes, usize, usize); 3],
    /// The queue places.
    pub places: Vec<(u64, u32, u32)>,
    /// The agenda version of the state, and the agenda JSON if included.
    pub agenda: (u64, Option<Bytes>),
}

/// Decodes a state message; `None` if it is not one.
pub fn decode(payload: &[u8]) -> Option<Decoded> {
    let rest = payload.strip_prefix(MAGIC)?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let header: Header = serde_json::from_slice(rest.get(4..4 + len)?).ok()?;
    let body = Bytes::copy_from_slice(rest.get(4 + len..)?);
    let n_places = usize::try_from(header.places).ok()?;
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<Bytes> {
        let end = at.checked_add(n)?;
        let b = body.get(at..end).map(|_| body.slice(at..end))?;
        at = end;
        Some(b)
    };
    let mut parts = Vec::with_capacity(3);
    for [seq, json_at, state_at, len] in header.parts {
        let frame = take(usize::try_from(len).ok()?)?;
        parts.push((seq, frame, json_at as usize, state_at as usize));
    }
    let raw = take(n_places.checked_mul(16)?)?;
    let places = raw
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                u32::from_le_bytes(c[8..12].try_into().expect("4 bytes")),
                u32::from_le_bytes(c[12..].try_into().expect("4 bytes")),
            )
        })
        .collect();
    let agenda_len = usize::try_from(header.agenda[1]).ok()?;
    let agenda = take(agenda_len)?;
    if at != body.len() {
        return None;
    }
    let parts: [(u64, Bytes, usize, usize); 3] = parts.try_into().ok()?;
    Some(Decoded {
        epoch: header.epoch,
        seq: header.seq,
        parts,
        places,
        agenda: (header.agenda[0], (agenda_len > 0).then_some(agenda)),
    })
}

/// Takes a state message from the meeting's channel into the slot's `watch`, unless this
/// node owns the meeting (its task feeds the watch) or already shows as new a state.
/// A state of an agenda version this node has not seen, without the agenda, makes the
/// node rebuild the state from the journal.
pub fn receive(node: &Arc<Node>, slot: &Arc<Slot>, payload: &[u8]) {
    if matches!(*slot.mode.borrow(), Mode::Local { .. }) {
        return;
    }
    let Some(d) = decode(payload) else {
        tracing::warn!(meeting = %slot.id, "undecodable state message ignored");
        return;
    };
    let mut pos = slot.pos.lock().expect("pos lock");
    // A stale owner's late message, or one older than what the journal already showed
    // this node; the same state under a new epoch only adopts the epoch.
    if d.epoch < pos.0 || d.seq < pos.1 || (d.seq == pos.1 && d.epoch == pos.0) {
        return;
    }
    let current = slot.pub_tx.borrow().clone();
    let frame = match d.agenda {
        (v, _) if v == current.agenda.version => current.agenda.clone(),
        (v, Some(json)) => match serde_json::from_slice::<podium_protocol::Agenda>(&json) {
            Ok(agenda) => Arc::new(AgendaFrame::new(v, Arc::new(agenda))),
            Err(e) => {
                tracing::warn!(meeting = %slot.id, error = %e, "undecodable agenda in a state message");
                return;
            }
        },
        (_, None) => {
            drop(pos);
            let (node, slot) = (node.clone(), slot.clone());
            tokio::spawn(async move {
                if let Err(e) = node.resync(&slot).await {
                    tracing::warn!(meeting = %slot.id, error = %e, "resync failed");
                }
            });
            return;
        }
    };
    // A projection whose seq did not move is the one this node shows already: shared,
    // so its connections see no change.
    let keep = |cur: &Arc<Projection>,
                (seq, bytes, json_at, state_at): (u64, Bytes, usize, usize)| {
        if cur.seq == seq {
            Some(cur.clone())
        } else {
            Projection::from_frame(seq, bytes, json_at, state_at).map(Arc::new)
        }
    };
    let [staff, public, booth] = d.parts;
    let (Some(staff), Some(public), Some(booth)) = (
        keep(&current.staff, staff),
        keep(&current.public, public),
        keep(&current.booth, booth),
    ) else {
        tracing::warn!(meeting = %slot.id, "malformed state message ignored");
        return;
    };
    let places = Places::from_entries(d.places);
    let places = if *current.places == places {
        current.places.clone()
    } else {
        Arc::new(places)
    };
    *pos = (d.epoch, d.seq);
    let unchanged = |a: &Arc<Projection>, b: &Arc<Projection>| Arc::ptr_eq(a, b);
    if unchanged(&staff, &current.staff)
        && unchanged(&public, &current.public)
        && unchanged(&booth, &current.booth)
        && Arc::ptr_eq(&places, &current.places)
        && Arc::ptr_eq(&frame, &current.agenda)
    {
        return;
    }
    slot.pub_tx.send_replace(Arc::new(Published::assemble(
        d.seq,
        (staff, public, booth),
        places,
        frame,
    )));
}

/// Offers a state rebuilt from the journal (after this node may have missed messages):
/// it replaces the slot's state only if it is newer.
pub fn offer_rebuilt(slot: &Slot, engine: &Engine) {
    if matches!(*slot.mode.borrow(), Mode::Local { .. }) {
        return;
    }
    let mut pos = slot.pos.lock().expect("pos lock");
    let current = slot.pub_tx.borrow().clone();
    if engine.seq() <= pos.1 && engine.seq() <= current.seq {
        return;
    }
    let p = crate::hub::meeting::first_published(engine, Some(&current));
    pos.1 = engine.seq();
    slot.pub_tx.send_replace(Arc::new(p));
}

/// What the owner's meeting task answers to other nodes: the request's (node, id).
pub type Routes = Arc<Mutex<HashMap<u64, (String, u64)>>>;

/// The owner's outbox for one meeting: its meeting task's states and the answers to
/// other nodes' requests, published in order.
pub struct Outbox {
    /// The owner's epoch, stamped on every state.
    pub epoch: u64,
    /// The node's state of the meeting (fed by the meeting task).
    pub states: watch::Receiver<Arc<Published>>,
    /// Command replies from the meeting task, by local request id.
    pub replies: mpsc::Receiver<(u64, Reply)>,
    /// Which node and request each local request id answers.
    pub routes: Routes,
    /// Other answers, already encoded: (node, payload).
    pub other: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    /// Tokens the meeting task revoked, for every node (after the state that shows it).
    pub revoked: mpsc::UnboundedReceiver<Revoked>,
    /// Cancelled when the meeting task has ended: then the outbox publishes what is left
    /// and stops, even if a handle of the task's channels is still about.
    pub ended: tokio_util::sync::CancellationToken,
}

/// Publishes the outbox until the meeting task has ended and what it answered is out.
pub async fn run_outbox(node: Arc<Node>, slot: Arc<Slot>, mut ob: Outbox) {
    let channel = keys::m(&slot.id, "state");
    let mut conn = node.conn.clone();
    let (mut replies_open, mut other_open, mut revoked_open) = (true, true, true);
    let mut changed = false;
    let mut last_round = false;
    // The agenda version the last published state carried (the first carries its agenda).
    let mut agenda_sent: Option<u64> = None;
    loop {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        let mut revoked: Vec<Revoked> = Vec::new();
        tokio::select! {
            biased;
            r = ob.states.changed() => {
                if r.is_err() { break; }
                changed = true;
            }
            m = ob.replies.recv(), if replies_open => match m {
                Some((lid, reply)) => push_reply(&ob.routes, lid, reply, &mut out),
                None => replies_open = false,
            },
            m = ob.other.recv(), if other_open => match m {
                Some(x) => out.push(x),
                None => other_open = false,
            },
            m = ob.revoked.recv(), if revoked_open => match m {
                Some(r) => revoked.push(r),
                None => revoked_open = false,
            },
            _ = ob.ended.cancelled(), if !last_round => last_round = true,
        }
        while let Ok((lid, reply)) = ob.replies.try_recv() {
            push_reply(&ob.routes, lid, reply, &mut out);
        }
        while let Ok(x) = ob.other.try_recv() {
            out.push(x);
        }
        while let Ok(r) = ob.revoked.try_recv() {
            revoked.push(r);
        }
        let mut pipe = redis::pipe();
        // The state first: every reply behind it shows in it.
        if changed || ob.states.has_changed().unwrap_or(false) {
            let p = ob.states.borrow_and_update().clone();
            let with_agenda = agenda_sent != Some(p.agenda.version);
            agenda_sent = Some(p.agenda.version);
            pipe.cmd("PUBLISH")
                .arg(&channel)
                .arg(encode(ob.epoch, &p, with_agenda))
                .ignore();
            changed = false;
        }
        // Then the revocations: a revoked screen closes after the state that shows why.
        for r in &revoked {
            pipe.cmd("PUBLISH")
                .arg(keys::REVOKED)
                .arg(super::revoke::encode_tokens(&slot.id, r))
                .ignore();
        }
        for (to, payload) in &out {
            pipe.cmd("PUBLISH")
                .arg(keys::node_channel(to))
                .arg(payload)
                .ignore();
        }
        if pipe.cmd_iter().next().is_none() {
            // Nothing to publish this turn.
        } else if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(meeting = %slot.id, error = %e, "cannot publish to the cluster; nodes will resync");
        }
        if (!replies_open && !other_open) || last_round {
            break;
        }
    }
}

fn push_reply(routes: &Routes, lid: u64, reply: Reply, out: &mut Vec<(String, Vec<u8>)>) {
    let Some((to, req)) = routes.lock().expect("routes lock").remove(&lid) else {
        return;
    };
    out.push((to, super::wire::encode_command_reply(req, reply)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use podium_protocol::Agenda;

    #[test]
    fn a_state_message_decodes_to_the_same_bytes() {
        use crate::engine::Actor;
        use podium_protocol::{Command, Lang};
        let agenda = Arc::new(Agenda::from_toml(crate::DEFAULT_AGENDA).unwrap());
        let mut engine = Engine::new(agenda);
        // Two hands up, so the places table has entries.
        engine
            .apply(&Command::StartMeeting, &Actor::Host, 1_000)
            .unwrap();
        for name in ["Ana", "Ben"] {
            let (pid, _) = engine.join(name, "D", Lang::En, false).unwrap();
            let raise = Command::RaiseHand {
                language: None,
                point_of_order: false,
            };
            engine
                .apply(&raise, &Actor::Participant(pid), 2_000)
                .unwrap();
        }
        let p = crate::hub::meeting::first_published(&engine, None);
        assert_eq!(p.places.entries().len(), 2);
        let wire = encode(7, &p, true);
        let d = decode(&wire).expect("decodes");
        assert_eq!((d.epoch, d.seq), (7, engine.seq()));
        assert_eq!(
            d.agenda.1.as_deref(),
            Some(p.agenda.agenda_json().as_bytes())
        );
        assert!(decode(&encode(7, &p, false)).unwrap().agenda.1.is_none());
        for (part, x) in d.parts.iter().zip([&p.staff, &p.public, &p.booth]) {
            assert_eq!(part.1, x.frame);
            let rebuilt = Projection::from_frame(part.0, part.1.clone(), part.2, part.3).unwrap();
            assert_eq!(rebuilt.state(), x.state());
            assert_eq!(rebuilt.change(), x.change());
        }
        assert_eq!(d.places, p.places.entries());
        assert!(decode(&wire[..wire.len() - 1]).is_none());
        assert!(decode(b"nonsense").is_none());
        // Offsets that do not fit the frame are refused.
        let (seq, frame, json_at, _) = d.parts[0].clone();
        assert!(Projection::from_frame(seq, frame.clone(), json_at, frame.len()).is_none());
        assert!(Projection::from_frame(seq, frame, 10_000, 0).is_none());
    }
}
