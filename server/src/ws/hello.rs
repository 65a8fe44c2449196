//! A connection before it is authenticated: waiting for `hello` or `join` (under the hello
//! timeout and the rate limit), checking the token, joining the meeting for a join link,
//! and the typed errors that answer anything else.

use super::{close, error, Connection, End, Wake};
use crate::hub::meeting::Input;
use crate::hub::{Grant, Hub};
use podium_protocol::{ClientMessage, ErrorCode, Identity, Role, ServerMessage, PROTOCOL_VERSION};
use serde::Deserialize;

impl Connection {
    /// Waits for `hello` or `join`, then starts the session (welcome, agenda, snapshot,
    /// and the meeting's fan-out).
    pub(super) async fn open(&mut self) -> Result<(), End> {
        let (grant, you, token, scope) = self.authenticate().await?;
        tracing::Span::current().record("meeting", grant.meeting.as_str());
        tracing::Span::current().record("role", grant.role.as_str());
        let role = grant.role;
        let session = self.start(grant, you, token, scope)?;
        self.hub().metrics.connected(role);
        self.session = Some(session);
        Ok(())
    }

    /// Waits for `hello` or `join` and finds who the client is (and the hash of its
    /// credential, which scopes its idempotency keys).
    async fn authenticate(&mut self) -> Result<Welcomed, End> {
        let deadline = tokio::time::Instant::now() + self.ep.limits.hello_timeout;
        loop {
            while let Some(m) = self.inbox.pop_front() {
                let Some(raw) = self.incoming(m)? else {
                    continue;
                };
                let parsed = match parse(&raw) {
                    Ok(m) => m,
                    Err(e) => {
                        self.hub().metrics.bad_message();
                        self.send_msg(&e)?;
                        continue;
                    }
                };
                if let ClientMessage::Hello { agenda_version, .. }
                | ClientMessage::Join { agenda_version, .. } = &parsed
                {
                    self.agenda_held = *agenda_version;
                }
                match welcome(self.hub(), parsed).await {
                    Ok(ok) => return Ok(ok),
                    Err(e) => self.send_msg(&e)?,
                }
            }
            match self.wait(Some(deadline)).await {
                Wake::Shutdown => {
                    return Err(End::Close(close::GOING_AWAY, "server shutting down"))
                }
                Wake::Peer => {
                    if let Some(v) = self.peer.verdict() {
                        return Err(v.into());
                    }
                }
                Wake::Writable => self.flush()?,
                Wake::Stalled => return Err(End::Slow),
                Wake::Broken => return Err(End::Drop),
                Wake::Readable => self.read()?,
                Wake::Revoked | Wake::Reply(_) => {}
                Wake::Deadline => return Err(End::Close(close::POLICY, "no hello")),
            }
        }
    }
}

/// Who a client is: its grant, identity, the personal token a join made, and the hash
/// of the credential it uses from now on (its idempotency keys are scoped to it).
type Welcomed = (Grant, Identity, Option<String>, [u8; 32]);

