//! Microsoft Graph calendars: endpoints and scopes (the OAuth client is [`crate::OAuthApp`],
//! the API client of one calendar [`MicrosoftCalendar`], in `microsoft_calendar`).
//!
//! The defaults are Microsoft's identity platform (learn.microsoft.com
//! entra/identity-platform/v2-oauth2-auth-code-flow) and Graph v1.0.

pub use crate::microsoft_calendar::{MicrosoftCalendar, Subscription, MAX_SUBSCRIPTION};

pub const AUTH_URL: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
pub const TOKEN_URL: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
pub const API_URL: &str = "https://graph.microsoft.com/v1.0";
/// A refresh token, and reading and writing the member's calendars.
pub const SCOPES: &[&str] = &["offline_access", "Calendars.ReadWrite"];
