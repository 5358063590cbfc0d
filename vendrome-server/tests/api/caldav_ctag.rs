//! CalDAV sync with a server that refuses `sync-collection` (403 `DAV:supported-report`, which is
//! not a refused credential): a small local fake that keeps a ctag and etags. The first sync lists
//! the collection and fetches every member; with the ctag unchanged a sync is one request and
//! fetches nothing; after remote changes only the members whose etag moved are fetched, and the
//! removed one is deleted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::caldav::vevent;
use crate::support::{expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(calendar_caldav_ctag_fallback_without_sync_collection);

/// What the fake holds and saw.
#[derive(Default)]
struct Fake {
    /// name → (etag, iCalendar).
    items: BTreeMap<String, (String, String)>,
    ctag: u64,
    /// Each request: `PROPFIND 0`, `PROPFIND 1`, `REPORT sync-collection`, `REPORT multiget`.
    requests: Vec<String>,
    /// The hrefs each multiget asked for.
    fetched: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

const COLLECTION: &str = "/cal/";

fn multistatus(responses: &str) -> Response {
    (
        StatusCode::MULTI_STATUS,
        [("content-type", "application/xml; charset=utf-8")],
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">{responses}</D:multistatus>"#
        ),
    )
        .into_response()
}

fn ok_prop(href: &str, props: &str) -> String {
    format!(
        "<D:response><D:href>{href}</D:href><D:propstat><D:prop>{props}</D:prop>\
         <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn dav(
    State(fake): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut fake = fake.lock().unwrap();
    let depth = headers
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("0")
        .to_owned();
    match method.as_str() {
        "PROPFIND" if depth == "0" => {
            fake.requests.push("PROPFIND 0".into());
            let ctag = fake.ctag;
            multistatus(&ok_prop(
                COLLECTION,
                &format!("<CS:getctag>c{ctag}</CS:getctag>"),
            ))
        }
        "PROPFIND" => {
            fake.requests.push("PROPFIND 1".into());
            let mut out = ok_prop(
                COLLECTION,
                "<D:resourcetype><D:collection/></D:resourcetype>",
            );
            for (name, (etag, _)) in &fake.items {
                out.push_str(&ok_prop(
                    &format!("{COLLECTION}{name}.ics"),
                    &format!("<D:getetag>{etag}</D:getetag>"),
                ));
            }
            multistatus(&out)
        }
        "REPORT" if body.contains("sync-collection") => {
            fake.requests.push("REPORT sync-collection".into());
            (
                StatusCode::FORBIDDEN,
                r#"<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="DAV:"><D:supported-report/></D:error>"#,
            )
                .into_response()
        }
        "REPORT" if body.contains("calendar-multiget") => {
            fake.requests.push("REPORT multiget".into());
            let mut out = String::new();
            for piece in body.split("<D:href>").skip(1) {
                let href = piece.split("</D:href>").next().unwrap().to_owned();
                fake.fetched.push(href.clone());
                let name = href.trim_start_matches(COLLECTION).trim_end_matches(".ics");
                if let Some((etag, ics)) = fake.items.get(name) {
                    out.push_str(&ok_prop(
                        &href,
                        &format!(
                            "<D:getetag>{etag}</D:getetag><C:calendar-data>{}</C:calendar-data>",
                            escape(ics)
                        ),
                    ));
                }
            }
            multistatus(&out)
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// Starts the fake; its address.
async fn start(fake: Shared) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(dav).with_state(fake);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// A remote change: the item's new version, and the collection's ctag moved.
fn change(fake: &Shared, name: &str, ics: Option<String>) {
    let mut fake = fake.lock().unwrap();
    fake.ctag += 1;
    let version = fake.ctag;
    match ics {
        Some(ics) => {
            fake.items
                .insert(name.to_owned(), (format!("\"{name}-{version}\""), ics));
        }
        None => {
            fake.items.remove(name);
        }
    }
}

/// What the fake saw since the last call: its requests and the hrefs fetched.
fn seen(fake: &Shared) -> (Vec<String>, Vec<String>) {
    let mut fake = fake.lock().unwrap();
    let mut fetched = std::mem::take(&mut fake.fetched);
    fetched.sort();
    (std::mem::take(&mut fake.requests), fetched)
}

async fn sync(app: &TestApp, token: &str, id: &str) -> Value {
    succeed(
        app.post(&format!("/v1/calendar/integrations/{id}/sync"))
            .bearer_auth(token),
    )
    .await["data"]
        .clone()
}

async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-01-01T00:00:00Z"),
                ("to", "2027-02-01T00:00:00Z"),
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

fn counts(report: &Value) -> [i64; 5] {
    ["created", "updated", "deleted", "requests", "skipped"].map(|k| report[k].as_i64().unwrap())
}

async fn calendar_caldav_ctag_fallback_without_sync_collection(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let fake: Shared = Arc::default();
    let event = |uid: &str, title: &str, day: u32| {
        vevent(
            uid,
            title,
            &format!("202701{day:02}T090000Z"),
            &format!("202701{day:02}T100000Z"),
        )
    };
    change(&fake, "e1", Some(event("e1@fake", "Board", 4)));
    change(&fake, "e2", Some(event("e2@fake", "Dentist", 5)));
    let address = start(fake.clone()).await;
    let me = app.token(UserRole::Member).await;
    let id = expect_status(
        app.post("/v1/calendar/integrations/caldav")
            .bearer_auth(&me)
            .json(&json!({"url": format!("http://{address}{COLLECTION}"), "username": "alice", "password": "pw"})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // First sync: sync-collection refused, so the ctag, the listing, and one multiget.
    let first = sync(&app, &me, &id).await;
    assert_eq!(first["full"], true, "{first}");
    assert_eq!(counts(&first), [2, 0, 0, 4, 0], "{first}");
    let (requests, fetched) = seen(&fake);
    assert_eq!(
        requests,
        [
            "REPORT sync-collection",
            "PROPFIND 0",
            "PROPFIND 1",
            "REPORT multiget"
        ]
    );
    assert_eq!(fetched, ["/cal/e1.ics", "/cal/e2.ics"]);
    assert_eq!(titles(&app, &me).await, ["Board", "Dentist"]);
    let listed = succeed(app.get("/v1/calendar/integrations").bearer_auth(&me)).await;
    assert_eq!(listed["data"][0]["status"], "active", "{listed}");

    // Nothing changed: the ctag alone, nothing fetched or written.
    let idle = sync(&app, &me, &id).await;
    assert_eq!(counts(&idle), [0, 0, 0, 1, 0], "{idle}");
    assert_eq!(seen(&fake), (vec!["PROPFIND 0".to_owned()], vec![]));

    // A remote update, a delete and a create: only the two moved members are fetched.
    change(&fake, "e1", Some(event("e1@fake", "Board (moved)", 6)));
    change(&fake, "e2", None);
    change(&fake, "e3", Some(event("e3@fake", "Offsite", 7)));
    let delta = sync(&app, &me, &id).await;
    assert_eq!(counts(&delta), [1, 1, 1, 3, 0], "{delta}");
    let (requests, fetched) = seen(&fake);
    assert_eq!(requests, ["PROPFIND 0", "PROPFIND 1", "REPORT multiget"]);
    assert_eq!(fetched, ["/cal/e1.ics", "/cal/e3.ics"]);
    assert_eq!(titles(&app, &me).await, ["Board (moved)", "Offsite"]);

    // And quiet again.
    let idle = sync(&app, &me, &id).await;
    assert_eq!(counts(&idle), [0, 0, 0, 1, 0], "{idle}");
}
