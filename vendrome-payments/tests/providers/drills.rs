//! Drills on the fakes, through the orchestrator over core's in-memory ports: a provider
//! outage (503s move new checkouts to the next provider within the same request; the provider
//! is eliminated, then probed back in when it recovers), and a 5xx burst mid-flow (the answer
//! lost after the provider made the checkout: a retry with the same key finds it, one charge).
//! [`World`] is also where the reconciliation drills (`reconcile.rs`) run.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus, UserRole};
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::money::Currency;
use vendrome_core::orders::{CreateOrderOutcome, NewOrder, OrderItem, OrderRepo};
use vendrome_core::payments::provider::PaymentProvider;
use vendrome_core::payments::PaymentRepo;
use vendrome_core::testing::InMemory;
use vendrome_payments::routing::{HealthState, RoutingPolicy};
use vendrome_payments::{CheckoutRequest, Payments, Ports};

use crate::{paystack, yoco};

/// The orchestrator over core's in-memory ports, with a clock the test moves.
pub struct World {
    pub store: InMemory,
    pub payments: Payments,
    clock: Arc<AtomicI64>,
    pub buyer: Caller,
    seller: Caller,
}

impl World {
    pub fn new(providers: Vec<Arc<dyn PaymentProvider>>, policy: &str) -> Self {
        let store = InMemory::new();
        let clock = Arc::new(AtomicI64::new(1_790_000_000));
        let ticking = clock.clone();
        let ports = Ports {
            payments: Arc::new(store.clone()),
            orders: Arc::new(store.clone()),
            inbox: Arc::new(store.clone()),
            ledger: Arc::new(store.clone()),
            reconciliation: Arc::new(store.clone()),
        };
        let payments = Payments::new(ports, providers)
            .with_routing(RoutingPolicy::parse(policy).unwrap())
            .with_clock(Arc::new(move || {
                chrono::DateTime::from_timestamp(ticking.load(Ordering::SeqCst), 0).unwrap()
            }));
        let caller = || Caller {
            user_id: UserId::new(),
            role: UserRole::Member,
        };
        Self {
            store,
            payments,
            clock,
            buyer: caller(),
            seller: caller(),
        }
    }

    /// What the world's clock reads.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.clock.load(Ordering::SeqCst), 0).unwrap()
    }

    async fn order(&self) -> OrderId {
        self.order_in("ZAR").await
    }

    /// An order of 100.00 (a fee of 5.00) in `currency`, awaiting payment.
    pub async fn order_in(&self, currency: &str) -> OrderId {
        let now = self.now();
        let new = NewOrder {
            id: OrderId::new(),
            buyer_id: self.buyer.user_id,
            seller_id: self.seller.user_id,
            currency: Currency::parse(currency).unwrap(),
            items: vec![OrderItem {
                id: OrderItemId::new(),
                post_id: PostId::new(),
                title: "a lamp".into(),
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
            expires_at: now + chrono::Duration::minutes(30),
        };
        match self.store.create_order(&new).await.unwrap() {
            CreateOrderOutcome::Created(o) => o.id,
            other => panic!("{other:?}"),
        }
    }

    fn state(&self, provider: ProviderId) -> HealthState {
        self.payments
            .provider_health()
            .into_iter()
            .find(|s| s.provider == provider)
            .unwrap()
            .state
    }
}

const POLICY: &str = r#"
    [[route]]
    currency = "ZAR"
    providers = ["yoco", "paystack"]

    [health]
    min_calls = 2
    error_percent = 50
    cooldown_secs = 30
"#;

#[tokio::test]
async fn an_outage_moves_checkouts_to_the_next_provider_and_recovery_brings_it_back() {
    let (yoco_fake, base) = yoco::fake().await;
    let (paystack_fake, paystack_adapter) = paystack::fake().await;
    let world = World::new(
        vec![Arc::new(yoco::yoco(&base)), Arc::new(paystack_adapter)],
        POLICY,
    );
    let pay = |order: OrderId, key: &'static str| {
        let payments = world.payments.clone();
        let buyer = world.buyer;
        async move {
            payments
                .checkout(order, &buyer, CheckoutRequest::default(), key)
                .await
        }
    };
    let creates = || yoco_fake.creates.load(Ordering::SeqCst);

    yoco_fake.outage.fail_next(1_000);
    let first = world.order().await;
    let paid = pay(first, "k1").await.unwrap();
    assert_eq!(
        paid.provider,
        ProviderId::Paystack,
        "the same request moved on"
    );
    assert_eq!(paid.status, PaymentStatus::RequiresAction);
    let phases = world.store.payments_for_order(first).await.unwrap();
    assert_eq!(phases.len(), 2, "two phases: {phases:?}");
    let failed = phases
        .iter()
        .find(|p| p.provider == ProviderId::Yoco)
        .unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed);
    assert_eq!(creates(), 1);

    // A retry of the same request walks the same phases: no provider is asked again.
    let again = pay(first, "k1").await.unwrap();
    assert_eq!(again.id, paid.id);
    assert_eq!(
        (creates(), *paystack_fake.initialized.lock().unwrap()),
        (1, 1)
    );

    let second = world.order().await;
    assert_eq!(
        pay(second, "k2").await.unwrap().provider,
        ProviderId::Paystack
    );
    assert!(matches!(
        world.state(ProviderId::Yoco),
        HealthState::Eliminated { .. }
    ));
    let third = world.order().await;
    assert_eq!(
        pay(third, "k3").await.unwrap().provider,
        ProviderId::Paystack
    );
    assert_eq!(creates(), 2, "out of rotation: not even tried");
    let methods = world
        .payments
        .methods(Currency::parse("ZAR").unwrap(), Some("ZA"));
    assert!(
        methods.iter().all(|m| m.provider != ProviderId::Yoco),
        "{methods:?}"
    );

    // Yoco recovers; after the cool-down one checkout probes it back in.
    yoco_fake.outage.fail_next(0);
    world.clock.fetch_add(31, Ordering::SeqCst);
    assert_eq!(world.state(ProviderId::Yoco), HealthState::Probing);
    let fourth = world.order().await;
    assert_eq!(pay(fourth, "k4").await.unwrap().provider, ProviderId::Yoco);
    assert_eq!(world.state(ProviderId::Yoco), HealthState::Healthy);
    let methods = world
        .payments
        .methods(Currency::parse("ZAR").unwrap(), Some("ZA"));
    assert_eq!(methods.first().map(|m| m.provider), Some(ProviderId::Yoco));
}

