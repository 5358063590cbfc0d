//! [`Payments`], the orchestrator: checkout, refunds, webhooks, the completer of abandoned
//! attempts and reconciliation, over core's ports and the configured providers.
//!
//! Every money movement goes through the recovery points `PaymentRepo` documents: `start`
//! records the attempt, the provider is called with a key derived from our payment id
//! ([`provider_key`]), `provider_called` stores its answer, and `settle` writes the outcome with
//! its ledger posting, order move and events in one transaction. A crash between any two of
//! them is finished by a retry with the same key or by [`Payments::complete_abandoned`].
//!
//! A charge pays for an order, a booking ([`Payments::checkout_booking`]), an investment
//! commitment ([`Payments::checkout_commitment`]) or a marketing campaign's budget
//! ([`Payments::fund_campaign`]); its settlement moves whichever it pays for, in the same
//! transaction as its posting. [`Payments::settle_campaigns`] releases or refunds
//! campaigns past their deadline.

mod bookings;
mod checkout;
mod completer;
mod in_flight;
mod investments;
mod marketing;
mod reconcile;
mod refunds;
mod settle;
mod webhooks;

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::bookings::BookingRepo;
use vendrome_core::enums::{PaymentProvider as ProviderId, UserRole};
use vendrome_core::ids::PaymentId;
use vendrome_core::investments::InvestmentRepo;
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::marketing::MarketingRepo;
use vendrome_core::money::Currency;
use vendrome_core::orders::OrderRepo;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::payments::provider::{MethodOffer, PaymentProvider, ProviderError};
use vendrome_core::payments::{Payment, PaymentRepo, ReconciliationRepo, WebhookInbox};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::{Error, Result};

use crate::routing::{HealthSnapshot, Routing, RoutingPolicy};

pub use self::checkout::CheckoutRequest;
pub use self::completer::CompletionReport;
pub use self::investments::{commitment_refund_key, SettlementReport, SETTLEMENT_LEASE};
pub use self::reconcile::{Matched, ReconcileOutcome, ReconcileProgress, ReconciliationReport};
pub use self::webhooks::WebhookOutcome;

/// The storage ports the orchestrator works through.
#[derive(Clone)]
pub struct Ports {
    pub payments: Arc<dyn PaymentRepo>,
    pub orders: Arc<dyn OrderRepo>,
    pub inbox: Arc<dyn WebhookInbox>,
    pub ledger: Arc<dyn LedgerRepo>,
    /// Reconciliation runs, and the audit event of each discrepancy, written with its run.
    pub reconciliation: Arc<dyn ReconciliationRepo>,
}

/// Where the orchestrator reads the time (tests move it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The idempotency key the provider sees for our payment: the same on every retry of the
/// attempt, whoever retries it.
pub fn provider_key(payment: PaymentId) -> String {
    format!("vendrome-payment-{payment}")
}

/// The payment orchestrator. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    ports: Ports,
    /// In routing order: the first that offers the currency (and method) is picked.
    providers: Vec<Arc<dyn PaymentProvider>>,
    clock: Clock,
    /// The bookings a charge may pay for; without them, bookings cannot be paid
    /// ([`with_bookings`](Self::with_bookings)).
    bookings: Option<Arc<dyn BookingRepo>>,
    /// The campaigns a charge may fund ([`with_marketing`](Self::with_marketing)).
    marketing: Option<Arc<dyn MarketingRepo>>,
    /// The campaigns and commitments a charge may pay for
    /// ([`with_investments`](Self::with_investments)).
    investments: Option<Arc<dyn InvestmentRepo>>,
    /// Which providers take a payment, in which order, and which are in rotation.
    routing: Arc<Routing>,
    /// The webhook events being processed on this instance ([`in_flight`]).
    in_flight: Arc<in_flight::InFlight>,
}

impl Payments {
    /// An orchestrator over `ports` with `providers` in routing order, reading the time from
    /// [`time::now`].
    pub fn new(ports: Ports, providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        Self {
            ports,
            providers,
            clock: Arc::new(time::now),
            bookings: None,
            marketing: None,
            investments: None,
            routing: Arc::new(Routing::default()),
            in_flight: Arc::default(),
        }
    }

    /// The same orchestrator routing by `policy` (with a fresh health window per provider).
    #[must_use]
    pub fn with_routing(mut self, policy: RoutingPolicy) -> Self {
        self.routing = Arc::new(Routing::new(policy));
        self
    }

