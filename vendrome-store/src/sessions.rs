//! [`SessionRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::auth::{NewSessionToken, SessionRepo, SessionToken};
use vendrome_core::ids::{RefreshTokenId, SessionId, UserId};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::Result;

use crate::db::Dialect;
use crate::error::SqlxResultExt as _;
use crate::rows::{SessionRow, SESSION_COLUMNS};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

const INSERT: &str =
    "INSERT INTO auth_sessions (id, user_id, family_id, refresh_token_hash, user_agent, ip, \
     session_started_at, created_at, last_used_at, expires_at, idle_expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)";

/// A live token: not rotated away, not revoked, not expired at `$2`.
const LIVE: &str =
    "revoked_at IS NULL AND replaced_by IS NULL AND expires_at > $2 AND idle_expires_at > $2";

fn revocation_audit(
    session: Option<SessionId>,
    user: Option<UserId>,
    reason: &str,
    tokens: u64,
) -> NewAuditEvent {
    let (target_type, target_id) = match (session, user) {
        (Some(session), _) => ("session", session.to_string()),
        (None, Some(user)) => ("user", user.to_string()),
        (None, None) => ("session", String::new()),
    };
    NewAuditEvent {
        action: "session.revoked".into(),
        target_type: target_type.into(),
        target_id,
        details: json!({ "reason": reason, "tokens": tokens }),
    }
}

/// Rotation and revocation of a user's sessions serialize on the user's row: on PostgreSQL a
/// revoking `UPDATE` that waits for a rotation's lock would otherwise re-check the rows it saw,
/// not the successor the rotation inserted, and the successor would outlive the revocation.
/// SQLite's single writer serializes the transactions already.
const LOCK_USER: &str = "SELECT id FROM users WHERE id = $1 FOR UPDATE";
const LOCK_SESSION_USER: &str = "SELECT id FROM users WHERE id = \
     (SELECT user_id FROM auth_sessions WHERE family_id = $1 LIMIT 1) FOR UPDATE";

macro_rules! insert_token {
    ($conn:expr, $token:expr) => {{
        let token: &NewSessionToken = $token;
        sqlx::query(INSERT)
            .bind(token.id.as_uuid())
            .bind(token.user_id.as_uuid())
            .bind(token.session_id.as_uuid())
            .bind(&token.token_hash)
            .bind(
                token
                    .client
                    .user_agent
                    .as_deref()
                    .map(|ua| ua.chars().take(512).collect::<String>()),
            )
            .bind(&token.client.ip)
            .bind(token.started_at)
            .bind(token.now)
            .bind(token.expires_at)
            .bind(token.idle_expires_at)
            .execute($conn)
            .await
    }};
}

#[async_trait]
impl SessionRepo for Store {
    #[tracing::instrument(skip_all, fields(user = %token.user_id))]
    async fn create_session(&self, token: NewSessionToken) -> Result<()> {
        with_db!(&self.db, pool => insert_token!(pool, &token).map(drop)).or_unexpected()
    }

    #[tracing::instrument(skip_all)]
    async fn token_by_hash(&self, hash: &str) -> Result<Option<SessionToken>> {
        let sql =
            format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE refresh_token_hash = $1");
        let row: Option<SessionRow> =
            with_db!(&self.db, pool => sqlx::query_as(&sql).bind(hash).fetch_optional(pool).await)
                .or_unexpected()?;
        Ok(row.map(SessionToken::from))
    }

    #[tracing::instrument(skip(self))]
    async fn token_by_id(&self, id: RefreshTokenId) -> Result<Option<SessionToken>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE id = $1");
        let row: Option<SessionRow> =
            with_db!(&self.db, pool => sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await)
                .or_unexpected()?;
        Ok(row.map(SessionToken::from))
    }

    #[tracing::instrument(skip(self, successor))]
    async fn rotate(&self, old: RefreshTokenId, successor: NewSessionToken) -> Result<bool> {
        with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            if let Dialect::Postgres = dialect {
                sqlx::query(LOCK_USER).bind(successor.user_id.as_uuid()).execute(&mut *tx).await?;
            }
            // Claiming the old token first: of concurrent rotations, the one whose UPDATE finds it
            // unrotated wins; the others find nothing to update (PostgreSQL re-checks the WHERE
            // after waiting for the winner's row lock) and change nothing.
            let claimed = sqlx::query(
                "UPDATE auth_sessions SET rotated_at = $2, last_used_at = $2 \
                 WHERE id = $1 AND rotated_at IS NULL AND replaced_by IS NULL AND revoked_at IS NULL",
            )
            .bind(old.as_uuid())
            .bind(successor.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                return Ok::<_, sqlx::Error>(false);
            }
            insert_token!(&mut *tx, &successor)?;
            sqlx::query("UPDATE auth_sessions SET replaced_by = $2 WHERE id = $1")
                .bind(old.as_uuid())
                .bind(successor.id.as_uuid())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, audit))]
    async fn revoke_session(
        &self,
        session: SessionId,
        reason: &str,
        audit: Option<&AuditContext>,
    ) -> Result<u64> {
        let now = time::now();
        with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            if let Dialect::Postgres = dialect {
                sqlx::query(LOCK_SESSION_USER).bind(session.as_uuid()).execute(&mut *tx).await?;
            }
            let ended = sqlx::query(
                "UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3 WHERE family_id = $1 AND revoked_at IS NULL",
            )
            .bind(session.as_uuid())
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let Some(context) = audit {
                tx.record_audit(&revocation_audit(Some(session), None, reason, ended), context, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ended)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, audit))]
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        reason: &str,
        audit: Option<&AuditContext>,
    ) -> Result<u64> {
        let now = time::now();
        with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            if let Dialect::Postgres = dialect {
                sqlx::query(LOCK_USER).bind(user.as_uuid()).execute(&mut *tx).await?;
            }
            let ended = sqlx::query(
                "UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3 \
                 WHERE user_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR family_id <> $4)",
            )
            .bind(user.as_uuid())
            .bind(now)
            .bind(reason)
            .bind(except.map(|s| s.as_uuid()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let Some(context) = audit {
                tx.record_audit(&revocation_audit(None, Some(user), reason, ended), context, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ended)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn active_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionToken>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM auth_sessions WHERE user_id = $1 AND {LIVE} ORDER BY last_used_at DESC, id DESC"
        );
        let rows: Vec<SessionRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(user.as_uuid()).bind(now).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(SessionToken::from).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn session_is_active(&self, session: SessionId, now: Timestamp) -> Result<bool> {
        let sql = format!("SELECT COUNT(*) FROM auth_sessions WHERE family_id = $1 AND {LIVE}");
        let live: i64 = with_db!(&self.db, pool => {
            sqlx::query_scalar(&sql).bind(session.as_uuid()).bind(now).fetch_one(pool).await
        })
        .or_unexpected()?;
        Ok(live > 0)
    }
}
