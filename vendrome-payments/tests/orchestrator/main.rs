//! The orchestrator over core's in-memory ports and a fake provider that counts charges:
//! recovery points, webhooks, refunds, the completer and reconciliation.

mod cancel_race;
mod redelivery;
mod support;

use vendrome_core::enums::{OrderStatus, PaymentAttemptPhase, PaymentStatus, ReconciliationStatus};
use vendrome_core::payments::provider::SettledTransaction;
use vendrome_core::payments::{Discrepancy, PaymentRepo};
use vendrome_core::Error;
use vendrome_payments::{CheckoutRequest, ReconcileOutcome, WebhookOutcome};

use support::{zar, Next, World};

fn code(e: &Error) -> &'static str {
    match e {
        Error::Conflict { code, .. }
        | Error::Forbidden { code, .. }
        | Error::Unavailable { code, .. }
        | Error::Unprocessable { code, .. }
        | Error::BadRequest { code, .. }
        | Error::PaymentRequired { code, .. }
        | Error::NotConfigured { code, .. } => code,
        Error::NotFound { .. } => "not_found",
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_checkout_that_succeeds_charges_once_posts_once_and_pays_the_order() {
    let w = World::new().await;
    let p = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k1")
        .await
        .unwrap();
    assert_eq!(
        (p.status, p.phase),
        (PaymentStatus::Succeeded, PaymentAttemptPhase::Finished)
    );
    assert_eq!(p.amount, zar(10_000));
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert_eq!((w.provider.charge_count(), w.store.posting_count()), (1, 1));
    let events = w.store.events();
    assert!(
        events.contains(&"payment.succeeded".to_owned())
            && events.contains(&"order.paid".to_owned()),
        "{events:?}"
    );
    // A retry answers the same payment without a provider call; another key is refused.
    let calls = w
        .provider
        .create_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    let again = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k1")
        .await
        .unwrap();
    assert_eq!(again.id, p.id);
    assert_eq!(
        w.provider
            .create_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        calls
    );
    let other = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k2")
        .await
        .unwrap_err();
    assert_eq!(code(&other), "already_paid");
    w.assert_ledger_clean().await;
}

#[tokio::test]
async fn only_the_buyer_checks_out_and_unknown_providers_are_refused() {
    let w = World::new().await;
    let seller = w
        .payments
        .checkout(w.order, &w.seller, CheckoutRequest::default(), "k")
        .await
        .unwrap_err();
    assert_eq!(code(&seller), "not_order_party_action");
    let request = CheckoutRequest {
        provider: Some(vendrome_core::enums::PaymentProvider::Paystack),
        ..Default::default()
    };
    let unknown = w
        .payments
        .checkout(w.order, &w.buyer, request, "k")
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "provider_not_configured");
}

/// A crash between any two recovery points, then a retry with the same key: one charge at the
/// provider, one posting, the order paid.
#[tokio::test]
async fn a_crash_after_each_phase_then_a_retry_finishes_once() {
    for crash in [
        "before the provider call",
        "PaymentRepo::provider_called",
        "PaymentRepo::settle",
    ] {
        let w = World::new().await;
        if crash == "before the provider call" {
            w.provider.answer(Next::Unavailable);
        } else {
            w.store.fail_next(crash);
        }
        let first = w
            .payments
            .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
            .await;
        assert!(first.is_err(), "{crash}: {first:?}");
        w.provider.answer(Next::Succeed);
        let retried = w
            .payments
            .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
            .await
            .unwrap();
        if crash == "PaymentRepo::settle" {
            // The provider answered: the retry does not call it again; the completer polls.
            assert_eq!(retried.status, PaymentStatus::Processing, "{crash}");
            w.advance(61);
            let report = w.payments.complete_abandoned(w.now()).await.unwrap();
            assert_eq!((report.claimed, report.finished), (1, 1), "{crash}");
        } else {
            assert_eq!(retried.status, PaymentStatus::Succeeded, "{crash}");
        }
        assert_eq!(w.provider.charge_count(), 1, "{crash}: charges");
        assert_eq!(w.store.posting_count(), 1, "{crash}: postings");
        assert_eq!(w.order_status().await, OrderStatus::Paid, "{crash}");
        assert_eq!(w.store.all_payments().len(), 1, "{crash}: one attempt");
        w.assert_ledger_clean().await;
    }
}

#[tokio::test]
async fn a_decline_fails_the_payment_with_402_and_leaves_the_order_payable() {
    let w = World::new().await;
    w.provider.answer(Next::Decline);
    let e = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "payment_declined");
    let p = &w.store.all_payments()[0];
    assert_eq!(
        (p.status, p.phase),
        (PaymentStatus::Failed, PaymentAttemptPhase::Finished)
    );
    assert_eq!(p.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(w.order_status().await, OrderStatus::PendingPayment);
    assert_eq!(w.store.posting_count(), 0);
    w.provider.answer(Next::Succeed);
    let paid = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k2")
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
}

