//! Service rules, unit-tested over the in-memory fakes (`vendrome_core::testing`): no HTTP, no
//! database. Each test fails if the rule it names is taken out of the service.

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::access::Caller;
use vendrome_core::enums::{
    ConnectionStatus, DirectMessagePolicy, ParticipantRole, PostVisibility, UserRole,
};
use vendrome_core::graph::{ConnectionAction, GraphService};
use vendrome_core::ids::UserId;
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::messaging::{MessageBody, MessageContent, MessagingRepo as _, MessagingService};
use vendrome_core::posts::{Media, PostBody, PostChanges, PostPayload, PostService};
use vendrome_core::testing::InMemory;
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_core::Error;

async fn member(world: &InMemory, role: UserRole) -> Caller {
    let id = UserId::new();
    let user = world
        .create_user(NewUser {
            email: Email::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
            display_name: DisplayName::parse("Rule Tester").unwrap(),
            handle: None,
            password_hash: None,
            role,
        })
        .await
        .unwrap();
    Caller {
        user_id: user.id,
        role,
    }
}

fn graph(world: &InMemory) -> GraphService {
    GraphService::new(Arc::new(world.clone()), Arc::new(world.clone()))
}

fn messaging(world: &InMemory) -> MessagingService {
    let shared = Arc::new(world.clone());
    MessagingService::new(shared.clone(), shared.clone(), shared)
}

fn code(error: Error) -> String {
    match error {
        Error::Conflict { code, .. }
        | Error::Forbidden { code, .. }
        | Error::Unauthenticated { code, .. }
        | Error::Unavailable { code, .. } => code.to_owned(),
        Error::NotFound { what } => format!("not_found:{what}"),
        Error::Invalid(errors) => {
            format!("invalid:{:?}", errors.fields().keys().collect::<Vec<_>>())
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn no_connection_request_crosses_a_block_either_way() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    graph(&world).block(&b, a.user_id).await.unwrap();
    for (from, to) in [(a, b.user_id), (b, a.user_id)] {
        let refused = graph(&world).request(&from, to, None).await.unwrap_err();
        assert_eq!(code(refused), "blocked");
    }
    assert!(!world.events().contains(&"connection.requested".to_owned()));
}

#[tokio::test]
async fn a_request_to_someone_who_asked_first_accepts_theirs() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    let first = graph(&world).request(&a, b.user_id, None).await.unwrap();
    let second = graph(&world).request(&b, a.user_id, None).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.connection.id, first.connection.id);
    assert_eq!(second.connection.status, ConnectionStatus::Accepted);
    // A third request finds the connection there.
    let again = graph(&world)
        .request(&a, b.user_id, None)
        .await
        .unwrap_err();
    assert_eq!(code(again), "connection_exists");
}

#[tokio::test]
async fn only_the_addressee_accepts_and_nobody_connects_with_themselves() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    let asked = graph(&world)
        .request(&a, b.user_id, None)
        .await
        .unwrap()
        .connection;
    let refused = graph(&world)
        .act(&a, asked.id, ConnectionAction::Accept)
        .await
        .unwrap_err();
    assert_eq!(code(refused), "invalid_transition");
    let stranger = member(&world, UserRole::Member).await;
    let hidden = graph(&world)
        .act(&stranger, asked.id, ConnectionAction::Accept)
        .await
        .unwrap_err();
    assert_eq!(code(hidden), "not_found:connection");
    let accepted = graph(&world)
        .act(&b, asked.id, ConnectionAction::Accept)
        .await
        .unwrap();
    assert_eq!(accepted.status, ConnectionStatus::Accepted);
    let myself = graph(&world)
        .request(&a, a.user_id, None)
        .await
        .unwrap_err();
    assert_eq!(code(myself), "invalid:[\"user_id\"]");
}

