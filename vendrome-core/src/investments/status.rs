//! The campaign's and the commitment's state machines, as migrations 6 and `20261207000100`
//! name them. A campaign: `draft -> live | cancelled; live -> funded | closed | cancelled;
//! funded -> closed`. A commitment: `pending_review -> pending | cancelled; pending -> confirmed
//! | cancelled; confirmed -> refunded`.

use crate::enums::{CommitmentStatus, InvestmentCampaignStatus};
use crate::Error;

/// What happens to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    /// The founder takes a draft live.
    Publish,
    /// The founder (or an admin) calls it off; its confirmed commitments are refunded.
    Cancel,
    /// Confirmed commitments reached the goal.
    ReachGoal,
    /// The deadline passed and the settlement decided.
    Settle,
}

/// The status `action` moves a campaign in `from` to.
///
/// # Errors
///
/// [`Error::Conflict`] `invalid_campaign_transition` when the status does not allow the move.
pub fn campaign_transition(
    from: InvestmentCampaignStatus,
    action: CampaignAction,
) -> Result<InvestmentCampaignStatus, Error> {
    use CampaignAction as A;
    use InvestmentCampaignStatus as S;
    match (from, action) {
        (S::Draft, A::Publish) => Ok(S::Live),
        (S::Draft | S::Live, A::Cancel) => Ok(S::Cancelled),
        (S::Live, A::ReachGoal) => Ok(S::Funded),
        (S::Live | S::Funded, A::Settle) => Ok(S::Closed),
        _ => Err(Error::conflict(
            "invalid_campaign_transition",
            format!(
                "a campaign that is {from} cannot be {}",
                campaign_past(action)
            ),
        )),
    }
}

fn campaign_past(action: CampaignAction) -> &'static str {
    match action {
        CampaignAction::Publish => "published",
        CampaignAction::Cancel => "cancelled",
        CampaignAction::ReachGoal => "funded",
        CampaignAction::Settle => "settled",
    }
}

/// What happens to a commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentAction {
    /// An admin approves one held for review: it may be paid.
    Approve,
    /// An admin rejects one held for review.
    Reject,
    /// Its charge succeeded.
    Pay,
    /// It was never paid and the campaign ended (or the backer gave it up).
    Cancel,
    /// Its refund succeeded (a withdrawal, or a campaign that missed its goal).
    Refund,
}

/// The status `action` moves a commitment in `from` to.
///
/// # Errors
///
/// [`Error::Conflict`] `invalid_commitment_transition` when the status does not allow the move.
pub fn commitment_transition(
    from: CommitmentStatus,
    action: CommitmentAction,
) -> Result<CommitmentStatus, Error> {
    use CommitmentAction as A;
    use CommitmentStatus as S;
    match (from, action) {
        (S::PendingReview, A::Approve) => Ok(S::Pending),
        (S::PendingReview, A::Reject) => Ok(S::Cancelled),
        (S::Pending, A::Pay) => Ok(S::Confirmed),
        (S::PendingReview | S::Pending, A::Cancel) => Ok(S::Cancelled),
        (S::Confirmed, A::Refund) => Ok(S::Refunded),
        _ => Err(Error::conflict(
            "invalid_commitment_transition",
            format!(
                "a commitment that is {from} cannot be {}",
                commitment_past(action)
            ),
        )),
    }
}

fn commitment_past(action: CommitmentAction) -> &'static str {
    match action {
        CommitmentAction::Approve => "approved",
        CommitmentAction::Reject => "rejected",
        CommitmentAction::Pay => "paid",
        CommitmentAction::Cancel => "cancelled",
        CommitmentAction::Refund => "refunded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    /// Every (status, action) of a campaign: the whole table, written out.
    #[test]
    fn the_campaign_transition_table() {
        use CampaignAction as A;
        use InvestmentCampaignStatus as S;
        let allowed: &[(S, A, S)] = &[
            (S::Draft, A::Publish, S::Live),
            (S::Draft, A::Cancel, S::Cancelled),
            (S::Live, A::Cancel, S::Cancelled),
            (S::Live, A::ReachGoal, S::Funded),
            (S::Live, A::Settle, S::Closed),
            (S::Funded, A::Settle, S::Closed),
        ];
        let actions = [A::Publish, A::Cancel, A::ReachGoal, A::Settle];
        let mut checked = 0;
        for &from in S::ALL {
            for action in actions {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| (*f, *a) == (from, action))
                    .map(|(.., to)| *to);
                match (expected, campaign_transition(from, action)) {
                    (Some(to), got) => assert_eq!(got.ok(), Some(to), "{from} {action:?}"),
                    (
                        None,
                        Err(Error::Conflict {
                            code: "invalid_campaign_transition",
                            ..
                        }),
                    ) => {}
                    (None, got) => panic!("{from} {action:?} should be refused: {got:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 5 * 4);
    }

    /// Every (status, action) of a commitment: the whole table, written out.
    #[test]
    fn the_commitment_transition_table() {
        use CommitmentAction as A;
        use CommitmentStatus as S;
        let allowed: &[(S, A, S)] = &[
            (S::PendingReview, A::Approve, S::Pending),
            (S::PendingReview, A::Reject, S::Cancelled),
            (S::PendingReview, A::Cancel, S::Cancelled),
            (S::Pending, A::Pay, S::Confirmed),
            (S::Pending, A::Cancel, S::Cancelled),
            (S::Confirmed, A::Refund, S::Refunded),
        ];
        let actions = [A::Approve, A::Reject, A::Pay, A::Cancel, A::Refund];
        let mut checked = 0;
        for &from in S::ALL {
            for action in actions {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| (*f, *a) == (from, action))
                    .map(|(.., to)| *to);
                match (expected, commitment_transition(from, action)) {
                    (Some(to), got) => assert_eq!(got.ok(), Some(to), "{from} {action:?}"),
                    (
                        None,
                        Err(Error::Conflict {
                            code: "invalid_commitment_transition",
                            ..
                        }),
                    ) => {}
                    (None, got) => panic!("{from} {action:?} should be refused: {got:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 5 * 5);
    }
}
