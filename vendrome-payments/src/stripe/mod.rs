//! The Stripe adapter: PaymentIntents, Refunds and BalanceTransactions through async-stripe
//! (pinned `=1.0.0-rc.10`), and Stripe's signed webhooks.
//!
//! - `create` makes a PaymentIntent for the amount in minor units, the currency in lower case,
//!   `metadata.payment_id` = our payment id, `Idempotency-Key` = the request's key. It is not
//!   confirmed here: the answer's `next_action` is the intent's client secret, which the
//!   browser confirms with Stripe.js. The method is Stripe's automatic payment methods, cards
//!   among them; our description travels as `metadata.description`.
//! - `capture` captures an intent made with manual capture (ours capture automatically).
//! - `refund` refunds (part of) the intent, with the request's key and `metadata.refund_id`.
//! - `status` retrieves the intent.
//! - `verify_webhook` and the events it reads: [`webhook`].
//! - `settled_transactions` walks the balance transactions newest first and keeps those
//!   created in the window, keyed as [`convert::BalanceTransaction::settled`] says.

mod client;
pub mod convert;
#[cfg(test)]
mod tests;
pub mod webhook;

use std::collections::HashMap;

use async_trait::async_trait;
use stripe_core::balance_transaction::ListBalanceTransaction;
use stripe_core::payment_intent::{
    CapturePaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::money::Money;
use vendrome_core::payments::provider::{
    CreatePayment, Failure, Headers, MethodOffer, PaymentProvider, ProviderError, ProviderPayment,
    ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

use crate::signature;

use self::client::Api;
pub use self::client::{StripeConfig, DEFAULT_API_BASE, REQUEST_TIMEOUT};
use self::convert::{BalanceTransaction, Intent, List, Refund, PAYMENT_ID, REFUND_ID};

/// Balance transactions asked for per page (Stripe's largest).
const PAGE: i64 = 100;

/// The Stripe provider. Keeps no state of its own: every answer is Stripe's.
pub struct Stripe {
    api: Api,
    webhook_secret: String,
}

impl Stripe {
    /// The adapter for `config`.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Rejected`] (`stripe_configuration`) when the key or the API base
    /// cannot be used (not visible ASCII, not a URL).
    pub fn new(config: &StripeConfig) -> Result<Self, ProviderError> {
        Ok(Self {
            api: Api::new(config)?,
            webhook_secret: config.webhook_secret.clone(),
        })
    }
}

fn unsupported_method(method: &str) -> ProviderError {
    ProviderError::Rejected(Failure {
        code: "unsupported_method".to_owned(),
        message: format!("Stripe is set up here for cards only, not {method:?}"),
    })
}

#[async_trait]
impl PaymentProvider for Stripe {
    fn id(&self) -> ProviderId {
        ProviderId::Stripe
    }

    /// Cards, in any currency Stripe takes (an empty list: Stripe refuses the ones it does not).
    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Stripe,
            method: "card".to_owned(),
            currencies: Vec::new(),
        }]
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        if let Some(method) = request.method.as_deref().filter(|m| *m != "card") {
            return Err(unsupported_method(method));
        }
        let mut metadata = HashMap::from([(PAYMENT_ID.to_owned(), request.payment_id.clone())]);
        if !request.description.is_empty() {
            metadata.insert("description".to_owned(), request.description.clone());
        }
        let create = CreatePaymentIntent::new(
            request.amount.amount,
            convert::stripe_currency(request.amount.currency),
        )
        .metadata(metadata);
        let intent: Intent = self
            .api
            .send(&create, Some(&request.idempotency_key))
            .await?;
        intent.provider_payment()
    }

    #[tracing::instrument(skip(self, amount, idempotency_key))]
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        let capture = CapturePaymentIntent::new(reference).amount_to_capture(amount.amount);
        let intent: Intent = self.api.send(&capture, Some(idempotency_key)).await?;
        intent.provider_payment()
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let refund = CreateRefund::new()
            .payment_intent(request.charge_reference.clone())
            .amount(request.amount.amount)
            .metadata(HashMap::from([(
                REFUND_ID.to_owned(),
                request.refund_id.clone(),
            )]));
        let refund: Refund = self
            .api
            .send(&refund, Some(&request.idempotency_key))
            .await?;
        refund.provider_refund()
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let intent: Intent = self
            .api
            .send(&RetrievePaymentIntent::new(reference), None)
            .await?;
        intent.provider_payment()
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        signature::verify(
            signature::header(headers, webhook::SIGNATURE_HEADER),
            &self.webhook_secret,
            body,
            now,
            signature::DEFAULT_TOLERANCE,
        )?;
        webhook::parse(body)
    }

    /// Stripe lists balance transactions newest first: the walk pages back until the first one
    /// created before `from`, so a run reads the pages back to its window, not the account's
    /// whole history. (The list's `created` filter would save that walk, but localstripe, the
    /// peer the adapter is tested against, refuses it.)
    #[tracing::instrument(skip(self))]
    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        let (from, to) = (from.timestamp(), to.timestamp());
        let mut settled = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListBalanceTransaction::new()
                .limit(PAGE)
                .expand(vec!["data.source".to_owned()]);
            if let Some(after) = after.take() {
                list = list.starting_after(after);
            }
            let page: List<BalanceTransaction> = self.api.send(&list, None).await?;
            let mut before_window = false;
            for transaction in &page.data {
                if transaction.created < from {
                    before_window = true;
                    break;
                }
                if transaction.created < to {
                    settled.extend(transaction.settled()?);
                }
            }
            match page.data.last() {
                Some(last) if page.has_more && !before_window => after = Some(last.id.clone()),
                _ => return Ok(settled),
            }
        }
    }
}
