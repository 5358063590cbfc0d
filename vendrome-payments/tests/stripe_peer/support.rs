//! What the peer tests share: the environment `scripts/peers/stripe.sh` sets, a client to play
//! the browser's part against localstripe, an endpoint localstripe delivers webhooks to, and an
//! orchestrator over core's in-memory ports with the Stripe provider.

use std::sync::Arc;
use std::time::Duration;

use stripe_core::payment_intent::{ConfirmPaymentIntent, ListPaymentIntent, UpdatePaymentIntent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vendrome_core::access::Caller;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::orders::{CreateOrderOutcome, NewOrder, OrderItem, OrderRepo};
use vendrome_core::testing::InMemory;
use vendrome_core::time;
use vendrome_payments::{Payments, Ports, Stripe, StripeConfig};

/// An environment variable the script sets.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/peers/stripe.sh"))
}

/// The configuration pointing at localstripe.
pub fn config() -> StripeConfig {
    StripeConfig::from_env().expect("VENDROME_STRIPE_SECRET_KEY: run scripts/peers/stripe.sh")
}

pub fn stripe() -> Stripe {
    Stripe::new(&config()).unwrap()
}

/// async-stripe's client on localstripe, for what the browser and the dashboard do.
pub fn browser() -> stripe::Client {
    let config = config();
    stripe::ClientBuilder::new(config.secret_key)
        .url(config.api_base)
        .build()
        .unwrap()
}

async fn send(request: &impl stripe::StripeRequest) -> serde_json::Value {
    let value = request
        .build()
        .customize::<miniserde::json::Value>()
        .send(&browser())
        .await
        .unwrap();
    serde_json::from_str(&miniserde::json::to_string(&value)).unwrap()
}

/// What Stripe.js does with the client secret: attach a test card (`pm_card_visa` is one
/// localstripe knows) and confirm.
pub async fn confirm_with_test_card(reference: &str) -> serde_json::Value {
    send(&UpdatePaymentIntent::new(reference).payment_method("pm_card_visa")).await;
    send(&ConfirmPaymentIntent::new(reference)).await
}

/// How many PaymentIntents carry our payment id in their metadata, counted through the API.
pub async fn intents_for(payment_id: &str) -> usize {
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let mut list = ListPaymentIntent::new().limit(100);
        if let Some(after) = after.take() {
            list = list.starting_after(after);
        }
        let page = send(&list).await;
        let data = page["data"].as_array().unwrap();
        count += data
            .iter()
            .filter(|pi| pi["metadata"]["payment_id"] == payment_id)
            .count();
        match data.last() {
            Some(last) if page["has_more"] == true => {
                after = Some(last["id"].as_str().unwrap().to_owned());
            }
            _ => return count,
        }
    }
}

/// The endpoint the script registered with localstripe, on `VENDROME_STRIPE_PEER_HOOK_PORT`.
pub struct HookEndpoint {
    listener: TcpListener,
}

/// A delivery: its headers (names lower-cased) and raw body.
pub type Delivery = (Vec<(String, String)>, Vec<u8>);

impl HookEndpoint {
    pub async fn bind() -> Self {
        let port = env("VENDROME_STRIPE_PEER_HOOK_PORT");
        let listener = TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        Self { listener }
    }

    /// The first delivery whose body mentions `needle`, answering 200 to each (others are
    /// about other tests' intents). Fails after 20 s.
    pub async fn delivery_about(&self, needle: &str) -> Delivery {
        let wait = async {
            loop {
                let (mut socket, _) = self.listener.accept().await.unwrap();
                let delivery = read_request(&mut socket).await;
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mentions = delivery
                    .1
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes());
                if mentions {
                    return delivery;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("localstripe delivered no webhook about the intent within 20 s")
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Delivery {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before the headers ended");
        raw.extend_from_slice(&chunk[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .expect("localstripe sends a content-length");
    while raw.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before the body ended");
        raw.extend_from_slice(&chunk[..n]);
    }
    (headers, raw[head_end..head_end + length].to_vec())
}

/// Core's in-memory ports, the Stripe provider on localstripe, and a buyer's pending order of
/// 125.50 ZAR (platform fee 6.28).
pub struct World {
    pub store: InMemory,
    pub payments: Payments,
    pub buyer: Caller,
    pub order: OrderId,
}

impl World {
    pub async fn new() -> Self {
        let store = InMemory::new();
        let ports = Ports {
            payments: Arc::new(store.clone()),
            orders: Arc::new(store.clone()),
            inbox: Arc::new(store.clone()),
            ledger: Arc::new(store.clone()),
            reconciliation: Arc::new(store.clone()),
        };
        let payments = Payments::new(ports, vec![Arc::new(stripe())]);
        let caller = |role| Caller {
            user_id: UserId::new(),
            role,
        };
        let (buyer, seller) = (caller(UserRole::Member), caller(UserRole::Member));
        let now = time::now();
        let new = NewOrder {
            id: OrderId::new(),
            buyer_id: buyer.user_id,
            seller_id: seller.user_id,
            currency: Currency::parse("ZAR").unwrap(),
            items: vec![OrderItem {
                id: OrderItemId::new(),
                post_id: PostId::new(),
                title: "a reading lamp".into(),
                unit_amount: 12_550,
                quantity: 1,
                line_amount: 12_550,
            }],
            subtotal_amount: 12_550,
            shipping_amount: 0,
            platform_fee_amount: 628,
            total_amount: 12_550,
            idempotency_key: uuid::Uuid::now_v7().to_string(),
            shipping_address: None,
            note: None,
            created_at: now,
            expires_at: now + chrono::Duration::minutes(30),
        };
        let order = match store.create_order(&new).await.unwrap() {
            CreateOrderOutcome::Created(o) => o.id,
            other => panic!("{other:?}"),
        };
        Self {
            store,
            payments,
            buyer,
            order,
        }
    }
}
