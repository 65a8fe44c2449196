//! An authenticated connection: the start (welcome, agenda, snapshot, place, joining the
//! meeting's fan-out), the loop that waits for the client, its replies and its peer, and
//! the handling of each message (commands to the meeting, pings, staff `fetch`).

use super::hello::parse;
use super::peer::{Pushed, Sent};
use super::{close, error, Connection, End, Wake};
use crate::clock::now_ms;
use crate::hub::meeting::{Input, MeetingHandle, Reply};
use crate::hub::views::Published;
use crate::hub::Grant;
use podium_protocol::{
    ClientMessage, ErrorCode, Identity, ServerMessage, MAX_PAGE, PROTOCOL_VERSION,
};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

use super::fanout::FanoutHandle;

/// An authenticated connection's own state, beside [`Connection`].
pub(super) struct Session {
    /// What the token grants (and its revocation).
    pub grant: Grant,
    /// The meeting.
    pub meeting: MeetingHandle,
    /// The meeting's published state (never awaited here: read when a reply comes, to
    /// write the state before the ack).
    pub views: watch::Receiver<Arc<Published>>,
    /// The meeting's fan-out, which this connection has joined.
    pub fanout: FanoutHandle,
    /// SHA-256 of the credential the client authenticated with: its commands'
    /// idempotency keys are scoped to it.
    pub scope: [u8; 32],
}

