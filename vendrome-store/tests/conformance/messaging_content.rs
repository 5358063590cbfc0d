//! Messages with attachments, who may start a conversation, and group titles and roles, on
//! both stores.

use std::sync::Arc;

use vendrome_core::enums::{ConversationKind, DirectMessagePolicy, ParticipantRole};
use vendrome_core::graph::GraphService;
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::messaging::{
    Attachment, HistoryFrom, MessageBody, MessageContent, MessagingRepo as _, MessagingService,
};
use vendrome_core::page::Limit;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::graph::{caller, connect, user};

conformance!(
    attachments_travel_with_their_message,
    connections_only_members_are_reached_by_connections,
    groups_are_renamed_and_admins_named_by_the_right_people
);

fn services(store: &Store) -> (MessagingService, GraphService) {
    let shared = Arc::new(store.clone());
    (
        MessagingService::new(shared.clone(), shared.clone(), shared.clone()),
        GraphService::new(shared.clone(), shared),
    )
}

fn code(error: Error) -> String {
    match error {
        Error::Forbidden { code, .. } | Error::Conflict { code, .. } => code.to_string(),
        Error::NotFound { what } => format!("not_found:{what}"),
        Error::Invalid(errors) => format!("invalid:{}", errors),
        other => format!("{other:?}"),
    }
}

async fn connections_only_members_are_reached_by_connections(store: Store) {
    let (messaging, graph) = services(&store);
    let (private, friend, stranger, earlier) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    assert_eq!(
        messaging
            .direct_message_policy(&caller(private))
            .await
            .unwrap(),
        DirectMessagePolicy::Anyone
    );
    // A conversation from before the change stays open.
    let (kept, _) = messaging
        .start_direct(&caller(earlier), private)
        .await
        .unwrap();
    messaging
        .set_direct_message_policy(&caller(private), DirectMessagePolicy::Connections)
        .await
        .unwrap();
    assert_eq!(
        store.direct_message_policy(private).await.unwrap(),
        DirectMessagePolicy::Connections
    );
    let events = match store.db() {
        vendrome_store::Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'user.messaging_settings_updated'",
        )
        .fetch_one(pool)
        .await,
        vendrome_store::Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'user.messaging_settings_updated'",
        )
        .fetch_one(pool)
        .await,
    }
    .unwrap();
    assert_eq!(events, 1, "the change is announced");
    let refused = messaging
        .start_direct(&caller(stranger), private)
        .await
        .unwrap_err();
    assert_eq!(code(refused), "connections_only");
    connect(&graph, friend, private).await;
    messaging
        .start_direct(&caller(friend), private)
        .await
        .unwrap();
    assert_eq!(
        messaging
            .start_direct(&caller(earlier), private)
            .await
            .unwrap(),
        (kept, false)
    );
    messaging
        .send(
            &caller(earlier),
            kept,
            MessageBody::parse("still here").unwrap(),
            None,
        )
        .await
        .unwrap();
    // The private member may still start conversations themselves.
    messaging
        .start_direct(&caller(private), stranger)
        .await
        .unwrap();
    assert!(matches!(
        store
            .direct_message_policy(vendrome_core::ids::UserId::new())
            .await,
        Err(Error::NotFound { what: "user" })
    ));
}