    /// The configured providers' ids, in configuration order.
    pub fn provider_ids(&self) -> Vec<ProviderId> {
        self.providers.iter().map(|p| p.id()).collect()
    }

    /// Each configured provider's health window and state now.
    pub fn provider_health(&self) -> Vec<HealthSnapshot> {
        self.routing.snapshots(&self.provider_ids(), self.now())
    }

    /// The same orchestrator, also paying for and refunding the bookings of `bookings`.
    #[must_use]
    pub fn with_bookings(mut self, bookings: Arc<dyn BookingRepo>) -> Self {
        self.bookings = Some(bookings);
        self
    }

    /// The same orchestrator, also funding the campaigns of `marketing`.
    #[must_use]
    pub fn with_marketing(mut self, marketing: Arc<dyn MarketingRepo>) -> Self {
        self.marketing = Some(marketing);
        self
    }

    /// The same orchestrator, also paying for, refunding and settling the commitments and
    /// campaigns of `investments`.
    #[must_use]
    pub fn with_investments(mut self, investments: Arc<dyn InvestmentRepo>) -> Self {
        self.investments = Some(investments);
        self
    }

    /// The same orchestrator reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The configured provider `id`, if any.
    pub fn provider(&self, id: ProviderId) -> Option<&Arc<dyn PaymentProvider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    fn configured(&self, id: ProviderId) -> Result<Arc<dyn PaymentProvider>> {
        self.provider(id).cloned().ok_or_else(|| {
            Error::not_configured(
                "provider_not_configured",
                format!("the payment provider {id} is not configured"),
            )
        })
    }

    /// The methods that take `currency` (from `country`), in routing order: the routing rules'
    /// eligible providers (every configured one when no rule matches), those out of rotation
    /// left out.
    pub fn methods(&self, currency: Currency, country: Option<&str>) -> Vec<MethodOffer> {
        let now = self.now();
        let mut offers: Vec<MethodOffer> = Vec::new();
        for provider in self
            .providers
            .iter()
            .filter(|p| !self.routing.eliminated(p.id(), now))
        {
            for offer in provider.methods() {
                let takes = offer.currencies.is_empty() || offer.currencies.contains(&currency);
                let routed = self
                    .routing
                    .order(
                        &self.provider_ids(),
                        currency,
                        country,
                        Some(&offer.method),
                        None,
                        now,
                    )
                    .contains(&provider.id());
                if takes && routed {
                    offers.push(offer);
                }
            }
        }
        let order = self
            .routing
            .order(&self.provider_ids(), currency, country, None, None, now);
        offers.sort_by_key(|o| {
            order
                .iter()
                .position(|p| *p == o.provider)
                .unwrap_or(usize::MAX)
        });
        offers
    }

    /// The payment, for its payer, its payee or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`payment`) when there is none or the caller may not see it;
    /// [`Error::Unexpected`] when the storage fails.
    pub async fn payment(&self, caller: &Caller, id: PaymentId) -> Result<Payment> {
        let payment = self.ports.payments.payment(id).await?;
        payment
            .filter(|p| {
                caller.role == UserRole::Admin
                    || p.payer_id == caller.user_id
                    || p.payee_id == Some(caller.user_id)
            })
            .ok_or(Error::not_found("payment"))
    }

    /// The caller's payments as payer or payee, newest first, with the next page's cursor.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out; [`Error::Unexpected`] when
    /// the storage fails.
    pub async fn payments_of(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Payment>, Option<Cursor>)> {
        self.ports
            .payments
            .payments_of(caller.user_id, after, limit)
            .await
    }
}

/// The domain error for a provider call that gave no usable answer. `Declined` and `Rejected`
/// are handled where the attempt is settled; `Timeout` is not an error for the caller.
fn provider_error(error: &ProviderError) -> Error {
    match error {
        ProviderError::Declined(f) => {
            Error::payment_required("payment_declined", f.message.clone())
        }
        ProviderError::Rejected(f) => Error::unprocessable("payment_rejected", f.message.clone()),
        ProviderError::Unavailable(why) => Error::unavailable(
            "provider_unavailable",
            format!("the payment provider could not be reached ({why}); retry with the same key"),
        ),
        ProviderError::Timeout => Error::unavailable(
            "provider_unavailable",
            "the payment provider did not answer in time",
        ),
        ProviderError::Unsupported => {
            Error::Unexpected(anyhow::anyhow!("the provider does not support this"))
        }
    }
}
