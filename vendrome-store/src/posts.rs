//! [`PostRepo`] on both databases: a post, its payload row and its topics are written in one
//! transaction with their outbox event. Reading is in `post_reads`.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::{
    events, NewPost, Post, PostPayload, PostRepo, PostUpdate, TopicSlug, ViewerState,
};
use vendrome_core::{time, Error, Result};

use crate::error::SqlxResultExt as _;
use crate::post_reads::{load_posts, load_viewer_states, Visibility};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// The side table an edit of each payload type empties before writing it again. Products and
/// services are written in place instead (an upsert): orders and bookings reference their rows.
fn payload_table(payload: &PostPayload) -> Option<&'static str> {
    match payload {
        PostPayload::Text | PostPayload::Product(_) | PostPayload::Service(_) => None,
        PostPayload::Crowdfunding(_) => Some("post_crowdfunding"),
        PostPayload::InvestmentOffer(_) => Some("post_investment_offers"),
        PostPayload::InvestmentRequest(_) => Some("post_investment_requests"),
        PostPayload::MentorshipRequest(_) => Some("post_mentorship_requests"),
    }
}

/// Inserts the payload row of post `$id` on the open transaction `$tx` (one body per driver).
macro_rules! insert_payload {
    ($tx:expr, $id:expr, $payload:expr) => {
        match $payload {
            PostPayload::Text => {}
            PostPayload::Product(p) => {
                sqlx::query("INSERT INTO post_products (post_id, title, category, price_amount, currency, stock_quantity, sku) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                    ON CONFLICT (post_id) DO UPDATE SET title = excluded.title, category = excluded.category, price_amount = excluded.price_amount, \
                    currency = excluded.currency, stock_quantity = excluded.stock_quantity, sku = excluded.sku")
                    .bind($id).bind(&p.title).bind(&p.category).bind(p.price_minor).bind(p.currency.as_str()).bind(p.stock_quantity).bind(&p.sku)
                    .execute(&mut *$tx).await?;
            }
            PostPayload::Service(p) => {
                sqlx::query("INSERT INTO post_services (post_id, title, category, rate_amount, currency, rate_unit, duration_minutes, is_remote, location, auto_confirm, cancellation_window_hours, late_cancellation_refund) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                    ON CONFLICT (post_id) DO UPDATE SET title = excluded.title, category = excluded.category, rate_amount = excluded.rate_amount, \
                    currency = excluded.currency, rate_unit = excluded.rate_unit, duration_minutes = excluded.duration_minutes, \
                    is_remote = excluded.is_remote, location = excluded.location, auto_confirm = excluded.auto_confirm, \
                    cancellation_window_hours = excluded.cancellation_window_hours, late_cancellation_refund = excluded.late_cancellation_refund")
                    .bind($id).bind(&p.title).bind(&p.category).bind(p.rate_minor).bind(p.currency.as_str()).bind(DbEnum(p.rate_unit)).bind(p.duration_minutes).bind(p.is_remote).bind(&p.location)
                    .bind(p.auto_confirm).bind(p.cancellation_window_hours).bind(DbEnum(p.late_cancellation_refund))
                    .execute(&mut *$tx).await?;
            }
            PostPayload::Crowdfunding(p) => {
                sqlx::query("INSERT INTO post_crowdfunding (post_id, title, goal_amount, currency, instrument, ends_at, reward_summary) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind($id).bind(&p.title).bind(p.goal_minor).bind(p.currency.as_str()).bind(DbEnum(p.instrument)).bind(p.ends_at).bind(&p.reward_summary)
                    .execute(&mut *$tx).await?;
            }
            PostPayload::InvestmentOffer(p) => {
                sqlx::query("INSERT INTO post_investment_offers (post_id, title, ticket_min_amount, ticket_max_amount, currency, instrument, stage) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind($id).bind(&p.title).bind(p.ticket_min_minor).bind(p.ticket_max_minor).bind(p.currency.as_str()).bind(p.instrument.map(DbEnum)).bind(p.stage.map(DbEnum))
                    .execute(&mut *$tx).await?;
            }
            PostPayload::InvestmentRequest(p) => {
                sqlx::query("INSERT INTO post_investment_requests (post_id, title, amount_sought, currency, instrument, stage, equity_offered_percent, use_of_funds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind($id).bind(&p.title).bind(p.amount_sought_minor).bind(p.currency.as_str()).bind(DbEnum(p.instrument)).bind(DbEnum(p.stage)).bind(p.equity_offered_percent).bind(&p.use_of_funds)
                    .execute(&mut *$tx).await?;
            }
            PostPayload::MentorshipRequest(p) => {
                sqlx::query("INSERT INTO post_mentorship_requests (post_id, area, format, duration_weeks, budget_amount, currency) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind($id).bind(&p.area).bind(DbEnum(p.format)).bind(p.duration_weeks).bind(p.budget_minor).bind(p.currency.as_ref().map(|c| c.as_str()))
                    .execute(&mut *$tx).await?;
            }
        }
    };
}

/// Attaches `$topics` to post `$id`, creating unknown topics and counting the post in each.
macro_rules! attach_topics {
    ($tx:expr, $id:expr, $topics:expr, $now:expr) => {
        for slug in $topics {
            sqlx::query("INSERT INTO topics (id, slug, name, description, follower_count, post_count, created_at) VALUES ($1, $2, $2, '', 0, 0, $3) ON CONFLICT (slug) DO NOTHING")
                .bind(Uuid::now_v7()).bind(slug.as_str()).bind($now)
                .execute(&mut *$tx).await?;
            let topic: Uuid = sqlx::query_scalar("SELECT id FROM topics WHERE slug = $1")
                .bind(slug.as_str()).fetch_one(&mut *$tx).await?;
            // The link carries its post's creation time: topic feeds are read from it alone.
            sqlx::query("INSERT INTO post_topics (post_id, topic_id, created_at) SELECT id, $2, created_at FROM posts WHERE id = $1")
                .bind($id).bind(topic).execute(&mut *$tx).await?;
            sqlx::query("UPDATE topics SET post_count = post_count + 1 WHERE id = $1")
                .bind(topic).execute(&mut *$tx).await?;
        }
    };
}

/// Detaches every topic of post `$id`, uncounting the post in each.
macro_rules! detach_topics {
    ($tx:expr, $id:expr) => {
        sqlx::query("UPDATE topics SET post_count = post_count - 1 WHERE id IN (SELECT topic_id FROM post_topics WHERE post_id = $1)")
            .bind($id).execute(&mut *$tx).await?;
        sqlx::query("DELETE FROM post_topics WHERE post_id = $1").bind($id).execute(&mut *$tx).await?;
    };
}

#[async_trait]
impl PostRepo for Store {
    #[tracing::instrument(skip_all, fields(author = %new.author_id))]
    async fn create_post(&self, new: NewPost) -> Result<PostId> {
        let now = time::now();
        let id = PostId::new();
        let uuid = id.as_uuid();
        let slugs: Vec<&str> = new.topics.iter().map(TopicSlug::as_str).collect();
        let event = events::post_created(
            id,
            new.author_id,
            new.payload.post_type(),
            new.visibility,
            &slugs,
        );
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO posts (id, author_id, post_type, visibility, body, media, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                .bind(uuid)
                .bind(new.author_id.as_uuid())
                .bind(DbEnum(new.payload.post_type()))
                .bind(DbEnum(new.visibility))
                .bind(new.body.as_str())
                .bind(sqlx::types::Json(new.media.items()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_payload!(tx, uuid, &new.payload);
            attach_topics!(tx, uuid, &new.topics, now);
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })
        .or_unexpected()?;
        Ok(id)
    }

    async fn posts_by_ids(&self, ids: &[PostId], viewer: Option<UserId>) -> Result<Vec<Post>> {
        load_posts(self, ids, Visibility::For(viewer), viewer).await
    }

    async fn posts_by_ids_unchecked(
        &self,
        ids: &[PostId],
        viewer: Option<UserId>,
    ) -> Result<Vec<Post>> {
        load_posts(self, ids, Visibility::Active, viewer).await
    }

    async fn viewer_states(
        &self,
        viewer: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, ViewerState)>> {
        load_viewer_states(self, viewer, ids).await
    }

    async fn post_by_id_unchecked(&self, id: PostId) -> Result<Option<Post>> {
        Ok(load_posts(self, &[id], Visibility::Any, None).await?.pop())
    }

    #[tracing::instrument(skip(self, update))]
    async fn update_post(&self, id: PostId, update: PostUpdate, by: UserId) -> Result<()> {
        let now = time::now();
        let uuid = id.as_uuid();
        let fields = update.fields();
        let author: Option<Uuid> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // The write comes first, so SQLite takes its write lock before any read.
            let author: Option<Uuid> = sqlx::query_scalar(
                "UPDATE posts SET updated_at = $2, edited_at = $2, body = COALESCE($3, body), visibility = COALESCE($4, visibility), \
                 media = COALESCE($5, media) WHERE id = $1 AND deleted_at IS NULL RETURNING author_id",
            )
            .bind(uuid)
            .bind(now)
            .bind(update.body.as_ref().map(|b| b.as_str()))
            .bind(update.visibility.map(DbEnum))
            .bind(update.media.as_ref().map(|m| sqlx::types::Json(m.items())))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(author) = author else { return Ok(None) };
            if let Some(topics) = &update.topics {
                detach_topics!(tx, uuid);
                attach_topics!(tx, uuid, topics, now);
            }
            if let Some(payload) = &update.payload {
                if let Some(table) = payload_table(payload) {
                    sqlx::query(&format!("DELETE FROM {table} WHERE post_id = $1")).bind(uuid).execute(&mut *tx).await?;
                }
                insert_payload!(tx, uuid, payload);
            }
            let event = events::post_updated(id, UserId::from_uuid(author), &fields, by);
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(author))
        })
        .or_unexpected()?;
        author.map(drop).ok_or(Error::not_found("post"))
    }

    #[tracing::instrument(skip(self))]
    async fn delete_post(&self, id: PostId, by: UserId) -> Result<()> {
        let now = time::now();
        let uuid = id.as_uuid();
        let author: Option<Uuid> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let author: Option<Uuid> = sqlx::query_scalar(
                "UPDATE posts SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING author_id",
            )
            .bind(uuid)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(author) = author else { return Ok(None) };
            sqlx::query("UPDATE topics SET post_count = post_count - 1 WHERE id IN (SELECT topic_id FROM post_topics WHERE post_id = $1)")
                .bind(uuid).execute(&mut *tx).await?;
            tx.append_event(&events::post_deleted(id, UserId::from_uuid(author), by), now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(author))
        })
        .or_unexpected()?;
        author.map(drop).ok_or(Error::not_found("post"))
    }
}
