//! `vendrome reconcile --repair`, the real binary, against a local fake of Paystack's API (its
//! Transactions and Settlements, paystack.com/docs/api) found through
//! `VENDROME_PAYSTACK_API_BASE`, on SQLite and on PostgreSQL: a payment Paystack settled while
//! ours stayed open is repaired once, with one posting, and a second run repairs nothing; one
//! Paystack settled for less is reported (exit status 3) and nothing is posted for it.

use std::collections::{HashMap, HashSet};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Json;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use vendrome_core::access::Caller;
use vendrome_core::enums::{
    PaymentProvider as ProviderId, PaymentStatus, PostType, PostVisibility, UserRole,
};
use vendrome_core::ids::{OrderId, OrderItemId, UserId};
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::money::{Currency, Money};
use vendrome_core::orders::{CreateOrderOutcome, NewOrder, OrderItem, OrderRepo as _};
use vendrome_core::payments::{Discrepancy, Payment, PaymentRepo as _};
use vendrome_core::posts::{NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_payments::providers::paystack_api::Paystack;
use vendrome_payments::providers::ProviderSettings;
use vendrome_payments::{CheckoutRequest, Payments, Ports};
use vendrome_store::testing::{self, TestStore};
use vendrome_store::Store;

const SECRET_KEY: &str = "sk_test_reconcile";

/// Paystack's side: its transactions by reference.
#[derive(Default)]
struct Fake {
    transactions: Mutex<HashMap<String, Value>>,
}

impl Fake {
    /// The payer paid `reference` (`minor` subunits) now, with no word to us.
    fn settle(&self, reference: &str, minor: i64) {
        let mut transactions = self.transactions.lock().unwrap();
        let tx = transactions.get_mut(reference).unwrap();
        tx["status"] = json!("success");
        tx["amount"] = json!(minor);
        tx["paid_at"] = json!(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

fn listed(data: Vec<Value>) -> Json<Value> {
    let total = data.len();
    Json(json!({"status": true, "message": "Retrieved", "data": data,
        "meta": {"total": total, "perPage": 100, "page": 1, "pageCount": 1}}))
}

async fn initialize(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Json<Value> {
    let reference = body["reference"].as_str().unwrap().to_owned();
    let mut transactions = fake.transactions.lock().unwrap();
    let id = transactions.len() + 1;
    transactions.insert(
        reference.clone(),
        json!({"id": id, "reference": reference, "amount": body["amount"],
        "currency": body["currency"], "status": "abandoned"}),
    );
    Json(
        json!({"status": true, "message": "Authorization URL created", "data": {
        "authorization_url": format!("https://checkout.paystack.com/ac_{reference}"),
        "access_code": format!("ac_{reference}"), "reference": reference}}),
    )
}

/// One settlement (today's) of every successful transaction.
async fn settlements(State(fake): State<Arc<Fake>>) -> Json<Value> {
    let any = fake
        .transactions
        .lock()
        .unwrap()
        .values()
        .any(|t| t["status"] == "success");
    let today = Utc::now().date_naive();
    listed(if any {
        vec![
            json!({"id": 1, "status": "success", "settlement_date": format!("{today}T00:00:00.000Z")}),
        ]
    } else {
        Vec::new()
    })
}

async fn settled(State(fake): State<Arc<Fake>>, Path(_id): Path<u32>) -> Json<Value> {
    listed(
        fake.transactions
            .lock()
            .unwrap()
            .values()
            .filter(|t| t["status"] == "success")
            .cloned()
            .collect(),
    )
}

/// The fake on a free port: its base URL.
async fn serve(fake: Arc<Fake>) -> String {
    let router = axum::Router::new()
        .route("/transaction/initialize", post(initialize))
        .route("/settlement", get(settlements))
        .route("/settlement/{id}/transactions", get(settled))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

async fn user(store: &Store) -> UserId {
    let id = UserId::new();
    let email = format!("{}@example.com", id.as_uuid().simple());
    let new = NewUser {
        email: Email::parse(&email).unwrap(),
        display_name: DisplayName::parse("Ada Lovelace").unwrap(),
        handle: None,
        password_hash: None,
        role: UserRole::Member,
    };
    store.create_user(new).await.unwrap().id
}

/// An order of a 100.00 NGN lamp from a new seller by a new buyer; the buyer.
async fn order(store: &Store) -> (OrderId, Caller) {
    let (seller, buyer) = (user(store).await, user(store).await);
    let fields = json!({"title": "Lamp", "price_minor": 10_000, "currency": "NGN"});
    let post = store
        .create_post(NewPost {
            author_id: seller,
            body: PostBody::parse("A lamp").unwrap(),
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload: PostPayload::parse(PostType::Product, Some(&fields)).unwrap(),
            media: Default::default(),
        })
        .await
        .unwrap();
    let now = vendrome_core::time::now();
    let new = NewOrder {
        id: OrderId::new(),
        buyer_id: buyer,
        seller_id: seller,
        currency: Currency::parse("NGN").unwrap(),
        items: vec![OrderItem {
            id: OrderItemId::new(),
            post_id: post,
            title: "Lamp".into(),
            unit_amount: 10_000,
            quantity: 1,
            line_amount: 10_000,
        }],
        subtotal_amount: 10_000,
        shipping_amount: 0,
        platform_fee_amount: 500,
        total_amount: 10_000,
        idempotency_key: uuid::Uuid::now_v7().to_string(),
        shipping_address: None,
        note: None,
        created_at: now,
        expires_at: now + Duration::minutes(30),
    };
    let CreateOrderOutcome::Created(order) = store.create_order(&new).await.unwrap() else {
        panic!("a new order")
    };
    let caller = Caller {
        user_id: buyer,
        role: UserRole::Member,
    };
    (order.id, caller)
}

/// A payment of a new order, started at Paystack (the fake) and open at us.
async fn checkout(store: &Store, base: &str) -> Payment {
    let shared = Arc::new(store.clone());
    let ports = Ports {
        payments: shared.clone(),
        orders: shared.clone(),
        inbox: shared.clone(),
        ledger: shared.clone(),
        reconciliation: shared,
    };
    let settings = ProviderSettings::new(
        ProviderId::Paystack,
        &[("SECRET_KEY", SECRET_KEY), ("API_BASE", base)],
    );
    let payments = Payments::new(ports, vec![Arc::new(Paystack::new(&settings))]);
    let (order, buyer) = order(store).await;
    let payment = payments
        .checkout(order, &buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::RequiresAction);
    payment
}

/// `vendrome reconcile --provider paystack --repair` over `[from, to)` days from today.
async fn reconcile(url: &str, base: &str, from: i64, to: i64, json: bool) -> Output {
    let today = Utc::now().date_naive();
    let day = |offset: i64| (today + Duration::days(offset)).to_string();
    let mut args = vec![
        "reconcile".to_owned(),
        "--provider".into(),
        "paystack".into(),
        "--from".into(),
        day(from),
        "--to".into(),
        day(to),
        "--repair".into(),
    ];
    if json {
        args.push("--json".into());
    }
    let (url, base) = (url.to_owned(), base.to_owned());
    // The binary is waited for off the runtime, which serves the fake meanwhile.
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vendrome"))
            .args(&args)
            .env("VENDROME_DATABASE_URL", url)
            .env("VENDROME_PAYSTACK_SECRET_KEY", SECRET_KEY)
            .env("VENDROME_PAYSTACK_API_BASE", base)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A row of the printed table.
fn row(outcome: &str, count: usize) -> String {
    format!("{outcome:<22} {count:>8}")
}

/// The distinct postings (ledger transactions) made for `payment`.
async fn postings(store: &Store, payment: &Payment) -> usize {
    let entries = store.postings_for_payment(payment.id).await.unwrap();
    entries
        .iter()
        .map(|e| e.transaction_id)
        .collect::<HashSet<_>>()
        .len()
}

async fn repairs_once_and_reports_a_short_settlement(db: TestStore) {
    let store = &db.store;
    let fake = Arc::new(Fake::default());
    let base = serve(fake.clone()).await;

    let lost = checkout(store, &base).await;
    let reference = lost.provider_reference.clone().unwrap();
    fake.settle(&reference, 10_000);

    let first = reconcile(&db.url, &base, -1, 1, false).await;
    let printed = text(&first);
    assert_eq!(
        first.status.code(),
        Some(0),
        "everything found was repaired: {printed}"
    );
    assert!(printed.contains(&row("matched", 0)), "{printed}");
    assert!(printed.contains(&row("missing in ledger", 1)), "{printed}");
    assert!(
        printed.contains(&format!("  missing in ledger    {reference} 100.00 NGN")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "  repaired             {reference} (payment {}) 100.00 NGN",
            lost.id
        )),
        "{printed}"
    );
    let repaired = store.payment(lost.id).await.unwrap().unwrap();
    assert_eq!(repaired.status, PaymentStatus::Succeeded);
    assert_eq!(postings(store, &lost).await, 1);

    // A second run finds it matched and repairs nothing.
    let second = reconcile(&db.url, &base, -1, 1, false).await;
    let printed = text(&second);
    assert_eq!(second.status.code(), Some(0), "{printed}");
    assert!(printed.contains(&row("matched", 1)), "{printed}");
    assert!(printed.contains(&row("missing in ledger", 0)), "{printed}");
    assert!(!printed.contains("repaired"), "{printed}");
    assert_eq!(postings(store, &lost).await, 1, "still one posting");
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");

    // Paystack settles another for less than asked: reported, exit status 3, nothing posted.
    let short = checkout(store, &base).await;
    let short_reference = short.provider_reference.clone().unwrap();
    fake.settle(&short_reference, 9_000);
    let third = reconcile(&db.url, &base, -2, 1, true).await;
    assert_eq!(third.status.code(), Some(3), "{}", text(&third));
    let answer: Value = serde_json::from_slice(&third.stdout).unwrap();
    assert_eq!(answer["repaired"], json!([]), "{answer}");
    assert_eq!(answer["report"]["status"], "discrepancies");
    assert_eq!(answer["report"]["matched"].as_array().unwrap().len(), 1);
    let discrepancies: Vec<Discrepancy> =
        serde_json::from_value(answer["report"]["discrepancies"].clone()).unwrap();
    assert_eq!(
        discrepancies,
        [Discrepancy::AmountMismatch {
            reference: short_reference,
            payment_id: short.id,
            ledger: short.amount,
            provider: Money::new(9_000, Currency::parse("NGN").unwrap()),
        }],
        "{answer}"
    );
    let left = store.payment(short.id).await.unwrap().unwrap();
    assert_eq!(left.status, PaymentStatus::RequiresAction, "not repaired");
    assert_eq!(postings(store, &short).await, 0, "nothing posted");
    assert!(store.check().await.unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repair_on_sqlite() {
    repairs_once_and_reports_a_short_settlement(testing::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repair_on_postgres() {
    let Some(db) = testing::postgres().await else {
        return;
    };
    repairs_once_and_reports_a_short_settlement(db).await;
}
