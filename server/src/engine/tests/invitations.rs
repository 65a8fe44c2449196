//! Closed meetings: the host closes the shared join links (or the agenda does); invited
//! delegates, registered by the secretariat, get in all the same.

use super::*;

#[test]
fn closed_join_links_refuse_joins_but_not_invitations() {
    let mut e = fresh();
    assert!(e.state().join_links_open, "open by default");
    join(&mut e, "Ana Souza", "Brazil", Lang::Es);
    ok(
        &mut e,
        Command::SetJoinLinks { open: false },
        Actor::Host,
        T0,
    );
    let state = e.state().clone();
    let r = e
        .join("Late Comer", "Nowhere", Lang::En, false)
        .unwrap_err();
    assert!(matches!(r, Rejection::JoinsClosed(_)), "{r:?}");
    assert_eq!(r.code(), podium_protocol::ErrorCode::JoinsClosed);
    assert_eq!(e.state(), &state, "a refused join changes nothing");
    let (id, events) = e
        .invite("Karim Benali", "City of Rabat", Lang::Ar, true)
        .unwrap();
    assert!(
        matches!(&events[..], [Event::ParticipantJoined { participant }]
        if participant.invited && participant.observer && participant.id == id)
    );
    // Only the host switches it.
    let r = rejected(
        &mut e,
        Command::SetJoinLinks { open: true },
        moderator("cecile-riallant"),
        T0,
    );
    assert!(matches!(r, Rejection::Forbidden(_)), "{r:?}");
    ok(
        &mut e,
        Command::SetJoinLinks { open: true },
        Actor::Host,
        T0 + S,
    );
    join(&mut e, "Late Comer", "Nowhere", Lang::En);
}

#[test]
fn an_agenda_can_close_its_join_links_from_the_start() {
    let text = SEED_TOML.replace(
        "auto_advance = false",
        "auto_advance = false\njoin_links = false",
    );
    let agenda = Arc::new(Agenda::from_toml(&text).expect("valid"));
    assert!(!agenda.meeting.join_links);
    let mut e = Engine::new(agenda);
    assert!(!e.state().join_links_open);
    let r = e.join("Ana Souza", "Brazil", Lang::Es, false).unwrap_err();
    assert!(matches!(r, Rejection::JoinsClosed(_)), "{r:?}");
    // Invitations are checked like joins: a name is needed.
    assert!(matches!(
        e.invite("", "Brazil", Lang::Es, false),
        Err(Rejection::InvalidArgument(_))
    ));
    e.invite("Ana Souza", "Brazil", Lang::Es, false).unwrap();
}
