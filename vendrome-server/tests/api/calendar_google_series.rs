//! A Google series with instances cancelled or changed on their own (`recurringEventId`,
//! `originalStartTime`), against the local fake of Google's documented API (`google_fake`): a
//! cancelled instance is an exception (EXDATE) of the one series event; a moved one is an
//! exception there and an event of its own at its new time; the overrides survive a change of
//! the series, and a moved instance cancelled later goes.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::calendar_google::{connect, counts, sync, with_fake};
use crate::google_fake::Shared;
use crate::support::{succeed, Backend, TestApp};

both_stores!(calendar_google_reads_instance_overrides_into_the_series);

fn requests(fake: &Shared) -> Vec<String> {
    fake.lock().unwrap().take_requests()
}

/// The member's occurrences in January 2027 as `(start, title)`, in order, and the exceptions
/// of each series among them by title.
async fn january(app: &TestApp, token: &str) -> (Vec<(String, String)>, Vec<(String, Value)>) {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-01-01T00:00:00Z"),
                ("to", "2027-02-01T00:00:00Z"),
            ])
            .bearer_auth(token),
    )
    .await;
    let mut occurrences = Vec::new();
    let mut series: Vec<(String, Value)> = Vec::new();
    for o in body["data"].as_array().unwrap() {
        let title = o["event"]["title"].as_str().unwrap().to_owned();
        occurrences.push((
            o["occurrence_starts_at"].as_str().unwrap().to_owned(),
            title.clone(),
        ));
        if !o["event"]["recurrence"].is_null() && !series.iter().any(|(t, _)| *t == title) {
            series.push((title, o["event"]["exceptions"].clone()));
        }
    }
    occurrences.sort();
    (occurrences, series)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(s, t)| ((*s).to_owned(), (*t).to_owned()))
        .collect()
}

async fn calendar_google_reads_instance_overrides_into_the_series(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
        return;
    };
    // Five days of a standup from Monday 4 January, the Tuesday's cancelled; and a meeting.
    {
        let mut f = fake.lock().unwrap();
        f.create_series(
            "s1",
            "Standup",
            ("2027-01-04T09:00:00Z", "2027-01-04T09:15:00Z"),
            "FREQ=DAILY;COUNT=5",
        );
        f.cancel_instance("s1", "2027-01-05T09:00:00Z");
        f.create(
            "m1",
            "Board",
            "2027-01-04T11:00:00Z",
            "2027-01-04T12:00:00Z",
        );
    }
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    requests(&fake);

    // The full listing carries the series with its cancelled instance: one event, an exception.
    let full = sync(&app, &me, &id).await;
    assert_eq!(counts(&full), [2, 0, 0, 1], "{full}");
    assert_eq!(requests(&fake), ["list"]);
    let (seen, series) = january(&app, &me).await;
    assert_eq!(
        seen,
        pairs(&[
            ("2027-01-04T09:00:00Z", "Standup"),
            ("2027-01-04T11:00:00Z", "Board"),
            ("2027-01-06T09:00:00Z", "Standup"),
            ("2027-01-07T09:00:00Z", "Standup"),
            ("2027-01-08T09:00:00Z", "Standup"),
        ])
    );
    assert_eq!(
        series,
        [("Standup".to_owned(), json!(["2027-01-05T09:00:00Z"]))]
    );

    // Wednesday's moved to the afternoon: the incremental listing has only the instance, so the
    // series is read whole by its iCalUID; Wednesday becomes an exception of the series and the
    // moved instance an event of its own, seen once, at its new time.
    fake.lock().unwrap().move_instance(
        "s1",
        "2027-01-06T09:00:00Z",
        ("2027-01-06T14:00:00Z", "2027-01-06T14:15:00Z"),
        "Standup (moved)",
    );
    let moved = sync(&app, &me, &id).await;
    assert_eq!(counts(&moved), [1, 1, 0, 2], "{moved}");
    assert_eq!(requests(&fake), ["list sync", "list ical"]);
    let (seen, series) = january(&app, &me).await;
    assert_eq!(
        seen,
        pairs(&[
            ("2027-01-04T09:00:00Z", "Standup"),
            ("2027-01-04T11:00:00Z", "Board"),
            ("2027-01-06T14:00:00Z", "Standup (moved)"),
            ("2027-01-07T09:00:00Z", "Standup"),
            ("2027-01-08T09:00:00Z", "Standup"),
        ])
    );
    assert_eq!(
        series,
        [(
            "Standup".to_owned(),
            json!(["2027-01-05T09:00:00Z", "2027-01-06T09:00:00Z"])
        )]
    );
    assert_eq!(counts(&sync(&app, &me, &id).await), [0, 0, 0, 1]);
    assert_eq!(requests(&fake), ["list sync"]);

    // The series renamed: listed without its instances, read whole; its exceptions stay, the
    // moved instance (unchanged) is left as it is.
    fake.lock().unwrap().rename("s1", "Daily");
    let renamed = sync(&app, &me, &id).await;
    assert_eq!(counts(&renamed), [0, 1, 0, 2], "{renamed}");
    assert_eq!(requests(&fake), ["list sync", "list ical"]);
    let (seen, series) = january(&app, &me).await;
    assert_eq!(
        seen,
        pairs(&[
            ("2027-01-04T09:00:00Z", "Daily"),
            ("2027-01-04T11:00:00Z", "Board"),
            ("2027-01-06T14:00:00Z", "Standup (moved)"),
            ("2027-01-07T09:00:00Z", "Daily"),
            ("2027-01-08T09:00:00Z", "Daily"),
        ])
    );
    assert_eq!(
        series,
        [(
            "Daily".to_owned(),
            json!(["2027-01-05T09:00:00Z", "2027-01-06T09:00:00Z"])
        )]
    );

    // The moved instance cancelled: its event goes; Wednesday stays out of the series.
    fake.lock()
        .unwrap()
        .cancel_instance("s1", "2027-01-06T09:00:00Z");
    let cancelled = sync(&app, &me, &id).await;
    assert_eq!(counts(&cancelled), [0, 0, 1, 2], "{cancelled}");
    let (seen, _) = january(&app, &me).await;
    assert_eq!(
        seen,
        pairs(&[
            ("2027-01-04T09:00:00Z", "Daily"),
            ("2027-01-04T11:00:00Z", "Board"),
            ("2027-01-07T09:00:00Z", "Daily"),
            ("2027-01-08T09:00:00Z", "Daily"),
        ])
    );
}
