//! The seven providers' webhook endpoints, each provider configured with its notification
//! secret only (`VENDROME_<PROVIDER>_<SECRET>`): a correctly signed notification about a payment
//! we do not know is answered 200 and recorded `ignored`, its replay is a duplicate; a tampered
//! body, a wrong key, a missing signature and (where the scheme has a timestamp) an expired one
//! are 400 `invalid_signature`; a provider without its secret is 404 `provider_not_configured`.
//! Payfast's validate call goes to a fake of `/eng/query/validate` (Payfast's ITN guide: the
//! posted parameter string answered `VALID` or `INVALID`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_payments::notifications::{
    airwallex, ozow, payfast, paypal, paystack, peach, standard,
};
use vendrome_payments::providers::paypal::PaypalNotifications;
use vendrome_payments::providers::paypal_api::Paypal;
use vendrome_payments::providers::settings::{self, ProviderSettings};

use crate::checkout_tasks::count;
use crate::support::{expect_error, spawn_with, Backend, Setup, TestApp};

const PAYPAL_WEBHOOK_ID: &str = "WH-TEST-1";
const AIRWALLEX_SECRET: &str = "airwallex-endpoint-secret";
const YOCO_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PEACH_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PAYFAST_PASSPHRASE: &str = "jt7NOE43FZPn";
const OZOW_KEY: &str = "ozow-private-key";
const PAYSTACK_KEY: &str = "sk_test_paystack";
const CERT_URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test";
/// The self-signed stand-in for PayPal's certificate, and its key.
const PAYPAL_CERT: &[u8] =
    include_bytes!("../../../vendrome-payments/tests/data/paypal-test-cert.pem");
const PAYPAL_KEY: &[u8] =
    include_bytes!("../../../vendrome-payments/tests/data/paypal-test-key.pk8");

/// Serves the test certificate at PayPal's URL.
struct TestCertificate;

#[async_trait]
impl paypal::CertificateSource for TestCertificate {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        assert_eq!(url, CERT_URL);
        Ok(PAYPAL_CERT.to_vec())
    }
}

/// A notification as sent: headers and body.
type Sent = (Vec<(String, String)>, Vec<u8>);

/// Which way a notification is spoiled.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spoil {
    None,
    WrongKey,
    Expired,
}