/// Checks a `hello` or `join` and finds who the client is.
async fn welcome(hub: &Hub, msg: ClientMessage) -> Result<Welcomed, Box<ServerMessage>> {
    let unauthorized = || {
        error(
            None,
            ErrorCode::Unauthorized,
            "this link is not valid for this meeting: ask the host for a new link",
        )
    };
    // A cluster node asks the shared store (a token may come from another node, or have
    // been revoked there); a single server its own map.
    let found = match &msg {
        ClientMessage::Hello { token, .. } | ClientMessage::Join { token, .. } => {
            hub.find_grant(token).await
        }
        _ => None,
    };
    let check = |protocol: u32, meeting: &str| -> Result<Grant, Box<ServerMessage>> {
        if protocol != PROTOCOL_VERSION {
            return Err(error(
                    None,
                    ErrorCode::UnsupportedVersion,
                    format!("this server speaks protocol {PROTOCOL_VERSION}, not {protocol}: reload the page"),
                ));
        }
        let grant = found.clone().ok_or_else(unauthorized)?;
        if grant.meeting != meeting {
            return Err(unauthorized());
        }
        if hub.meeting(meeting).is_none() {
            return Err(error(
                None,
                ErrorCode::Archived,
                "this meeting is archived or closed: reports only",
            ));
        }
        Ok(grant)
    };
    match msg {
        ClientMessage::Hello {
            protocol,
            meeting,
            token,
            ..
        } => {
            let grant = check(protocol, &meeting)?;
            if grant.actor().is_none() && grant.role == Role::Interpreter {
                return Err(error(
                    None,
                    ErrorCode::Unauthorized,
                    "this interpreter link names no booth: ask the host for your booth's own link",
                ));
            }
            if grant.actor().is_none() {
                return Err(error(
                    None,
                    ErrorCode::BadRequest,
                    "this is a join link: send `join` with your name, delegation and language",
                ));
            }
            let identity = identity(hub, &grant).await;
            Ok((grant, identity, None, crate::tokens::hash(&token)))
        }
        ClientMessage::Join {
            protocol,
            meeting,
            token: _,
            name,
            delegation,
            language,
            ..
        } => {
            let link = check(protocol, &meeting)?;
            if link.participant.is_some()
                || !matches!(link.role, Role::Participant | Role::Observer)
            {
                return Err(error(
                    None,
                    ErrorCode::BadRequest,
                    "only a join link can join: use `hello` with this token",
                ));
            }
            let admitted = match hub.meeting(&meeting) {
                Some(h) => {
                    hub.admission
                        .admit_join(&meeting, &h, crate::admission::peer())
                        .await
                }
                None => {
                    return Err(error(
                        None,
                        ErrorCode::NoSuchMeeting,
                        "the meeting has closed",
                    ))
                }
            };
            let ticket = admitted.map_err(|why| error(None, why.code(), why.message()))?;
            let (reply, rx) = tokio::sync::oneshot::channel();
            let input = Input::Join {
                role: link.role,
                name,
                delegation,
                language,
                reply,
            };
            if !hub.send(&meeting, input).await {
                return Err(error(
                    None,
                    ErrorCode::NoSuchMeeting,
                    "the meeting has closed",
                ));
            }
            match rx.await {
                Ok(Ok((grant, token))) => {
                    ticket.joined();
                    let identity = identity(hub, &grant).await;
                    let scope = crate::tokens::hash(&token);
                    Ok((grant, identity, Some(token), scope))
                }
                Ok(Err((code, message))) => Err(error(None, code, message)),
                Err(_) => Err(error(
                    None,
                    ErrorCode::Internal,
                    "the meeting stopped; try again",
                )),
            }
        }
        _ => {
            hub.metrics.bad_message();
            Err(error(
                None,
                ErrorCode::Unauthorized,
                "send `hello` (or `join`) first",
            ))
        }
    }
}

/// The `you` of a `welcome`: role, person or participant id, and display name.
async fn identity(hub: &Hub, grant: &Grant) -> Identity {
    let mut name = grant.role.as_str().to_string();
    if let Some(crate::engine::Actor::Interpreter(lang)) = grant.actor() {
        name = format!("{} booth", lang.english_name());
    }
    if let Some(h) = hub.meeting(&grant.meeting) {
        let agenda = h.agenda();
        if let Some(found) = grant.person.as_deref().and_then(|p| agenda.person(p)) {
            name = found.name.clone();
        }
        if let Some(pid) = grant.participant {
            if let Some(p) = h.participant(pid).await {
                name = p.name;
            }
        }
    }
    Identity {
        role: grant.role,
        person: grant.person.clone(),
        participant: grant.participant,
        name,
    }
}

/// The request id of a raw command, when it has one.
pub(super) fn request_id(raw: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: Option<u64>,
    }
    serde_json::from_str::<Id>(raw).ok().and_then(|i| i.id)
}

/// Parses a client message, or says exactly what is wrong with it.
pub(super) fn parse(raw: &str) -> Result<ClientMessage, Box<ServerMessage>> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
        error(
            None,
            ErrorCode::BadRequest,
            format!("not valid JSON ({e}): send one JSON object per message"),
        )
    })?;
    let id = value.get("id").and_then(|v| v.as_u64());
    ClientMessage::deserialize(&value).map_err(|e| {
        // A well-formed message with a language code Podium does not know is a bad value,
        // not a bad shape (PROTOCOL.md, error codes).
        let text = e.to_string();
        let code = if text.contains("unknown variant") && text.contains("`ar`, `de`") {
            ErrorCode::InvalidArgument
        } else {
            ErrorCode::BadRequest
        };
        error(
            id,
            code,
            format!("{text}; see PROTOCOL.md for the message shapes"),
        )
    })
}
