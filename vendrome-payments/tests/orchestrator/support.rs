//! A world for orchestrator tests: core's in-memory ports, a counting fake provider, a buyer
//! and a seller with one pending order, and a clock the test moves.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use vendrome_core::access::Caller;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus, UserRole};
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::money::{Currency, Money};
use vendrome_core::orders::{CreateOrderOutcome, NewOrder, OrderItem, OrderRepo};
use vendrome_core::payments::provider::*;
use vendrome_core::testing::InMemory;
use vendrome_core::time::Timestamp;
use vendrome_payments::{signature, Payments, Ports};

pub const SECRET: &str = "whsec_fake";
pub const HEADER: &str = "fake-signature";

/// What the fake provider answers next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Succeeded at once.
    Succeed,
    RequiresAction,
    Decline,
    Unavailable,
    /// Takes the payment but the answer is lost.
    Timeout,
}

/// A provider that counts the charges it makes: one per idempotency key, as a real one.
pub struct FakeProvider {
    pub next: Mutex<Next>,
    /// Idempotency keys of the charges made, each once.
    pub charges: Mutex<Vec<(String, String, PaymentStatus, Money)>>,
    pub refunds: Mutex<Vec<(String, String, Money)>>,
    pub create_calls: AtomicUsize,
    pub settled: Mutex<Vec<SettledTransaction>>,
}

impl FakeProvider {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            next: Mutex::new(Next::Succeed),
            charges: Mutex::new(Vec::new()),
            refunds: Mutex::new(Vec::new()),
            create_calls: AtomicUsize::new(0),
            settled: Mutex::new(Vec::new()),
        })
    }

    pub fn answer(&self, next: Next) {
        *self.next.lock().unwrap() = next;
    }

    pub fn charge_count(&self) -> usize {
        self.charges.lock().unwrap().len()
    }

    /// A signed `payment` webhook about `reference`.
    pub fn webhook(
        &self,
        event_id: &str,
        reference: &str,
        payment_id: Option<String>,
        status: PaymentStatus,
        now: Timestamp,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let body = serde_json::to_vec(&serde_json::json!({
            "id": event_id, "reference": reference, "payment_id": payment_id, "status": status,
        }))
        .unwrap();
        let header = signature::sign(SECRET, now.timestamp(), &body);
        (vec![(HEADER.to_owned(), header)], body)
    }
}

#[async_trait]
impl PaymentProvider for FakeProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Stripe
    }

    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Stripe,
            method: "card".into(),
            currencies: vec![Currency::parse("ZAR").unwrap()],
        }]
    }

    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let next = *self.next.lock().unwrap();
        let status = match next {
            Next::Unavailable => return Err(ProviderError::Unavailable("down".into())),
            Next::Decline => {
                return Err(ProviderError::Declined(Failure {
                    code: "card_declined".into(),
                    message: "the card was declined".into(),
                }))
            }
            Next::Succeed | Next::Timeout => PaymentStatus::Succeeded,
            Next::RequiresAction => PaymentStatus::RequiresAction,
        };
        let mut charges = self.charges.lock().unwrap();
        let existing = charges
            .iter()
            .find(|c| c.0 == request.idempotency_key)
            .cloned();
        let (reference, status) = match existing {
            Some(c) => (c.1, c.2),
            None => {
                let reference = format!("pi_{}", charges.len() + 1);
                charges.push((
                    request.idempotency_key.clone(),
                    reference.clone(),
                    status,
                    request.amount,
                ));
                (reference, status)
            }
        };
        if next == Next::Timeout {
            return Err(ProviderError::Timeout);
        }
        Ok(ProviderPayment {
            reference,
            status,
            amount: request.amount,
            next_action: NextAction::None,
            failure: None,
        })
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let mut refunds = self.refunds.lock().unwrap();
        let reference = match refunds.iter().find(|r| r.0 == request.idempotency_key) {
            Some(r) => r.1.clone(),
            None => {
                let reference = format!("re_{}", refunds.len() + 1);
                refunds.push((
                    request.idempotency_key.clone(),
                    reference.clone(),
                    request.amount,
                ));
                reference
            }
        };
        Ok(ProviderRefund {
            reference,
            status: PaymentStatus::Succeeded,
            amount: request.amount,
        })
    }

    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let charges = self.charges.lock().unwrap();
        let c = charges
            .iter()
            .find(|c| c.1 == reference)
            .ok_or(ProviderError::Unavailable("unknown".into()))?;
        Ok(ProviderPayment {
            reference: c.1.clone(),
            status: c.2,
            amount: c.3,
            next_action: NextAction::None,
            failure: None,
        })
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        signature::verify(
            signature::header(headers, HEADER),
            SECRET,
            body,
            now,
            signature::DEFAULT_TOLERANCE,
        )?;
        let payload: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let status: PaymentStatus = serde_json::from_value(payload["status"].clone())
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(WebhookEvent {
            event_id: payload["id"].as_str().unwrap_or_default().to_owned(),
            event_type: format!("payment.{status}"),
            occurred_at: None,
            subject: WebhookSubject::Payment {
                reference: payload["reference"].as_str().unwrap_or_default().to_owned(),
                payment_id: payload["payment_id"].as_str().map(str::to_owned),
                status,
                amount: None,
                failure: None,
            },
            payload,
        })
    }

    async fn settled_transactions(
        &self,
        _from: Timestamp,
        _to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Ok(self.settled.lock().unwrap().clone())
    }
}

