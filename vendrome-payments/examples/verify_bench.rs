//! Notification verification, per provider scheme, on one core: verified notifications per
//! second beside the raw primitive the scheme is built on (the same body through the bare HMAC,
//! digest, cipher or RSA check), so that each scheme's own overhead (header parsing, hex and
//! base64, field encoding, the window check, the certificate cache) is visible. PayPal's
//! certificate comes through the cache, fetched once: the table shows its hit rate.
//!
//! ```sh
//! cargo run --release -p vendrome-payments --example verify_bench [-- ITERATIONS]
//! ```
//!
//! `scripts/bench/payments.sh` runs it after the webhook benchmark.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::{Sha256, Sha512};
use vendrome_core::money::{Currency, Money};
use vendrome_payments::notifications::{
    airwallex, ozow, payfast, paypal, paystack, peach, standard,
};
use vendrome_payments::signature;

const CERT: &[u8] = include_bytes!("../tests/data/paypal-test-cert.pem");
const KEY: &[u8] = include_bytes!("../tests/data/paypal-test-key.pk8");
const CERT_URL: &str = "https://api.paypal.com/v1/notifications/certs/CERT-bench";

struct Served;

#[async_trait]
impl paypal::CertificateSource for Served {
    async fn fetch(&self, _url: &str) -> Result<Vec<u8>, String> {
        Ok(CERT.to_vec())
    }
}

