//! One turn of a meeting task: the inputs that waited, applied to the engine in order —
//! commands (with their idempotency keys), joins, invitations, link rotations and the
//! agenda edits' link changes — into one [`Changes`] batch; reads are answered after the
//! batch is durable, so nothing not yet durable is seen.

use super::commit::{Changes, Pending};
use super::MeetingTask;
use crate::clock::now_ms;
use crate::engine::Actor;
use crate::hub::idempotent::Check;
use crate::hub::inputs::{page, Input, InviteReply};
use crate::hub::{grant_of, links};
use crate::store::{IdempotencyRecord, TokenRow};
use crate::tokens;
use podium_protocol::{Command, ErrorCode, Event, Role};
use tokio::sync::oneshot;

/// A rotation asked for in a turn: role, person, where the new link goes.
type Rotation = (
    Role,
    Option<String>,
    oneshot::Sender<Result<TokenRow, (ErrorCode, String)>>,
);

impl MeetingTask {
    /// Whether a keyed command is new, a retry (answered), or a key reused for another
    /// request (refused).
    fn check_key(&self, record: Option<&IdempotencyRecord>, c: &Changes) -> Check {
        match record {
            Some(r) => self.seen.check(r, &c.idempotency),
            None => Check::New,
        }
    }

    /// Applies a new command (websocket or HTTP) to the engine: its events and its
    /// idempotency record (if it has a key and changed anything) join the turn's batch.
    /// The seq it reached, or the typed rejection.
    fn apply_keyed(
        &mut self,
        c: &mut Changes,
        edited: &mut bool,
        command: &Command,
        actor: &Actor,
        now: i64,
        idempotency: Option<IdempotencyRecord>,
    ) -> Result<u64, (ErrorCode, String)> {
        match self.engine.apply(command, actor, now) {
            Ok(evs) => {
                let seq = self.engine.seq();
                if let Some(mut record) = idempotency.filter(|_| !evs.is_empty()) {
                    record.seq = seq;
                    record.at = now;
                    c.idempotency.push(record);
                }
                *edited |= evs.iter().any(|e| matches!(e, Event::AgendaEdited { .. }));
                c.events.extend(evs);
                Ok(seq)
            }
            Err(rejection) => {
                self.metrics.command_rejected();
                Err((rejection.code(), rejection.to_string()))
            }
        }
    }

