//! Campaign funding: the charge of a submitted draft campaign's total budget, for its owner.
//! Its settlement moves the amount into the owner's ad balance and schedules the campaign
//! (`settle`), in the transaction that records the payment. And the refund of an ended
//! campaign's unspent remainder (`released_amount`) against that charge, out of the ad balance.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{MarketingCampaignStatus, PaymentKind, PaymentStatus};
use vendrome_core::ids::{CampaignId, PaymentId};
use vendrome_core::marketing::Campaign;
use vendrome_core::marketing::MarketingRepo;
use vendrome_core::money::Money;
use vendrome_core::payments::{NewPayment, Payment, StartOutcome};
use vendrome_core::{Error, Result};

use super::{CheckoutRequest, Payments};

fn already_paid() -> Error {
    Error::conflict("already_paid", "the campaign is already funded")
}

fn nothing_to_refund() -> Error {
    Error::conflict(
        "nothing_to_refund",
        "the campaign's unspent remainder is refunded already, or there is none",
    )
}

/// Refunds of a campaign that may still take money: every status but failed and cancelled.
fn live_refunds(payments: &[Payment]) -> i64 {
    payments
        .iter()
        .filter(|p| {
            p.kind == PaymentKind::Refund
                && !matches!(p.status, PaymentStatus::Failed | PaymentStatus::Cancelled)
        })
        .map(|p| p.amount.amount)
        .sum()
}

impl Payments {
    fn marketing_repo(&self) -> Result<&Arc<dyn MarketingRepo>> {
        self.marketing.as_ref().ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "the payments orchestrator was built without marketing"
            ))
        })
    }

    /// The caller's own campaign; strangers do not learn that it exists.
    async fn own_campaign(&self, campaign_id: CampaignId, caller: &Caller) -> Result<Campaign> {
        self.marketing_repo()?
            .campaign(campaign_id)
            .await?
            .filter(|c| c.owner_id == caller.user_id)
            .ok_or(Error::not_found("campaign"))
    }

    /// Funds `campaign` for its owner: the amount is the campaign's total budget, never the
    /// caller's. Keyed by the campaign and the caller's `idempotency_key`; answers the payment
    /// as [`checkout`](Self::checkout) does. Its success credits the owner's ad balance and
    /// moves the campaign to `scheduled`, once.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`campaign`) when there is no such campaign or it is not the
    ///   caller's;
    /// - [`Error::Conflict`] `campaign_not_submitted` for a draft not yet submitted,
    ///   `already_paid` for a funded campaign (with another key), `invalid_campaign_transition`
    ///   for one that was cancelled;
    /// - otherwise as [`checkout`](Self::checkout).
    pub async fn fund_campaign(
        &self,
        campaign_id: CampaignId,
        caller: &Caller,
        request: CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let campaigns = self.marketing_repo()?;
        let campaign = self.own_campaign(campaign_id, caller).await?;
        let key = format!("campaign:{campaign_id}:{idempotency_key}");
        let unfunded_draft = campaign.status == MarketingCampaignStatus::Draft
            && campaign.funding_payment_id.is_none();
        if !unfunded_draft {
            let payments = campaigns.campaign_payments(campaign_id).await?;
            // A retry of the request that paid answers that payment.
            if let Some(same) = payments.iter().find(|p| p.idempotency_key == key) {
                return Ok(same.clone());
            }
            let paid = payments
                .iter()
                .any(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded);
            return Err(if paid {
                already_paid()
            } else {
                Error::conflict(
                    "invalid_campaign_transition",
                    format!("a campaign that is {} cannot be funded", campaign.status),
                )
            });
        }
        if campaign.submitted_at.is_none() {
            return Err(Error::conflict(
                "campaign_not_submitted",
                "submit the campaign before funding it",
            ));
        }
        let candidates = self.route(campaign.budget.currency, &request, &key)?;
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Charge,
            provider: candidates[0].id(),
            payer_id: campaign.owner_id,
            payee_id: None,
            order_id: None,
            booking_id: None,
            marketing_campaign_id: Some(campaign_id),
            commitment_id: None,
            refund_of: None,
            amount: campaign.budget,
            fee_amount: 0,
            idempotency_key: key,
            method: request.method,
            return_url: request.return_url,
            created_at: self.now(),
        };
        self.charge_through(&candidates, new).await
    }

    /// Refunds an ended campaign's unspent remainder (`released_amount`, less what earlier
    /// refunds took) to its owner, against the charge that funded it, through the provider that
    /// took that charge. Keyed by the campaign and the caller's `idempotency_key`: a retry with
    /// the key answers (and resumes) the same refund. Its success moves the amount out of the
    /// owner's ad balance, once (`payment:<refund id>:succeeded`).
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`campaign`) when there is no such campaign or it is not the
    ///   caller's;
    /// - [`Error::Conflict`] `campaign_not_ended` for a campaign that is not completed or
    ///   cancelled, `nothing_to_refund` when its released remainder is refunded already (or
    ///   there is none: an unfunded campaign, a budget spent in full);
    /// - [`Error::PaymentRequired`] `payment_declined` when the provider declined the refund;
    /// - [`Error::Unavailable`] `provider_unavailable` (retry with the same key);
    /// - [`Error::Unexpected`] when the storage fails.
    pub async fn refund_campaign(
        &self,
        campaign_id: CampaignId,
        caller: &Caller,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let campaign = self.own_campaign(campaign_id, caller).await?;
        let key = format!("campaign-refund:{campaign_id}:{idempotency_key}");
        let payments = self
            .marketing_repo()?
            .campaign_payments(campaign_id)
            .await?;
        // A retry of the request that refunded answers that refund, taken on if it stopped.
        if let Some(same) = payments.iter().find(|p| p.idempotency_key == key) {
            return self.drive_refund(same.clone()).await;
        }
        if !matches!(
            campaign.status,
            MarketingCampaignStatus::Completed | MarketingCampaignStatus::Cancelled
        ) {
            return Err(Error::conflict(
                "campaign_not_ended",
                format!(
                    "a campaign that is {} has no remainder to refund yet; cancel it first",
                    campaign.status
                ),
            ));
        }
        let charge = payments
            .iter()
            .find(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded)
            .filter(|p| Some(p.id) == campaign.funding_payment_id)
            .ok_or_else(nothing_to_refund)?;
        let refundable = campaign.released_amount.unwrap_or(0) - live_refunds(&payments);
        if refundable <= 0 {
            return Err(nothing_to_refund());
        }
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Refund,
            provider: charge.provider,
            payer_id: charge.payer_id,
            payee_id: None,
            order_id: None,
            booking_id: None,
            marketing_campaign_id: Some(campaign_id),
            commitment_id: None,
            refund_of: Some(charge.id),
            amount: Money::new(refundable, charge.amount.currency),
            fee_amount: 0,
            idempotency_key: key,
            method: None,
            return_url: None,
            created_at: self.now(),
        };
        // The store checks the amount again against the released remainder, under the lock of
        // the charge, so two refunds with different keys at once do not both take it.
        let refund = match self.ports.payments.start(&new).await? {
            StartOutcome::Started(p) | StartOutcome::Existing(p) => p,
            StartOutcome::ExceedsRefundable { .. } => return Err(nothing_to_refund()),
            StartOutcome::AlreadyPaid(_) => {
                return Err(anyhow::anyhow!("a refund answered as a charge").into())
            }
        };
        self.drive_refund(refund).await
    }
}
