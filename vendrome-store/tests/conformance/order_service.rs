//! The order service's rules over the real store: validation codes, pricing and fee rounding,
//! who may see and move an order, and the expiry and auto-completion tasks.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use vendrome_core::access::Caller;
use vendrome_core::enums::{OrderStatus, PostType, PostVisibility, UserRole};
use vendrome_core::ids::{OrderId, PostId};
use vendrome_core::orders::{
    LineRequest, Order, OrderConfig, OrderRepo, OrderRole, OrderService, PlaceOrder, StatusChange,
};
use vendrome_core::page::Limit;
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::time;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::graph::{caller, user};
use crate::orders::{product, stock};
use crate::posts::new_post;

conformance!(
    placing_validates_and_prices_orders,
    only_the_parties_see_and_move_an_order,
    expiry_and_auto_completion_run_as_the_system
);

fn service(store: &Store) -> OrderService {
    OrderService::new(Arc::new(store.clone()), OrderConfig::default())
}

fn ask(lines: &[(PostId, i32)], key: &str) -> PlaceOrder {
    PlaceOrder {
        lines: lines
            .iter()
            .map(|&(post_id, quantity)| LineRequest { post_id, quantity })
            .collect(),
        idempotency_key: key.into(),
        shipping_address: None,
        note: Some("Leave at the door".into()),
    }
}

