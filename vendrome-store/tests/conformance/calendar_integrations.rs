//! Calendar integrations: stored with sealed credentials, unique per member and calendar, paged,
//! re-sealed by compare-and-set on the key id, sync outcomes moving `active` ⇄ `error` (a
//! rejected credential to `revoked`, which only a reconnection ends), the
//! links between native events and provider items (gone with their integration) and the
//! conflict log (kept).

use vendrome_core::calendar::integrations::{
    Conflict, EventLink, IntegrationRepo, NewIntegration, SealedCredentials, SyncOutcome,
};
use vendrome_core::calendar::CalendarRepo;
use vendrome_core::enums::{CalendarIntegrationStatus, CalendarProvider};
use vendrome_core::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId, UserId};
use vendrome_core::time;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::calendar::{at, fields};
use crate::graph::user;

conformance!(
    calendar_integrations_store_sealed_credentials,
    calendar_integrations_record_syncs_and_links,
    calendar_integrations_rejected_credentials_revoke_until_reconnected
);

pub(crate) fn new(user: UserId, calendar: &str, key: &str) -> NewIntegration {
    NewIntegration {
        id: CalendarIntegrationId::new(),
        user_id: user,
        provider: CalendarProvider::Caldav,
        provider_account_id: "alice".into(),
        account_email: None,
        external_calendar_id: calendar.into(),
        credentials: SealedCredentials {
            key_id: key.into(),
            access: vec![1, 2, 3],
            refresh: Some(vec![4, 5]),
        },
        token_expires_at: None,
        now: time::now(),
    }
}

