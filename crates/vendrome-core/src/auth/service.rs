//! [`AuthService`]: registration, sign-in, rotation, sign-out, sessions, password and profile
//! changes.

use std::sync::Arc;
use std::time::Duration;

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::enums::UserRole;
use crate::ids::{RefreshTokenId, SessionId, UserId};
use crate::rate_limit::{Decision, RateLimiter, Rule};
use crate::time::{self, Timestamp};
use crate::users::{DisplayName, Email, Handle, NewUser, ProfileUpdate, User, UserRepo};
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

use super::limits::{device_key, LoginLimits};
use super::password::{Password, PasswordHasher, DECOY_HASH};
use super::refresh::{RefreshToken, RotationKey};
use super::sessions::{reasons, ClientInfo, NewSessionToken, SessionRepo, SessionToken};

/// Signs access tokens (the server's key ring).
pub trait AccessTokens: Send + Sync {
    fn issue(&self, user: UserId, role: UserRole, session: SessionId) -> Result<String>;
    /// How long an access token lives.
    fn ttl(&self) -> Duration;
}

/// Session lifetimes and budgets.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute_lifetime: Duration,
    /// How long a rotated refresh token still gets its successor (two tabs refreshing at once)
    /// before presenting it again counts as theft and ends the session.
    pub reuse_grace: Duration,
    pub limits: LoginLimits,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 24 * 3600),
            absolute_lifetime: Duration::from_secs(90 * 24 * 3600),
            reuse_grace: Duration::from_secs(10),
            limits: LoginLimits::default(),
        }
    }
}

/// A signed-in session, as handed to the client.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session_id: SessionId,
    pub access_token: String,
    pub refresh_token: RefreshToken,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// The client's device key for this account (sign-in only): sent back at the next sign-in,
    /// it keeps this client signing in while the account's failure budget is exhausted.
    pub device_key: Option<String>,
}

/// A registration as submitted.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

/// A profile change as submitted: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub handle: Option<Option<String>>,
    pub headline: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub email: Option<String>,
    /// Required to change the email.
    pub current_password: Option<String>,
}

/// Identity and access.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepo>,
    sessions: Arc<dyn SessionRepo>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn AccessTokens>,
    limiter: Arc<dyn RateLimiter>,
    rotation_key: RotationKey,
    device_secret: Vec<u8>,
    policy: AuthPolicy,
}

fn after(now: Timestamp, span: Duration) -> Timestamp {
    now + chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX)
}

fn invalid_credentials() -> Error {
    Error::unauthenticated("invalid_credentials", "the email or password is not right")
}

fn address(client: &ClientInfo) -> &str {
    client.ip.as_deref().unwrap_or("unknown")
}