    /// Applies a turn's inputs; returns `false` when the task must stop.
    pub(super) async fn turn(&mut self, inbox: &mut Vec<Input>) -> bool {
        let mut c = Changes::default();
        let mut keep_going = true;
        let mut reads = Vec::new();
        let mut edited = false;
        let mut rotations = Vec::new();
        for input in inbox.drain(..) {
            let now = now_ms();
            match input {
                Input::Command {
                    actor,
                    command,
                    id,
                    idempotency,
                    reply,
                } => match self.check_key(idempotency.as_ref(), &c) {
                    Check::Replay(seq) => c.pending.push(Pending::Ack(reply, id, seq)),
                    Check::Mismatch => {
                        let msg = "this key was already used for another command: use a new key for each new command";
                        let _ = reply.try_send((id, Err((ErrorCode::InvalidArgument, msg.into()))));
                    }
                    Check::New => {
                        match self.apply_keyed(
                            &mut c,
                            &mut edited,
                            &command,
                            &actor,
                            now,
                            idempotency,
                        ) {
                            Ok(seq) => c.pending.push(Pending::Ack(reply, id, seq)),
                            Err(e) => {
                                let _ = reply.try_send((id, Err(e)));
                            }
                        }
                    }
                },
                Input::Http {
                    actor,
                    command,
                    idempotency,
                    reply,
                } => match self.check_key(idempotency.as_ref(), &c) {
                    Check::Replay(seq) => c.pending.push(Pending::Http(reply, seq, true)),
                    Check::Mismatch => {
                        let msg = "this Idempotency-Key was already used for another request: use a new key for each new request";
                        let _ = reply.send(Err((ErrorCode::InvalidArgument, msg.into())));
                    }
                    Check::New => {
                        match self.apply_keyed(
                            &mut c,
                            &mut edited,
                            &command,
                            &actor,
                            now,
                            idempotency,
                        ) {
                            Ok(seq) => c.pending.push(Pending::Http(reply, seq, false)),
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                },
                Input::Join {
                    role,
                    name,
                    delegation,
                    language,
                    reply,
                } => {
                    let observer = role == Role::Observer;
                    match self.engine.join(&name, &delegation, language, observer) {
                        Ok((pid, evs)) => {
                            c.events.extend(evs);
                            let token = tokens::new_token();
                            let row = TokenRow {
                                hash: tokens::hash(&token),
                                meeting: self.id.clone(),
                                role,
                                person: None,
                                participant: Some(pid),
                                link_token: None,
                            };
                            let grant = grant_of(&row);
                            c.pending.push(Pending::Joined(reply, grant.clone(), token));
                            c.tokens.push((row, grant));
                        }
                        Err(rejection) => {
                            let _ = reply.send(Err((rejection.code(), rejection.to_string())));
                        }
                    }
                }
                Input::RotateLink {
                    role,
                    person,
                    reply,
                } => rotations.push((role, person, reply)),
                Input::Invite { delegates, reply } => self.invite(&mut c, delegates, reply),
                // Reads are answered after this turn's write: nothing not yet durable is seen.
                read @ (Input::Inspect(_)
                | Input::Participant(..)
                | Input::Fetch { .. }
                | Input::Links(_)) => reads.push(read),
                Input::Stop => keep_going = false,
            }
        }
        if edited || !rotations.is_empty() {
            self.change_links(&mut c, edited, rotations);
        }
        if !c.events.is_empty() || c.links.is_some() {
            if !self.persist_and_publish(c).await {
                keep_going = false;
            }
        } else {
            // Only retries answered from their records: nothing to write.
            self.answer(c.pending);
        }
        for read in reads {
            match read {
                Input::Inspect(reply) => {
                    let _ = reply.send(self.engine.clone());
                }
                Input::Participant(pid, reply) => {
                    let state = self.engine.state();
                    let found = state.participants.iter().find(|p| p.id == pid);
                    let _ = reply.send(found.cloned());
                }
                Input::Fetch {
                    what,
                    from,
                    limit,
                    reply,
                } => {
                    let _ = reply.send(page(self.engine.state(), what, from, limit));
                }
                Input::Links(reply) => {
                    let _ = reply.send(self.links.clone());
                }
                _ => {}
            }
        }
        keep_going
    }

    /// Registers delegates, all or none: one refused leaves the engine as it was.
    fn invite(
        &mut self,
        c: &mut Changes,
        delegates: Vec<crate::invite::Delegate>,
        reply: oneshot::Sender<InviteReply>,
    ) {
        let before = self.engine.clone();
        let mut events = Vec::new();
        let mut made = Vec::new();
        let mut rows = Vec::new();
        for (k, d) in delegates.iter().enumerate() {
            match self
                .engine
                .invite(&d.name, &d.delegation, d.language, d.observer)
            {
                Ok((pid, evs)) => {
                    events.extend(evs);
                    let token = tokens::new_token();
                    let row = TokenRow {
                        hash: tokens::hash(&token),
                        meeting: self.id.clone(),
                        role: d.role(),
                        person: None,
                        participant: Some(pid),
                        link_token: None,
                    };
                    let grant = grant_of(&row);
                    rows.push((row, grant));
                    made.push((pid, token));
                }
                Err(r) => {
                    self.engine = before;
                    let _ = reply.send(Err((
                        r.code(),
                        format!("delegate {} ({}): {r}", k + 1, d.name),
                    )));
                    return;
                }
            }
        }
        tracing::info!(delegates = made.len(), "delegates invited");
        c.events.extend(events);
        c.tokens.extend(rows);
        c.pending.push(Pending::Invited(reply, made));
    }

    /// The role links after this turn: following the agenda if it was edited, and with
    /// the requested rotations. New rows and revoked ones join the turn's batch.
    fn change_links(&self, c: &mut Changes, edited: bool, rotations: Vec<Rotation>) {
        let mut links = self.links.clone();
        if edited {
            let (add, revoke) = links::follow_agenda(&self.id, self.engine.agenda(), &links);
            links.retain(|r| !revoke.iter().any(|x| x.hash == r.hash));
            for row in add {
                tracing::info!(role = row.role.as_str(), person = ?row.person, "link added by an agenda edit");
                c.tokens.push((row.clone(), grant_of(&row)));
                links.push(row);
            }
            for row in revoke {
                tracing::info!(role = row.role.as_str(), person = ?row.person, "link revoked: no longer in the agenda");
                c.revoked.push(row);
            }
        }
        for (role, person, reply) in rotations {
            let Some(i) = links
                .iter()
                .position(|r| r.role == role && r.person == person)
            else {
                let who = person.map(|p| format!(" for {p:?}")).unwrap_or_default();
                let _ = reply.send(Err((
                    ErrorCode::NotFound,
                    format!("this meeting has no {} link{who}", role.as_str()),
                )));
                continue;
            };
            let new = links::new_link(&self.id, role, person);
            tracing::info!(role = role.as_str(), person = ?new.person, "link rotated");
            c.revoked
                .push(std::mem::replace(&mut links[i], new.clone()));
            c.tokens.push((new.clone(), grant_of(&new)));
            c.pending.push(Pending::Rotated(reply, new));
        }
        c.links = Some(links);
    }
}
