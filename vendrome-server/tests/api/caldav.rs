//! CalDAV sync against a real Radicale server, started by each test on a free port when
//! `VENDROME_RADICALE` names its executable (`scripts/peers/caldav.sh` installs it and runs these
//! tests; without it they are skipped with a note): a full sync, incremental syncs after remote
//! creates, updates and deletes (requests made follow the changes), a sync token the server no
//! longer knows (403 `valid-sync-token`: full resync, no duplicates), remote events as busy time,
//! writes from us (`If-None-Match: *`, then `If-Match`), a conflicting edit on both sides settled
//! both ways (the later edit wins, the loser in `GET /v1/calendar/conflicts`), and an unreachable
//! server recorded as the integration's last error.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;
use vendrome_store::with_db;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(calendar_caldav_syncs_with_radicale);

/// A Radicale server on a free port with an empty storage folder, stopped when dropped.
pub struct Radicale {
    child: Child,
    pub base: String,
    folder: std::path::PathBuf,
    /// The password its own requests use.
    password: String,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

impl Radicale {
    /// `None` (with a note) when `VENDROME_RADICALE` is not set. Any password is accepted.
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// Like [`Self::start`], accepting only `user`'s `password` (a 401 for any other).
    pub fn start_with_password(user: &str, password: &str) -> Option<Self> {
        Self::start_with(Some((user, password)))
    }