#[tokio::test]
async fn a_post_is_changed_by_its_author_or_a_moderator_only() {
    let world = InMemory::new();
    let posts = PostService::new(Arc::new(world.clone()));
    let author = member(&world, UserRole::Member).await;
    let other = member(&world, UserRole::Member).await;
    let moderator = member(&world, UserRole::Moderator).await;
    let body = |text: &str| PostBody::parse(text).unwrap();
    let public = posts
        .create(
            &author,
            body("Open day"),
            PostVisibility::Public,
            Vec::new(),
            PostPayload::Text,
            Media::default(),
        )
        .await
        .unwrap();
    let edit = || PostChanges {
        body: Some(body("Edited")),
        ..PostChanges::default()
    };
    let refused = posts.update(&other, public.id, edit()).await.unwrap_err();
    assert_eq!(code(refused), "not_author");
    assert_eq!(
        posts
            .update(&moderator, public.id, edit())
            .await
            .unwrap()
            .body,
        "Edited"
    );
    // A post the member cannot see is not found, not forbidden: its existence stays hidden.
    let private = posts
        .create(
            &author,
            body("Board notes"),
            PostVisibility::Connections,
            Vec::new(),
            PostPayload::Text,
            Media::default(),
        )
        .await
        .unwrap();
    let hidden = posts.delete(&other, private.id).await.unwrap_err();
    assert_eq!(code(hidden), "not_found:post");
    posts.delete(&moderator, private.id).await.unwrap();
    assert_eq!(
        world
            .events()
            .iter()
            .filter(|e| *e == "post.deleted")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_direct_conversation_goes_silent_across_a_block() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    let service = messaging(&world);
    let (conversation, created) = service.start_direct(&a, b.user_id).await.unwrap();
    assert!(created);
    let text = || MessageContent::parse("hello", Vec::new()).unwrap();
    service.send(&a, conversation, text(), None).await.unwrap();
    graph(&world).block(&b, a.user_id).await.unwrap();
    let refused = service
        .send(&a, conversation, text(), None)
        .await
        .unwrap_err();
    assert_eq!(code(refused), "blocked");
    let reopened = service.start_direct(&a, b.user_id).await.unwrap_err();
    assert_eq!(code(reopened), "blocked");
}

#[tokio::test]
async fn connections_only_members_take_new_conversations_from_connections_only() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    world
        .set_direct_message_policy(b.user_id, DirectMessagePolicy::Connections)
        .await
        .unwrap();
    let service = messaging(&world);
    let refused = service.start_direct(&a, b.user_id).await.unwrap_err();
    assert_eq!(code(refused), "connections_only");
    let asked = graph(&world)
        .request(&a, b.user_id, None)
        .await
        .unwrap()
        .connection;
    graph(&world)
        .act(&b, asked.id, ConnectionAction::Accept)
        .await
        .unwrap();
    assert!(service.start_direct(&a, b.user_id).await.is_ok());
}

#[tokio::test]
async fn only_the_sender_changes_a_message_and_only_within_the_window() {
    let world = InMemory::new();
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    let service = messaging(&world);
    let (conversation, _) = service.start_direct(&a, b.user_id).await.unwrap();
    let sent = service
        .send(
            &a,
            conversation,
            MessageContent::parse("draft", Vec::new()).unwrap(),
            None,
        )
        .await
        .unwrap();
    let body = || MessageBody::parse("final").unwrap();
    let not_theirs = service.edit(&b, sent.id, body()).await.unwrap_err();
    assert_eq!(code(not_theirs), "not_sender");
    assert_eq!(
        service.edit(&a, sent.id, body()).await.unwrap().body,
        "final"
    );
    let closed = messaging(&world).with_edit_window(Duration::ZERO);
    let late = closed.delete(&a, sent.id).await.unwrap_err();
    assert_eq!(code(late), "edit_window_passed");
}

#[tokio::test]
async fn group_members_are_changed_by_admins_within_the_limit_and_the_owner_stays() {
    let world = InMemory::new();
    let owner = member(&world, UserRole::Member).await;
    let (a, b) = (
        member(&world, UserRole::Member).await,
        member(&world, UserRole::Member).await,
    );
    let newcomer = member(&world, UserRole::Member).await;
    let service = messaging(&world).with_group_limit(3);
    let group = service
        .create_group(
            &owner,
            GroupTitle::parse("Suppliers").unwrap(),
            vec![a.user_id, b.user_id],
        )
        .await
        .unwrap();
    let not_admin = service
        .add_member(&a, group, newcomer.user_id)
        .await
        .unwrap_err();
    assert_eq!(code(not_admin), "not_admin");
    let full = service
        .add_member(&owner, group, newcomer.user_id)
        .await
        .unwrap_err();
    assert_eq!(code(full), "group_full");
    let not_admin = service
        .remove_member(&a, group, b.user_id)
        .await
        .unwrap_err();
    assert_eq!(code(not_admin), "not_admin");
    service
        .set_member_role(&owner, group, a.user_id, ParticipantRole::Admin)
        .await
        .unwrap();
    let kept = service
        .remove_member(&a, group, owner.user_id)
        .await
        .unwrap_err();
    assert_eq!(code(kept), "owner");
    service.remove_member(&a, group, b.user_id).await.unwrap();
    service
        .add_member(&owner, group, newcomer.user_id)
        .await
        .unwrap();
    assert_eq!(
        world.participants(group).await.unwrap().len(),
        3,
        "owner, a and the newcomer"
    );
}
