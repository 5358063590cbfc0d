//! Orders: stock reserved atomically under concurrency, idempotent creation, compare-and-set
//! status changes that give stock back once, and paging by role and status.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use vendrome_core::enums::{OrderStatus, PostType, PostVisibility};
use vendrome_core::events::{DomainEvent, OrderChanged};
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::orders::{
    CreateOrderOutcome, NewOrder, Order, OrderItem, OrderRepo, OrderRole, StatusChange,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::Limit;
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::{with_db, Store};

use crate::graph::user;
use crate::posts::new_post;

conformance!(
    fifty_buyers_of_ten_in_stock_make_ten_orders,
    concurrent_orders_of_two_products_reserve_both_lines_or_neither,
    untracked_stock_never_runs_out,
    creating_an_order_is_idempotent_per_buyer_and_key,
    two_expirers_give_stock_back_once,
    status_changes_are_compare_and_set,
    orders_page_by_role_and_status
);

pub fn zar() -> Currency {
    Currency::parse("ZAR").unwrap()
}

/// A live product post of `seller` at `price` cents, with `stock` (`None`: untracked).
pub async fn product(store: &Store, seller: UserId, price: i64, stock: Option<i32>) -> PostId {
    let mut fields = json!({"title": "Mug", "price_minor": price, "currency": "ZAR"});
    if let Some(stock) = stock {
        fields["stock_quantity"] = json!(stock);
    }
    let payload = PostPayload::parse(PostType::Product, Some(&fields)).unwrap();
    store
        .create_post(new_post(seller, payload, PostVisibility::Public))
        .await
        .unwrap()
}

/// An order of `quantity` of `post` at `price`, with no fee, due in 30 minutes.
pub fn new_order(
    buyer: UserId,
    seller: UserId,
    lines: &[(PostId, i32)],
    price: i64,
    key: &str,
) -> NewOrder {
    let now = time::now();
    let items: Vec<OrderItem> = lines
        .iter()
        .map(|&(post_id, quantity)| OrderItem {
            id: OrderItemId::new(),
            post_id,
            title: "Mug".into(),
            unit_amount: price,
            quantity,
            line_amount: price * i64::from(quantity),
        })
        .collect();
    let total = items.iter().map(|i| i.line_amount).sum();
    NewOrder {
        id: OrderId::new(),
        buyer_id: buyer,
        seller_id: seller,
        currency: zar(),
        items,
        subtotal_amount: total,
        shipping_amount: 0,
        platform_fee_amount: 0,
        total_amount: total,
        idempotency_key: key.into(),
        shipping_address: Some(json!({"city": "Cape Town"})),
        note: None,
        created_at: now,
        expires_at: now + Duration::minutes(30),
    }
}

/// Places `order`; the order answered (built from what was written, not read back) must be the
/// order as the store then reads it.
pub async fn placed(store: &Store, order: &NewOrder) -> Order {
    match store.create_order(order).await.unwrap() {
        CreateOrderOutcome::Created(o) => {
            let stored = store.order(o.id).await.unwrap();
            assert_eq!(
                stored.as_ref(),
                Some(&o),
                "the created order as the store reads it"
            );
            o
        }
        other => panic!("expected a new order, got {other:?}"),
    }
}

pub async fn stock(store: &Store, post: PostId) -> Option<i32> {
    let sql = "SELECT stock_quantity FROM post_products WHERE post_id = $1";
    with_db!(store.db(), pool => sqlx::query_scalar(sql).bind(post.as_uuid()).fetch_one(pool).await)
        .unwrap()
}

pub async fn count_events(store: &Store, kind: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM outbox_events WHERE event_type = $1";
    with_db!(store.db(), pool => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await).unwrap()
}

pub fn event_for(order: &Order, to: OrderStatus) -> NewEvent {
    let payload = OrderChanged {
        order_id: order.id,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        status: to,
        total_amount: order.total_amount,
        refunded_amount: order.refunded_amount,
        currency: order.currency,
    };
    NewEvent::new(match to {
        OrderStatus::Paid => DomainEvent::OrderPaid(payload),
        OrderStatus::Cancelled => DomainEvent::OrderCancelled(payload),
        OrderStatus::Fulfilled => DomainEvent::OrderFulfilled(payload),
        OrderStatus::Completed => DomainEvent::OrderCompleted(payload),
        OrderStatus::Refunded => DomainEvent::OrderRefunded(payload),
        OrderStatus::PendingPayment => DomainEvent::OrderCreated(payload),
    })
}

pub fn change(order: &Order, from: OrderStatus, to: OrderStatus, at: Timestamp) -> StatusChange {
    StatusChange {
        order_id: order.id,
        from,
        to,
        at,
    }
}

async fn fifty_buyers_of_ten_in_stock_make_ten_orders(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, Some(10)).await;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        buyers.push(user(&store).await);
    }
    let store = Arc::new(store);
    let tasks: Vec<_> = buyers
        .into_iter()
        .map(|buyer| {
            let store = store.clone();
            tokio::spawn(async move {
                let order = new_order(buyer, seller, &[(post, 1)], 1500, "k");
                store.create_order(&order).await.unwrap()
            })
        })
        .collect();
    let (mut created, mut out) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            CreateOrderOutcome::Created(_) => created += 1,
            CreateOrderOutcome::OutOfStock { post_id } => {
                assert_eq!(post_id, post);
                out += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, out), (10, 40));
    assert_eq!(stock(&store, post).await, Some(0));
    assert_eq!(count_events(&store, "order.created").await, 10);
}

