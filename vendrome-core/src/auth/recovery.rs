//! Proving control of an email address, and getting back into an account through it: address
//! verification and password reset, each by a single-use link mailed through the [`Mailer`].

use std::sync::Arc;
use std::time::Duration;

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::ids::UserId;
use crate::mail::{Mail, Mailer};
use crate::time;
use crate::users::{Email, User};
use crate::validation::ValidationErrors;
use crate::{Error, Result};

use super::account_tokens::{AccountToken, AccountTokenRepo, TokenPurpose};
use super::password::Password;
use super::refresh::RefreshToken;
use super::service::{address, after, AuthService};
use super::sessions::{reasons, ClientInfo};

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a password-reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// Address verification and password reset.
#[derive(Clone)]
pub struct AccountRecovery {
    auth: AuthService,
    tokens: Arc<dyn AccountTokenRepo>,
    mailer: Arc<dyn Mailer>,
    /// Where the links point: the frontend's pages `/verify-email?token=…` and
    /// `/reset-password?token=…` under this base.
    link_base: String,
}

fn token_invalid(field: &str) -> Error {
    Error::Invalid(ValidationErrors::single(
        field,
        "token_invalid",
        "this link is not valid: it was used, has expired, or was never issued",
    ))
}

impl AccountRecovery {
    pub fn new(
        auth: AuthService,
        tokens: Arc<dyn AccountTokenRepo>,
        mailer: Arc<dyn Mailer>,
        link_base: impl Into<String>,
    ) -> Self {
        Self {
            auth,
            tokens,
            mailer,
            link_base: link_base.into().trim_end_matches('/').to_owned(),
        }
    }

    async fn issue(
        &self,
        user: &User,
        purpose: TokenPurpose,
        ttl: Duration,
    ) -> Result<RefreshToken> {
        let now = time::now();
        let token = RefreshToken::generate();
        self.tokens
            .save_token(AccountToken {
                hash: token.hash(),
                purpose,
                user_id: user.id,
                bound_to: Some(user.email.as_str().to_owned()),
                created_at: now,
                expires_at: after(now, ttl),
            })
            .await?;
        Ok(token)
    }

    /// The still-valid token `raw` of `purpose`, taken, with its account — whose address must
    /// still be the one the token was sent to.
    async fn take(&self, purpose: TokenPurpose, raw: &str) -> Result<User> {
        let hash = RefreshToken::parse(raw)
            .ok_or_else(|| token_invalid("token"))?
            .hash();
        let token = self
            .tokens
            .take_token(purpose, &hash, time::now())
            .await?
            .ok_or_else(|| token_invalid("token"))?;
        let user = self
            .auth
            .users
            .user_by_id(token.user_id)
            .await?
            .ok_or_else(|| token_invalid("token"))?;
        if token.bound_to.as_deref() != Some(user.email.as_str()) || user.is_disabled() {
            return Err(token_invalid("token"));
        }
        Ok(user)
    }

    async fn throttle(&self, client: &ClientInfo, account: &str) -> Result<()> {
        let limits = self.auth.policy.limits;
        self.auth
            .throttle(&limits.mail_per_ip, address(client))
            .await?;
        self.auth.throttle(&limits.mail_per_account, account).await
    }

    /// Mails the caller a link that verifies their address. Returns `false`, sending nothing,
    /// when the address is verified already.
    ///
    /// MUST return [`Error::RateLimited`] past the per-address or per-account budget.
    pub async fn request_verification(&self, caller: &Caller, client: &ClientInfo) -> Result<bool> {
        let user = self.auth.me(caller).await?;
        if user.email_verified_at.is_some() {
            return Ok(false);
        }
        self.throttle(client, user.email.as_str()).await?;
        let token = self
            .issue(&user, TokenPurpose::VerifyEmail, VERIFY_TTL)
            .await?;
        let link = format!("{}/verify-email?token={}", self.link_base, token.expose());
        self.send(Mail {
            to: user.email.as_str().to_owned(),
            subject: "Confirm your email address".into(),
            text: format!(
                "Hello {},\n\nconfirm that this address is yours by opening this link within 24 hours:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n",
                user.display_name.as_str()
            ),
            link: Some(link),
        })
        .await?;
        Ok(true)
    }

