//! Paid bookings: a booking awaiting payment holds its slot (against concurrent bookings too)
//! and is listed for expiry once its window lapses; a charge of a booking starts once and not
//! for a paid booking; concurrent deliveries of its success move the booking once, with one
//! posting and one event; a success landing after the booking was cancelled leaves it cancelled.

use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use serde_json::json;
use vendrome_core::bookings::{
    on_payment, Booking, BookingChange, BookingRepo, CreateBookingOutcome, NewBooking,
};
use vendrome_core::enums::{
    BookingStatus, PaymentKind, PaymentProvider, PaymentStatus, PostType, PostVisibility,
};
use vendrome_core::events::{DomainEvent, PaymentChanged};
use vendrome_core::ids::{PaymentId, PostId, UserId};
use vendrome_core::ledger::{postings, LedgerRepo};
use vendrome_core::money::Money;
use vendrome_core::outbox::NewEvent;
use vendrome_core::payments::{
    can_move, Delivery, DeliveryTarget, Found, NewPayment, NextAction, Payment, PaymentRepo,
    Processed, ProviderCalled, SettleOutcome, Settlement, StartOutcome, WebhookInbox,
};
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::Store;

use crate::bookings::{create, new_booking};
use crate::graph::user;
use crate::orders::count_events;
use crate::payments::started;
use crate::posts::new_post;

conformance!(
    a_booking_awaiting_payment_holds_its_slot_until_it_expires,
    concurrent_deliveries_of_a_bookings_success_move_it_once,
    a_success_after_the_booking_was_cancelled_leaves_it_cancelled
);

const PRICE: i64 = 50_000;
const FEE: i64 = 2_500;

/// A live service post of `provider` at [`PRICE`], one hour long.
async fn paid_service(store: &Store, provider: UserId, auto_confirm: bool) -> PostId {
    let fields = json!({"title": "Advice", "rate_minor": PRICE, "currency": "ZAR",
        "rate_unit": "fixed", "duration_minutes": 60, "auto_confirm": auto_confirm});
    let payload = PostPayload::parse(PostType::Service, Some(&fields)).unwrap();
    store
        .create_post(new_post(provider, payload, PostVisibility::Public))
        .await
        .unwrap()
}

fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2030, 7, 1, 9, 0, 0).unwrap()
}

fn awaiting(post: PostId, client: UserId, provider: UserId, key: &str) -> NewBooking {
    NewBooking {
        status: BookingStatus::AwaitingPayment,
        amount: PRICE,
        platform_fee_amount: FEE,
        ..new_booking(post, client, provider, at(), 60, 0, key)
    }
}

/// A booking awaiting payment of a [`paid_service`]; the booking and its client.
async fn booked(store: &Store, auto_confirm: bool) -> Booking {
    let (provider, client) = (user(store).await, user(store).await);
    let post = paid_service(store, provider, auto_confirm).await;
    match create(store, &awaiting(post, client, provider, "pay")).await {
        CreateBookingOutcome::Created(b) => b,
        other => panic!("expected a booking, got {other:?}"),
    }
}

fn charge_of(booking: &Booking, key: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        kind: PaymentKind::Charge,
        provider: PaymentProvider::Sandbox,
        payer_id: booking.client_id,
        payee_id: Some(booking.provider_id),
        order_id: None,
        booking_id: Some(booking.id),
        marketing_campaign_id: None,
        commitment_id: None,
        refund_of: None,
        amount: Money::new(booking.amount, booking.currency),
        fee_amount: booking.platform_fee_amount,
        idempotency_key: format!("booking:{}:{key}", booking.id),
        method: None,
        return_url: None,
        created_at: time::now(),
    }
}

/// A charge of the booking the provider knows as `reference`, at `processing`.
async fn charged(store: &Store, booking: &Booking, reference: &str) -> Payment {
    let payment = started(store, &charge_of(booking, "c")).await;
    store
        .provider_called(&ProviderCalled {
            payment_id: payment.id,
            reference: reference.into(),
            status: PaymentStatus::Processing,
            next_action: NextAction::None,
            at: time::now(),
        })
        .await
        .unwrap()
}

/// What a succeeded charge writes, with the booking's move when `booking` is given.
fn succeeded(
    payment: &Payment,
    booking: Option<&vendrome_core::bookings::PaidBooking>,
    at: Timestamp,
) -> Settlement {
    let posting = postings::charge_succeeded(
        payment.id,
        payment.provider,
        payment.amount,
        Money::new(payment.fee_amount, payment.amount.currency),
        payment.payee_id.unwrap(),
    )
    .unwrap();
    let announce = PaymentChanged {
        payment_id: payment.id,
        order_id: None,
        payer_id: payment.payer_id,
        payee_id: payment.payee_id,
        provider: payment.provider,
        status: PaymentStatus::Succeeded,
        amount: payment.amount.amount,
        currency: payment.amount.currency,
    };
    Settlement {
        payment_id: payment.id,
        status: PaymentStatus::Succeeded,
        reference: None,
        failure_code: None,
        failure_message: None,
        posting: Some(posting),
        refund_share: None,
        order_change: None,
        order_refund: None,
        booking_move: booking.and_then(|b| on_payment(b, at)),
        campaign_funded: None,
        commitment_move: None,
        events: vec![NewEvent::new(DomainEvent::PaymentSucceeded(announce))],
        at,
    }
}

