use std::sync::Arc;

use vendrome_core::graph::blocks::BlockRepo as _;
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::{
    ClientMessageId, HistoryFrom, MessageBody, MessagingRepo as _, MessagingService,
};
use vendrome_core::page::Limit;
use vendrome_core::Error;
use vendrome_store::{Db, Store};

use crate::graph::{caller, user};

conformance!(
    one_direct_conversation_per_pair_under_concurrency,
    a_resent_message_is_stored_once,
    inbox_counts_unread_and_paginates,
    blocks_and_strangers_cannot_message,
    senders_edit_and_delete_within_the_window,
    groups_have_admins_members_and_a_limit
);

fn body(text: &str) -> MessageBody {
    MessageBody::parse(text).unwrap()
}

async fn count(store: &Store, sql: &str) -> i64 {
    match store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

async fn one_direct_conversation_per_pair_under_concurrency(store: Store) {
    let (a, b) = (user(&store).await, user(&store).await);
    let results = futures::future::join_all((0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            if i % 2 == 0 {
                store.direct_conversation(a, b).await
            } else {
                store.direct_conversation(b, a).await
            }
        })
    }))
    .await;
    let results: Vec<(ConversationId, bool)> =
        results.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert!(results.iter().all(|(id, _)| *id == results[0].0));
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM conversations").await, 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'conversation.created'"
        )
        .await,
        1
    );
    let mut participants = store.participants(results[0].0).await.unwrap();
    participants.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(participants, expected);
}

async fn a_resent_message_is_stored_once(store: Store) {
    let (a, b) = (user(&store).await, user(&store).await);
    let (conversation, _) = store.direct_conversation(a, b).await.unwrap();
    let client = ClientMessageId::parse("tab-1:42").unwrap();
    let sends = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        let client = client.clone();
        tokio::spawn(async move {
            store
                .send_message(conversation, a, body("Hello").into(), Some(client))
                .await
        })
    }))
    .await;
    let ids: Vec<_> = sends.into_iter().map(|r| r.unwrap().unwrap().id).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every resend answers the one message"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'message.created'"
        )
        .await,
        1
    );
    // Without a client id every send is a new message.
    store
        .send_message(conversation, a, body("Again").into(), None)
        .await
        .unwrap();
    store
        .send_message(conversation, a, body("Again").into(), None)
        .await
        .unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 3);
    let service = MessagingService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    );
    let limit = Limit::parse(2).unwrap();
    let history = |from, cursor: Option<vendrome_core::page::Cursor>| {
        let service = service.clone();
        async move {
            service
                .messages(&caller(a), conversation, from, cursor.as_ref(), limit)
                .await
                .unwrap()
        }
    };
    let page = history(HistoryFrom::Latest, None).await;
    assert_eq!(page.items.len(), 2);
    let rest = history(HistoryFrom::Latest, page.next_cursor.clone()).await;
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].body, "Hello");
    // Forwards from the first message: the two after it, oldest first, and no more.
    let forward = history(HistoryFrom::After(rest.items[0].id), None).await;
    let oldest_first: Vec<_> = page.items.iter().rev().map(|m| m.id).collect();
    assert_eq!(
        forward.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        oldest_first
    );
    // Backwards from the newest: the two before it.
    let back = history(HistoryFrom::Before(page.items[0].id), None).await;
    assert_eq!(back.items.len(), 2);
    assert_eq!(back.items[1].id, rest.items[0].id);
}

