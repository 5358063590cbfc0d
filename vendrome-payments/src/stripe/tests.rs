//! The adapter's reading of Stripe's objects, events and errors, on bodies written from Stripe's
//! API reference (docs.stripe.com/api): "The PaymentIntent object", "The Refund object", "The
//! Balance Transaction object", "The Event object" with the types of "Types of events", and
//! "Errors" (the error object and its types). Fields the adapter does not read are trimmed.

use ::stripe::{ApiErrors, StripeError};
use serde_json::json;
use vendrome_core::enums::PaymentStatus;
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    Failure, NextAction, ProviderError, WebhookError, WebhookSubject,
};

use super::convert::{self, BalanceTransaction, Intent, List};
use super::{webhook, StripeConfig};
use crate::signature;

fn zar(amount: i64) -> Money {
    Money::new(amount, Currency::parse("ZAR").unwrap())
}

fn intent(status: &str) -> serde_json::Value {
    json!({
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 12_550,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic",
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "confirmation_method": "automatic",
        "created": 1_680_800_504,
        "currency": "zar",
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": {"payment_id": "0193f7e2-0000-7000-8000-000000000001"},
        "payment_method_types": ["card"],
        "status": status,
    })
}

fn event(kind: &str, object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_686_089_970,
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 0,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
    }))
    .unwrap()
}