    fn start_with(account: Option<(&str, &str)>) -> Option<Self> {
        let Ok(exe) = std::env::var("VENDROME_RADICALE") else {
            eprintln!("skipped: VENDROME_RADICALE is not set (scripts/peers/caldav.sh runs this)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = std::env::temp_dir().join(format!("vendrome-radicale-{port}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut command = Command::new(exe);
        command
            .args(["--config", "", "--server-hosts"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--storage-filesystem-folder")
            .arg(folder.join("collections"));
        match account {
            None => {
                command.args(["--auth-type", "none"]);
            }
            Some((user, password)) => {
                let users = folder.join("users");
                std::fs::write(&users, format!("{user}:{password}\n")).unwrap();
                command
                    .args(["--auth-type", "htpasswd", "--auth-htpasswd-filename"])
                    .arg(&users)
                    .args(["--auth-htpasswd-encryption", "plain", "--auth-delay", "0"]);
            }
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Radicale starts");
        let radicale = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            folder,
            password: account.map_or("x", |(_, p)| p).to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "Radicale did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(radicale)
    }

    /// Makes the calendar collection `/<user>/<name>/`; its URL.
    pub async fn calendar(&self, user: &str, name: &str) -> String {
        let url = format!("{}/{user}/{name}/", self.base);
        let status = reqwest::Client::new()
            .request(reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(), &url)
            .basic_auth(user, Some(&self.password))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 201);
        url
    }
}

/// One VEVENT as a client of the server would write it.
pub fn vevent(uid: &str, title: &str, start: &str, end: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Someone else//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{title}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// [`vevent`] with a LAST-MODIFIED.
fn edited(uid: &str, title: &str, last_modified: &str) -> String {
    vevent(uid, title, "20270110T100000Z", "20270110T110000Z").replace(
        "SUMMARY:",
        &format!("LAST-MODIFIED:{last_modified}\r\nSUMMARY:"),
    )
}

async fn remote_get(url: &str) -> String {
    reqwest::Client::new()
        .get(url)
        .basic_auth("alice", Some("x"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A write by another client of the server (no precondition).
pub async fn remote_put(collection: &str, name: &str, ics: &str) {
    let status = reqwest::Client::new()
        .put(format!("{collection}{name}.ics"))
        .basic_auth("alice", Some("x"))
        .header("content-type", "text/calendar")
        .body(ics.to_owned())
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

async fn remote_delete(collection: &str, name: &str) {
    let status = reqwest::Client::new()
        .delete(format!("{collection}{name}.ics"))
        .basic_auth("alice", Some("x"))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-01-01T00:00:00Z"),
                ("to", "2027-02-01T00:00:00Z"),
                ("limit", "100"),
            ])
            .bearer_auth(token),
    )
    .await;
    let mut titles: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["event"]["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

async fn sync(app: &TestApp, token: &str, id: &str) -> Value {
    succeed(
        app.post(&format!("/v1/calendar/integrations/{id}/sync"))
            .bearer_auth(token),
    )
    .await["data"]
        .clone()
}

async fn calendar_caldav_syncs_with_radicale(backend: Backend) {
    let Some(radicale) = Radicale::start() else {
        return;
    };
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let collection = radicale.calendar("alice", "work").await;
    remote_put(
        &collection,
        "e1",
        &vevent(
            "e1@elsewhere",
            "Board",
            "20270104T090000Z",
            "20270104T100000Z",
        ),
    )
    .await;
    remote_put(
        &collection,
        "e2",
        &vevent(
            "e2@elsewhere",
            "Dentist",
            "20270105T090000Z",
            "20270105T100000Z",
        ),
    )
    .await;

    let made = expect_status(
        app.post("/v1/calendar/integrations/caldav")
            .bearer_auth(&me)
            .json(&json!({"url": collection, "username": "alice", "password": "radicale-pw"})),
        201,
    )
    .await["data"]
        .clone();
    let id = made["id"].as_str().unwrap().to_owned();

    // Full sync: both events, as the member's busy time.
    let first = sync(&app, &me, &id).await;
    assert_eq!(
        (&first["full"], &first["created"], &first["requests"]),
        (&json!(true), &json!(2), &json!(2)),
        "{first}"
    );
    assert_eq!(titles(&app, &me).await, ["Board", "Dentist"]);
    let busy = succeed(
        app.get(&format!("/v1/users/{me_id}/free-busy"))
            .query(&[
                ("from", "2027-01-04T00:00:00Z"),
                ("to", "2027-01-06T00:00:00Z"),
            ])
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(busy["data"].as_array().unwrap().len(), 2, "{busy}");

    // Nothing changed: one request, nothing written.
    let idle = sync(&app, &me, &id).await;
    assert_eq!(
        (
            &idle["full"],
            &idle["created"],
            &idle["updated"],
            &idle["requests"]
        ),
        (&json!(false), &json!(0), &json!(0), &json!(1)),
        "{idle}"
    );

    // Remote create, update and delete: one sync-collection and one multiget.
    remote_put(
        &collection,
        "e1",
        &vevent(
            "e1@elsewhere",
            "Board (moved)",
            "20270104T110000Z",
            "20270104T120000Z",
        ),
    )
    .await;
    remote_delete(&collection, "e2").await;
    remote_put(
        &collection,
        "e3",
        &vevent(
            "e3@elsewhere",
            "Offsite",
            "20270106T090000Z",
            "20270106T170000Z",
        ),
    )
    .await;
    let delta = sync(&app, &me, &id).await;
    assert_eq!(
        (
            &delta["full"],
            &delta["created"],
            &delta["updated"],
            &delta["deleted"],
            &delta["requests"]
        ),
        (&json!(false), &json!(1), &json!(1), &json!(1), &json!(2)),
        "{delta}"
    );
    assert_eq!(titles(&app, &me).await, ["Board (moved)", "Offsite"]);

    // A token the server no longer knows: 403 valid-sync-token, then a full resync without
    // duplicates; a remote delete made meanwhile is still seen.
    remote_delete(&collection, "e3").await;
    with_db!(app.db.store.db(), pool => {
        sqlx::query("UPDATE calendar_integrations SET sync_cursor = 'http://radicale.org/ns/sync/unknown'")
            .execute(pool)
            .await
            .map(drop)
            .unwrap()
    });
    let resync = sync(&app, &me, &id).await;
    assert_eq!(
        (&resync["full"], &resync["created"], &resync["deleted"]),
        (&json!(true), &json!(0), &json!(1)),
        "{resync}"
    );
    assert_eq!(titles(&app, &me).await, ["Board (moved)"]);
    let listed = succeed(app.get("/v1/calendar/integrations").bearer_auth(&me)).await;
    assert!(listed["data"][0]["last_synced_at"].is_string(), "{listed}");
    assert!(listed["data"][0]["last_error"].is_null(), "{listed}");

    // A write from us: created at the server (If-None-Match: *); the next sync does not take
    // our own write for a remote change.
    let event = expect_status(
        app.post("/v1/calendar/events").bearer_auth(&me).json(&json!({
            "title": "Pitch", "starts_at": "2027-01-10T10:00:00Z", "ends_at": "2027-01-10T11:00:00Z",
            "timezone": "UTC", "visibility": "busy",
        })),
        201,
    )
    .await["data"]
        .clone();
    let event_id = event["id"].as_str().unwrap();
    let uid = event["ical_uid"].as_str().unwrap();
    let push_path = format!("/v1/calendar/integrations/{id}/events/{event_id}");
    let pushed = succeed(app.put(&push_path).bearer_auth(&me)).await["data"].clone();
    assert_eq!(
        (&pushed["created"], &pushed["conflict_ours_won"]),
        (&json!(true), &Value::Null)
    );
    let href = pushed["external_event_id"].as_str().unwrap().to_owned();
    let remote_url = format!("{}{href}", radicale.base);
    assert!(remote_get(&remote_url).await.contains("SUMMARY:Pitch"));
    let quiet = sync(&app, &me, &id).await;
    assert_eq!(
        (&quiet["created"], &quiet["updated"]),
        (&json!(0), &json!(0)),
        "{quiet}"
    );

    // Changed here and written again (If-Match on the etag we hold).
    let rename = |title: &str| {
        app.patch(&format!("/v1/calendar/events/{event_id}"))
            .bearer_auth(&me)
            .json(&json!({ "title": title }))
    };
    succeed(rename("Pitch v2")).await;
    let again = succeed(app.put(&push_path).bearer_auth(&me)).await["data"].clone();
    assert_eq!(
        (&again["created"], &again["conflict_ours_won"]),
        (&json!(false), &Value::Null)
    );
    assert!(remote_get(&remote_url).await.contains("SUMMARY:Pitch v2"));

    // Both sides edit; ours is later: our write meets 412, wins, and theirs is logged.
    reqwest::Client::new()
        .put(&remote_url)
        .basic_auth("alice", Some("x"))
        .body(edited(uid, "Their older edit", "20261201T000000Z"))
        .send()
        .await
        .unwrap();
    succeed(rename("Pitch v3")).await;
    let won = succeed(app.put(&push_path).bearer_auth(&me)).await["data"].clone();
    assert_eq!(won["conflict_ours_won"], true, "{won}");
    assert!(remote_get(&remote_url).await.contains("SUMMARY:Pitch v3"));

    // Both sides edit; theirs is later: the sync takes theirs and logs ours.
    succeed(rename("Pitch v4")).await;
    reqwest::Client::new()
        .put(&remote_url)
        .basic_auth("alice", Some("x"))
        .body(edited(uid, "Their later edit", "20300101T000000Z"))
        .send()
        .await
        .unwrap();
    let lost = sync(&app, &me, &id).await;
    assert_eq!(lost["conflicts"], 1, "{lost}");
    let read = succeed(
        app.get(&format!("/v1/calendar/events/{event_id}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(read["data"]["title"], "Their later edit");
    let log = succeed(app.get("/v1/calendar/conflicts").bearer_auth(&me)).await;
    let log = log["data"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["ours_won"], true);
    assert!(log[0]["loser_ics"]
        .as_str()
        .unwrap()
        .contains("Their older edit"));
    assert_eq!(log[1]["ours_won"], false);
    assert!(log[1]["loser_ics"].as_str().unwrap().contains("Pitch v4"));

    // An unreachable server: 503, recorded as the integration's last error and status.
    let dead = expect_status(
        app.post("/v1/calendar/integrations/caldav")
            .bearer_auth(&me)
            .json(&json!({"url": "http://127.0.0.1:9/alice/gone/", "username": "alice", "password": "pw-never-logged"})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_error(
        app.post(&format!("/v1/calendar/integrations/{dead}/sync"))
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        503,
        "calendar_sync_failed",
    )
    .await;
    let listed = succeed(app.get("/v1/calendar/integrations").bearer_auth(&me)).await;
    let failed = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == dead.as_str())
        .unwrap()
        .clone();
    assert_eq!(failed["status"], "error", "{failed}");
    let error = failed["last_error"].as_str().unwrap();
    assert!(!error.contains("pw-never-logged"), "{error}");
}