pub struct World {
    pub store: InMemory,
    pub provider: Arc<FakeProvider>,
    pub payments: Payments,
    pub clock: Arc<AtomicI64>,
    pub buyer: Caller,
    pub seller: Caller,
    pub order: OrderId,
}

pub fn zar(amount: i64) -> Money {
    Money::new(amount, Currency::parse("ZAR").unwrap())
}

impl World {
    /// An order of 10 000 ZAR cents with a 500 fee, pending payment.
    pub async fn new() -> Self {
        Self::with_inbox(|store| Arc::new(store.clone())).await
    }

    /// [`Self::new`] with webhooks processed through the inbox `inbox` makes of the store.
    pub async fn with_inbox(
        inbox: impl FnOnce(&InMemory) -> Arc<dyn vendrome_core::payments::WebhookInbox>,
    ) -> Self {
        let store = InMemory::new();
        let provider = FakeProvider::new();
        let clock = Arc::new(AtomicI64::new(1_790_000_000));
        let ticking = clock.clone();
        let ports = Ports {
            payments: Arc::new(store.clone()),
            orders: Arc::new(store.clone()),
            inbox: inbox(&store),
            ledger: Arc::new(store.clone()),
            reconciliation: Arc::new(store.clone()),
        };
        let payments =
            Payments::new(ports, vec![provider.clone()]).with_clock(Arc::new(move || {
                chrono::DateTime::from_timestamp(ticking.load(Ordering::SeqCst), 0).unwrap()
            }));
        let caller = |role| Caller {
            user_id: UserId::new(),
            role,
        };
        let (buyer, seller) = (caller(UserRole::Member), caller(UserRole::Member));
        let mut world = Self {
            store,
            provider,
            payments,
            clock,
            buyer,
            seller,
            order: OrderId::new(),
        };
        world.order = world.new_order().await;
        world
    }

    pub async fn new_order(&self) -> OrderId {
        let now = self.now();
        let new = NewOrder {
            id: OrderId::new(),
            buyer_id: self.buyer.user_id,
            seller_id: self.seller.user_id,
            currency: Currency::parse("ZAR").unwrap(),
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

    pub fn now(&self) -> Timestamp {
        chrono::DateTime::from_timestamp(self.clock.load(Ordering::SeqCst), 0).unwrap()
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    pub async fn order_status(&self) -> vendrome_core::enums::OrderStatus {
        self.store.order(self.order).await.unwrap().unwrap().status
    }

    /// The ledger balances and every account agrees with its entries.
    pub async fn assert_ledger_clean(&self) {
        let check = self.store.check().await.unwrap();
        assert!(check.is_clean(), "{check:?}");
    }
}
