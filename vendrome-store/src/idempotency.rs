//! [`IdempotencyRepo`] on both databases.
//!
//! Taking a key is an `INSERT … ON CONFLICT DO NOTHING` on the (scope, key) primary key: the
//! database decides which of several concurrent requests inserted the row, and only that one
//! runs. Everyone else reads the row and learns whether to replay, wait or refuse.

use async_trait::async_trait;
use vendrome_core::enums::IdempotencyStatus;
use vendrome_core::idempotency::{
    Begin, Fingerprint, IdempotencyKey, IdempotencyRepo, KeyScope, StoredResponse, KEY_TTL,
};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: String,
    status: DbEnum<IdempotencyStatus>,
    response_status: Option<i16>,
    response_body: Option<Vec<u8>>,
    locked_until: Option<Timestamp>,
    expires_at: Timestamp,
}

fn after(now: Timestamp, span: std::time::Duration) -> Timestamp {
    now + chrono::Duration::from_std(span).expect("idempotency spans are small")
}

#[async_trait]
impl IdempotencyRepo for Store {
    #[tracing::instrument(skip_all, fields(scope = scope.as_str()))]
    async fn begin(
        &self,
        scope: &KeyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: Timestamp,
        lock: std::time::Duration,
    ) -> Result<Begin> {
        let locked_until = after(now, lock);
        // Three rounds are enough: a round only repeats when the row vanished (expired and
        // purged) between our INSERT and our SELECT.
        for _ in 0..3 {
            let inserted = with_db!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, status, locked_until, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, key) DO NOTHING",
                )
                .bind(scope.as_str())
                .bind(key.as_str())
                .bind(fingerprint.as_str())
                .bind(DbEnum(IdempotencyStatus::InProgress))
                .bind(locked_until)
                .bind(now)
                .bind(after(now, KEY_TTL))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })
            .or_unexpected()?;
            if inserted == 1 {
                return Ok(Begin::Started);
            }

            let row: Option<KeyRow> = with_db!(&self.db, pool => {
                sqlx::query_as(
                    "SELECT request_hash, status, response_status, response_body, locked_until, expires_at \
                     FROM idempotency_keys WHERE scope = $1 AND key = $2",
                )
                .bind(scope.as_str())
                .bind(key.as_str())
                .fetch_optional(pool)
                .await
            })
            .or_unexpected()?;
            let Some(row) = row else { continue };

            if row.expires_at <= now {
                with_db!(&self.db, pool => {
                    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at <= $3")
                        .bind(scope.as_str())
                        .bind(key.as_str())
                        .bind(now)
                        .execute(pool)
                        .await
                        .map(|done| done.rows_affected())
                })
                .or_unexpected()?;
                continue;
            }
            if row.request_hash != fingerprint.as_str() {
                return Ok(Begin::Mismatch);
            }
            match row.status.0 {
                IdempotencyStatus::Completed => {
                    return Ok(Begin::Replay(StoredResponse {
                        status: row.response_status.unwrap_or(200).clamp(100, 599) as u16,
                        body: row.response_body.unwrap_or_default(),
                    }))
                }
                IdempotencyStatus::InProgress => {
                    let stale = row.locked_until.is_some_and(|until| until < now);
                    if !stale {
                        return Ok(Begin::InProgress);
                    }
                    // The holder is presumed dead: take the key over, unless someone else just did.
                    let taken = with_db!(&self.db, pool => {
                        sqlx::query(
                            "UPDATE idempotency_keys SET locked_until = $3 \
                             WHERE scope = $1 AND key = $2 AND status = $4 AND locked_until = $5",
                        )
                        .bind(scope.as_str())
                        .bind(key.as_str())
                        .bind(locked_until)
                        .bind(DbEnum(IdempotencyStatus::InProgress))
                        .bind(row.locked_until)
                        .execute(pool)
                        .await
                        .map(|done| done.rows_affected())
                    })
                    .or_unexpected()?;
                    return Ok(if taken == 1 {
                        Begin::Started
                    } else {
                        Begin::InProgress
                    });
                }
            }
        }
        Ok(Begin::InProgress)
    }

    #[tracing::instrument(skip_all, fields(scope = scope.as_str(), status = response.status))]
    async fn complete(
        &self,
        scope: &KeyScope,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, response_status = $4, response_body = $5, locked_until = NULL \
                 WHERE scope = $1 AND key = $2",
            )
            .bind(scope.as_str())
            .bind(key.as_str())
            .bind(DbEnum(IdempotencyStatus::Completed))
            .bind(response.status as i16)
            .bind(&response.body)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .or_unexpected()?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(scope = scope.as_str()))]
    async fn release(&self, scope: &KeyScope, key: &IdempotencyKey) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = $3")
                .bind(scope.as_str())
                .bind(key.as_str())
                .bind(DbEnum(IdempotencyStatus::InProgress))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .or_unexpected()?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn purge_expired(&self, now: Timestamp) -> Result<u64> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1").bind(now).execute(pool).await.map(|done| done.rows_affected())
        })
        .or_unexpected()
    }
}
