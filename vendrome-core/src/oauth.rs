//! Signing in through an identity provider (Google, Facebook, LinkedIn): the linked
//! [`OAuthIdentity`] entity, the sign-ins in flight ([`LoginAttempt`]), the [`IdentityRepo`] port
//! and [`OAuthService`], the rules once the provider has said who the person is.
//!
//! Everything that speaks HTTP to a provider (authorization URLs, code exchange, ID token and
//! userinfo checks) is the adapter's; it hands this module a [`VerifiedProfile`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::auth::{
    AccountToken, AccountTokenRepo, AuthService, ClientInfo, RefreshToken, SignedIn, TokenPurpose,
};
use crate::enums::{OauthProvider, UserRole};
use crate::ids::UserId;
use crate::time::{self, Timestamp};
use crate::users::{DisplayName, Email, NewUser, ProfileUpdate, User, UserRepo};
use crate::{Error, Result};

/// How long a sign-in may stay at the provider before its `state` is refused.
pub const ATTEMPT_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the one-time code of a browser sign-in may wait for its exchange.
pub const EXCHANGE_CODE_TTL: Duration = Duration::from_secs(60);

/// A provider account linked to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthIdentity {
    pub user_id: UserId,
    pub provider: OauthProvider,
    /// The provider's stable id of the person (`sub`).
    pub subject: String,
    /// The email the provider gave when the identity was linked.
    pub email: Option<String>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

/// An identity to link.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIdentity {
    pub user_id: UserId,
    pub provider: OauthProvider,
    pub subject: String,
    pub email: Option<String>,
}

/// A sign-in in flight: what the callback needs and the browser must never hold.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginAttempt {
    /// Hex SHA-256 of the `state` parameter (see [`state_hash`]).
    pub state_hash: String,
    pub provider: OauthProvider,
    pub pkce_verifier: String,
    pub nonce: String,
    /// Set when a signed-in user is linking the provider instead of signing in.
    pub link_user_id: Option<UserId>,
    /// Hex SHA-256 of the secret in the httpOnly cookie of the browser that started the
    /// sign-in: the callback is refused in any other browser (login CSRF).
    pub browser_hash: Option<String>,
    /// Where the browser goes back to with a one-time code (a frontend's page), instead of the
    /// callback answering the tokens itself.
    pub redirect_to: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What the store keeps of a `state`: hex SHA-256.
pub fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two byte strings in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `secret` hashes to `expected` (compared in constant time); `false` when either is
/// missing.
fn bound_to(expected: Option<&str>, secret: Option<&str>) -> bool {
    match (expected, secret) {
        (Some(expected), Some(secret)) => {
            constant_time_eq(expected.as_bytes(), state_hash(secret).as_bytes())
        }
        _ => false,
    }
}

/// A sign-in to start: in which browser, and where it goes back to.
#[derive(Debug, Clone, Default)]
pub struct Start<'a> {
    /// The secret of the browser's httpOnly cookie.
    pub browser_secret: &'a str,
    /// A signed-in user linking the provider.
    pub link_user: Option<UserId>,
    /// A frontend page to send the browser back to with a one-time code (already checked
    /// against the configured origins by the adapter).
    pub redirect_to: Option<String>,
}

/// Storage of linked identities and of sign-ins in flight.
#[async_trait]
pub trait IdentityRepo: Send + Sync {
    /// The identity with this provider subject, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn identity(
        &self,
        provider: OauthProvider,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>>;

    /// The user's identities, in provider order.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn identities_of(&self, user: UserId) -> Result<Vec<OAuthIdentity>>;

    /// Links an identity, with a `user.identity_linked` audit event in the same transaction.
    ///
    /// MUST return [`Error::Conflict`] `identity_taken` when the subject is linked to another
    /// user (or to this one already), `provider_already_linked` when the user has another
    /// identity of the provider, and [`Error::NotFound`] for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `identity_taken` or `provider_already_linked`,
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn link_identity(&self, new: NewIdentity, audit: &AuditContext) -> Result<OAuthIdentity>;

