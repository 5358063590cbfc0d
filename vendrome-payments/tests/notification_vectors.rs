//! Every provider's notification scheme against vectors made without our code
//! (`scripts/peers/webhook_vectors.py`: Python's hmac and hashlib, `cryptography`,
//! `standardwebhooks`). Ignored by default: `scripts/peers/webhooks.sh` makes the vectors and
//! runs this with `--ignored`. Each vector says whether it must verify; all must be judged
//! right, and every scheme must have at least one valid and one refused vector.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::WebhookError;
use vendrome_payments::notifications::{
    airwallex, ozow, payfast, paypal, paystack, peach, standard,
};

#[derive(Deserialize)]
struct Vector {
    scheme: String,
    name: String,
    valid: bool,
    body: String,
    secret: String,
    headers: HashMap<String, String>,
    fields: Vec<(String, String)>,
    now: i64,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    plaintext: Option<String>,
}

/// Serves each vector's certificate at whatever URL is asked for (the URL check comes first).
struct Served(Vec<u8>);

#[async_trait]
impl paypal::CertificateSource for Served {
    async fn fetch(&self, _url: &str) -> Result<Vec<u8>, String> {
        Ok(self.0.clone())
    }
}

async fn judge(v: &Vector) -> Result<(), WebhookError> {
    let headers: Vec<(String, String)> = v
        .headers
        .iter()
        .map(|(k, val)| (k.to_lowercase(), val.clone()))
        .collect();
    let body = v.body.as_bytes();
    let now = chrono::DateTime::from_timestamp(v.now, 0).unwrap();
    match v.scheme.as_str() {
        "airwallex" => airwallex::verify(&headers, &v.secret, body, now, airwallex::TOLERANCE),
        "yoco" => standard::verify(&headers, &v.secret, body, now, standard::YOCO_TOLERANCE),
        "paystack" => paystack::verify(&headers, &v.secret, body),
        "peach" => peach::decrypt(&headers, &v.secret, body).map(|plain| {
            assert_eq!(
                Some(String::from_utf8(plain).unwrap()),
                v.plaintext,
                "{}: decrypted text",
                v.name
            );
        }),
        "peach-checkout" => peach::verify_checkout(&v.secret, &v.fields),
        "payfast" => {
            let zar = Currency::parse("ZAR").unwrap();
            let asked = Money::from_decimal_str(v.amount.as_deref().unwrap(), zar).unwrap();
            payfast::verify_signature(&v.fields, Some(&v.secret))
                .and_then(|()| payfast::check_amount(&v.fields, asked))
        }
        "ozow" => ozow::verify(&v.fields, &v.secret),
        "paypal" => {
            let pem = v.certificate.clone().unwrap().into_bytes();
            let cache = paypal::CertificateCache::new(Arc::new(Served(pem)));
            paypal::verify(&headers, &v.secret, body, &cache).await
        }
        other => panic!("unknown scheme {other}"),
    }
}

#[tokio::test]
#[ignore = "needs the vectors: scripts/peers/webhooks.sh"]
async fn every_scheme_accepts_exactly_the_valid_vectors() {
    let path = std::env::var("VENDROME_NOTIFICATION_VECTORS")
        .expect("VENDROME_NOTIFICATION_VECTORS names the vectors file");
    let vectors: Vec<Vector> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for v in &vectors {
        let verdict = judge(v).await;
        let entry = seen.entry(v.scheme.clone()).or_default();
        if v.valid {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        if verdict.is_ok() != v.valid {
            wrong.push(format!("{} / {}: {verdict:?}", v.scheme, v.name));
        }
    }
    for (scheme, (valid, refused)) in &seen {
        println!("{scheme}: {valid} valid accepted, {refused} altered refused");
        assert!(
            *valid > 0 && *refused > 0,
            "{scheme} needs both kinds of vector"
        );
    }
    assert_eq!(seen.len(), 8, "every scheme has vectors: {seen:?}");
    assert!(wrong.is_empty(), "misjudged: {wrong:#?}");
}
