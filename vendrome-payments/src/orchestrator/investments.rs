//! Investment commitments: the charge of a commitment (into the campaign's escrow), its
//! withdrawal (a refund out of it), and the settlement of campaigns past their deadline: the
//! escrow released to the founder less the platform's fee, or every confirmed commitment
//! refunded. Every refund of a commitment is keyed by the commitment
//! ([`commitment_refund_key`]), so a withdrawal, a settlement and any number of settlers
//! racing each other refund it once.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{CommitmentStatus, InvestmentSettlement, PaymentKind, PaymentStatus};
use vendrome_core::ids::{CommitmentId, PaymentId};
use vendrome_core::investments::{
    check_withdrawal, settlement_decision, Campaign, Commitment, InvestmentRepo,
};
use vendrome_core::payments::{NewPayment, Payment, StartOutcome};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use super::{CheckoutRequest, Payments};

/// How long a settler holds a campaign before another may take it over.
pub const SETTLEMENT_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// How many refunds a settler starts per read of those due.
const REFUND_BATCH: u32 = 100;

/// The idempotency key of a commitment's refund: one per commitment, whoever refunds it.
pub fn commitment_refund_key(commitment: CommitmentId) -> String {
    format!("commitment:{commitment}:refund")
}

/// What one pass of [`Payments::settle_campaigns`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettlementReport {
    /// Campaigns this settler decided (released or refunded).
    pub decided: usize,
    /// Campaigns released to their founder by this settler.
    pub released: usize,
    /// Refunds this settler started (or found started under their key).
    pub refunds: usize,
    /// Refunds that failed to start (left for the next pass).
    pub refund_errors: usize,
    /// Campaigns finished (every refund made, or released).
    pub finished: usize,
}