#[test]
fn intents_read_as_our_payments() {
    let cases = [
        ("requires_payment_method", PaymentStatus::RequiresAction),
        ("requires_confirmation", PaymentStatus::RequiresAction),
        ("requires_action", PaymentStatus::RequiresAction),
        ("processing", PaymentStatus::Processing),
        ("requires_capture", PaymentStatus::Processing),
        ("succeeded", PaymentStatus::Succeeded),
        ("canceled", PaymentStatus::Cancelled),
    ];
    for (stripe, ours) in cases {
        let read: Intent = serde_json::from_value(intent(stripe)).unwrap();
        let payment = read.provider_payment().unwrap();
        assert_eq!(payment.status, ours, "{stripe}");
        assert_eq!(payment.reference, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
        assert_eq!(payment.amount, zar(12_550));
        let expected = if ours == PaymentStatus::RequiresAction {
            NextAction::ClientSecret {
                client_secret: "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH"
                    .into(),
            }
        } else {
            NextAction::None
        };
        assert_eq!(payment.next_action, expected, "{stripe}");
    }
}

#[test]
fn currencies_cross_in_lower_case_and_back() {
    assert_eq!(
        convert::stripe_currency(Currency::parse("ZAR").unwrap()),
        stripe_types::Currency::ZAR
    );
    assert_eq!(
        convert::money(1999, "usd").unwrap().currency.as_str(),
        "USD"
    );
    assert!(convert::money(1, "").is_err());
}

#[test]
fn balance_transactions_key_on_the_intent_and_the_refund() {
    let page = json!({
        "object": "list",
        "has_more": false,
        "data": [
            {"id": "txn_3", "object": "balance_transaction", "amount": -2_000, "currency": "zar",
             "created": 1_700_000_300, "fee": 0, "type": "payout", "source": "po_1"},
            {"id": "txn_2", "object": "balance_transaction", "amount": -250, "currency": "zar",
             "created": 1_700_000_200, "fee": 0, "type": "refund",
             "source": {"id": "re_1", "object": "refund", "amount": 250, "currency": "zar",
                        "payment_intent": "pi_1", "charge": "ch_1", "status": "succeeded"}},
            {"id": "txn_1", "object": "balance_transaction", "amount": 1_250, "currency": "zar",
             "created": 1_700_000_100, "fee": 66, "type": "charge",
             "source": {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}},
        ],
    });
    let page: List<BalanceTransaction> = serde_json::from_value(page).unwrap();
    let settled: Vec<_> = page
        .data
        .iter()
        .filter_map(|t| t.settled().unwrap())
        .collect();
    assert_eq!(settled.len(), 2, "the payout settles nothing of ours");
    assert_eq!(settled[0].reference, "re_1");
    assert_eq!(settled[0].amount, zar(-250));
    assert_eq!(settled[1].reference, "pi_1");
    assert_eq!(settled[1].amount, zar(1_250));
    assert_eq!(settled[1].provider_fee, Some(zar(66)));
    assert_eq!(settled[1].settled_at.timestamp(), 1_700_000_100);
}

#[test]
fn payment_intent_events_read_as_payment_subjects() {
    let mut failed = intent("requires_payment_method");
    failed["last_payment_error"] = json!({
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    });
    let cases = [
        (
            "payment_intent.succeeded",
            intent("succeeded"),
            PaymentStatus::Succeeded,
        ),
        (
            "payment_intent.processing",
            intent("processing"),
            PaymentStatus::Processing,
        ),
        (
            "payment_intent.requires_action",
            intent("requires_action"),
            PaymentStatus::RequiresAction,
        ),
        (
            "payment_intent.canceled",
            intent("canceled"),
            PaymentStatus::Cancelled,
        ),
        (
            "payment_intent.payment_failed",
            failed,
            PaymentStatus::Failed,
        ),
    ];
    for (kind, object, status) in cases {
        let read = webhook::parse(&event(kind, object)).unwrap();
        assert_eq!(read.event_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
        assert_eq!(read.event_type, kind);
        assert_eq!(read.occurred_at.unwrap().timestamp(), 1_686_089_970);
        let failure = (status == PaymentStatus::Failed).then(|| Failure {
            code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into(),
        });
        assert_eq!(
            read.subject,
            WebhookSubject::Payment {
                reference: "pi_3MtwBwLkdIwHu7ix28a3tqPa".into(),
                payment_id: Some("0193f7e2-0000-7000-8000-000000000001".into()),
                status,
                amount: Some(zar(12_550)),
                failure,
            },
            "{kind}"
        );
    }
}

#[test]
fn refund_events_read_as_refund_subjects() {
    let refund = |status: &str| {
        json!({"id": "re_1Nispe2eZvKYlo2Cd31jOCgZ", "object": "refund", "amount": 1_000,
               "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY", "created": 1_692_942_318,
               "currency": "zar", "metadata": {"refund_id": "r1"},
               "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "status": status})
    };
    let subject = |status| WebhookSubject::Refund {
        reference: "re_1Nispe2eZvKYlo2Cd31jOCgZ".into(),
        charge_reference: "pi_3MtwBwLkdIwHu7ix28a3tqPa".into(),
        status,
        amount: Some(zar(1_000)),
    };
    let cases = [
        (
            "refund.created",
            refund("pending"),
            subject(PaymentStatus::Processing),
        ),
        (
            "refund.updated",
            refund("succeeded"),
            subject(PaymentStatus::Succeeded),
        ),
        (
            "refund.failed",
            refund("failed"),
            subject(PaymentStatus::Failed),
        ),
        (
            "charge.refunded",
            json!({"id": "ch_1NirD82eZvKYlo2CIvbtLWuY", "object": "charge",
                   "refunds": {"object": "list", "has_more": false,
                               "data": [refund("succeeded")]}}),
            subject(PaymentStatus::Succeeded),
        ),
        (
            "charge.refunded",
            json!({"id": "ch_1NirD82eZvKYlo2CIvbtLWuY", "object": "charge"}),
            WebhookSubject::Other,
        ),
        (
            "customer.created",
            json!({"id": "cus_1"}),
            WebhookSubject::Other,
        ),
    ];
    for (kind, object, expected) in cases {
        assert_eq!(
            webhook::parse(&event(kind, object)).unwrap().subject,
            expected,
            "{kind}"
        );
    }
}

#[test]
fn a_signed_body_that_is_not_an_event_is_malformed() {
    for body in [
        &b"not json"[..],
        br#"{"id":"evt_1"}"#,
        &event("payment_intent.succeeded", json!({"id": 1})),
    ] {
        assert!(matches!(
            webhook::parse(body),
            Err(WebhookError::Malformed(_))
        ));
    }
}

#[tokio::test]
async fn webhooks_verify_before_they_are_read() {
    use vendrome_core::payments::provider::PaymentProvider;
    let stripe = super::Stripe::new(&StripeConfig {
        secret_key: "sk_test_x".into(),
        webhook_secret: "whsec_test".into(),
        api_base: "http://127.0.0.1:9".into(),
    })
    .unwrap();
    let body = event("payment_intent.succeeded", intent("succeeded"));
    let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    let good = signature::sign("whsec_test", now.timestamp(), &body);
    let headers = |value: &str| vec![("Stripe-Signature".to_owned(), value.to_owned())];
    let read = stripe.verify_webhook(&headers(&good), &body, now).await;
    assert_eq!(read.unwrap().event_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
    let wrong = signature::sign("whsec_other", now.timestamp(), &body);
    let refused = stripe.verify_webhook(&headers(&wrong), &body, now).await;
    assert!(matches!(refused, Err(WebhookError::InvalidSignature(_))));
    let unsigned = stripe.verify_webhook(&[], &body, now).await;
    assert!(matches!(unsigned, Err(WebhookError::InvalidSignature(_))));
}

fn api_error(status: u16, body: &str) -> ProviderError {
    let api: ApiErrors = miniserde::json::from_str(body).unwrap();
    convert::provider_error(&StripeError::Stripe(Box::new(api), status))
}

#[test]
fn errors_map_to_ours() {
    let declined = api_error(
        402,
        r#"{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}"#,
    );
    assert_eq!(
        declined,
        ProviderError::Declined(Failure {
            code: "generic_decline".into(),
            message: "Your card was declined.".into()
        })
    );
    let rejected = api_error(
        400,
        r#"{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"Invalid integer"}"#,
    );
    assert_eq!(
        rejected,
        ProviderError::Rejected(Failure {
            code: "parameter_invalid_integer".into(),
            message: "Invalid integer".into()
        })
    );
    let not_found = api_error(
        404,
        r#"{"type":"invalid_request_error","message":"No such payment_intent"}"#,
    );
    assert!(matches!(not_found, ProviderError::Rejected(_)));
    for status in [409, 429, 500, 503] {
        let e = api_error(
            status,
            r#"{"type":"api_error","message":"Something went wrong"}"#,
        );
        assert!(matches!(e, ProviderError::Unavailable(_)), "{status}");
    }
    let e = convert::provider_error(&StripeError::ClientError("connection refused".into()));
    assert!(matches!(e, ProviderError::Unavailable(_)));
    assert_eq!(
        convert::provider_error(&StripeError::Timeout),
        ProviderError::Timeout
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable() {
    use vendrome_core::payments::provider::PaymentProvider;
    // Port 9 (discard) has no listener here: the connection is refused.
    let stripe = super::Stripe::new(&StripeConfig {
        secret_key: "sk_test_x".into(),
        webhook_secret: String::new(),
        api_base: "http://127.0.0.1:9".into(),
    })
    .unwrap();
    let e = stripe.status("pi_1").await.unwrap_err();
    assert!(matches!(e, ProviderError::Unavailable(_)), "{e:?}");
}

#[test]
fn the_config_keeps_its_secrets_out_of_debug() {
    let config = StripeConfig {
        secret_key: "sk_live_secret".into(),
        webhook_secret: "whsec_secret".into(),
        api_base: super::DEFAULT_API_BASE.into(),
    };
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("sk_live_secret") && !shown.contains("whsec_secret"),
        "{shown}"
    );
    assert!(shown.contains("api.stripe.com"));
}