#[tokio::test]
async fn an_unavailable_provider_answers_503_and_the_completer_finishes_the_attempt() {
    let w = World::new().await;
    w.provider.answer(Next::Unavailable);
    let e = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "provider_unavailable");
    assert_eq!(
        w.store.all_payments()[0].phase,
        PaymentAttemptPhase::Started
    );
    w.provider.answer(Next::Succeed);
    // Not abandoned yet: the completer leaves it.
    assert_eq!(
        w.payments
            .complete_abandoned(w.now())
            .await
            .unwrap()
            .claimed,
        0
    );
    w.advance(61);
    let report = w.payments.complete_abandoned(w.now()).await.unwrap();
    assert_eq!((report.claimed, report.finished), (1, 1));
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert_eq!((w.provider.charge_count(), w.store.posting_count()), (1, 1));
}

#[tokio::test]
async fn a_timeout_leaves_the_outcome_unknown_until_a_webhook_settles_it() {
    let w = World::new().await;
    w.provider.answer(Next::Timeout);
    let p = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    assert_eq!(
        (p.status, p.phase),
        (PaymentStatus::Pending, PaymentAttemptPhase::Started)
    );
    assert_eq!(w.order_status().await, OrderStatus::PendingPayment);
    // The provider took it as pi_1; its webhook echoes our id, as we never learnt the reference.
    let (headers, body) = w.provider.webhook(
        "evt_1",
        "pi_1",
        Some(p.id.to_string()),
        PaymentStatus::Succeeded,
        w.now(),
    );
    let outcome = w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .unwrap();
    assert!(
        matches!(outcome, WebhookOutcome::Applied(ref p) if p.status == PaymentStatus::Succeeded),
        "{outcome:?}"
    );
    let stored = w.store.payment(p.id).await.unwrap().unwrap();
    assert_eq!(stored.provider_reference.as_deref(), Some("pi_1"));
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    // Nothing is left for the completer.
    w.advance(61);
    assert_eq!(
        w.payments
            .complete_abandoned(w.now())
            .await
            .unwrap()
            .claimed,
        0
    );
    assert_eq!((w.provider.charge_count(), w.store.posting_count()), (1, 1));
}

#[tokio::test]
async fn duplicate_and_out_of_order_webhooks_post_once_and_never_move_back() {
    let w = World::new().await;
    w.provider.answer(Next::RequiresAction);
    let p = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresAction);
    let reference = p.provider_reference.clone().unwrap();
    let deliver = |id: &str, status| {
        let (h, b) = w.provider.webhook(id, &reference, None, status, w.now());
        let payments = w.payments.clone();
        async move { payments.handle_webhook("stripe", &h, &b).await.unwrap() }
    };
    assert!(matches!(
        deliver("evt_ok", PaymentStatus::Succeeded).await,
        WebhookOutcome::Applied(_)
    ));
    assert_eq!(
        deliver("evt_ok", PaymentStatus::Succeeded).await,
        WebhookOutcome::Duplicate
    );
    // An older event (sent before the success) and a contradicting one arrive late.
    assert!(matches!(
        deliver("evt_older", PaymentStatus::Processing).await,
        WebhookOutcome::Stale(_)
    ));
    assert!(matches!(
        deliver("evt_failed", PaymentStatus::Failed).await,
        WebhookOutcome::Stale(_)
    ));
    let stored = w.store.payment(p.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::Succeeded);
    assert_eq!(w.store.posting_count(), 1);
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert_eq!(w.store.webhooks().len(), 3);
    w.assert_ledger_clean().await;
}