fn field_codes(error: Error) -> Vec<(String, &'static str)> {
    match error {
        Error::Invalid(errors) => errors
            .fields()
            .iter()
            .flat_map(|(f, issues)| issues.iter().map(move |i| (f.clone(), i.code)))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn code(result: vendrome_core::Result<Order>) -> &'static str {
    match result {
        Err(Error::Unprocessable { code, .. } | Error::Conflict { code, .. }) => code,
        other => panic!("expected a coded refusal, got {other:?}"),
    }
}

async fn placing_validates_and_prices_orders(store: Store) {
    let svc = service(&store);
    let (seller, other_seller, buyer) =
        (user(&store).await, user(&store).await, user(&store).await);
    let me = caller(buyer);
    let now = time::now();
    let mug = product(&store, seller, 1050, Some(3)).await;
    let cup = product(&store, seller, 200, None).await;
    let theirs = product(&store, other_seller, 100, None).await;
    let dollars = PostPayload::parse(
        PostType::Product,
        Some(&json!({"title": "Hat", "price_minor": 900, "currency": "USD"})),
    )
    .unwrap();
    let hat = store
        .create_post(new_post(seller, dollars, PostVisibility::Public))
        .await
        .unwrap();
    let text = store
        .create_post(new_post(
            seller,
            PostPayload::parse(PostType::Text, None).unwrap(),
            PostVisibility::Public,
        ))
        .await
        .unwrap();

    let empty = svc.place(&me, ask(&[], "a"), now).await.unwrap_err();
    assert_eq!(
        field_codes(empty),
        vec![("items".to_owned(), "out_of_range")]
    );
    let lines: Vec<_> = (0..21).map(|_| (PostId::new(), 1)).collect();
    assert!(
        field_codes(svc.place(&me, ask(&lines, "a"), now).await.unwrap_err())
            .contains(&("items".to_owned(), "out_of_range"))
    );
    let bad = svc
        .place(&me, ask(&[(mug, 0), (cup, 101), (cup, 1)], "a"), now)
        .await
        .unwrap_err();
    assert_eq!(
        field_codes(bad),
        vec![
            ("items.0.quantity".to_owned(), "out_of_range"),
            ("items.1.quantity".to_owned(), "out_of_range"),
            ("items.2.post_id".to_owned(), "duplicate"),
        ]
    );
    let not_products = svc
        .place(&me, ask(&[(text, 1), (PostId::new(), 1)], "a"), now)
        .await
        .unwrap_err();
    assert_eq!(
        field_codes(not_products),
        vec![
            ("items.0.post_id".to_owned(), "not_a_product"),
            ("items.1.post_id".to_owned(), "not_a_product"),
        ]
    );
    assert_eq!(
        code(
            svc.place(&me, ask(&[(mug, 1), (theirs, 1)], "a"), now)
                .await
        ),
        "mixed_sellers"
    );
    assert_eq!(
        code(svc.place(&me, ask(&[(mug, 1), (hat, 1)], "a"), now).await),
        "mixed_currencies"
    );
    assert_eq!(
        code(svc.place(&caller(seller), ask(&[(mug, 1)], "a"), now).await),
        "own_listing"
    );
    let short = svc
        .place(&me, ask(&[(mug, 4)], "a"), now)
        .await
        .unwrap_err();
    assert!(
        matches!(&short, Error::Conflict { code: "out_of_stock", message } if message.contains(&mug.to_string()))
    );

    // 1 × 10.50 + 2 × 2.00 = 14.50; 5 % of it is 72.5 cents, rounded half-up to 73.
    let order = svc
        .place(&me, ask(&[(mug, 1), (cup, 2)], "k"), now)
        .await
        .unwrap();
    assert_eq!(
        (
            order.subtotal_amount,
            order.shipping_amount,
            order.total_amount,
            order.platform_fee_amount
        ),
        (1450, 0, 1450, 73)
    );
    assert_eq!(
        (order.buyer_id, order.seller_id, order.status),
        (buyer, seller, OrderStatus::PendingPayment)
    );
    assert_eq!(order.expires_at, now + Duration::minutes(30));
    assert_eq!(order.note.as_deref(), Some("Leave at the door"));
    assert_eq!(stock(&store, mug).await, Some(2));
    let again = svc
        .place(&me, ask(&[(mug, 1), (cup, 2)], "k"), now)
        .await
        .unwrap();
    assert_eq!(again, order);
    assert_eq!(stock(&store, mug).await, Some(2));
}

async fn only_the_parties_see_and_move_an_order(store: Store) {
    let svc = service(&store);
    let (seller, buyer, stranger, admin) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    let admin = Caller {
        user_id: admin,
        role: UserRole::Admin,
    };
    let post = product(&store, seller, 500, Some(5)).await;
    let now = time::now();
    let order = svc
        .place(&caller(buyer), ask(&[(post, 2)], "k"), now)
        .await
        .unwrap();
    for who in [caller(buyer), caller(seller), admin] {
        assert_eq!(svc.get(&who, order.id).await.unwrap().id, order.id);
    }
    assert!(matches!(
        svc.get(&caller(stranger), order.id).await,
        Err(Error::NotFound { what: "order" })
    ));
    assert!(matches!(
        svc.get(&caller(buyer), OrderId::new()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        svc.cancel(&caller(stranger), order.id, now).await,
        Err(Error::NotFound { what: "order" })
    ));
    // Unpaid: nobody fulfils it; the buyer cancels it and the stock comes back.
    assert!(matches!(
        svc.fulfil(&caller(seller), order.id, now).await,
        Err(Error::Conflict {
            code: "invalid_order_transition",
            ..
        })
    ));
    let cancelled = svc.cancel(&caller(buyer), order.id, now).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(stock(&store, post).await, Some(5));
    assert!(matches!(
        svc.cancel(&caller(seller), order.id, now).await,
        Err(Error::Conflict {
            code: "invalid_order_transition",
            ..
        })
    ));
    let page = svc
        .list(
            &caller(seller),
            OrderRole::Seller,
            Some(OrderStatus::Cancelled),
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let none = svc
        .list(
            &caller(stranger),
            OrderRole::Buyer,
            None,
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
}

async fn expiry_and_auto_completion_run_as_the_system(store: Store) {
    let short = OrderConfig {
        expiry: std::time::Duration::from_secs(60),
        ..OrderConfig::default()
    };
    let svc = OrderService::new(Arc::new(store.clone()), short);
    let (seller, buyer) = (user(&store).await, user(&store).await);
    let post = product(&store, seller, 500, Some(5)).await;
    let now = time::now();
    let order = svc
        .place(&caller(buyer), ask(&[(post, 2)], "k"), now)
        .await
        .unwrap();
    assert_eq!(svc.expire_due(now, 10).await.unwrap(), 0);
    let later = now + Duration::minutes(2);
    assert_eq!(svc.expire_due(later, 10).await.unwrap(), 1);
    assert_eq!(svc.expire_due(later, 10).await.unwrap(), 0);
    assert_eq!(
        svc.get(&caller(buyer), order.id).await.unwrap().status,
        OrderStatus::Cancelled
    );
    assert_eq!(stock(&store, post).await, Some(5));

    // A paid, fulfilled order completes on its own 14 days after fulfilment.
    let paid = svc
        .place(&caller(buyer), ask(&[(post, 1)], "p"), now)
        .await
        .unwrap();
    store
        .change_status(
            StatusChange {
                order_id: paid.id,
                from: OrderStatus::PendingPayment,
                to: OrderStatus::Paid,
                at: now,
            },
            crate::orders::event_for(&paid, OrderStatus::Paid),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        svc.fulfil(&caller(buyer), paid.id, now).await,
        Err(Error::Forbidden {
            code: "not_order_party_action",
            ..
        })
    ));
    svc.fulfil(&caller(seller), paid.id, now).await.unwrap();
    assert_eq!(
        svc.complete_due(now + Duration::days(13), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        svc.complete_due(now + Duration::days(15), 10)
            .await
            .unwrap(),
        1
    );
    let done = svc.get(&caller(seller), paid.id).await.unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
}
