//! Connections as a state machine: [`transition`] is the only way a connection changes state.
//!
//! ```text
//! pending ──accept (addressee)──► accepted ──remove (either side)──► removed
//!    │──decline (addressee)──► declined
//!    └──withdraw (requester)──► withdrawn
//! ```
//!
//! Declined, withdrawn and removed rows stay as history; a new request makes a new row.

use crate::enums::ConnectionStatus;
use crate::events::{ConnectionChanged, DomainEvent};
use crate::ids::{ConnectionId, UserId};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::SqlEnum as _;
use crate::{Error, Result};

/// What a party asks to do with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionAction {
    Accept,
    Decline,
    Withdraw,
    Remove,
}

impl ConnectionAction {
    /// The outbox event that announces the move.
    pub fn event(self, change: ConnectionChanged) -> DomainEvent {
        match self {
            ConnectionAction::Accept => DomainEvent::ConnectionAccepted(change),
            ConnectionAction::Decline => DomainEvent::ConnectionDeclined(change),
            ConnectionAction::Withdraw => DomainEvent::ConnectionWithdrawn(change),
            ConnectionAction::Remove => DomainEvent::ConnectionRemoved(change),
        }
    }
}

/// Which side of a connection the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Requester,
    Addressee,
}

/// The state `action` by `party` leads to from `from`.
///
/// MUST return [`Error::Conflict`] with code `invalid_transition` for any move not in the diagram
/// above (including a move by the wrong party, such as the requester accepting).
pub fn transition(
    from: ConnectionStatus,
    action: ConnectionAction,
    party: Party,
) -> Result<ConnectionStatus> {
    use ConnectionAction as A;
    use ConnectionStatus as S;
    match (from, action, party) {
        (S::Pending, A::Accept, Party::Addressee) => Ok(S::Accepted),
        (S::Pending, A::Decline, Party::Addressee) => Ok(S::Declined),
        (S::Pending, A::Withdraw, Party::Requester) => Ok(S::Withdrawn),
        (S::Accepted, A::Remove, _) => Ok(S::Removed),
        _ => Err(Error::conflict(
            "invalid_transition",
            format!(
                "cannot {action:?} a {} connection as the {party:?}",
                from.as_str()
            )
            .to_lowercase(),
        )),
    }
}

/// The note sent with a request: at most [`ConnectionNote::MAX_CHARS`] characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionNote(String);

impl ConnectionNote {
    pub const MAX_CHARS: usize = 300;

    /// `None` for a note that is empty after trimming.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationErrors> {
        let note = raw.trim();
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok((!note.is_empty()).then(|| Self(note.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A connection request and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: ConnectionId,
    pub requester_id: UserId,
    pub addressee_id: UserId,
    pub status: ConnectionStatus,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub responded_at: Option<Timestamp>,
}

impl Connection {
    /// The caller's side, or `None` for a stranger.
    pub fn party(&self, user: UserId) -> Option<Party> {
        if user == self.requester_id {
            Some(Party::Requester)
        } else if user == self.addressee_id {
            Some(Party::Addressee)
        } else {
            None
        }
    }

    /// The other side from `user`'s point of view.
    pub fn other(&self, user: UserId) -> UserId {
        if user == self.requester_id {
            self.addressee_id
        } else {
            self.requester_id
        }
    }
}

/// A new request, checked by the service (no self-connection, no block).
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub requester_id: UserId,
    pub addressee_id: UserId,
    pub note: Option<ConnectionNote>,
}

/// Which side of the connections `GET /v1/me/connections` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Requests others sent to the caller.
    Incoming,
    /// Requests the caller sent.
    Outgoing,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionAction as A;
    use ConnectionStatus as S;
    use Party::{Addressee, Requester};

    #[test]
    fn transition_table() {
        let allowed = [
            (S::Pending, A::Accept, Addressee, S::Accepted),
            (S::Pending, A::Decline, Addressee, S::Declined),
            (S::Pending, A::Withdraw, Requester, S::Withdrawn),
            (S::Accepted, A::Remove, Requester, S::Removed),
            (S::Accepted, A::Remove, Addressee, S::Removed),
        ];
        for (from, action, party, to) in allowed {
            assert_eq!(
                transition(from, action, party).unwrap(),
                to,
                "{from:?} {action:?} {party:?}"
            );
        }
        let states = [
            S::Pending,
            S::Accepted,
            S::Declined,
            S::Withdrawn,
            S::Removed,
        ];
        let actions = [A::Accept, A::Decline, A::Withdraw, A::Remove];
        for from in states {
            for action in actions {
                for party in [Requester, Addressee] {
                    if allowed
                        .iter()
                        .any(|(f, a, p, _)| (*f, *a, *p) == (from, action, party))
                    {
                        continue;
                    }
                    assert!(
                        matches!(
                            transition(from, action, party),
                            Err(Error::Conflict {
                                code: "invalid_transition",
                                ..
                            })
                        ),
                        "{from:?} {action:?} {party:?} must be refused"
                    );
                }
            }
        }
    }

    #[test]
    fn note_is_bounded() {
        assert_eq!(ConnectionNote::parse("  ").unwrap(), None);
        assert!(ConnectionNote::parse(&"é".repeat(300)).unwrap().is_some());
        assert!(ConnectionNote::parse(&"a".repeat(301)).is_err());
    }
}
