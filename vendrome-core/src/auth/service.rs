//! [`AuthService`]: registration, sign-in, rotation, sign-out, sessions, password and profile
//! changes.

use std::sync::Arc;
use std::time::Duration;

use crate::enums::UserRole;
use crate::ids::{RefreshTokenId, SessionId, UserId};
use crate::rate_limit::{Decision, RateLimiter, Rule};
use crate::time::{self, Timestamp};
use crate::users::{DisplayName, Email, NewUser, User, UserRepo};
use crate::validation::ValidationErrors;
use crate::{Error, Result};

use super::limits::{device_key, known_device, LoginLimits};
use super::password::{Password, PasswordHasher, DECOY_HASH};
use super::refresh::{RefreshToken, RotationKey};
use super::sessions::{ClientInfo, NewSessionToken, SessionRepo};

/// Signs access tokens (the server's key ring).
pub trait AccessTokens: Send + Sync {
    /// Signs an access token for `user` in `session`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when signing fails.
    fn issue(&self, user: UserId, role: UserRole, session: SessionId) -> Result<String>;
    /// How long an access token lives.
    ///
    /// # Errors
    ///
    /// None: it cannot fail.
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

/// Identity and access.
#[derive(Clone)]
pub struct AuthService {
    pub(super) users: Arc<dyn UserRepo>,
    pub(super) sessions: Arc<dyn SessionRepo>,
    pub(super) hasher: Arc<dyn PasswordHasher>,
    pub(super) tokens: Arc<dyn AccessTokens>,
    pub(super) limiter: Arc<dyn RateLimiter>,
    pub(super) rotation_key: RotationKey,
    pub(super) device_secret: Vec<u8>,
    pub(super) policy: AuthPolicy,
}

pub(super) fn after(now: Timestamp, span: Duration) -> Timestamp {
    now + chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX)
}

fn invalid_credentials() -> Error {
    Error::unauthenticated("invalid_credentials", "the email or password is not right")
}

pub(super) fn address(client: &ClientInfo) -> &str {
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
        let user = self.create_account(account, UserRole::Member).await?;
        self.start_session(user, client, None).await
    }

    /// Validates an account (every field at once), hashes its password and stores it: the one
    /// way an account with a password is made, by registration and by operators.
    ///
    /// MUST return [`Error::Invalid`] naming every bad field, or [`Error::Conflict`]
    /// `email_taken`.
    pub(super) async fn create_account(&self, account: NewAccount, role: UserRole) -> Result<User> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(&account.email));
        let password = errors.check("password", Password::new_secret(&account.password));
        let display_name = errors.check("display_name", DisplayName::parse(&account.display_name));
        errors.into_result()?;
        let (email, password, display_name) =
            (email.unwrap(), password.unwrap(), display_name.unwrap());
        let hash = self.hasher.hash(&password).await?;
        self.users
            .create_user(NewUser {
                email,
                display_name,
                handle: None,
                password_hash: Some(hash.as_str().to_owned()),
                role,
            })
            .await
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
            (Some((user, _)), Some(key)) => known_device(&self.device_secret, user.id, key),
            _ => None,
        };
        let (budget, budget_key) = match &known_device {
            Some(nonce) => (
                limits.device_failures,
                format!("{}:{nonce}", email.as_str()),
            ),
            None => (limits.account_failures, email.as_str().to_owned()),
        };
        // Charged before the check and refunded when it passes: concurrent guesses each take
        // their share first, so together they never verify more passwords than the budget.
        self.throttle(&budget, &budget_key).await?;

        let hash = found
            .as_ref()
            .and_then(|(_, hash)| hash.clone())
            .unwrap_or_else(|| DECOY_HASH.clone());
        let verified = self.hasher.verify(&password, &hash).await?;
        let user = match found {
            Some((user, Some(_))) if verified => user,
            _ => return Err(invalid_credentials()),
        };
        self.limiter.refund(&budget, &budget_key).await?;
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

    pub(super) async fn start_session(
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

    pub(super) fn signed_in(
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
}
