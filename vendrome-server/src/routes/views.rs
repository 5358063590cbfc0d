//! The JSON shapes of users and sessions, shared by the routes that return them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::auth::{SessionToken, SignedIn};
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::ids::{SessionId, UserId};
use vendrome_core::users::User;

/// A user as anyone may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub headline: Option<String>,
    pub avatar_url: Option<String>,
    pub verification_level: VerificationLevel,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            display_name: user.display_name.as_str().to_owned(),
            handle: user.handle.as_ref().map(|h| h.as_str().to_owned()),
            headline: user.headline.clone(),
            avatar_url: user.avatar_url.clone(),
            verification_level: user.verification_level,
            created_at: user.created_at,
        }
    }
}

/// A user as they (and admins) see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub handle: Option<String>,
    pub headline: Option<String>,
    pub avatar_url: Option<String>,
    pub role: UserRole,
    pub verification_level: VerificationLevel,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for AccountView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified_at.is_some(),
            display_name: user.display_name.as_str().to_owned(),
            handle: user.handle.as_ref().map(|h| h.as_str().to_owned()),
            headline: user.headline.clone(),
            avatar_url: user.avatar_url.clone(),
            role: user.role,
            verification_level: user.verification_level,
            disabled: user.is_disabled(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthTokens {
    pub user: AccountView,
    /// The session these tokens belong to (see `GET /v1/auth/sessions`).
    pub session_id: SessionId,
    /// A JWT for `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The refresh token (single use: each refresh returns the next one). `null` when it was set
    /// as an httpOnly cookie instead (`X-Refresh-Token-Transport: cookie`).
    pub refresh_token: Option<String>,
    /// Send it back with the next sign-in on this device (login only): it keeps the device
    /// signing in while someone else is guessing the account's password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

impl AuthTokens {
    pub fn new(signed_in: &SignedIn, refresh_in_body: bool) -> Self {
        Self {
            user: AccountView::from(&signed_in.user),
            session_id: signed_in.session_id,
            access_token: signed_in.access_token.clone(),
            token_type: "Bearer".into(),
            expires_in: signed_in.expires_in,
            refresh_token: refresh_in_body.then(|| signed_in.refresh_token.expose().to_owned()),
            device_key: signed_in.device_key.clone(),
        }
    }
}

/// A live session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Whether this is the session of the request's own access token.
    pub current: bool,
}

impl SessionView {
    pub fn new(token: &SessionToken, current: Option<SessionId>) -> Self {
        Self {
            id: token.session_id,
            created_at: token.started_at,
            last_used_at: token.last_used_at,
            expires_at: token.expires_at.min(token.idle_expires_at),
            user_agent: token.user_agent.clone(),
            ip: token.ip.clone(),
            current: current == Some(token.session_id),
        }
    }
}