#[tokio::test]
async fn a_refused_checkout_does_not_fall_back() {
    let (_yoco_fake, base) = yoco::fake().await;
    let (paystack_fake, paystack_adapter) = paystack::fake().await;
    // Yoco refuses a request with the wrong key: a 401 is an answer, not an outage.
    let wrong_key = vendrome_payments::providers::yoco::Yoco::new(&crate::support::settings(
        ProviderId::Yoco,
        &base,
        &[
            ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("SECRET_KEY", "sk_wrong"),
        ],
    ));
    let world = World::new(
        vec![Arc::new(wrong_key), Arc::new(paystack_adapter)],
        POLICY,
    );
    let order = world.order().await;
    let refused = world
        .payments
        .checkout(order, &world.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            vendrome_core::Error::Unprocessable {
                code: "payment_rejected",
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        *paystack_fake.initialized.lock().unwrap(),
        0,
        "no second provider"
    );
}

#[tokio::test]
async fn a_5xx_burst_mid_flow_makes_one_charge() {
    let (yoco_fake, base) = yoco::fake().await;
    // Yoco alone: nothing to fall back to, so the client retries with the same key.
    let world = World::new(vec![Arc::new(yoco::yoco(&base))], "");
    let order = world.order().await;
    yoco_fake.lose_answers.fail_next(3);
    for _ in 0..3 {
        let lost = world
            .payments
            .checkout(order, &world.buyer, CheckoutRequest::default(), "burst")
            .await
            .unwrap_err();
        assert!(
            matches!(
                lost,
                vendrome_core::Error::Unavailable {
                    code: "provider_unavailable",
                    ..
                }
            ),
            "{lost:?}"
        );
    }
    let paid = world
        .payments
        .checkout(order, &world.buyer, CheckoutRequest::default(), "burst")
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::RequiresAction);
    assert_eq!(yoco_fake.creates.load(Ordering::SeqCst), 4, "four calls");
    assert_eq!(
        yoco_fake.checkouts.lock().unwrap().len(),
        1,
        "one checkout: Yoco's Idempotency-Key"
    );
    assert_eq!(
        world.store.payments_for_order(order).await.unwrap().len(),
        1,
        "one payment"
    );
    let check = world.store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}
