//! Campaign funding: the charge of a submitted draft campaign's total budget, for its owner.
//! Its settlement moves the amount into the owner's ad balance and schedules the campaign
//! (`settle`), in the transaction that records the payment.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{MarketingCampaignStatus, PaymentKind, PaymentStatus};
use vendrome_core::ids::{CampaignId, PaymentId};
use vendrome_core::marketing::MarketingRepo;
use vendrome_core::payments::{NewPayment, Payment};
use vendrome_core::{Error, Result};

use super::{CheckoutRequest, Payments};

fn already_paid() -> Error {
    Error::conflict("already_paid", "the campaign is already funded")
}

impl Payments {
    fn marketing_repo(&self) -> Result<&Arc<dyn MarketingRepo>> {
        self.marketing.as_ref().ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "the payments orchestrator was built without marketing"
            ))
        })
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
        let campaign = campaigns
            .campaign(campaign_id)
            .await?
            .filter(|c| c.owner_id == caller.user_id)
            .ok_or(Error::not_found("campaign"))?;
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
}
