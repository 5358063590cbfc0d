//! [`IdentityRepo`] on both databases: linked provider identities and OAuth sign-ins in flight.
//!
//! The rows live here rather than in `rows.rs` because nothing else reads these tables.

use async_trait::async_trait;
use serde_json::json;
use uuid::Uuid;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::enums::OauthProvider;
use vendrome_core::ids::UserId;
use vendrome_core::oauth::{IdentityRepo, LoginAttempt, NewIdentity, OAuthIdentity};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::{Error, Result};

use crate::error::{unexpected, unique_violation, SqlxResultExt as _};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

const IDENTITY_COLUMNS: &str =
    "user_id, provider, provider_subject, email, created_at, last_login_at";
const ATTEMPT_COLUMNS: &str =
    "state_hash, provider, pkce_verifier, nonce, link_user_id, browser_hash, redirect_to, \
     created_at, expires_at";

#[derive(sqlx::FromRow)]
struct IdentityRow {
    user_id: Uuid,
    provider: DbEnum<OauthProvider>,
    provider_subject: String,
    email: Option<String>,
    created_at: Timestamp,
    last_login_at: Option<Timestamp>,
}

impl From<IdentityRow> for OAuthIdentity {
    fn from(row: IdentityRow) -> Self {
        Self {
            user_id: UserId::from_uuid(row.user_id),
            provider: row.provider.0,
            subject: row.provider_subject,
            email: row.email,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    state_hash: String,
    provider: DbEnum<OauthProvider>,
    pkce_verifier: String,
    nonce: String,
    link_user_id: Option<Uuid>,
    browser_hash: Option<String>,
    redirect_to: Option<String>,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl From<AttemptRow> for LoginAttempt {
    fn from(row: AttemptRow) -> Self {
        Self {
            state_hash: row.state_hash,
            provider: row.provider.0,
            pkce_verifier: row.pkce_verifier,
            nonce: row.nonce,
            link_user_id: row.link_user_id.map(UserId::from_uuid),
            browser_hash: row.browser_hash,
            redirect_to: row.redirect_to,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

fn identity_audit(action: &str, user: UserId, provider: OauthProvider) -> NewAuditEvent {
    NewAuditEvent {
        action: action.into(),
        target_type: "user".into(),
        target_id: user.to_string(),
        details: json!({ "provider": provider }),
    }
}

/// Which unique constraint a link broke: (provider, subject) or (user, provider).
fn link_conflict(error: sqlx::Error) -> Error {
    if let Some(constraint) = unique_violation(&error) {
        // PostgreSQL names the constraint (`…_provider_provider_subject_key`), SQLite the columns
        // (`user_oauth_identities.provider, user_oauth_identities.provider_subject`).
        return if constraint.contains("subject") {
            Error::conflict(
                "identity_taken",
                "this provider account is linked to a user already",
            )
        } else {
            Error::conflict(
                "provider_already_linked",
                "an account of this provider is linked already",
            )
        };
    }
    if error
        .as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
    {
        return Error::not_found("user");
    }
    unexpected(error)
}

#[async_trait]
impl IdentityRepo for Store {
    #[tracing::instrument(skip(self, subject))]
    async fn identity(
        &self,
        provider: OauthProvider,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM user_oauth_identities WHERE provider = $1 AND provider_subject = $2");
        let row: Option<IdentityRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(DbEnum(provider)).bind(subject).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(OAuthIdentity::from))
    }

    #[tracing::instrument(skip(self))]
    async fn identities_of(&self, user: UserId) -> Result<Vec<OAuthIdentity>> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM user_oauth_identities WHERE user_id = $1 ORDER BY provider");
        let rows: Vec<IdentityRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(user.as_uuid()).fetch_all(pool).await
        })
        .or_unexpected()?;
        let mut identities: Vec<OAuthIdentity> =
            rows.into_iter().map(OAuthIdentity::from).collect();
        // PostgreSQL orders an enum by declaration, SQLite TEXT by label: sort by the enum here.
        identities.sort_by_key(|i| i.provider as u8);
        Ok(identities)
    }

    #[tracing::instrument(skip_all, fields(user = %new.user_id, provider = ?new.provider))]
    async fn link_identity(&self, new: NewIdentity, audit: &AuditContext) -> Result<OAuthIdentity> {
        let now = time::now();
        let sql = format!(
            "INSERT INTO user_oauth_identities (id, user_id, provider, provider_subject, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {IDENTITY_COLUMNS}"
        );
        let row: IdentityRow = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: IdentityRow = sqlx::query_as(&sql)
                .bind(Uuid::now_v7())
                .bind(new.user_id.as_uuid())
                .bind(DbEnum(new.provider))
                .bind(&new.subject)
                .bind(&new.email)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.record_audit(&identity_audit("user.identity_linked", new.user_id, new.provider), audit, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(link_conflict)?;
        Ok(row.into())
    }

    #[tracing::instrument(skip(self, audit))]
    async fn unlink_identity(
        &self,
        user: UserId,
        provider: OauthProvider,
        audit: &AuditContext,
    ) -> Result<()> {
        let now = time::now();
        let removed = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let removed = sqlx::query("DELETE FROM user_oauth_identities WHERE user_id = $1 AND provider = $2")
                .bind(user.as_uuid())
                .bind(DbEnum(provider))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed > 0 {
                tx.record_audit(&identity_audit("user.identity_unlinked", user, provider), audit, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(removed)
        })
        .or_unexpected()?;
        if removed > 0 {
            Ok(())
        } else {
            Err(Error::not_found("identity"))
        }
    }

    #[tracing::instrument(skip(self, subject))]
    async fn touch_identity(
        &self,
        provider: OauthProvider,
        subject: &str,
        at: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query("UPDATE user_oauth_identities SET last_login_at = $3 WHERE provider = $1 AND provider_subject = $2")
                .bind(DbEnum(provider))
                .bind(subject)
                .bind(at)
                .execute(pool)
                .await
                .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip_all, fields(provider = ?attempt.provider))]
    async fn save_attempt(&self, attempt: LoginAttempt) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM oauth_login_attempts WHERE expires_at <= $1")
                .bind(attempt.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO oauth_login_attempts (state_hash, provider, pkce_verifier, nonce, link_user_id, \
                 browser_hash, redirect_to, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&attempt.state_hash)
            .bind(DbEnum(attempt.provider))
            .bind(&attempt.pkce_verifier)
            .bind(&attempt.nonce)
            .bind(attempt.link_user_id.map(|u| u.as_uuid()))
            .bind(&attempt.browser_hash)
            .bind(&attempt.redirect_to)
            .bind(attempt.created_at)
            .bind(attempt.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip_all)]
    async fn take_attempt(&self, state_hash: &str, now: Timestamp) -> Result<Option<LoginAttempt>> {
        // One DELETE … RETURNING: of concurrent callbacks with one state, exactly one gets the row.
        let sql = format!(
            "DELETE FROM oauth_login_attempts WHERE state_hash = $1 RETURNING {ATTEMPT_COLUMNS}"
        );
        let row: Option<AttemptRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(state_hash).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(LoginAttempt::from).filter(|a| a.expires_at > now))
    }
}
