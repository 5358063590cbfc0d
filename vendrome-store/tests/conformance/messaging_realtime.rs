//! What the realtime gateway asks of `MessagingRepo`: the messages a reconnecting member missed,
//! and who shares a conversation with a member.

use vendrome_core::ids::MessageId;
use vendrome_core::messaging::{MessageBody, MessagingRepo as _};
use vendrome_store::Store;

use crate::graph::user;

conformance!(
    messages_since_covers_every_conversation_of_the_member,
    partners_are_the_members_of_shared_conversations
);

fn body(text: &str) -> MessageBody {
    MessageBody::parse(text).unwrap()
}

async fn messages_since_covers_every_conversation_of_the_member(store: Store) {
    let (me, a, b, stranger) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    let (with_a, _) = store.direct_conversation(me, a).await.unwrap();
    let (with_b, _) = store.direct_conversation(me, b).await.unwrap();
    let (elsewhere, _) = store.direct_conversation(a, stranger).await.unwrap();
    let seen = store
        .send_message(with_a, a, body("seen").into(), None)
        .await
        .unwrap();
    let mut missed = Vec::new();
    for (conversation, sender, text) in [
        (with_b, b, "one"),
        (with_a, me, "two"),
        (with_a, a, "three"),
    ] {
        missed.push(
            store
                .send_message(conversation, sender, body(text).into(), None)
                .await
                .unwrap()
                .id,
        );
        store
            .send_message(elsewhere, stranger, body("not mine").into(), None)
            .await
            .unwrap();
    }
    let deleted = store
        .send_message(with_b, b, body("gone").into(), None)
        .await
        .unwrap();
    store.delete_message(deleted.id).await.unwrap();

    let since = store.messages_since(me, seen.id, 10).await.unwrap();
    let ids: Vec<MessageId> = since.iter().map(|m| m.id).collect();
    assert_eq!(
        ids, missed,
        "oldest first, mine and theirs, no deleted, no others'"
    );
    let first = store.messages_since(me, seen.id, 2).await.unwrap();
    assert_eq!(first.len(), 2, "the limit holds");
    assert!(store
        .messages_since(me, *missed.last().unwrap(), 10)
        .await
        .unwrap()
        .is_empty());
}

async fn partners_are_the_members_of_shared_conversations(store: Store) {
    let (me, a, b, stranger) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    store.direct_conversation(me, a).await.unwrap();
    let (with_b, _) = store.direct_conversation(me, b).await.unwrap();
    store.direct_conversation(a, stranger).await.unwrap();
    // The latest conversation first.
    store
        .send_message(with_b, b, body("hi").into(), None)
        .await
        .unwrap();
    assert_eq!(store.partners(me, 10).await.unwrap(), vec![b, a]);
    assert_eq!(store.partners(me, 1).await.unwrap(), vec![b]);
    assert_eq!(store.partners(stranger, 10).await.unwrap(), vec![a]);
}