    /// Unlinks the user's identity of `provider`, with a `user.identity_unlinked` audit event in
    /// the same transaction. MUST return [`Error::NotFound`] when the user has none.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `identity` when the user has no identity of
    /// `provider`; [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn unlink_identity(
        &self,
        user: UserId,
        provider: OauthProvider,
        audit: &AuditContext,
    ) -> Result<()>;

    /// Notes a sign-in through the identity.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// identity changes nothing.
    async fn touch_identity(
        &self,
        provider: OauthProvider,
        subject: &str,
        at: Timestamp,
    ) -> Result<()>;

    /// Stores a sign-in in flight (and forgets the expired ones).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn save_attempt(&self, attempt: LoginAttempt) -> Result<()>;

    /// Takes the attempt with this state hash: deletes it and returns it, atomically, so that of
    /// concurrent callers at most one gets it. MUST return `None` when there is none or it
    /// expired at or before `now`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown or
    /// expired state is `Ok(None)`.
    async fn take_attempt(&self, state_hash: &str, now: Timestamp) -> Result<Option<LoginAttempt>>;
}

/// Who the provider says the person is, after the adapter checked the provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProfile {
    pub provider: OauthProvider,
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches that the person controls `email`. An unverified email is
    /// never used to find an existing account.
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// What a completed callback did.
#[derive(Debug, Clone)]
pub enum Completed {
    SignedIn(Box<SignedIn>),
    Linked(OAuthIdentity),
    /// A browser sign-in: send the browser to `to` with `code`, which
    /// [`OAuthService::exchange`] trades for the tokens.
    Redirect {
        to: String,
        code: String,
    },
}

/// Sign-in, sign-up and linking through providers.
#[derive(Clone)]
pub struct OAuthService {
    users: Arc<dyn UserRepo>,
    identities: Arc<dyn IdentityRepo>,
    codes: Arc<dyn AccountTokenRepo>,
    auth: AuthService,
}

fn audit_for(user: UserId, base: &AuditContext) -> AuditContext {
    AuditContext {
        actor_id: Some(user),
        ..base.clone()
    }
}

impl OAuthService {
    pub fn new(
        users: Arc<dyn UserRepo>,
        identities: Arc<dyn IdentityRepo>,
        codes: Arc<dyn AccountTokenRepo>,
        auth: AuthService,
    ) -> Self {
        Self {
            users,
            identities,
            codes,
            auth,
        }
    }

    /// Records a sign-in (or, with `start.link_user`, a linking) in flight under its `state`,
    /// bound to the browser that holds `start.browser_secret`.
    pub async fn begin(
        &self,
        provider: OauthProvider,
        state: &str,
        pkce_verifier: &str,
        nonce: &str,
        start: Start<'_>,
    ) -> Result<()> {
        let now = time::now();
        let ttl = chrono::Duration::from_std(ATTEMPT_TTL).expect("ten minutes fit");
        self.identities
            .save_attempt(LoginAttempt {
                state_hash: state_hash(state),
                provider,
                pkce_verifier: pkce_verifier.to_owned(),
                nonce: nonce.to_owned(),
                link_user_id: start.link_user,
                browser_hash: Some(state_hash(start.browser_secret)),
                redirect_to: start.redirect_to,
                created_at: now,
                expires_at: now + ttl,
            })
            .await
    }

