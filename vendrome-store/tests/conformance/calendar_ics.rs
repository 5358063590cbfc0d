//! What feeds and imports need of the store: one hashed feed token per member (rotated by
//! replacing it, revoked by deleting it) and events upserted by their iCalendar UID.

use vendrome_core::calendar::feed::{CalendarFeedRepo, FeedToken};
use vendrome_core::calendar::{CalendarRepo, Upserted};
use vendrome_core::time;
use vendrome_store::Store;

use crate::calendar::{at, fields};
use crate::graph::user;

conformance!(
    calendar_feed_tokens_rotate_and_revoke,
    calendar_events_upsert_by_uid
);

async fn calendar_feed_tokens_rotate_and_revoke(store: Store) {
    let (me, other) = (user(&store).await, user(&store).await);
    let (first, second) = (FeedToken::generate(), FeedToken::generate());
    assert_eq!(store.feed_owner(&first.hash()).await.unwrap(), None);
    store
        .set_feed_token(me, &first.hash(), time::now())
        .await
        .unwrap();
    assert_eq!(store.feed_owner(&first.hash()).await.unwrap(), Some(me));
    store
        .set_feed_token(me, &second.hash(), time::now())
        .await
        .unwrap();
    assert_eq!(store.feed_owner(&first.hash()).await.unwrap(), None);
    assert_eq!(store.feed_owner(&second.hash()).await.unwrap(), Some(me));
    assert!(!store.revoke_feed_token(other).await.unwrap());
    assert!(store.revoke_feed_token(me).await.unwrap());
    assert!(!store.revoke_feed_token(me).await.unwrap());
    assert_eq!(store.feed_owner(&second.hash()).await.unwrap(), None);
}

async fn calendar_events_upsert_by_uid(store: Store) {
    let (me, other) = (user(&store).await, user(&store).await);
    let f = fields("Imported", at(3, 9), vec![]);
    let Upserted::Created(created) = store.upsert_by_uid(me, "x@elsewhere", &f).await.unwrap()
    else {
        panic!("expected a new event")
    };
    assert_eq!((created.sequence, created.fields.clone()), (0, f.clone()));

    let mut changed = f.clone();
    changed.title = "Imported again".into();
    let Upserted::Updated(updated) = store
        .upsert_by_uid(me, "x@elsewhere", &changed)
        .await
        .unwrap()
    else {
        panic!("expected the event updated")
    };
    assert_eq!((updated.id, updated.sequence), (created.id, 1));
    assert_eq!(updated.fields.title, "Imported again");

    // Another member's UID space is their own; a deleted event comes back under its UID.
    let Upserted::Created(theirs) = store.upsert_by_uid(other, "x@elsewhere", &f).await.unwrap()
    else {
        panic!("expected their own event")
    };
    assert_ne!(theirs.id, created.id);
    assert!(store.delete_event(created.id).await.unwrap());
    let Upserted::Updated(back) = store.upsert_by_uid(me, "x@elsewhere", &f).await.unwrap() else {
        panic!("expected the deleted event back")
    };
    assert_eq!(back.id, created.id);
    assert_eq!(store.event(created.id).await.unwrap(), Some(back));
}
