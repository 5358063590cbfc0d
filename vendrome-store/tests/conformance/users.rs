use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::outbox::OutboxRepo;
use vendrome_core::page::Limit;
use vendrome_core::users::{DisplayName, Email, Handle, NewUser, UserRepo};
use vendrome_core::Error;
use vendrome_store::Store;

pub fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Ada Lovelace").unwrap(),
        handle: None,
        password_hash: None,
        role: UserRole::Member,
    }
}

conformance!(
    creates_and_reads_users,
    rejects_duplicate_email_and_handle,
    lists_users_by_cursor
);

async fn creates_and_reads_users(store: Store) {
    let mut new = new_user("Ada@Example.com");
    new.handle = Some(Handle::parse("ada").unwrap());
    let created = store.create_user(new).await.unwrap();

    assert_eq!(created.email.as_str(), "ada@example.com");
    assert_eq!(created.role, UserRole::Member);
    assert_eq!(created.verification_level, VerificationLevel::Unverified);
    assert_eq!(
        store.user_by_id(created.id).await.unwrap(),
        Some(created.clone())
    );
    let by_email = store
        .user_by_email(&Email::parse("ADA@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email, Some(created.clone()));
    assert_eq!(
        store
            .user_by_id(vendrome_core::ids::UserId::new())
            .await
            .unwrap(),
        None
    );
    // The creation was announced in the same transaction.
    assert_eq!(store.backlog().await.unwrap().pending, 1);
}

async fn rejects_duplicate_email_and_handle(store: Store) {
    let mut first = new_user("ada@example.com");
    first.handle = Some(Handle::parse("ada").unwrap());
    store.create_user(first).await.unwrap();

    let same_email = store.create_user(new_user("ADA@example.com")).await;
    assert!(
        matches!(
            same_email,
            Err(Error::Conflict {
                code: "email_taken",
                ..
            })
        ),
        "{same_email:?}"
    );

    let mut same_handle = new_user("other@example.com");
    same_handle.handle = Some(Handle::parse("ADA").unwrap());
    let same_handle = store.create_user(same_handle).await;
    assert!(
        matches!(
            same_handle,
            Err(Error::Conflict {
                code: "handle_taken",
                ..
            })
        ),
        "{same_handle:?}"
    );
    // Nothing of the refused writes remains, their events included.
    assert_eq!(store.backlog().await.unwrap().pending, 1);
}

async fn lists_users_by_cursor(store: Store) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .create_user(new_user(&format!("u{i}@example.com")))
                .await
                .unwrap()
                .id,
        );
    }
    let limit = Limit::parse(2).unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(after, limit).await.unwrap();
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor.decode().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every user once, in creation order");
}