    /// Takes the attempt a callback names, once. Counts against the address's OAuth budget.
    ///
    /// Returns `None` for a state never issued, already used, expired, issued for another
    /// provider, or started in another browser (`browser_secret` is not the secret of the
    /// attempt's cookie). MUST return [`Error::RateLimited`] past the per-address budget.
    pub async fn take_attempt(
        &self,
        provider: OauthProvider,
        state: &str,
        browser_secret: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<LoginAttempt>> {
        let rule = self.auth.policy().limits.oauth_per_ip;
        self.auth
            .throttle(&rule, client.ip.as_deref().unwrap_or("unknown"))
            .await?;
        let attempt = self
            .identities
            .take_attempt(&state_hash(state), time::now())
            .await?;
        Ok(attempt.filter(|a| {
            a.provider == provider && bound_to(a.browser_hash.as_deref(), browser_secret)
        }))
    }

    /// Finishes an attempt with the profile the provider vouched for: links it for the user who
    /// started a linking, or signs in — at once, or, for an attempt with a `redirect_to`, by a
    /// one-time code bound to the attempt's browser.
    pub async fn complete(
        &self,
        attempt: &LoginAttempt,
        profile: VerifiedProfile,
        client: &ClientInfo,
        audit: &AuditContext,
    ) -> Result<Completed> {
        if let Some(user) = attempt.link_user_id {
            return self.link(user, profile, audit).await.map(Completed::Linked);
        }
        let user = self.account_for(profile, audit).await?;
        match &attempt.redirect_to {
            Some(to) => {
                let code = RefreshToken::generate();
                let now = time::now();
                let ttl = chrono::Duration::from_std(EXCHANGE_CODE_TTL).expect("a minute fits");
                self.codes
                    .save_token(AccountToken {
                        hash: code.hash(),
                        purpose: TokenPurpose::OAuthExchange,
                        user_id: user.id,
                        bound_to: attempt.browser_hash.clone(),
                        created_at: now,
                        expires_at: now + ttl,
                    })
                    .await?;
                Ok(Completed::Redirect {
                    to: to.clone(),
                    code: code.expose().to_owned(),
                })
            }
            None => self
                .auth
                .sign_in_verified(user, client)
                .await
                .map(|s| Completed::SignedIn(Box::new(s))),
        }
    }

    /// Trades the one-time code of a browser sign-in for a session, once, within a minute, and
    /// only in the browser the sign-in started in.
    ///
    /// MUST return [`Error::Unauthenticated`] `oauth_code_invalid` for a code never issued, used,
    /// expired, or presented without the browser's cookie; [`Error::RateLimited`] past the
    /// per-address OAuth budget; `account_disabled` for a disabled account.
    pub async fn exchange(
        &self,
        code: &str,
        browser_secret: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignedIn> {
        let rule = self.auth.policy().limits.oauth_per_ip;
        self.auth
            .throttle(&rule, client.ip.as_deref().unwrap_or("unknown"))
            .await?;
        let invalid = || {
            Error::unauthenticated(
                "oauth_code_invalid",
                "this sign-in code is not valid any more; sign in again",
            )
        };
        let code = RefreshToken::parse(code).ok_or_else(invalid)?;
        let taken = self
            .codes
            .take_token(TokenPurpose::OAuthExchange, &code.hash(), time::now())
            .await?
            .filter(|t| bound_to(t.bound_to.as_deref(), browser_secret))
            .ok_or_else(invalid)?;
        let user = self
            .users
            .user_by_id(taken.user_id)
            .await?
            .ok_or_else(invalid)?;
        self.auth.sign_in_verified(user, client).await
    }

    /// Signs in the user linked to the profile; else links it to the account with the same
    /// email — when both the provider and the account have it verified — and signs that in; else
    /// creates an account without a password.
    ///
    /// MUST return [`Error::Conflict`] `email_taken` when an account has the email but the
    /// provider does not vouch for it, `email_taken_unverified` when the provider vouches but the
    /// account never proved the address (whoever registered it may not own it: its owner signs
    /// in with the password and links the provider from there), [`Error::Forbidden`]
    /// `oauth_email_required` when the provider gave no usable email for a new account, and
    /// `account_disabled` for a disabled one.
    pub async fn sign_in(
        &self,
        profile: VerifiedProfile,
        client: &ClientInfo,
        audit: &AuditContext,
    ) -> Result<SignedIn> {
        let user = self.account_for(profile, audit).await?;
        self.auth.sign_in_verified(user, client).await
    }

    /// The account the profile signs in to, linked or created as [`OAuthService::sign_in`] says.
    async fn account_for(&self, profile: VerifiedProfile, audit: &AuditContext) -> Result<User> {
        if let Some(identity) = self
            .identities
            .identity(profile.provider, &profile.subject)
            .await?
        {
            let user = self
                .users
                .user_by_id(identity.user_id)
                .await?
                .ok_or(Error::not_found("user"))?;
            self.identities
                .touch_identity(profile.provider, &profile.subject, time::now())
                .await?;
            return Ok(user);
        }
        let email = profile
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .ok_or_else(|| {
                Error::forbidden(
                    "oauth_email_required",
                    "the provider did not share an email address",
                )
            })?;
        let user = match self.users.user_by_email(&email).await? {
            Some(_) if !profile.email_verified => {
                return Err(Error::conflict(
                    "email_taken",
                    "an account has this email: sign in to it and link the provider from there",
                ));
            }
            Some(existing) if existing.email_verified_at.is_none() => {
                return Err(Error::conflict(
                    "email_taken_unverified",
                    "an account has this email but never confirmed it: sign in with its password and link the provider from there",
                ));
            }
            Some(existing) => existing,
            None => self.create_account(&profile, email, audit).await?,
        };
        if user.is_disabled() {
            return Err(Error::forbidden(
                "account_disabled",
                "this account is disabled",
            ));
        }
        self.identities
            .link_identity(new_identity(user.id, &profile), &audit_for(user.id, audit))
            .await?;
        self.identities
            .touch_identity(profile.provider, &profile.subject, time::now())
            .await?;
        Ok(user)
    }

    async fn create_account(
        &self,
        profile: &VerifiedProfile,
        email: Email,
        audit: &AuditContext,
    ) -> Result<User> {
        let local = email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("member")
            .to_owned();
        let display_name = profile
            .name
            .as_deref()
            .and_then(|n| DisplayName::parse(n).ok())
            .or_else(|| DisplayName::parse(&local).ok())
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("no display name could be made")))?;
        let user = self
            .users
            .create_user(NewUser {
                email,
                display_name,
                handle: None,
                password_hash: None,
                role: UserRole::Member,
            })
            .await?;
        // The provider vouches for the address (an unvouched one never gets this far when an
        // account has it; a new account with it is marked verified only when vouched for).
        let user = if profile.email_verified
            && self
                .users
                .mark_email_verified(user.id, &user.email, time::now())
                .await?
        {
            self.users
                .user_by_id(user.id)
                .await?
                .ok_or(Error::not_found("user"))?
        } else {
            user
        };
        let avatar = profile
            .picture
            .as_deref()
            .filter(|p| p.starts_with("https://") && p.len() <= 2048);
        match avatar {
            Some(url) => {
                let update = ProfileUpdate {
                    avatar_url: Some(Some(url.to_owned())),
                    ..ProfileUpdate::default()
                };
                self.users
                    .update_profile(user.id, update, &audit_for(user.id, audit))
                    .await
            }
            None => Ok(user),
        }
    }

