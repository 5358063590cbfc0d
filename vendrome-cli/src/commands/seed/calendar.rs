//! `calendar.json`: native calendar events of the fixture users (one-off, weekly, all-day, with
//! an invited connection), checked as the API checks them, each imported under the iCalendar UID `fixture-<key>@vendrome`, so a
//! rerun finds it and leaves it alone.

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use vendrome_calendar::{CalendarService, EventInput};
use vendrome_core::calendar::{CalendarRepo as _, EventScope};
use vendrome_core::enums::CalendarVisibility;
use vendrome_core::ids::UserId;
use vendrome_core::time::Timestamp;
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_store::Store;

/// One event of `calendar.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFixture {
    key: String,
    owner: String,
    title: String,
    description: Option<String>,
    location: Option<String>,
    video_url: Option<String>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    timezone: String,
    #[serde(default)]
    all_day: bool,
    recurrence: Option<String>,
    visibility: CalendarVisibility,
    #[serde(default)]
    attendees: Vec<String>,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct CalendarSummary {
    pub events_created: usize,
    pub events_present: usize,
}

async fn member(store: &Store, i: usize, email: &str) -> anyhow::Result<UserId> {
    let parsed = Email::parse(email).map_err(|e| anyhow!("calendar.json item {i}: {e}"))?;
    Ok(store
        .user_by_email(&parsed)
        .await?
        .with_context(|| format!("calendar.json item {i}: no user {email}"))?
        .id)
}

/// Loads `events`.
pub async fn load(
    store: &Store,
    events: Vec<EventFixture>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<CalendarSummary> {
    let mut summary = CalendarSummary::default();
    let service = CalendarService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    for (i, fixture) in events.into_iter().enumerate() {
        let owner = member(store, i, &fixture.owner).await?;
        let uid = format!("fixture-{}@vendrome", fixture.key);
        let present = store
            .events_between(
                owner,
                EventScope::Calendar,
                fixture.starts_at,
                fixture.ends_at,
            )
            .await?
            .iter()
            .any(|e| e.ical_uid == uid);
        if present {
            summary.events_present += 1;
        } else {
            let mut attendees = Vec::new();
            for email in &fixture.attendees {
                attendees.push(member(store, i, email).await?);
            }
            let input = EventInput {
                title: fixture.title,
                description: fixture.description,
                location: fixture.location,
                video_url: fixture.video_url,
                starts_at: fixture.starts_at,
                ends_at: fixture.ends_at,
                timezone: fixture.timezone,
                all_day: fixture.all_day,
                recurrence: fixture.recurrence,
                exceptions: Vec::new(),
                visibility: fixture.visibility,
                attendees,
            };
            let fields = service
                .check(owner, input)
                .await
                .map_err(|e| anyhow!("calendar.json item {i}: {e}"))?;
            store.upsert_by_uid(owner, &uid, &fields).await?;
            summary.events_created += 1;
        }
        bar.inc(1);
    }
    Ok(summary)
}
