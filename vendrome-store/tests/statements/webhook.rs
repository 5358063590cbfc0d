//! What one webhook delivery costs on PostgreSQL, through the orchestrator as the server runs
//! it: a verified sandbox outcome settling a charge (the posting, the order's move, the events),
//! its duplicate, and an older event that finds the payment already settled; and before them,
//! what placing the order and starting its charge cost.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{
    PaymentKind, PaymentProvider, PaymentStatus, PostType, PostVisibility, UserRole,
};
use vendrome_core::ids::PaymentId;
use vendrome_core::orders::{LineRequest, OrderConfig, OrderService, PlaceOrder};
use vendrome_core::payments::provider::NextAction;
use vendrome_core::payments::{NewPayment, PaymentRepo as _, ProviderCalled, StartOutcome};
use vendrome_core::posts::{NewPost, PostBody, PostRepo as _};
use vendrome_core::time;
use vendrome_payments::{Payments, Ports, Sandbox, SandboxConfig, SandboxOutcome, WebhookOutcome};

use super::{payload, statements, user, SERIAL};

/// Delivers one webhook; what it did and how many statements it took.
async fn deliver(
    payments: &Payments,
    statements: &super::Statements,
    headers: &[(String, String)],
    body: &[u8],
) -> (WebhookOutcome, usize) {
    let before = statements.now();
    let outcome = payments
        .handle_webhook("sandbox", headers, body)
        .await
        .unwrap();
    (outcome, statements.now() - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settling_webhook_costs_three_statements_an_order_two_and_its_charge_one() {
    let statements = statements();
    let _alone = SERIAL.lock().await;
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    let store = Arc::new(db.store.clone());
    let (seller, buyer) = (user(&store, "seller").await, user(&store, "buyer").await);
    let product = store
        .create_post(NewPost {
            author_id: seller,
            body: PostBody::parse("For sale").unwrap(),
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload: payload(PostType::Product),
            media: Default::default(),
        })
        .await
        .unwrap();
    let orders = OrderService::new(store.clone(), OrderConfig::default());
    let caller = Caller {
        user_id: buyer,
        role: UserRole::Member,
    };
    let sandbox = Arc::new(Sandbox::new(SandboxConfig {
        public_base_url: "http://127.0.0.1:8080".into(),
        webhook_secret: "whsec_statements".into(),
    }));
    let ports = Ports {
        payments: store.clone(),
        orders: store.clone(),
        inbox: store.clone(),
        ledger: store.clone(),
        reconciliation: store.clone(),
    };
    let payments = Payments::new(ports, vec![sandbox.clone()]);

    // Two charges at `requires_action`, as checkout leaves them: the first makes the ledger's
    // accounts, the second is counted.
    let mut counts = Vec::new();
    let mut checkout_counts = Vec::new();
    for n in 0..2 {
        let before = statements.now();
        let order = orders
            .place(
                &caller,
                PlaceOrder {
                    lines: vec![LineRequest {
                        post_id: product,
                        quantity: 1,
                    }],
                    idempotency_key: format!("statements-{n}"),
                    shipping_address: None,
                    note: None,
                },
                time::now(),
            )
            .await
            .unwrap();
        let placed = statements.now() - before;
        let before = statements.now();
        let StartOutcome::Started(payment) = store
            .start(&NewPayment {
                id: PaymentId::new(),
                kind: PaymentKind::Charge,
                provider: PaymentProvider::Sandbox,
                payer_id: buyer,
                payee_id: Some(seller),
                order_id: Some(order.id),
                booking_id: None,
                marketing_campaign_id: None,
                commitment_id: None,
                refund_of: None,
                amount: order.total(),
                fee_amount: order.platform_fee_amount,
                idempotency_key: format!("order:{}:statements", order.id),
                method: Some("card".into()),
                return_url: None,
                created_at: time::now(),
            })
            .await
            .unwrap()
        else {
            panic!("a fresh charge");
        };
        checkout_counts.push([placed, statements.now() - before]);
        let payment = store
            .provider_called(&ProviderCalled {
                payment_id: payment.id,
                reference: format!("sb_statements_{n}"),
                status: PaymentStatus::RequiresAction,
                next_action: NextAction::None,
                at: time::now(),
            })
            .await
            .unwrap();
        let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
        let (older_headers, older_body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Failed);
        let (first, cost) = deliver(&payments, &statements, &headers, &body).await;
        assert!(matches!(first, WebhookOutcome::Applied(_)), "{first:?}");
        counts.push(cost);
        let (again, cost) = deliver(&payments, &statements, &headers, &body).await;
        assert_eq!(again, WebhookOutcome::Duplicate);
        counts.push(cost);
        let (older, cost) = deliver(&payments, &statements, &older_headers, &older_body).await;
        assert!(matches!(older, WebhookOutcome::Stale(_)), "{older:?}");
        counts.push(cost);
    }
    let check = vendrome_core::ledger::LedgerRepo::check(&*store)
        .await
        .unwrap();
    assert!(check.is_clean(), "{check:?}");
    // The second charge's, as the driver logs them (it does not log BEGIN, nor the rollback
    // of a transaction that is dropped): the event's upsert with the locks of the payment and its
    // order, the payment's update with the order's move, the events and the posting (its accounts
    // made in the same statement), commit. A duplicate is the upsert that finds the event done;
    // an older event is the upsert with the locks, and commit. Before the posting joined the
    // payment's update, a settling delivery took four; before the order's lock joined the upsert
    // and the events the payment's update, seven; before the upsert took the payment's lock and
    // the posting its accounts, nine; before the posting took two statements, the events one and
    // the upsert wrote `processed` at once, fourteen.
    assert_eq!(&counts[3..], [3, 1, 2], "all: {counts:?}");
    // Placing the order: its products' read, then its creation (the stock's locks and check,
    // the order, its reservations, lines and event) in one statement; before, the creation was
    // five (the insert, a reservation and a line per line, the event, commit). Starting its
    // charge: the order's lock with the insert in one statement; before, three (the lock, the
    // insert with its check for a charge that succeeded, commit).
    assert_eq!(checkout_counts[1], [2, 1], "all: {checkout_counts:?}");
}
