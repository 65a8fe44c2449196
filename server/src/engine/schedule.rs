//! Planned versus actual: segment times, overruns and the meeting's drift, computed from
//! the agenda and the state at a given `now`.

use podium_protocol::{Agenda, MeetingState, Phase, UnixMs};

/// How late (positive) or early (negative) the meeting runs at `now`, in ms.
///
/// While running: the current segment's projected end (now plus what is left on its
/// clock, nothing if in overtime) minus its planned end. After the end: actual end minus
/// planned end. Before the start: how late the start is, if it is late.
pub fn drift_ms(agenda: &Agenda, state: &MeetingState, now: UnixMs) -> i64 {
    let shift = plan_shift_ms(agenda, state);
    let planned: Vec<UnixMs> = agenda
        .planned_starts_ms()
        .into_iter()
        .map(|t| t + shift)
        .collect();
    match state.phase {
        Phase::NotStarted => (now - planned[0]).max(0),
        Phase::Running => {
            let i = state.current.unwrap_or(0);
            let projected_end = now + state.segment_clock.remaining(now).max(0);
            projected_end - planned[i + 1]
        }
        Phase::Ended => state.ended_at.unwrap_or(now) - planned[agenda.segments.len()],
    }
}

/// How far the plan is moved to the actual start: a meeting started more than six hours
/// away from its agenda's start (a rehearsal, the bundled 2021 agenda run today) is
/// measured against the same plan rebased to its actual start, as the clients show it;
/// otherwise 0.
pub fn plan_shift_ms(agenda: &Agenda, state: &MeetingState) -> i64 {
    const FAR: i64 = 6 * 3600 * 1000;
    match state.started_at {
        Some(start) => {
            let d = start - agenda.planned_start_ms();
            if d.abs() > FAR {
                d
            } else {
                0
            }
        }
        None => 0,
    }
}

/// Overrun of segment `i`: time it was current beyond its planned duration (negative if
/// it finished early); `None` if it never ran.
pub fn overrun_ms(agenda: &Agenda, state: &MeetingState, i: usize, now: UnixMs) -> Option<i64> {
    let t = state.segments.get(i)?;
    t.started_at?;
    let mut elapsed = t.elapsed_ms;
    if state.current == Some(i) {
        elapsed += now - state.segment_entered_at.unwrap_or(now);
    }
    Some(elapsed - agenda.segments[i].duration.ms())
}
