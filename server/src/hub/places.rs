//! Each participant's places in the queue: a table built once per change (shared while
//! the queue keeps its order) from which every participant connection's small `place`
//! message is looked up, instead of every participant receiving the whole queue.

use super::views::text_frame;
use bytes::Bytes;
use podium_protocol::{Hand, ParticipantId};

/// Every participant's places in the whole queue, sorted by participant, for the
/// per-connection `place` messages. Shared between published states while the queue
/// keeps its order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Places {
    /// (participant, place of the ordinary hand, place of the point of order), 0-based,
    /// [`NO_PLACE`] when that hand is down; sorted by participant.
    by_participant: Vec<(ParticipantId, u32, u32)>,
}

/// No hand of that kind up.
const NO_PLACE: u32 = u32::MAX;

/// A participant's places: (ordinary hand, point of order), 0-based.
pub type Place = (Option<usize>, Option<usize>);

impl Places {
    pub(super) fn of(queue: &[Hand]) -> Places {
        let mut v: Vec<(ParticipantId, u32, u32)> = Vec::with_capacity(queue.len());
        for (i, h) in queue.iter().enumerate() {
            let (hand, poo) = if h.point_of_order {
                (NO_PLACE, i as u32)
            } else {
                (i as u32, NO_PLACE)
            };
            v.push((h.participant, hand, poo));
        }
        v.sort_unstable_by_key(|e| e.0);
        // A participant has at most two hands: merge their entries.
        v.dedup_by(|later, kept| {
            if later.0 != kept.0 {
                return false;
            }
            kept.1 = kept.1.min(later.1);
            kept.2 = kept.2.min(later.2);
            true
        });
        Places { by_participant: v }
    }

    /// Every entry: (participant, hand place, point-of-order place), `u32::MAX` for none
    /// (for carrying the table to another node of a cluster).
    pub fn entries(&self) -> &[(ParticipantId, u32, u32)] {
        &self.by_participant
    }

    /// A table received from another node, sorted here (lookups search it).
    pub fn from_entries(mut by_participant: Vec<(ParticipantId, u32, u32)>) -> Places {
        by_participant.sort_unstable_by_key(|e| e.0);
        Places { by_participant }
    }

    /// The places of one participant.
    pub fn of_participant(&self, participant: ParticipantId) -> Place {
        let opt = |p: u32| (p != NO_PLACE).then_some(p as usize);
        match self
            .by_participant
            .binary_search_by_key(&participant, |e| e.0)
        {
            Ok(i) => {
                let (_, hand, poo) = self.by_participant[i];
                (opt(hand), opt(poo))
            }
            Err(_) => (None, None),
        }
    }
}

/// The `place` message for one connection, framed.
pub fn place_frame(seq: u64, place: Place) -> Bytes {
    let n = |p: Option<usize>| p.map_or_else(|| "null".to_string(), |p| p.to_string());
    text_frame(&format!(
        r#"{{"type":"place","seq":{seq},"hand":{},"point_of_order":{}}}"#,
        n(place.0),
        n(place.1)
    ))
}