async fn untracked_stock_never_runs_out(store: Store) {
    let seller = user(&store).await;
    let buyer = user(&store).await;
    let untracked = product(&store, seller, 700, None).await;
    let tracked = product(&store, seller, 700, Some(2)).await;
    for n in 0..5 {
        placed(
            &store,
            &new_order(buyer, seller, &[(untracked, 100)], 700, &format!("u{n}")),
        )
        .await;
    }
    assert_eq!(stock(&store, untracked).await, None);

    // All lines or none: the tracked line is short, so the untracked one reserves nothing either.
    let short = new_order(buyer, seller, &[(untracked, 1), (tracked, 3)], 700, "short");
    assert_eq!(
        store.create_order(&short).await.unwrap(),
        CreateOrderOutcome::OutOfStock { post_id: tracked }
    );
    assert_eq!(stock(&store, tracked).await, Some(2));
    assert_eq!(store.order(short.id).await.unwrap(), None);
    // Both lines, given in either order, come back in the order the store reads them.
    let both = placed(
        &store,
        &new_order(buyer, seller, &[(tracked, 1), (untracked, 1)], 700, "both"),
    )
    .await;
    assert_eq!(both.items.len(), 2);
}

async fn creating_an_order_is_idempotent_per_buyer_and_key(store: Store) {
    let seller = user(&store).await;
    let (buyer, other) = (user(&store).await, user(&store).await);
    let post = product(&store, seller, 1500, Some(10)).await;
    let first = placed(
        &store,
        &new_order(buyer, seller, &[(post, 2)], 1500, "key-1"),
    )
    .await;
    assert_eq!(first.status, OrderStatus::PendingPayment);
    assert_eq!((first.items.len(), first.total_amount), (1, 3000));
    assert_eq!(first.shipping_address, Some(json!({"city": "Cape Town"})));

    let retry = new_order(buyer, seller, &[(post, 2)], 1500, "key-1");
    assert_eq!(
        store.create_order(&retry).await.unwrap(),
        CreateOrderOutcome::Existing(first.clone())
    );
    assert_eq!(
        stock(&store, post).await,
        Some(8),
        "a retry reserves nothing"
    );
    // The key is the buyer's own: another buyer's same key is another order.
    placed(
        &store,
        &new_order(other, seller, &[(post, 1)], 1500, "key-1"),
    )
    .await;
    assert_eq!(stock(&store, post).await, Some(7));
    assert_eq!(store.order(first.id).await.unwrap(), Some(first.clone()));
    // A retry after the stock ran out still answers the order its key made.
    placed(
        &store,
        &new_order(other, seller, &[(post, 7)], 1500, "key-2"),
    )
    .await;
    assert_eq!(stock(&store, post).await, Some(0));
    assert_eq!(
        store.create_order(&retry).await.unwrap(),
        CreateOrderOutcome::Existing(first)
    );
}