async fn a_booking_awaiting_payment_holds_its_slot_until_it_expires(store: Store) {
    let (provider, first, second) = (user(&store).await, user(&store).await, user(&store).await);
    let post = paid_service(&store, provider, false).await;
    let waiting = match create(&store, &awaiting(post, first, provider, "a")).await {
        CreateBookingOutcome::Created(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(waiting.status, BookingStatus::AwaitingPayment);
    assert_eq!((waiting.amount, waiting.platform_fee_amount), (PRICE, FEE));

    // Concurrent requests for an overlapping slot: the waiting booking holds it.
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..5)
        .map(|n| {
            let store = store.clone();
            let b = new_booking(
                post,
                second,
                provider,
                at() + Duration::minutes(30),
                60,
                0,
                &format!("o{n}"),
            );
            tokio::spawn(async move { create(&store, &b).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), CreateBookingOutcome::Taken);
    }
    let taken = store
        .taken(
            provider,
            at() - Duration::hours(1),
            at() + Duration::hours(3),
        )
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "{taken:?}");

    // Listed for expiry once made before the cut-off, oldest first, up to the limit.
    let made = waiting.created_at;
    assert_eq!(
        store
            .awaiting_payment_before(made + Duration::seconds(1), 10)
            .await
            .unwrap(),
        vec![waiting.id]
    );
    assert!(store
        .awaiting_payment_before(made, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .awaiting_payment_before(made + Duration::seconds(1), 0)
        .await
        .unwrap()
        .is_empty());

    // Cancelled (its window lapsed), it frees the slot and is no longer listed.
    let expiry = BookingChange {
        booking_id: waiting.id,
        from: BookingStatus::AwaitingPayment,
        to: BookingStatus::Cancelled,
        at: time::now(),
        refund_amount: 0,
        cancel_reason: Some("not paid in time".into()),
    };
    let event = vendrome_core::bookings::changed_event(&waiting, BookingStatus::Cancelled, 0);
    let cancelled = store.change_status(&expiry, event).await.unwrap().unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert!(store
        .awaiting_payment_before(made + Duration::seconds(1), 10)
        .await
        .unwrap()
        .is_empty());
    let later = new_booking(
        post,
        second,
        provider,
        at() + Duration::minutes(30),
        60,
        0,
        "after",
    );
    assert!(matches!(
        create(&store, &later).await,
        CreateBookingOutcome::Created(_)
    ));
}

fn delivery(event_id: &str, reference: &str, at: Timestamp) -> Delivery {
    Delivery {
        provider: PaymentProvider::Sandbox,
        event_id: event_id.into(),
        event_type: "payment.updated".into(),
        payload: json!({ "id": event_id }),
        target: Some(DeliveryTarget {
            reference: reference.into(),
            payment_id: None,
        }),
        at,
    }
}

async fn concurrent_deliveries_of_a_bookings_success_move_it_once(store: Store) {
    let booking = booked(&store, true).await;
    let payment = charged(&store, &booking, "sb_booking").await;
    assert_eq!(payment.booking_id, Some(booking.id));
    assert_eq!(payment.order_id, None);
    let listed = store.payments_for_booking(booking.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, payment.id);

    let store = Arc::new(store);
    let now = time::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let plan = |found: &Found| {
                    if !can_move(found.payment.status, PaymentStatus::Succeeded) {
                        return Ok(None);
                    }
                    let paid = found
                        .booking
                        .as_ref()
                        .expect("the charge's booking is read");
                    assert!(paid.auto_confirm, "with its service's setting");
                    assert_eq!(paid.booking.status, BookingStatus::AwaitingPayment);
                    Ok(Some(succeeded(&found.payment, Some(paid), now)))
                };
                store
                    .process(&delivery("evt_booking", "sb_booking", now), &plan)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Processed::Applied(_) => applied += 1,
            Processed::Duplicate | Processed::Stale(_) => {}
            Processed::Ignored => panic!("the payment is known"),
        }
    }
    assert_eq!(applied, 1);
    let moved = store.booking(booking.id).await.unwrap().unwrap();
    assert_eq!(moved.status, BookingStatus::Confirmed, "auto-confirmed");
    assert_eq!(count_events(&store, "booking.confirmed").await, 1);
    assert_eq!(count_events(&store, "payment.succeeded").await, 1);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(check.transactions, 1, "one posting");

    // A second charge of the paid booking is refused; the same key finds the first.
    assert!(matches!(
        store.start(&charge_of(&booking, "again")).await.unwrap(),
        StartOutcome::AlreadyPaid(p) if p.id == payment.id
    ));
    assert!(matches!(
        store.start(&charge_of(&booking, "c")).await.unwrap(),
        StartOutcome::Existing(p) if p.id == payment.id
    ));
}

async fn a_success_after_the_booking_was_cancelled_leaves_it_cancelled(store: Store) {
    let booking = booked(&store, false).await;
    let payment = charged(&store, &booking, "sb_late").await;
    let paid = vendrome_core::bookings::PaidBooking {
        booking: booking.clone(),
        auto_confirm: false,
    };
    // The expiry gets there first.
    let expiry = BookingChange {
        booking_id: booking.id,
        from: BookingStatus::AwaitingPayment,
        to: BookingStatus::Cancelled,
        at: time::now(),
        refund_amount: 0,
        cancel_reason: None,
    };
    let event = vendrome_core::bookings::changed_event(&booking, BookingStatus::Cancelled, 0);
    store.change_status(&expiry, event).await.unwrap().unwrap();
    // The settlement was decided from the booking as it was: its move does not apply.
    let settlement = succeeded(&payment, Some(&paid), time::now());
    assert!(settlement.booking_move.is_some());
    assert!(matches!(
        store.settle(&settlement).await.unwrap(),
        SettleOutcome::Applied(_)
    ));
    let after = store.booking(booking.id).await.unwrap().unwrap();
    assert_eq!(after.status, BookingStatus::Cancelled);
    assert_eq!(
        count_events(&store, "booking.requested").await,
        1,
        "only its creation"
    );
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
}
