//! Calendar integrations over HTTP: a CalDAV calendar connected with its password sealed (the
//! database holds no plaintext), listed with its state, refused twice or with bad input, hidden
//! from and undeletable by other members, re-sealed by a key rotation, disconnected.

use std::sync::Arc;

use serde_json::json;
use vendrome_calendar::{CaldavInput, CalendarKeys, IntegrationService, Secret};
use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::IntegrationRepo as _;
use vendrome_core::enums::UserRole;
use vendrome_store::with_db;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_caldav_integrations_are_sealed_listed_rotated_and_disconnected,
    calendar_credentials_never_reach_the_logs
);

const PASSWORD: &str = "correct-horse-battery-staple-4711";

/// The columns of an integration that could hold a credential.
type StoredRow = (
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
);

/// Every stored integration's columns that could hold a credential, as bytes.
async fn stored_bytes(app: &TestApp) -> Vec<Vec<u8>> {
    let rows: Vec<StoredRow> = with_db!(app.db.store.db(), pool => {
        sqlx::query_as(
            "SELECT provider_account_id, external_calendar_id, account_email, \
             access_token_ciphertext, last_error FROM calendar_integrations",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.into_iter()
        .flat_map(|(a, b, c, d, e)| {
            [
                Some(a.into_bytes()),
                Some(b.into_bytes()),
                c.map(String::into_bytes),
                d,
                e.map(String::into_bytes),
            ]
        })
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn calendar_caldav_integrations_are_sealed_listed_rotated_and_disconnected(backend: Backend) {
    let old = CalendarKeys::generate_spec();
    let mut setup = Setup::new(backend);
    setup.calendar_keys = Some(old.clone());
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let (_, other) = app.user(UserRole::Member).await;
    let connect = |token: &str, body: serde_json::Value| {
        app.post("/v1/calendar/integrations/caldav")
            .bearer_auth(token)
            .json(&body)
    };
    let body = json!({
        "url": "https://dav.example.com/alice/calendar",
        "username": "alice",
        "password": PASSWORD,
    });
    let made = expect_status(connect(&me, body.clone()), 201).await["data"].clone();
    assert_eq!(made["provider"], "caldav");
    assert_eq!(made["status"], "active");
    assert_eq!(made["account"], "alice");
    assert_eq!(made["calendar"], "https://dav.example.com/alice/calendar/");
    assert!(made["last_synced_at"].is_null() && made["last_error"].is_null());
    assert!(!made.to_string().contains(PASSWORD), "{made}");
    let id = made["id"].as_str().unwrap().to_owned();

    // The database holds the password only sealed.
    let bytes = stored_bytes(&app).await;
    assert!(!bytes.is_empty());
    assert!(bytes.iter().all(|b| !contains(b, PASSWORD.as_bytes())));

    // Connected twice: 409; bad input: every field named.
    expect_error(
        connect(&me, body.clone()).send().await.unwrap(),
        409,
        "integration_exists",
    )
    .await;
    let refused = expect_error(
        connect(
            &me,
            json!({"url": "ftp://x", "username": "", "password": ""}),
        )
        .send()
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields = &refused["error"]["details"]["fields"];
    for field in ["url", "username", "password"] {
        assert!(fields[field].is_array(), "{refused}");
    }

    // Listed for its owner only.
    let mine = succeed(app.get("/v1/calendar/integrations").bearer_auth(&me)).await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    assert_eq!(mine["data"][0]["id"], id.as_str());
    let theirs = succeed(app.get("/v1/calendar/integrations").bearer_auth(&other)).await;
    assert!(theirs["data"].as_array().unwrap().is_empty());
    let path = format!("/v1/calendar/integrations/{id}");
    expect_error(
        app.delete(&path).bearer_auth(&other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // A rotation re-seals with the new key; the old one can then be dropped.
    let new = CalendarKeys::generate_spec().replacen('c', "n", 1);
    let store = Arc::new(app.db.store.clone());
    let rotated = IntegrationService::new(
        store.clone(),
        Some(Arc::new(
            CalendarKeys::parse(&format!("{new},{old}")).unwrap(),
        )),
    );
    assert_eq!(rotated.rotate_keys().await.unwrap(), 1);
    assert_eq!(rotated.rotate_keys().await.unwrap(), 0);
    let only_new = IntegrationService::new(
        store.clone(),
        Some(Arc::new(CalendarKeys::parse(&new).unwrap())),
    );
    let row = store
        .integrations_of(me_id, None, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        only_new.credentials(&row).unwrap().access.expose(),
        PASSWORD
    );
    let only_old = IntegrationService::new(
        store.clone(),
        Some(Arc::new(CalendarKeys::parse(&old).unwrap())),
    );
    assert!(only_old.credentials(&row).is_err());
    let bytes = stored_bytes(&app).await;
    assert!(bytes.iter().all(|b| !contains(b, PASSWORD.as_bytes())));

    // Disconnected: gone from the list, a second delete is 404.
    let gone = succeed(app.delete(&path).bearer_auth(&me)).await;
    assert_eq!(gone["data"]["deleted"], true);
    let mine = succeed(app.get("/v1/calendar/integrations").bearer_auth(&me)).await;
    assert!(mine["data"].as_array().unwrap().is_empty());
    expect_error(
        app.delete(&path).bearer_auth(&me).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
}

/// What a subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Connecting, a failing sync and a key rotation, logged at TRACE with every span's fields:
/// the password appears nowhere in the log (nor in the database, checked above).
async fn calendar_credentials_never_reach_the_logs(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me, _) = app.user(UserRole::Member).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let caller = Caller {
        user_id: me,
        role: UserRole::Member,
    };
    let integration = app
        .state
        .calendar_integrations
        .connect_caldav(
            &caller,
            CaldavInput {
                url: "http://127.0.0.1:9/alice/calendar/".into(),
                username: "alice".into(),
                password: Secret::new(PASSWORD),
            },
        )
        .await
        .unwrap();
    tracing::debug!(?integration, "connected");
    let failed = app
        .state
        .calendar_sync
        .sync(integration.id)
        .await
        .unwrap_err();
    tracing::debug!(?failed, "sync failed");
    let credentials = app
        .state
        .calendar_integrations
        .credentials(&integration)
        .unwrap();
    tracing::debug!(?credentials, "opened");
    assert_eq!(credentials.access.expose(), PASSWORD);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("calendar sync failed"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
}