async fn groups_are_renamed_and_admins_named_by_the_right_people(store: Store) {
    let (messaging, _) = services(&store);
    let (owner, admin, member, other) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    let group = messaging
        .create_group(
            &caller(owner),
            GroupTitle::parse("Expo crew").unwrap(),
            vec![admin, member, other],
        )
        .await
        .unwrap();
    let set = |by, whom, role| {
        let messaging = messaging.clone();
        async move {
            messaging
                .set_member_role(&caller(by), group, whom, role)
                .await
        }
    };
    // Members change nothing; the owner promotes; an admin promotes too.
    assert_eq!(
        code(
            set(member, other, ParticipantRole::Admin)
                .await
                .unwrap_err()
        ),
        "not_admin"
    );
    set(owner, admin, ParticipantRole::Admin).await.unwrap();
    set(admin, member, ParticipantRole::Admin).await.unwrap();
    // Only the owner demotes another admin; an admin may step down; the owner's role is fixed.
    assert_eq!(
        code(
            set(admin, member, ParticipantRole::Member)
                .await
                .unwrap_err()
        ),
        "not_owner"
    );
    set(member, member, ParticipantRole::Member).await.unwrap();
    assert_eq!(
        code(
            set(admin, owner, ParticipantRole::Member)
                .await
                .unwrap_err()
        ),
        "owner"
    );
    // Only the owner hands the group over.
    assert_eq!(
        code(
            set(admin, member, ParticipantRole::Owner)
                .await
                .unwrap_err()
        ),
        "not_owner"
    );

    let rename = |by, title: &str| {
        let messaging = messaging.clone();
        let title = GroupTitle::parse(title).unwrap();
        async move { messaging.rename_group(&caller(by), group, title).await }
    };
    assert_eq!(code(rename(member, "Mine").await.unwrap_err()), "not_admin");
    rename(admin, "Expo crew 2027").await.unwrap();
    let (title, members) = messaging
        .conversation_members(&caller(member), group)
        .await
        .unwrap();
    assert_eq!(title.as_deref(), Some("Expo crew 2027"));
    let roles: Vec<ParticipantRole> = members.iter().map(|(_, r)| *r).collect();
    assert_eq!(
        roles,
        [
            ParticipantRole::Owner,
            ParticipantRole::Admin,
            ParticipantRole::Member,
            ParticipantRole::Member
        ]
    );
    assert_eq!(members[1].0, admin);
    let inbox = store.inbox(member, None, Limit::default()).await.unwrap();
    assert_eq!(inbox.items[0].kind, ConversationKind::Group);
    assert_eq!(inbox.items[0].title.as_deref(), Some("Expo crew 2027"));

    // A direct conversation has neither title nor admins.
    let (direct, _) = messaging
        .start_direct(&caller(owner), member)
        .await
        .unwrap();
    let refused = messaging
        .rename_group(&caller(owner), direct, GroupTitle::parse("x").unwrap())
        .await
        .unwrap_err();
    assert_eq!(code(refused), "not_a_group");
    let stranger = user(&store).await;
    assert!(matches!(
        messaging
            .conversation_members(&caller(stranger), group)
            .await,
        Err(Error::NotFound { .. })
    ));
}

fn contract() -> Attachment {
    Attachment {
        url: "https://files.example.com/contract.pdf".into(),
        mime_type: "application/pdf".into(),
        size_bytes: 182_044,
        name: Some("contract.pdf".into()),
    }
}

async fn attachments_travel_with_their_message(store: Store) {
    let (a, b) = (user(&store).await, user(&store).await);
    let (conversation, _) = store.direct_conversation(a, b).await.unwrap();
    let photo = Attachment {
        url: "https://files.example.com/stand.jpg".into(),
        mime_type: "image/jpeg".into(),
        size_bytes: 90_000,
        name: None,
    };
    let with_text =
        MessageContent::parse("The contract and our stand", vec![contract(), photo]).unwrap();
    let sent = store
        .send_message(conversation, a, with_text, None)
        .await
        .unwrap();
    assert_eq!(sent.attachments.len(), 2);
    let only_file = MessageContent::parse("", vec![contract()]).unwrap();
    let file = store
        .send_message(conversation, b, only_file, None)
        .await
        .unwrap();
    assert_eq!((file.body.as_str(), file.attachments.len()), ("", 1));

    let history = store
        .messages(conversation, HistoryFrom::Latest, 10)
        .await
        .unwrap();
    assert_eq!(history[0].attachments, vec![contract()]);
    assert_eq!(
        history[1].attachments, sent.attachments,
        "in order, every field"
    );
    let inbox = store.inbox(a, None, Limit::default()).await.unwrap();
    assert_eq!(
        inbox.items[0].last_message.as_ref().unwrap().attachments,
        vec![contract()]
    );
    let missed = store.messages_since(b, sent.id, 10).await.unwrap();
    assert_eq!(missed[0].attachments, vec![contract()]);

    let edited = store
        .edit_message(sent.id, MessageBody::parse("The signed contract").unwrap())
        .await
        .unwrap();
    assert_eq!(edited.body, "The signed contract");
    assert_eq!(edited.attachments, sent.attachments, "an edit keeps them");
}