async fn inbox_counts_unread_and_paginates(store: Store) {
    let me = user(&store).await;
    let mut conversations = Vec::new();
    // 12 conversations; in conversation i the other member sends i + 1 messages, and I answer
    // in the even ones.
    for i in 0..12 {
        let other = user(&store).await;
        let (conversation, _) = store.direct_conversation(me, other).await.unwrap();
        for n in 0..=i {
            store
                .send_message(
                    conversation,
                    other,
                    body(&format!("message {n}")).into(),
                    None,
                )
                .await
                .unwrap();
        }
        if i % 2 == 0 {
            store
                .send_message(conversation, me, body("Thanks").into(), None)
                .await
                .unwrap();
        }
        conversations.push((conversation, other, i as i64 + 1));
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .inbox(me, cursor.as_ref(), Limit::parse(5).unwrap())
            .await
            .unwrap();
        seen.extend(page.items.clone());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    // Latest activity first: the last conversation written to comes first.
    let order: Vec<ConversationId> = seen.iter().map(|e| e.conversation_id).collect();
    let mut expected: Vec<ConversationId> = conversations.iter().map(|c| c.0).collect();
    expected.reverse();
    assert_eq!(order, expected);
    for (conversation, other, sent) in &conversations {
        let entry = seen
            .iter()
            .find(|e| e.conversation_id == *conversation)
            .unwrap();
        assert_eq!(entry.unread, *sent, "my own messages are never unread");
        assert_eq!(entry.others, vec![*other]);
        assert!(entry.last_message.is_some());
    }

    // Reading up to a message leaves only the newer ones unread; the pointer never goes back.
    let (conversation, other, _) = conversations[11];
    let page = store
        .messages(conversation, HistoryFrom::Latest, 100)
        .await
        .unwrap();
    let from_other: Vec<_> = page.iter().filter(|m| m.sender_id == Some(other)).collect();
    let third_newest = from_other[2].id;
    assert!(store
        .mark_read(conversation, me, third_newest)
        .await
        .unwrap());
    assert!(!store
        .mark_read(conversation, me, from_other[5].id)
        .await
        .unwrap());
    let entry = store
        .inbox(me, None, Limit::parse(1).unwrap())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(entry.unread, 2);
    let (elsewhere, _, _) = conversations[0];
    let foreign = store.mark_read(elsewhere, me, third_newest).await;
    assert!(matches!(foreign, Err(Error::NotFound { what: "message" })));
}

async fn blocks_and_strangers_cannot_message(store: Store) {
    let service = MessagingService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    );
    let (a, b, stranger) = (user(&store).await, user(&store).await, user(&store).await);
    let (conversation, created) = service.start_direct(&caller(a), b).await.unwrap();
    assert!(created);
    let (again, created) = service.start_direct(&caller(b), a).await.unwrap();
    assert_eq!((again, created), (conversation, false));
    assert!(matches!(
        service.start_direct(&caller(a), a).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        service.start_direct(&caller(a), UserId::new()).await,
        Err(Error::NotFound { what: "user" })
    ));
    service
        .send(&caller(a), conversation, body("Hi"), None)
        .await
        .unwrap();
    let peek = service
        .messages(
            &caller(stranger),
            conversation,
            HistoryFrom::Latest,
            None,
            Limit::DEFAULT,
        )
        .await;
    assert!(matches!(
        peek,
        Err(Error::NotFound {
            what: "conversation"
        })
    ));
    let intrude = service
        .send(&caller(stranger), conversation, body("Hey"), None)
        .await;
    assert!(matches!(intrude, Err(Error::NotFound { .. })));

    store.block(b, a).await.unwrap();
    for (from, to) in [(a, b), (b, a)] {
        let sent = service
            .send(&caller(from), conversation, body("Still there?"), None)
            .await;
        assert!(
            matches!(
                sent,
                Err(Error::Forbidden {
                    code: "blocked",
                    ..
                })
            ),
            "{sent:?}"
        );
        let started = service.start_direct(&caller(from), to).await;
        assert!(matches!(
            started,
            Err(Error::Forbidden {
                code: "blocked",
                ..
            })
        ));
    }
}

