//! The campaign's state machine, as migration 8 names it: `draft -> scheduled | cancelled;
//! scheduled -> active | cancelled; active <-> paused; active | paused -> completed | cancelled`.
//! Who may make each move is part of the table: the owner submits, pauses, resumes and cancels;
//! the system schedules a funded draft (the funding charge's settlement), starts it at its start
//! time and completes it when its budget is spent or its end time passes.

use crate::enums::MarketingCampaignStatus;
use crate::Error;

/// What is asked of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    /// The owner freezes a draft for funding (it stays `draft` until the funding settles).
    Submit,
    /// Its funding charge succeeded.
    Fund,
    /// Its start time came.
    Start,
    Pause,
    Resume,
    /// Its budget is spent or its end time passed.
    Complete,
    Cancel,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignActor {
    Owner,
    System,
}

/// The status `action` by `actor` moves a campaign in `from` to.
///
/// # Errors
///
/// [`Error::Forbidden`] `not_campaign_owner_action` when the owner asks for a move only the
/// system makes, and [`Error::Conflict`] `invalid_campaign_transition` when the status does not
/// allow the move at all.
pub fn transition(
    from: MarketingCampaignStatus,
    action: CampaignAction,
    actor: CampaignActor,
) -> Result<MarketingCampaignStatus, Error> {
    use CampaignAction as A;
    use CampaignActor as W;
    use MarketingCampaignStatus as S;
    let (to, by) = match (from, action) {
        (S::Draft, A::Submit) => (S::Draft, W::Owner),
        (S::Draft, A::Fund) => (S::Scheduled, W::System),
        (S::Scheduled, A::Start) => (S::Active, W::System),
        (S::Active, A::Pause) => (S::Paused, W::Owner),
        (S::Paused, A::Resume) => (S::Active, W::Owner),
        (S::Active | S::Paused, A::Complete) => (S::Completed, W::System),
        (S::Draft | S::Scheduled | S::Active | S::Paused, A::Cancel) => (S::Cancelled, W::Owner),
        _ => {
            return Err(Error::conflict(
                "invalid_campaign_transition",
                format!("a campaign that is {from} cannot be {}", past(action)),
            ))
        }
    };
    // The system may make the owner's moves too (an admin's cancel); never the reverse.
    if by == W::System && actor == W::Owner {
        return Err(Error::forbidden(
            "not_campaign_owner_action",
            "funding, starting and completing a campaign follow from its payment, times and budget",
        ));
    }
    Ok(to)
}

fn past(action: CampaignAction) -> &'static str {
    match action {
        CampaignAction::Submit => "submitted",
        CampaignAction::Fund => "funded",
        CampaignAction::Start => "started",
        CampaignAction::Pause => "paused",
        CampaignAction::Resume => "resumed",
        CampaignAction::Complete => "completed",
        CampaignAction::Cancel => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    /// Every (status, action, actor): the whole table, written out.
    #[test]
    fn the_transition_table() {
        use CampaignAction as A;
        use CampaignActor as W;
        use MarketingCampaignStatus as S;
        let allowed: &[(S, A, W, S)] = &[
            (S::Draft, A::Submit, W::Owner, S::Draft),
            (S::Draft, A::Submit, W::System, S::Draft),
            (S::Draft, A::Fund, W::System, S::Scheduled),
            (S::Scheduled, A::Start, W::System, S::Active),
            (S::Active, A::Pause, W::Owner, S::Paused),
            (S::Active, A::Pause, W::System, S::Paused),
            (S::Paused, A::Resume, W::Owner, S::Active),
            (S::Paused, A::Resume, W::System, S::Active),
            (S::Active, A::Complete, W::System, S::Completed),
            (S::Paused, A::Complete, W::System, S::Completed),
            (S::Draft, A::Cancel, W::Owner, S::Cancelled),
            (S::Draft, A::Cancel, W::System, S::Cancelled),
            (S::Scheduled, A::Cancel, W::Owner, S::Cancelled),
            (S::Scheduled, A::Cancel, W::System, S::Cancelled),
            (S::Active, A::Cancel, W::Owner, S::Cancelled),
            (S::Active, A::Cancel, W::System, S::Cancelled),
            (S::Paused, A::Cancel, W::Owner, S::Cancelled),
            (S::Paused, A::Cancel, W::System, S::Cancelled),
        ];
        // Moves the status allows, but only to the system.
        let system_only: &[(S, A)] = &[
            (S::Draft, A::Fund),
            (S::Scheduled, A::Start),
            (S::Active, A::Complete),
            (S::Paused, A::Complete),
        ];
        let actions = [
            A::Submit,
            A::Fund,
            A::Start,
            A::Pause,
            A::Resume,
            A::Complete,
            A::Cancel,
        ];
        let mut checked = 0;
        for &from in S::ALL {
            for action in actions {
                for actor in [W::Owner, W::System] {
                    let expected = allowed
                        .iter()
                        .find(|(f, a, w, _)| (*f, *a, *w) == (from, action, actor))
                        .map(|(.., to)| *to);
                    let got = transition(from, action, actor);
                    match expected {
                        Some(to) => assert_eq!(got.ok(), Some(to), "{from} {action:?} {actor:?}"),
                        None if actor == W::Owner && system_only.contains(&(from, action)) => {
                            assert!(
                                matches!(
                                    got,
                                    Err(Error::Forbidden {
                                        code: "not_campaign_owner_action",
                                        ..
                                    })
                                ),
                                "{from} {action:?} {actor:?}: {got:?}"
                            )
                        }
                        None => assert!(
                            matches!(
                                got,
                                Err(Error::Conflict {
                                    code: "invalid_campaign_transition",
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
        assert_eq!(checked, 6 * 7 * 2);
    }
}