/// Thirty buyers at once, each ordering one of two products (ten and five in stock) with their
/// lines in either order: an order takes both lines or neither, so exactly five are made, the
/// first product keeps five, and nobody waits on anybody in a cycle.
async fn concurrent_orders_of_two_products_reserve_both_lines_or_neither(store: Store) {
    let seller = user(&store).await;
    let ten = product(&store, seller, 300, Some(10)).await;
    let five = product(&store, seller, 300, Some(5)).await;
    let mut buyers = Vec::new();
    for _ in 0..30 {
        buyers.push(user(&store).await);
    }
    let store = Arc::new(store);
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(n, buyer)| {
            let store = store.clone();
            let lines = if n % 2 == 0 {
                [(ten, 1), (five, 1)]
            } else {
                [(five, 1), (ten, 1)]
            };
            tokio::spawn(async move {
                let order = new_order(buyer, seller, &lines, 300, "both");
                store.create_order(&order).await.unwrap()
            })
        })
        .collect();
    let (mut created, mut out) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            CreateOrderOutcome::Created(order) => {
                assert_eq!(order.items.len(), 2);
                created += 1;
            }
            CreateOrderOutcome::OutOfStock { post_id } => {
                assert_eq!(post_id, five, "only the second product runs out");
                out += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, out), (5, 25));
    assert_eq!(stock(&store, ten).await, Some(5));
    assert_eq!(stock(&store, five).await, Some(0));
    assert_eq!(count_events(&store, "order.created").await, 5);
}