/// Calls per second of `f` over `n` calls.
fn rate(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 20 {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs(list)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    // A 1 KiB event body, like a typical provider notification.
    let body = format!(
        r#"{{"id":"evt_bench","type":"payment.succeeded","data":{{"object":{{"id":"pi_1","pad":"{}"}}}}}}"#,
        "x".repeat(950)
    )
    .into_bytes();
    let now = vendrome_core::time::now();
    let t = now.timestamp();
    let mut rows: Vec<(&str, f64, &str, f64)> = Vec::new();

    // Stripe.
    let header = signature::sign("whsec_bench", t, &body);
    let scheme = rate(n, || {
        signature::verify(
            Some(&header),
            "whsec_bench",
            black_box(&body),
            now,
            signature::DEFAULT_TOLERANCE,
        )
        .unwrap();
    });
    let raw = rate(n, || {
        black_box(hmac256(
            b"whsec_bench",
            &[t.to_string().as_bytes(), b".", &body],
        ));
    });
    rows.push(("Stripe", scheme, "HMAC-SHA256", raw));

    // Airwallex.
    let ms = (t * 1000).to_string();
    let headers = h(&[
        ("x-timestamp", &ms),
        ("x-signature", &airwallex::sign("aw", &ms, &body)),
    ]);
    let scheme = rate(n, || {
        airwallex::verify(&headers, "aw", black_box(&body), now, airwallex::TOLERANCE).unwrap();
    });
    let raw = rate(n, || {
        black_box(hmac256(b"aw", &[ms.as_bytes(), &body]));
    });
    rows.push(("Airwallex", scheme, "HMAC-SHA256", raw));

    // Yoco (Standard Webhooks).
    let secret = format!(
        "whsec_{}",
        STANDARD.encode(b"yoco-bench-secret-0123456789abcd")
    );
    let sig = standard::sign(&secret, "msg_1", t, &body).unwrap();
    let ts = t.to_string();
    let headers = h(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &ts),
        ("webhook-signature", &sig),
    ]);
    let scheme = rate(n, || {
        standard::verify(
            &headers,
            &secret,
            black_box(&body),
            now,
            standard::YOCO_TOLERANCE,
        )
        .unwrap();
    });
    let key = standard::key(&secret).unwrap();
    let raw = rate(n, || {
        black_box(hmac256(&key, &[b"msg_1.", ts.as_bytes(), b".", &body]));
    });
    rows.push(("Yoco", scheme, "HMAC-SHA256", raw));

    // Paystack.
    let headers = h(&[(
        paystack::SIGNATURE_HEADER,
        &paystack::sign("sk_bench", &body),
    )]);
    let scheme = rate(n, || {
        paystack::verify(&headers, "sk_bench", black_box(&body)).unwrap();
    });
    let raw = rate(n, || {
        let mut mac = Hmac::<Sha512>::new_from_slice(b"sk_bench").unwrap();
        mac.update(&body);
        black_box(mac.finalize());
    });
    rows.push(("Paystack", scheme, "HMAC-SHA512", raw));

    // Peach payments webhooks (AES-256-GCM).
    let key_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let (cipher, iv, tag) = peach::encrypt(key_hex, [3; 12], &body).unwrap();
    let headers = h(&[
        ("x-initialization-vector", &iv),
        ("x-authentication-tag", &tag),
    ]);
    let scheme = rate(n, || {
        black_box(peach::decrypt(&headers, key_hex, black_box(cipher.as_bytes())).unwrap());
    });
    let sealed = {
        let mut data = hex::decode(&cipher).unwrap();
        data.extend(hex::decode(&tag).unwrap());
        data
    };
    let aead = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &hex::decode(key_hex).unwrap())
            .unwrap(),
    );
    let raw = rate(n, || {
        let mut data = sealed.clone();
        let nonce = ring::aead::Nonce::assume_unique_for_key([3; 12]);
        black_box(
            aead.open_in_place(nonce, ring::aead::Aad::empty(), &mut data)
                .unwrap(),
        );
    });
    rows.push(("Peach (payments)", scheme, "AES-256-GCM open", raw));

    // Peach Checkout, Payfast, Ozow: form fields.
    let mut fields = pairs(&[
        ("merchantTransactionId", "pay-1"),
        ("amount", "25.00"),
        ("currency", "ZAR"),
        ("result.code", "000.100.110"),
        (
            "result.description",
            "Request successfully processed in 'Merchant in Integrator Test Mode'",
        ),
    ]);
    fields.push((
        "signature".to_owned(),
        peach::sign_checkout("token", &fields),
    ));
    let scheme = rate(n, || {
        peach::verify_checkout("token", black_box(&fields)).unwrap();
    });
    let joined: String = fields
        .iter()
        .take(5)
        .map(|(k, v)| format!("{k}{v}"))
        .collect();
    let raw = rate(n, || {
        black_box(hmac256(b"token", &[joined.as_bytes()]));
    });
    rows.push(("Peach (Checkout)", scheme, "HMAC-SHA256", raw));

    let mut itn = pairs(&[
        ("m_payment_id", "pay-1"),
        ("pf_payment_id", "1089250"),
        ("payment_status", "COMPLETE"),
        ("item_name", "Order #1 & more"),
        ("amount_gross", "25.00"),
        ("amount_fee", "-0.58"),
        ("amount_net", "24.42"),
        ("merchant_id", "10000100"),
    ]);
    itn.push((
        "signature".to_owned(),
        payfast::sign(&itn, Some("passphrase")),
    ));
    let zar = Currency::parse("ZAR").unwrap();
    let scheme = rate(n, || {
        payfast::verify_signature(black_box(&itn), Some("passphrase")).unwrap();
        payfast::check_amount(&itn, Money::new(2_500, zar)).unwrap();
    });
    let text = payfast::validation_body(&itn) + "&passphrase=passphrase";
    let raw = rate(n, || {
        black_box(Md5::digest(text.as_bytes()));
    });
    rows.push(("Payfast (signature + amount)", scheme, "MD5", raw));

    let mut notify = pairs(&[
        ("SiteCode", "TSTSTE0001"),
        ("TransactionId", "7b6f1b1e"),
        ("TransactionReference", "pay-1"),
        ("Amount", "25.00"),
        ("Status", "Complete"),
        ("CurrencyCode", "ZAR"),
        ("IsTest", "false"),
    ]);
    notify.push(("Hash".to_owned(), ozow::sign(&notify, "private")));
    let scheme = rate(n, || {
        ozow::verify(black_box(&notify), "private").unwrap();
    });
    let text = (notify
        .iter()
        .take(7)
        .map(|(_, v)| v.as_str())
        .collect::<String>()
        + "private")
        .to_lowercase();
    let raw = rate(n, || {
        black_box(Sha512::digest(text.as_bytes()));
    });
    rows.push(("Ozow", scheme, "SHA-512", raw));

    // PayPal: RSA-2048 with the certificate through the cache.
    let pair = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
    let message = paypal::message("t-1", "2026-12-06T10:00:00Z", "WH-BENCH", &body);
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let sig64 = STANDARD.encode(&sig);
    let headers = h(&[
        ("paypal-transmission-id", "t-1"),
        ("paypal-transmission-time", "2026-12-06T10:00:00Z"),
        ("paypal-transmission-sig", &sig64),
        ("paypal-cert-url", CERT_URL),
        ("paypal-auth-algo", paypal::AUTH_ALGO),
    ]);
    let cache = paypal::CertificateCache::new(Arc::new(Served));
    let paypal_n = n / 4;
    let start = Instant::now();
    for _ in 0..paypal_n {
        paypal::verify(&headers, "WH-BENCH", black_box(&body), &cache)
            .await
            .unwrap();
    }
    let scheme = f64::from(paypal_n) / start.elapsed().as_secs_f64();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public().as_ref().to_vec(),
    );
    let raw = rate(paypal_n, || {
        public.verify(message.as_bytes(), &sig).unwrap();
    });
    rows.push(("PayPal (offline)", scheme, "RSA-2048 verify", raw));
    let (hits, misses) = cache.counts();

    println!("| scheme | verified/s | primitive | primitive/s | scheme / primitive |");
    println!("|---|---:|---|---:|---:|");
    for (name, scheme, primitive, raw) in rows {
        println!(
            "| {name} | {scheme:.0} | {primitive} | {raw:.0} | {:.0} % |",
            100.0 * scheme / raw
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let hit_rate = 100.0 * hits as f64 / (hits + misses) as f64;
    println!(
        "\nPayPal certificate cache: {hits} hits, {misses} fetches ({hit_rate:.2} % hit rate)."
    );
}
