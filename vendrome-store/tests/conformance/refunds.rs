//! Refunds of one charge settling at the same moment: each refund's fee share is computed from
//! the refunds that settled before it in the store, so the shares add up to the charge's fee;
//! and each adds to the order's refunded total as the store finds it, so the refund that
//! completes the total moves the order to `refunded`.

use std::sync::Arc;

use vendrome_core::enums::{OrderStatus, PaymentStatus};
use vendrome_core::events::DomainEvent;
use vendrome_core::ledger::postings::RefundShare;
use vendrome_core::ledger::{AccountCode, LedgerRepo};
use vendrome_core::money::Money;
use vendrome_core::orders::{Order, OrderRefund, OrderRepo};
use vendrome_core::outbox::OutboxRepo;
use vendrome_core::payments::{Payment, PaymentRepo, SettleOutcome, Settlement};
use vendrome_core::time;
use vendrome_store::Store;

use crate::orders::zar;
use crate::payments::{charge, order_of, refund, started, succeeded};

conformance!(
    concurrent_partial_refunds_give_back_exactly_the_fee,
    concurrent_partial_refunds_completing_the_total_refund_the_order
);

fn refund_succeeded(charge: &Payment, refund: &Payment, order: Option<&Order>) -> Settlement {
    Settlement {
        payment_id: refund.id,
        status: PaymentStatus::Succeeded,
        reference: Some(format!("re_{}", refund.id)),
        failure_code: None,
        failure_message: None,
        posting: None,
        refund_share: Some(RefundShare {
            refund: refund.id,
            charge: charge.id,
            provider: charge.provider,
            charge_total: charge.amount,
            charge_fee: Money::new(charge.fee_amount, charge.amount.currency),
            amount: refund.amount,
            payee: charge.payee_id.unwrap(),
        }),
        order_change: None,
        order_refund: order.map(|o| OrderRefund {
            order_id: o.id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            total_amount: o.total_amount,
            currency: o.currency,
            amount: refund.amount.amount,
        }),
        booking_move: None,
        campaign_funded: None,
        commitment_move: None,
        events: Vec::new(),
        at: time::now(),
    }
}

async fn balance(store: &Store, code: AccountCode) -> i64 {
    store.account(&code).await.unwrap().unwrap().balance
}

/// A paid order of 999 (fee 50) and three started refunds of 333 of its charge, settled at
/// once (each also applied to the order when `with_order`).
async fn three_refunds_settled_at_once(
    store: Store,
    with_order: bool,
) -> (Arc<Store>, Payment, Order) {
    // 999 with a fee of 50: a third of the total carries 16.67 of the fee, so three refunds of
    // 333 that all saw nothing refunded before them would give back 17 each, 51 in all.
    let order = order_of(&store, 999).await;
    let mut new = charge(&order, "c");
    new.fee_amount = 50;
    let payment = started(&store, &new).await;
    let SettleOutcome::Applied(paid) = store
        .settle(&succeeded(&payment, &order, time::now()))
        .await
        .unwrap()
    else {
        panic!("the charge settles");
    };
    let mut refunds = Vec::new();
    for key in ["r1", "r2", "r3"] {
        refunds.push(started(&store, &refund(&paid, 333, key)).await);
    }

    let store = Arc::new(store);
    let tasks: Vec<_> = refunds
        .iter()
        .map(|r| {
            let settlement = refund_succeeded(&paid, r, with_order.then_some(&order));
            let store = store.clone();
            tokio::spawn(async move { store.settle(&settlement).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap(), SettleOutcome::Applied(_)));
    }
    (store, paid, order)
}

async fn concurrent_partial_refunds_give_back_exactly_the_fee(store: Store) {
    let (store, paid, _) = three_refunds_settled_at_once(store, false).await;

    let currency = zar();
    let seller = paid.payee_id.unwrap();
    assert_eq!(
        balance(&store, AccountCode::platform_fees(currency)).await,
        0,
        "the fee shares given back add up to the charge's fee"
    );
    assert_eq!(
        balance(&store, AccountCode::user_payable(seller, currency)).await,
        0
    );
    assert_eq!(
        balance(
            &store,
            AccountCode::provider_clearing(paid.provider, currency)
        )
        .await,
        0
    );
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}

async fn concurrent_partial_refunds_completing_the_total_refund_the_order(store: Store) {
    let (store, _, order) = three_refunds_settled_at_once(store, true).await;

    let after = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(after.refunded_amount, 999);
    assert_eq!(
        after.status,
        OrderStatus::Refunded,
        "the refund that completed the total moved the order"
    );
    // One order.refunded per refund, each with the running total the store found; only the
    // last carries the move.
    let mut refunded: Vec<_> = store
        .events_after(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Ok(DomainEvent::OrderRefunded(p)) => Some((p.refunded_amount, p.status)),
            _ => None,
        })
        .collect();
    refunded.sort_by_key(|(amount, _)| *amount);
    assert_eq!(
        refunded,
        vec![
            (333, OrderStatus::Paid),
            (666, OrderStatus::Paid),
            (999, OrderStatus::Refunded)
        ]
    );
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}
