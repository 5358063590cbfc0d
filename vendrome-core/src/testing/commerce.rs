//! [`OrderRepo`] in memory, and the shared state of the commerce fakes (orders, payments,
//! webhooks, the ledger, reconciliation runs) with the failures a test can inject.
//!
//! [`InMemory::fail_next`] makes the next call of one port method fail with
//! [`Error::Unexpected`](crate::Error::Unexpected) before it changes anything: a crash between
//! two recovery points, as a payment test needs it.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{page_of, InMemory};
use crate::enums::{OrderStatus, ReconciliationStatus};
use crate::ids::{OrderId, PaymentId, PostId, UserId};
use crate::ledger::{Account, AccountCode, StoredEntry};
use crate::orders::{
    CreateOrderOutcome, NewOrder, Order, OrderRepo, OrderRole, Product, StatusChange,
};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::payments::{Discrepancy, Payment, ReconciliationRun, StoredWebhook};
use crate::time::Timestamp;
use crate::Result;

/// The commerce fakes' world.
#[derive(Default)]
pub(super) struct Commerce {
    pub products: Vec<Product>,
    /// Orders with the buyer's idempotency key.
    pub orders: Vec<(Order, String)>,
    pub payments: Vec<Payment>,
    /// Until when the completer holds an attempt.
    pub leases: HashMap<PaymentId, Timestamp>,
    pub webhooks: Vec<StoredWebhook>,
    /// Until when a delivery handed out for processing is held.
    pub webhook_leases: HashMap<crate::ids::WebhookEventId, Timestamp>,
    pub accounts: Vec<Account>,
    /// Every entry with its account, in posting order.
    pub entries: Vec<(AccountCode, StoredEntry)>,
    pub posting_keys: Vec<String>,
    pub runs: Vec<ReconciliationRun>,
    /// Port methods whose next call fails (`"PaymentRepo::settle"`).
    pub failures: Vec<&'static str>,
}

impl Commerce {
    /// Fails if a test asked this method to fail once.
    pub fn fail_point(&mut self, method: &'static str) -> Result<()> {
        if let Some(i) = self.failures.iter().position(|m| *m == method) {
            self.failures.remove(i);
            return Err(anyhow::anyhow!("injected failure in {method}").into());
        }
        Ok(())
    }

    pub fn order_mut(&mut self, id: OrderId) -> Option<&mut Order> {
        self.orders.iter_mut().map(|(o, _)| o).find(|o| o.id == id)
    }

    /// Applies a status change if the order is still in `from` (the port's compare-and-set).
    pub fn apply_change(&mut self, change: StatusChange) -> Option<Order> {
        let order = self.order_mut(change.order_id)?;
        if order.status != change.from {
            return None;
        }
        order.status = change.to;
        order.updated_at = change.at;
        match change.to {
            OrderStatus::Paid => order.paid_at = Some(change.at),
            OrderStatus::Fulfilled => order.fulfilled_at = Some(change.at),
            OrderStatus::Completed => order.completed_at = Some(change.at),
            OrderStatus::Cancelled | OrderStatus::Refunded => order.cancelled_at = Some(change.at),
            OrderStatus::PendingPayment => {}
        }
        let order = order.clone();
        if change.from == OrderStatus::PendingPayment && change.to == OrderStatus::Cancelled {
            self.release_stock(&order);
        }
        Some(order)
    }

    fn release_stock(&mut self, order: &Order) {
        for item in &order.items {
            if let Some(product) = self.products.iter_mut().find(|p| p.post_id == item.post_id) {
                if let Some(stock) = product.stock_quantity.as_mut() {
                    *stock += item.quantity;
                }
            }
        }
    }

    /// The stored run; used by the reconciliation fake.
    pub fn run_mut(
        &mut self,
        id: crate::ids::ReconciliationRunId,
    ) -> Option<&mut ReconciliationRun> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// Records a finished run's outcome.
    pub fn finish(
        &mut self,
        id: crate::ids::ReconciliationRunId,
        status: ReconciliationStatus,
        matched: i64,
        discrepancies: &[Discrepancy],
        at: Timestamp,
    ) {
        if let Some(run) = self.run_mut(id) {
            run.status = status;
            run.matched = matched;
            run.discrepancies = discrepancies.to_vec();
            run.finished_at = Some(at);
        }
    }
}

impl InMemory {
    /// Makes the next call of `method` (`"PaymentRepo::provider_called"`, written as the port
    /// and method) fail before it changes anything.
    pub fn fail_next(&self, method: &'static str) {
        self.commerce().failures.push(method);
    }

    /// Adds a product listing that orders can be made of.
    pub fn add_product(&self, product: Product) {
        self.commerce().products.push(product);
    }

    /// The product as it is now (its stock), `None` when there is none.
    pub fn product(&self, post: PostId) -> Option<Product> {
        self.commerce()
            .products
            .iter()
            .find(|p| p.post_id == post)
            .cloned()
    }