fn pairs(items: &[(&str, String)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn form(fields: &[(String, String)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", payfast::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn rsa_sign(message: &str) -> String {
    let pair = ring::signature::RsaKeyPair::from_pkcs8(PAYPAL_KEY).unwrap();
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(signature)
}

/// A notification of `provider` about a payment nobody made, event `n`, spoiled as asked.
fn notification(provider: ProviderId, n: u32, spoil: Spoil) -> Sent {
    let key = |good: &str, bad: &str| {
        if spoil == Spoil::WrongKey {
            bad.to_owned()
        } else {
            good.to_owned()
        }
    };
    let now = chrono::Utc::now().timestamp();
    let at = if spoil == Spoil::Expired {
        now - 600
    } else {
        now
    };
    let unknown = uuid::Uuid::now_v7().to_string();
    match provider {
        ProviderId::Paypal => {
            let body =
                json!({"id": format!("WH-EVT-{n}"), "event_type": "PAYMENT.CAPTURE.COMPLETED",
                "create_time": "2026-12-07T00:00:00Z",
                "resource": {"id": format!("CAP-{n}"), "custom_id": unknown,
                    "amount": {"currency_code": "USD", "value": "10.00"}}})
                .to_string()
                .into_bytes();
            let id = format!("tx-{n}");
            let time = "2026-12-07T00:00:00Z";
            let signed_id = key(PAYPAL_WEBHOOK_ID, "WH-SOMEONE-ELSE");
            let signature = rsa_sign(&paypal::message(&id, time, &signed_id, &body));
            let headers = pairs(&[
                ("paypal-transmission-id", id),
                ("paypal-transmission-time", time.to_owned()),
                ("paypal-transmission-sig", signature),
                ("paypal-cert-url", CERT_URL.to_owned()),
                ("paypal-auth-algo", paypal::AUTH_ALGO.to_owned()),
            ]);
            (headers, body)
        }
        ProviderId::Airwallex => {
            let body = json!({"id": format!("evt_{n}"), "name": "payment_intent.succeeded",
                "data": {"object": {"id": format!("int_{n}"), "merchant_order_id": unknown}}})
            .to_string()
            .into_bytes();
            let millis = (at * 1000).to_string();
            let signature = airwallex::sign(&key(AIRWALLEX_SECRET, "another"), &millis, &body);
            (
                pairs(&[("x-timestamp", millis), ("x-signature", signature)]),
                body,
            )
        }
        ProviderId::Yoco => {
            let body = json!({"id": format!("evt_{n}"), "type": "payment.succeeded",
                "payload": {"id": format!("p_{n}"), "amount": 4500, "currency": "ZAR",
                    "metadata": {"checkoutId": format!("ch_{n}")}}})
            .to_string()
            .into_bytes();
            let secret = key(YOCO_SECRET, "whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldA==");
            let id = format!("msg_{n}");
            let signature = standard::sign(&secret, &id, at, &body).unwrap();
            (
                pairs(&[
                    ("webhook-id", id),
                    ("webhook-timestamp", at.to_string()),
                    ("webhook-signature", signature),
                ]),
                body,
            )
        }
        ProviderId::Peach => {
            let plain = json!({"type": "PAYMENT", "payload": {"id": format!("8ac7a4a{n}"),
                "paymentType": "DB", "amount": "92.00", "currency": "ZAR",
                "merchantTransactionId": unknown, "result": {"code": "000.100.110"}}})
            .to_string();
            let other = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
            let (body, iv, tag) =
                peach::encrypt(&key(PEACH_KEY, other), [n as u8; 12], plain.as_bytes()).unwrap();
            (
                pairs(&[
                    ("x-initialization-vector", iv),
                    ("x-authentication-tag", tag),
                ]),
                body.into_bytes(),
            )
        }
        ProviderId::Payfast => {
            let mut fields = pairs(&[
                ("m_payment_id", unknown),
                ("pf_payment_id", format!("{}", 1_089_250 + n)),
                ("payment_status", "COMPLETE".to_owned()),
                ("item_name", "Order".to_owned()),
                ("amount_gross", "200.00".to_owned()),
                ("amount_fee", "-4.60".to_owned()),
                ("amount_net", "195.40".to_owned()),
                ("merchant_id", "10000100".to_owned()),
            ]);
            let signature = payfast::sign(&fields, Some(&key(PAYFAST_PASSPHRASE, "other")));
            fields.push(("signature".to_owned(), signature));
            (
                pairs(&[(
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                )]),
                form(&fields),
            )
        }
        ProviderId::Ozow => {
            let mut fields = pairs(&[
                ("SiteCode", "TSTSTE0001".to_owned()),
                ("TransactionId", format!("oz-{n}")),
                ("TransactionReference", unknown),
                ("Amount", "25.00".to_owned()),
                ("Status", "Complete".to_owned()),
                ("CurrencyCode", "ZAR".to_owned()),
                ("IsTest", "true".to_owned()),
            ]);
            let hash = ozow::sign(&fields, &key(OZOW_KEY, "another-key"));
            fields.push(("Hash".to_owned(), hash));
            (
                pairs(&[(
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                )]),
                form(&fields),
            )
        }
        ProviderId::Paystack => {
            let body = json!({"event": "charge.success", "data": {"id": 302_961 + n,
                "reference": unknown, "amount": 10_000, "currency": "NGN", "status": "success"}})
            .to_string()
            .into_bytes();
            let signature = paystack::sign(&key(PAYSTACK_KEY, "sk_test_other"), &body);
            (pairs(&[(paystack::SIGNATURE_HEADER, signature)]), body)
        }
        other => unreachable!("{other}"),
    }
}

/// The seven, each set up as the environment would: the notification secret only (and, for
/// Payfast, where its validate call goes and that ITNs come from this machine).
fn environment(validate_base: &str) -> Vec<ProviderSettings> {
    let env: HashMap<&str, String> = HashMap::from([
        ("VENDROME_PAYPAL_WEBHOOK_ID", PAYPAL_WEBHOOK_ID.to_owned()),
        (
            "VENDROME_AIRWALLEX_WEBHOOK_SECRET",
            AIRWALLEX_SECRET.to_owned(),
        ),
        ("VENDROME_YOCO_WEBHOOK_SECRET", YOCO_SECRET.to_owned()),
        ("VENDROME_PEACH_WEBHOOK_KEY", PEACH_KEY.to_owned()),
        ("VENDROME_PAYFAST_PASSPHRASE", PAYFAST_PASSPHRASE.to_owned()),
        ("VENDROME_PAYFAST_PROCESS_BASE", validate_base.to_owned()),
        ("VENDROME_PAYFAST_SOURCE_HOSTS", "127.0.0.1".to_owned()),
        ("VENDROME_OZOW_PRIVATE_KEY", OZOW_KEY.to_owned()),
        ("VENDROME_PAYSTACK_SECRET_KEY", PAYSTACK_KEY.to_owned()),
    ]);
    settings::from_lookup(|name| env.get(name).cloned())
}

/// A fake of Payfast's validate endpoint: `VALID` for a parameter string it has not been told
/// to refuse (one naming `pf_payment_id=1089999`).
async fn payfast_validate() -> String {
    let app = axum::Router::new().route(
        "/eng/query/validate",
        post(|body: String| async move {
            if body.contains("pf_payment_id=1089999") {
                "INVALID"
            } else {
                "VALID"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

const SEVEN: [ProviderId; 7] = [
    ProviderId::Paypal,
    ProviderId::Airwallex,
    ProviderId::Yoco,
    ProviderId::Peach,
    ProviderId::Payfast,
    ProviderId::Ozow,
    ProviderId::Paystack,
];

async fn deliver(app: &TestApp, provider: ProviderId, (headers, body): &Sent) -> reqwest::Response {
    let mut request = app
        .post(&format!("/v1/payments/webhooks/{provider}"))
        .body(body.clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

async fn secrets_alone_verify_each_providers_notifications(backend: Backend) {
    let base = payfast_validate().await;
    let mut setup = Setup::new(backend);
    let configured = environment(&base);
    assert_eq!(configured.len(), 7);
    for settings in &configured {
        setup
            .providers
            .push(if settings.provider() == ProviderId::Paypal {
                // PayPal's certificate cannot be fetched from paypal.com here.
                let notifications =
                    PaypalNotifications::with_certificates(settings, Arc::new(TestCertificate));
                Arc::new(Paypal::new(settings, notifications))
            } else {
                vendrome_payments::providers::build(settings).unwrap()
            });
    }
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    for provider in SEVEN {
        let good = notification(provider, 1, Spoil::None);
        let first = expect_status_of(deliver(&app, provider, &good).await, 200).await;
        assert_eq!(first["data"]["outcome"], "ignored", "{provider}: {first}");
        let again = expect_status_of(deliver(&app, provider, &good).await, 200).await;
        assert_eq!(
            again["data"]["outcome"], "duplicate",
            "{provider} replayed: {again}"
        );

        let (headers, mut body) = notification(provider, 2, Spoil::None);
        let last = body.len() - 2;
        body[last] = if body[last] == b'0' { b'1' } else { b'0' };
        let tampered = (headers, body);
        let wrong_key = notification(provider, 3, Spoil::WrongKey);
        let (_, mut unsigned) = notification(provider, 4, Spoil::None);
        if matches!(provider, ProviderId::Payfast | ProviderId::Ozow) {
            // The signature is the last posted field.
            let at = unsigned.iter().rposition(|b| *b == b'&').unwrap();
            unsigned.truncate(at);
        }
        let unsigned: Sent = (Vec::new(), unsigned);
        for (why, sent) in [
            ("tampered", tampered),
            ("wrong key", wrong_key),
            ("unsigned", unsigned),
        ] {
            let response = deliver(&app, provider, &sent).await;
            assert_eq!(response.status(), 400, "{provider} {why}");
            expect_error(response, 400, "invalid_signature").await;
        }
        if matches!(provider, ProviderId::Airwallex | ProviderId::Yoco) {
            let expired = notification(provider, 5, Spoil::Expired);
            expect_error(
                deliver(&app, provider, &expired).await,
                400,
                "invalid_signature",
            )
            .await;
        }
        let recorded = count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM payment_webhook_events WHERE provider = '{provider}' AND status = 'ignored'"
            ),
        )
        .await;
        assert_eq!(
            recorded, 1,
            "{provider}: one notification recorded, as ignored"
        );
    }
    // Payfast's fourth check: the validate call must answer VALID.
    let mut fields = vec![
        ("m_payment_id".to_owned(), uuid::Uuid::now_v7().to_string()),
        ("pf_payment_id".to_owned(), "1089999".to_owned()),
        ("payment_status".to_owned(), "COMPLETE".to_owned()),
        ("amount_gross".to_owned(), "200.00".to_owned()),
    ];
    let signature = payfast::sign(&fields, Some(PAYFAST_PASSPHRASE));
    fields.push(("signature".to_owned(), signature));
    let refused: Sent = (Vec::new(), form(&fields));
    expect_error(
        deliver(&app, ProviderId::Payfast, &refused).await,
        400,
        "invalid_signature",
    )
    .await;
}

async fn expect_status_of(response: reqwest::Response, status: u16) -> serde_json::Value {
    let (got, body) = crate::support::json(response).await;
    assert_eq!(got, status, "{body}");
    body
}

async fn providers_without_their_secret_are_not_configured(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    for provider in SEVEN {
        let good = notification(provider, 1, Spoil::None);
        expect_error(
            deliver(&app, provider, &good).await,
            404,
            "provider_not_configured",
        )
        .await;
    }
}

both_stores!(
    secrets_alone_verify_each_providers_notifications,
    providers_without_their_secret_are_not_configured,
);
