//! What a sync pulled, kept in one transaction per batch: events created or updated by UID (or
//! in place through their link) with their links, removed ones deleted with their links; an event
//! that follows a booking is never changed, revived, linked or deleted by a pull or an import.

use vendrome_core::calendar::integrations::{IntegrationRepo, Pulled, PulledEvent};
use vendrome_core::calendar::{CalendarEvent, CalendarRepo, EventFields, Upserted};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::CalendarEventId;
use vendrome_core::time;
use vendrome_store::Store;

use crate::booking_events::{booked, events_of, nine, step};
use crate::calendar::{at, fields};
use crate::calendar_integrations::new;
use crate::graph::user;

conformance!(calendar_pulls_keep_batches_and_leave_managed_events);

fn pulled(uid: &str, f: &EventFields, linked: Option<CalendarEventId>, ext: &str) -> PulledEvent {
    PulledEvent {
        ical_uid: uid.into(),
        fields: f.clone(),
        linked,
        external_event_id: ext.into(),
        etag: Some(format!("\"{ext}-1\"")),
    }
}

async fn calendar_pulls_keep_batches_and_leave_managed_events(store: Store) {
    let (provider, client) = (user(&store).await, user(&store).await);
    let b = booked(&store, client, provider, nine()).await;
    let b = step(
        &store,
        &b,
        BookingStatus::Requested,
        BookingStatus::Confirmed,
    )
    .await
    .unwrap();
    let managed: CalendarEvent = events_of(&store, provider, &b).await.remove(0);
    let integration = store
        .create_integration(&new(provider, "https://dav/p/", "k1"))
        .await
        .unwrap()
        .id;

    // A new remote event, one carrying the booking's UID, one linked to the booking's event.
    let remote = fields("Remote", at(3, 9), vec![]);
    let moved = fields("Moved by the provider", at(4, 9), vec![]);
    let outcomes = store
        .store_pulled(
            integration,
            provider,
            &[
                pulled("r1@x", &remote, None, "ext-r1"),
                pulled(&managed.ical_uid, &moved, None, "ext-b"),
                pulled("other@x", &moved, Some(managed.id), "ext-b2"),
            ],
            time::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [Pulled::Created, Pulled::Managed, Pulled::Managed]
    );
    assert_eq!(
        store.event(managed.id).await.unwrap(),
        Some(managed.clone())
    );
    for ext in ["ext-b", "ext-b2"] {
        assert_eq!(store.event_link(integration, ext).await.unwrap(), None);
    }
    let link = store
        .event_link(integration, "ext-r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.etag.as_deref(), Some("\"ext-r1-1\""));
    let r1 = store.event(link.event_id).await.unwrap().unwrap();
    assert_eq!(
        (r1.ical_uid.as_str(), r1.fields.title.as_str()),
        ("r1@x", "Remote")
    );

    // Changed remotely: updated in place through its link, whatever UID it carries now.
    let outcomes = store
        .store_pulled(
            integration,
            provider,
            &[pulled("renamed@x", &moved, Some(r1.id), "ext-r1")],
            time::now(),
        )
        .await
        .unwrap();
    assert_eq!(outcomes, [Pulled::Updated]);
    let r1 = store.event(r1.id).await.unwrap().unwrap();
    assert_eq!(
        (r1.sequence, r1.fields.title.as_str()),
        (1, "Moved by the provider")
    );

    // An import of the booking's UID leaves it too.
    assert_eq!(
        store
            .upsert_by_uid(provider, &managed.ical_uid, &moved)
            .await
            .unwrap(),
        Upserted::Managed(managed.id)
    );
    assert_eq!(
        store.event(managed.id).await.unwrap(),
        Some(managed.clone())
    );

    // Removed remotely: the pulled event goes with its link; the booking's event stays, only
    // its link goes.
    store
        .save_link(&vendrome_core::calendar::integrations::EventLink {
            event_id: managed.id,
            integration_id: integration,
            external_event_id: "ext-m".into(),
            etag: None,
            last_synced_at: time::now(),
        })
        .await
        .unwrap();
    let deleted = store
        .delete_pulled(
            integration,
            &["ext-r1".into(), "ext-m".into(), "unknown".into()],
            time::now(),
        )
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(store.event(r1.id).await.unwrap(), None);
    assert_eq!(
        store.event(managed.id).await.unwrap(),
        Some(managed.clone())
    );
    for ext in ["ext-r1", "ext-m"] {
        assert_eq!(store.event_link(integration, ext).await.unwrap(), None);
    }

    // A deleted booking event stays deleted: neither a pull nor an import brings it back.
    let cancelled = step(
        &store,
        &b,
        BookingStatus::Confirmed,
        BookingStatus::Cancelled,
    )
    .await;
    assert!(cancelled.is_some());
    assert_eq!(store.event(managed.id).await.unwrap(), None);
    let outcomes = store
        .store_pulled(
            integration,
            provider,
            &[pulled(&managed.ical_uid, &moved, None, "ext-b")],
            time::now(),
        )
        .await
        .unwrap();
    assert_eq!(outcomes, [Pulled::Managed]);
    assert_eq!(
        store
            .upsert_by_uid(provider, &managed.ical_uid, &moved)
            .await
            .unwrap(),
        Upserted::Managed(managed.id)
    );
    assert_eq!(store.event(managed.id).await.unwrap(), None);
}
