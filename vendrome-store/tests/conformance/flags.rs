use vendrome_core::audit::{AuditContext, AuditRepo};
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::flags::{
    ChangeReason, Cohorts, Country, FlagName, FlagRepo, FlagUpdate, Member, RolloutPercent,
};
use vendrome_core::ids::UserId;
use vendrome_core::outbox::OutboxRepo;
use vendrome_core::page::Limit;
use vendrome_core::profiles::{ProfileChanges, ProfileRepo, RawProfileChanges};
use vendrome_core::users::UserRepo as _;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::graph::user;

fn change(enabled: bool, percent: Option<i64>) -> FlagUpdate {
    FlagUpdate {
        enabled,
        rollout_percent: percent.map(|p| RolloutPercent::parse(p).unwrap()),
        cohorts: None,
        reason: ChangeReason::parse("conformance").unwrap(),
    }
}

const ROLLOUT_FLAGS: [&str; 8] = [
    "read_only",
    "use_real_auth",
    "use_real_calendar",
    "use_real_feed",
    "use_real_marketing",
    "use_real_messages",
    "use_real_payments",
    "use_real_profiles",
];

conformance!(
    migrations_create_rollout_flags_off,
    updates_flag_with_event_and_audit,
    unknown_flag_is_not_found,
    cohorts_are_stored_kept_and_audited,
    unknown_named_members_change_nothing,
    flag_members_carry_role_level_and_country
);

async fn migrations_create_rollout_flags_off(store: Store) {
    let flags = store.list_flags().await.unwrap();
    let names: Vec<&str> = flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ROLLOUT_FLAGS, "sorted by name");
    assert!(flags.iter().all(|f| !f.enabled));
    assert!(flags.iter().all(|f| f.cohorts.is_empty()));
    // Only the area flags label the HTTP metrics.
    for flag in &flags {
        assert_eq!(
            flag.in_metrics,
            flag.name.as_str().starts_with("use_real_"),
            "{}",
            flag.name.as_str()
        );
    }
}

async fn cohorts_are_stored_kept_and_audited(store: Store) {
    let name = FlagName::parse("use_real_feed").unwrap();
    let named = user(&store).await;
    let cohorts = Cohorts {
        users: [named].into(),
        roles: [UserRole::Moderator].into(),
        levels: [VerificationLevel::BusinessVerified].into(),
        countries: [Country::parse("KE").unwrap()].into(),
    };
    let mut update = change(true, Some(10));
    update.cohorts = Some(cohorts.clone());
    update.reason = ChangeReason::parse("canary for the Nairobi team").unwrap();
    let flag = store
        .update_flag(&name, update, &AuditContext::cli())
        .await
        .unwrap();
    assert_eq!(flag.cohorts, cohorts);
    assert_eq!(store.flag(&name).await.unwrap().unwrap().cohorts, cohorts);

    // A change that leaves the cohorts out keeps them; an empty set clears them.
    let kept = store
        .update_flag(&name, change(true, Some(20)), &AuditContext::cli())
        .await
        .unwrap();
    assert_eq!(kept.cohorts, cohorts);
    let mut clear = change(true, None);
    clear.cohorts = Some(Cohorts::default());
    let cleared = store
        .update_flag(&name, clear, &AuditContext::cli())
        .await
        .unwrap();
    assert!(cleared.cohorts.is_empty());

    let audit = store
        .events_for_target("flag", "use_real_feed", None, Limit::DEFAULT)
        .await
        .unwrap();
    // Oldest first.
    let first = &audit.items[0];
    assert_eq!(first.details["reason"], "canary for the Nairobi team");
    assert_eq!(first.details["before"]["enabled"], false);
    assert_eq!(first.details["before"]["rollout_percent"], 100);
    assert_eq!(first.details["after"]["rollout_percent"], 10);
    assert_eq!(
        first.details["after"]["cohorts"]["users"][0],
        named.as_uuid().to_string()
    );
    assert_eq!(first.details["after"]["cohorts"]["countries"][0], "KE");
    let newest = audit.items.last().unwrap();
    assert_eq!(newest.details["before"]["cohorts"]["roles"][0], "moderator");
    assert_eq!(
        newest.details["after"]["cohorts"]["roles"],
        serde_json::json!([])
    );
}