#[tokio::test]
async fn bad_signatures_unknown_providers_and_unknown_payments() {
    let w = World::new().await;
    let (headers, mut body) =
        w.provider
            .webhook("evt_1", "pi_9", None, PaymentStatus::Succeeded, w.now());
    body.push(b' ');
    let e = w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "invalid_signature");
    let e = w
        .payments
        .handle_webhook("stripe", &[], &body)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "invalid_signature");
    assert!(
        w.store.webhooks().is_empty(),
        "nothing stored for a bad signature"
    );
    for name in ["paystack", "nonsense"] {
        let e = w
            .payments
            .handle_webhook(name, &headers, &body)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "provider_not_configured");
    }
    let (headers, body) = w.provider.webhook(
        "evt_2",
        "pi_unknown",
        None,
        PaymentStatus::Succeeded,
        w.now(),
    );
    assert_eq!(
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap(),
        WebhookOutcome::Ignored
    );
    assert_eq!(
        w.store.webhooks()[0].status,
        vendrome_core::enums::WebhookEventStatus::Ignored
    );
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_total_and_refund_the_order() {
    let w = World::new().await;
    w.payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    let e = w
        .payments
        .refund(w.order, &w.buyer, Some(100), "r0")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "not_order_party_action");
    let r1 = w
        .payments
        .refund(w.order, &w.seller, Some(3_333), "r1")
        .await
        .unwrap();
    assert_eq!(
        (r1.status, r1.refund_of.is_some()),
        (PaymentStatus::Succeeded, true)
    );
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    let again = w
        .payments
        .refund(w.order, &w.seller, Some(3_333), "r1")
        .await
        .unwrap();
    assert_eq!(again.id, r1.id, "a retried refund is the same refund");
    let e = w
        .payments
        .refund(w.order, &w.seller, Some(6_668), "r2")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "refund_exceeds_total");
    w.payments
        .refund(w.order, &w.seller, None, "r3")
        .await
        .unwrap();
    assert_eq!(w.order_status().await, OrderStatus::Refunded);
    assert_eq!(w.provider.refunds.lock().unwrap().len(), 2);
    assert_eq!(w.store.posting_count(), 3);
    w.assert_ledger_clean().await;
    // The whole fee came back: the platform's fee account is at zero.
    let fees = vendrome_core::ledger::AccountCode::platform_fees(zar(0).currency);
    let account = vendrome_core::ledger::LedgerRepo::account(&w.store, &fees)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, 0);
}

#[tokio::test]
async fn the_seller_cancelling_a_paid_order_refunds_it_in_full() {
    let w = World::new().await;
    let e = w
        .payments
        .cancel_paid(w.order, &w.seller)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "invalid_order_transition", "not paid yet");
    w.payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    let refund = w.payments.cancel_paid(w.order, &w.seller).await.unwrap();
    assert_eq!(
        (refund.amount, refund.status),
        (zar(10_000), PaymentStatus::Succeeded)
    );
    assert_eq!(w.order_status().await, OrderStatus::Refunded);
    w.assert_ledger_clean().await;
}

