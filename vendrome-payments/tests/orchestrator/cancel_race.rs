//! A cancel that races a payment: the payment lands between the cancel's read of the order and
//! its compare-and-set from `pending_payment`. The seller's cancel then refunds the order instead
//! of answering `invalid_order_transition`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;
use vendrome_core::access::Caller;
use vendrome_core::enums::{OrderStatus, PaymentStatus};
use vendrome_core::ids::{OrderId, PostId, UserId};
use vendrome_core::orders::{
    CreateOrderOutcome, NewOrder, Order, OrderConfig, OrderRepo, OrderRole, OrderService, Product,
    StatusChange,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::testing::InMemory;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};
use vendrome_payments::CheckoutRequest;

use crate::support::{Next, World};

/// The in-memory orders, except that the first cancel stops just before its compare-and-set:
/// it says so on `reached` and goes on when `go` is sent (after the payment landed).
struct PaymentLandsFirst {
    inner: InMemory,
    reached: Mutex<Option<oneshot::Sender<()>>>,
    go: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

#[async_trait]
impl OrderRepo for PaymentLandsFirst {
    async fn products(&self, posts: &[PostId]) -> Result<Vec<Product>> {
        self.inner.products(posts).await
    }

    async fn create_order(&self, new: &NewOrder) -> Result<CreateOrderOutcome> {
        self.inner.create_order(new).await
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.inner.order(id).await
    }

    async fn orders_of(
        &self,
        user: UserId,
        role: OrderRole,
        status: Option<OrderStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Order>, Option<Cursor>)> {
        self.inner.orders_of(user, role, status, after, limit).await
    }

    async fn change_status(&self, change: StatusChange, event: NewEvent) -> Result<Option<Order>> {
        if change.to == OrderStatus::Cancelled {
            let reached = self.reached.lock().unwrap().take();
            if let Some(reached) = reached {
                reached.send(()).unwrap();
                let go = self.go.lock().await.take().expect("one pause");
                go.await.unwrap();
            }
        }
        self.inner.change_status(change, event).await
    }

    async fn expired_orders(&self, now: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        self.inner.expired_orders(now, limit).await
    }

    async fn fulfilled_before(&self, before: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        self.inner.fulfilled_before(before, limit).await
    }
}

/// Races `caller`'s cancel of the world's order against the provider's `succeeded` webhook for
/// a checkout waiting on the buyer; the cancel's answer.
async fn cancel_while_paying(w: &World, caller: &Caller) -> Result<Order> {
    w.provider.answer(Next::RequiresAction);
    let payment = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    assert_eq!(w.order_status().await, OrderStatus::PendingPayment);
    let (reached, at_cas) = oneshot::channel();
    let (go, released) = oneshot::channel();
    let repo = PaymentLandsFirst {
        inner: w.store.clone(),
        reached: Mutex::new(Some(reached)),
        go: tokio::sync::Mutex::new(Some(released)),
    };
    let orders = OrderService::new(Arc::new(repo), OrderConfig::default());
    let cancel = w.payments.cancel_order(&orders, caller, w.order, w.now());
    let pay = async {
        at_cas.await.unwrap();
        let (headers, body) = w.provider.webhook(
            "evt_paid",
            payment.provider_reference.as_deref().unwrap(),
            Some(payment.id.to_string()),
            PaymentStatus::Succeeded,
            w.now(),
        );
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap();
        assert_eq!(
            w.order_status().await,
            OrderStatus::Paid,
            "the payment landed"
        );
        go.send(()).unwrap();
    };
    let (cancelled, ()) = tokio::join!(cancel, pay);
    cancelled
}

#[tokio::test]
async fn a_sellers_cancel_of_an_order_paid_meanwhile_refunds_it() {
    let w = World::new().await;
    let seller = w.seller;
    let order = cancel_while_paying(&w, &seller).await.unwrap();
    assert_eq!(order.status, OrderStatus::Refunded, "{order:?}");
    assert_eq!(order.refunded_amount, order.total_amount);
    assert_eq!(w.provider.charge_count(), 1);
    assert_eq!(w.provider.refunds.lock().unwrap().len(), 1, "one refund");
    assert_eq!(w.store.posting_count(), 2, "the charge and its refund");
    let events = w.store.events();
    assert!(
        events.contains(&"payment.refunded".to_owned())
            && !events.contains(&"order.cancelled".to_owned()),
        "{events:?}"
    );
    w.assert_ledger_clean().await;
}

#[tokio::test]
async fn a_buyers_cancel_of_an_order_paid_meanwhile_is_refused_and_keeps_it_paid() {
    let w = World::new().await;
    let buyer = w.buyer;
    let refused = cancel_while_paying(&w, &buyer).await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Forbidden {
                code: "not_order_party_action",
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert!(w.provider.refunds.lock().unwrap().is_empty());
    w.assert_ledger_clean().await;
}
