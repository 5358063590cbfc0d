//! Reconciliation against each fake's settlement listing (PayPal's Transaction Search,
//! Airwallex's financial transactions, Payfast's transaction history, Paystack's settlements),
//! one table: a payment the provider settled while ours stayed open (its webhook lost) is found
//! and repaired once through the idempotent settle path; one the provider settled for less than
//! asked is reported and left alone.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::PaymentProvider;
use vendrome_core::payments::{Discrepancy, Payment, PaymentRepo};
use vendrome_payments::{CheckoutRequest, ReconcileOutcome, ReconciliationReport};

use crate::drills::World;
use crate::{airwallex, paypal, paystack, south_africa};

/// Settles a payment of ours at the provider (by the reference the provider knows it by) for
/// `minor` units at a time, without telling us.
type Settle = Box<dyn Fn(&str, i64, DateTime<Utc>)>;

struct Case {
    provider: ProviderId,
    currency: &'static str,
    adapter: Arc<dyn PaymentProvider>,
    settle: Settle,
}

async fn cases() -> Vec<Case> {
    let (paystack_fake, paystack) = paystack::fake().await;
    let (paypal_fake, paypal) = paypal::fake().await;
    let (airwallex_fake, airwallex) = airwallex::fake().await;
    let (payfast_fake, payfast) = south_africa::payfast_fake().await;
    vec![
        Case {
            provider: ProviderId::Paystack,
            currency: "NGN",
            adapter: Arc::new(paystack),
            settle: Box::new(move |r, minor, at| paystack_fake.settle(r, minor, at)),
        },
        Case {
            provider: ProviderId::Paypal,
            currency: "USD",
            adapter: Arc::new(paypal),
            settle: Box::new(move |r, minor, at| paypal_fake.settle(r, minor, at)),
        },
        Case {
            provider: ProviderId::Airwallex,
            currency: "USD",
            adapter: Arc::new(airwallex),
            settle: Box::new(move |r, minor, at| airwallex_fake.settle(r, minor, at)),
        },
        Case {
            provider: ProviderId::Payfast,
            currency: "ZAR",
            adapter: Arc::new(payfast),
            settle: Box::new(move |r, minor, at| payfast_fake.complete(r, minor, at)),
        },
    ]
}

async fn run(
    world: &World,
    provider: ProviderId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ReconciliationReport {
    let outcome = world
        .payments
        .reconcile(provider, from, to, &|_| {})
        .await
        .unwrap();
    match outcome {
        ReconcileOutcome::Ran(report) => report,
        other => panic!("{provider}: {other:?}"),
    }
}

fn reference(payment: &Payment) -> String {
    payment
        .provider_reference
        .clone()
        .expect("the provider named it")
}

#[tokio::test]
async fn reconciliation_repairs_a_lost_webhook_and_reports_an_amount_mismatch() {
    for case in cases().await {
        let provider = case.provider;
        let world = World::new(vec![case.adapter], "");
        let lost_order = world.order_in(case.currency).await;
        let short_order = world.order_in(case.currency).await;
        let pay = |order| {
            world
                .payments
                .checkout(order, &world.buyer, CheckoutRequest::default(), "k")
        };
        let lost = pay(lost_order).await.unwrap();
        let short = pay(short_order).await.unwrap();
        assert_eq!(
            (lost.provider, lost.status),
            (provider, PaymentStatus::RequiresAction)
        );
        // Both paid at the provider, neither webhook arrives; one for less than asked.
        let now = world.now();
        (case.settle)(&reference(&lost), lost.amount.amount, now);
        (case.settle)(&reference(&short), 9_000, now);

        let (from, to) = (
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
        );
        let report = run(&world, provider, from, to).await;
        let currency = Currency::parse(case.currency).unwrap();
        let short_mismatch = Discrepancy::AmountMismatch {
            reference: reference(&short),
            payment_id: short.id,
            ledger: short.amount,
            provider: Money::new(9_000, currency),
        };
        let found: HashSet<Discrepancy> = report.discrepancies.iter().cloned().collect();
        assert_eq!(
            found,
            HashSet::from([
                Discrepancy::MissingInLedger {
                    reference: reference(&lost),
                    amount: lost.amount,
                },
                short_mismatch.clone(),
            ]),
            "{provider}: {report:?}"
        );

        let repaired = world.payments.repair(&report).await.unwrap();
        assert_eq!(
            repaired.iter().map(|m| m.payment_id).collect::<Vec<_>>(),
            [lost.id],
            "{provider}"
        );
        let store = &world.store;
        let status = |id| async move { store.payment(id).await.unwrap().unwrap().status };
        assert_eq!(
            status(lost.id).await,
            PaymentStatus::Succeeded,
            "{provider}"
        );
        assert_eq!(
            status(short.id).await,
            PaymentStatus::RequiresAction,
            "{provider}: reported, not repaired"
        );
        // Repairing again (or the late webhook) posts nothing more.
        assert!(world.payments.repair(&report).await.unwrap().is_empty());
        let postings = store.postings_for_payment(lost.id).await.unwrap();
        let transactions: HashSet<_> = postings.iter().map(|e| e.transaction_id).collect();
        assert_eq!(transactions.len(), 1, "{provider}: one posting");
        assert!(
            store
                .postings_for_payment(short.id)
                .await
                .unwrap()
                .is_empty(),
            "{provider}: nothing posted for the short one"
        );
        let check = store.check().await.unwrap();
        assert!(check.is_clean(), "{provider}: {check:?}");

        // The next run finds the repaired payment matched and still reports the short one.
        let later = run(&world, provider, from, to + chrono::Duration::seconds(1)).await;
        assert_eq!(
            later
                .matched
                .iter()
                .map(|m| (m.payment_id, m.amount))
                .collect::<Vec<_>>(),
            [(lost.id, lost.amount)],
            "{provider}: {later:?}"
        );
        assert_eq!(later.discrepancies, [short_mismatch], "{provider}");
    }
}