    /// Marks the address a verification link was sent to verified (once).
    ///
    /// MUST return [`Error::Invalid`] (`token`: `token_invalid`) for a token never issued, used,
    /// expired, or sent to an address the account no longer has.
    pub async fn verify_email(&self, raw: &str) -> Result<User> {
        let user = self.take(TokenPurpose::VerifyEmail, raw).await?;
        self.auth
            .users
            .mark_email_verified(user.id, &user.email, time::now())
            .await?;
        self.auth
            .me(&Caller {
                user_id: user.id,
                role: user.role,
            })
            .await
    }

    /// The checks of a password-reset request that tell nothing about the address: its shape
    /// and the client's budget. Run them before answering, and [`AccountRecovery::request_reset`]
    /// after, so that the answer's timing does not tell whether an account has the address.
    ///
    /// MUST return [`Error::Invalid`] for a malformed address and [`Error::RateLimited`] past the
    /// per-client budget.
    pub async fn check_reset_request(&self, email: &str, client: &ClientInfo) -> Result<Email> {
        let email = Email::parse(email).map_err(|e| Error::Invalid(field("email", e)))?;
        self.auth
            .throttle(&self.auth.policy.limits.mail_per_ip, address(client))
            .await?;
        Ok(email)
    }

    /// Mails a password-reset link to `email` when an enabled account has it, and does nothing
    /// otherwise. Over the per-account budget nothing is sent, silently.
    pub async fn request_reset(&self, email: &Email) -> Result<()> {
        let limits = self.auth.policy.limits;
        if self
            .auth
            .throttle(&limits.mail_per_account, email.as_str())
            .await
            .is_err()
        {
            return Ok(());
        }
        let Some(user) = self.auth.users.user_by_email(email).await? else {
            return Ok(());
        };
        if user.is_disabled() {
            return Ok(());
        }
        let token = self
            .issue(&user, TokenPurpose::ResetPassword, RESET_TTL)
            .await?;
        let link = format!("{}/reset-password?token={}", self.link_base, token.expose());
        self.send(Mail {
            to: user.email.as_str().to_owned(),
            subject: "Reset your password".into(),
            text: format!(
                "Hello {},\n\nchoose a new password by opening this link within an hour:\n\n{link}\n\nIf you did not ask for this, ignore this message: your password stays as it is.\n",
                user.display_name.as_str()
            ),
            link: Some(link),
        })
        .await
    }

    /// Sets a new password with a reset link, ends every session of the account, and forgets
    /// its other reset links and failed sign-ins. The link proves control of the address, which
    /// counts as verified from then on. Returns the account and how many session tokens ended.
    ///
    /// MUST return [`Error::Invalid`] for a new password that breaks the policy
    /// (`new_password`) or a token that is not valid (`token`: `token_invalid`).
    pub async fn reset_password(
        &self,
        raw: &str,
        new_password: &str,
        audit: &AuditContext,
    ) -> Result<(UserId, u64)> {
        let password = Password::new_secret(new_password)
            .map_err(|e| Error::Invalid(field("new_password", e)))?;
        let user = self.take(TokenPurpose::ResetPassword, raw).await?;
        let hash = self.auth.hasher.hash(&password).await?;
        let audit = AuditContext {
            actor_id: Some(user.id),
            ..audit.clone()
        };
        self.auth
            .users
            .set_password(user.id, hash.as_str(), &audit)
            .await?;
        let ended = self
            .auth
            .sessions
            .revoke_user_sessions(user.id, None, reasons::PASSWORD_RESET, Some(&audit))
            .await?;
        self.tokens
            .delete_tokens(user.id, TokenPurpose::ResetPassword)
            .await?;
        self.auth
            .users
            .mark_email_verified(user.id, &user.email, time::now())
            .await?;
        self.auth
            .limiter
            .reset(
                &self.auth.policy.limits.account_failures,
                user.email.as_str(),
            )
            .await?;
        Ok((user.id, ended))
    }

    async fn send(&self, mail: Mail) -> Result<()> {
        self.mailer
            .send(&mail)
            .await
            .map_err(|e| Error::Unexpected(e.context("the mail could not be sent")))
    }
}

fn field(name: &str, errors: ValidationErrors) -> ValidationErrors {
    let mut named = ValidationErrors::new();
    named.check::<()>(name, Err(errors));
    named
}