impl AuthService {
    /// `secret` (32 bytes or more) keys refresh-token rotation and device keys.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        users: Arc<dyn UserRepo>,
        sessions: Arc<dyn SessionRepo>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn AccessTokens>,
        limiter: Arc<dyn RateLimiter>,
        secret: &[u8],
        policy: AuthPolicy,
    ) -> Self {
        Self {
            users,
            sessions,
            hasher,
            tokens,
            limiter,
            rotation_key: RotationKey::new(secret.to_vec()),
            device_secret: secret.to_vec(),
            policy,
        }
    }

    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// Counts a hit and refuses with [`Error::RateLimited`] when over budget.
    pub async fn throttle(&self, rule: &Rule, key: &str) -> Result<()> {
        match self.limiter.hit(rule, key).await? {
            Decision::Allowed { .. } => Ok(()),
            Decision::Limited { retry_after } => Err(Error::RateLimited { retry_after }),
        }
    }

    /// Creates an account with a password and signs it in.
    ///
    /// MUST return [`Error::Invalid`] naming every bad field, [`Error::Conflict`] `email_taken`,
    /// or [`Error::RateLimited`] past the per-address budget.
    pub async fn register(&self, account: NewAccount, client: &ClientInfo) -> Result<SignedIn> {
        self.throttle(&self.policy.limits.register_per_ip, address(client))
            .await?;
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(&account.email));
        let password = errors.check("password", Password::new_secret(&account.password));
        let display_name = errors.check("display_name", DisplayName::parse(&account.display_name));
        errors.into_result()?;
        let (email, password, display_name) =
            (email.unwrap(), password.unwrap(), display_name.unwrap());
        let hash = self.hasher.hash(&password).await?;
        let user = self
            .users
            .create_user(NewUser {
                email,
                display_name,
                handle: None,
                password_hash: Some(hash.as_str().to_owned()),
                role: UserRole::Member,
            })
            .await?;
        self.start_session(user, client, None).await
    }

    /// Signs in with email and password.
    ///
    /// A wrong password and an unknown email get the same answer, [`Error::Unauthenticated`]
    /// `invalid_credentials`, after the same work (a decoy hash is verified). MUST return
    /// [`Error::RateLimited`] past the per-address budget or the account's failure budget (see
    /// [`LoginLimits`]), and [`Error::Forbidden`] `account_disabled` for a disabled account with
    /// the right password.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignedIn> {
        let limits = self.policy.limits;
        self.throttle(&limits.login_per_ip, address(client)).await?;
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(email));
        let password = errors.check("password", Password::candidate(password));
        errors.into_result()?;
        let (email, password) = (email.unwrap(), password.unwrap());

        let found = self.users.credentials_by_email(&email).await?;
        // A device key is only worth something for the account it was issued for.
        let known_device = match (&found, device) {
            (Some((user, _)), Some(key)) => {
                let nonce = key.split_once('.').map(|(n, _)| n).unwrap_or("");
                (device_key(&self.device_secret, user.id, nonce) == key).then(|| nonce.to_owned())
            }
            _ => None,
        };
        let (budget, budget_key) = match &known_device {
            Some(nonce) => (
                limits.device_failures,
                format!("{}:{nonce}", email.as_str()),
            ),
            None => (limits.account_failures, email.as_str().to_owned()),
        };
        if let Decision::Limited { retry_after } = self.limiter.peek(&budget, &budget_key).await? {
            return Err(Error::RateLimited { retry_after });
        }

        let hash = found
            .as_ref()
            .and_then(|(_, hash)| hash.clone())
            .unwrap_or_else(|| DECOY_HASH.clone());
        let verified = self.hasher.verify(&password, &hash).await?;
        let user = match found {
            Some((user, Some(_))) if verified => user,
            _ => {
                self.limiter.hit(&budget, &budget_key).await?;
                return Err(invalid_credentials());
            }
        };
        if user.is_disabled() {
            return Err(Error::forbidden(
                "account_disabled",
                "this account is disabled",
            ));
        }
        let nonce = known_device.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let key = device_key(&self.device_secret, user.id, &nonce);
        self.start_session(user, client, Some(key)).await
    }

    /// Opens a new session for a user whose identity was established elsewhere (OAuth).
    pub async fn sign_in_verified(&self, user: User, client: &ClientInfo) -> Result<SignedIn> {
        if user.is_disabled() {
            return Err(Error::forbidden(
                "account_disabled",
                "this account is disabled",
            ));
        }
        self.start_session(user, client, None).await
    }

    async fn start_session(
        &self,
        user: User,
        client: &ClientInfo,
        device_key: Option<String>,
    ) -> Result<SignedIn> {
        let now = time::now();
        let session_id = SessionId::new();
        let refresh = RefreshToken::generate();
        self.sessions
            .create_session(NewSessionToken {
                id: RefreshTokenId::new(),
                session_id,
                user_id: user.id,
                token_hash: refresh.hash(),
                client: client.clone(),
                started_at: now,
                now,
                expires_at: after(now, self.policy.absolute_lifetime),
                idle_expires_at: after(now, self.policy.idle_timeout),
            })
            .await?;
        self.signed_in(user, session_id, refresh, device_key)
    }

    fn signed_in(
        &self,
        user: User,
        session_id: SessionId,
        refresh: RefreshToken,
        device_key: Option<String>,
    ) -> Result<SignedIn> {
        let access_token = self.tokens.issue(user.id, user.role, session_id)?;
        Ok(SignedIn {
            user,
            session_id,
            access_token,
            refresh_token: refresh,
            expires_in: self.tokens.ttl().as_secs(),
            device_key,
        })
    }

    /// Trades a refresh token for a new access token and the token's successor.
    ///
    /// MUST return [`Error::Unauthenticated`] `refresh_token_invalid` for a token never issued,
    /// `session_expired` past the session's lifetimes, and `session_revoked` for an ended
    /// session — including the one that just ended because a rotated token came back after
    /// the grace window (RFC 9700 §4.14.2). Within the window the same successor is returned.
    pub async fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<SignedIn> {
        self.throttle(&self.policy.limits.refresh_per_ip, address(client))
            .await?;
        let not_ours =
            || Error::unauthenticated("refresh_token_invalid", "the refresh token is not valid");
        let token = RefreshToken::parse(presented).ok_or_else(not_ours)?;
        let row = self
            .sessions
            .token_by_hash(&token.hash())
            .await?
            .ok_or_else(not_ours)?;
        let now = time::now();
        if row.revoked_at.is_some() {
            return Err(revoked());
        }
        if row.is_expired(now) {
            return Err(Error::unauthenticated(
                "session_expired",
                "the session has expired; sign in again",
            ));
        }
        let successor = token.successor(&self.rotation_key);
        if row.replaced_by.is_none() {
            let next = NewSessionToken {
                id: RefreshTokenId::new(),
                session_id: row.session_id,
                user_id: row.user_id,
                token_hash: successor.hash(),
                client: client.clone(),
                started_at: row.started_at,
                now,
                expires_at: row.expires_at,
                idle_expires_at: after(now, self.policy.idle_timeout).min(row.expires_at),
            };
            if self.sessions.rotate(row.id, next).await? {
                return self.successor_session(&row, successor).await;
            }
        }
        // Already rotated (just now by a concurrent request, or earlier).
        let row = self
            .sessions
            .token_by_id(row.id)
            .await?
            .ok_or_else(not_ours)?;
        let within_grace = row
            .rotated_at
            .is_some_and(|at| now <= after(at, self.policy.reuse_grace));
        if row.revoked_at.is_none() && within_grace {
            return self.successor_session(&row, successor).await;
        }
        let audit = AuditContext {
            ip: client.ip.clone(),
            via: Some("system"),
            ..AuditContext::default()
        };
        self.sessions
            .revoke_session(row.session_id, reasons::REFRESH_TOKEN_REUSED, Some(&audit))
            .await?;
        Err(revoked())
    }

    async fn successor_session(
        &self,
        row: &SessionToken,
        successor: RefreshToken,
    ) -> Result<SignedIn> {
        let user = self
            .users
            .user_by_id(row.user_id)
            .await?
            .ok_or_else(revoked)?;
        if user.is_disabled() {
            return Err(revoked());
        }
        self.signed_in(user, row.session_id, successor, None)
    }

    /// Ends the caller's current session.
    pub async fn logout(&self, session: SessionId) -> Result<()> {
        self.sessions
            .revoke_session(session, reasons::LOGOUT, None)
            .await?;
        Ok(())
    }

    /// Ends every session of the user; returns how many tokens ended.
    pub async fn logout_all(&self, user: UserId) -> Result<u64> {
        self.sessions
            .revoke_user_sessions(user, None, reasons::LOGOUT_ALL, None)
            .await
    }

    /// The user's live sessions.
    pub async fn sessions(&self, user: UserId) -> Result<Vec<SessionToken>> {
        self.sessions.active_sessions(user, time::now()).await
    }

    /// Whether a session is live: access tokens of ended sessions are refused with it.
    pub async fn session_is_active(&self, session: SessionId) -> Result<bool> {
        self.sessions.session_is_active(session, time::now()).await
    }

    /// Ends one of the caller's sessions, or — for an admin — anyone's, audited.
    ///
    /// MUST return [`Error::NotFound`] when the session is not the caller's (and the caller is
    /// no admin) or does not exist.
    pub async fn revoke_session(
        &self,
        caller: &Caller,
        owner: UserId,
        session: SessionId,
        audit: &AuditContext,
    ) -> Result<()> {
        let live = self.sessions.active_sessions(owner, time::now()).await?;
        if !live.iter().any(|s| s.session_id == session) {
            return Err(Error::not_found("session"));
        }
        if owner == caller.user_id {
            self.sessions
                .revoke_session(session, reasons::REVOKED_BY_OWNER, None)
                .await?;
        } else {
            caller.require_admin()?;
            self.sessions
                .revoke_session(session, reasons::REVOKED_BY_ADMIN, Some(audit))
                .await?;
        }
        Ok(())
    }

    /// Changes the caller's password after checking the current one; ends every other session.
    ///
    /// MUST return [`Error::Forbidden`] `current_password_incorrect` for a wrong current
    /// password and [`Error::Invalid`] for a new one that breaks the policy.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current_session: Option<SessionId>,
        current: &str,
        new: &str,
        audit: &AuditContext,
    ) -> Result<()> {
        let mut errors = ValidationErrors::new();
        let current = errors.check("current_password", Password::candidate(current));
        let new = errors.check("new_password", Password::new_secret(new));
        errors.into_result()?;
        self.check_password(caller.user_id, &current.unwrap())
            .await?;
        let hash = self.hasher.hash(&new.unwrap()).await?;
        self.users
            .set_password(caller.user_id, hash.as_str(), audit)
            .await?;
        self.sessions
            .revoke_user_sessions(
                caller.user_id,
                current_session,
                reasons::PASSWORD_CHANGED,
                None,
            )
            .await?;
        Ok(())
    }

    async fn check_password(&self, user: UserId, password: &Password) -> Result<()> {
        let stored = self.users.password_hash(user).await?;
        let hash = stored.clone().unwrap_or_else(|| DECOY_HASH.clone());
        let verified = self.hasher.verify(password, &hash).await?;
        if stored.is_some() && verified {
            Ok(())
        } else {
            Err(Error::forbidden(
                "current_password_incorrect",
                "the current password is not right",
            ))
        }
    }

    /// The caller's account.
    pub async fn me(&self, caller: &Caller) -> Result<User> {
        self.users
            .user_by_id(caller.user_id)
            .await?
            .ok_or(Error::not_found("user"))
    }

    /// Changes the caller's own profile. An email change needs the current password and marks
    /// the new address unverified.
    ///
    /// MUST return [`Error::Invalid`] naming every bad field, [`Error::Conflict`] `email_taken` or
    /// `handle_taken`, and [`Error::Forbidden`] `current_password_incorrect`.
    pub async fn update_profile(
        &self,
        caller: &Caller,
        changes: ProfileChanges,
        audit: &AuditContext,
    ) -> Result<User> {
        let mut errors = ValidationErrors::new();
        let mut update = ProfileUpdate::default();
        if let Some(name) = &changes.display_name {
            update.display_name = errors.check("display_name", DisplayName::parse(name));
        }
        if let Some(handle) = &changes.handle {
            update.handle = match handle {
                Some(h) => errors.check("handle", Handle::parse(h)).map(Some),
                None => Some(None),
            };
        }
        if let Some(headline) = &changes.headline {
            errors.check("headline", bounded_text(headline.as_deref(), 200));
            update.headline = Some(
                headline
                    .as_deref()
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Some(url) = &changes.avatar_url {
            if let Some(url) = url {
                errors.check("avatar_url", web_url(url));
            }
            update.avatar_url = Some(url.clone());
        }
        if let Some(email) = &changes.email {
            update.email = errors.check("email", Email::parse(email));
            if changes.current_password.is_none() {
                errors.add(
                    "current_password",
                    "required",
                    "is needed to change the email",
                );
            }
        }
        errors.into_result()?;
        if update.email.is_some() {
            let password = Password::candidate(changes.current_password.as_deref().unwrap_or(""))
                .map_err(|_| {
                Error::forbidden(
                    "current_password_incorrect",
                    "the current password is not right",
                )
            })?;
            self.check_password(caller.user_id, &password).await?;
        }
        self.users
            .update_profile(caller.user_id, update, audit)
            .await
    }
}

fn revoked() -> Error {
    Error::unauthenticated("session_revoked", "the session has ended; sign in again")
}

fn bounded_text(text: Option<&str>, max: usize) -> Result<(), ValidationErrors> {
    match text {
        Some(t) if t.chars().count() > max => Err(invalid(
            "too_long",
            format!("must be at most {max} characters"),
        )),
        Some(t) if t.chars().any(char::is_control) => Err(invalid(
            "invalid_characters",
            "must not contain control characters",
        )),
        _ => Ok(()),
    }
}

/// An `http(s)://` URL of at most 2048 characters.
fn web_url(url: &str) -> Result<(), ValidationErrors> {
    let ok = url.len() <= 2048
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "invalid_url",
            "must be an http(s) URL of at most 2048 characters",
        ))
    }
}