impl Connection {
    /// The start of the authenticated part, all of it written at once (nothing here
    /// waits): welcome, agenda, snapshot, place; then the connection joins the fan-out.
    pub(super) fn start(
        &mut self,
        grant: Grant,
        you: Identity,
        token: Option<String>,
        scope: [u8; 32],
    ) -> Result<Session, End> {
        let Some(meeting) = self.hub().meeting(&grant.meeting) else {
            return Err(End::Close(close::GOING_AWAY, "meeting closed"));
        };
        let role = grant.role;
        self.peer.authenticated(role, grant.participant);
        // A fresh budget for the session (`hello` came out of the connection's first one),
        // drawing also on the link's, shared by all its connections.
        let now = std::time::Instant::now();
        self.bucket = super::ratelimit::Bucket::new(self.ep.limits.rate, now);
        self.bucket.share(
            self.ep
                .hub
                .link_buckets
                .bucket(&grant, self.ep.limits.rate, now),
        );
        // Subscribe before the snapshot, so no change can fall between them.
        let views = meeting.subscribe();
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            meeting: grant.meeting.clone(),
            you,
            participant_token: token,
            server_time: now_ms(),
        };
        self.send_msg(&welcome)?;
        let published = views.borrow().clone();
        let seen = published.for_role(role).seq;
        let agenda = &published.agenda;
        if self.agenda_held != Some(agenda.version) {
            self.send(agenda.frame.clone())?;
        }
        self.send(published.snapshot(role, now_ms()))?;
        let place = grant
            .participant
            .map(|pid| published.places.of_participant(pid))
            .unwrap_or_default();
        if grant.participant.is_some() {
            self.send(crate::hub::views::place_frame(published.seq, place))?;
        }
        self.peer
            .start_at(published.seq, seen, place, published.agenda.version);
        let fanout = self.ep.fanouts.join(
            &self.ep.clone(),
            &grant.meeting,
            &meeting,
            self.peer.clone(),
        );
        // A shutdown that began before the fan-out had us would not reach us: see to it.
        if self.ep.shutdown.is_cancelled() {
            self.peer.end(super::peer::Verdict::Close(
                close::GOING_AWAY,
                "server shutting down",
            ));
        }
        Ok(Session {
            grant,
            meeting,
            views,
            fanout,
            scope,
        })
    }

    /// The loop of an authenticated connection.
    pub(super) async fn serve(&mut self) -> End {
        loop {
            while let Some(m) = self.inbox.pop_front() {
                let step = match self.incoming(m) {
                    Ok(Some(raw)) => Box::pin(self.handle(raw)).await,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = step {
                    return e;
                }
            }
            let step = match self.wait(None).await {
                Wake::Revoked => return self.revoked().unwrap_or(End::Drop),
                Wake::Peer => match self.peer.verdict() {
                    // The meeting stopped because it was archived (its grants were revoked
                    // first): say so, rather than "meeting closed".
                    Some(v) => return self.revoked().unwrap_or(v.into()),
                    None => Ok(()),
                },
                Wake::Writable => self.flush(),
                Wake::Stalled | Wake::Shutdown | Wake::Deadline => return End::Slow,
                Wake::Broken => return End::Drop,
                Wake::Readable => self.read(),
                Wake::Reply(None) => Ok(()),
                Wake::Reply(Some((id, reply))) => self.reply(id, reply),
            };
            if let Err(e) = step {
                return e;
            }
        }
    }

    /// The close of a revoked grant, if it was revoked.
    fn revoked(&self) -> Option<End> {
        let r = &self.session.as_ref()?.grant.revocation;
        r.is_revoked().then(|| {
            let (code, reason) = r.close_frame();
            End::Close(code, reason)
        })
    }

    /// Answers a command: the state that shows it first (if this role can see it), then
    /// the ack — or the error.
    fn reply(&mut self, id: u64, reply: Reply) -> Result<(), End> {
        self.awaiting -= 1;
        if self.awaiting == 0 {
            // Nothing else can come back: the channel's block (~1.5 KB) is not kept for a
            // connection that may send nothing more for an hour.
            self.replies = None;
        }
        let msg = match reply {
            Ok(seq) => {
                let latest = self
                    .session
                    .as_ref()
                    .expect("authenticated")
                    .views
                    .borrow()
                    .clone();
                let mut sent = Sent::default();
                let (pushed, seen) = self.peer.offer(&latest, &mut sent);
                self.hub().metrics.sent_many(sent.frames, sent.bytes);
                if pushed == Pushed::Dropped {
                    return Err(self.peer.verdict().map_or(End::Drop, End::from));
                }
                // A change this role cannot see was not sent to it: the state it has (at
                // an earlier seq) already shows all it may see.
                ServerMessage::Ack {
                    id,
                    seq: seq.min(seen),
                }
            }
            Err((code, message)) => *error(Some(id), code, message),
        };
        self.send_msg(&msg)
    }

    async fn handle(&mut self, raw: String) -> Result<(), End> {
        let msg = match parse(&raw) {
            Ok(m) => m,
            Err(e) => {
                self.hub().metrics.bad_message();
                return self.send_msg(&e);
            }
        };
        match msg {
            ClientMessage::Ping { id, client_time } => {
                let pong = ServerMessage::Pong {
                    id,
                    client_time,
                    server_time: now_ms(),
                };
                self.send_msg(&pong)
            }
            ClientMessage::Command { id, command, key } => {
                if key
                    .as_ref()
                    .is_some_and(|k| !crate::hub::idempotent::valid_key(k))
                {
                    return self.send_msg(&error(
                        Some(id),
                        ErrorCode::InvalidArgument,
                        "`key` must be 1 to 255 visible ASCII characters (a counter or a UUID)",
                    ));
                }
                let reply = match &self.replies {
                    Some((tx, _)) => tx.clone(),
                    None => {
                        let (tx, rx) = mpsc::channel(self.ep.limits.reply_queue);
                        self.replies = Some((tx.clone(), rx));
                        tx
                    }
                };
                let s = self.session.as_ref().expect("authenticated");
                let actor = s.grant.actor().expect("authenticated grants have an actor");
                let meeting = s.meeting.clone();
                let idempotency = key.map(|key| crate::store::IdempotencyRecord {
                    meeting: s.grant.meeting.clone(),
                    scope: s.scope,
                    request: crate::hub::idempotent::request_hash(
                        "websocket",
                        serde_json::to_string(&command)
                            .expect("a command serialises")
                            .as_bytes(),
                    ),
                    key,
                    seq: 0,
                    at: 0,
                });
                let input = Input::Command {
                    actor,
                    command,
                    id,
                    idempotency,
                    reply,
                };
                if meeting.send(input).await {
                    self.awaiting += 1;
                    Ok(())
                } else {
                    self.send_msg(&error(
                        Some(id),
                        ErrorCode::NoSuchMeeting,
                        "the meeting has closed",
                    ))
                }
            }
            ClientMessage::Fetch {
                id,
                what,
                from,
                limit,
            } => {
                let s = self.session.as_ref().expect("authenticated");
                let meeting = s.meeting.clone();
                if !s.grant.role.is_staff() {
                    return self.send_msg(&error(
                        Some(id),
                        ErrorCode::Forbidden,
                        "only the host and moderators may fetch the register and the hand history",
                    ));
                }
                let limit = limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
                let msg = match meeting.fetch(what, from, limit).await {
                    Some(page) => ServerMessage::Page {
                        id,
                        what,
                        from: page.from,
                        items: page.items,
                        total: page.total,
                    },
                    None => *error(Some(id), ErrorCode::NoSuchMeeting, "the meeting has closed"),
                };
                self.send_msg(&msg)
            }
            // The host's link management (list, rotate): answered by the hub.
            ClientMessage::Links { id } => {
                let s = self.session.as_ref().expect("authenticated");
                let reply = crate::hub::links::request(self.hub(), &s.grant, id, None).await;
                self.send_msg(&reply)
            }
            ClientMessage::RotateLink { id, role, person } => {
                let s = self.session.as_ref().expect("authenticated");
                let rotate = Some((role, person));
                let reply = crate::hub::links::request(self.hub(), &s.grant, id, rotate).await;
                self.send_msg(&reply)
            }
            ClientMessage::Hello { .. } | ClientMessage::Join { .. } => self.send_msg(&error(
                None,
                ErrorCode::BadRequest,
                "already authenticated on this connection",
            )),
        }
    }
}