    /// Links the profile to `user` (who started the linking while signed in).
    ///
    /// MUST return [`Error::Conflict`] `identity_taken` when the provider account is linked to
    /// another user and `provider_already_linked` when the user has another account of the
    /// provider linked.
    pub async fn link(
        &self,
        user: UserId,
        profile: VerifiedProfile,
        audit: &AuditContext,
    ) -> Result<OAuthIdentity> {
        if let Some(existing) = self
            .identities
            .identity(profile.provider, &profile.subject)
            .await?
        {
            if existing.user_id == user {
                return Ok(existing);
            }
            return Err(Error::conflict(
                "identity_taken",
                "this provider account is linked to another user",
            ));
        }
        self.identities
            .link_identity(new_identity(user, &profile), &audit_for(user, audit))
            .await
    }

    /// The caller's linked identities.
    pub async fn identities(&self, caller: &Caller) -> Result<Vec<OAuthIdentity>> {
        self.identities.identities_of(caller.user_id).await
    }

    /// Unlinks one of the caller's identities, unless it is their last way to sign in.
    ///
    /// MUST return [`Error::NotFound`] when the caller has no identity of the provider and
    /// [`Error::Conflict`] `last_sign_in_method` when they have no password and no other identity.
    pub async fn unlink(
        &self,
        caller: &Caller,
        provider: OauthProvider,
        audit: &AuditContext,
    ) -> Result<()> {
        let linked = self.identities.identities_of(caller.user_id).await?;
        if !linked.iter().any(|i| i.provider == provider) {
            return Err(Error::not_found("identity"));
        }
        if linked.len() == 1 && self.users.password_hash(caller.user_id).await?.is_none() {
            return Err(Error::conflict(
                "last_sign_in_method",
                "this is the account's only way to sign in: set a password or link another provider first",
            ));
        }
        self.identities
            .unlink_identity(caller.user_id, provider, audit)
            .await
    }
}

fn new_identity(user: UserId, profile: &VerifiedProfile) -> NewIdentity {
    NewIdentity {
        user_id: user,
        provider: profile.provider,
        subject: profile.subject.clone(),
        email: profile.email.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn state_hash_is_hex_sha256() {
        assert_eq!(
            super::state_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