    /// Every payment stored, in creation order.
    pub fn all_payments(&self) -> Vec<Payment> {
        self.commerce().payments.clone()
    }

    /// Changes a stored payment as a test needs it (to make a ledger that disagrees with a
    /// provider, say).
    pub fn edit_payment(&self, id: PaymentId, edit: impl FnOnce(&mut Payment)) {
        if let Some(p) = self.commerce().payments.iter_mut().find(|p| p.id == id) {
            edit(p);
        }
    }

    /// The number of ledger postings written.
    pub fn posting_count(&self) -> usize {
        self.commerce().posting_keys.len()
    }

    pub(super) fn announce_events(&self, events: &[NewEvent]) {
        let mut world = self.world();
        for event in events {
            world.announce(event.event.event_type());
        }
    }
}

#[async_trait]
impl OrderRepo for InMemory {
    async fn products(&self, posts: &[PostId]) -> Result<Vec<Product>> {
        let commerce = self.commerce();
        Ok(commerce
            .products
            .iter()
            .filter(|p| posts.contains(&p.post_id))
            .cloned()
            .collect())
    }

    async fn create_order(&self, new: &NewOrder) -> Result<CreateOrderOutcome> {
        let mut commerce = self.commerce();
        commerce.fail_point("OrderRepo::create_order")?;
        if let Some((order, _)) = commerce
            .orders
            .iter()
            .find(|(o, key)| o.buyer_id == new.buyer_id && *key == new.idempotency_key)
        {
            return Ok(CreateOrderOutcome::Existing(order.clone()));
        }
        for item in &new.items {
            let stock = commerce
                .products
                .iter()
                .find(|p| p.post_id == item.post_id)
                .and_then(|p| p.stock_quantity);
            if stock.is_some_and(|s| s < item.quantity) {
                return Ok(CreateOrderOutcome::OutOfStock {
                    post_id: item.post_id,
                });
            }
        }
        for item in &new.items {
            if let Some(p) = commerce
                .products
                .iter_mut()
                .find(|p| p.post_id == item.post_id)
            {
                if let Some(stock) = p.stock_quantity.as_mut() {
                    *stock -= item.quantity;
                }
            }
        }
        let order = Order {
            id: new.id,
            buyer_id: new.buyer_id,
            seller_id: new.seller_id,
            status: OrderStatus::PendingPayment,
            currency: new.currency,
            items: new.items.clone(),
            subtotal_amount: new.subtotal_amount,
            shipping_amount: new.shipping_amount,
            platform_fee_amount: new.platform_fee_amount,
            total_amount: new.total_amount,
            refunded_amount: 0,
            shipping_address: new.shipping_address.clone(),
            note: new.note.clone(),
            created_at: new.created_at,
            updated_at: new.created_at,
            expires_at: new.expires_at,
            paid_at: None,
            fulfilled_at: None,
            completed_at: None,
            cancelled_at: None,
        };
        commerce
            .orders
            .push((order.clone(), new.idempotency_key.clone()));
        drop(commerce);
        self.world().announce("order.created");
        Ok(CreateOrderOutcome::Created(order))
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        Ok(self.commerce().order_mut(id).map(|o| o.clone()))
    }

    async fn orders_of(
        &self,
        user: UserId,
        role: OrderRole,
        status: Option<OrderStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Order>, Option<Cursor>)> {
        let mut orders: Vec<Order> = self
            .commerce()
            .orders
            .iter()
            .map(|(o, _)| o.clone())
            .filter(|o| match role {
                OrderRole::Buyer => o.buyer_id == user,
                OrderRole::Seller => o.seller_id == user,
            })
            .filter(|o| status.is_none_or(|s| o.status == s))
            .collect();
        orders.reverse();
        let page = page_of(orders, after, limit)?;
        Ok((page.items, page.next_cursor))
    }

    async fn change_status(&self, change: StatusChange, event: NewEvent) -> Result<Option<Order>> {
        let mut commerce = self.commerce();
        commerce.fail_point("OrderRepo::change_status")?;
        let changed = commerce.apply_change(change);
        drop(commerce);
        if changed.is_some() {
            self.announce_events(std::slice::from_ref(&event));
        }
        Ok(changed)
    }

    async fn expired_orders(&self, now: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        Ok(self
            .commerce()
            .orders
            .iter()
            .map(|(o, _)| o)
            .filter(|o| o.status == OrderStatus::PendingPayment && o.expires_at < now)
            .take(limit as usize)
            .map(|o| o.id)
            .collect())
    }

    async fn fulfilled_before(&self, before: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        Ok(self
            .commerce()
            .orders
            .iter()
            .map(|(o, _)| o)
            .filter(|o| {
                o.status == OrderStatus::Fulfilled && o.fulfilled_at.is_some_and(|f| f < before)
            })
            .take(limit as usize)
            .map(|o| o.id)
            .collect())
    }
}
