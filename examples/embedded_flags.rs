//! Vendrome embedded in a program of your own, with no HTTP in between: open a SQLite store,
//! migrate it, create a user, roll a feature flag out to half of the users, and evaluate it.
//!
//! ```text
//! cargo run -p vendrome-examples --example embedded_flags
//! ```

use std::sync::Arc;

use vendrome_core::enums::UserRole;
use vendrome_core::flags::{
    ChangeReason, FlagName, FlagService, FlagUpdate, Member, RolloutPercent,
};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo};
use vendrome_store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A throwaway database file; point this at `postgres://…` to use PostgreSQL instead.
    let path = std::env::temp_dir().join(format!("vendrome-example-{}.db", std::process::id()));
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let applied = store.migrate().await?;
    println!("applied {applied} migrations to {}", path.display());

    let user = store
        .create_user(NewUser {
            email: Email::parse("grace@example.com")?,
            display_name: DisplayName::parse("Grace Hopper")?,
            handle: None,
            password_hash: None,
            role: UserRole::Member,
        })
        .await?;
    println!("created user {} ({})", user.display_name.as_str(), user.id);

    let flags = FlagService::new(Arc::new(store.clone()));
    let grace = Member::plain(user.id);
    let feed = FlagName::parse("use_real_feed")?;
    let before = flags.get(&feed).await?;
    println!(
        "{}: enabled={} -> active for Grace: {}",
        feed.as_str(),
        before.enabled,
        before.evaluate(Some(&grace))
    );

    let half = FlagUpdate {
        enabled: true,
        rollout_percent: Some(RolloutPercent::parse(50)?),
        cohorts: None,
        reason: ChangeReason::parse("half of the members, to try it")?,
    };
    let after = flags.update_as_operator(&feed, half).await?;
    let active = after.evaluate(Some(&grace));
    println!(
        "{}: on at {} % -> active for Grace: {active}",
        feed.as_str(),
        after.rollout_percent.get()
    );
    anyhow::ensure!(
        active == after.evaluate(Some(&grace)),
        "evaluation is deterministic per user"
    );

    let on_for = (0..1000)
        .filter(|_| after.evaluate(Some(&Member::plain(vendrome_core::ids::UserId::new()))))
        .count();
    println!("of 1000 other users, {on_for} get it");

    store.db().close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