async fn unknown_named_members_change_nothing(store: Store) {
    let name = FlagName::parse("use_real_feed").unwrap();
    let known = user(&store).await;
    let stranger = UserId::new();
    let mut update = change(true, Some(5));
    update.cohorts = Some(Cohorts {
        users: [known, stranger].into(),
        ..Cohorts::default()
    });
    let result = store.update_flag(&name, update, &AuditContext::cli()).await;
    match result {
        Err(Error::Invalid(errors)) => {
            let issues = &errors.fields()["cohorts.include_users"];
            assert_eq!(issues[0].code, "unknown_users");
            assert!(issues[0].message.contains(&stranger.as_uuid().to_string()));
            assert!(!issues[0].message.contains(&known.as_uuid().to_string()));
        }
        other => panic!("expected unknown_users, got {other:?}"),
    }
    let flag = store.flag(&name).await.unwrap().unwrap();
    assert!(!flag.enabled && flag.cohorts.is_empty(), "nothing changed");
    assert_eq!(
        store.backlog().await.unwrap().pending,
        1,
        "only the member's creation was announced"
    );
}

async fn flag_members_carry_role_level_and_country(store: Store) {
    let member = user(&store).await;
    assert_eq!(
        store.flag_member(member).await.unwrap(),
        Some(Member::plain(member)),
        "no profile yet: no country"
    );
    store
        .set_role(member, UserRole::Moderator, &AuditContext::cli())
        .await
        .unwrap();
    store
        .set_verification_level(
            member,
            VerificationLevel::EmailVerified,
            &AuditContext::cli(),
        )
        .await
        .unwrap();
    let raw = RawProfileChanges {
        country_code: Some(Some("ke".to_owned())),
        ..RawProfileChanges::default()
    };
    ProfileRepo::update_profile(&store, member, &ProfileChanges::parse(raw).unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.flag_member(member).await.unwrap(),
        Some(Member {
            id: member,
            role: UserRole::Moderator,
            level: VerificationLevel::EmailVerified,
            country: Some("KE".to_owned()),
        })
    );
    assert_eq!(store.flag_member(UserId::new()).await.unwrap(), None);
}

async fn updates_flag_with_event_and_audit(store: Store) {
    let name = FlagName::parse("use_real_feed").unwrap();
    let update = change(true, Some(25));
    let flag = store
        .update_flag(&name, update, &AuditContext::cli())
        .await
        .unwrap();
    assert!(flag.enabled);
    assert_eq!(flag.rollout_percent.get(), 25);
    assert_eq!(store.flag(&name).await.unwrap(), Some(flag.clone()));

    // Leaving the percentage out keeps it.
    let off = store
        .update_flag(&name, change(false, None), &AuditContext::cli())
        .await;
    assert_eq!(off.unwrap().rollout_percent.get(), 25);

    assert_eq!(
        store.backlog().await.unwrap().pending,
        2,
        "one flag.updated event per change"
    );
    let audit = store
        .events_for_target("flag", "use_real_feed", None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 2);
    assert_eq!(audit.items[0].action, "flag.updated");
    assert_eq!(audit.items[0].details["via"], "cli");
    assert_eq!(audit.items[0].details["after"]["rollout_percent"], 25);
    assert_eq!(audit.items[0].details["before"]["rollout_percent"], 100);
    assert_eq!(audit.items[0].details["reason"], "conformance");
    assert_eq!(audit.items[1].details["before"]["enabled"], true);
    assert_eq!(audit.items[1].details["after"]["enabled"], false);
}

async fn unknown_flag_is_not_found(store: Store) {
    let name = FlagName::parse("no_such_flag").unwrap();
    assert_eq!(store.flag(&name).await.unwrap(), None);
    let result = store
        .update_flag(&name, change(true, None), &AuditContext::cli())
        .await;
    assert!(
        matches!(result, Err(Error::NotFound { what: "flag" })),
        "{result:?}"
    );
    assert_eq!(
        store.backlog().await.unwrap().pending,
        0,
        "a refused change announces nothing"
    );
}
