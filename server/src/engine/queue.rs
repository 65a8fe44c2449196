//! The speaking queue's ordering rules: where a new hand goes, and how the
//! "not yet spoken first" priority reorders. The engine alone assigns order.

use super::Rejection;
use podium_protocol::{Hand, HandId, MeetingState, ParticipantId};

/// Index of a hand in the queue.
pub fn find(state: &MeetingState, hand: HandId) -> Result<usize, Rejection> {
    state
        .queue
        .iter()
        .position(|h| h.id == hand)
        .ok_or_else(|| Rejection::NotFound(format!("hand {hand} is not in the queue (any more)")))
}

/// Whether a participant has spoken (or speaks now) in this meeting.
pub fn has_spoken(state: &MeetingState, who: ParticipantId) -> bool {
    state
        .history
        .iter()
        .any(|r| r.speaker.participant == Some(who))
        || state
            .speech
            .as_ref()
            .is_some_and(|s| s.speaker.participant == Some(who))
}

/// Number of points of order at the head of the queue.
fn leading_points(queue: &[Hand]) -> usize {
    queue.iter().take_while(|h| h.point_of_order).count()
}

/// Where a new hand goes: a point of order after the points of order at the head (FIFO
/// among them); an ordinary hand at the end, or — with the priority on, for someone who
/// has not spoken — ahead of the first ordinary hand of someone who has.
pub fn insert_at(state: &MeetingState, hand: &Hand) -> usize {
    let head = leading_points(&state.queue);
    if hand.point_of_order {
        return head;
    }
    if state.not_yet_spoken_first && !has_spoken(state, hand.participant) {
        if let Some(i) = state.queue[head..]
            .iter()
            .position(|h| !h.point_of_order && has_spoken(state, h.participant))
        {
            return head + i;
        }
    }
    state.queue.len()
}

/// With the priority switched on: a stable reorder of the ordinary hands after the
/// leading points of order, those who have not spoken first.
pub fn apply_priority(state: &mut MeetingState) {
    let head = leading_points(&state.queue);
    let tail: Vec<Hand> = state.queue.drain(head..).collect();
    let (fresh, spoken): (Vec<Hand>, Vec<Hand>) = tail
        .into_iter()
        .partition(|h| h.point_of_order || !has_spoken(state, h.participant));
    state.queue.extend(fresh);
    state.queue.extend(spoken);
}