impl Payments {
    fn investment_repo(&self) -> Result<&Arc<dyn InvestmentRepo>> {
        self.investments.as_ref().ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "the payments orchestrator was built without investments"
            ))
        })
    }

    async fn commitment_and_campaign(&self, id: CommitmentId) -> Result<(Commitment, Campaign)> {
        let repo = self.investment_repo()?;
        let commitment = repo
            .commitment(id)
            .await?
            .ok_or(Error::not_found("commitment"))?;
        let campaign = repo
            .campaign(commitment.campaign_id)
            .await?
            .ok_or(Error::not_found("commitment"))?;
        Ok((commitment, campaign))
    }

    /// Pays the caller's commitment `id` (awaiting payment): the amount is the commitment's,
    /// into the campaign's escrow. Keyed like an order's checkout, by the commitment and the
    /// caller's `idempotency_key`; answers the payment as [`checkout`](Self::checkout) does.
    /// Its success confirms the commitment and adds it to the campaign's totals once.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`commitment`) when there is none or it is not the caller's;
    /// - [`Error::Conflict`] `already_paid` for a commitment paid (with another key),
    ///   `invalid_commitment_transition` for one in review, cancelled or refunded;
    /// - otherwise as [`checkout`](Self::checkout).
    pub async fn checkout_commitment(
        &self,
        id: CommitmentId,
        caller: &Caller,
        request: CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let (commitment, campaign) = self.commitment_and_campaign(id).await?;
        if commitment.investor_id != caller.user_id {
            return Err(Error::not_found("commitment"));
        }
        let key = format!("commitment:{id}:{idempotency_key}");
        if commitment.status != CommitmentStatus::Pending {
            let payments = self.ports.payments.payments_for_commitment(id).await?;
            if let Some(same) = payments.iter().find(|p| p.idempotency_key == key) {
                return Ok(same.clone());
            }
            return Err(if commitment.status == CommitmentStatus::Confirmed {
                Error::conflict("already_paid", "the commitment is already paid")
            } else {
                Error::conflict(
                    "invalid_commitment_transition",
                    format!("a commitment that is {} cannot be paid", commitment.status),
                )
            });
        }
        let candidates = self.route(commitment.amount.currency, &request, &key)?;
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Charge,
            provider: candidates[0].id(),
            payer_id: commitment.investor_id,
            payee_id: Some(campaign.owner_id),
            order_id: None,
            booking_id: None,
            marketing_campaign_id: None,
            commitment_id: Some(id),
            refund_of: None,
            amount: commitment.amount,
            // The fee is taken at the release, not from each commitment.
            fee_amount: 0,
            idempotency_key: key,
            method: request.method,
            return_url: request.return_url,
            created_at: self.now(),
        };
        self.charge_through(&candidates, new).await
    }

    /// The backer withdraws a confirmed commitment, until 48 hours before the deadline: its
    /// charge is refunded in full through the provider that took it, out of the escrow.
    /// Answers the refund as it is (the commitment becomes `refunded` when it succeeds).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`commitment`) for anyone but its backer; [`Error::Conflict`]
    /// `invalid_commitment_transition` for a commitment not confirmed, `withdrawal_closed`
    /// inside the cutoff; the refund's errors as [`refund`](Self::refund) names them.
    pub async fn withdraw_commitment(&self, caller: &Caller, id: CommitmentId) -> Result<Payment> {
        let (commitment, campaign) = self.commitment_and_campaign(id).await?;
        check_withdrawal(caller, &commitment, &campaign, self.now())?;
        self.refund_commitment(&commitment).await
    }

    /// Refunds a confirmed commitment's succeeded charge in full, keyed by the commitment.
    async fn refund_commitment(&self, commitment: &Commitment) -> Result<Payment> {
        let charge = self
            .ports
            .payments
            .payments_for_commitment(commitment.id)
            .await?
            .into_iter()
            .find(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "confirmed commitment {} has no succeeded charge",
                    commitment.id
                )
            })?;
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Refund,
            provider: charge.provider,
            payer_id: charge.payer_id,
            payee_id: charge.payee_id,
            order_id: None,
            booking_id: None,
            marketing_campaign_id: None,
            commitment_id: Some(commitment.id),
            refund_of: Some(charge.id),
            amount: charge.amount,
            fee_amount: 0,
            idempotency_key: commitment_refund_key(commitment.id),
            method: None,
            return_url: None,
            created_at: self.now(),
        };
        let refund = match self.ports.payments.start(&new).await? {
            StartOutcome::Started(p) | StartOutcome::Existing(p) => p,
            StartOutcome::ExceedsRefundable { refundable } => {
                return Err(Error::unprocessable(
                    "refund_exceeds_total",
                    format!("refunds would add up to more than the charge; {refundable} may still be refunded"),
                ))
            }
            StartOutcome::AlreadyPaid(_) => {
                return Err(anyhow::anyhow!("a refund answered as a charge").into())
            }
        };
        self.drive_refund(refund).await
    }

    /// One pass of the settlement task at `now`: settles, one at a time, every campaign this settler
    /// can lease ([`InvestmentRepo::claim_settlement`]). An undecided campaign past its
    /// deadline is decided ([`settlement_decision`]: released, or to be refunded) by a
    /// compare-and-set only one settler passes; a campaign to be refunded (missed its
    /// all-or-nothing goal, or cancelled) has every confirmed commitment refunded through its
    /// provider, and is finished once none is left without a refund. Safe with any number of
    /// settlers on any number of instances.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails; a refund that fails to start is
    /// counted and left for the next pass (the lease lapses, the campaign is taken again).
    pub async fn settle_campaigns(&self, now: Timestamp) -> Result<SettlementReport> {
        let repo = self.investment_repo()?.clone();
        let mut report = SettlementReport::default();
        while let Some(campaign) = repo.claim_settlement(now, SETTLEMENT_LEASE).await? {
            let settlement = match campaign.settlement {
                Some(settlement) => settlement,
                None => {
                    let decision = settlement_decision(&campaign, now)?;
                    if repo.decide_settlement(&decision).await? {
                        report.decided += 1;
                        if decision.settlement == InvestmentSettlement::Release {
                            report.released += 1;
                            report.finished += 1;
                            continue;
                        }
                    }
                    match repo.campaign(campaign.id).await?.and_then(|c| c.settlement) {
                        Some(settlement) => settlement,
                        None => continue,
                    }
                }
            };
            if settlement == InvestmentSettlement::Release {
                continue;
            }
            if self.refund_all(&repo, &campaign, &mut report).await? {
                repo.finish_settlement(campaign.id, now).await?;
                report.finished += 1;
            }
        }
        Ok(report)
    }

    /// Starts the refund of every confirmed commitment of `campaign` with none under way;
    /// `true` when none is left.
    async fn refund_all(
        &self,
        repo: &Arc<dyn InvestmentRepo>,
        campaign: &Campaign,
        report: &mut SettlementReport,
    ) -> Result<bool> {
        loop {
            let due = repo.refunds_due(campaign.id, REFUND_BATCH).await?;
            if due.is_empty() {
                return Ok(true);
            }
            let mut started = 0;
            for commitment in &due {
                match self.refund_commitment(commitment).await {
                    // A refund the provider refused keeps its key: it is left to an operator.
                    Ok(refund) if refund.status == PaymentStatus::Failed => {
                        report.refund_errors += 1;
                    }
                    Ok(_) => {
                        report.refunds += 1;
                        started += 1;
                    }
                    Err(Error::Unexpected(e)) => return Err(Error::Unexpected(e)),
                    Err(e) => {
                        tracing::warn!(commitment = %commitment.id, error = %e, "a commitment's refund did not start");
                        report.refund_errors += 1;
                    }
                }
            }
            if started == 0 {
                return Ok(false);
            }
        }
    }
}
