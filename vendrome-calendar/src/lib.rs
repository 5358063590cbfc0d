//! Vendrome's calendar: the rules of native events (visibility, attendees and their answers,
//! free/busy) and their recurrence, expanded in each event's time zone with the `rrule` crate;
//! iCalendar (RFC 5545) files written out and read in (`ics`), served as a member's secret feed
//! and imported per UID (`exchange`); connections to external calendars (`integrations`) with
//! their credentials sealed at rest (`secrets`), synced (`sync`) through a leased work queue
//! (`runner`). Providers — CalDAV (`caldav`), Google (`google`) and Microsoft Graph
//! (`microsoft`) — sit behind one port (`provider`); Google and Microsoft are connected with
//! OAuth (`oauth_app`, `connect`) and push their changes (`push`, `microsoft_push`).
//!
//! Storage is reached only through `vendrome_core::calendar::CalendarRepo` (and the graph port for
//! who is connected to whom): this crate depends on no database, HTTP server or store crate.

pub mod caldav;
mod caldav_remote;
pub mod connect;
pub mod exchange;
pub mod google;
mod google_calendar;
mod google_series;
mod graph_recurrence;
mod graph_series;
mod graph_zones;
pub mod ics;
pub mod input;
pub mod integrations;
pub mod microsoft;
mod microsoft_calendar;
pub mod microsoft_push;
pub mod oauth_app;
pub mod provider;
pub mod push;
pub mod recurrence;
pub mod runner;
pub mod secrets;
pub mod service;
mod session;
pub mod sync;
pub mod writeback;

pub use exchange::{IcsService, ImportReport};
pub use input::{EventChanges, EventInput};
pub use integrations::{CaldavInput, IntegrationService};
pub use oauth_app::{OAuthApp, ProviderConfig};
pub use runner::{JobRun, RunnerConfig, SyncRunner};
pub use secrets::{CalendarKeys, Credentials, Secret};
pub use service::{BusyBlock, CalendarService, Occurrence, Window};
pub use sync::{Attempt, SyncEngine, SyncReport};
pub use writeback::PushReport;