#[tokio::test]
async fn reconciliation_finds_each_kind_of_discrepancy_and_clean_runs() {
    let w = World::new().await;
    let from = w.now() - chrono::Duration::hours(1);
    let to = w.now() + chrono::Duration::hours(1);
    let paid = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    let second = w.new_order().await;
    let other = w
        .payments
        .checkout(second, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    let settled = |reference: &str, amount| SettledTransaction {
        reference: reference.into(),
        amount: zar(amount),
        provider_fee: None,
        settled_at: w.now(),
    };
    *w.provider.settled.lock().unwrap() = vec![
        settled(paid.provider_reference.as_deref().unwrap(), 10_000),
        settled(other.provider_reference.as_deref().unwrap(), 10_000),
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let progress =
        |p: vendrome_payments::ReconcileProgress| seen.lock().unwrap().push((p.done, p.total));
    let stripe = vendrome_core::enums::PaymentProvider::Stripe;
    let ReconcileOutcome::Ran(clean) = w
        .payments
        .reconcile(stripe, from, to, &progress)
        .await
        .unwrap()
    else {
        panic!("the first run runs");
    };
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!(
        (clean.matched.len(), clean.status),
        (2, ReconciliationStatus::Clean)
    );
    assert_eq!(*seen.lock().unwrap(), vec![(1, 2), (2, 2)]);
    assert!(
        w.store.audit_events().is_empty(),
        "a clean run records no discrepancy"
    );
    // The same window again: already done.
    assert_eq!(
        w.payments
            .reconcile(stripe, from, to, &|_| {})
            .await
            .unwrap(),
        ReconcileOutcome::AlreadyDone
    );

    // A later window: the provider settled one we never posted, lost one of ours, and
    // disagrees on the amount of a third.
    let from = to;
    w.clock
        .store(to.timestamp() + 60, std::sync::atomic::Ordering::SeqCst);
    let to = from + chrono::Duration::hours(1);
    let mut ours = Vec::new();
    for _ in 0..2 {
        let order = w.new_order().await;
        ours.push(
            w.payments
                .checkout(order, &w.buyer, CheckoutRequest::default(), "k")
                .await
                .unwrap(),
        );
    }
    *w.provider.settled.lock().unwrap() = vec![
        settled("pi_stranger", 2_500),
        settled(ours[0].provider_reference.as_deref().unwrap(), 9_999),
    ];
    let ReconcileOutcome::Ran(report) = w
        .payments
        .reconcile(stripe, from, to, &|_| {})
        .await
        .unwrap()
    else {
        panic!("a new window runs");
    };
    assert_eq!(report.status, ReconciliationStatus::Discrepancies);
    let kinds: Vec<&str> = report
        .discrepancies
        .iter()
        .map(|d| match d {
            Discrepancy::MissingInLedger { .. } => "missing_in_ledger",
            Discrepancy::MissingAtProvider { .. } => "missing_at_provider",
            Discrepancy::AmountMismatch { .. } => "amount_mismatch",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "missing_in_ledger",
            "amount_mismatch",
            "missing_at_provider"
        ]
    );
    let stored = vendrome_core::payments::ReconciliationRepo::run(&w.store, report.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status, stored.discrepancies.len()),
        (ReconciliationStatus::Discrepancies, 3)
    );
    // Each discrepancy is also an audit event about the run.
    let audited: Vec<_> = w
        .store
        .audit_events()
        .into_iter()
        .map(|e| {
            assert_eq!(e.action, "reconciliation.discrepancy");
            assert_eq!(
                (e.target_type.as_str(), e.target_id),
                ("reconciliation_run", report.run_id.to_string())
            );
            assert_eq!(e.details["provider"], "stripe");
            assert_eq!(e.details["via"], "system");
            e.details["discrepancy"]["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(audited, kinds);
}

#[tokio::test]
async fn a_run_whose_outcome_cannot_be_stored_records_no_audit_event() {
    let w = World::new().await;
    let from = w.now() - chrono::Duration::hours(1);
    let to = w.now() + chrono::Duration::hours(1);
    *w.provider.settled.lock().unwrap() = vec![SettledTransaction {
        reference: "pi_stranger".into(),
        amount: zar(2_500),
        provider_fee: None,
        settled_at: w.now(),
    }];
    let stripe = vendrome_core::enums::PaymentProvider::Stripe;
    w.store.fail_next("ReconciliationRepo::finish_run");
    assert!(w
        .payments
        .reconcile(stripe, from, to, &|_| {})
        .await
        .is_err());
    // Neither the run's outcome nor its discrepancy's audit event was written.
    assert!(w.store.audit_events().is_empty());
    // The run is still running: the window stays taken until it is taken as lost.
    assert_eq!(
        w.payments
            .reconcile(stripe, from, to, &|_| {})
            .await
            .unwrap(),
        ReconcileOutcome::AlreadyDone
    );
}

#[tokio::test]
async fn methods_follow_the_routing_order_and_the_currency() {
    let w = World::new().await;
    assert_eq!(w.payments.methods(zar(0).currency, Some("ZA")).len(), 1);
    let usd = vendrome_core::money::Currency::parse("USD").unwrap();
    assert!(w.payments.methods(usd, None).is_empty());
}

/// The sandbox end to end: a redirect to its page, then its signed outcome webhook through the
/// same path as every provider.
#[tokio::test]
async fn the_sandbox_redirects_and_its_signed_outcome_pays_the_order() {
    use std::sync::Arc;
    use vendrome_payments::{Payments, Sandbox, SandboxConfig, SandboxOutcome};
    let w = World::new().await;
    let sandbox = Arc::new(Sandbox::new(SandboxConfig {
        public_base_url: "http://127.0.0.1:8080".into(),
        webhook_secret: "sandbox-secret".into(),
    }));
    let ports = vendrome_payments::Ports {
        payments: Arc::new(w.store.clone()),
        orders: Arc::new(w.store.clone()),
        inbox: Arc::new(w.store.clone()),
        ledger: Arc::new(w.store.clone()),
        reconciliation: Arc::new(w.store.clone()),
    };
    let payments = Payments::new(ports, vec![sandbox.clone()]);
    let p = payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresAction);
    assert!(p.provider_reference.as_deref().unwrap().starts_with("sbx_"));
    let url = format!("http://127.0.0.1:8080/v1/payments/sandbox/{}", p.id);
    assert_eq!(
        p.next_action,
        Some(vendrome_core::payments::NextAction::Redirect { url })
    );
    let (headers, mut body) = sandbox.outcome_webhook(&p, SandboxOutcome::Succeeded);
    let applied = payments
        .handle_webhook("sandbox", &headers, &body)
        .await
        .unwrap();
    assert!(
        matches!(applied, WebhookOutcome::Applied(ref p) if p.status == PaymentStatus::Succeeded)
    );
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    body.push(b' ');
    let e = payments
        .handle_webhook("sandbox", &headers, &body)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "invalid_signature");
    // Refunds succeed at once, and reconciliation sees both.
    payments
        .refund(w.order, &w.seller, Some(4_000), "r")
        .await
        .unwrap();
    let from = vendrome_core::time::now() - chrono::Duration::hours(1);
    let to = vendrome_core::time::now() + chrono::Duration::hours(1);
    let sbx = vendrome_core::enums::PaymentProvider::Sandbox;
    let ReconcileOutcome::Ran(report) = payments.reconcile(sbx, from, to, &|_| {}).await.unwrap()
    else {
        panic!("runs");
    };
    assert!(report.is_clean() && report.matched.len() == 2, "{report:?}");
    w.assert_ledger_clean().await;
}