async fn senders_edit_and_delete_within_the_window(store: Store) {
    let service = MessagingService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    );
    let (a, b, stranger) = (user(&store).await, user(&store).await, user(&store).await);
    let (conversation, _) = service.start_direct(&caller(a), b).await.unwrap();
    let sent = service
        .send(&caller(a), conversation, body("Helo"), None)
        .await
        .unwrap();
    let edited = service
        .edit(&caller(a), sent.id, body("Hello"))
        .await
        .unwrap();
    assert_eq!(edited.body, "Hello");
    assert!(edited.edited_at.is_some());
    let theirs = service.edit(&caller(b), sent.id, body("Hacked")).await;
    assert!(matches!(
        theirs,
        Err(Error::Forbidden {
            code: "not_sender",
            ..
        })
    ));
    let outsider = service.delete(&caller(stranger), sent.id).await;
    assert!(matches!(outsider, Err(Error::NotFound { what: "message" })));
    let closed = service.clone().with_edit_window(std::time::Duration::ZERO);
    let late = closed.edit(&caller(a), sent.id, body("Too late")).await;
    assert!(
        matches!(
            late,
            Err(Error::Conflict {
                code: "edit_window_passed",
                ..
            })
        ),
        "{late:?}"
    );

    let other = service
        .send(&caller(b), conversation, body("Hi!"), None)
        .await
        .unwrap();
    service.delete(&caller(b), other.id).await.unwrap();
    let gone = service.delete(&caller(b), other.id).await;
    assert!(matches!(gone, Err(Error::NotFound { what: "message" })));
    let history = store
        .messages(conversation, HistoryFrom::Latest, 21)
        .await
        .unwrap();
    assert_eq!(history.iter().map(|m| m.id).collect::<Vec<_>>(), [sent.id]);
    let inbox = store.inbox(a, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(inbox.items[0].unread, 0, "a deleted message is not unread");
    assert_eq!(inbox.items[0].last_message.as_ref().unwrap().id, sent.id);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM outbox_events WHERE event_type IN ('message.updated', 'message.deleted')").await,
        2
    );
}

async fn groups_have_admins_members_and_a_limit(store: Store) {
    use vendrome_core::messaging::groups::GroupTitle;

    let service = MessagingService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    )
    .with_group_limit(4);
    let (owner, b, c, d, e) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    let title = GroupTitle::parse("Expo stand crew").unwrap();
    for bad in [vec![], vec![b, b], vec![owner, b], vec![b, c, d, e]] {
        let refused = service
            .create_group(&caller(owner), title.clone(), bad)
            .await;
        assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    }
    let group = service
        .create_group(&caller(owner), title, vec![b, c])
        .await
        .unwrap();
    service
        .send(&caller(c), group, body("Who brings the banner?"), None)
        .await
        .unwrap();
    let inbox = store.inbox(b, None, Limit::DEFAULT).await.unwrap();
    assert_eq!(inbox.items[0].unread, 1);
    let mut others = inbox.items[0].others.clone();
    others.sort();
    let mut expected = vec![owner, c];
    expected.sort();
    assert_eq!(others, expected);

    let by_member = service.add_member(&caller(b), group, d).await;
    assert!(matches!(
        by_member,
        Err(Error::Forbidden {
            code: "not_admin",
            ..
        })
    ));
    service.add_member(&caller(owner), group, d).await.unwrap();
    let full = service.add_member(&caller(owner), group, e).await;
    assert!(
        matches!(
            full,
            Err(Error::Conflict {
                code: "group_full",
                ..
            })
        ),
        "{full:?}"
    );
    let kick_owner = service.remove_member(&caller(b), group, owner).await;
    assert!(matches!(kick_owner, Err(Error::Forbidden { .. })));

    // Leaving, and being removed: gone from the inbox and from the conversation.
    service.remove_member(&caller(b), group, b).await.unwrap();
    assert!(store
        .inbox(b, None, Limit::DEFAULT)
        .await
        .unwrap()
        .items
        .is_empty());
    let peek = service
        .messages(&caller(b), group, HistoryFrom::Latest, None, Limit::DEFAULT)
        .await;
    assert!(matches!(peek, Err(Error::NotFound { .. })));
    service
        .remove_member(&caller(owner), group, c)
        .await
        .unwrap();
    service.add_member(&caller(owner), group, e).await.unwrap();
    // Back again after leaving.
    service.add_member(&caller(owner), group, b).await.unwrap();
    assert_eq!(store.participants(group).await.unwrap().len(), 4);

    let (direct, _) = service.start_direct(&caller(owner), b).await.unwrap();
    let not_group = service.add_member(&caller(owner), direct, c).await;
    assert!(matches!(
        not_group,
        Err(Error::Conflict {
            code: "not_a_group",
            ..
        })
    ));
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'conversation.member_added'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'conversation.member_removed'"
        )
        .await,
        2
    );
}
