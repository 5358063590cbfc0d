//! The mentorship's state machine, as migration 6 names it: `requested -> active | declined |
//! cancelled; active <-> paused; active | paused -> completed | cancelled`. Who may make each
//! move is part of the table: the party who did not ask accepts or declines a request, the
//! asker withdraws it (cancel); once active, either party pauses, resumes, completes or cancels.

use crate::enums::MentorshipStatus;
use crate::Error;

/// What a party asks of a mentorship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentorshipAction {
    Accept,
    Decline,
    Cancel,
    Pause,
    Resume,
    Complete,
}

/// The caller's part in a mentorship, for its moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentorshipActor {
    /// The party who asked: the mentee of a direct request, the mentor of an offer.
    Requester,
    /// The other party.
    Recipient,
}

/// The status `action` by `actor` moves a mentorship in `from` to.
///
/// # Errors
///
/// [`Error::Forbidden`] `not_mentorship_party_action` when the actor may not make this move in
/// this status, and [`Error::Conflict`] `invalid_mentorship_transition` when the status does not
/// allow the move at all.
pub fn transition(
    from: MentorshipStatus,
    action: MentorshipAction,
    actor: MentorshipActor,
) -> Result<MentorshipStatus, Error> {
    use MentorshipAction as A;
    use MentorshipActor as W;
    use MentorshipStatus as S;
    let (to, allowed) = match (from, action) {
        (S::Requested, A::Accept) => (S::Active, actor == W::Recipient),
        (S::Requested, A::Decline) => (S::Declined, actor == W::Recipient),
        (S::Requested, A::Cancel) => (S::Cancelled, actor == W::Requester),
        (S::Active, A::Pause) => (S::Paused, true),
        (S::Paused, A::Resume) => (S::Active, true),
        (S::Active | S::Paused, A::Complete) => (S::Completed, true),
        (S::Active | S::Paused, A::Cancel) => (S::Cancelled, true),
        _ => {
            return Err(Error::conflict(
                "invalid_mentorship_transition",
                format!("a mentorship that is {from} cannot be {}", past(action)),
            ))
        }
    };
    if !allowed {
        return Err(Error::forbidden(
            "not_mentorship_party_action",
            match action {
                A::Cancel => "the other party declines a request; its asker withdraws it",
                _ => "the party who was asked accepts or declines a request",
            },
        ));
    }
    Ok(to)
}

fn past(action: MentorshipAction) -> &'static str {
    match action {
        MentorshipAction::Accept => "accepted",
        MentorshipAction::Decline => "declined",
        MentorshipAction::Cancel => "cancelled",
        MentorshipAction::Pause => "paused",
        MentorshipAction::Resume => "resumed",
        MentorshipAction::Complete => "completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    /// Every (status, action, actor): the whole table, written out.
    #[test]
    fn the_transition_table() {
        use MentorshipAction as A;
        use MentorshipActor as W;
        use MentorshipStatus as S;
        let allowed: &[(S, A, W, S)] = &[
            (S::Requested, A::Accept, W::Recipient, S::Active),
            (S::Requested, A::Decline, W::Recipient, S::Declined),
            (S::Requested, A::Cancel, W::Requester, S::Cancelled),
            (S::Active, A::Pause, W::Requester, S::Paused),
            (S::Active, A::Pause, W::Recipient, S::Paused),
            (S::Paused, A::Resume, W::Requester, S::Active),
            (S::Paused, A::Resume, W::Recipient, S::Active),
            (S::Active, A::Complete, W::Requester, S::Completed),
            (S::Active, A::Complete, W::Recipient, S::Completed),
            (S::Paused, A::Complete, W::Requester, S::Completed),
            (S::Paused, A::Complete, W::Recipient, S::Completed),
            (S::Active, A::Cancel, W::Requester, S::Cancelled),
            (S::Active, A::Cancel, W::Recipient, S::Cancelled),
            (S::Paused, A::Cancel, W::Requester, S::Cancelled),
            (S::Paused, A::Cancel, W::Recipient, S::Cancelled),
        ];
        // Moves the status allows, but not to this actor.
        let wrong_party: &[(S, A, W)] = &[
            (S::Requested, A::Accept, W::Requester),
            (S::Requested, A::Decline, W::Requester),
            (S::Requested, A::Cancel, W::Recipient),
        ];
        let actions = [
            A::Accept,
            A::Decline,
            A::Cancel,
            A::Pause,
            A::Resume,
            A::Complete,
        ];
        let mut checked = 0;
        for &from in S::ALL {
            for action in actions {
                for actor in [W::Requester, W::Recipient] {
                    let expected = allowed
                        .iter()
                        .find(|(f, a, w, _)| (*f, *a, *w) == (from, action, actor))
                        .map(|(.., to)| *to);
                    let got = transition(from, action, actor);
                    match expected {
                        Some(to) => assert_eq!(got.ok(), Some(to), "{from} {action:?} {actor:?}"),
                        None if wrong_party.contains(&(from, action, actor)) => assert!(
                            matches!(
                                got,
                                Err(Error::Forbidden {
                                    code: "not_mentorship_party_action",
                                    ..
                                })
                            ),
                            "{from} {action:?} {actor:?}: {got:?}"
                        ),
                        None => assert!(
                            matches!(
                                got,
                                Err(Error::Conflict {
                                    code: "invalid_mentorship_transition",
                                    ..
                                })
                            ),
                            "{from} {action:?} {actor:?}: {got:?}"
                        ),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 6 * 2);
    }
}