async fn calendar_integrations_store_sealed_credentials(store: Store) {
    let (me, other) = (user(&store).await, user(&store).await);
    let first = store
        .create_integration(&new(me, "https://dav/a/", "k1"))
        .await
        .unwrap();
    assert_eq!(first.status, CalendarIntegrationStatus::Active);
    assert_eq!(first.credentials.as_ref().unwrap().access, vec![1, 2, 3]);
    assert_eq!(
        store.integration(first.id).await.unwrap(),
        Some(first.clone())
    );
    let dup = store
        .create_integration(&new(me, "https://dav/a/", "k1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            dup,
            Error::Conflict {
                code: "integration_exists",
                ..
            }
        ),
        "{dup:?}"
    );
    let second = store
        .create_integration(&new(me, "https://dav/b/", "k2"))
        .await
        .unwrap();
    store
        .create_integration(&new(other, "https://dav/a/", "k1"))
        .await
        .unwrap();

    // Pages of one member's integrations, by id.
    let page = store.integrations_of(me, None, 1).await.unwrap();
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), [first.id]);
    let next = store.integrations_of(me, Some(first.id), 10).await.unwrap();
    assert_eq!(next.iter().map(|i| i.id).collect::<Vec<_>>(), [second.id]);

    // What a rotation to k2 re-seals, and the compare-and-set on the key id.
    let stale = store.sealed_with_other_keys("k2", None, 10).await.unwrap();
    assert_eq!(stale.len(), 2);
    assert!(stale
        .iter()
        .all(|i| i.credentials.as_ref().unwrap().key_id == "k1"));
    let fresh = SealedCredentials {
        key_id: "k2".into(),
        access: vec![9],
        refresh: None,
    };
    assert!(!store
        .reseal(first.id, "k0", &fresh, time::now())
        .await
        .unwrap());
    assert!(store
        .reseal(first.id, "k1", &fresh, time::now())
        .await
        .unwrap());
    assert!(!store
        .reseal(first.id, "k1", &fresh, time::now())
        .await
        .unwrap());
    let read = store.integration(first.id).await.unwrap().unwrap();
    assert_eq!(read.credentials, Some(fresh));
    assert_eq!(
        store
            .sealed_with_other_keys("k2", None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(store.delete_integration(second.id).await.unwrap());
    assert!(!store.delete_integration(second.id).await.unwrap());
    assert_eq!(store.integration(second.id).await.unwrap(), None);
}

async fn calendar_integrations_record_syncs_and_links(store: Store) {
    let me = user(&store).await;
    let integration = store
        .create_integration(&new(me, "https://dav/a/", "k1"))
        .await
        .unwrap();
    let id = integration.id;
    let failed = SyncOutcome::Failed {
        error: "the server answered 500".into(),
    };
    store.record_sync(id, &failed, time::now()).await.unwrap();
    let read = store.integration(id).await.unwrap().unwrap();
    assert_eq!(read.status, CalendarIntegrationStatus::Error);
    assert_eq!(read.last_error.as_deref(), Some("the server answered 500"));
    assert_eq!(read.last_synced_at, None);
    let synced = SyncOutcome::Synced {
        cursor: Some("token-2".into()),
    };
    store.record_sync(id, &synced, time::now()).await.unwrap();
    let read = store.integration(id).await.unwrap().unwrap();
    assert_eq!(read.status, CalendarIntegrationStatus::Active);
    assert_eq!(read.last_error, None);
    assert_eq!(read.sync_cursor.as_deref(), Some("token-2"));
    assert!(read.last_synced_at.is_some());

    let event = store
        .create_event(
            CalendarEventId::new(),
            me,
            "remote@x",
            &fields("Remote", at(3, 9), vec![]),
        )
        .await
        .unwrap();
    let link = EventLink {
        event_id: event.id,
        integration_id: id,
        external_event_id: "/a/e1.ics".into(),
        etag: Some("\"1\"".into()),
        last_synced_at: time::now(),
    };
    store.save_link(&link).await.unwrap();
    let moved = EventLink {
        etag: Some("\"2\"".into()),
        ..link.clone()
    };
    store.save_link(&moved).await.unwrap();
    assert_eq!(
        store.event_link(id, "/a/e1.ics").await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(
        store.event_links(id).await.unwrap(),
        std::slice::from_ref(&moved)
    );
    assert_eq!(store.event_link(id, "/a/none.ics").await.unwrap(), None);
    assert_eq!(
        store.link_of_event(id, event.id).await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(
        store
            .link_of_event(id, CalendarEventId::new())
            .await
            .unwrap(),
        None
    );

    // The conflict log, paged by id; it outlives the integration.
    let logged: Vec<Conflict> = [true, false]
        .into_iter()
        .map(|ours_won| Conflict {
            id: CalendarConflictId::new(),
            user_id: me,
            integration_id: Some(id),
            event_id: Some(event.id),
            external_event_id: "/a/e1.ics".into(),
            ours_won,
            ours_updated_at: time::now(),
            theirs_updated_at: None,
            loser_ics: "BEGIN:VCALENDAR".into(),
            created_at: time::now(),
        })
        .collect();
    for c in &logged {
        store.record_conflict(c).await.unwrap();
    }
    assert_eq!(store.conflicts_of(me, None, 10).await.unwrap(), logged);
    assert_eq!(
        store
            .conflicts_of(me, Some(logged[0].id), 10)
            .await
            .unwrap(),
        logged[1..]
    );
    assert!(store.delete_link(id, "/a/e1.ics").await.unwrap());
    assert!(!store.delete_link(id, "/a/e1.ics").await.unwrap());
    store.save_link(&link).await.unwrap();
    // Disconnecting drops the links with the integration, not the conflict log.
    assert!(store.delete_integration(id).await.unwrap());
    assert!(store.event_links(id).await.unwrap().is_empty());
    let kept = store.conflicts_of(me, None, 10).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|c| c.integration_id.is_none()));
}

async fn calendar_integrations_rejected_credentials_revoke_until_reconnected(store: Store) {
    let me = user(&store).await;
    let id = store
        .create_integration(&new(me, "https://dav/r/", "k1"))
        .await
        .unwrap()
        .id;
    let synced = SyncOutcome::Synced {
        cursor: Some("token-1".into()),
    };
    store.record_sync(id, &synced, time::now()).await.unwrap();
    let rejected = SyncOutcome::Rejected {
        error: "the server refused the credentials (401 Unauthorized)".into(),
    };
    store.record_sync(id, &rejected, time::now()).await.unwrap();
    let read = store.integration(id).await.unwrap().unwrap();
    assert_eq!(read.status, CalendarIntegrationStatus::Revoked);
    assert_eq!(
        read.last_error.as_deref(),
        Some("the server refused the credentials (401 Unauthorized)")
    );
    assert_eq!(read.sync_cursor.as_deref(), Some("token-1"));

    // Neither a later failure nor a success (a sync that raced the rejection) ends it.
    let failed = SyncOutcome::Failed {
        error: "timeout".into(),
    };
    store.record_sync(id, &failed, time::now()).await.unwrap();
    store.record_sync(id, &synced, time::now()).await.unwrap();
    assert_eq!(
        store.integration(id).await.unwrap().unwrap().status,
        CalendarIntegrationStatus::Revoked
    );

    // New credentials: active again, the error cleared, the cursor kept.
    let fresh = SealedCredentials {
        key_id: "k2".into(),
        access: vec![9, 9],
        refresh: None,
    };
    assert!(store.reconnect(id, &fresh, time::now()).await.unwrap());
    let read = store.integration(id).await.unwrap().unwrap();
    assert_eq!(read.status, CalendarIntegrationStatus::Active);
    assert_eq!(read.last_error, None);
    assert_eq!(read.credentials, Some(fresh.clone()));
    assert_eq!(read.sync_cursor.as_deref(), Some("token-1"));
    assert!(store.delete_integration(id).await.unwrap());
    assert!(!store.reconnect(id, &fresh, time::now()).await.unwrap());
}
