use vendrome_core::auth::{AccountToken, AccountTokenRepo, TokenPurpose};
use vendrome_core::time;
use vendrome_core::users::UserRepo;
use vendrome_store::Store;

conformance!(
    tokens_are_taken_once_and_only_for_their_purpose,
    expired_and_deleted_tokens_are_gone
);

fn token(user: vendrome_core::ids::UserId, purpose: TokenPurpose, ttl_secs: i64) -> AccountToken {
    let now = time::now();
    AccountToken {
        hash: uuid::Uuid::new_v4().simple().to_string(),
        purpose,
        user_id: user,
        bound_to: Some("ada@example.com".into()),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(ttl_secs),
    }
}

async fn tokens_are_taken_once_and_only_for_their_purpose(store: Store) {
    let user = store
        .create_user(crate::users::new_user("ada@example.com"))
        .await
        .unwrap()
        .id;
    let saved = token(user, TokenPurpose::VerifyEmail, 3600);
    store.save_token(saved.clone()).await.unwrap();

    let other = store
        .take_token(TokenPurpose::ResetPassword, &saved.hash, time::now())
        .await
        .unwrap();
    assert_eq!(
        other, None,
        "a verification token does not reset a password"
    );

    let taken = store
        .take_token(TokenPurpose::VerifyEmail, &saved.hash, time::now())
        .await
        .unwrap()
        .expect("the token is there");
    assert_eq!(
        (taken.user_id, taken.purpose, taken.bound_to.as_deref()),
        (user, TokenPurpose::VerifyEmail, Some("ada@example.com"))
    );
    let again = store
        .take_token(TokenPurpose::VerifyEmail, &saved.hash, time::now())
        .await
        .unwrap();
    assert_eq!(again, None, "single use");
}

async fn expired_and_deleted_tokens_are_gone(store: Store) {
    let user = store
        .create_user(crate::users::new_user("ada@example.com"))
        .await
        .unwrap()
        .id;
    let expired = token(user, TokenPurpose::ResetPassword, -1);
    store.save_token(expired.clone()).await.unwrap();
    assert_eq!(
        store
            .take_token(TokenPurpose::ResetPassword, &expired.hash, time::now())
            .await
            .unwrap(),
        None
    );

    let (a, b) = (
        token(user, TokenPurpose::ResetPassword, 3600),
        token(user, TokenPurpose::ResetPassword, 3600),
    );
    let kept = token(user, TokenPurpose::VerifyEmail, 3600);
    for t in [&a, &b, &kept] {
        store.save_token(t.clone()).await.unwrap();
    }
    assert_eq!(
        store
            .delete_tokens(user, TokenPurpose::ResetPassword)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .take_token(TokenPurpose::ResetPassword, &a.hash, time::now())
            .await
            .unwrap(),
        None
    );
    assert!(store
        .take_token(TokenPurpose::VerifyEmail, &kept.hash, time::now())
        .await
        .unwrap()
        .is_some());
}
