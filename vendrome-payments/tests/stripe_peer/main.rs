//! The Stripe adapter against its peers: localstripe (a stateful fake of Stripe's API that signs
//! webhooks like Stripe) and headers made by Stripe's Python library. Ignored by default:
//! `scripts/peers/stripe.sh` installs the peers, starts localstripe and runs these with
//! `--ignored`.

mod support;

use vendrome_core::enums::{OrderStatus, PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::orders::OrderRepo;
use vendrome_core::payments::provider::{
    CreatePayment, NextAction, PaymentProvider, RefundPayment, WebhookError,
};
use vendrome_core::time;
use vendrome_payments::{CheckoutRequest, ReconcileOutcome, Stripe, StripeConfig, WebhookOutcome};

use support::{confirm_with_test_card, intents_for, stripe, HookEndpoint, World};

fn zar(amount: i64) -> Money {
    Money::new(amount, Currency::parse("ZAR").unwrap())
}

#[tokio::test]
#[ignore = "needs localstripe: scripts/peers/stripe.sh"]
async fn an_intent_is_created_confirmed_refunded_and_settled() {
    let stripe = stripe();
    let from = time::now() - chrono::Duration::seconds(5);
    let payment_id = uuid::Uuid::now_v7().to_string();
    let created = stripe
        .create(&CreatePayment {
            idempotency_key: format!("vendrome-payment-{payment_id}"),
            payment_id: payment_id.clone(),
            amount: zar(12_550),
            description: "order 1".into(),
            method: None,
            return_url: None,
        })
        .await
        .unwrap();
    assert!(created.reference.starts_with("pi_"), "{created:?}");
    assert_eq!(created.status, PaymentStatus::RequiresAction);
    assert_eq!(created.amount, zar(12_550));
    assert!(
        matches!(&created.next_action, NextAction::ClientSecret { client_secret }
            if client_secret.starts_with(&created.reference)),
        "{created:?}"
    );

    let confirmed = confirm_with_test_card(&created.reference).await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    let status = stripe.status(&created.reference).await.unwrap();
    assert_eq!(status.status, PaymentStatus::Succeeded);
    assert_eq!(status.next_action, NextAction::None);

    let refund = stripe
        .refund(&RefundPayment {
            idempotency_key: format!("vendrome-refund-{payment_id}"),
            refund_id: uuid::Uuid::now_v7().to_string(),
            charge_reference: created.reference.clone(),
            amount: zar(2_550),
        })
        .await
        .unwrap();
    assert!(refund.reference.starts_with("re_"), "{refund:?}");
    assert_eq!(refund.status, PaymentStatus::Succeeded);
    assert_eq!(refund.amount, zar(2_550));

    let to = time::now() + chrono::Duration::seconds(5);
    let settled = stripe.settled_transactions(from, to).await.unwrap();
    let find = |reference: &str| settled.iter().find(|t| t.reference == reference);
    let charge = find(&created.reference).expect("the charge settled, keyed on its intent");
    assert_eq!(charge.amount, zar(12_550));
    assert_eq!(charge.provider_fee, Some(zar(0)));
    let refunded = find(&refund.reference).expect("the refund settled, keyed on its id");
    assert_eq!(refunded.amount, zar(-2_550));

    let later = stripe.settled_transactions(to, to + chrono::Duration::hours(1));
    let later = later.await.unwrap();
    assert!(
        later.iter().all(|t| t.reference != created.reference),
        "a window after the charge does not hold it"
    );
}

#[tokio::test]
#[ignore = "needs localstripe: scripts/peers/stripe.sh"]
async fn stripe_refusals_map_to_our_errors() {
    use vendrome_core::payments::provider::ProviderError;
    let stripe = stripe();
    let unknown = stripe.status("pi_doesnotexist").await.unwrap_err();
    assert!(matches!(unknown, ProviderError::Rejected(_)), "{unknown:?}");
    let other_method = stripe
        .create(&CreatePayment {
            idempotency_key: "k".into(),
            payment_id: "p".into(),
            amount: zar(100),
            description: String::new(),
            method: Some("eft".into()),
            return_url: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(other_method, ProviderError::Rejected(_)),
        "{other_method:?}"
    );
}

#[tokio::test]
#[ignore = "needs the headers from scripts/peers/stripe.sh"]
async fn headers_made_by_stripes_library_verify() {
    #[derive(serde::Deserialize)]
    struct Case {
        body: String,
        secret: String,
        timestamp: i64,
        header: String,
    }
    let file = support::env("VENDROME_STRIPE_PEER_HEADERS");
    let cases: Vec<Case> = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert!(cases.len() >= 12, "the script writes a few dozen headers");
    for case in cases {
        let stripe = Stripe::new(&StripeConfig {
            webhook_secret: case.secret.clone(),
            ..support::config()
        })
        .unwrap();
        let headers = vec![("stripe-signature".to_owned(), case.header.clone())];
        let now = chrono::DateTime::from_timestamp(case.timestamp + 60, 0).unwrap();
        let event = stripe
            .verify_webhook(&headers, case.body.as_bytes(), now)
            .await;
        assert!(
            event.is_ok(),
            "{} with {}: {event:?}",
            case.header,
            case.secret
        );

        let mut tampered = case.body.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] ^= 1;
        let refused = stripe.verify_webhook(&headers, &tampered, now).await;
        assert!(
            matches!(refused, Err(WebhookError::InvalidSignature(_))),
            "tampered body accepted: {}",
            case.header
        );
        let late = now + chrono::Duration::seconds(300);
        let refused = stripe
            .verify_webhook(&headers, case.body.as_bytes(), late)
            .await;
        assert!(
            matches!(refused, Err(WebhookError::InvalidSignature(_))),
            "outside 300 s"
        );
    }
}

#[tokio::test]
#[ignore = "needs localstripe: scripts/peers/stripe.sh"]
async fn a_checkout_through_localstripe_pays_the_order_once() {
    let hooks = HookEndpoint::bind().await;
    let w = World::new().await;
    // Stripe's times are whole seconds: the window opens at the next one, after whatever the
    // other tests (run one at a time) made at localstripe.
    let from = time::now() + chrono::Duration::seconds(1);
    let from = chrono::DateTime::from_timestamp(from.timestamp(), 0).unwrap();
    tokio::time::sleep((from - time::now()).to_std().unwrap_or_default()).await;
    let request = || CheckoutRequest {
        provider: Some(ProviderId::Stripe),
        method: Some("card".into()),
        return_url: None,
        country: None,
    };
    let payment = w
        .payments
        .checkout(w.order, &w.buyer, request(), "checkout-1")
        .await
        .unwrap();
    let reference = payment.provider_reference.clone().expect("an intent");
    // localstripe ignores Idempotency-Key: a retried checkout must not reach it again.
    let retried = w
        .payments
        .checkout(w.order, &w.buyer, request(), "checkout-1")
        .await
        .unwrap();
    assert_eq!(retried.id, payment.id);
    assert_eq!(
        intents_for(&payment.id.to_string()).await,
        1,
        "one PaymentIntent"
    );

    confirm_with_test_card(&reference).await;
    let (headers, body) = hooks.delivery_about(&reference).await;
    let outcome = w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .unwrap();
    assert!(matches!(outcome, WebhookOutcome::Applied(_)), "{outcome:?}");
    let order = w.store.order(w.order).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(w.store.posting_count(), 1);
    let again = w.payments.handle_webhook("stripe", &headers, &body).await;
    assert!(matches!(again.unwrap(), WebhookOutcome::Duplicate));
    assert_eq!(w.store.posting_count(), 1);
    let check = vendrome_core::ledger::LedgerRepo::check(&w.store)
        .await
        .unwrap();
    assert!(check.is_clean(), "{check:?}");

    // What localstripe settled in the window is what the ledger posted.
    let to = time::now() + chrono::Duration::seconds(5);
    let outcome = w
        .payments
        .reconcile(ProviderId::Stripe, from, to, &|_| {})
        .await
        .unwrap();
    let ReconcileOutcome::Ran(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.matched.len(), 1, "{report:?}");
    assert_eq!(report.matched[0].reference, reference);
    assert_eq!(report.matched[0].payment_id, payment.id);
}