async fn two_expirers_give_stock_back_once(store: Store) {
    let seller = user(&store).await;
    let buyer = user(&store).await;
    let post = product(&store, seller, 1500, Some(5)).await;
    let mut order = new_order(buyer, seller, &[(post, 3)], 1500, "x");
    order.expires_at = order.created_at - Duration::minutes(1);
    let order = placed(&store, &order).await;
    let live = placed(&store, &new_order(buyer, seller, &[(post, 1)], 1500, "y")).await;
    assert_eq!(stock(&store, post).await, Some(1));

    let due = store.expired_orders(time::now(), 10).await.unwrap();
    assert_eq!(due, vec![order.id]);
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, order) = (store.clone(), order.clone());
            tokio::spawn(async move {
                let at = time::now();
                let cancel = change(
                    &order,
                    OrderStatus::PendingPayment,
                    OrderStatus::Cancelled,
                    at,
                );
                store
                    .change_status(cancel, event_for(&order, OrderStatus::Cancelled))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut moved = 0;
    for task in tasks {
        if let Some(cancelled) = task.await.unwrap() {
            assert_eq!(cancelled.status, OrderStatus::Cancelled);
            assert!(cancelled.cancelled_at.is_some());
            moved += 1;
        }
    }
    assert_eq!(moved, 1);
    assert_eq!(stock(&store, post).await, Some(4), "the 3 come back once");
    assert_eq!(count_events(&store, "order.cancelled").await, 1);
    assert!(store
        .expired_orders(time::now(), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.order(live.id).await.unwrap().unwrap().status,
        OrderStatus::PendingPayment
    );
}

async fn status_changes_are_compare_and_set(store: Store) {
    let seller = user(&store).await;
    let buyer = user(&store).await;
    let post = product(&store, seller, 1500, Some(5)).await;
    let order = placed(&store, &new_order(buyer, seller, &[(post, 1)], 1500, "cas")).await;
    let at = time::now();
    let pay = change(&order, OrderStatus::PendingPayment, OrderStatus::Paid, at);
    let paid = store
        .change_status(pay, event_for(&order, OrderStatus::Paid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((paid.status, paid.paid_at), (OrderStatus::Paid, Some(at)));
    // From a status the order has left: nothing moves, nothing is announced, no stock returns.
    let late = change(
        &order,
        OrderStatus::PendingPayment,
        OrderStatus::Cancelled,
        at,
    );
    assert_eq!(
        store
            .change_status(late, event_for(&order, OrderStatus::Cancelled))
            .await
            .unwrap(),
        None
    );
    assert_eq!(stock(&store, post).await, Some(4));
    assert_eq!(count_events(&store, "order.cancelled").await, 0);

    let fulfil = change(&order, OrderStatus::Paid, OrderStatus::Fulfilled, at);
    let fulfilled = store
        .change_status(fulfil, event_for(&order, OrderStatus::Fulfilled))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fulfilled.fulfilled_at, Some(at));
    let later = at + Duration::days(15);
    assert_eq!(
        store.fulfilled_before(later, 10).await.unwrap(),
        vec![order.id]
    );
    assert!(store.fulfilled_before(at, 10).await.unwrap().is_empty());
    let complete = change(
        &order,
        OrderStatus::Fulfilled,
        OrderStatus::Completed,
        later,
    );
    let completed = store
        .change_status(complete, event_for(&order, OrderStatus::Completed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(completed.completed_at, Some(later));
    assert!(store.fulfilled_before(later, 10).await.unwrap().is_empty());
}

async fn orders_page_by_role_and_status(store: Store) {
    let (a, b) = (user(&store).await, user(&store).await);
    let post_of_b = product(&store, b, 100, None).await;
    let post_of_a = product(&store, a, 100, None).await;
    let mut bought = Vec::new();
    for n in 0..5 {
        bought.push(
            placed(
                &store,
                &new_order(a, b, &[(post_of_b, 1)], 100, &format!("a{n}")),
            )
            .await
            .id,
        );
    }
    let sold = placed(&store, &new_order(b, a, &[(post_of_a, 1)], 100, "b0")).await;
    let first = store.order(bought[0]).await.unwrap().unwrap();
    let pay = change(
        &first,
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        time::now(),
    );
    store
        .change_status(pay, event_for(&first, OrderStatus::Paid))
        .await
        .unwrap()
        .unwrap();

    let limit = Limit::parse(2).unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store
            .orders_of(a, OrderRole::Buyer, None, cursor.as_ref(), limit)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|o| o.id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let newest_first: Vec<OrderId> = bought.iter().rev().copied().collect();
    assert_eq!(seen, newest_first);

    let (paid, _) = store
        .orders_of(a, OrderRole::Buyer, Some(OrderStatus::Paid), None, limit)
        .await
        .unwrap();
    assert_eq!(
        paid.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![bought[0]]
    );
    let (as_seller, next) = store
        .orders_of(a, OrderRole::Seller, None, None, limit)
        .await
        .unwrap();
    assert_eq!(
        (as_seller.iter().map(|o| o.id).collect::<Vec<_>>(), next),
        (vec![sold.id], None)
    );
    let (b_sold, _) = store
        .orders_of(
            b,
            OrderRole::Seller,
            Some(OrderStatus::PendingPayment),
            None,
            Limit::parse(10).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(b_sold.len(), 4);
}

/// On PostgreSQL an order of untracked stock does not write (nor lock) its product's row, so
/// orders of one product do not queue on that row until each commits. Another transaction holds
/// the lock an order's stock update takes (`FOR NO KEY UPDATE`, as a tracked product's order or a
/// seller's edit of the product would); the order must go through without waiting for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_order_of_untracked_stock_takes_no_lock_on_its_product() {
    let Some((_db, store, pool)) = crate::postgres_only::database().await else {
        return;
    };
    let seller = user(&store).await;
    let buyer = user(&store).await;
    let post = product(&store, seller, 700, None).await;
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM post_products WHERE post_id = $1 FOR NO KEY UPDATE")
        .bind(post.as_uuid())
        .execute(&mut *other)
        .await
        .unwrap();
    let ordered = {
        let store = store.clone();
        tokio::spawn(async move {
            let order = new_order(buyer, seller, &[(post, 2)], 700, "untracked");
            store.create_order(&order).await.unwrap()
        })
    };
    // Either the order finishes, or it shows up waiting for a lock.
    while !ordered.is_finished() {
        assert_eq!(
            crate::postgres_only::waiting_for_a_lock(&pool).await,
            0,
            "the order waited for its product's row"
        );
        tokio::task::yield_now().await;
    }
    assert!(matches!(
        ordered.await.unwrap(),
        CreateOrderOutcome::Created(_)
    ));
    other.commit().await.unwrap();
    assert_eq!(stock(&store, post).await, None);
}
