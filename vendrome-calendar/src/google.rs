//! Google Calendar: its endpoints and scope (the OAuth client is [`crate::OAuthApp`], the API
//! client of one calendar [`GoogleCalendar`], in `google_calendar`).
//!
//! The defaults are Google's (developers.google.com/identity/protocols/oauth2/web-server,
//! developers.google.com/calendar/api).

pub use crate::google_calendar::{GoogleCalendar, WatchChannel};
pub use crate::oauth_app::ProviderConfig;

pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const API_URL: &str = "https://www.googleapis.com/calendar/v3";
/// developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
pub const REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
/// Read and write events (developers.google.com/calendar/api/auth).
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar.events";
